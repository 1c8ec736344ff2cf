/* hproto.h: framing, schema and validation of the helper protocol, and
 * sending and receiving one message with its file descriptors.
 *
 * Wire layout and constants: proto/helper.h. TLV codec: tlv.h.
 *
 * Contract:
 * - Functions return 0 (or a byte count, where said) or a negative errno.
 * - The schema is data: brig_cmd_table() lists every command with the fields
 *   its request and reply may carry and how many fds each may carry. The
 *   validator, the docs and the tests all read that one table; adding a
 *   command means adding rows there, never a branch in the validator.
 * - brig_msg_decode() is the only way from received bytes to a message
 *   (brig_msg_decode_table() is the same for a test table). It either
 *   accepts a message that obeys every rule of the schema or refuses it
 *   with a distinct errno and a one-line reason that holds no peer bytes
 *   (only numbers and names from the table), so it is safe to log and to
 *   send back.
 * - Received fds are always either handed to the caller or closed, on every
 *   path. The caller owns what brig_msg_recv() returns and closes what it did
 *   not take with brig_close_fds().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/helper.h"
#include "tlv.h"

/* A decoded header; brig_hdr_encode/decode are its only wire conversions. */
struct brig_hdr {
        uint32_t magic;
        uint16_t version;
        uint16_t command;
        uint32_t request_id;
        int32_t status;
        uint32_t payload_len;
        uint32_t reserved;
};

void brig_hdr_encode(const struct brig_hdr *h, uint8_t out[static BRIG_HELPER_HDR_SIZE]);
void brig_hdr_decode(const uint8_t in[static BRIG_HELPER_HDR_SIZE], struct brig_hdr *ret);

/* One allowed field of a request or reply, in table column order. max_len is
 * the largest value length in bytes (including the NUL for STRING; the exact
 * size for U32, U64 and FD). */
struct brig_field_spec {
        uint16_t tag;
        uint16_t type;
        uint16_t min_count;
        uint16_t max_count;
        uint32_t max_len;
};

/* One command. Success replies may also carry brig_error_reply_fields;
 * error replies (status < 0) carry only those and no fds. */
struct brig_cmd_spec {
        uint16_t command;
        const char *name;
        const struct brig_field_spec *request_fields;
        size_t n_request_fields;
        const struct brig_field_spec *reply_fields;
        size_t n_reply_fields;
        unsigned max_request_fds;
        unsigned max_reply_fds;
};

/* NULL for an unknown command (the reply flag must be clear). */
const struct brig_cmd_spec *brig_cmd_lookup(uint16_t command);
/* The whole table, in command order, for docs and tests. */
const struct brig_cmd_spec *brig_cmd_table(size_t *ret_n);
/* The fields every reply may carry (BRIG_TAG_ERROR_MESSAGE). */
const struct brig_field_spec *brig_error_reply_fields(size_t *ret_n);

enum brig_dir {
        BRIG_DIR_REQUEST,
        BRIG_DIR_REPLY,
};

/* An accepted message. fields point into the buffer given to
 * brig_msg_decode(); n_fds is how many fds came with it. */
struct brig_msg {
        struct brig_hdr hdr;
        enum brig_dir dir;
        const struct brig_cmd_spec *spec;
        struct tlv_fields fields;
        size_t n_fds;
};

#define BRIG_MSG_REASON_MAX 128

/* Why a message was refused. hdr_valid: brig_hdr_peek() accepted the
 * header, so hdr.command and hdr.request_id can address a reply. */
struct brig_msg_error {
        int error;
        bool hdr_valid;
        struct brig_hdr hdr;
        char reason[BRIG_MSG_REASON_MAX];
};

/* Validates one received datagram of len bytes that came with n_fds fds,
 * as a request or as a reply (against the request or reply schema). Checks,
 * in order, each with its own reason:
 *   -EBADMSG          shorter than the header, bad magic
 *   -EPROTONOSUPPORT  version other than BRIG_HELPER_VERSION
 *   -EBADMSG          reserved not 0; request with the reply flag or a
 *                     status; reply without the flag or a status that is
 *                     not 0 or -1..-BRIG_HELPER_MAX_ERRNO
 *   -EMSGSIZE         payload_len over BRIG_HELPER_MAX_PAYLOAD
 *   -EBADMSG          payload_len differs from the bytes after the header
 *   -EOPNOTSUPP       unknown command
 *   -EINVAL           more fds than the command allows
 *   per element, in wire order:
 *   -EBADMSG          element header or value cut short
 *   -E2BIG            more than BRIG_HELPER_MAX_FIELDS elements
 *   -EINVAL           tag not allowed here; type not the tag's type; value
 *                     breaking its type's rules (tlv_field_check())
 *   -EMSGSIZE         value longer than the field's max_len
 *   -EINVAL           fd index out of range or used twice
 *   then:
 *   -EINVAL           a tag present fewer than min_count or more than
 *                     max_count times; a received fd not referenced
 * Returns 0 and a message in *ret, or the negative errno and the refusal in
 * *ret_error; the other output is scratch. buf must outlive *ret. */
