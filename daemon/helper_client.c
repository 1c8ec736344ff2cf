/* helper_client.c: owns brigd's end of the helper channel: request ids,
 * the table of calls waiting for replies, the reader thread that matches
 * replies to them, and checking replies against the reply schema. */
#include "helper_client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "ctrevent.h"
#include "hproto.h"
#include "log.h"
#include "util.h"

/* One call waiting for its reply. Lives on the caller's stack; listed in
 * hc->waiting while the caller waits. */
struct waiting {
        struct waiting *next;
        uint32_t id;
        bool done;
        int error;    /* the channel failed before the reply came */
        uint8_t *buf; /* the reply datagram, copied out by the reader */
        size_t len;
        struct brig_recv rv; /* its fds */
};

struct helper_client {
        int fd;
        uint32_t version;
        pthread_t reader;
        bool reader_started;
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t cond;  /* a waiting call's state changed */
        uint32_t next_id;
        struct waiting *waiting;
        int closed; /* 0, or the -errno every later call fails with */
        /* The CTR_EVENTS waiting at the helper (0: none), and whom its
         * events go to. events_lock is held while the watcher runs. */
        uint32_t events_id;
        pthread_mutex_t events_lock;
        helper_event_fn events_fn;
        void *events_arg;
};

/* A reply handed to a stub: msg's fields point into buf. */
struct reply {
        struct brig_msg msg;
        uint8_t *buf;
        struct brig_recv rv;
};

static void reply_release(struct reply *r)
{
        brig_close_fds(r->rv.fds, r->rv.n_fds);
        free(r->buf);
        r->buf = NULL;
}

static struct waiting *find_waiting(struct helper_client *hc, uint32_t id)
{
        for (struct waiting *w = hc->waiting; w; w = w->next)
                if (w->id == id)
                        return w;
        return NULL;
}

static void fail_all(struct helper_client *hc, int error)
{
        pthread_mutex_lock(&hc->lock);
        hc->closed = error;
        for (struct waiting *w = hc->waiting; w; w = w->next)
                if (!w->done) {
                        w->done = true;
                        w->error = error;
                }
        pthread_cond_broadcast(&hc->cond);
        pthread_mutex_unlock(&hc->lock);
}

static uint32_t new_id_locked(struct helper_client *hc)
{
        uint32_t id = ++hc->next_id;

        /* 0 means "no request" in the helper's refusals */
        return id ? id : ++hc->next_id;
}

/* Asks for the next events. Called with events_lock held. */
static int events_ask(struct helper_client *hc)
{
        uint32_t id;
        int r;

        pthread_mutex_lock(&hc->lock);
        id = hc->events_id = new_id_locked(hc);
        pthread_mutex_unlock(&hc->lock);
        r = brig_msg_send(hc->fd, BRIG_CMD_CTR_EVENTS, id, 0, NULL, 0, NULL, 0);
        if (r < 0) {
                pthread_mutex_lock(&hc->lock);
                hc->events_id = 0;
                pthread_mutex_unlock(&hc->lock);
        }
        return r;
}

/* The reader's part: a CTR_EVENTS answer (len bytes in buf) handed to the
 * watcher, then the next one asked for. Anything wrong ends the watch,
 * and the watcher hears so. */
static void events_answered(struct helper_client *hc, const uint8_t *buf, size_t len)
{
        struct brig_msg msg;
        struct brig_msg_error err;
        const void *records = NULL;
        size_t records_len = 0;
        uint32_t lost = 0;
        int r;

        pthread_mutex_lock(&hc->events_lock);
        if (!hc->events_fn)
                goto out;
        r = brig_msg_decode(buf, len, 0, BRIG_DIR_REPLY, &msg, &err);
        if (r == 0 && (msg.hdr.command & ~BRIG_HELPER_REPLY_FLAG) != BRIG_CMD_CTR_EVENTS)
                r = -EPROTO;
        if (r == 0 && msg.hdr.status < 0)
                r = msg.hdr.status;
        if (r == 0 && tlv_get_bytes(&msg.fields, BRIG_TAG_EVENTS, &records, &records_len) == 0 &&
            records_len % BRIG_HELPER_EVENT_SIZE != 0)
                r = -EPROTO;
        if (r < 0) {
                log_error_errno(r,
                                "brig-helper's container events stopped; exits are learnt by "
                                "asking from now on",
                                NULL);
                hc->events_fn(hc->events_arg, HELPER_EVENTS_STOPPED, NULL);
                hc->events_fn = NULL;
                goto out;
        }
        (void)tlv_get_u32(&msg.fields, BRIG_TAG_EVENTS_LOST, &lost);
        if (lost)
                hc->events_fn(hc->events_arg, HELPER_EVENTS_LOST, NULL);
        for (size_t off = 0; off < records_len; off += BRIG_HELPER_EVENT_SIZE) {
                struct ctr_event ev;

                if (ctrevent_decode((const uint8_t *)records + off, &ev) < 0) {
                        log_warn("dropping a malformed container event from brig-helper", NULL);
                        hc->events_fn(hc->events_arg, HELPER_EVENTS_LOST, NULL);
                        continue;
                }
                hc->events_fn(hc->events_arg, HELPER_EVENTS_EVENT, &ev);
        }
        r = events_ask(hc);
        if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
                log_error_errno(r, "cannot ask brig-helper for container events any more", NULL);
                hc->events_fn(hc->events_arg, HELPER_EVENTS_STOPPED, NULL);
                hc->events_fn = NULL;
        }
