/* wire.h: the TLV form of brig-monitor's datagrams (channel.h): requests
 * decoded and checked into a typed struct, READY, replies, EXITED and the
 * STATE records encoded. Pure: buffers in, buffers out; main.c does the
 * sending and receiving.
 *
 * Contract:
 * - wire_decode_request() accepts only a datagram that obeys every rule of
 *   its kind: MON_TAG_KIND first and a request kind, only the kind's tags,
 *   each of its type and at most once (ARG, in EXEC_SYNC only, 1 to
 *   MON_MAX_EXEC_ARGS times, kept in order), the required ones present
 *   (LOG_FD is optional in CREATE, TIMEOUT_MS in EXEC_SYNC), exactly as
 *   many fds (n_fds) as FD tags, FD indexes in range. Anything else is
 *   malformed: a negative errno and a one-line reason without peer bytes.
 * - Values are checked after that, into the same struct: ids 64 lowercase
 *   hex, paths absolute, without "." or ".." components or "//", shorter
 *   than WIRE_PATH_MAX, flags among CTR_F_TTY|CTR_F_STDIN|CTR_F_STDIN_ONCE.
 *   A bad value leaves the datagram well-formed: the result is 0 with
 *   req->invalid set to a reason for the reply (EINVAL).
 * - Decoded strings point into the caller's buffer.
 * - Encoders write at most cap bytes and return 0 and the length, or
 *   -EMSGSIZE when the message would not fit.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privhelper/monitor/channel.h"
#include "tlv.h"

#define WIRE_CTR_ID_LEN 64
/* Paths the monitor builds from BUNDLE ("<bundle>/runtime.log") stay
 * well within PATH_MAX. */
#define WIRE_PATH_MAX   3072
#define WIRE_REASON_MAX 160

struct mon_request {
        uint32_t kind; /* enum mon_kind, a request kind */
        uint32_t seq;
        const char *ctr_id;       /* CREATE, REOPEN_LOG, FORGET, EXEC_SYNC */
        const char *bundle;       /* CREATE, EXEC_SYNC */
        const char *runtime;      /* CREATE, EXEC_SYNC */
        const char *runtime_root; /* CREATE, EXEC_SYNC */
        uint32_t flags;           /* CREATE */
        /* EXEC_SYNC: the command, 1..MON_MAX_EXEC_ARGS, and its timeout
         * (0: none) */
        const char *args[MON_MAX_EXEC_ARGS];
        uint32_t n_args;
        uint32_t timeout_ms;
        bool has_log_fd; /* always for REOPEN_LOG, optional for CREATE */
        uint32_t log_fd_index;
        /* NULL, or why a value is refused (the reply's ERROR). */
        const char *invalid;
        char reason[WIRE_REASON_MAX];
};

const char *wire_kind_name(uint32_t kind);

/* Decodes a request that came with n_fds fds. */
int wire_decode_request(const void *buf, size_t len, size_t n_fds, struct mon_request *ret,
                        char *err, size_t err_size);

/* True for 64 lowercase hex digits. */
bool wire_valid_id(const char *s);

int wire_encode_ready(void *buf, size_t cap, uint32_t pid, uint32_t pause_pid, size_t *ret_len);
/* status 0 or a positive errno; error is used (cut to MON_MAX_ERROR - 1)
 * only when status is not 0; pid is added when not 0. */
int wire_encode_reply(void *buf, size_t cap, uint32_t seq, uint32_t status, const char *error,
                      uint32_t pid, size_t *ret_len);
/* The successful EXEC_SYNC reply: its two fds go at indexes 0 (stdout)
 * and 1 (stderr) of the datagram. */
int wire_encode_exec_reply(void *buf, size_t cap, uint32_t seq, uint32_t wait_status,
                           bool timed_out, size_t *ret_len);
int wire_encode_exited(void *buf, size_t cap, const char *ctr_id, uint32_t pid,
                       uint32_t wait_status, uint64_t exit_time, size_t *ret_len);

/* A STATE reply is built in steps: begin, one record per container, finish. */
struct wire_state {
        struct tlv_writer w;
};
void wire_state_begin(struct wire_state *w, void *buf, size_t cap, uint32_t seq);
/* exited adds WAIT_STATUS and EXIT_TIME; pid is 0 while the runtime's
 * create still runs. Returns 0 or -EMSGSIZE. */
int wire_state_add(struct wire_state *w, const char *ctr_id, uint32_t pid, bool exited,
                   uint32_t wait_status, uint64_t exit_time);
int wire_state_finish(const struct wire_state *w, size_t *ret_len);
