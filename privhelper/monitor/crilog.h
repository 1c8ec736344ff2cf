/* crilog.h: the CRI log writer of brig-monitor: turns a container's output
 * streams into lines of the CRI log format (channel.h, docs/brig-monitor.md)
 *
 *     <RFC3339Nano UTC> <stdout|stderr> <P|F> <text>\n
 *
 * Contract:
 * - A stream cuts its bytes at '\n' (not written) into lines. A line of up
 *   to line_max bytes of text is one F record; a longer one becomes records
 *   of exactly line_max bytes tagged P and a last one, tagged F, with the
 *   rest (1..line_max bytes). A line of exactly line_max bytes is one F.
 * - The text is copied as it came (no escaping: the format has none); only
 *   the '\n' ending it is dropped.
 * - Text without its '\n' stays in the stream's buffer (at most line_max
 *   bytes) until more comes or crilog_flush() writes it as an F record.
 * - Each record is one writev() on the sink's fd (retried on EINTR and
 *   continued after a short write), so records never interleave with those
 *   of another stream. A failed write never blocks: the record is dropped,
 *   counted in the sink, and the sink logs the first failure of a run of
 *   failures and the recovery after it. The caller ignores SIGPIPE: a log
 *   may be a pipe whose reader is gone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "2026-11-25T00:44:00.123456789Z" and its NUL. */
#define CRILOG_TS_SIZE 31

/* Where records go: one per container, shared by its streams. */
struct crilog_sink {
        int fd;                  /* the log, O_WRONLY|O_APPEND; -1 drops every record */
        const char *ctr_id;      /* names the container in log lines */
        char ts[CRILOG_TS_SIZE]; /* the timestamp of the records being written */
        bool failing;            /* the last write failed */
        uint64_t dropped;        /* bytes of text dropped by failed writes */
};

struct crilog_stream {
        const char *name; /* "stdout" or "stderr" */
        size_t line_max;
        size_t len;
        char *buf; /* line_max bytes */
};

/* Formats ts as RFC 3339 with nanoseconds in UTC into out. Returns 0 or
 * -EOVERFLOW for a time gmtime_r() cannot express in four digits. */
int crilog_format_ts(const struct timespec *ts, char out[static CRILOG_TS_SIZE]);

/* Sets the sink's timestamp from CLOCK_REALTIME: one per read of output. */
void crilog_stamp(struct crilog_sink *sink);

/* line_max is 1..MON_LOG_LINE_MAX. Returns 0 or -ENOMEM. */
int crilog_stream_init(struct crilog_stream *s, const char *name, size_t line_max);
void crilog_stream_free(struct crilog_stream *s);

/* Cuts n bytes of output into records written to sink with its current
 * timestamp. */
void crilog_feed(struct crilog_stream *s, struct crilog_sink *sink, const void *data, size_t n);

/* Writes the buffered text without its '\n' as an F record, if any. */
void crilog_flush(struct crilog_stream *s, struct crilog_sink *sink);
