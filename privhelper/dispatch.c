/* dispatch.c: owns the handler table (which command runs which handler,
 * and in which connection phase it is permitted), the path from one
 * received datagram to one reply, the in-flight limit and the queue of
 * replies a slow peer has not taken yet. The wire schema itself lives in
 * common/hproto.c; a command needs a row in both. */
#include "dispatch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "events.h"
#include "hproto.h"
#include "layers.h"
#include "log.h"
#include "network.h"
#include "pods.h"
#include "tlv.h"
#include "util.h"

/* When a command may be used on a connection. */
enum permit {
        PERMIT_BEFORE_HELLO = 1 << 0,
        PERMIT_AFTER_HELLO = 1 << 1,
        /* answered later by a child: takes an in-flight slot */
        PERMIT_DEFERRED = 1 << 2,
};

struct handler {
        uint16_t command;
        unsigned permit;
        handler_fn fn;
};

struct queued_reply {
        struct queued_reply *next;
        uint16_t command;
        uint32_t request_id;
        int32_t status;
        size_t len;
        size_t n_fds;
        int fds[BRIG_HELPER_MAX_FDS];
        uint8_t payload[];
};

static uint64_t next_serial;

void helper_conn_open(struct helper_conn *c, int fd, const char *label)
{
        *c = (struct helper_conn){.fd = fd, .label = label, .serial = ++next_serial};
}

int helper_conn_attach_fd(struct helper_conn *c, int fd)
{
        if (c->n_reply_fds == BRIG_HELPER_MAX_FDS) {
                safe_close(fd);
                return -EMFILE;
        }
        c->reply_fds[c->n_reply_fds] = fd;
        return (int)c->n_reply_fds++;
}

static void drop_reply_fds(struct helper_conn *c)
{
        brig_close_fds(c->reply_fds, c->n_reply_fds);
        c->n_reply_fds = 0;
}

static void free_queue(struct helper_conn *c)
{
        while (c->queue_head) {
                struct queued_reply *q = c->queue_head;
                c->queue_head = q->next;
                brig_close_fds(q->fds, q->n_fds);
                free(q);
        }
        c->queue_tail = NULL;
        c->queued = 0;
}

void helper_conn_close(struct helper_conn *c)
{
        if (c->fd >= 0)
                log_debug("connection closed",
                          "conn=%s served=%" PRIu64 " refused=%" PRIu64 " in_flight=%u", c->label,
                          c->served, c->refused, c->in_flight);
        c->fd = safe_close(c->fd);
        free_queue(c);
        c->in_flight = 0;
        /* Deferred replies hold the old serial: they are dropped from now on. */
        c->serial = ++next_serial;
}

bool helper_conn_wants_write(const struct helper_conn *c)
{
        return c->queue_head != NULL;
}

static int enqueue(struct helper_conn *c, uint16_t command, uint32_t request_id, int32_t status,
                   const void *payload, size_t len, const int *fds, size_t n_fds)
{
        struct queued_reply *q;

        if (c->queued >= HELPER_MAX_QUEUED_REPLIES)
                return log_warn_errno(-ENOBUFS, "peer does not read its replies; dropping it",
                                      "conn=%s queued=%zu", c->label, c->queued);
        q = calloc(1, sizeof(*q) + len);
        if (!q)
                return -ENOMEM;
        *q = (struct queued_reply){
            .command = command, .request_id = request_id, .status = status, .len = len};
        memcpy(q->payload, payload, len);
        for (size_t i = 0; i < BRIG_HELPER_MAX_FDS; i++)
                q->fds[i] = -1;
        for (size_t i = 0; i < n_fds; i++) {
                q->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                q->n_fds = i + 1;
                if (q->fds[i] < 0) {
                        int r = negative_errno();
                        brig_close_fds(q->fds, q->n_fds);
                        free(q);
                        return r;
                }
        }
        if (c->queue_tail)
                c->queue_tail->next = q;
        else
                c->queue_head = q;
        c->queue_tail = q;
        c->queued++;
        log_debug("reply queued: peer is slow to read", "conn=%s req=%" PRIu32 " queued=%zu",
                  c->label, request_id, c->queued);
        return 0;
}

/* Sends one reply, or queues it behind those already waiting so that a
 * peer sees replies in the order the helper made them. */
