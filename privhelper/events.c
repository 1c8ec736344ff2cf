/* events.c: owns the per-connection queues of container events and the
 * CTR_EVENTS answers drawn from them (events.h). */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hproto.h"
#include "log.h"
#include "tlv.h"
#include "util.h"

struct subscriber {
        struct helper_conn *conn;
        uint64_t serial; /* the connection it subscribed on */
        bool waiting;    /* a CTR_EVENTS is deferred */
        uint32_t request_id;
        bool lost; /* events were dropped since the last answer */
        size_t head, n;
        struct ctr_event queue[EVENTS_QUEUE_MAX];
};

static struct subscriber *subs[EVENTS_MAX_SUBSCRIBERS];

/* A subscription whose connection closed (its serial changed) is over. */
static bool stale(const struct subscriber *s)
{
        return s->conn->fd < 0 || s->conn->serial != s->serial;
}

static void drop_stale(void)
{
        for (size_t i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
                if (subs[i] && stale(subs[i])) {
                        free(subs[i]);
                        subs[i] = NULL;
                }
}

static struct subscriber **slot_of(const struct helper_conn *c)
{
        drop_stale();
        for (size_t i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
                if (subs[i] && subs[i]->conn == c)
                        return &subs[i];
        return NULL;
}

/* Moves what s's queue holds (up to one answer's worth) into w. */
static int take(struct subscriber *s, struct tlv_writer *w)
{
        static uint8_t records[BRIG_HELPER_MAX_EVENTS * BRIG_HELPER_EVENT_SIZE];
        size_t n = s->n < BRIG_HELPER_MAX_EVENTS ? s->n : BRIG_HELPER_MAX_EVENTS;
        int r = 0;

        for (size_t i = 0; i < n; i++)
                ctrevent_encode(&s->queue[(s->head + i) % EVENTS_QUEUE_MAX],
                                records + i * BRIG_HELPER_EVENT_SIZE);
        if (n)
                r = tlv_put_bytes(w, BRIG_TAG_EVENTS, records, n * BRIG_HELPER_EVENT_SIZE);
        if (r == 0 && s->lost)
                r = tlv_put_u32(w, BRIG_TAG_EVENTS_LOST, 1);
        if (r < 0)
                return r;
        s->head = (s->head + n) % EVENTS_QUEUE_MAX;
        s->n -= n;
        s->lost = false;
        return 0;
}

/* Answers s's deferred CTR_EVENTS. */
static void answer(struct subscriber *s)
{
        static uint8_t payload[BRIG_HELPER_MAX_EVENTS * BRIG_HELPER_EVENT_SIZE + 64];
        struct tlv_writer w;
        size_t len = 0;

        tlv_writer_init(&w, payload, sizeof(payload));
        if (take(s, &w) < 0 || tlv_writer_finish(&w, &len) < 0)
                return;
        s->waiting = false;
        helper_conn_finish(s->conn, s->serial, BRIG_CMD_CTR_EVENTS, s->request_id, 0, NULL, payload,
                           len, NULL, 0);
}

void events_publish(const struct ctr_event *ev)
{
        drop_stale();
        for (size_t i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++) {
                struct subscriber *s = subs[i];

                if (!s)
                        continue;
                if (s->n == EVENTS_QUEUE_MAX) {
                        if (!s->lost)
                                log_warn("a peer does not take its container events; dropping "
                                         "the oldest",
                                         "conn=%s queued=%d", s->conn->label, EVENTS_QUEUE_MAX);
                        s->head = (s->head + 1) % EVENTS_QUEUE_MAX;
                        s->n--;
                        s->lost = true;
                }
                s->queue[(s->head + s->n) % EVENTS_QUEUE_MAX] = *ev;
                s->n++;
                if (s->waiting)
                        answer(s);
        }
}

int events_handle_wait(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        struct subscriber **slot = slot_of(c), *s;

        (void)fds;
        if (!slot) {
                for (size_t i = 0; i < EVENTS_MAX_SUBSCRIBERS && !slot; i++)
                        if (!subs[i])
                                slot = &subs[i];
                if (!slot) {
                        snprintf(reason, reason_size,
                                 "CTR_EVENTS: %d connections are subscribed already",
                                 EVENTS_MAX_SUBSCRIBERS);
                        return -EBUSY;
                }
                *slot = calloc(1, sizeof(**slot));
                if (!*slot)
                        return -ENOMEM;
                (*slot)->conn = c;
                (*slot)->serial = c->serial;
                log_info("connection subscribed to container events", "conn=%s", c->label);
        }
        s = *slot;
        if (s->waiting) {
                snprintf(reason, reason_size,
                         "CTR_EVENTS: this connection already waits for its events");
                return -EBUSY;
        }
        if (s->n || s->lost)
                return take(s, reply);
        s->waiting = true;
        s->request_id = msg->hdr.request_id;
        return HANDLER_DEFERRED;
}

void events_free(void)
{
        for (size_t i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++) {
                free(subs[i]);
                subs[i] = NULL;
        }
}