out:
        pthread_mutex_unlock(&hc->events_lock);
}

int helper_client_watch_events(struct helper_client *hc, helper_event_fn fn, void *arg)
{
        int r;

        pthread_mutex_lock(&hc->events_lock);
        hc->events_fn = fn;
        hc->events_arg = arg;
        r = events_ask(hc);
        if (r < 0)
                hc->events_fn = NULL;
        pthread_mutex_unlock(&hc->events_lock);
        return r;
}

void helper_client_unwatch_events(struct helper_client *hc)
{
        if (!hc)
                return;
        pthread_mutex_lock(&hc->events_lock);
        hc->events_fn = NULL;
        pthread_mutex_unlock(&hc->events_lock);
}

/* Receives replies until the channel closes. A reply nobody waits for (its
 * call timed out) is dropped with its fds. */
static void *reader_main(void *arg)
{
        struct helper_client *hc = arg;
        static uint8_t buf[BRIG_HELPER_RECV_SIZE]; /* one reader per process */
        int error = -ECONNRESET;

        for (;;) {
                struct brig_recv rv;
                struct brig_hdr hdr;
                struct waiting *w;
                ssize_t n = brig_msg_recv(hc->fd, buf, sizeof(buf), &rv);

                if (n == 0)
                        break;
                if (n == -EINTR || n == -EAGAIN)
                        continue;
                if (n < 0 || !brig_hdr_peek(buf, rv.len, &hdr)) {
                        brig_close_fds(rv.fds, rv.n_fds);
                        if (n == -EMSGSIZE || n == -EXFULL || n == -EBADMSG || n > 0) {
                                log_warn("dropping an unreadable message from brig-helper",
                                         "errno=%d", n < 0 ? (int)-n : EBADMSG);
                                continue;
                        }
                        error = (int)n;
                        break;
                }
                pthread_mutex_lock(&hc->lock);
                if (hc->events_id && hdr.request_id == hc->events_id) {
                        hc->events_id = 0;
                        pthread_mutex_unlock(&hc->lock);
                        brig_close_fds(rv.fds, rv.n_fds);
                        events_answered(hc, buf, rv.len);
                        continue;
                }
                w = find_waiting(hc, hdr.request_id);
                if (w && !w->done && (w->buf = malloc(rv.len))) {
                        memcpy(w->buf, buf, rv.len);
                        w->len = rv.len;
                        w->rv = rv;
                        w->done = true;
                        pthread_cond_broadcast(&hc->cond);
                        pthread_mutex_unlock(&hc->lock);
                        continue;
                }
                pthread_mutex_unlock(&hc->lock);
                brig_close_fds(rv.fds, rv.n_fds);
                log_warn("dropping a helper reply nobody waits for", "req=%" PRIu32,
                         hdr.request_id);
        }
        fail_all(hc, error);
        return NULL;
}

static void unlist(struct helper_client *hc, struct waiting *w)
{
        for (struct waiting **p = &hc->waiting; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        return;
                }
}

/* Sends one request and lists w (which the caller keeps alive until
 * call_wait()) as waiting for its reply. */
static int call_send(struct helper_client *hc, uint64_t call_id, uint16_t command,
                     const void *payload, size_t len, const int *fds, size_t n_fds,
                     struct waiting *w, char *reason, size_t reason_size)
{
        int r;

        *w = (struct waiting){0};
        pthread_mutex_lock(&hc->lock);
        if (hc->closed) {
                r = hc->closed;
                pthread_mutex_unlock(&hc->lock);
                snprintf(reason, reason_size, "the channel to brig-helper is closed");
                return r;
        }
        w->id = new_id_locked(hc);
        w->next = hc->waiting;
        hc->waiting = w;
        pthread_mutex_unlock(&hc->lock);

        log_debug("helper request", "req=%" PRIu32 " call=%" PRIu64 " cmd=%u", w->id, call_id,
                  command);
        r = brig_msg_send(hc->fd, command, w->id, 0, payload, len, fds, n_fds);
        if (r < 0) {
                pthread_mutex_lock(&hc->lock);
                unlist(hc, w);
                pthread_mutex_unlock(&hc->lock);
                snprintf(reason, reason_size, "sending to brig-helper: %s", strerror(-r));
        }
        return r;
}

/* Waits for the reply to w and checks it. A negative status in the reply
 * is returned with the helper's message as the reason. On success the
 * caller releases *ret. */