static int send_reply(struct helper_conn *c, uint16_t command, uint32_t request_id, int32_t status,
                      const void *payload, size_t len, const int *fds, size_t n_fds)
{
        int r;

        command |= BRIG_HELPER_REPLY_FLAG;
        if (!c->queue_head) {
                r = brig_msg_send(c->fd, command, request_id, status, payload, len, fds, n_fds);
                if (r != -EAGAIN)
                        return r;
        }
        return enqueue(c, command, request_id, status, payload, len, fds, n_fds);
}

int helper_conn_flush(struct helper_conn *c)
{
        while (c->queue_head) {
                struct queued_reply *q = c->queue_head;
                int r = brig_msg_send(c->fd, q->command, q->request_id, q->status, q->payload,
                                      q->len, q->fds, q->n_fds);
                if (r == -EAGAIN)
                        return 0;
                if (r < 0)
                        return r;
                c->queue_head = q->next;
                if (!c->queue_head)
                        c->queue_tail = NULL;
                c->queued--;
                brig_close_fds(q->fds, q->n_fds);
                free(q);
        }
        return 0;
}

/* The payload of an error reply: ERROR_MESSAGE, cut to its limit. */
static size_t error_payload(const char *message, uint8_t *buf, size_t size)
{
        char text[BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct tlv_writer w;
        size_t n = strnlen(message, sizeof(text) - 1), len = 0;

        memcpy(text, message, n);
        text[n] = '\0';
        tlv_writer_init(&w, buf, size);
        tlv_put_string(&w, BRIG_TAG_ERROR_MESSAGE, text);
        return tlv_writer_finish(&w, &len) < 0 ? 0 : len;
}

static int send_error(struct helper_conn *c, uint16_t command, uint32_t request_id, int32_t status,
                      const char *message)
{
        uint8_t payload[BRIG_TLV_HDR_SIZE + BRIG_HELPER_MAX_ERROR_MESSAGE];
        size_t len = error_payload(message, payload, sizeof(payload));

        return send_reply(c, command, request_id, status, payload, len, NULL, 0);
}

int helper_conn_finish(struct helper_conn *c, uint64_t serial, uint16_t command,
                       uint32_t request_id, int32_t status, const char *message,
                       const void *payload, size_t len, const int *fds, size_t n_fds)
{
        int r;

        if (c->fd < 0 || c->serial != serial) {
                log_info("dropping a reply: its connection is gone",
                         "req=%" PRIu32 " cmd=%u status=%d", request_id, command, status);
                return 0;
        }
        if (c->in_flight > 0)
                c->in_flight--;
        if (status < 0) {
                c->refused++;
                log_warn("request failed", "conn=%s req=%" PRIu32 " cmd=%u errno=%d reason=\"%s\"",
                         c->label, request_id, command, -status, message ? message : "");
                r = send_error(c, command, request_id, status,
                               message ? message : strerror(-status));
        } else {
                c->served++;
                r = send_reply(c, command, request_id, 0, payload, len, fds, n_fds);
        }
        if (r < 0) {
                log_warn_errno(r, "cannot reply; closing the connection", "conn=%s", c->label);
                helper_conn_close(c);
        }
        return r;
}

static int handle_hello(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                        struct tlv_writer *reply, char *reason, size_t reason_size)
{
        uint32_t min = 0, max = 0;
        const char *peer = "unnamed";

        (void)fds;
        /* The schema guarantees both versions are present exactly once. */
        tlv_get_u32(&msg->fields, BRIG_TAG_MIN_VERSION, &min);
        tlv_get_u32(&msg->fields, BRIG_TAG_MAX_VERSION, &max);
        (void)tlv_get_string(&msg->fields, BRIG_TAG_PEER_NAME, &peer);
        if (min > max) {
                snprintf(reason, reason_size,
                         "HELLO: min_version %" PRIu32 " is above max_version %" PRIu32, min, max);
                return -EINVAL;
        }
        if (min > BRIG_HELPER_VERSION || max < BRIG_HELPER_VERSION) {
                snprintf(reason, reason_size,
                         "HELLO: helper speaks version %d only; peer offers %" PRIu32 "..%" PRIu32,
                         BRIG_HELPER_VERSION, min, max);
                return -EPROTONOSUPPORT;
        }
        c->hello_done = true;
        c->version = BRIG_HELPER_VERSION;
        log_info("peer said hello", "conn=%s req=%" PRIu32 " peer=\"%s\" version=%d", c->label,
                 msg->hdr.request_id, peer, BRIG_HELPER_VERSION);
        tlv_put_u32(reply, BRIG_TAG_VERSION, BRIG_HELPER_VERSION);
        tlv_put_string(reply, BRIG_TAG_HELPER_VERSION, BRIG_VERSION);
        return 0;
}

static int handle_ping(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const void *data;
        size_t len;

        (void)c, (void)fds, (void)reason, (void)reason_size;
        if (tlv_get_bytes(&msg->fields, BRIG_TAG_PING_DATA, &data, &len) == 0)
                tlv_put_bytes(reply, BRIG_TAG_PING_DATA, data, len);
        return 0;
}

static int handle_ready(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                        struct tlv_writer *reply, char *reason, size_t reason_size)
{
        (void)msg, (void)fds, (void)reply;
        if (c->ready) {
                snprintf(reason, reason_size, "READY: already sent on this connection");
                return -EALREADY;
        }
        c->ready = true;
        log_info("peer is ready", "conn=%s", c->label);
        return 0;
}

/* HELLO is once, first; everything else only after it. */
static const struct handler handlers[] = {
    {BRIG_CMD_HELLO, PERMIT_BEFORE_HELLO, handle_hello},
    {BRIG_CMD_PING, PERMIT_AFTER_HELLO, handle_ping},
    {BRIG_CMD_UNPACK, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, layers_handle_unpack},
    {BRIG_CMD_READY, PERMIT_AFTER_HELLO, handle_ready},
    {BRIG_CMD_REMOVE_LAYER, PERMIT_AFTER_HELLO, layers_handle_remove},
    {BRIG_CMD_POD_CREATE, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, pods_handle_create},
    {BRIG_CMD_POD_REMOVE, PERMIT_AFTER_HELLO, pods_handle_remove},
    {BRIG_CMD_POD_STATUS, PERMIT_AFTER_HELLO, pods_handle_status},
    {BRIG_CMD_NET_ADD, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, network_handle_add},
    {BRIG_CMD_NET_DEL, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, network_handle_del},
    {BRIG_CMD_NET_CHECK, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, network_handle_check},
    {BRIG_CMD_NET_STATUS, PERMIT_AFTER_HELLO, network_handle_status},
    {BRIG_CMD_POD_FILES, PERMIT_AFTER_HELLO, pods_handle_files},
    {BRIG_CMD_CTR_CREATE, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_create},
    {BRIG_CMD_CTR_START, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_start},
    {BRIG_CMD_CTR_KILL, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_kill},
    {BRIG_CMD_CTR_DELETE, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_delete},
    {BRIG_CMD_CTR_STATUS, PERMIT_AFTER_HELLO, ctr_handle_status},
    {BRIG_CMD_CTR_EXEC_SYNC, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_exec_sync},
    {BRIG_CMD_CTR_REOPEN_LOG, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_reopen_log},
    {BRIG_CMD_CTR_UPDATE, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, ctr_handle_update},
    {BRIG_CMD_CTR_EVENTS, PERMIT_AFTER_HELLO | PERMIT_DEFERRED, events_handle_wait},
    {BRIG_CMD_CTR_SPEC, PERMIT_AFTER_HELLO, ctr_handle_spec},
};

static const struct handler *find_handler(uint16_t command)
{
        for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
                if (handlers[i].command == command)
                        return &handlers[i];
        return NULL;
}

/* Logs, counts and answers a refused request. Returns what sending gave. */
static int refuse(struct helper_conn *c, const struct brig_hdr *hdr, int error, const char *reason)
{
        uint16_t command = hdr ? hdr->command & (uint16_t)~BRIG_HELPER_REPLY_FLAG : 0;
        uint32_t request_id = hdr ? hdr->request_id : 0;

        c->refused++;
        log_warn("request refused",
                 "conn=%s req=%" PRIu32 " cmd=%u errno=%d reason=\"%s\" refused_total=%" PRIu64,
                 c->label, request_id, command, -error, reason, c->refused);
        return send_error(c, command, request_id, error, reason);
}

static const char *recv_reason(ssize_t n)
{
        switch (n) {
        case -EMSGSIZE:
                return "datagram larger than the largest valid message";
        case -EXFULL:
                return "more file descriptors than any message may carry";
        default:
                return "empty datagram or ancillary data other than SCM_RIGHTS";
        }
}

/* Runs the handler of an accepted request. Returns 0 with the reply in
 * reply_buf, HANDLER_DEFERRED, or a negative errno with reason set. */
static int run_handler(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       uint8_t *reply_buf, size_t reply_size, size_t *reply_len, char *reason,
                       size_t reason_size)
{
        const struct handler *h = find_handler(msg->hdr.command);
        struct tlv_writer reply;
        int r;

        if (!h) {
                snprintf(reason, reason_size, "command %s has no handler in this helper",
                         msg->spec->name);
                return -EOPNOTSUPP;
        }
        if (!(h->permit & (c->hello_done ? PERMIT_AFTER_HELLO : PERMIT_BEFORE_HELLO))) {
                snprintf(reason, reason_size,
                         c->hello_done ? "command %s is not permitted after HELLO"
                                       : "command %s is not permitted before HELLO",
                         msg->spec->name);
                return -EPERM;
        }
        if ((h->permit & PERMIT_DEFERRED) && c->in_flight >= HELPER_MAX_IN_FLIGHT) {
                snprintf(reason, reason_size,
                         "%s: %d requests of this connection are already in flight",
                         msg->spec->name, HELPER_MAX_IN_FLIGHT);
                return -EBUSY;
        }
        tlv_writer_init(&reply, reply_buf, reply_size);
        r = h->fn(c, msg, fds, &reply, reason, reason_size);
        if (r == HANDLER_DEFERRED) {
                c->in_flight++;
                return r;
        }
        if (r == 0)
                r = tlv_writer_finish(&reply, reply_len);
        if (r < 0 && reason[0] == '\0')
                snprintf(reason, reason_size, "%s failed: %s", msg->spec->name, strerror(-r));
        return r;
}

int helper_conn_serve_one(struct helper_conn *c)
{
        /* One buffer: the helper's loop serves one message at a time. */
        static uint8_t buf[BRIG_HELPER_RECV_SIZE];
        static uint8_t reply_buf[BRIG_HELPER_MAX_PAYLOAD];
        struct brig_recv rv;
        struct brig_msg msg;
        struct brig_msg_error err;
        struct brig_hdr peeked;
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        size_t reply_len = 0;
        ssize_t n;
        int r;

        n = brig_msg_recv(c->fd, buf, sizeof(buf), &rv);
        if (n == 0)
                return 0;
        if (n == -EMSGSIZE || n == -EXFULL || n == -EBADMSG) {
                bool have_hdr = brig_hdr_peek(buf, rv.len, &peeked);
                r = refuse(c, have_hdr ? &peeked : NULL, (int)n, recv_reason(n));
                return r < 0 ? r : 1;
        }
        if (n < 0)
                return (int)n;

        r = brig_msg_decode(buf, rv.len, rv.n_fds, BRIG_DIR_REQUEST, &msg, &err);
        if (r < 0) {
                brig_close_fds(rv.fds, rv.n_fds);
                r = refuse(c, err.hdr_valid ? &err.hdr : NULL, r, err.reason);
                return r < 0 ? r : 1;
        }

        c->n_reply_fds = 0;
        r = run_handler(c, &msg, rv.fds, reply_buf, sizeof(reply_buf), &reply_len, reason,
                        sizeof(reason));
        brig_close_fds(rv.fds, rv.n_fds);
        if (r != 0)
                drop_reply_fds(c);
        if (r == HANDLER_DEFERRED) {
                log_debug("request deferred", "conn=%s req=%" PRIu32 " cmd=%s in_flight=%u",
                          c->label, msg.hdr.request_id, msg.spec->name, c->in_flight);
                return 1;
        }
        if (r < 0) {
                r = refuse(c, &msg.hdr, r, reason);
                return r < 0 ? r : 1;
        }

        c->served++;
        log_debug("request served", "conn=%s req=%" PRIu32 " cmd=%s", c->label, msg.hdr.request_id,
                  msg.spec->name);
        r = send_reply(c, msg.hdr.command, msg.hdr.request_id, 0, reply_buf, reply_len,
                       c->reply_fds, c->n_reply_fds);
        drop_reply_fds(c);
        return r < 0 ? r : 1;
}
