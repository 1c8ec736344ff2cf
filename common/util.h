/* util.h: ownership helpers shared by every brig program.
 *
 * Cleanup attributes release a local on every return path; TAKE_* hands
 * ownership out and leaves an invalid value behind so the cleanup is a no-op.
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

#define _cleanup_free_     _cleanup_(freep)
#define _cleanup_close_    _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _taken = (p);                                                        \
                (p) = NULL;                                                                        \
                _taken;                                                                            \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _taken = (fd);                                                                 \
                (fd) = -1;                                                                         \
                _taken;                                                                            \
        })

/* Closes fd (if valid) and returns -1, so `fd = safe_close(fd);` leaves no stale handle. */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* The struct of type t whose member m is at ptr. */
#define container_of(ptr, t, m) ((t *)(void *)((char *)(ptr)-offsetof(t, m)))

/* Negative errno of the last failed libc call, never 0 even if errno was clobbered. */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}
