/* console.h: the runtime's console socket, by which a container with a
 * terminal hands its pty master to the monitor.
 *
 * Contract:
 * - console_listen() binds a listening SOCK_STREAM unix socket named
 *   CONSOLE_SOCKET in the bundle directory (replacing a stale one), non-
 *   blocking and close-on-exec, and gives the path the runtime should
 *   connect to: <bundle>/console.sock when it fits a sockaddr_un, else the
 *   bare name (the runtime runs in the bundle directory, runtime.h).
 * - console_receive() reads one connection's message and takes the one fd
 *   that came by SCM_RIGHTS: 0 and *ret_master (non-blocking, close-on-exec),
 *   -EAGAIN when nothing has arrived yet, or another negative errno (a
 *   message without exactly one fd, anything but SCM_RIGHTS: every fd that
 *   came is closed).
 */
#pragma once

#include <stddef.h>

#define CONSOLE_SOCKET "console.sock"

int console_listen(int bundle_fd, const char *bundle, int *ret_fd, char *path, size_t path_size);
int console_receive(int conn_fd, int *ret_master);
/* Removes the socket's name from the bundle. */
void console_unlink(int bundle_fd);
