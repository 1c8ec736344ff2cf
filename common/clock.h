/* clock.h: CLOCK_MONOTONIC in the two forms brig's waits use: now in
 * milliseconds, and an absolute deadline some milliseconds from now for
 * pthread_cond_timedwait() on a condition variable set to CLOCK_MONOTONIC
 * (pthread_condattr_setclock()). Immune to changes of the wall clock. */
#pragma once

#include <stdint.h>
#include <time.h>

static inline int64_t clock_monotonic_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline struct timespec clock_deadline_in_ms(int64_t ms)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(ms / 1000);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}
