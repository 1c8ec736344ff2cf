/* dispatch.h: brig-helper's one dispatcher for the helper protocol.
 *
 * It owns framing, schema validation (through hproto), the permit rules
 * and the reply for every connection: handlers only ever see requests that
 * passed all of those. Every refusal is logged with its reason and counted.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct helper_conn {
        int fd;            /* SOCK_SEQPACKET, owned by the caller */
        const char *label; /* "brigd" or "debug", for log lines */
        bool hello_done;   /* HELLO succeeded: the full command set is permitted */
        uint32_t version;  /* agreed protocol version */
        uint64_t served;
        uint64_t refused;
};

/* Receives one message on c, validates it, runs its handler and replies.
 * Returns 1 when a message was answered (served or refused), 0 when the
 * peer closed the connection, or a negative errno when the socket failed
 * and the connection should be dropped. */
int helper_conn_serve_one(struct helper_conn *c);
