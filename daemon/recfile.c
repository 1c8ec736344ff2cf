/* recfile.c: owns brigd's crash-safe small files: how one is written
 * (temporary name, fsync, rename, directory fsync), read with a size bound,
 * and deleted. */
#include "recfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "util.h"

static atomic_uint tmp_counter;

int recfile_write_fd(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int recfile_write(int dir_fd, const char *name, const void *buf, size_t len)
{
        char tmp[512];
        int r;

        snprintf(tmp, sizeof(tmp), RECFILE_TMP_PREFIX "%s.%d.%u", name, (int)getpid(),
                 atomic_fetch_add(&tmp_counter, 1));
        _cleanup_close_ int fd =
            openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        r = recfile_write_fd(fd, buf, len);
        if (r == 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r == 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return fsync(dir_fd) < 0 ? negative_errno() : 0;
}

int recfile_delete(int dir_fd, const char *name)
{
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return fsync(dir_fd) < 0 ? negative_errno() : 0;
}

int recfile_read(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len, char *err,
                 size_t err_size)
{
        struct stat st;
        size_t len, got = 0;
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *buf = NULL;

        if (fd < 0 || fstat(fd, &st) < 0)
                return errbuf_fail(err, err_size, negative_errno(), "cannot open: %m");
        if (!S_ISREG(st.st_mode))
                return errbuf_fail(err, err_size, -EINVAL, "not a regular file");
        if ((uint64_t)st.st_size > max)
                return errbuf_fail(err, err_size, -EFBIG, "bigger than %zu bytes", max);
        len = (size_t)st.st_size;
        buf = malloc(len + 1);
        if (!buf)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return errbuf_fail(err, err_size, n < 0 ? negative_errno() : -EIO,
                                           "cannot read");
                got += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

bool recfile_is_temp(const char *name)
{
        return strncmp(name, RECFILE_TMP_PREFIX, strlen(RECFILE_TMP_PREFIX)) == 0;
}
