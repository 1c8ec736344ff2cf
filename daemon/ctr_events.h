/* ctr_events.h: brigd's hub of container lifecycle events for
 * GetContainerEvents (kubelet's evented PLEG): containers.c emits one note
 * per change as it records it (created, started, stopped, deleted), and
 * each subscriber (one per GetContainerEvents stream) takes them in order
 * from a queue of its own.
 *
 * A queue is bounded: a subscriber that falls CTR_EVENTS_QUEUE_MAX notes
 * behind is dropped (its next take says so) rather than slowing emitters
 * or the other subscribers; kubelet then relists and subscribes again.
 * Every function is safe from any thread.
 */
#pragma once

#include <stdint.h>

#include "api.pb-c.h"

#define CTR_EVENTS_QUEUE_MAX       1024
#define CTR_EVENTS_MAX_SUBSCRIBERS 8
#define CTR_EVENT_ID_LEN           64

struct ctr_events;
struct ctr_events_sub;

/* One change of one container. */
struct ctr_event_note {
        char ctr_id[CTR_EVENT_ID_LEN + 1];
        char pod_id[CTR_EVENT_ID_LEN + 1];
        Runtime__V1__ContainerEventType type;
        int64_t at; /* ns since the epoch */
};

int ctr_events_new(struct ctr_events **ret);
/* Every subscriber must have unsubscribed. NULL is a no-op. */
void ctr_events_free(struct ctr_events *h);

/* Queues the note for every subscriber. NULL h is a no-op. */
void ctr_events_emit(struct ctr_events *h, const char *ctr_id, const char *pod_id,
                     Runtime__V1__ContainerEventType type, int64_t at);

/* A new subscriber, seeing the notes emitted from now on. Returns 0 or
 * -EBUSY past CTR_EVENTS_MAX_SUBSCRIBERS, -ENOMEM. */
int ctr_events_subscribe(struct ctr_events *h, struct ctr_events_sub **ret);
void ctr_events_unsubscribe(struct ctr_events *h, struct ctr_events_sub *s);

/* Waits up to ms for s's next note. Returns 1 with it in *ret, 0 when none
 * came in time, or -ENOBUFS once s fell too far behind (for good). */
int ctr_events_next(struct ctr_events *h, struct ctr_events_sub *s, unsigned ms,
                    struct ctr_event_note *ret);
