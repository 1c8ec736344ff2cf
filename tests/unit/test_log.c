/* Unit tests for common/log.c: level names and the line format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs fn with stderr redirected into a pipe and returns what it wrote. */
static void capture(void (*fn)(void), char *out, size_t size)
{
        int p[2];
        assert_int_equal(pipe(p), 0);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
        close(p[1]);
        fn();
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        ssize_t n = read(p[0], out, size - 1);
        close(p[0]);
        assert_true(n >= 0);
        out[n] = '\0';
}

static void test_level_names(void **state)
{
        (void)state;
        enum log_level l;
        assert_int_equal(log_level_from_string("debug", &l), 0);
        assert_int_equal(l, LOG_LEVEL_DEBUG);
        assert_int_equal(log_level_from_string("error", &l), 0);
        assert_int_equal(l, LOG_LEVEL_ERROR);
        assert_int_equal(log_level_from_string("loud", &l), -EINVAL);
        assert_int_equal(log_level_from_string("", &l), -EINVAL);
        assert_string_equal(log_level_to_string(LOG_LEVEL_WARN), "warn");
}

static void emit_injection(void)
{
        log_set_program("test");
        log_set_level(LOG_LEVEL_INFO);
        log_info("say \"hi\"\nlevel=error", "peer=%s", "evil\nlevel=error msg=x");
}

static void test_no_line_injection(void **state)
{
        (void)state;
        char buf[4096];
        capture(emit_injection, buf, sizeof(buf));
        /* Exactly one line, whatever the message and values contain. */
        assert_non_null(strchr(buf, '\n'));
        assert_int_equal(strchr(buf, '\n') - buf, (ptrdiff_t)strlen(buf) - 1);
        assert_non_null(strstr(buf, " level=info prog=test "));
        assert_non_null(strstr(buf, "msg=\"say \\\"hi\\\"\\nlevel=error\""));
        assert_non_null(strstr(buf, " peer=evil\\nlevel=error msg=x"));
}

static void emit_filtered(void)
{
        log_set_level(LOG_LEVEL_WARN);
        log_info("hidden", NULL);
        log_warn("shown", NULL);
}

static void test_level_filter(void **state)
{
        (void)state;
        char buf[4096];
        capture(emit_filtered, buf, sizeof(buf));
        assert_null(strstr(buf, "hidden"));
        assert_non_null(strstr(buf, "msg=\"shown\""));
}

static int errno_result;

static void emit_errno(void)
{
        log_set_level(LOG_LEVEL_INFO);
        errno_result = log_error_errno(-ENOENT, "open config", "path=%s", "/etc/x");
}

static void test_errno_line(void **state)
{
        (void)state;
        char buf[4096];
        capture(emit_errno, buf, sizeof(buf));
        assert_int_equal(errno_result, -ENOENT);
        assert_non_null(strstr(buf, "level=error"));
        assert_non_null(strstr(buf, "path=/etc/x err=\"No such file or directory\" errno=2\n"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_level_names),
            cmocka_unit_test(test_no_line_injection),
            cmocka_unit_test(test_level_filter),
            cmocka_unit_test(test_errno_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
