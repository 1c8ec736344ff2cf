/* crilog.c: owns the CRI log format: timestamps, the cutting of a stream's
 * bytes into P and F records, and writing each record in one writev() to a
 * container's log (crilog.h). */
#include "crilog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "log.h"
#include "privhelper/monitor/channel.h"
#include "util.h"

/* Writes v as exactly width decimal digits. */
static char *put_digits(char *p, unsigned long v, int width)
{
        for (int i = width - 1; i >= 0; i--, v /= 10)
                p[i] = (char)('0' + v % 10);
        return p + width;
}

int crilog_format_ts(const struct timespec *ts, char out[static CRILOG_TS_SIZE])
{
        struct tm tm;
        char *p = out;

        if (!gmtime_r(&ts->tv_sec, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999 ||
            ts->tv_nsec < 0 || ts->tv_nsec > 999999999)
                return -EOVERFLOW;
        p = put_digits(p, (unsigned long)tm.tm_year + 1900, 4);
        *p++ = '-';
        p = put_digits(p, (unsigned long)tm.tm_mon + 1, 2);
        *p++ = '-';
        p = put_digits(p, (unsigned long)tm.tm_mday, 2);
        *p++ = 'T';
        p = put_digits(p, (unsigned long)tm.tm_hour, 2);
        *p++ = ':';
        p = put_digits(p, (unsigned long)tm.tm_min, 2);
        *p++ = ':';
        p = put_digits(p, (unsigned long)tm.tm_sec, 2);
        *p++ = '.';
        p = put_digits(p, (unsigned long)ts->tv_nsec, 9);
        *p++ = 'Z';
        *p = '\0';
        return 0;
}

void crilog_stamp(struct crilog_sink *sink)
{
        struct timespec now;

        clock_gettime(CLOCK_REALTIME, &now);
        if (crilog_format_ts(&now, sink->ts) < 0)
                snprintf(sink->ts, sizeof(sink->ts), "%s", "1970-01-01T00:00:00.000000000Z");
}

int crilog_stream_init(struct crilog_stream *s, const char *name, size_t line_max)
{
        if (line_max == 0 || line_max > MON_LOG_LINE_MAX)
                return -EINVAL;
        *s = (struct crilog_stream){.name = name, .line_max = line_max};
        s->buf = malloc(line_max);
        return s->buf ? 0 : -ENOMEM;
}

void crilog_stream_free(struct crilog_stream *s)
{
        free(s->buf);
        s->buf = NULL;
        s->len = 0;
}

/* Writes all of iov, continuing after short writes; returns 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int n)
{
        while (n > 0) {
                ssize_t w = writev(fd, iov, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return negative_errno();
                if (w == 0)
                        return -EIO;
                while (n > 0 && (size_t)w >= iov->iov_len) {
                        w -= (ssize_t)iov->iov_len;
                        iov++;
                        n--;
                }
                if (n > 0) {
                        iov->iov_base = (char *)iov->iov_base + w;
                        iov->iov_len -= (size_t)w;
                }
        }
        return 0;
}

/* One record: the text is a (the stream's buffer) followed by b. */
static void emit(struct crilog_stream *s, struct crilog_sink *sink, char tag, const char *a,
                 size_t a_len, const char *b, size_t b_len)
{
        char prefix[CRILOG_TS_SIZE + 16];
        int n = snprintf(prefix, sizeof(prefix), "%s %s %c ", sink->ts, s->name, tag);
        struct iovec iov[] = {
            {prefix, (size_t)n},
            {(void *)a, a_len},
            {(void *)b, b_len},
            {"\n", 1},
        };

        if (sink->fd < 0) {
                sink->dropped += a_len + b_len;
                return;
        }
        int r = write_all(sink->fd, iov, (int)ARRAY_SIZE(iov));
        if (r < 0) {
                sink->dropped += a_len + b_len;
                /* A full disk fails every write: say so once, not per line. */
                if (!sink->failing)
                        log_warn_errno(r, "writing the container log failed; dropping output",
                                       "ctr=%s", sink->ctr_id);
                sink->failing = true;
                return;
        }
        if (sink->failing)
                log_info("writing the container log works again", "ctr=%s dropped_bytes=%llu",
                         sink->ctr_id, (unsigned long long)sink->dropped);
        sink->failing = false;
}

void crilog_feed(struct crilog_stream *s, struct crilog_sink *sink, const void *data, size_t n)
{
        const char *p = data;

        while (n > 0) {
                const char *nl = memchr(p, '\n', n);
                size_t seg = nl ? (size_t)(nl - p) : n;

                /* Full parts first: only a part with more text after it is a
                 * P, so a line of exactly line_max bytes stays one F. */
                while (s->len + seg > s->line_max) {
                        size_t take = s->line_max - s->len;
                        emit(s, sink, 'P', s->buf, s->len, p, take);
                        s->len = 0;
                        p += take;
                        seg -= take;
                        n -= take;
                }
                if (!nl) {
                        memcpy(s->buf + s->len, p, seg);
                        s->len += seg;
                        return;
                }
                emit(s, sink, 'F', s->buf, s->len, p, seg);
                s->len = 0;
                p += seg + 1;
                n -= seg + 1;
        }
}

void crilog_flush(struct crilog_stream *s, struct crilog_sink *sink)
{
        if (s->len == 0)
                return;
        emit(s, sink, 'F', s->buf, s->len, NULL, 0);
        s->len = 0;
}