static int call_wait(struct helper_client *hc, struct waiting *w, uint16_t command,
                     unsigned timeout_ms, struct reply *ret, char *reason, size_t reason_size)
{
        struct brig_msg_error err;
        struct timespec deadline;
        const char *message = NULL;
        int r = 0;

        *ret = (struct reply){0};
        deadline = clock_deadline_in_ms(timeout_ms);
        pthread_mutex_lock(&hc->lock);
        while (!w->done) {
                int e = pthread_cond_timedwait(&hc->cond, &hc->lock, &deadline);
                if (e == ETIMEDOUT && !w->done) {
                        r = -ETIMEDOUT;
                        break;
                }
        }
        unlist(hc, w);
        pthread_mutex_unlock(&hc->lock);

        if (r == -ETIMEDOUT) {
                snprintf(reason, reason_size, "no reply from brig-helper within %u ms", timeout_ms);
                goto fail;
        }
        if (w->error) {
                r = w->error;
                snprintf(reason, reason_size, "brig-helper closed the channel");
                goto fail;
        }
        ret->buf = TAKE_PTR(w->buf);
        ret->rv = w->rv;
        w->rv.n_fds = 0;
        r = brig_msg_decode(ret->buf, w->len, ret->rv.n_fds, BRIG_DIR_REPLY, &ret->msg, &err);
        if (r < 0) {
                snprintf(reason, reason_size, "invalid reply from brig-helper: %s", err.reason);
                r = -EPROTO;
                goto fail_reply;
        }
        if ((ret->msg.hdr.command & ~BRIG_HELPER_REPLY_FLAG) != command) {
                snprintf(reason, reason_size,
                         "brig-helper answered request %" PRIu32 " with command %u", w->id,
                         ret->msg.hdr.command & ~BRIG_HELPER_REPLY_FLAG);
                r = -EPROTO;
                goto fail_reply;
        }
        if (ret->msg.hdr.status < 0) {
                (void)tlv_get_string(&ret->msg.fields, BRIG_TAG_ERROR_MESSAGE, &message);
                snprintf(reason, reason_size, "%s",
                         message ? message : strerror(-ret->msg.hdr.status));
                r = ret->msg.hdr.status;
                goto fail_reply;
        }
        return 0;
fail_reply:
        reply_release(ret);
        return r;
fail:
        free(w->buf);
        w->buf = NULL;
        brig_close_fds(w->rv.fds, w->rv.n_fds);
        return r;
}

/* One request and its reply (call_send() and call_wait()). */
static int call(struct helper_client *hc, uint64_t call_id, uint16_t command, const void *payload,
                size_t len, const int *fds, size_t n_fds, unsigned timeout_ms, struct reply *ret,
                char *reason, size_t reason_size)
{
        struct waiting w;
        int r = call_send(hc, call_id, command, payload, len, fds, n_fds, &w, reason, reason_size);

        if (r < 0) {
                *ret = (struct reply){0};
                return r;
        }
        return call_wait(hc, &w, command, timeout_ms, ret, reason, reason_size);
}

static int hello(struct helper_client *hc)
{
        uint8_t payload[128];
        struct tlv_writer w;
        struct reply reply;
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        const char *helper_version = "?";
        size_t len;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_u32(&w, BRIG_TAG_MIN_VERSION, BRIG_HELPER_VERSION);
        tlv_put_u32(&w, BRIG_TAG_MAX_VERSION, BRIG_HELPER_VERSION);
        tlv_put_string(&w, BRIG_TAG_PEER_NAME, "brigd " BRIG_VERSION);
        r = tlv_writer_finish(&w, &len);
        if (r < 0)
                return log_error_errno(r, "HELLO does not fit its buffer", NULL);
        r = call(hc, 0, BRIG_CMD_HELLO, payload, len, NULL, 0, HELPER_CLIENT_TIMEOUT_MS, &reply,
                 reason, sizeof(reason));
        if (r < 0)
                return log_error_errno(r, "HELLO to brig-helper failed", "reason=\"%s\"", reason);
        tlv_get_u32(&reply.msg.fields, BRIG_TAG_VERSION, &hc->version);
        (void)tlv_get_string(&reply.msg.fields, BRIG_TAG_HELPER_VERSION, &helper_version);
        log_info("connected to brig-helper", "protocol=%" PRIu32 " helper=\"%s\"", hc->version,
                 helper_version);
        reply_release(&reply);
        return 0;
}

int helper_client_open(int fd, struct helper_client **ret)
{
        struct helper_client *hc = calloc(1, sizeof(*hc));
        pthread_condattr_t attr;
        sigset_t all, old;
        int r;

        if (!hc) {
                safe_close(fd);
                return -ENOMEM;
        }
        hc->fd = fd;
        pthread_mutex_init(&hc->lock, NULL);
        pthread_mutex_init(&hc->events_lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&hc->cond, &attr);
        pthread_condattr_destroy(&attr);

        /* The reader must never take a signal meant for brigd's sigwait(). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&hc->reader, NULL, reader_main, hc);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                log_error_errno(r, "cannot start the helper channel's reader", NULL);
                helper_client_free(hc);
                return r;
        }
        hc->reader_started = true;

        r = hello(hc);
        if (r < 0) {
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
        if (hc->reader_started) {
                /* The reader sees end of file and fails what still waits. */
                shutdown(hc->fd, SHUT_RDWR);
                pthread_join(hc->reader, NULL);
        }
        safe_close(hc->fd);
        pthread_cond_destroy(&hc->cond);
        pthread_mutex_destroy(&hc->lock);
        pthread_mutex_destroy(&hc->events_lock);
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
        struct reply reply;
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
        r = call(hc, call_id, BRIG_CMD_PING, payload, len, NULL, 0, HELPER_CLIENT_TIMEOUT_MS,
                 &reply, reason, reason_size);
        if (r < 0)
                return r;
        if (tlv_get_bytes(&reply.msg.fields, BRIG_TAG_PING_DATA, &echo, &echo_len) < 0 ||
            echo_len != sizeof(probe) || memcmp(echo, probe, echo_len) != 0) {
                snprintf(reason, reason_size, "brig-helper echoed different PING data");
                r = -EPROTO;
        }
        reply_release(&reply);
        return r;
}

