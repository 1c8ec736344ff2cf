/* test_registry_auth.c: unit tests for CRI AuthConfig → credentials
 * (daemon/registry_auth.h): each field form, precedence, the base64
 * decoder, and every rejection with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry_auth.h"

static void creds_ok(const struct registry_auth_config *in, struct registry_creds *c)
{
        char err[256] = "";
        int r = registry_creds_from_auth_config(in, c, err, sizeof(err));
        if (r < 0)
                fail_msg("unexpected error %d: %s", r, err);
}

static void creds_error(const struct registry_auth_config *in, const char *expected)
{
        struct registry_creds c = {0};
        char err[256] = "";

        assert_int_equal(registry_creds_from_auth_config(in, &c, err, sizeof(err)), -EINVAL);
        assert_true(registry_creds_empty(&c));
        assert_string_equal(err, expected);
}

static void test_anonymous(void **state)
{
        struct registry_auth_config in = {.username = "", .server_address = "example.com"};
        struct registry_creds c;
        (void)state;

        creds_ok(&in, &c);
        assert_true(registry_creds_empty(&c));
        assert_true(registry_creds_empty(NULL));
        registry_creds_clear(&c);
        registry_creds_clear(NULL);
}

static void test_username_password(void **state)
{
        struct registry_auth_config in = {.username = "alice", .password = "s3cret pass"};
        struct registry_creds c;
        (void)state;

        creds_ok(&in, &c);
        assert_false(registry_creds_empty(&c));
        assert_string_equal(c.username, "alice");
        assert_string_equal(c.password, "s3cret pass");
        assert_null(c.identity_token);
        assert_null(c.registry_token);
        registry_creds_clear(&c);
        assert_null(c.username);
        assert_null(c.password);

        /* A username alone is a user with an empty password. */
        in.password = NULL;
        creds_ok(&in, &c);
        assert_string_equal(c.password, "");
        registry_creds_clear(&c);
}

static void test_auth_field(void **state)
{
        /* "bob:pa:ss" — the password may contain ':' */
        struct registry_auth_config in = {
            .username = "ignored", .password = "ignored", .auth = "Ym9iOnBhOnNz"};
        struct registry_creds c;
        (void)state;

        creds_ok(&in, &c);
        assert_string_equal(c.username, "bob");
        assert_string_equal(c.password, "pa:ss");
        registry_creds_clear(&c);

        in.auth = "Ym9iOg=="; /* "bob:" */
        creds_ok(&in, &c);
        assert_string_equal(c.username, "bob");
        assert_string_equal(c.password, "");
        registry_creds_clear(&c);
}

static void test_tokens(void **state)
{
        struct registry_auth_config in = {.identity_token = "refresh-123",
                                          .registry_token = "eyJhbGciOi.x.y"};
        struct registry_creds c;
        (void)state;

        creds_ok(&in, &c);
        assert_null(c.username);
        assert_string_equal(c.identity_token, "refresh-123");
        assert_string_equal(c.registry_token, "eyJhbGciOi.x.y");
        assert_false(registry_creds_empty(&c));
        registry_creds_clear(&c);
}

static void test_rejections(void **state)
{
        char long_value[REGISTRY_AUTH_MAX_FIELD + 2];
        (void)state;

        creds_error(&(struct registry_auth_config){.password = "x"},
                    "auth config: password given without username");
        creds_error(&(struct registry_auth_config){.username = "a:b", .password = "x"},
                    "auth config: username contains ':', which HTTP Basic authentication "
                    "cannot carry");
        creds_error(&(struct registry_auth_config){.username = "a", .password = "x\r\ny"},
                    "auth config: password contains a control character at byte 1");
        creds_error(&(struct registry_auth_config){.username = "a\tb"},
                    "auth config: username contains a control character at byte 1");
        creds_error(&(struct registry_auth_config){.auth = "not base64!"},
                    "auth config: auth is not valid base64");
        creds_error(&(struct registry_auth_config){.auth = "Ym9i"}, /* "bob" */
                    "auth config: decoded auth is not of the form \"username:password\"");
        creds_error(&(struct registry_auth_config){.auth = "OnB3"}, /* ":pw" */
                    "auth config: decoded auth is not of the form \"username:password\"");
        creds_error(&(struct registry_auth_config){.auth = "YQBiOmM="}, /* "a\0b:c" */
                    "auth config: decoded auth contains a NUL byte");
        creds_error(&(struct registry_auth_config){.auth = "YQpiOmM="}, /* "a\nb:c" */
                    "auth config: username in auth contains a control character at byte 1");
        creds_error(&(struct registry_auth_config){.auth = "YTpiDQ=="}, /* "a:b\r" */
                    "auth config: password in auth contains a control character at byte 1");
        creds_error(&(struct registry_auth_config){.identity_token = "a\nb"},
                    "auth config: identity_token contains a control character at byte 1");
        creds_error(&(struct registry_auth_config){.registry_token = "\x7f"},
                    "auth config: registry_token contains a control character at byte 0");

        memset(long_value, 'x', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = '\0';
        creds_error(&(struct registry_auth_config){.username = "a", .password = long_value},
                    "auth config: password is longer than 8192 bytes");
        creds_error(&(struct registry_auth_config){.registry_token = long_value},
                    "auth config: registry_token is longer than 8192 bytes");
}

static void check_b64(const char *in, const char *expected)
{
        char *out = NULL;
        size_t len = 0;

        assert_int_equal(registry_base64_decode(in, strlen(in), &out, &len), 0);
        assert_int_equal(len, strlen(expected));
        assert_memory_equal(out, expected, len);
        assert_int_equal(out[len], '\0');
        free(out);
}

static void check_b64_invalid(const char *in)
{
        char *out = NULL;
        size_t len = 0;

        assert_int_equal(registry_base64_decode(in, strlen(in), &out, &len), -EINVAL);
        assert_null(out);
}

static void test_base64(void **state)
{
        (void)state;

        /* RFC 4648 section 10 test vectors. */
        check_b64("", "");
        check_b64("Zg==", "f");
        check_b64("Zm8=", "fo");
        check_b64("Zm9v", "foo");
        check_b64("Zm9vYg==", "foob");
        check_b64("Zm9vYmE=", "fooba");
        check_b64("Zm9vYmFy", "foobar");
        check_b64("+/+/", "\xfb\xff\xbf");

        check_b64_invalid("Zg=");        /* not a multiple of 4 */
        check_b64_invalid("Zg");         /* padding required */
        check_b64_invalid("Z===");       /* three pad characters */
        check_b64_invalid("Zg=a");       /* data after padding */
        check_b64_invalid("Zg==Zg==");   /* padding in the middle */
        check_b64_invalid("Zh==");       /* non-zero hidden bits */
        check_b64_invalid("Zm9=");       /* non-zero hidden bits */
        check_b64_invalid("Zm9v\nYmFy"); /* whitespace */
        check_b64_invalid("Zm-_");       /* URL alphabet */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_anonymous),  cmocka_unit_test(test_username_password),
            cmocka_unit_test(test_auth_field), cmocka_unit_test(test_tokens),
            cmocka_unit_test(test_rejections), cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
