/* test_www_auth.c: unit tests for the WWW-Authenticate parser
 * (daemon/www_auth.h): the challenge forms registries send, the RFC 7235
 * corner cases, and every rejection with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/www_auth.h"

static void parse_ok(const char *s, struct www_auth *a)
{
        char err[256] = "";
        int r = www_auth_parse(s, strlen(s), a, err, sizeof(err));
        if (r < 0)
                fail_msg("parse of [%s] failed: %d %s", s, r, err);
}

static void check_error(const char *s, size_t len, const char *expected)
{
        struct www_auth a;
        char err[256] = "";

        assert_int_equal(www_auth_parse(s, len, &a, err, sizeof(err)), -EINVAL);
        assert_int_equal(a.n_challenges, 0);
        assert_string_equal(err, expected);
}

static void test_bearer(void **state)
{
        struct www_auth a;
        (void)state;

        parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                 "scope=\"repository:library/busybox:pull\"",
                 &a);
        assert_int_equal(a.n_challenges, 1);
        assert_string_equal(a.challenges[0].scheme, "bearer");
        assert_null(a.challenges[0].token68);
        assert_int_equal(a.challenges[0].n_params, 3);
        assert_string_equal(www_auth_param(&a.challenges[0], "realm"),
                            "https://auth.docker.io/token");
        assert_string_equal(www_auth_param(&a.challenges[0], "SERVICE"), "registry.docker.io");
        assert_string_equal(www_auth_param(&a.challenges[0], "scope"),
                            "repository:library/busybox:pull");
        assert_null(www_auth_param(&a.challenges[0], "error"));
        assert_ptr_equal(www_auth_find(&a, "BEARER"), &a.challenges[0]);
        assert_null(www_auth_find(&a, "basic"));
        www_auth_free(&a);
}

static void test_basic_and_case(void **state)
{
        struct www_auth a;
        (void)state;

        parse_ok("BASIC Realm=\"Registry Realm\"", &a);
        assert_int_equal(a.n_challenges, 1);
        assert_string_equal(a.challenges[0].scheme, "basic");
        assert_string_equal(a.challenges[0].params[0].name, "realm");
        assert_string_equal(a.challenges[0].params[0].value, "Registry Realm");
        www_auth_free(&a);
}

static void test_several_challenges(void **state)
{
        struct www_auth a;
        (void)state;

        /* RFC 7235 section 4.1's example, plus empty list elements and BWS. */
        parse_ok(" , Newauth realm=\"apps\", type=1,  title=\"Login to \\\"apps\\\"\",,"
                 " Basic realm = simple ,Negotiate abc+/de==, Empty",
                 &a);
        assert_int_equal(a.n_challenges, 4);
        assert_string_equal(a.challenges[0].scheme, "newauth");
        assert_int_equal(a.challenges[0].n_params, 3);
        assert_string_equal(www_auth_param(&a.challenges[0], "type"), "1");
        assert_string_equal(www_auth_param(&a.challenges[0], "title"), "Login to \"apps\"");
        assert_string_equal(a.challenges[1].scheme, "basic");
        assert_string_equal(www_auth_param(&a.challenges[1], "realm"), "simple");
        assert_string_equal(a.challenges[2].scheme, "negotiate");
        assert_string_equal(a.challenges[2].token68, "abc+/de==");
        assert_int_equal(a.challenges[2].n_params, 0);
        assert_string_equal(a.challenges[3].scheme, "empty");
        assert_int_equal(a.challenges[3].n_params, 0);
        assert_ptr_equal(www_auth_find(&a, "Basic"), &a.challenges[1]);
        www_auth_free(&a);
}

static void test_quoted_values(void **state)
{
        struct www_auth a;
        (void)state;

        parse_ok("Bearer realm=\"a,b=c\\\\d\", error=\"\", x=\"tab\there \xc3\xa9\"", &a);
        assert_string_equal(www_auth_param(&a.challenges[0], "realm"), "a,b=c\\d");
        assert_string_equal(www_auth_param(&a.challenges[0], "error"), "");
        assert_string_equal(www_auth_param(&a.challenges[0], "x"), "tab\there \xc3\xa9");
        www_auth_free(&a);
}

static void test_scheme_only(void **state)
{
        struct www_auth a;
        (void)state;

        parse_ok("Basic", &a);
        assert_int_equal(a.n_challenges, 1);
        assert_int_equal(a.challenges[0].n_params, 0);
        www_auth_free(&a);
        parse_ok("Basic   ", &a);
        assert_int_equal(a.n_challenges, 1);
        www_auth_free(&a);
}