int helper_client_ready(struct helper_client *hc, char *reason, size_t reason_size)
{
        struct reply reply;
        int r = call(hc, 0, BRIG_CMD_READY, NULL, 0, NULL, 0, HELPER_CLIENT_TIMEOUT_MS, &reply,
                     reason, reason_size);

        if (r == 0)
                reply_release(&reply);
        return r;
}

struct helper_unpack {
        struct helper_client *hc;
        struct waiting w;
};

int helper_client_unpack_send(struct helper_client *hc, uint64_t call_id, const char *chain_id,
                              const char *parent_chain_id, const char *diff_id,
                              const char *media_type, int blob_fd, struct helper_unpack **ret,
                              char *reason, size_t reason_size)
{
        uint8_t payload[512];
        struct tlv_writer w;
        struct helper_unpack *u;
        size_t len;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_CHAIN_ID, chain_id);
        if (parent_chain_id)
                tlv_put_string(&w, BRIG_TAG_PARENT_CHAIN_ID, parent_chain_id);
        tlv_put_string(&w, BRIG_TAG_DIFF_ID, diff_id);
        tlv_put_string(&w, BRIG_TAG_MEDIA_TYPE, media_type);
        tlv_put_fd(&w, BRIG_TAG_BLOB_FD, 0);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "UNPACK request does not fit its buffer");
                return r;
        }
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->hc = hc;
        r = call_send(hc, call_id, BRIG_CMD_UNPACK, payload, len, &blob_fd, 1, &u->w, reason,
                      reason_size);
        if (r < 0) {
                free(u);
                return r;
        }
        *ret = u;
        return 0;
}

int helper_client_unpack_wait(struct helper_unpack *u, struct helper_unpack_result *ret,
                              char *reason, size_t reason_size)
{
        struct reply reply;
        uint32_t existed = 0;
        int r = call_wait(u->hc, &u->w, BRIG_CMD_UNPACK, HELPER_CLIENT_UNPACK_TIMEOUT_MS, &reply,
                          reason, reason_size);

        free(u);
        if (r < 0)
                return r;
        *ret = (struct helper_unpack_result){0};
        (void)tlv_get_u64(&reply.msg.fields, BRIG_TAG_LAYER_BYTES, &ret->bytes);
        (void)tlv_get_u64(&reply.msg.fields, BRIG_TAG_LAYER_ENTRIES, &ret->entries);
        (void)tlv_get_u64(&reply.msg.fields, BRIG_TAG_LAYER_SKIPPED, &ret->skipped);
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_LAYER_EXISTED, &existed);
        ret->existed = existed != 0;
        reply_release(&reply);
        return 0;
}

int helper_client_unpack(struct helper_client *hc, uint64_t call_id, const char *chain_id,
                         const char *parent_chain_id, const char *diff_id, const char *media_type,
                         int blob_fd, struct helper_unpack_result *ret, char *reason,
                         size_t reason_size)
{
        struct helper_unpack *u;
        int r = helper_client_unpack_send(hc, call_id, chain_id, parent_chain_id, diff_id,
                                          media_type, blob_fd, &u, reason, reason_size);

        return r < 0 ? r : helper_client_unpack_wait(u, ret, reason, reason_size);
}

int helper_client_remove_layer(struct helper_client *hc, uint64_t call_id, const char *chain_id,
                               char *reason, size_t reason_size)
{
        uint8_t payload[128];
        struct tlv_writer w;
        struct reply reply;
        size_t len;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_CHAIN_ID, chain_id);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "REMOVE_LAYER request does not fit its buffer");
                return r;
        }
        r = call(hc, call_id, BRIG_CMD_REMOVE_LAYER, payload, len, NULL, 0,
                 HELPER_CLIENT_TIMEOUT_MS, &reply, reason, reason_size);
        if (r == 0)
                reply_release(&reply);
        return r;
}

int helper_client_pod_create(struct helper_client *hc, uint64_t call_id,
                             const struct helper_pod_create *req, char *reason, size_t reason_size)
{
        uint8_t payload[BRIG_TLV_HDR_SIZE * (4 + BRIG_HELPER_MAX_SYSCTLS) + BRIG_HELPER_MAX_POD_ID +
                        4 + BRIG_HELPER_MAX_HOSTNAME +
                        BRIG_HELPER_MAX_SYSCTLS * BRIG_HELPER_MAX_SYSCTL +
                        BRIG_HELPER_MAX_CGROUP_PARENT];
        struct tlv_writer w;
        struct reply reply;
        size_t len;
        int r;

        if (req->n_sysctls > BRIG_HELPER_MAX_SYSCTLS) {
                snprintf(reason, reason_size, "a pod may set at most %d sysctls, not %zu",
                         BRIG_HELPER_MAX_SYSCTLS, req->n_sysctls);
                return -EINVAL;
        }
        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_POD_ID, req->pod_id);
        tlv_put_u32(&w, BRIG_TAG_NS_FLAGS, req->ns_flags);
        if (req->hostname)
                tlv_put_string(&w, BRIG_TAG_HOSTNAME, req->hostname);
        for (size_t i = 0; i < req->n_sysctls; i++)
                tlv_put_string(&w, BRIG_TAG_SYSCTL, req->sysctls[i]);
        if (req->cgroup_parent)
                tlv_put_string(&w, BRIG_TAG_CGROUP_PARENT, req->cgroup_parent);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "POD_CREATE request does not fit its buffer");
                return r;
        }
        r = call(hc, call_id, BRIG_CMD_POD_CREATE, payload, len, NULL, 0, HELPER_CLIENT_TIMEOUT_MS,
                 &reply, reason, reason_size);
        if (r == 0)
                reply_release(&reply);
        return r;
}

