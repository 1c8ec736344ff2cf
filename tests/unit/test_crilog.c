/* test_crilog.c: unit tests for brig-monitor's CRI log writer
 * (privhelper/monitor/crilog.h): the timestamp format, F and P records at
 * and around the line limit, text split across reads, the flush of a last
 * line without '\n', and dropped output on a failing log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/crilog.h"

#define TS "2026-11-25T00:44:00.123456789Z"

struct fixture {
        int fd;
        struct crilog_sink sink;
        struct crilog_stream out;
        struct crilog_stream err;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->fd = memfd_create("crilog", MFD_CLOEXEC);
        assert_true(f->fd >= 0);
        f->sink = (struct crilog_sink){.fd = f->fd, .ctr_id = "test", .ts = TS};
        assert_int_equal(crilog_stream_init(&f->out, "stdout", 8), 0);
        assert_int_equal(crilog_stream_init(&f->err, "stderr", 8), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        crilog_stream_free(&f->out);
        crilog_stream_free(&f->err);
        close(f->fd);
        free(f);
        return 0;
}

/* The whole log so far, as a NUL-terminated string. */
static char *contents(struct fixture *f)
{
        static char buf[4096];
        ssize_t n = pread(f->fd, buf, sizeof(buf) - 1, 0);

        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static void feed(struct fixture *f, struct crilog_stream *s, const char *text)
{
        crilog_feed(s, &f->sink, text, strlen(text));
}

static void test_timestamp_format(void **state)
{
        (void)state;
        char out[CRILOG_TS_SIZE];
        struct timespec ts = {.tv_sec = 1795567440, .tv_nsec = 123456789};

        assert_int_equal(crilog_format_ts(&ts, out), 0);
        assert_string_equal(out, "2026-11-25T00:44:00.123456789Z");
        ts = (struct timespec){.tv_sec = 0, .tv_nsec = 5};
        assert_int_equal(crilog_format_ts(&ts, out), 0);
        assert_string_equal(out, "1970-01-01T00:00:00.000000005Z");
        ts.tv_nsec = 1000000000;
        assert_int_equal(crilog_format_ts(&ts, out), -EOVERFLOW);
        ts = (struct timespec){.tv_sec = INT64_C(253402300800), .tv_nsec = 0};
        assert_int_equal(crilog_format_ts(&ts, out), -EOVERFLOW);
}

static void test_stamp_is_now(void **state)
{
        struct fixture *f = *state;

        crilog_stamp(&f->sink);
        assert_int_equal(strlen(f->sink.ts), CRILOG_TS_SIZE - 1);
        assert_int_equal(f->sink.ts[CRILOG_TS_SIZE - 2], 'Z');
        assert_true(strncmp(f->sink.ts, "20", 2) == 0);
}

static void test_lines_and_streams(void **state)
{
        struct fixture *f = *state;

        feed(f, &f->out, "hello\n\nwor");
        feed(f, &f->err, "err\n");
        feed(f, &f->out, "ld\n");
        assert_string_equal(contents(f), TS " stdout F hello\n" TS " stdout F \n" TS
                                            " stderr F err\n" TS " stdout F world\n");
}

static void test_split_at_the_limit(void **state)
{
        struct fixture *f = *state;

        /* exactly the limit: one F; one more byte: a P and an F */
        feed(f, &f->out, "12345678\n123456789\n");
        /* a long line cut over several reads */
        feed(f, &f->out, "abcdefghij");
        feed(f, &f->out, "klmnopqrstuvwxyz");
        feed(f, &f->out, "\n");
        assert_string_equal(contents(f), TS " stdout F 12345678\n" TS " stdout P 12345678\n" TS
                                            " stdout F 9\n" TS " stdout P abcdefgh\n" TS
                                            " stdout P ijklmnop\n" TS " stdout P qrstuvwx\n" TS
                                            " stdout F yz\n");
}

static void test_full_buffer_then_newline(void **state)
{
        struct fixture *f = *state;

        feed(f, &f->out, "abcdefgh");
        assert_string_equal(contents(f), "");
        feed(f, &f->out, "\n");
        assert_string_equal(contents(f), TS " stdout F abcdefgh\n");
}

static void test_flush_partial_line(void **state)
{
        struct fixture *f = *state;

        feed(f, &f->out, "one\ntwo");
        crilog_flush(&f->out, &f->sink);
        crilog_flush(&f->out, &f->sink);
        crilog_flush(&f->err, &f->sink);
        assert_string_equal(contents(f), TS " stdout F one\n" TS " stdout F two\n");
}

static void test_text_is_not_escaped(void **state)
{
        struct fixture *f = *state;
        static const char raw[] = "a\tb\r\0c\n";

        crilog_feed(&f->out, &f->sink, raw, sizeof(raw) - 1);
        char *got = contents(f);
        assert_memory_equal(got, TS " stdout F a\tb\r", strlen(TS) + 14);
        assert_memory_equal(got + strlen(TS) + 14, "\0c\n", 3);
}

static void test_failing_log_drops_and_recovers(void **state)
{
        struct fixture *f = *state;
        int p[2];

        log_set_level(LOG_LEVEL_ERROR);
        signal(SIGPIPE, SIG_IGN);
        assert_int_equal(pipe(p), 0);
        close(p[0]);
        f->sink.fd = p[1];
        feed(f, &f->out, "lost\nlost too\n");
        assert_true(f->sink.failing);
        assert_int_equal(f->sink.dropped, 12);
        f->sink.fd = f->fd;
        feed(f, &f->out, "kept\n");
        assert_false(f->sink.failing);
        assert_string_equal(contents(f), TS " stdout F kept\n");
        f->sink.fd = -1;
        feed(f, &f->out, "nowhere\n");
        assert_int_equal(f->sink.dropped, 19);
        close(p[1]);
}

static void test_init_limits(void **state)
{
        (void)state;
        struct crilog_stream s;

        assert_int_equal(crilog_stream_init(&s, "stdout", 0), -EINVAL);
        assert_int_equal(crilog_stream_init(&s, "stdout", MON_LOG_LINE_MAX + 1), -EINVAL);
        assert_int_equal(crilog_stream_init(&s, "stdout", MON_LOG_LINE_MAX), 0);
        crilog_stream_free(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_timestamp_format),
            cmocka_unit_test_setup_teardown(test_stamp_is_now, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lines_and_streams, setup, teardown),
            cmocka_unit_test_setup_teardown(test_split_at_the_limit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_full_buffer_then_newline, setup, teardown),
            cmocka_unit_test_setup_teardown(test_flush_partial_line, setup, teardown),
            cmocka_unit_test_setup_teardown(test_text_is_not_escaped, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failing_log_drops_and_recovers, setup, teardown),
            cmocka_unit_test(test_init_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
