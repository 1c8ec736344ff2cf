/* crashpoint.c: owns the one armed crash point (see crashpoint.h). */
#include "crashpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char *const points[] = {
    CRASH_POD_RECORDED, CRASH_POD_PINNED,  CRASH_POD_NETWORKED,        CRASH_POD_READY,
    CRASH_CTR_RECORDED, CRASH_CTR_CREATED, CRASH_CTR_CREATED_RECORDED, CRASH_CTR_STARTING,
    CRASH_CTR_STARTED,  CRASH_CTR_KILLED,  CRASH_CTR_REMOVING};
static _Atomic(const char *) armed;

int crashpoint_arm(const char *point)
{
        if (!point || !point[0]) {
                atomic_store(&armed, NULL);
                return 0;
        }
        for (size_t i = 0; i < ARRAY_SIZE(points); i++)
                if (strcmp(point, points[i]) == 0) {
                        atomic_store(&armed, points[i]);
                        return 0;
                }
        return -EINVAL;
}

void crashpoint(const char *point)
{
        const char *a = atomic_load_explicit(&armed, memory_order_relaxed);

        if (a && strcmp(a, point) == 0) {
                log_warn("crash point reached: killing brigd", "point=%s", point);
                raise(SIGKILL);
        }
}
