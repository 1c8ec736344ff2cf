/* test_image_config.c: unit tests for daemon/image_config.h: every field
 * of OCI and Docker configs, each refusal, the diff_ids/layers count check,
 * and the User -> CRI uid/username rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/image_config.h"

#define D(c)                                                                                       \
        "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
            c c c c c c c c c c c c c c c c c c c c c c c c

/* After the example in the OCI image-spec (config.md). */
static const char oci_config[] =
    "{\"created\":\"2015-10-31T22:22:56.015925234Z\",\"author\":\"Alyssa P. Hacker\","
    "\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"config\":{"
    "\"User\":\"alice\",\"ExposedPorts\":{\"8080/tcp\":{}},"
    "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
    "\"FOO=oci_is_a\",\"BAR=well_written_spec\"],"
    "\"Entrypoint\":[\"/bin/my-app-binary\"],"
    "\"Cmd\":[\"--foreground\",\"--config\",\"/etc/my-app.d/default.cfg\"],"
    "\"Volumes\":{\"/var/job-result-data\":{},\"/var/log/my-app-logs\":{}},"
    "\"WorkingDir\":\"/home/alice\",\"StopSignal\":\"SIGQUIT\","
    "\"Labels\":{\"com.example.project.git.url\":\"https://example.com/project.git\","
    "\"com.example.project.git.commit\":\"45a939b2999782a3f005621a8d0f29aa387e1d6b\"}},"
    "\"rootfs\":{\"diff_ids\":[\"" D("9") "\",\"" D(
        "5") "\"],\"type\":\"layers\"},"
             "\"history\":[{\"created\":\"2015-10-31T22:22:54.690851953Z\","
             "\"created_by\":\"/bin/sh -c #(nop) ADD "
             "file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282"
             "c65fb853ee171c5 in /\"}]}";

/* A Docker container config as `docker build` writes it: null fields. */
static const char docker_config[] =
    "{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"User\":\"\",\"Env\":[\"PATH=/"
    "bin\"],"
    "\"Cmd\":[\"sh\"],\"Entrypoint\":null,\"Volumes\":null,\"WorkingDir\":\"\",\"OnBuild\":null,"
    "\"Labels\":null},\"container_config\":{\"Cmd\":[\"/bin/sh\"]},"
    "\"created\":\"2023-07-18T23:19:33.655005962Z\",\"docker_version\":\"20.10.23\","
    "\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D("3") "\"]}}";

static struct image_config *parse_ok(const char *doc)
{
        struct image_config *c = NULL;
        char err[512] = "";
        if (image_config_parse(doc, strlen(doc), &c, err, sizeof(err)) < 0)
                fail_msg("refused: %s", err);
        assert_non_null(c);
        return c;
}

static void parse_bad(const char *doc, size_t len, int expect, const char *why)
{
        struct image_config *c = (struct image_config *)1;
        char err[512] = "";
        int r = image_config_parse(doc, len == SIZE_MAX ? strlen(doc) : len, &c, err, sizeof(err));
        assert_null(c);
        if (r != expect)
                fail_msg("expected %d, got %d (%s)", expect, r, err);
        if (!strstr(err, why))
                fail_msg("message '%s' lacks '%s'", err, why);
}

