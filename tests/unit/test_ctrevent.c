/* test_ctrevent.c: unit tests for common/ctrevent.h: a record survives
 * encoding and decoding, its bytes sit where proto/helper.h says, and a
 * record with an unknown kind or flag, a bad id, or a container id on a
 * MONITOR_GONE is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ctrevent.h"

#define POD "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CTR "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static struct ctr_event exited(void)
{
        struct ctr_event ev = {.kind = BRIG_EVENT_EXITED,
                               .flags = BRIG_EVENT_F_OOM_KILLED,
                               .pid = 4242,
                               .wait_status = 9,
                               .time = 1764000000123456789ull};

        memcpy(ev.pod_id, POD, sizeof(POD));
        memcpy(ev.ctr_id, CTR, sizeof(CTR));
        return ev;
}

static void test_round_trip_and_layout(void **state)
{
        struct ctr_event in = exited(), out;
        uint8_t rec[BRIG_HELPER_EVENT_SIZE];

        (void)state;
        ctrevent_encode(&in, rec);
        assert_int_equal(rec[0], BRIG_EVENT_EXITED);
        assert_int_equal(rec[4], BRIG_EVENT_F_OOM_KILLED);
        assert_int_equal(rec[8] | rec[9] << 8, 4242);
        assert_int_equal(rec[12], 9);
        assert_memory_equal(rec + 24, POD, 64);
        assert_memory_equal(rec + 88, CTR, 64);
        assert_int_equal(ctrevent_decode(rec, &out), 0);
        assert_int_equal(out.kind, in.kind);
        assert_int_equal(out.flags, in.flags);
        assert_int_equal(out.pid, in.pid);
        assert_int_equal(out.wait_status, in.wait_status);
        assert_true(out.time == in.time);
        assert_string_equal(out.pod_id, POD);
        assert_string_equal(out.ctr_id, CTR);
}

static void test_monitor_gone(void **state)
{
        struct ctr_event in = {.kind = BRIG_EVENT_MONITOR_GONE, .time = 5}, out;
        uint8_t rec[BRIG_HELPER_EVENT_SIZE];

        (void)state;
        memcpy(in.pod_id, POD, sizeof(POD));
        ctrevent_encode(&in, rec);
        assert_int_equal(ctrevent_decode(rec, &out), 0);
        assert_string_equal(out.ctr_id, "");
        assert_string_equal(out.pod_id, POD);
        rec[88] = 'a';
        assert_int_equal(ctrevent_decode(rec, &out), -EINVAL);
}

static void test_refusals(void **state)
{
        struct ctr_event in = exited(), out;
        uint8_t good[BRIG_HELPER_EVENT_SIZE], rec[BRIG_HELPER_EVENT_SIZE];
        const struct {
                size_t off;
                uint8_t byte;
        } bad[] = {
            {0, 0},     /* kind 0 */
            {0, 3},     /* unknown kind */
            {4, 2},     /* unknown flag */
            {24, 'A'},  /* upper case in the pod id */
            {87, 0},    /* pod id cut short */
            {100, 'g'}, /* not hex in the container id */
            {151, 0},   /* container id cut short */
        };

        (void)state;
        ctrevent_encode(&in, good);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memcpy(rec, good, sizeof(rec));
                rec[bad[i].off] = bad[i].byte;
                assert_int_equal(ctrevent_decode(rec, &out), -EINVAL);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip_and_layout),
            cmocka_unit_test(test_monitor_gone),
            cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