/* POD_REMOVE and POD_STATUS: a request of just the pod id. */
static int pod_id_call(struct helper_client *hc, uint64_t call_id, uint16_t command,
                       const char *pod_id, struct reply *reply, char *reason, size_t reason_size)
{
        uint8_t payload[BRIG_TLV_HDR_SIZE + BRIG_HELPER_MAX_POD_ID];
        struct tlv_writer w;
        size_t len;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_POD_ID, pod_id);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "a pod id does not fit its request");
                return r;
        }
        return call(hc, call_id, command, payload, len, NULL, 0, HELPER_CLIENT_TIMEOUT_MS, reply,
                    reason, reason_size);
}

int helper_client_pod_status(struct helper_client *hc, uint64_t call_id, const char *pod_id,
                             unsigned *ret, char *reason, size_t reason_size)
{
        struct reply reply;
        uint32_t flags = 0;
        int r = pod_id_call(hc, call_id, BRIG_CMD_POD_STATUS, pod_id, &reply, reason, reason_size);

        if (r < 0)
                return r;
        /* the schema makes NS_FLAGS present */
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_NS_FLAGS, &flags);
        reply_release(&reply);
        *ret = flags;
        return 0;
}

int helper_client_pod_remove(struct helper_client *hc, uint64_t call_id, const char *pod_id,
                             char *reason, size_t reason_size)
{
        struct reply reply;
        int r = pod_id_call(hc, call_id, BRIG_CMD_POD_REMOVE, pod_id, &reply, reason, reason_size);

        if (r == 0)
                reply_release(&reply);
        return r;
}

/* NET_*: the pod id and its names; NET_ADD adds the capability arguments.
 * A NULL reply: the reply carries nothing wanted and is released here. */
static int net_call(struct helper_client *hc, uint64_t call_id, uint16_t command,
                    const struct helper_net_request *req, unsigned timeout_ms, struct reply *reply,
                    char *reason, size_t reason_size)
{
        struct reply own;
        static const uint8_t none[1];
        _cleanup_free_ uint8_t *payload = malloc(BRIG_HELPER_MAX_PAYLOAD);
        struct tlv_writer w;
        size_t len;
        int r;

        if (!payload)
                return -ENOMEM;
        tlv_writer_init(&w, payload, BRIG_HELPER_MAX_PAYLOAD);
        tlv_put_string(&w, BRIG_TAG_POD_ID, req->pod_id);
        if (req->k8s_namespace)
                tlv_put_string(&w, BRIG_TAG_K8S_NAMESPACE, req->k8s_namespace);
        if (req->k8s_name)
                tlv_put_string(&w, BRIG_TAG_K8S_NAME, req->k8s_name);
        if (req->k8s_uid)
                tlv_put_string(&w, BRIG_TAG_K8S_UID, req->k8s_uid);
        if (command == BRIG_CMD_NET_ADD) {
                if (req->port_mappings_len)
                        tlv_put_bytes(&w, BRIG_TAG_PORT_MAPPINGS,
                                      req->port_mappings ? req->port_mappings : none,
                                      req->port_mappings_len);
                if (req->has_ingress)
                        tlv_put_u64(&w, BRIG_TAG_INGRESS_RATE, req->ingress);
                if (req->has_egress)
                        tlv_put_u64(&w, BRIG_TAG_EGRESS_RATE, req->egress);
                if (req->dns_servers)
                        tlv_put_string(&w, BRIG_TAG_DNS_SERVERS, req->dns_servers);
                if (req->dns_searches)
                        tlv_put_string(&w, BRIG_TAG_DNS_SEARCHES, req->dns_searches);
                if (req->dns_options)
                        tlv_put_string(&w, BRIG_TAG_DNS_OPTIONS, req->dns_options);
        }
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "the pod's network request does not fit a message");
                return r;
        }
        r = call(hc, call_id, command, payload, len, NULL, 0, timeout_ms, reply ? reply : &own,
                 reason, reason_size);
        if (r == 0 && !reply)
                reply_release(&own);
        return r;
}

int helper_client_net_add(struct helper_client *hc, uint64_t call_id,
                          const struct helper_net_request *req, unsigned timeout_ms,
                          struct helper_net_result *ret, char *reason, size_t reason_size)
{
        struct reply reply;
        const char *name = "";
        int r =
            net_call(hc, call_id, BRIG_CMD_NET_ADD, req, timeout_ms, &reply, reason, reason_size);

