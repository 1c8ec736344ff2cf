/* test_cmdline.c: unit tests for the shared command line (common/cmdline.h):
 * key flags in both spellings, program options with and without values,
 * the positional command, and every refusal with its exact message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "util.h"

static const struct cmdline_option options[] = {
    {"helper-fd", true},
    {"debug-rpcs", false},
};

/* Parses a NULL-terminated argv; returns r and the message (or NULL). */
static int parse(struct cmdline *cl, char **err, ...)
{
        char *argv[32] = {"prog"};
        int argc = 1;
        va_list ap;

        va_start(ap, err);
        for (char *a; (a = va_arg(ap, char *));)
                argv[argc++] = a;
        va_end(ap);
        *err = NULL;
        return cmdline_parse(argc, argv, options, ARRAY_SIZE(options), cl, err);
}

static void test_flags_and_options(void **state)
{
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_(config_free) struct brig_config c = {0};
        _cleanup_free_ char *err = NULL;

        (void)state;
        assert_int_equal(parse(&cl, &err, "--run-root", "/tmp/r", "--log-level=debug",
                               "--helper-fd", "3", "--debug-rpcs", "config", "--config", "/x.conf",
                               NULL),
                         0);
        assert_string_equal(cl.command, "config");
        assert_string_equal(cl.config_path, "/x.conf");
        assert_string_equal(cmdline_extra(&cl, "helper-fd"), "3");
        assert_string_equal(cmdline_extra(&cl, "debug-rpcs"), "");
        assert_null(cmdline_extra(&cl, "nothing"));
        assert_int_equal(cl.n_sets, 2);
        assert_string_equal(cl.sets[0].key, "run_root");
        assert_string_equal(cl.sets[0].flag, "--run-root");
        assert_string_equal(cl.sets[1].key, "log_level");
        assert_string_equal(cl.sets[1].flag, "--log-level=debug");

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(cmdline_apply_flags(&cl, &c, &err), 0);
        assert_string_equal(c.run_root, "/tmp/r");
        assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
}

static void test_last_option_wins(void **state)
{
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_free_ char *err = NULL;

        (void)state;
        assert_int_equal(parse(&cl, &err, "--helper-fd", "3", "--helper-fd=5", NULL), 0);
        assert_string_equal(cmdline_extra(&cl, "helper-fd"), "5");
}

static void test_help_and_version(void **state)
{
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_free_ char *err = NULL;

        (void)state;
        assert_int_equal(parse(&cl, &err, "-h", "--version", NULL), 0);
        assert_true(cl.help);
        assert_true(cl.version);
        assert_null(cl.command);
}

static void expect_error(const char *message, ...)
{
        struct cmdline cl = {0};
        char *argv[32] = {"prog"};
        char *err = NULL;
        int argc = 1;
        va_list ap;

        va_start(ap, message);
        for (char *a; (a = va_arg(ap, char *));)
                argv[argc++] = a;
        va_end(ap);
        assert_int_equal(cmdline_parse(argc, argv, options, ARRAY_SIZE(options), &cl, &err),
                         -EINVAL);
        assert_non_null(err);
        assert_string_equal(err, message);
        assert_int_equal(cl.n_sets, 0);
        free(err);
}

static void test_refusals(void **state)
{
        (void)state;
        expect_error("unknown option '-x'", "-x", NULL);
        expect_error("unexpected argument 'two'", "one", "two", NULL);
        expect_error("option '--root' needs a value", "--root", NULL);
        expect_error("option '--debug-rpcs' takes no value", "--debug-rpcs=yes", NULL);
        expect_error("option '--helper-fd' needs a value", "--log-level", "info", "--helper-fd",
                     NULL);
}

static void test_bad_flag_value_names_the_flag(void **state)
{
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_(config_free) struct brig_config c = {0};
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ char *err2 = NULL;

        (void)state;
        assert_int_equal(parse(&cl, &err, "--cgroup-manager", "kubelet", NULL), 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(cmdline_apply_flags(&cl, &c, &err2), -EINVAL);
        assert_string_equal(err2, "--cgroup-manager: invalid value \"kubelet\" (expected one of: "
                                  "cgroupfs, systemd)");
        assert_int_equal(c.cgroup_manager, CGROUP_MANAGER_CGROUPFS);
}

static void test_unknown_key_flag(void **state)
{
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_(config_free) struct brig_config c = {0};
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ char *err2 = NULL;

        (void)state;
        assert_int_equal(parse(&cl, &err, "--no-such-key=1", NULL), 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(cmdline_apply_flags(&cl, &c, &err2), -EINVAL);
        assert_string_equal(err2, "--no-such-key=1: unknown key 'no_such_key'");
}

static void no_usage(FILE *f)
{
        (void)f;
}

static void test_parse_main(void **state)
{
        struct cmdline cl = {0};
        char *help[] = {"prog", "--help"};
        char *bad[] = {"prog", "--root"};
        char *command[] = {"prog", "serve"};
        char *go_on[] = {"prog", "config", "--root", "/r"};

        (void)state;
        assert_int_equal(
            cmdline_parse_main("prog", 2, help, options, ARRAY_SIZE(options), no_usage, &cl), 0);
        cmdline_free(&cl);
        assert_int_equal(
            cmdline_parse_main("prog", 2, bad, options, ARRAY_SIZE(options), no_usage, &cl), 2);
        cmdline_free(&cl);
        assert_int_equal(
            cmdline_parse_main("prog", 2, command, options, ARRAY_SIZE(options), no_usage, &cl), 2);
        cmdline_free(&cl);
        assert_int_equal(
            cmdline_parse_main("prog", 4, go_on, options, ARRAY_SIZE(options), no_usage, &cl), -1);
        assert_string_equal(cl.command, "config");
        cmdline_free(&cl);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_flags_and_options),
            cmocka_unit_test(test_last_option_wins),
            cmocka_unit_test(test_help_and_version),
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_bad_flag_value_names_the_flag),
            cmocka_unit_test(test_unknown_key_flag),
            cmocka_unit_test(test_parse_main),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
