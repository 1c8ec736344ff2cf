/* recfile.h: small state files brigd writes crash-safe in a directory it
 * holds open (image records, pod records). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Names of temporary files start with this; a directory's reader skips and
 * deletes them (recfile_is_temp()). */
#define RECFILE_TMP_PREFIX ".tmp-"

/* Writes buf as dir_fd/name: a temporary file, fsync, rename over name,
 * fsync of the directory. A crash leaves the old file or the new one,
 * never a mix. Returns 0 or a negative errno. */
int recfile_write(int dir_fd, const char *name, const void *buf, size_t len);

/* Writes all len bytes of buf to fd (retrying short writes and EINTR).
 * Returns 0 or a negative errno. */
int recfile_write_fd(int fd, const void *buf, size_t len);

/* Deletes dir_fd/name (absent is no error) and syncs the directory. */
int recfile_delete(int dir_fd, const char *name);

/* Reads dir_fd/name, a regular file of at most max bytes, into a malloc'd
 * buffer with a NUL after the len bytes. Returns 0, or a negative errno
 * with err saying what failed. */
int recfile_read(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len, char *err,
                 size_t err_size);

/* True for the name of a temporary file a crash may have left. */
bool recfile_is_temp(const char *name);
