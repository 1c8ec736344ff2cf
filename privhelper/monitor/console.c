/* console.c: owns the console socket of a tty container: binding it in the
 * bundle and receiving the pty master the runtime sends (console.h). */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

int console_listen(int bundle_fd, const char *bundle, int *ret_fd, char *path, size_t path_size)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;

        /* The bundle's own name may be too long for sun_path; the dir fd's
         * /proc name never is. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", bundle_fd,
                 CONSOLE_SOCKET);
        if (unlinkat(bundle_fd, CONSOLE_SOCKET, 0) < 0 && errno != ENOENT)
                return negative_errno();
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                return negative_errno();
        if (strlen(bundle) + 1 + strlen(CONSOLE_SOCKET) < sizeof(sa.sun_path))
                snprintf(path, path_size, "%s/%s", bundle, CONSOLE_SOCKET);
        else
                snprintf(path, path_size, "%s", CONSOLE_SOCKET);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int console_receive(int conn_fd, int *ret_master)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(4 * sizeof(int))];
        } control;
        char data[256];
        struct iovec iov = {data, sizeof(data)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        int fds[4], n_fds = 0, bad = 0;
        ssize_t n;

        do
                n = recvmsg(conn_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
                        bad = 1;
                        continue;
                }
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k && n_fds < (int)ARRAY_SIZE(fds); i++)
                        memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if (bad || n_fds != 1 || (mh.msg_flags & MSG_CTRUNC)) {
                for (int i = 0; i < n_fds; i++)
                        close(fds[i]);
                return n == 0 && n_fds == 0 ? -EPIPE : -EBADMSG;
        }
        int flags = fcntl(fds[0], F_GETFL);
        if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) < 0) {
                int r = negative_errno();
                close(fds[0]);
                return r;
        }
        *ret_master = fds[0];
        return 0;
}

void console_unlink(int bundle_fd)
{
        unlinkat(bundle_fd, CONSOLE_SOCKET, 0);
}