int brig_msg_decode(const void *buf, size_t len, size_t n_fds, enum brig_dir dir,
                    struct brig_msg *ret, struct brig_msg_error *ret_error);

/* brig_msg_decode() against another command table. The protocol itself
 * uses only brig_cmd_table(); this exists so the fd rules can be tested and
 * fuzzed before any real command carries fds. */
int brig_msg_decode_table(const struct brig_cmd_spec *table, size_t n_table, const void *buf,
                          size_t len, size_t n_fds, enum brig_dir dir, struct brig_msg *ret,
                          struct brig_msg_error *ret_error);

/* Validates a bare payload (no header, no fds) against one field list,
 * with brig_msg_decode()'s per-element and count rules; where names the
 * message in reasons. For the TLV channels between the helper and the
 * programs it spawns. Returns 0 with the elements in *ret, or the negative
 * errno with the refusal in reason. buf must outlive *ret. */
int brig_fields_decode(const void *payload, size_t len, const struct brig_field_spec *fields,
                       size_t n_fields, const char *where, struct tlv_fields *ret, char *reason,
                       size_t reason_size);

/* brig_fields_decode() of a payload that came with n_fds descriptors:
 * FD fields must index them, each exactly once, as in brig_msg_decode(). */
int brig_fields_decode_fds(const void *payload, size_t len, size_t n_fds,
                           const struct brig_field_spec *fields, size_t n_fields, const char *where,
                           struct tlv_fields *ret, char *reason, size_t reason_size);

/* Hands over the fd referenced by tag: *ret_fd = fds[index], fds[index] = -1.
 * fds is the array the message came with (msg->n_fds entries). -ENOENT if
 * the tag is absent, -EBADF if that fd was already taken. */
int brig_msg_take_fd(const struct brig_msg *msg, int *fds, uint16_t tag, int *ret_fd);

/* Sends one message in one sendmsg() (MSG_NOSIGNAL, EINTR retried), with
 * fds as SCM_RIGHTS when n_fds > 0. -EMSGSIZE if len exceeds the payload
 * limit, -EINVAL if n_fds exceeds BRIG_HELPER_MAX_FDS. The fds stay the
 * caller's. */
int brig_msg_send(int sock, uint16_t command, uint32_t request_id, int32_t status,
                  const void *payload, size_t len, const int *fds, size_t n_fds);

/* Sends one bare TLV payload (no header) with fds, for the channels
 * between the helper and the programs it spawns: never waits
 * (MSG_DONTWAIT: -EAGAIN when the socket is full), MSG_NOSIGNAL, EINTR
 * retried. -EMSGSIZE past the payload limit, -EINVAL past the fd limit,
 * -EIO for a short send. The fds stay the caller's. */
int brig_payload_send(int sock, const void *payload, size_t len, const int *fds, size_t n_fds);

/* Sends the reply to command/request_id with status (-1..-MAX_ERRNO) and
 * BRIG_TAG_ERROR_MESSAGE = message, cut to fit its limit. The reply flag is
 * added to command. */
int brig_msg_send_error(int sock, uint16_t command, uint32_t request_id, int32_t status,
                        const char *message);

/* What brig_msg_recv() got besides its return value. */
struct brig_recv {
        /* bytes of the datagram now in buf, at most the buffer size; set on
         * refusals too, so the caller can read the header and reply */
        size_t len;
        /* fds[0..n_fds) belong to the caller; the rest are -1 */
        size_t n_fds;
        int fds[BRIG_HELPER_MAX_FDS];
};

/* Receives one datagram into buf (size >= BRIG_HELPER_HDR_SIZE; use
 * BRIG_HELPER_RECV_SIZE) with recvmsg(MSG_CMSG_CLOEXEC), EINTR retried.
 * *ret is reset first, so on every path it holds no fd the caller must not
 * close. Returns
 *   > 0        bytes received (= ret->len), fds in ret
 *   0          the peer closed the connection (or shut down its sending side)
 *   -EMSGSIZE  the datagram was larger than size: buf holds its first
 *              ret->len = size bytes; fds closed
 *   -EXFULL    more fds than BRIG_HELPER_MAX_FDS (control data truncated);
 *              fds closed
 *   -EBADMSG   ancillary data other than SCM_RIGHTS, or an empty datagram
 *              (not a close: the peer is still connected); fds closed
 *   other      -errno of recvmsg() or poll() (-EAGAIN on a non-blocking
 *              socket, ...); ret->len is 0
 * On the three refusals brig_hdr_peek(buf, ret->len, ...) gives the header
 * to reply to, when it is readable. */
ssize_t brig_msg_recv(int sock, void *buf, size_t size, struct brig_recv *ret);

/* True when len covers a header and its magic is right: then *ret is the
 * decoded header, whose command and request_id can address a reply. */
bool brig_hdr_peek(const void *buf, size_t len, struct brig_hdr *ret);

/* Closes fds[0..n) that are >= 0 and sets them to -1. */
void brig_close_fds(int *fds, size_t n);
