/* ctrevent.h: one container event record of the helper protocol's
 * CTR_EVENTS reply (layout in proto/helper.h), encoded by brig-helper and
 * decoded by brigd.
 */
#pragma once

#include <stdint.h>

#include "proto/helper.h"

struct ctr_event {
        uint32_t kind; /* BRIG_EVENT_* */
        uint32_t flags;
        uint32_t pid;
        uint32_t wait_status;
        uint64_t time; /* ns since the epoch */
        char pod_id[BRIG_HELPER_MAX_POD_ID];
        char ctr_id[BRIG_HELPER_MAX_POD_ID]; /* "" unless kind is EXITED */
};

/* Writes ev into out. ev's ids must be 64 lowercase hex (ctr_id "" for a
 * MONITOR_GONE); they are not checked here. */
void ctrevent_encode(const struct ctr_event *ev, uint8_t out[static BRIG_HELPER_EVENT_SIZE]);

/* Reads one record. Returns 0, or -EINVAL when the kind or a flag is
 * unknown, or an id is not 64 lowercase hex (an EXITED's container id; the
 * pod id always), or a MONITOR_GONE names a container. */
int ctrevent_decode(const uint8_t in[static BRIG_HELPER_EVENT_SIZE], struct ctr_event *ret);
