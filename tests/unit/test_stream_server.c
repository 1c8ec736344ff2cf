/* test_stream_server.c: unit tests for daemon/stream_server.h's tokens: a
 * URL's form, a token taken once, a token of another kind not found and
 * spent, expiry after the TTL, and the limit on tokens waiting. The HTTP
 * side is tested in tests/integration/test_streaming.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/stream_server.h"

static struct stream_server *start(unsigned ttl_ms)
{
        const struct stream_server_options o = {
            .address = "127.0.0.1", .port = 0, .idle_timeout_s = 5, .token_ttl_ms = ttl_ms};
        struct stream_server *s = NULL;
        char err[256] = "";

        assert_int_equal(stream_server_start(&o, &s, err, sizeof(err)), 0);
        return s;
}

/* The token of url, which must be http://<endpoint>/<path>/<32 hex>. */
static const char *token_of(const struct stream_server *s, const char *url, const char *path)
{
        char prefix[STREAM_URL_MAX];

        snprintf(prefix, sizeof(prefix), "http://%s/%s/", stream_server_endpoint(s), path);
        assert_int_equal(strncmp(url, prefix, strlen(prefix)), 0);
        assert_int_equal(strlen(url + strlen(prefix)), 32);
        assert_int_equal(strspn(url + strlen(prefix), "0123456789abcdef"), 32);
        return url + strlen(prefix);
}

static void test_a_token_serves_once(void **state)
{
        struct stream_server *s = start(0);
        char *cmd[] = {"sh", "-c", "echo hi", NULL};
        const struct stream_request req = {
            .kind = STREAM_EXEC, .target = "abc", .cmd = cmd, .n_cmd = 3, .tty = true, .in = true};
        struct stream_request *got = NULL;
        char url[STREAM_URL_MAX], other[STREAM_URL_MAX];

        (void)state;
        assert_int_equal(stream_server_register(s, &req, url, sizeof(url)), 0);
        assert_int_equal(stream_server_register(s, &req, other, sizeof(other)), 0);
        assert_string_not_equal(url, other);
        const char *token = token_of(s, url, "exec");
        assert_int_equal(stream_server_take(s, STREAM_EXEC, token, &got), 0);
        assert_string_equal(got->target, "abc");
        assert_int_equal(got->n_cmd, 3);
        assert_string_equal(got->cmd[2], "echo hi");
        assert_null(got->cmd[3]);
        assert_true(got->tty && got->in && !got->out);
        stream_request_free(got);
        assert_int_equal(stream_server_take(s, STREAM_EXEC, token, &got), -ENOENT);
        stream_server_stop(s);
}

static void test_another_kind_is_not_found_and_spent(void **state)
{
        struct stream_server *s = start(0);
        int32_t ports[] = {80, 443};
        const struct stream_request req = {
            .kind = STREAM_PORT_FORWARD, .target = "pod", .ports = ports, .n_ports = 2};
        struct stream_request *got = NULL;
        char url[STREAM_URL_MAX];

        (void)state;
        assert_int_equal(stream_server_register(s, &req, url, sizeof(url)), 0);
        const char *token = token_of(s, url, "portforward");
        assert_int_equal(stream_server_take(s, STREAM_EXEC, token, &got), -ENOENT);
        assert_int_equal(stream_server_take(s, STREAM_PORT_FORWARD, token, &got), -ENOENT);
        assert_int_equal(stream_server_register(s, &req, url, sizeof(url)), 0);
        assert_int_equal(
            stream_server_take(s, STREAM_PORT_FORWARD, token_of(s, url, "portforward"), &got), 0);
        assert_int_equal(got->n_ports, 2);
        assert_int_equal(got->ports[1], 443);
        stream_request_free(got);
        stream_server_stop(s);
}

static void test_tokens_expire(void **state)
{
        struct stream_server *s = start(50);
        const struct stream_request req = {.kind = STREAM_ATTACH, .target = "c", .out = true};
        struct stream_request *got = NULL;
        char url[STREAM_URL_MAX];

        (void)state;
        assert_int_equal(stream_server_register(s, &req, url, sizeof(url)), 0);
        usleep(100 * 1000);
        assert_int_equal(stream_server_take(s, STREAM_ATTACH, token_of(s, url, "attach"), &got),
                         -ENOENT);
        stream_server_stop(s);
}

static void test_tokens_waiting_are_bounded(void **state)
{
        struct stream_server *s = start(0);
        const struct stream_request req = {.kind = STREAM_ATTACH, .target = "c", .out = true};
        char url[STREAM_URL_MAX];

        (void)state;
        for (int i = 0; i < STREAM_TOKENS_MAX; i++)
                assert_int_equal(stream_server_register(s, &req, url, sizeof(url)), 0);
        assert_int_equal(stream_server_register(s, &req, url, sizeof(url)), -EBUSY);
        stream_server_stop(s); /* frees the ones never used */
}

static void test_bad_address(void **state)
{
        const struct stream_server_options o = {.address = "localhost", .idle_timeout_s = 1};
        struct stream_server *s = NULL;
        char err[256] = "";

        (void)state;
        assert_int_equal(stream_server_start(&o, &s, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "not an IP address"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_a_token_serves_once),
            cmocka_unit_test(test_another_kind_is_not_found_and_spent),
            cmocka_unit_test(test_tokens_expire),
            cmocka_unit_test(test_tokens_waiting_are_bounded),
            cmocka_unit_test(test_bad_address),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
