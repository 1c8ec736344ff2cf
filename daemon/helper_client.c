/* helper_client.c: owns brigd's end of the helper channel: request ids,
 * serializing calls, matching replies to requests and checking them
 * against the reply schema. */
#include "helper_client.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hproto.h"
#include "log.h"
#include "util.h"

struct helper_client {
        int fd;
        uint32_t version;
        pthread_mutex_t lock; /* one request in flight; guards everything below */
        uint32_t next_id;
        uint8_t buf[BRIG_HELPER_RECV_SIZE];
};

static long ms_since(const struct timespec *start)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Receives until the reply to (command, id) arrives; *ret points into
 * hc->buf, valid while the lock is held. Replies to earlier
 * requests that timed out are dropped. Called with the lock held. */
static int wait_reply(struct helper_client *hc, uint16_t command, uint32_t id, struct brig_msg *ret,
                      char *reason, size_t reason_size)
{
        struct timespec start;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd pfd = {.fd = hc->fd, .events = POLLIN};
                long left = HELPER_CLIENT_TIMEOUT_MS - ms_since(&start);
                struct brig_recv rv;
                struct brig_msg_error err;
                ssize_t n;
                int r;

                if (left <= 0) {
                        snprintf(reason, reason_size, "no reply from brig-helper within %d ms",
                                 HELPER_CLIENT_TIMEOUT_MS);
                        return -ETIMEDOUT;
                }
                r = poll(&pfd, 1, (int)left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        r = negative_errno();
                        snprintf(reason, reason_size, "poll on the helper channel: %s",
                                 strerror(-r));
                        return r;
                }
                if (r == 0)
                        continue;
                n = brig_msg_recv(hc->fd, hc->buf, sizeof(hc->buf), &rv);
                if (n == 0) {
                        snprintf(reason, reason_size, "brig-helper closed the channel");
                        return -ECONNRESET;
                }
                if (n == -EAGAIN)
                        continue;
                if (n < 0) {
                        brig_close_fds(rv.fds, rv.n_fds);
                        snprintf(reason, reason_size, "receiving from brig-helper: %s",
                                 strerror((int)-n));
                        return (int)n;
                }
                r = brig_msg_decode(hc->buf, rv.len, rv.n_fds, BRIG_DIR_REPLY, ret, &err);
                /* No command returns fds yet; when one does, its stub takes them. */
                brig_close_fds(rv.fds, rv.n_fds);
                if (r < 0) {
                        snprintf(reason, reason_size, "invalid reply from brig-helper: %s",
                                 err.reason);
                        return -EPROTO;
                }
                if (ret->hdr.request_id != id) {
                        log_warn("dropping a late helper reply",
                                 "req=%" PRIu32 " waiting_for=%" PRIu32, ret->hdr.request_id, id);
                        continue;
                }
                if ((ret->hdr.command & ~BRIG_HELPER_REPLY_FLAG) != command) {
                        snprintf(reason, reason_size,
                                 "brig-helper answered request %" PRIu32 " with command %u", id,
                                 ret->hdr.command & ~BRIG_HELPER_REPLY_FLAG);
                        return -EPROTO;
                }
                return 0;
        }
}

/* One request and its reply, lock held by the caller. A negative status in
 * the reply is returned with the helper's message as the reason. */
static int call_locked(struct helper_client *hc, uint64_t call_id, uint16_t command,
                       const void *payload, size_t len, struct brig_msg *ret, char *reason,
                       size_t reason_size)
{
        uint32_t id = ++hc->next_id;
        const char *message = NULL;
        int r;

        if (id == 0)
                id = ++hc->next_id; /* 0 means "no request" in the helper's refusals */
        log_debug("helper request", "req=%" PRIu32 " call=%" PRIu64 " cmd=%u", id, call_id,
                  command);
        r = brig_msg_send(hc->fd, command, id, 0, payload, len, NULL, 0);
        if (r < 0) {
                snprintf(reason, reason_size, "sending to brig-helper: %s", strerror(-r));
                return r;
        }
        r = wait_reply(hc, command, id, ret, reason, reason_size);
        if (r < 0)
                return r;
        if (ret->hdr.status < 0) {
                (void)tlv_get_string(&ret->fields, BRIG_TAG_ERROR_MESSAGE, &message);
                snprintf(reason, reason_size, "%s", message ? message : strerror(-ret->hdr.status));
                return ret->hdr.status;
        }
        return 0;
}

int helper_client_open(int fd, struct helper_client **ret)
{
        struct helper_client *hc = calloc(1, sizeof(*hc));
        uint8_t payload[128];
        struct tlv_writer w;
        struct brig_msg reply;
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        const char *helper_version = "?";
        size_t len;
        int r;

        if (!hc) {
                safe_close(fd);
                return -ENOMEM;
        }
        hc->fd = fd;
        pthread_mutex_init(&hc->lock, NULL);

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_u32(&w, BRIG_TAG_MIN_VERSION, BRIG_HELPER_VERSION);
        tlv_put_u32(&w, BRIG_TAG_MAX_VERSION, BRIG_HELPER_VERSION);
        tlv_put_string(&w, BRIG_TAG_PEER_NAME, "brigd " BRIG_VERSION);
        r = tlv_writer_finish(&w, &len);
        if (r == 0) {
                pthread_mutex_lock(&hc->lock);
                r = call_locked(hc, 0, BRIG_CMD_HELLO, payload, len, &reply, reason,
                                sizeof(reason));
                if (r == 0) {
                        tlv_get_u32(&reply.fields, BRIG_TAG_VERSION, &hc->version);
                        (void)tlv_get_string(&reply.fields, BRIG_TAG_HELPER_VERSION,
                                             &helper_version);
                        log_info("connected to brig-helper", "protocol=%" PRIu32 " helper=\"%s\"",
                                 hc->version, helper_version);
                }
                pthread_mutex_unlock(&hc->lock);
        } else {
                snprintf(reason, sizeof(reason), "HELLO does not fit its buffer");
        }
        if (r < 0) {
                log_error_errno(r, "HELLO to brig-helper failed", "reason=\"%s\"", reason);
                helper_client_free(hc);
                return r;
        }
        *ret = hc;
        return 0;
}

void helper_client_free(struct helper_client *hc)
{
        if (!hc)
                return;
        safe_close(hc->fd);
        pthread_mutex_destroy(&hc->lock);
        free(hc);
}

uint32_t helper_client_version(const struct helper_client *hc)
{
        return hc->version;
}

int helper_client_ping(struct helper_client *hc, uint64_t call_id, char *reason, size_t reason_size)
{
        static const char probe[] = "brigd";
        uint8_t payload[64];
        struct tlv_writer w;
        struct brig_msg reply;
        const void *echo = NULL;
        size_t len, echo_len = 0;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_bytes(&w, BRIG_TAG_PING_DATA, probe, sizeof(probe));
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "PING does not fit its buffer");
                return r;
        }
        pthread_mutex_lock(&hc->lock);
        r = call_locked(hc, call_id, BRIG_CMD_PING, payload, len, &reply, reason, reason_size);
        if (r == 0 && (tlv_get_bytes(&reply.fields, BRIG_TAG_PING_DATA, &echo, &echo_len) < 0 ||
                       echo_len != sizeof(probe) || memcmp(echo, probe, echo_len) != 0)) {
                snprintf(reason, reason_size, "brig-helper echoed different PING data");
                r = -EPROTO;
        }
        pthread_mutex_unlock(&hc->lock);
        return r;
}
