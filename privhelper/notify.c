/* notify.c: owns the datagram to $NOTIFY_SOCKET: one AF_UNIX datagram of
 * newline-separated KEY=VALUE lines, to a path or (leading '@') an abstract
 * address, as systemd's sd_notify(3) documents. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "util.h"

static struct sockaddr_un addr;
static socklen_t addr_len;

void notify_init(void)
{
        const char *path = getenv("NOTIFY_SOCKET");
        size_t len;

        if (!path || (path[0] != '/' && path[0] != '@'))
                goto out;
        len = strlen(path);
        if (len >= sizeof(addr.sun_path)) {
                log_warn("NOTIFY_SOCKET is too long; not notifying", NULL);
                goto out;
        }
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, path, len);
        if (path[0] == '@')
                addr.sun_path[0] = '\0';
        addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
out:
        unsetenv("NOTIFY_SOCKET");
}

void notify_send(const char *state)
{
        _cleanup_close_ int fd = -1;

        if (addr_len == 0)
                return;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 ||
            sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) < 0)
                log_debug("cannot notify the service manager", "errno=%d", errno);
}
