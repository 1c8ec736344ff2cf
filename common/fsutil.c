/* fsutil.c: owns the openat2(2) call (glibc has no wrapper for it) and
 * opening a directory stream from a directory fd. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

int openat_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
        struct open_how how = {
            .flags = (unsigned)flags | O_CLOEXEC,
            .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        do
                fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EINTR);
        return fd < 0 ? negative_errno() : (int)fd;
}

DIR *opendir_at(int dirfd)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d)
                safe_close(fd); /* keeps errno */
        return d;
}
