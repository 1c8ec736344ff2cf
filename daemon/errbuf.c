/* errbuf.c: owns formatting a message into a caller's error buffer. */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>

int errbuf_fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
        if (err_size > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, err_size, fmt, ap);
                va_end(ap);
        }
        return r;
}
