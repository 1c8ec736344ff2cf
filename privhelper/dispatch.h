/* dispatch.h: brig-helper's one dispatcher for the helper protocol.
 *
 * It owns framing, schema validation (through hproto), the permit rules,
 * the in-flight limit and the replies for every connection: handlers only
 * ever see requests that passed all of those. Every refusal is logged with
 * its reason and counted.
 *
 * Replies never block the helper's loop: one that the socket cannot take
 * now (EAGAIN, the peer is slow to read) is queued with copies of its fds
 * and sent when the socket is writable again. Long commands (UNPACK) answer
 * later, from a child's completion, through helper_conn_reply() with the
 * connection's serial so that a reply never reaches a newer peer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/helper.h"

/* Requests one connection may have waiting on children at once; the next is
 * refused with EBUSY. */
#define HELPER_MAX_IN_FLIGHT 64
/* Replies queued for a peer that does not read; past this the connection is
 * dropped (its peer is stuck or hostile). */
#define HELPER_MAX_QUEUED_REPLIES (2 * HELPER_MAX_IN_FLIGHT)

struct queued_reply;
struct brig_msg;
struct tlv_writer;

struct helper_conn {
        int fd;             /* SOCK_SEQPACKET, non-blocking, owned by the conn */
        const char *label;  /* "brigd" or "debug", for log lines */
        uint64_t serial;    /* unique per opened connection, never reused */
        bool hello_done;    /* HELLO succeeded: the full command set is permitted */
        bool ready;         /* the peer sent READY */
        uint32_t version;   /* agreed protocol version */
        unsigned in_flight; /* deferred requests not answered yet */
        uint64_t served;
        uint64_t refused;
        struct queued_reply *queue_head, *queue_tail;
        size_t queued;
        /* fds the running handler's immediate reply carries
         * (helper_conn_attach_fd()) */
        int reply_fds[BRIG_HELPER_MAX_FDS];
        size_t n_reply_fds;
};

/* Makes c serve fd (taking it) under label, with a fresh serial. */
void helper_conn_open(struct helper_conn *c, int fd, const char *label);

/* Closes the socket and drops queued replies (closing their fds); deferred
 * requests of this connection will find the serial changed. Idempotent. */
void helper_conn_close(struct helper_conn *c);

/* Receives one message on c, validates it, runs its handler and replies (or
 * leaves the reply to a child's completion). Returns 1 when a message was
 * handled, 0 when the peer closed the connection, or a negative errno when
 * the connection failed and must be closed. */
int helper_conn_serve_one(struct helper_conn *c);

/* True while replies wait for the socket to become writable. */
bool helper_conn_wants_write(const struct helper_conn *c);

/* Sends queued replies in order until the socket is full again. Returns 0,
 * or a negative errno when the connection failed. */
int helper_conn_flush(struct helper_conn *c);

/* The reply to a deferred request: sent now or queued. When c no longer has
 * serial (the peer went away, or a new one came) the reply is dropped and
 * logged. fds stay the caller's (they are duplicated when queued). Ends the
 * request's in-flight slot either way. status < 0 sends message as
 * ERROR_MESSAGE and no payload. Returns 0 or a negative errno; on a socket
 * failure the connection is closed here. */
int helper_conn_finish(struct helper_conn *c, uint64_t serial, uint16_t command,
                       uint32_t request_id, int32_t status, const char *message,
                       const void *payload, size_t len, const int *fds, size_t n_fds);

/* For a handler that answers at once (returns 0) with descriptors: hands
 * fd to the reply, which takes it (it is closed after sending, or when the
 * handler fails). The n-th attached fd is the reply's index n-1, for its
 * FD fields. Returns the index, or -EMFILE past BRIG_HELPER_MAX_FDS (fd is
 * closed then). */
int helper_conn_attach_fd(struct helper_conn *c, int fd);

/* What a handler returns when a child will answer (helper_conn_finish()). */
#define HANDLER_DEFERRED 1

/* A handler reads its typed fields from msg, takes the fds it needs from
 * fds (brig_msg_take_fd), and either writes its reply fields into reply and
 * returns 0, returns HANDLER_DEFERRED, or returns a negative errno with a
 * reason for the peer. Fds it did not take are closed by the dispatcher. */
typedef int (*handler_fn)(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                          struct tlv_writer *reply, char *reason, size_t reason_size);
