/* wire.h: the TLV form of brig-cni's datagrams on the runner channel
 * (channel.h): REQUEST and RESULT decoded and checked into typed structs,
 * CACHE, EXEC, DONE and FAIL encoded. Pure: buffers in, buffers out; main.c
 * does the sending and receiving.
 *
 * Contract:
 * - Decoders accept only a datagram that obeys every rule of its kind:
 *   CNI_TAG_KIND first, only the kind's tags, each of its type, at most
 *   once unless said, no longer than its limit, the required ones present,
 *   values in range. Anything else returns a negative errno and a one-line
 *   reason in err that holds no peer bytes (only names and numbers).
 * - Decoded strings and byte ranges point into the caller's buffer.
 * - Encoders write at most BRIG_HELPER_MAX_PAYLOAD bytes into buf and
 *   return 0 and the length, or -EMSGSIZE when the message would not fit.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privhelper/cni/channel.h"
#include "privhelper/cni/netconf.h"
#include "proto/helper.h"

/* Element header plus a U32 value. */
#define WIRE_U32_SIZE (BRIG_TLV_HDR_SIZE + 4)
/* Longest plugin stdin: an EXEC is KIND, COMMAND, PLUGIN (at most 64 bytes
 * and its NUL) and STDIN. */
#define WIRE_MAX_STDIN                                                                             \
        (BRIG_HELPER_MAX_PAYLOAD - 2 * WIRE_U32_SIZE -                                             \
         (BRIG_TLV_HDR_SIZE + CNI_PLUGIN_NAME_MAX + 1) - BRIG_TLV_HDR_SIZE)
/* Longest cache blob: what still fits back into the DEL or CHECK REQUEST
 * that returns it, with KIND, COMMAND, CONTAINER_ID, IFNAME and CONF_NAME
 * at their largest. */
#define WIRE_MAX_CACHE                                                                             \
        (BRIG_HELPER_MAX_PAYLOAD - 2 * WIRE_U32_SIZE -                                             \
         (BRIG_TLV_HDR_SIZE + BRIG_HELPER_MAX_POD_ID) - (BRIG_TLV_HDR_SIZE + 16) -                 \
         (BRIG_TLV_HDR_SIZE + NETCONF_NAME_MAX + 1) - BRIG_TLV_HDR_SIZE)
/* Longest plugin stdout the runner sends (channel.h). */
#define WIRE_MAX_STDOUT (BRIG_HELPER_MAX_PAYLOAD - 64)
/* Longest DNS list string, NUL included. */
#define WIRE_MAX_DNS 4096

/* Returns the kind of a datagram (its first element, a U32), or a negative
 * errno when it has none. */
int wire_peek_kind(const void *buf, size_t len, uint32_t *ret);

/* A checked REQUEST. conf_name is NULL when absent (allowed for DEL and
 * CHECK, which take it from the cache); conf is set for ADD only; cache is
 * never set for ADD and may be absent for DEL and CHECK (main.c refuses
 * that with a FAIL, not as a broken channel). caps holds the ADD's
 * capability arguments; DEL and CHECK ignore them. */
struct cni_request {
        enum cni_command command;
        const char *container_id;
        const char *ifname;
        const char *conf_name;
        const uint8_t *conf;
        size_t conf_len;
        bool has_cache;
        const uint8_t *cache;
        size_t cache_len;
        struct cni_caps caps;
};

int wire_decode_request(const void *buf, size_t len, struct cni_request *ret, char *err,
                        size_t err_size);

/* A checked RESULT: exit is 0, 1-255, CNI_EXIT_SIGNAL + 1..255,
 * CNI_EXIT_TIMEOUT or CNI_EXIT_NOT_FOUND; out is empty when STDOUT is
 * absent. */
struct cni_plugin_result {
        uint32_t exit;
        const uint8_t *out;
        size_t out_len;
};

int wire_decode_result(const void *buf, size_t len, struct cni_plugin_result *ret, char *err,
                       size_t err_size);

int wire_encode_cache(void *buf, size_t cap, const void *blob, size_t blob_len, size_t *ret_len);
/* plugin must be a checked plugin type; stdin_len at most WIRE_MAX_STDIN. */
int wire_encode_exec(void *buf, size_t cap, enum cni_command command, const char *plugin,
                     const void *stdin_json, size_t stdin_len, size_t *ret_len);
int wire_encode_done(void *buf, size_t cap, const char (*ips)[NETCONF_IP_MAX], size_t n_ips,
                     size_t *ret_len);
/* message is cut to BRIG_HELPER_MAX_ERROR_MESSAGE - 1 bytes. */
int wire_encode_fail(void *buf, size_t cap, const char *message, size_t *ret_len);
