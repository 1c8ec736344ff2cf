/* dispatch.c: owns the handler table (which command runs which handler,
 * and in which connection phase it is permitted) and the path from one
 * received datagram to one reply. The wire schema itself lives in
 * common/hproto.c; a command needs a row in both. */
#include "dispatch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hproto.h"
#include "log.h"
#include "tlv.h"
#include "util.h"

/* When a command may be used on a connection. */
enum permit {
        PERMIT_BEFORE_HELLO = 1 << 0,
        PERMIT_AFTER_HELLO = 1 << 1,
};

/* A handler reads its typed fields from msg, takes the fds it needs from
 * fds (brig_msg_take_fd), writes its reply fields into reply, and returns 0
 * or a negative errno with a reason for the peer. Fds it did not take are
 * closed by the dispatcher. */
typedef int (*handler_fn)(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                          struct tlv_writer *reply, char *reason, size_t reason_size);

struct handler {
        uint16_t command;
        unsigned permit;
        handler_fn fn;
};

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

/* HELLO is once, first; everything else only after it. */
static const struct handler handlers[] = {
    {BRIG_CMD_HELLO, PERMIT_BEFORE_HELLO, handle_hello},
    {BRIG_CMD_PING, PERMIT_AFTER_HELLO, handle_ping},
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
        return brig_msg_send_error(c->fd, command, request_id, error, reason);
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

int helper_conn_serve_one(struct helper_conn *c)
{
        /* One buffer: the helper's loop serves one message at a time. */
        static uint8_t buf[BRIG_HELPER_RECV_SIZE];
        static uint8_t reply_buf[BRIG_HELPER_MAX_PAYLOAD];
        struct brig_recv rv;
        struct brig_msg msg;
        struct brig_msg_error err;
        struct brig_hdr peeked;
        struct tlv_writer reply;
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        const struct handler *h;
        size_t reply_len;
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

        h = find_handler(msg.hdr.command);
        if (!h) {
                snprintf(reason, sizeof(reason), "command %s has no handler in this helper",
                         msg.spec->name);
                r = -EOPNOTSUPP;
        } else if (!(h->permit & (c->hello_done ? PERMIT_AFTER_HELLO : PERMIT_BEFORE_HELLO))) {
                snprintf(reason, sizeof(reason),
                         c->hello_done ? "command %s is not permitted after HELLO"
                                       : "command %s is not permitted before HELLO",
                         msg.spec->name);
                r = -EPERM;
        } else {
                tlv_writer_init(&reply, reply_buf, sizeof(reply_buf));
                r = h->fn(c, &msg, rv.fds, &reply, reason, sizeof(reason));
                if (r == 0)
                        r = tlv_writer_finish(&reply, &reply_len);
                if (r < 0 && reason[0] == '\0')
                        snprintf(reason, sizeof(reason), "%s failed: %s", msg.spec->name,
                                 strerror(-r));
        }
        brig_close_fds(rv.fds, rv.n_fds);
        if (r < 0) {
                r = refuse(c, &msg.hdr, r, reason);
                return r < 0 ? r : 1;
        }

        c->served++;
        log_debug("request served", "conn=%s req=%" PRIu32 " cmd=%s", c->label, msg.hdr.request_id,
                  msg.spec->name);
        r = brig_msg_send(c->fd, msg.hdr.command | BRIG_HELPER_REPLY_FLAG, msg.hdr.request_id, 0,
                          reply_buf, reply_len, NULL, 0);
        return r < 0 ? r : 1;
}
