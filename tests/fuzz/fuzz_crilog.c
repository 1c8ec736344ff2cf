/* fuzz_crilog.c: libFuzzer target for brig-monitor's CRI log writer
 * (privhelper/monitor/crilog.h) and its reader of runtime error lines
 * (rtlog.h): both take bytes a container or its runtime chose.
 *
 * The first byte picks the line limit (1..64, so splitting is exercised
 * at small sizes), the second the size of the reads; the rest is container
 * output, fed to one stream in those reads and flushed at the end. The log
 * (a memfd) is then read back, and a broken invariant aborts:
 *   - every record is "<30-byte timestamp> stdout <P|F> <text>\n";
 *   - a P record holds exactly the limit, an F record at most the limit;
 *   - the texts, each F followed by '\n', give back the output exactly,
 *     with a '\n' added when the output did not end in one.
 * The same bytes are read as runtime.log: an extracted error is a
 * NUL-terminated string of printable ASCII without '"', shorter than the
 * buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/crilog.h"
#include "privhelper/monitor/rtlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int log_fd = -1;

static void check_rtlog(const uint8_t *data, size_t size)
{
        char out[MON_MAX_ERROR];

        if (rtlog_last_error((const char *)data, size, out, sizeof(out)) != 0)
                return;
        size_t n = strnlen(out, sizeof(out));
        if (n == sizeof(out))
                abort();
        for (size_t i = 0; i < n; i++)
                if (out[i] < ' ' || out[i] > '~' || out[i] == '"')
                        abort();
}

/* Aborts unless the log holds exactly the output (see the top). */
static void check_log(const char *log, size_t log_len, const uint8_t *out, size_t out_len,
                      size_t line_max)
{
        size_t o = 0, pos = 0;

        while (pos < log_len) {
                const size_t prefix = CRILOG_TS_SIZE - 1 + strlen(" stdout X ");
                if (log_len - pos < prefix + 1 || log[pos + CRILOG_TS_SIZE - 2] != 'Z' ||
                    memcmp(log + pos + CRILOG_TS_SIZE - 1, " stdout ", 8) != 0 ||
                    log[pos + prefix - 1] != ' ')
                        abort();
                char tag = log[pos + prefix - 2];
                if (tag != 'P' && tag != 'F')
                        abort();
                pos += prefix;
                /* The text may hold any byte but '\n': the record ends at
                 * the first one. */
                const char *nl = memchr(log + pos, '\n', log_len - pos);
                if (!nl)
                        abort();
                size_t text = (size_t)(nl - (log + pos));
                if (text > line_max || (tag == 'P' && text != line_max))
                        abort();
                if (o + text > out_len || memcmp(out + o, log + pos, text) != 0)
                        abort();
                o += text;
                if (tag == 'F' && o < out_len) {
                        if (out[o] != '\n')
                                abort();
                        o++;
                }
                pos += text + 1;
        }
        if (o != out_len)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char log[1 << 20];
        struct crilog_stream s;

        check_rtlog(data, size);
        if (size < 2)
                return 0;
        if (log_fd < 0)
                log_fd = memfd_create("crilog", MFD_CLOEXEC);
        if (log_fd < 0 || ftruncate(log_fd, 0) < 0 || lseek(log_fd, 0, SEEK_SET) < 0)
                abort();

        size_t line_max = 1 + data[0] % 64;
        size_t chunk = 1 + data[1];
        const uint8_t *out = data + 2;
        size_t out_len = size - 2;
        struct crilog_sink sink = {.fd = log_fd, .ctr_id = "fuzz"};

        if (crilog_stream_init(&s, "stdout", line_max) < 0)
                abort();
        crilog_stamp(&sink);
        for (size_t off = 0; off < out_len; off += chunk)
                crilog_feed(&s, &sink, out + off, out_len - off < chunk ? out_len - off : chunk);
        crilog_flush(&s, &sink);
        crilog_stream_free(&s);
        if (sink.dropped != 0)
                abort();

        ssize_t n = pread(log_fd, log, sizeof(log), 0);
        if (n < 0 || (size_t)n == sizeof(log))
                abort();
        check_log(log, (size_t)n, out, out_len, line_max);
        return 0;
}
