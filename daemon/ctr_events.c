/* ctr_events.c: owns the subscribers' queues of container notes and the
 * lock and condition their takers wait on (ctr_events.h). */
#include "ctr_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "log.h"

struct ctr_events_sub {
        bool dropped;
        size_t head, n;
        struct ctr_event_note queue[CTR_EVENTS_QUEUE_MAX];
};

struct ctr_events {
        pthread_mutex_t lock;
        pthread_cond_t changed; /* a note was queued */
        struct ctr_events_sub *subs[CTR_EVENTS_MAX_SUBSCRIBERS];
};

int ctr_events_new(struct ctr_events **ret)
{
        struct ctr_events *h = calloc(1, sizeof(*h));
        pthread_condattr_t attr;

        if (!h)
                return -ENOMEM;
        pthread_mutex_init(&h->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&h->changed, &attr);
        pthread_condattr_destroy(&attr);
        *ret = h;
        return 0;
}

void ctr_events_free(struct ctr_events *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < CTR_EVENTS_MAX_SUBSCRIBERS; i++)
                free(h->subs[i]);
        pthread_cond_destroy(&h->changed);
        pthread_mutex_destroy(&h->lock);
        free(h);
}

void ctr_events_emit(struct ctr_events *h, const char *ctr_id, const char *pod_id,
                     Runtime__V1__ContainerEventType type, int64_t at)
{
        struct ctr_event_note note = {.type = type, .at = at};

        if (!h)
                return;
        snprintf(note.ctr_id, sizeof(note.ctr_id), "%s", ctr_id);
        snprintf(note.pod_id, sizeof(note.pod_id), "%s", pod_id);
        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < CTR_EVENTS_MAX_SUBSCRIBERS; i++) {
                struct ctr_events_sub *s = h->subs[i];

                if (!s || s->dropped)
                        continue;
                if (s->n == CTR_EVENTS_QUEUE_MAX) {
                        s->dropped = true;
                        log_warn("a GetContainerEvents subscriber fell behind; dropping it",
                                 "queued=%d", CTR_EVENTS_QUEUE_MAX);
                        continue;
                }
                s->queue[(s->head + s->n++) % CTR_EVENTS_QUEUE_MAX] = note;
        }
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
}

int ctr_events_subscribe(struct ctr_events *h, struct ctr_events_sub **ret)
{
        int r = -EBUSY;

        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < CTR_EVENTS_MAX_SUBSCRIBERS; i++) {
                if (h->subs[i])
                        continue;
                h->subs[i] = calloc(1, sizeof(*h->subs[i]));
                r = h->subs[i] ? 0 : -ENOMEM;
                *ret = h->subs[i];
                break;
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}

void ctr_events_unsubscribe(struct ctr_events *h, struct ctr_events_sub *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < CTR_EVENTS_MAX_SUBSCRIBERS; i++)
                if (h->subs[i] == s)
                        h->subs[i] = NULL;
        pthread_mutex_unlock(&h->lock);
        free(s);
}

int ctr_events_next(struct ctr_events *h, struct ctr_events_sub *s, unsigned ms,
                    struct ctr_event_note *ret)
{
        struct timespec until = clock_deadline_in_ms(ms);
        int r = 0;

        pthread_mutex_lock(&h->lock);
        while (!s->dropped && s->n == 0)
                if (pthread_cond_timedwait(&h->changed, &h->lock, &until) == ETIMEDOUT)
                        break;
        if (s->dropped) {
                r = -ENOBUFS;
        } else if (s->n) {
                *ret = s->queue[s->head];
                s->head = (s->head + 1) % CTR_EVENTS_QUEUE_MAX;
                s->n--;
                r = 1;
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}
