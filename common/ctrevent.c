/* ctrevent.c: owns the byte layout of one CTR_EVENTS record
 * (ctrevent.h). */
#include "ctrevent.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "tlv.h"

#define OFF_KIND        0
#define OFF_FLAGS       4
#define OFF_PID         8
#define OFF_WAIT_STATUS 12
#define OFF_TIME        16
#define OFF_POD         24
#define OFF_CTR         88
#define ID_LEN          64

_Static_assert(OFF_CTR + ID_LEN == BRIG_HELPER_EVENT_SIZE, "the record's fields add up");
_Static_assert(BRIG_HELPER_MAX_POD_ID == ID_LEN + 1, "an id and its NUL");

void ctrevent_encode(const struct ctr_event *ev, uint8_t out[static BRIG_HELPER_EVENT_SIZE])
{
        memset(out, 0, BRIG_HELPER_EVENT_SIZE);
        tlv_le32_encode(out + OFF_KIND, ev->kind);
        tlv_le32_encode(out + OFF_FLAGS, ev->flags);
        tlv_le32_encode(out + OFF_PID, ev->pid);
        tlv_le32_encode(out + OFF_WAIT_STATUS, ev->wait_status);
        tlv_le64_encode(out + OFF_TIME, ev->time);
        memcpy(out + OFF_POD, ev->pod_id, strnlen(ev->pod_id, ID_LEN));
        memcpy(out + OFF_CTR, ev->ctr_id, strnlen(ev->ctr_id, ID_LEN));
}

static bool hex_id(const uint8_t *p)
{
        for (size_t i = 0; i < ID_LEN; i++)
                if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
                        return false;
        return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

int ctrevent_decode(const uint8_t in[static BRIG_HELPER_EVENT_SIZE], struct ctr_event *ret)
{
        *ret = (struct ctr_event){
            .kind = tlv_le32_decode(in + OFF_KIND),
            .flags = tlv_le32_decode(in + OFF_FLAGS),
            .pid = tlv_le32_decode(in + OFF_PID),
            .wait_status = tlv_le32_decode(in + OFF_WAIT_STATUS),
            .time = tlv_le64_decode(in + OFF_TIME),
        };
        if (!hex_id(in + OFF_POD))
                return -EINVAL;
        switch (ret->kind) {
        case BRIG_EVENT_EXITED:
                if (!hex_id(in + OFF_CTR) || (ret->flags & ~BRIG_EVENT_F_OOM_KILLED))
                        return -EINVAL;
                memcpy(ret->ctr_id, in + OFF_CTR, ID_LEN);
                break;
        case BRIG_EVENT_MONITOR_GONE:
                if (!all_zero(in + OFF_CTR, ID_LEN) || ret->flags)
                        return -EINVAL;
                break;
        default:
                return -EINVAL;
        }
        memcpy(ret->pod_id, in + OFF_POD, ID_LEN);
        return 0;
}
