/* errbuf.h: the one way library code hands a message back to its caller
 * through a (char *err, size_t err_size) buffer. */
#pragma once

#include <stddef.h>

/* Formats the message into err (cut to err_size; nothing when err_size is
 * 0) and returns r, so a failure is one statement:
 *     return errbuf_fail(err, err_size, -EINVAL, "bad %s", what); */
int errbuf_fail(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