        if (r < 0)
                return r;
        *ret = (struct helper_net_result){0};
        /* the schema bounds the count and each length */
        for (size_t i = 0; i < reply.msg.fields.n; i++)
                if (reply.msg.fields.items[i].tag == BRIG_TAG_POD_IP)
                        snprintf(ret->ips[ret->n_ips++], sizeof(ret->ips[0]), "%s",
                                 (const char *)reply.msg.fields.items[i].value);
        tlv_get_string(&reply.msg.fields, BRIG_TAG_CNI_CONF_NAME, &name);
        snprintf(ret->conf_name, sizeof(ret->conf_name), "%s", name);
        reply_release(&reply);
        return 0;
}

int helper_client_net_del(struct helper_client *hc, uint64_t call_id,
                          const struct helper_net_request *req, unsigned timeout_ms, char *reason,
                          size_t reason_size)
{
        return net_call(hc, call_id, BRIG_CMD_NET_DEL, req, timeout_ms, NULL, reason, reason_size);
}

int helper_client_net_check(struct helper_client *hc, uint64_t call_id,
                            const struct helper_net_request *req, unsigned timeout_ms, char *reason,
                            size_t reason_size)
{
        return net_call(hc, call_id, BRIG_CMD_NET_CHECK, req, timeout_ms, NULL, reason,
                        reason_size);
}

int helper_client_net_status(struct helper_client *hc, uint64_t call_id, char *conf_name,
                             size_t conf_name_size, char *problem, size_t problem_size)
{
        struct reply reply;
        const char *name = NULL, *why = NULL;
        int r = call(hc, call_id, BRIG_CMD_NET_STATUS, NULL, 0, NULL, 0, HELPER_CLIENT_TIMEOUT_MS,
                     &reply, problem, problem_size);

        if (r < 0)
                return r;
        if (tlv_get_string(&reply.msg.fields, BRIG_TAG_CNI_CONF_NAME, &name) == 0) {
                snprintf(conf_name, conf_name_size, "%s", name);
        } else {
                tlv_get_string(&reply.msg.fields, BRIG_TAG_CNI_PROBLEM, &why);
                snprintf(problem, problem_size, "%s", why ? why : "no CNI configuration");
                r = -ENOENT;
        }
        reply_release(&reply);
        return r;
}

int helper_client_pod_files(struct helper_client *hc, uint64_t call_id, const char *pod_id,
                            const char *hostname, const char *const dns[3],
                            const char (*ips)[BRIG_HELPER_MAX_POD_IP], size_t n_ips, char *reason,
                            size_t reason_size)
{
        static const uint16_t dns_tags[] = {BRIG_TAG_DNS_SERVERS, BRIG_TAG_DNS_SEARCHES,
                                            BRIG_TAG_DNS_OPTIONS};
        _cleanup_free_ uint8_t *payload = malloc(BRIG_HELPER_MAX_PAYLOAD);
        struct tlv_writer w;
        struct reply reply;
        size_t len;
        int r;

        if (!payload)
                return -ENOMEM;
        tlv_writer_init(&w, payload, BRIG_HELPER_MAX_PAYLOAD);
        tlv_put_string(&w, BRIG_TAG_POD_ID, pod_id);
        if (hostname)
                tlv_put_string(&w, BRIG_TAG_HOSTNAME, hostname);
        for (size_t i = 0; i < ARRAY_SIZE(dns_tags); i++)
                if (dns[i])
                        tlv_put_string(&w, dns_tags[i], dns[i]);
        for (size_t i = 0; i < n_ips; i++)
                tlv_put_string(&w, BRIG_TAG_POD_IP, ips[i]);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "the pod's files do not fit a message");
                return r;
        }
        r = call(hc, call_id, BRIG_CMD_POD_FILES, payload, len, NULL, 0, HELPER_CLIENT_TIMEOUT_MS,
                 &reply, reason, reason_size);
        if (r == 0)
                reply_release(&reply);
        return r;
}

/* The spec in a memfd sealed against every change, so the helper reads
 * exactly what brigd wrote however long it keeps the fd. */
static int sealed_memfd(const uint8_t *buf, size_t len, char *reason, size_t reason_size)
{
        _cleanup_close_ int fd = memfd_create("brig-ctrspec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        int r;

        if (fd < 0) {
                r = negative_errno();
                snprintf(reason, reason_size, "cannot create a memfd for the container request: %s",
                         strerror(-r));
                return r;
        }
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, buf + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? negative_errno() : -EIO;
                        snprintf(reason, reason_size,
                                 "cannot write the container request to its memfd: %s",
                                 strerror(-r));
                        return r;
                }
                off += (size_t)n;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
                r = negative_errno();
                snprintf(reason, reason_size, "cannot seal the container request's memfd: %s",
                         strerror(-r));
                return r;
        }
        return TAKE_FD(fd);
}

