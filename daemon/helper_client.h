/* helper_client.h: brigd's side of the helper protocol.
 *
 * One stub per helper command builds the request, sends it on the channel
 * brig-helper gave brigd, and checks that the reply answers that request
 * (same id, same command, valid against the reply schema). Calls are
 * serialized on the channel; each carries a fresh request id that brigd
 * logs next to the gRPC call id that caused it, and the helper logs too.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct helper_client;

/* How long a call waits for its reply before it fails with -ETIMEDOUT. */
#define HELPER_CLIENT_TIMEOUT_MS 10000

/* Takes ownership of fd (a SOCK_SEQPACKET channel to brig-helper) and
 * performs the HELLO handshake. On failure fd is closed. */
int helper_client_open(int fd, struct helper_client **ret);
void helper_client_free(struct helper_client *hc);

/* The protocol version agreed in HELLO. */
uint32_t helper_client_version(const struct helper_client *hc);

/* Round trip through the helper's loop. call_id is the gRPC call that asked,
 * 0 for brigd's own work. Returns 0, or -errno with reason (a buffer of
 * reason_size bytes) saying why. */
int helper_client_ping(struct helper_client *hc, uint64_t call_id, char *reason,
                       size_t reason_size);