static bool has(char **v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static void test_oci(void **state)
{
        (void)state;
        struct image_config *c = parse_ok(oci_config);
        char err[256];
        assert_string_equal(c->architecture, "arm64");
        assert_string_equal(c->variant, "v8");
        assert_string_equal(c->os, "linux");
        assert_string_equal(c->created, "2015-10-31T22:22:56.015925234Z");
        assert_string_equal(c->user, "alice");
        assert_int_equal(c->n_env, 3);
        assert_string_equal(c->env[1], "FOO=oci_is_a");
        assert_int_equal(c->n_entrypoint, 1);
        assert_string_equal(c->entrypoint[0], "/bin/my-app-binary");
        assert_int_equal(c->n_cmd, 3);
        assert_string_equal(c->cmd[2], "/etc/my-app.d/default.cfg");
        assert_string_equal(c->working_dir, "/home/alice");
        assert_int_equal(c->n_volumes, 2);
        assert_true(has(c->volumes, c->n_volumes, "/var/log/my-app-logs"));
        assert_int_equal(c->n_exposed_ports, 1);
        assert_string_equal(c->exposed_ports[0], "8080/tcp");
        assert_string_equal(c->stop_signal, "SIGQUIT");
        assert_int_equal(c->n_labels, 2);
        assert_string_equal(c->labels[0].key, "com.example.project.git.url");
        assert_string_equal(c->labels[0].value, "https://example.com/project.git");
        assert_int_equal(c->n_diff_ids, 2);
        assert_string_equal(c->diff_ids[0], D("9"));
        assert_int_equal(image_config_check_layers(c, 2, err, sizeof(err)), 0);
        assert_int_equal(image_config_check_layers(c, 3, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "image config lists 2 diff_ids but the manifest has 3 layers");
        image_config_free(c);
}

static void test_docker(void **state)
{
        (void)state;
        struct image_config *c = parse_ok(docker_config);
        assert_string_equal(c->architecture, "amd64");
        assert_null(c->variant);
        assert_string_equal(c->user, "");
        assert_int_equal(c->n_entrypoint, 0);
        assert_null(c->entrypoint);
        assert_int_equal(c->n_cmd, 1);
        assert_int_equal(c->n_volumes, 0);
        assert_int_equal(c->n_labels, 0);
        assert_null(c->stop_signal);
        assert_int_equal(c->n_diff_ids, 1);
        image_config_free(c);

        /* Only rootfs is required. */
        c = parse_ok("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        assert_null(c->user);
        assert_null(c->os);
        assert_int_equal(c->n_diff_ids, 0);
        image_config_free(c);
}

static void test_refusals(void **state)
{
        (void)state;
        char *big = calloc(1, IMAGE_CONFIG_MAX_SIZE + 1);
        assert_non_null(big);
        parse_bad(big, IMAGE_CONFIG_MAX_SIZE + 1, -EFBIG, "more than the limit of 8388608");
        free(big);
        parse_bad("{", SIZE_MAX, -EINVAL, "not valid JSON");
        parse_bad("[]", SIZE_MAX, -EINVAL, "not a JSON object");
        parse_bad("{\"os\":\"linux\",\"os\":\"windows\"}", SIZE_MAX, -EINVAL, "duplicate");
        parse_bad("{\"os\":\"linux\"}", SIZE_MAX, -EINVAL, "missing rootfs");
        parse_bad("{\"rootfs\":{\"type\":\"foo\",\"diff_ids\":[]}}", SIZE_MAX, -EINVAL,
                  "rootfs.type must be \"layers\"");
        parse_bad("{\"rootfs\":{\"type\":\"layers\"}}", SIZE_MAX, -EINVAL,
                  "rootfs.diff_ids is not an array");
        parse_bad("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:ABC\"]}}", SIZE_MAX,
                  -EINVAL, "diff_ids[0]: invalid digest 'sha256:ABC'");
        parse_bad("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}", SIZE_MAX, -EINVAL,
                  "diff_ids is not a string");
        parse_bad("{\"os\":7,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", SIZE_MAX, -EINVAL,
                  "os is not a string");
        parse_bad("{\"config\":{\"Env\":\"A=b\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  SIZE_MAX, -EINVAL, "Env is not an array");
        parse_bad("{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
                  "[]}}",
                  SIZE_MAX, -EINVAL, "a Labels value is not a string");
        parse_bad("{\"config\":{\"Volumes\":[]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  SIZE_MAX, -EINVAL, "Volumes is not an object");
        parse_bad("{\"config\":{\"User\":\"a\\u0000b\"},\"rootfs\":{\"type\":\"layers\","
                  "\"diff_ids\":[]}}",
                  SIZE_MAX, -EINVAL, "is not allowed");
        parse_bad("{\"config\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", SIZE_MAX,
                  -EINVAL, "config is not an object");

        /* Counts: too many Env entries, too many layers. */
        size_t cap = 64 + (IMAGE_CONFIG_MAX_ITEMS + 1) * 4 + 100;
        char *doc = malloc(cap);
        assert_non_null(doc);
        size_t off = (size_t)snprintf(doc, cap, "{\"config\":{\"Env\":[");
        for (int i = 0; i <= IMAGE_CONFIG_MAX_ITEMS; i++)
                off += (size_t)snprintf(doc + off, cap - off, "%s\"\"", i ? "," : "");
        snprintf(doc + off, cap - off, "]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        parse_bad(doc, SIZE_MAX, -EINVAL, "Env has 4097 entries, more than 4096");
        free(doc);
        cap = 100 + (IMAGE_CONFIG_MAX_LAYERS + 1) * 80;
        doc = malloc(cap);
        assert_non_null(doc);
        off = (size_t)snprintf(doc, cap, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
        for (int i = 0; i <= IMAGE_CONFIG_MAX_LAYERS; i++)
                off += (size_t)snprintf(doc + off, cap - off, "%s\"" D("1") "\"", i ? "," : "");
        snprintf(doc + off, cap - off, "]}}");
        parse_bad(doc, SIZE_MAX, -EINVAL, "129 diff_ids, more than brig's limit of 128 layers");
        free(doc);
}

static void check_user(const char *user, bool has_uid, int64_t uid, const char *name)
{
        bool got_has = !has_uid;
        int64_t got_uid = -5;
        char username[64] = "junk";
        image_config_user(user, &got_has, &got_uid, username, sizeof(username));
        if (got_has != has_uid || (has_uid && got_uid != uid) || strcmp(username, name) != 0)
                fail_msg("User '%s': got has_uid=%d uid=%lld username='%s'", user ? user : "(null)",
                         got_has, (long long)got_uid, username);
}

static void test_user(void **state)
{
        (void)state;
        check_user("1000:1000", true, 1000, "");
        check_user("1000", true, 1000, "");
        check_user("0", true, 0, "");
        check_user("", true, 0, "");
        check_user(NULL, true, 0, "");
        check_user(":100", true, 0, "");
        check_user("nobody", false, 0, "nobody");
        check_user("nobody:nogroup", false, 0, "nobody");
        check_user("www-data:33", false, 0, "www-data");
        check_user("4294967294", true, 4294967294LL, "");
        check_user("4294967295", false, 0, "4294967295");
        check_user("99999999999", false, 0, "99999999999");
        check_user("-1", false, 0, "-1");
        check_user("1e3", false, 0, "1e3");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_oci),
            cmocka_unit_test(test_docker),
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_user),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