int helper_client_ctr_create(struct helper_client *hc, uint64_t call_id,
                             const struct helper_ctr_create *req, struct helper_ctr_created *ret,
                             char *reason, size_t reason_size)
{
        uint8_t
            payload[BRIG_TLV_HDR_SIZE * 4 + 2 * BRIG_HELPER_MAX_POD_ID + 4 + BRIG_HELPER_MAX_NAME];
        _cleanup_close_ int fd = -1;
        struct tlv_writer w;
        struct reply reply;
        const void *groups = NULL;
        size_t len, groups_len = 0;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_POD_ID, req->pod_id);
        tlv_put_string(&w, BRIG_TAG_CTR_ID, req->ctr_id);
        tlv_put_fd(&w, BRIG_TAG_CTR_SPEC_FD, 0);
        if (req->runtime_handler && req->runtime_handler[0])
                tlv_put_string(&w, BRIG_TAG_RUNTIME_HANDLER, req->runtime_handler);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "CTR_CREATE request does not fit its buffer");
                return r;
        }
        fd = sealed_memfd(req->spec, req->spec_len, reason, reason_size);
        if (fd < 0)
                return fd;
        r = call(hc, call_id, BRIG_CMD_CTR_CREATE, payload, len, &fd, 1,
                 HELPER_CLIENT_CTR_TIMEOUT_MS, &reply, reason, reason_size);
        if (r < 0)
                return r;
        *ret = (struct helper_ctr_created){0};
        /* the schema makes PID present, and bounds GROUPS */
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_PID, &ret->pid);
        ret->has_user = tlv_get_u32(&reply.msg.fields, BRIG_TAG_UID, &ret->uid) == 0 &&
                        tlv_get_u32(&reply.msg.fields, BRIG_TAG_GID, &ret->gid) == 0;
        if (ret->has_user &&
            tlv_get_bytes(&reply.msg.fields, BRIG_TAG_GROUPS, &groups, &groups_len) == 0)
                for (size_t off = 0;
                     off + 4 <= groups_len && ret->n_groups < BRIG_HELPER_MAX_GROUPS; off += 4)
                        ret->groups[ret->n_groups++] =
                            tlv_le32_decode((const uint8_t *)groups + off);
        reply_release(&reply);
        return 0;
}

int helper_client_ctr_update(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                             const uint8_t *resources, size_t len, char *reason, size_t reason_size)
{
        uint8_t payload[BRIG_TLV_HDR_SIZE * 2 + BRIG_HELPER_MAX_POD_ID + 4];
        _cleanup_close_ int fd = -1;
        struct tlv_writer w;
        struct reply reply;
        size_t plen;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_CTR_ID, ctr_id);
        tlv_put_fd(&w, BRIG_TAG_CTR_SPEC_FD, 0);
        r = tlv_writer_finish(&w, &plen);
        if (r < 0) {
                snprintf(reason, reason_size, "CTR_UPDATE request does not fit its buffer");
                return r;
        }
        fd = sealed_memfd(resources, len, reason, reason_size);
        if (fd < 0)
                return fd;
        r = call(hc, call_id, BRIG_CMD_CTR_UPDATE, payload, plen, &fd, 1,
                 HELPER_CLIENT_CTR_TIMEOUT_MS, &reply, reason, reason_size);
        if (r == 0)
                reply_release(&reply);
        return r;
}

/* CTR_START, CTR_DELETE, CTR_STATUS and CTR_KILL: the container id, and a
 * signal for CTR_KILL (0: none). A NULL reply: nothing in it is wanted. */
static int ctr_call(struct helper_client *hc, uint64_t call_id, uint16_t command,
                    const char *ctr_id, int signal, unsigned timeout_ms, struct reply *reply,
                    char *reason, size_t reason_size)
{
        uint8_t payload[BRIG_TLV_HDR_SIZE * 2 + BRIG_HELPER_MAX_POD_ID + 4];
        struct tlv_writer w;
        struct reply own;
        size_t len;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_CTR_ID, ctr_id);
        if (signal)
                tlv_put_u32(&w, BRIG_TAG_SIGNAL, (uint32_t)signal);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "a container id does not fit its request");
                return r;
        }
        r = call(hc, call_id, command, payload, len, NULL, 0, timeout_ms, reply ? reply : &own,
                 reason, reason_size);
        if (r == 0 && !reply)
                reply_release(&own);
        return r;
}

int helper_client_ctr_spec(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                           int *ret_fd, char *reason, size_t reason_size)
{
        struct reply reply;
        int r = ctr_call(hc, call_id, BRIG_CMD_CTR_SPEC, ctr_id, 0, HELPER_CLIENT_TIMEOUT_MS,
                         &reply, reason, reason_size);

        *ret_fd = -1;
        if (r < 0)
                return r;
        r = brig_msg_take_fd(&reply.msg, reply.rv.fds, BRIG_TAG_SPEC_FD, ret_fd);
        reply_release(&reply);
        if (r < 0)
                snprintf(reason, reason_size, "the helper's CTR_SPEC reply lacks its fd");
        return r;
}

int helper_client_ctr_start(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                            char *reason, size_t reason_size)
{
        return ctr_call(hc, call_id, BRIG_CMD_CTR_START, ctr_id, 0, HELPER_CLIENT_CTR_TIMEOUT_MS,
                        NULL, reason, reason_size);
}

int helper_client_ctr_kill(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                           int signal, char *reason, size_t reason_size)
{
        if (signal < 1 || signal > BRIG_HELPER_MAX_SIGNAL) {
                snprintf(reason, reason_size, "signal %d is not one of 1..%d", signal,
                         BRIG_HELPER_MAX_SIGNAL);
                return -EINVAL;
        }
        return ctr_call(hc, call_id, BRIG_CMD_CTR_KILL, ctr_id, signal, HELPER_CLIENT_TIMEOUT_MS,
                        NULL, reason, reason_size);
}