static void test_rejections(void **state)
{
        char nul[] = "Basic realm=\"a\0b\"";
        (void)state;

        check_error("", 0, "malformed WWW-Authenticate header at offset 0: no challenge");
        check_error(" ,, ", 4, "malformed WWW-Authenticate header at offset 4: no challenge");
        check_error("=x", 2,
                    "malformed WWW-Authenticate header at offset 0: expected an authentication "
                    "scheme");
        check_error("Basic realm x", 13,
                    "malformed WWW-Authenticate header at offset 12: expected '=' after "
                    "parameter \"realm\"");
        check_error("Basic a=b, realm=", 17,
                    "malformed WWW-Authenticate header at offset 17: expected a token or quoted "
                    "string as value of \"realm\"");
        check_error("Basic realm=\"abc", 16,
                    "malformed WWW-Authenticate header at offset 16: unterminated quoted string");
        check_error("Basic realm=\"abc\\", 17,
                    "malformed WWW-Authenticate header at offset 17: unterminated quoted string");
        check_error("Basic realm=\"a\nb\"", 17,
                    "malformed WWW-Authenticate header at offset 14: control character 0x0a in "
                    "quoted string");
        check_error(nul, sizeof(nul) - 1,
                    "malformed WWW-Authenticate header at offset 14: control character 0x00 in "
                    "quoted string");
        check_error("Basic realm=a realm=b", 21,
                    "malformed WWW-Authenticate header at offset 14: expected ',' or the end "
                    "after parameter \"realm\"");
        check_error("Basic realm=a, REALM=b", 22,
                    "malformed WWW-Authenticate header at offset 22: parameter \"realm\" given "
                    "twice in one challenge");
        check_error("Basic\trealm=a", 13,
                    "malformed WWW-Authenticate header at offset 5: expected a space after "
                    "scheme \"basic\"");
        check_error("Basic realm=\"x\"y", 16,
                    "malformed WWW-Authenticate header at offset 15: expected ',' or the end "
                    "after parameter \"realm\"");
        check_error("Basic abc== x", 13,
                    "malformed WWW-Authenticate header at offset 10: expected a token or quoted "
                    "string as value of \"abc\"");
        check_error("B\x01", 2,
                    "malformed WWW-Authenticate header at offset 1: expected a space after "
                    "scheme \"b\"");
        check_error("Negotiate abc==, =", 18,
                    "malformed WWW-Authenticate header at offset 17: expected an authentication "
                    "scheme");
}

static void test_limits(void **state)
{
        char buf[WWW_AUTH_MAX_INPUT + 2];
        struct www_auth a;
        size_t n = 0;
        (void)state;

        memset(buf, 'a', sizeof(buf));
        check_error(buf, WWW_AUTH_MAX_INPUT + 1,
                    "malformed WWW-Authenticate header at offset 0: header longer than 8192 bytes");

        /* Exactly the maximum is accepted. */
        buf[WWW_AUTH_MAX_INPUT] = '\0';
        parse_ok(buf, &a);
        assert_int_equal(strlen(a.challenges[0].scheme), WWW_AUTH_MAX_INPUT);
        www_auth_free(&a);

        n = 0;
        for (int i = 0; i < WWW_AUTH_MAX_CHALLENGES; i++)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "S%d,", i);
        parse_ok(buf, &a);
        assert_int_equal(a.n_challenges, WWW_AUTH_MAX_CHALLENGES);
        www_auth_free(&a);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Extra");
        check_error(buf, n,
                    "malformed WWW-Authenticate header at offset 24: more than 8 "
                    "challenges");

        n = (size_t)snprintf(buf, sizeof(buf), "Bearer ");
        for (int i = 0; i < WWW_AUTH_MAX_PARAMS; i++)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sp%d=v", i ? "," : "", i);
        parse_ok(buf, &a);
        assert_int_equal(a.challenges[0].n_params, WWW_AUTH_MAX_PARAMS);
        www_auth_free(&a);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",p99=v");
        check_error(buf, n,
                    "malformed WWW-Authenticate header at offset 98: more than 16 "
                    "parameters in one challenge");
}

static void test_no_error_buffer(void **state)
{
        struct www_auth a;
        (void)state;

        assert_int_equal(www_auth_parse("Basic realm x", 13, &a, NULL, 0), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bearer),
            cmocka_unit_test(test_basic_and_case),
            cmocka_unit_test(test_several_challenges),
            cmocka_unit_test(test_quoted_values),
            cmocka_unit_test(test_scheme_only),
            cmocka_unit_test(test_rejections),
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_no_error_buffer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
