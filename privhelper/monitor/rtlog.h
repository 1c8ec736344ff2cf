/* rtlog.h: reading what the OCI runtime leaves in a bundle after
 * `create`: the pid file and the error line of its text log (runc's
 * logrus format: time="..." level=error msg="..."). Pure: buffers in,
 * values out; the caller reads the files.
 *
 * Contract:
 * - rtlog_parse_pid() accepts only a decimal pid in 1..INT32_MAX, optionally
 *   followed by one '\n'; anything else is -EINVAL.
 * - rtlog_last_error() finds the last line whose level field is "error"
 *   and copies its msg field into out: Go quoting undone (\" and \\),
 *   other escapes and every byte outside printable ASCII turned into '?'
 *   (or a space for \n and \t), '"' into '\'', cut to out_size - 1 bytes. Returns 0, or
 *   -ENOENT when no line has level=error and a msg. Never reads past len.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

int rtlog_parse_pid(const char *buf, size_t len, pid_t *ret);
int rtlog_last_error(const char *buf, size_t len, char *out, size_t out_size);
