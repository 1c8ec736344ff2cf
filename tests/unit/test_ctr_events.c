/* test_ctr_events.c: unit tests for daemon/ctr_events.h: notes reach every
 * subscriber in order and only those emitted after it subscribed, a taker
 * waits for a note from another thread, a subscriber that falls a whole
 * queue behind is dropped for good while the others go on, and the
 * subscriber limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ctr_events.h"

#define CREATED RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT
#define STARTED RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT
#define STOPPED RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT

static void test_order_and_fan_out(void **state)
{
        struct ctr_events *h = NULL;
        struct ctr_events_sub *a = NULL, *b = NULL;
        struct ctr_event_note n;

        (void)state;
        assert_int_equal(ctr_events_new(&h), 0);
        assert_int_equal(ctr_events_subscribe(h, &a), 0);
        ctr_events_emit(h, "c1", "p1", CREATED, 10);
        assert_int_equal(ctr_events_subscribe(h, &b), 0);
        ctr_events_emit(h, "c1", "p1", STARTED, 20);
        assert_int_equal(ctr_events_next(h, a, 0, &n), 1);
        assert_string_equal(n.ctr_id, "c1");
        assert_string_equal(n.pod_id, "p1");
        assert_int_equal(n.type, CREATED);
        assert_int_equal(n.at, 10);
        assert_int_equal(ctr_events_next(h, a, 0, &n), 1);
        assert_int_equal(n.type, STARTED);
        assert_int_equal(ctr_events_next(h, a, 10, &n), 0);
        /* b sees only what came after it subscribed */
        assert_int_equal(ctr_events_next(h, b, 0, &n), 1);
        assert_int_equal(n.type, STARTED);
        assert_int_equal(ctr_events_next(h, b, 0, &n), 0);
        ctr_events_unsubscribe(h, a);
        ctr_events_unsubscribe(h, b);
        ctr_events_free(h);
}

static void *emit_later(void *arg)
{
        usleep(50 * 1000);
        ctr_events_emit(arg, "c2", "p2", STOPPED, 30);
        return NULL;
}

static void test_a_taker_waits_for_the_next_note(void **state)
{
        struct ctr_events *h = NULL;
        struct ctr_events_sub *s = NULL;
        struct ctr_event_note n;
        pthread_t t;

        (void)state;
        assert_int_equal(ctr_events_new(&h), 0);
        assert_int_equal(ctr_events_subscribe(h, &s), 0);
        pthread_create(&t, NULL, emit_later, h);
        assert_int_equal(ctr_events_next(h, s, 5000, &n), 1);
        assert_int_equal(n.type, STOPPED);
        assert_string_equal(n.ctr_id, "c2");
        pthread_join(t, NULL);
        ctr_events_unsubscribe(h, s);
        ctr_events_free(h);
}

static void test_a_slow_subscriber_is_dropped_alone(void **state)
{
        struct ctr_events *h = NULL;
        struct ctr_events_sub *slow = NULL, *quick = NULL;
        struct ctr_event_note n;

        (void)state;
        assert_int_equal(ctr_events_new(&h), 0);
        assert_int_equal(ctr_events_subscribe(h, &slow), 0);
        assert_int_equal(ctr_events_subscribe(h, &quick), 0);
        for (int i = 0; i <= CTR_EVENTS_QUEUE_MAX; i++) {
                ctr_events_emit(h, "c", "p", CREATED, i);
                assert_int_equal(ctr_events_next(h, quick, 0, &n), 1);
                assert_int_equal(n.at, i);
        }
        assert_int_equal(ctr_events_next(h, slow, 0, &n), -ENOBUFS);
        ctr_events_emit(h, "c", "p", STARTED, 1);
        assert_int_equal(ctr_events_next(h, slow, 0, &n), -ENOBUFS);
        assert_int_equal(ctr_events_next(h, quick, 0, &n), 1);
        ctr_events_unsubscribe(h, slow);
        ctr_events_unsubscribe(h, quick);
        ctr_events_free(h);
}

static void test_subscriber_limit(void **state)
{
        struct ctr_events *h = NULL;
        struct ctr_events_sub *s[CTR_EVENTS_MAX_SUBSCRIBERS + 1] = {0};

        (void)state;
        assert_int_equal(ctr_events_new(&h), 0);
        for (int i = 0; i < CTR_EVENTS_MAX_SUBSCRIBERS; i++)
                assert_int_equal(ctr_events_subscribe(h, &s[i]), 0);
        assert_int_equal(ctr_events_subscribe(h, &s[CTR_EVENTS_MAX_SUBSCRIBERS]), -EBUSY);
        ctr_events_unsubscribe(h, s[0]);
        assert_int_equal(ctr_events_subscribe(h, &s[0]), 0);
        for (int i = 0; i < CTR_EVENTS_MAX_SUBSCRIBERS; i++)
                ctr_events_unsubscribe(h, s[i]);
        ctr_events_emit(NULL, "c", "p", CREATED, 0);
        ctr_events_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_order_and_fan_out),
            cmocka_unit_test(test_a_taker_waits_for_the_next_note),
            cmocka_unit_test(test_a_slow_subscriber_is_dropped_alone),
            cmocka_unit_test(test_subscriber_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
