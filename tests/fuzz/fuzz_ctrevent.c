/* fuzz_ctrevent.c: libFuzzer target for the CTR_EVENTS record decoder
 * brigd runs on each record the helper sends (common/ctrevent.h).
 *
 * Input: the bytes of records, one after another (a short tail is
 * ignored, as brigd refuses a reply whose EVENTS field is not a whole
 * number of records). An accepted record must encode back to exactly its
 * input bytes: the layout has one encoding per record.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctrevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        for (size_t off = 0; off + BRIG_HELPER_EVENT_SIZE <= size; off += BRIG_HELPER_EVENT_SIZE) {
                struct ctr_event ev;
                uint8_t again[BRIG_HELPER_EVENT_SIZE];

                if (ctrevent_decode(data + off, &ev) < 0)
                        continue;
                assert(strlen(ev.pod_id) == 64);
                assert(strlen(ev.ctr_id) == (ev.kind == BRIG_EVENT_EXITED ? 64 : 0));
                ctrevent_encode(&ev, again);
                assert(memcmp(again, data + off, BRIG_HELPER_EVENT_SIZE) == 0);
        }
        return 0;
}
