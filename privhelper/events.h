/* events.h: the container events the helper passes on to the connections
 * that asked for them (CTR_EVENTS): container exits as the pods' monitors
 * report them, with whether the OOM killer struck, and monitors that went
 * away unasked.
 *
 * Each subscribed connection has a queue of its own, bounded: when a peer
 * does not ask for its events for that long, the oldest are dropped and
 * the next answer says EVENTS_LOST, so a slow peer costs the helper a
 * fixed amount of memory and never slows the loop or the other peers.
 */
#pragma once

#include <stddef.h>

#include "ctrevent.h"
#include "dispatch.h"

/* Events kept for one connection between two CTR_EVENTS. */
#define EVENTS_QUEUE_MAX 1024
/* Connections subscribed at once (brigd and the debug connections). */
#define EVENTS_MAX_SUBSCRIBERS 9

/* Queues ev for every subscribed connection, answering those waiting. */
void events_publish(const struct ctr_event *ev);

/* CTR_EVENTS (dispatch.h's handler_fn). */
int events_handle_wait(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size);

/* Drops every subscription and queued event. */
void events_free(void);