int helper_client_ctr_reopen_log(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                                 char *reason, size_t reason_size)
{
        return ctr_call(hc, call_id, BRIG_CMD_CTR_REOPEN_LOG, ctr_id, 0, HELPER_CLIENT_TIMEOUT_MS,
                        NULL, reason, reason_size);
}

int helper_client_ctr_delete(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                             char *reason, size_t reason_size)
{
        return ctr_call(hc, call_id, BRIG_CMD_CTR_DELETE, ctr_id, 0, HELPER_CLIENT_CTR_TIMEOUT_MS,
                        NULL, reason, reason_size);
}

int helper_client_ctr_status(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                             struct helper_ctr_status *ret, char *reason, size_t reason_size)
{
        struct reply reply;
        uint32_t running = 0;
        int r = ctr_call(hc, call_id, BRIG_CMD_CTR_STATUS, ctr_id, 0, HELPER_CLIENT_TIMEOUT_MS,
                         &reply, reason, reason_size);

        if (r < 0)
                return r;
        *ret = (struct helper_ctr_status){0};
        ret->has_pid = tlv_get_u32(&reply.msg.fields, BRIG_TAG_PID, &ret->pid) == 0;
        /* the schema makes RUNNING present */
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_RUNNING, &running);
        ret->running = running != 0;
        uint32_t monitor = 0;
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_MONITOR, &monitor);
        ret->monitor = monitor != 0;
        ret->exited = tlv_get_u32(&reply.msg.fields, BRIG_TAG_WAIT_STATUS, &ret->wait_status) == 0;
        if (ret->exited) {
                uint32_t oom = 0;

                (void)tlv_get_u64(&reply.msg.fields, BRIG_TAG_EXIT_TIME, &ret->exit_time);
                (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_OOM_KILLED, &oom);
                ret->oom_killed = oom != 0;
        }
        reply_release(&reply);
        return 0;
}

int helper_client_ctr_exec_sync(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                                const char *const *argv, size_t argc, uint32_t timeout_s,
                                struct helper_exec_result *ret, char *reason, size_t reason_size)
{
        _cleanup_free_ uint8_t *payload = NULL;
        char args[BRIG_HELPER_MAX_EXEC_ARGS_BYTES];
        size_t args_len = 0, len = 0, cap = BRIG_HELPER_MAX_PAYLOAD;
        struct tlv_writer w;
        struct reply reply;
        /* the exec's own time, then as long again as any helper call */
        unsigned timeout_ms = timeout_s == 0 || timeout_s > 24 * 3600
                                  ? 24u * 3600 * 1000
                                  : timeout_s * 1000u + HELPER_CLIENT_TIMEOUT_MS;
        int r;

        if (argc == 0 || argc > BRIG_HELPER_MAX_EXEC_ARGS) {
                snprintf(reason, reason_size, "an exec takes 1 to %d arguments, not %zu",
                         BRIG_HELPER_MAX_EXEC_ARGS, argc);
                return -EINVAL;
        }
        for (size_t i = 0; i < argc; i++) {
                size_t n = strlen(argv[i]) + 1;
                if (n > sizeof(args) - args_len) {
                        snprintf(reason, reason_size,
                                 "an exec's arguments take more than %d bytes together",
                                 BRIG_HELPER_MAX_EXEC_ARGS_BYTES);
                        return -EINVAL;
                }
                memcpy(args + args_len, argv[i], n);
                args_len += n;
        }
        payload = malloc(cap);
        if (!payload)
                return -ENOMEM;
        tlv_writer_init(&w, payload, cap);
        tlv_put_string(&w, BRIG_TAG_CTR_ID, ctr_id);
        tlv_put_bytes(&w, BRIG_TAG_EXEC_ARGS, args, args_len);
        if (timeout_s)
                tlv_put_u32(&w, BRIG_TAG_TIMEOUT, timeout_s);
        r = tlv_writer_finish(&w, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "an exec's request does not fit one message");
                return r;
        }
        r = call(hc, call_id, BRIG_CMD_CTR_EXEC_SYNC, payload, len, NULL, 0, timeout_ms, &reply,
                 reason, reason_size);
        if (r < 0)
                return r;
        uint32_t timed_out = 0;
        *ret = (struct helper_exec_result){.stdout_fd = -1, .stderr_fd = -1};
        /* the schema makes all four present */
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_WAIT_STATUS, &ret->wait_status);
        (void)tlv_get_u32(&reply.msg.fields, BRIG_TAG_TIMED_OUT, &timed_out);
        ret->timed_out = timed_out != 0;
        r = brig_msg_take_fd(&reply.msg, reply.rv.fds, BRIG_TAG_STDOUT_FD, &ret->stdout_fd);
        if (r == 0)
                r = brig_msg_take_fd(&reply.msg, reply.rv.fds, BRIG_TAG_STDERR_FD, &ret->stderr_fd);
        reply_release(&reply);
        if (r < 0) {
                ret->stdout_fd = safe_close(ret->stdout_fd);
                snprintf(reason, reason_size, "the helper's exec reply lacks its output");
        }
        return r;
}
