/* test_config.c: unit tests for brig's configuration (common/config.h):
 * defaults, validation of every key with its exact message, atomic loading,
 * flags, files and drop-in directories, and print/load round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "toml.h"
#include "util.h"

#define SRC "/etc/brig/brig.conf"

static void assert_config_equal(const struct brig_config *a, const struct brig_config *b)
{
        assert_string_equal(a->root, b->root);
        assert_string_equal(a->run_root, b->run_root);
        assert_string_equal(a->listen, b->listen);
        assert_int_equal(a->log_level, b->log_level);
        assert_string_equal(a->user, b->user);
        assert_int_equal(a->cgroup_manager, b->cgroup_manager);
        assert_string_equal(a->registries_conf, b->registries_conf);
        assert_string_equal(a->registries_conf_dir, b->registries_conf_dir);
        assert_string_equal(a->registry_certs_dir, b->registry_certs_dir);
        assert_int_equal(a->max_concurrent_downloads, b->max_concurrent_downloads);
        assert_int_equal(a->pinned_images.n, b->pinned_images.n);
        for (size_t i = 0; i < a->pinned_images.n; i++)
                assert_string_equal(a->pinned_images.items[i], b->pinned_images.items[i]);
        assert_string_equal(a->cni_conf_dir, b->cni_conf_dir);
        assert_int_equal(a->cni_plugin_dirs.n, b->cni_plugin_dirs.n);
        for (size_t i = 0; i < a->cni_plugin_dirs.n; i++)
                assert_string_equal(a->cni_plugin_dirs.items[i], b->cni_plugin_dirs.items[i]);
        assert_int_equal(a->cni_plugin_timeout, b->cni_plugin_timeout);
        assert_string_equal(a->pod_log_root, b->pod_log_root);
        assert_string_equal(a->default_runtime, b->default_runtime);
        assert_int_equal(a->n_runtimes, b->n_runtimes);
        for (size_t i = 0; i < a->n_runtimes; i++) {
                assert_string_equal(a->runtimes[i].name, b->runtimes[i].name);
                assert_string_equal(a->runtimes[i].path, b->runtimes[i].path);
                assert_string_equal(a->runtimes[i].root, b->runtimes[i].root);
                assert_string_equal(a->runtimes[i].type, b->runtimes[i].type);
        }
}

static char *to_string(const struct brig_config *c)
{
        char *s = NULL;
        assert_int_equal(config_to_string(c, &s), 0);
        assert_non_null(s);
        return s;
}

static void load_ok(struct brig_config *c, const char *doc)
{
        char *err = NULL;
        int r = config_load_buffer(c, doc, strlen(doc), SRC, &err);
        if (r < 0)
                fail_msg("unexpected error %d: %s", r, err ? err : "(none)");
        assert_null(err);
}

/* Loads doc on top of the defaults, expecting the error message expected
 * and the configuration to be left exactly as it was. */
static void load_error(const char *doc, const char *expected)
{
        struct brig_config c;
        char *err = NULL;

        assert_int_equal(config_init(&c), 0);
        char *before = to_string(&c);
        assert_int_equal(config_load_buffer(&c, doc, strlen(doc), SRC, &err), -EINVAL);
        assert_non_null(err);
        assert_string_equal(err, expected);
        char *after = to_string(&c);
        assert_string_equal(before, after);
        free(before);
        free(after);
        free(err);
        config_free(&c);
}

static void set_error(const char *key, const char *value, const char *source, const char *expected)
{
        struct brig_config c;
        char *err = NULL;

        assert_int_equal(config_init(&c), 0);
        char *before = to_string(&c);
        assert_int_equal(config_set(&c, key, value, source, &err), -EINVAL);
        assert_non_null(err);
        assert_string_equal(err, expected);
        char *after = to_string(&c);
        assert_string_equal(before, after);
        free(before);
        free(after);
        free(err);
        config_free(&c);
}

static void test_defaults(void **state)
{
        struct brig_config c;
        (void)state;
        assert_int_equal(config_init(&c), 0);
        assert_string_equal(c.root, "/var/lib/brig");
        assert_string_equal(c.run_root, "/run/brig");
        assert_string_equal(c.listen, "unix:///run/brig/brig.sock");
        assert_int_equal(c.log_level, LOG_LEVEL_INFO);
        assert_string_equal(c.user, "brig");
        assert_int_equal(c.cgroup_manager, CGROUP_MANAGER_CGROUPFS);
        config_free(&c);
        assert_null(c.root);
        assert_null(c.listen);
        config_free(&c);
}

static void test_free_zeroed(void **state)
{
        struct brig_config c = {0};
        (void)state;
        config_free(&c);
        config_free(&c);
}

static void test_load_all_keys(void **state)
{
        struct brig_config c;
        (void)state;
        assert_int_equal(config_init(&c), 0);
        load_ok(&c, "# brig\n"
                    "root = \"/srv/brig\"\n"
                    "run_root = '/run/brig2'\n"
                    "listen = \"unix:///run/brig2/cri.sock\"\n"
                    "log_level = \"debug\"\n"
                    "user = \"_brig-1\"\n"
                    "cgroup_manager = \"systemd\" # kubelet uses systemd\n");
        assert_string_equal(c.root, "/srv/brig");
        assert_string_equal(c.run_root, "/run/brig2");
        assert_string_equal(c.listen, "unix:///run/brig2/cri.sock");
        assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
        assert_string_equal(c.user, "_brig-1");
        assert_int_equal(c.cgroup_manager, CGROUP_MANAGER_SYSTEMD);
        config_free(&c);
}

static void test_load_layers(void **state)
{
        struct brig_config c;
        (void)state;
        assert_int_equal(config_init(&c), 0);
        load_ok(&c, "log_level = \"warn\"\nuser = \"a\"\n");
        load_ok(&c, "");
        load_ok(&c, "# nothing\n\n");
        load_ok(&c, "user = \"b\"\n");
        assert_int_equal(c.log_level, LOG_LEVEL_WARN);
        assert_string_equal(c.user, "b");
        assert_string_equal(c.root, "/var/lib/brig");
        config_free(&c);
}

static void test_unknown_keys(void **state)
{
        (void)state;
        load_error("\n\nrot = \"/x\"\n", SRC ":3: unknown key 'rot'");
        load_error("Root = \"/x\"\n", SRC ":1: unknown key 'Root'");
        load_error("log-level = \"info\"\n", SRC ":1: unknown key 'log-level'");
        load_error("\"log level\" = \"info\"\n", SRC ":1: unknown key '\"log level\"'");
        load_error("[daemon]\nroot = \"/x\"\n", SRC ":1: unknown key 'daemon'");
        load_error("user = \"x\"\ncri.listen = \"unix:///x\"\n", SRC ":2: unknown key 'cri'");
        load_error("[a.b]\n", SRC ":1: unknown key 'a'");
}

static void test_wrong_types(void **state)
{
        (void)state;
        load_error("root = 1\n", SRC ":1: key 'root': expected string, got integer");
        load_error("\nlog_level = true\n", SRC ":2: key 'log_level': expected string, got boolean");
        load_error("user = [\"brig\"]\n", SRC ":1: key 'user': expected string, got array");
        load_error("[listen]\npath = \"/x\"\n", SRC ":1: key 'listen': expected string, got table");
        load_error("run_root.x = \"/x\"\n", SRC ":1: key 'run_root': expected string, got table");
        load_error("cgroup_manager = 0\n",
                   SRC ":1: key 'cgroup_manager': expected string, got integer");
}

static void test_toml_errors_pass_through(void **state)
{
        (void)state;
        load_error("root = \"/x\"\nroot = \"/y\"\n",
                   SRC ":2: key 'root': duplicate key (first defined on line 1)");
        load_error("log_level = loud\n",
                   SRC ":1: key 'log_level': invalid value 'loud' (strings must be quoted)");
        load_error("user = \"brig\" root = \"/\"\n",
                   SRC ":1: key 'user': expected end of line after the value, found 'r'");
        load_error("root = 1.5\n", SRC ":1: key 'root': floating-point numbers are not supported "
                                       "by brig's configuration parser");
}

static void test_invalid_values(void **state)
{
        static const struct {
                const char *key;
                const char *value; /* as written in TOML */
                const char *why;
        } cases[] = {
            {"log_level", "\"loud\"", "expected one of: error, warn, info, debug"},
            {"log_level", "\"INFO\"", "expected one of: error, warn, info, debug"},
            {"log_level", "\"\"", "expected one of: error, warn, info, debug"},
            {"cgroup_manager", "\"Systemd\"", "expected one of: cgroupfs, systemd"},
            {"cgroup_manager", "\"cgroupfs2\"", "expected one of: cgroupfs, systemd"},
            {"root", "\"\"", "must be an absolute path"},
            {"root", "\"var/lib/brig\"", "must be an absolute path"},
            {"root", "\"~/brig\"", "must be an absolute path"},
            {"root", "\"//var\"", "must not contain \"//\""},
            {"root", "\"/var//lib\"", "must not contain \"//\""},
            {"root", "\"/var/lib/\"", "must not end with \"/\""},
            {"run_root", "\"/var/./lib\"", "must not contain \".\" or \"..\" components"},
            {"run_root", "\"/var/../lib\"", "must not contain \".\" or \"..\" components"},
            {"run_root", "\"/var/lib/..\"", "must not contain \".\" or \"..\" components"},
            {"run_root", "\"/.\"", "must not contain \".\" or \"..\" components"},
            {"run_root", "\"/a\\nb\"", "must not contain control characters"},
            {"run_root", "\"/a\\tb\"", "must not contain control characters"},
            {"run_root", "\"/a\\u007fb\"", "must not contain control characters"},
            {"listen", "\"/run/brig/brig.sock\"",
             "must be \"unix://\" followed by an absolute path"},
            {"listen", "\"unix://\"", "must be \"unix://\" followed by an absolute path"},
            {"listen", "\"unix://run/brig.sock\"",
             "must be \"unix://\" followed by an absolute path"},
            {"listen", "\"UNIX:///run/brig.sock\"",
             "must be \"unix://\" followed by an absolute path"},
            {"listen", "\"tcp://127.0.0.1:1234\"",
             "must be \"unix://\" followed by an absolute path"},
            {"listen", "\"unix:////run/x\"", "must not contain \"//\""},
            {"listen", "\"unix:///run/x/\"", "must not end with \"/\""},
            {"listen", "\"unix:///run/../x\"", "must not contain \".\" or \"..\" components"},
            {"user", "\"\"", NULL},
            {"user", "\"Brig\"", NULL},
            {"user", "\"1brig\"", NULL},
            {"user", "\"-brig\"", NULL},
            {"user", "\"br ig\"", NULL},
            {"user", "\"brig$\"", NULL},
            {"user", "\"br\\u00e9g\"", NULL},
            {"user", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", NULL},
        };
        static const char user_why[] = "must be a user name: a lowercase letter or '_', then up "
                                       "to 31 lowercase letters, digits, '_' or '-'";
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char doc[256], expected[512];
                snprintf(doc, sizeof(doc), "# c\n\n\n\n\n\n%s = %s\n", cases[i].key,
                         cases[i].value);
                /* The message quotes the value the way TOML writes it, which
                 * is how the cases spell it too, except for \u escapes. */
                const char *shown = strcmp(cases[i].value, "\"/a\\u007fb\"") == 0 ? "\"/a\\u007Fb\""
                                    : strcmp(cases[i].value, "\"br\\u00e9g\"") == 0
                                        ? "\"br\xc3\xa9g\""
                                        : cases[i].value;
                snprintf(expected, sizeof(expected), SRC ":7: key '%s': invalid value %s (%s)",
                         cases[i].key, shown, cases[i].why ? cases[i].why : user_why);
                load_error(doc, expected);
        }
        /* The exact example from the documentation of messages. */
        load_error("\n\n\n\n\n\nlog_level = \"loud\"\n",
                   "/etc/brig/brig.conf:7: key 'log_level': invalid value \"loud\" (expected one "
                   "of: error, warn, info, debug)");
}

static void test_valid_values(void **state)
{
        static const struct {
                const char *key;
                const char *value;
        } cases[] = {
            {"root", "/"},
            {"root", "/a/.b/..c/.../b..."},
            {"root", "/with space/\"quotes\"/back\\slash/\xc3\xa9\xf0\x9f\x98\x80"},
            {"listen", "unix:///x"},
            {"user", "_"},
            {"user", "a"},
            {"user", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
            {"user", "b-0_9z"},
            {"log_level", "error"},
            {"log_level", "warn"},
            {"log_level", "info"},
            {"log_level", "debug"},
            {"cgroup_manager", "cgroupfs"},
            {"cgroup_manager", "systemd"},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct brig_config c;
                char *err = NULL;
                assert_int_equal(config_init(&c), 0);
                int r = config_set(&c, cases[i].key, cases[i].value, "--flag", &err);
                if (r < 0)
                        fail_msg("%s = %s: %s", cases[i].key, cases[i].value, err);
                config_free(&c);
        }
}

static char *repeat(char ch, size_t n)
{
        char *s = malloc(n + 1);
        assert_non_null(s);
        memset(s, ch, n);
        s[n] = '\0';
        return s;
}

static void test_length_limits(void **state)
{
        struct brig_config c;
        char *err = NULL;
        char *path = repeat('p', 4095);
        (void)state;

        assert_int_equal(config_init(&c), 0);
        path[0] = '/';
        assert_int_equal(config_set(&c, "root", path, "--root", &err), 0);
        assert_string_equal(c.root, path);
        free(path);

        path = repeat('p', 4096);
        path[0] = '/';
        assert_int_equal(config_set(&c, "root", path, "--root", &err), -EINVAL);
        char *expected = NULL;
        assert_true(asprintf(&expected,
                             "--root: invalid value \"%s\" (must be at most 4095 bytes long)",
                             path) > 0);
        assert_string_equal(err, expected);
        free(expected);
        free(err);
        free(path);

        /* sun_path holds 108 bytes with the NUL. */
        char *sock = repeat('s', 7 + 107);
        memcpy(sock, "unix:///", 8);
        assert_int_equal(config_set(&c, "listen", sock, "--listen", &err), 0);
        assert_string_equal(c.listen, sock);
        free(sock);
        sock = repeat('s', 7 + 108);
        memcpy(sock, "unix:///", 8);
        assert_int_equal(config_set(&c, "listen", sock, "--listen", &err), -EINVAL);
        assert_non_null(strstr(err, "(socket path must be at most 107 bytes long)"));
        free(err);
        free(sock);
        config_free(&c);
}

static void test_atomic_load(void **state)
{
        (void)state;
        load_error("root = \"/new\"\nuser = \"new\"\nlog_level = \"loud\"\n",
                   SRC ":3: key 'log_level': invalid value \"loud\" (expected one of: error, "
                       "warn, info, debug)");
        load_error("root = \"/new\"\nuser = \"new\"\nbogus = 1\n", SRC ":3: unknown key 'bogus'");
        load_error("root = \"/new\"\nuser = \"new\"\nx = \n", SRC ":3: key 'x': missing value");

        /* Nothing of a failed document sticks, on top of earlier layers too. */
        struct brig_config c;
        char *err = NULL;
        assert_int_equal(config_init(&c), 0);
        load_ok(&c, "root = \"/one\"\n");
        const char doc[] = "root = \"/two\"\nlisten = \"unix:///two\"\nuser = \"Bad\"\n";
        assert_int_equal(config_load_buffer(&c, doc, strlen(doc), "drop.conf", &err), -EINVAL);
        assert_string_equal(c.root, "/one");
        assert_string_equal(c.listen, "unix:///run/brig/brig.sock");
        assert_non_null(strstr(err, "drop.conf:3: key 'user': invalid value \"Bad\""));
        free(err);
        config_free(&c);
}

static void test_set(void **state)
{
        struct brig_config c;
        char *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_set(&c, "root", "/srv", "--root", &err), 0);
        assert_int_equal(config_set(&c, "run_root", "/run/x", "--run-root", &err), 0);
        assert_int_equal(config_set(&c, "listen", "unix:///run/x/s", "--listen", &err), 0);
        assert_int_equal(config_set(&c, "log_level", "error", "--log-level", &err), 0);
        assert_int_equal(config_set(&c, "user", "nobody", "--user", &err), 0);
        assert_int_equal(config_set(&c, "cgroup_manager", "systemd", "--cgroup-manager", &err), 0);
        assert_int_equal(config_set(&c, "log_level", "warn", "--log-level", &err), 0);
        assert_null(err);
        assert_string_equal(c.root, "/srv");
        assert_string_equal(c.run_root, "/run/x");
        assert_string_equal(c.listen, "unix:///run/x/s");
        assert_int_equal(c.log_level, LOG_LEVEL_WARN);
        assert_string_equal(c.user, "nobody");
        assert_int_equal(c.cgroup_manager, CGROUP_MANAGER_SYSTEMD);
        config_free(&c);
}

static void test_set_errors(void **state)
{
        (void)state;
        set_error(
            "log_level", "loud", "--log-level",
            "--log-level: invalid value \"loud\" (expected one of: error, warn, info, debug)");
        set_error("bogus", "1", "--bogus", "--bogus: unknown key 'bogus'");
        set_error("log-level", "info", "--log-level", "--log-level: unknown key 'log-level'");
        set_error("root", "relative", "--root",
                  "--root: invalid value \"relative\" (must be an absolute path)");
        set_error("root", "/a\nb\x1b", "--root",
                  "--root: invalid value \"/a\\nb\\u001B\" (must not contain control "
                  "characters)");
        set_error("root", "/a\xff", "--root", "--root: invalid value (not valid UTF-8)");
        set_error("user", "x\xc3", "--user", "--user: invalid value (not valid UTF-8)");
        set_error("listen", "", "--listen",
                  "--listen: invalid value \"\" (must be \"unix://\" followed by an absolute "
                  "path)");
        set_error("cgroup_manager", "\"systemd\"", "--cgroup-manager",
                  "--cgroup-manager: invalid value \"\\\"systemd\\\"\" (expected one of: "
                  "cgroupfs, systemd)");
}

/* Prints c, loads the text on top of other (which differs from c in every
 * key) and checks the result equals c. */
static void check_round_trip(const struct brig_config *c, struct brig_config *other)
{
        char *text = to_string(c);
        char *err = NULL;
        int r = config_load_buffer(other, text, strlen(text), "printed", &err);
        if (r < 0)
                fail_msg("%s\n---\n%s", err, text);
        assert_config_equal(c, other);
        free(text);
}

static void test_round_trip(void **state)
{
        struct brig_config c, other;
        char *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_init(&other), 0);
        assert_int_equal(config_set(&other, "root", "/other", "-", &err), 0);
        assert_int_equal(config_set(&other, "run_root", "/other", "-", &err), 0);
        assert_int_equal(config_set(&other, "listen", "unix:///other", "-", &err), 0);
        assert_int_equal(config_set(&other, "log_level", "error", "-", &err), 0);
        assert_int_equal(config_set(&other, "user", "other", "-", &err), 0);
        assert_int_equal(config_set(&other, "cgroup_manager", "systemd", "-", &err), 0);
        assert_int_equal(config_set(&other, "registries_conf", "/o/r.conf", "-", &err), 0);
        assert_int_equal(config_set(&other, "registries_conf_dir", "/o/r.d", "-", &err), 0);
        assert_int_equal(config_set(&other, "registry_certs_dir", "/o/certs.d", "-", &err), 0);
        assert_int_equal(config_set(&other, "max_concurrent_downloads", "9", "-", &err), 0);
        assert_int_equal(config_set(&other, "pinned_images", "x", "-", &err), 0);
        assert_int_equal(config_set(&other, "default_runtime", "crun", "-", &err), 0);
        load_ok(&other, "[runtimes.runc]\npath = \"/o/runc\"\nroot = \"/o/r\"\n"
                        "[runtimes.crun]\npath = \"/o/crun\"\nroot = \"/o/c\"\n");
        check_round_trip(&c, &other);
        assert_int_equal(config_set(&c, "pinned_images",
                                    "registry.k8s.io/pause:3.9,quay.io/*,*keep*", "-", &err),
                         0);
        assert_int_equal(config_set(&c, "max_concurrent_downloads", "16", "-", &err), 0);
        check_round_trip(&c, &other);

        assert_int_equal(
            config_set(&c, "root", "/a \"b\"/c\\d/'e'/#f/\xc3\xa9\xf0\x9f\x98\x80", "-", &err), 0);
        assert_int_equal(config_set(&c, "run_root", "/", "-", &err), 0);
        assert_int_equal(config_set(&c, "listen", "unix:///r\xc3\xbcn/\\\"x\".sock", "-", &err), 0);
        assert_int_equal(config_set(&c, "log_level", "debug", "-", &err), 0);
        assert_int_equal(config_set(&c, "user", "_x-9", "-", &err), 0);
        assert_int_equal(config_set(&c, "cgroup_manager", "systemd", "-", &err), 0);
        assert_int_equal(config_set(&other, "cgroup_manager", "cgroupfs", "-", &err), 0);
        check_round_trip(&c, &other);

        /* Runtimes: changed built-ins, then added ones, which other gains
         * in the same order. */
        load_ok(&c, "default_runtime = \"z-9_\"\n"
                    "[runtimes.crun]\nroot = \"/r \\\"q\\\"/\xc3\xa9\"\n"
                    "[runtimes.z-9_]\npath = \"/opt/z\"\n"
                    "[runtimes.kata]\ntype = \"oci\"\npath = \"/opt/kata/bin/kata-runtime\"\n");
        assert_int_equal(c.n_runtimes, 4);
        check_round_trip(&c, &other);
        assert_string_equal(other.runtimes[1].root, "/r \"q\"/\xc3\xa9");
        assert_string_equal(other.runtimes[3].name, "kata");

        for (int level = LOG_LEVEL_ERROR; level <= LOG_LEVEL_DEBUG; level++) {
                c.log_level = (enum log_level)level;
                check_round_trip(&c, &other);
        }
        config_free(&c);
        config_free(&other);
}

static void test_print_format(void **state)
{
        static const char *const keys[] = {
            "root",
            "run_root",
            "listen",
            "log_level",
            "user",
            "cgroup_manager",
            "registries_conf",
            "registries_conf_dir",
            "registry_certs_dir",
            "max_concurrent_downloads",
            "pinned_images",
            "cni_conf_dir",
            "cni_plugin_dirs",
            "cni_plugin_timeout",
            "pod_log_root",
            "stream_address",
            "stream_port",
            "stream_idle_timeout",
            "default_runtime",
            "runtimes",
        };
        static const enum toml_type types[] = {
            TOML_STRING, TOML_STRING,  TOML_STRING,  TOML_STRING,  TOML_STRING,
            TOML_STRING, TOML_STRING,  TOML_STRING,  TOML_STRING,  TOML_INTEGER,
            TOML_ARRAY,  TOML_STRING,  TOML_ARRAY,   TOML_INTEGER, TOML_STRING,
            TOML_STRING, TOML_INTEGER, TOML_INTEGER, TOML_STRING,  TOML_TABLE,
        };
        struct brig_config c;
        struct toml_node *root = NULL;
        char *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        char *text = to_string(&c);
        assert_int_equal(strncmp(text, "# brig configuration", 20), 0);
        assert_non_null(strstr(text, "\nroot = \"/var/lib/brig\"\n"));
        assert_non_null(strstr(text, "\nrun_root = \"/run/brig\"\n"));
        assert_non_null(strstr(text, "\nlisten = \"unix:///run/brig/brig.sock\"\n"));
        assert_non_null(strstr(text, "\nlog_level = \"info\"\n"));
        assert_non_null(strstr(text, "\nuser = \"brig\"\n"));
        assert_non_null(strstr(text, "\ncgroup_manager = \"cgroupfs\"\n"));
        assert_non_null(strstr(text, "\ndefault_runtime = \"runc\"\n"));
        assert_non_null(strstr(text, "\nstream_address = \"127.0.0.1\"\n"));
        assert_non_null(strstr(text, "\nstream_port = 0\n"));
        assert_non_null(strstr(text, "\nstream_idle_timeout = 14400\n"));
        /* The tables come last, each with every key, the first right under
         * the doc comment. */
        assert_non_null(strstr(text, "\n# <run_root>/runtimes/NAME."));
        assert_non_null(strstr(text, ".\n[runtimes.runc]\npath = \"/usr/sbin/runc\"\nroot = \"\"\n"
                                     "type = \"oci\"\n\n[runtimes.crun]\npath = \"/usr/bin/crun\"\n"
                                     "root = \"\"\ntype = \"oci\"\n"));
        assert_int_equal(text[strlen(text) - 1], '\n');
        assert_true(strstr(text, "\n\n\n") == NULL);

        assert_int_equal(toml_parse(text, strlen(text), "printed", &root, &err), 0);
        assert_int_equal(root->n_items, ARRAY_SIZE(keys));
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                assert_string_equal(root->items[i]->key, keys[i]);
                assert_int_equal(root->items[i]->type, types[i]);

                /* Each key is documented by a comment right above it. */
                const char *line = text;
                for (unsigned n = 1; n + 1 < root->items[i]->line; n++)
                        line = strchr(line, '\n') + 1;
                assert_int_equal(line[0], '#');
        }
        toml_free(root);

        free(text);
        config_free(&c);
}

static void test_image_keys(void **state)
{
        struct brig_config c;
        char *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(c.max_concurrent_downloads, 3);
        assert_int_equal(c.pinned_images.n, 0);
        assert_string_equal(c.registries_conf, "/etc/containers/registries.conf");
        static const char doc[] = "max_concurrent_downloads = 5\n"
                                  "pinned_images = [\"registry.k8s.io/pause:3.9\", \"*pause*\"]\n";
        assert_int_equal(config_load_buffer(&c, doc, strlen(doc), SRC, &err), 0);
        assert_int_equal(c.max_concurrent_downloads, 5);
        assert_int_equal(c.pinned_images.n, 2);
        assert_string_equal(c.pinned_images.items[0], "registry.k8s.io/pause:3.9");
        assert_string_equal(c.pinned_images.items[1], "*pause*");
        static const char empty[] = "pinned_images = []\n";
        assert_int_equal(config_load_buffer(&c, empty, strlen(empty), SRC, &err), 0);
        assert_int_equal(c.pinned_images.n, 0);
        config_free(&c);

        load_error("max_concurrent_downloads = 0\n",
                   SRC ":1: key 'max_concurrent_downloads': invalid value \"0\" (must be an "
                       "integer from 1 to 16)");
        load_error("max_concurrent_downloads = 17\n",
                   SRC ":1: key 'max_concurrent_downloads': invalid value \"17\" (must be an "
                       "integer from 1 to 16)");
        load_error("max_concurrent_downloads = \"3\"\n",
                   SRC ":1: key 'max_concurrent_downloads': expected integer, got string");
        load_error("pinned_images = \"x\"\n",
                   SRC ":1: key 'pinned_images': expected array, got string");
        load_error(
            "pinned_images = [1, 2]\n",
            SRC ":1: key 'pinned_images': expected an array of non-empty strings without newlines");
        load_error(
            "pinned_images = [\"a\\nb\"]\n",
            SRC ":1: key 'pinned_images': expected an array of non-empty strings without newlines");
        load_error("pinned_images = [\"a*b\"]\n",
                   SRC ":1: key 'pinned_images': invalid value \"a*b\" ('*' may only end a "
                       "pattern (prefix*) or surround it (*keyword*))");
        load_error("pinned_images = [\"\"]\n",
                   SRC ":1: key 'pinned_images': expected an array of non-empty strings "
                       "without newlines");
        load_error("pinned_images = [\"a b\"]\n",
                   SRC ":1: key 'pinned_images': invalid value \"a b\" (patterns hold only the "
                       "characters of an image reference and '*')");
        set_error("pinned_images", "a,,b", "--pinned-images",
                  "--pinned-images: invalid value \"a,,b\" (must not contain empty patterns)");
        set_error("max_concurrent_downloads", "2x", "--max-concurrent-downloads",
                  "--max-concurrent-downloads: invalid value \"2x\" (must be an integer from "
                  "1 to 16)");
}

static void test_cni_keys(void **state)
{
        struct brig_config c;
        char *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        assert_string_equal(c.cni_conf_dir, "/etc/cni/net.d");
        assert_int_equal(c.cni_plugin_dirs.n, 2);
        assert_string_equal(c.cni_plugin_dirs.items[0], "/opt/cni/bin");
        assert_string_equal(c.cni_plugin_dirs.items[1], "/usr/lib/cni");
        assert_int_equal(c.cni_plugin_timeout, 60);
        static const char doc[] = "cni_conf_dir = \"/srv/net.d\"\n"
                                  "cni_plugin_dirs = [\"/srv/cni\"]\n"
                                  "cni_plugin_timeout = 600\n";
        assert_int_equal(config_load_buffer(&c, doc, strlen(doc), SRC, &err), 0);
        assert_string_equal(c.cni_conf_dir, "/srv/net.d");
        assert_int_equal(c.cni_plugin_dirs.n, 1);
        assert_string_equal(c.cni_plugin_dirs.items[0], "/srv/cni");
        assert_int_equal(c.cni_plugin_timeout, 600);
        assert_int_equal(config_set(&c, "cni_plugin_dirs", "/a,/b/c", "--cni-plugin-dirs", &err),
                         0);
        assert_int_equal(c.cni_plugin_dirs.n, 2);
        assert_string_equal(c.cni_plugin_dirs.items[1], "/b/c");
        config_free(&c);

        load_error("cni_conf_dir = \"net.d\"\n",
                   SRC ":1: key 'cni_conf_dir': invalid value \"net.d\" (must be an absolute "
                       "path)");
        load_error("cni_plugin_dirs = [\"/ok\", \"rel\"]\n",
                   SRC ":1: key 'cni_plugin_dirs': invalid value \"/ok\\nrel\" (must be an "
                       "absolute path)");
        load_error("cni_plugin_dirs = [\"/a/../b\"]\n",
                   SRC ":1: key 'cni_plugin_dirs': invalid value \"/a/../b\" (must not contain "
                       "\".\" or \"..\" components)");
        load_error("cni_plugin_timeout = 0\n",
                   SRC ":1: key 'cni_plugin_timeout': invalid value \"0\" (must be a number of "
                       "seconds from 1 to 600)");
        load_error("cni_plugin_timeout = 601\n",
                   SRC ":1: key 'cni_plugin_timeout': invalid value \"601\" (must be a number of "
                       "seconds from 1 to 600)");
        load_error("stream_address = \"localhost\"\n",
                   SRC ":1: key 'stream_address': invalid value \"localhost\" (must be an IPv4 "
                       "or IPv6 address, e.g. \"127.0.0.1\")");
        load_error("stream_port = 65536\n",
                   SRC ":1: key 'stream_port': invalid value \"65536\" (must be a TCP port from 0 "
                       "to 65535)");
        load_error("stream_idle_timeout = 0\n",
                   SRC ":1: key 'stream_idle_timeout': invalid value \"0\" (must be a number of "
                       "seconds from 1 to 604800 (a week))");
        set_error("cni_plugin_dirs", "/a,,/b", "--cni-plugin-dirs",
                  "--cni-plugin-dirs: invalid value \"/a,,/b\" (must be an absolute path)");
        set_error("cni_plugin_dirs", "/1,/2,/3,/4,/5,/6,/7,/8,/9,/10,/11,/12,/13,/14,/15,/16,/17",
                  "--cni-plugin-dirs",
                  "--cni-plugin-dirs: invalid value \"/1,/2,/3,/4,/5,/6,/7,/8,/9,/10,/11,/12,/13,"
                  "/14,/15,/16,/17\" (at most 16 paths)");
}

static void test_runtime_defaults(void **state)
{
        struct brig_config c;
        char *s = NULL, *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        assert_string_equal(c.default_runtime, "runc");
        assert_int_equal(c.n_runtimes, 2);
        assert_string_equal(c.runtimes[0].name, "runc");
        assert_string_equal(c.runtimes[0].path, "/usr/sbin/runc");
        assert_string_equal(c.runtimes[0].root, "");
        assert_string_equal(c.runtimes[0].type, "oci");
        assert_string_equal(c.runtimes[1].name, "crun");
        assert_string_equal(c.runtimes[1].path, "/usr/bin/crun");
        assert_string_equal(c.runtimes[1].root, "");
        assert_string_equal(c.runtimes[1].type, "oci");
        assert_int_equal(config_check(&c, &err), 0);
        assert_null(err);

        assert_ptr_equal(config_runtime_find(&c, ""), &c.runtimes[0]);
        assert_ptr_equal(config_runtime_find(&c, "runc"), &c.runtimes[0]);
        assert_ptr_equal(config_runtime_find(&c, "crun"), &c.runtimes[1]);
        assert_null(config_runtime_find(&c, "kata"));
        assert_null(config_runtime_find(&c, "RUNC"));
        assert_null(config_runtime_find(&c, "runc "));
        assert_int_equal(config_set(&c, "default_runtime", "crun", "--default-runtime", &err), 0);
        assert_ptr_equal(config_runtime_find(&c, ""), &c.runtimes[1]);

        assert_int_equal(config_runtime_names(&c, &s), 0);
        assert_string_equal(s, "runc, crun");
        free(s);

        /* "" follows run_root, whenever it is set */
        assert_int_equal(config_runtime_root(&c, &c.runtimes[0], &s), 0);
        assert_string_equal(s, "/run/brig/runtimes/runc");
        free(s);
        assert_int_equal(config_set(&c, "run_root", "/", "--run-root", &err), 0);
        assert_int_equal(config_runtime_root(&c, &c.runtimes[1], &s), 0);
        assert_string_equal(s, "/runtimes/crun");
        free(s);
        load_ok(&c, "[runtimes.runc]\nroot = \"/srv/runc-state\"\n");
        assert_int_equal(config_runtime_root(&c, &c.runtimes[0], &s), 0);
        assert_string_equal(s, "/srv/runc-state");
        free(s);
        config_free(&c);
        assert_null(c.runtimes);
        assert_int_equal(c.n_runtimes, 0);
        assert_null(c.default_runtime);
}

static void test_runtime_override_and_add(void **state)
{
        struct brig_config c;
        char *err = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        /* A table sets only the keys it has; the others stay. */
        load_ok(&c, "[runtimes.runc]\nroot = \"/run/x\"\n");
        assert_string_equal(c.runtimes[0].path, "/usr/sbin/runc");
        assert_string_equal(c.runtimes[0].root, "/run/x");
        load_ok(&c, "[runtimes.runc]\npath = \"/opt/runc\"\n");
        assert_string_equal(c.runtimes[0].path, "/opt/runc");
        assert_string_equal(c.runtimes[0].root, "/run/x");
        load_ok(&c, "[runtimes.runc]\nroot = \"\"\n");
        assert_string_equal(c.runtimes[0].root, "");
        assert_int_equal(c.n_runtimes, 2);

        /* A new name is added at the end, with the default root and type;
         * dotted keys and quoted names are the same tables. */
        load_ok(&c, "default_runtime = \"kata\"\n"
                    "[runtimes.kata]\npath = \"/opt/kata/bin/kata-runtime\"\n"
                    "[runtimes.\"youki\"]\npath = \"/usr/bin/youki\"\ntype = \"oci\"\n");
        load_ok(&c, "runtimes.crun.path = \"/usr/local/bin/crun\"\n"
                    "runtimes.gvisor-1_x.path = \"/usr/bin/runsc\"\n");
        assert_int_equal(c.n_runtimes, 5);
        static const char *const names[] = {"runc", "crun", "kata", "youki", "gvisor-1_x"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                assert_string_equal(c.runtimes[i].name, names[i]);
        assert_string_equal(c.runtimes[1].path, "/usr/local/bin/crun");
        assert_string_equal(c.runtimes[2].path, "/opt/kata/bin/kata-runtime");
        assert_string_equal(c.runtimes[2].root, "");
        assert_string_equal(c.runtimes[2].type, "oci");
        assert_string_equal(c.runtimes[4].path, "/usr/bin/runsc");
        assert_ptr_equal(config_runtime_find(&c, ""), &c.runtimes[2]);
        assert_int_equal(config_check(&c, &err), 0);

        /* 63 bytes is the longest name */
        char *name = repeat('a', 63);
        char doc[128];
        snprintf(doc, sizeof(doc), "[runtimes.%s]\npath = \"/x\"\n", name);
        load_ok(&c, doc);
        assert_non_null(config_runtime_find(&c, name));
        free(name);
        config_free(&c);
}

static void test_runtime_limit(void **state)
{
        struct brig_config c;
        char *err = NULL, doc[4096];
        size_t len = 0;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        /* 30 more than the two built-ins is the limit */
        for (int i = 0; i < CONFIG_MAX_RUNTIMES - 2; i++)
                len += (size_t)snprintf(doc + len, sizeof(doc) - len,
                                        "[runtimes.r%d]\npath = \"/x\"\n", i);
        load_ok(&c, doc);
        assert_int_equal(c.n_runtimes, CONFIG_MAX_RUNTIMES);
        /* overriding one still works at the limit */
        load_ok(&c, "[runtimes.r0]\npath = \"/y\"\n");
        const char more[] = "[runtimes.r0]\npath = \"/z\"\n[runtimes.one-more]\npath = \"/x\"\n";
        assert_int_equal(config_load_buffer(&c, more, strlen(more), SRC, &err), -EINVAL);
        assert_string_equal(err, SRC ":3: key 'runtimes.one-more': at most 32 runtimes can be "
                                     "defined");
        assert_int_equal(c.n_runtimes, CONFIG_MAX_RUNTIMES);
        assert_string_equal(config_runtime_find(&c, "r0")->path, "/y");
        free(err);
        config_free(&c);
}

static void test_runtime_errors(void **state)
{
        static const char name_why[] = "must be a runtime name: a lowercase letter, then up to 62 "
                                       "lowercase letters, digits, '_' or '-'";
        char expected[512];
        (void)state;

        snprintf(expected, sizeof(expected),
                 SRC ":1: key 'runtimes.Runc': invalid runtime name (%s)", name_why);
        load_error("[runtimes.Runc]\npath = \"/x\"\n", expected);
        snprintf(expected, sizeof(expected),
                 SRC ":2: key 'runtimes.\"a b\"': invalid runtime name (%s)", name_why);
        load_error("\n[runtimes.\"a b\"]\npath = \"/x\"\n", expected);
        snprintf(expected, sizeof(expected), SRC ":1: key 'runtimes.9p': invalid runtime name (%s)",
                 name_why);
        load_error("[runtimes.9p]\npath = \"/x\"\n", expected);
        snprintf(expected, sizeof(expected), SRC ":1: key 'runtimes._x': invalid runtime name (%s)",
                 name_why);
        load_error("[runtimes._x]\npath = \"/x\"\n", expected);
        snprintf(expected, sizeof(expected),
                 SRC ":1: key 'runtimes.\"\"': invalid runtime name (%s)", name_why);
        load_error("[runtimes.\"\"]\npath = \"/x\"\n", expected);
        char *long_name = repeat('a', 64), doc[256];
        snprintf(doc, sizeof(doc), "[runtimes.%s]\npath = \"/x\"\n", long_name);
        snprintf(expected, sizeof(expected), SRC ":1: key 'runtimes.%s': invalid runtime name (%s)",
                 long_name, name_why);
        load_error(doc, expected);
        free(long_name);

        load_error("[runtimes.kata]\nroot = \"/run/kata\"\n",
                   SRC ":1: key 'runtimes.kata': a runtime that is not defined yet needs a path");
        load_error("[runtimes.runc]\npath = \"runc\"\n",
                   SRC ":2: key 'runtimes.runc.path': invalid value \"runc\" (must be an absolute "
                       "path)");
        load_error("[runtimes.kata]\npath = \"/usr/bin/\"\n",
                   SRC ":2: key 'runtimes.kata.path': invalid value \"/usr/bin/\" (must not end "
                       "with \"/\")");
        load_error("[runtimes.runc]\npath = \"\"\n",
                   SRC ":2: key 'runtimes.runc.path': invalid value \"\" (must be an absolute "
                       "path)");
        load_error("[runtimes.crun]\nroot = \"run/crun\"\n",
                   SRC ":2: key 'runtimes.crun.root': invalid value \"run/crun\" (must be an "
                       "absolute path)");
        load_error("[runtimes.crun]\nroot = \"/run/../crun\"\n",
                   SRC ":2: key 'runtimes.crun.root': invalid value \"/run/../crun\" (must not "
                       "contain \".\" or \"..\" components)");
        load_error("[runtimes.runc]\ntype = \"vm\"\n",
                   SRC ":2: key 'runtimes.runc.type': invalid value \"vm\" (expected \"oci\", the "
                       "only runtime type)");
        load_error("[runtimes.runc]\ntype = \"OCI\"\n",
                   SRC ":2: key 'runtimes.runc.type': invalid value \"OCI\" (expected \"oci\", "
                       "the only runtime type)");
        load_error("[runtimes.runc]\npath = 1\n",
                   SRC ":2: key 'runtimes.runc.path': expected string, got integer");
        load_error("[runtimes.runc]\nargs = [\"--debug\"]\n",
                   SRC ":2: unknown key 'runtimes.runc.args'");
        load_error("[runtimes.runc.options]\n", SRC ":1: unknown key 'runtimes.runc.options'");
        load_error("runtimes = \"runc\"\n", SRC ":1: key 'runtimes': expected table, got string");
        load_error("runtimes.runc = \"/usr/sbin/runc\"\n",
                   SRC ":1: key 'runtimes.runc': expected table, got string");
        /* The same name twice in one file is TOML's error; across files it
         * is an override. */
        load_error("[runtimes.runc]\npath = \"/a\"\n[runtimes.runc]\npath = \"/b\"\n",
                   SRC ":3: key 'runtimes.runc': table already defined on line 1");
        load_error("[runtimes.runc]\npath = \"/a\"\n[runtimes.\"runc\"]\npath = \"/b\"\n",
                   SRC ":3: key 'runtimes.runc': table already defined on line 1");
        load_error("[runtimes.runc]\npath = \"/a\"\npath = \"/b\"\n",
                   SRC ":3: key 'runtimes.runc.path': duplicate key (first defined on line 2)");
        /* All or nothing: the good tables before the bad one are dropped. */
        load_error("default_runtime = \"kata\"\n[runtimes.runc]\npath = \"/new\"\n"
                   "[runtimes.kata]\npath = \"/kata\"\n[runtimes.bad]\npath = \"bad\"\n",
                   SRC ":7: key 'runtimes.bad.path': invalid value \"bad\" (must be an absolute "
                       "path)");

        snprintf(expected, sizeof(expected),
                 SRC ":1: key 'default_runtime': invalid value \"Runc\" (%s)", name_why);
        load_error("default_runtime = \"Runc\"\n", expected);
        snprintf(expected, sizeof(expected), "--default-runtime: invalid value \"\" (%s)",
                 name_why);
        set_error("default_runtime", "", "--default-runtime", expected);
        set_error("runtimes", "runc", "--runtimes",
                  "--runtimes: key 'runtimes' is a table, which only a configuration file can "
                  "set");
}

static void test_runtime_check(void **state)
{
        struct brig_config c;
        char *err = NULL;
        (void)state;

        /* A name no runtime has loads (a later file may define it), and
         * config_check() refuses it once every layer is applied. */
        assert_int_equal(config_init(&c), 0);
        load_ok(&c, "default_runtime = \"kata\"\n");
        assert_null(config_runtime_find(&c, ""));
        assert_int_equal(config_check(&c, &err), -EINVAL);
        assert_string_equal(err, "default_runtime \"kata\" is not one of [runtimes.*]: runc, crun");
        free(err);
        err = NULL;
        load_ok(&c, "[runtimes.kata]\npath = \"/opt/kata\"\n");
        assert_int_equal(config_check(&c, &err), 0);
        assert_null(err);
        assert_string_equal(config_runtime_find(&c, "")->path, "/opt/kata");
        config_free(&c);
}

static void test_print_errors(void **state)
{
        struct brig_config c;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        FILE *f = fopen("/dev/full", "w");
        assert_non_null(f);
        setvbuf(f, NULL, _IONBF, 0);
        assert_int_equal(config_print(&c, f), -EIO);
        fclose(f);

        /* A string that bypassed validation cannot be printed as TOML. */
        char *bad = strdup("/\xff");
        assert_non_null(bad);
        free(c.root);
        c.root = bad;
        char *s = NULL;
        assert_int_equal(config_to_string(&c, &s), -EINVAL);
        assert_null(s);
        f = fopen("/dev/null", "w");
        assert_non_null(f);
        assert_int_equal(config_print(&c, f), -EINVAL);
        fclose(f);
        config_free(&c);
}

/* Scratch directory for file tests, removed afterwards. */
static char tmpdir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        return remove(path);
}

static int setup_tmpdir(void **state)
{
        (void)state;
        strcpy(tmpdir, "/tmp/test_config.XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
        (void)state;
        return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_path(const char *name)
{
        char *path = NULL;
        assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
        return path;
}

static void write_file(const char *name, const char *content)
{
        char *path = tmp_path(name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs(content, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        free(path);
}

static void make_dir(const char *name)
{
        char *path = tmp_path(name);
        assert_int_equal(mkdir(path, 0755), 0);
        free(path);
}

static void test_load_file(void **state)
{
        struct brig_config c;
        char *err = NULL, *expected = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        write_file("ok.conf", "user = \"fromfile\"\n");
        char *path = tmp_path("ok.conf");
        assert_int_equal(config_load_file(&c, path, true, &err), 0);
        assert_string_equal(c.user, "fromfile");
        free(path);

        path = tmp_path("missing.conf");
        assert_int_equal(config_load_file(&c, path, false, &err), 0);
        assert_null(err);
        assert_int_equal(config_load_file(&c, path, true, &err), -ENOENT);
        assert_true(asprintf(&expected, "%s: cannot open: No such file or directory", path) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(path);

        write_file("bad.conf", "# x\nuser = \"fromfile2\"\nrun_root = \"run\"\n");
        path = tmp_path("bad.conf");
        assert_int_equal(config_load_file(&c, path, false, &err), -EINVAL);
        assert_true(asprintf(&expected,
                             "%s:3: key 'run_root': invalid value \"run\" (must be an absolute "
                             "path)",
                             path) > 0);
        assert_string_equal(err, expected);
        assert_string_equal(c.user, "fromfile");
        free(err);
        free(expected);
        free(path);

        make_dir("dir.conf");
        path = tmp_path("dir.conf");
        assert_int_equal(config_load_file(&c, path, false, &err), -EINVAL);
        assert_true(asprintf(&expected, "%s: not a regular file", path) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(path);

        path = tmp_path("fifo.conf");
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(config_load_file(&c, path, false, &err), -EINVAL);
        assert_true(asprintf(&expected, "%s: not a regular file", path) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(path);

        path = tmp_path("notdir/x.conf");
        write_file("notdir", "");
        assert_int_equal(config_load_file(&c, path, false, &err), -ENOTDIR);
        assert_true(asprintf(&expected, "%s: cannot open: Not a directory", path) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(path);

        assert_int_equal(config_load_file(&c, "/dev/null", true, &err), -EINVAL);
        assert_string_equal(err, "/dev/null: not a regular file");
        free(err);
        config_free(&c);
}

static void test_load_file_size(void **state)
{
        struct brig_config c;
        char *err = NULL, *expected = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        char *big = repeat('#', TOML_MAX_INPUT);
        memcpy(big, "user = \"big\"\n", 13);
        write_file("big.conf", big);
        char *path = tmp_path("big.conf");
        assert_int_equal(config_load_file(&c, path, true, &err), 0);
        assert_string_equal(c.user, "big");
        free(path);
        free(big);

        big = repeat('#', TOML_MAX_INPUT + 1);
        write_file("huge.conf", big);
        path = tmp_path("huge.conf");
        assert_int_equal(config_load_file(&c, path, true, &err), -EINVAL);
        assert_true(asprintf(&expected, "%s: file is larger than 1048576 bytes", path) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(path);
        free(big);

        write_file("empty.conf", "");
        path = tmp_path("empty.conf");
        assert_int_equal(config_load_file(&c, path, true, &err), 0);
        free(path);
        config_free(&c);
}

static void test_dropins(void **state)
{
        struct brig_config c;
        char *err = NULL;
        (void)state;

        make_dir("d");
        /* strcmp order: "10-b" < "2-a" < "a" < "b" */
        write_file("d/2-a.conf", "log_level = \"debug\"\nroot = \"/from-2a\"\n");
        write_file("d/10-b.conf", "log_level = \"warn\"\nuser = \"b10\"\nroot = \"/from-10b\"\n");
        write_file("d/a.conf", "user = \"fromaconf\"\n");
        write_file("d/target", "run_root = \"/via-symlink\"\n");
        char *target = tmp_path("d/target");
        char *link = tmp_path("d/b.conf");
        assert_int_equal(symlink(target, link), 0);
        free(target);
        free(link);
        /* Ignored: hidden, other suffixes, subdirectories not named *.conf. */
        write_file("d/.hidden.conf", "bogus = 1\n");
        write_file("d/.conf", "bogus = 1\n");
        write_file("d/x.conf~", "bogus = 1\n");
        write_file("d/x.conf.bak", "bogus = 1\n");
        write_file("d/x.toml", "bogus = 1\n");
        write_file("d/conf", "bogus = 1\n");
        write_file("d/README", "bogus = 1\n");
        make_dir("d/sub");

        char *dir = tmp_path("d");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load_dropins(&c, dir, &err), 0);
        assert_null(err);
        assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
        assert_string_equal(c.root, "/from-2a");
        assert_string_equal(c.user, "fromaconf");
        assert_string_equal(c.run_root, "/via-symlink");
        config_free(&c);
        free(dir);
}

static void test_dropin_errors(void **state)
{
        struct brig_config c;
        char *err = NULL, *expected = NULL;
        (void)state;

        assert_int_equal(config_init(&c), 0);
        char *dir = tmp_path("nonexistent.d");
        assert_int_equal(config_load_dropins(&c, dir, &err), 0);
        assert_null(err);
        free(dir);

        write_file("plainfile", "");
        dir = tmp_path("plainfile");
        assert_int_equal(config_load_dropins(&c, dir, &err), -ENOTDIR);
        assert_true(asprintf(&expected, "%s: cannot open directory: Not a directory", dir) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(dir);

        make_dir("e");
        make_dir("e/50-dir.conf");
        write_file("e/10-ok.conf", "user = \"first\"\n");
        dir = tmp_path("e");
        assert_int_equal(config_load_dropins(&c, dir, &err), -EINVAL);
        assert_true(asprintf(&expected, "%s/50-dir.conf: not a regular file", dir) > 0);
        assert_string_equal(err, expected);
        /* Files before the failing one stay applied. */
        assert_string_equal(c.user, "first");
        free(err);
        free(expected);
        free(dir);

        make_dir("f");
        write_file("f/10-ok.conf", "user = \"first\"\n");
        write_file("f/20-bad.conf", "\nuser = 1\n");
        write_file("f/30-never.conf", "user = \"never\"\n");
        dir = tmp_path("f");
        assert_int_equal(config_load_dropins(&c, dir, &err), -EINVAL);
        assert_true(asprintf(&expected,
                             "%s/20-bad.conf:2: key 'user': expected string, got "
                             "integer",
                             dir) > 0);
        assert_string_equal(err, expected);
        assert_string_equal(c.user, "first");
        free(err);
        free(expected);
        free(dir);

        make_dir("g");
        dir = tmp_path("g/fifo.conf");
        assert_int_equal(mkfifo(dir, 0600), 0);
        free(dir);
        dir = tmp_path("g");
        assert_int_equal(config_load_dropins(&c, dir, &err), -EINVAL);
        assert_true(asprintf(&expected, "%s/fifo.conf: not a regular file", dir) > 0);
        assert_string_equal(err, expected);
        free(err);
        free(expected);
        free(dir);
        config_free(&c);
}

static void test_defaults_and_files(void **state)
{
        struct brig_config c;
        char *err = NULL, *expected = NULL;
        (void)state;

        write_file("brig.conf", "user = \"main\"\nlog_level = \"warn\"\n");
        make_dir("brig.conf.d");
        write_file("brig.conf.d/50-x.conf", "log_level = \"error\"\n");
        char *main_path = tmp_path("brig.conf");
        assert_int_equal(config_load_defaults_and_files(&c, main_path, true, &err), 0);
        assert_string_equal(c.user, "main");
        assert_int_equal(c.log_level, LOG_LEVEL_ERROR);
        assert_string_equal(c.root, "/var/lib/brig");
        config_free(&c);
        free(main_path);

        /* An absent main file is fine unless it was asked for; its drop-ins still apply. */
        make_dir("absent.conf.d");
        write_file("absent.conf.d/x.conf", "user = \"dropin\"\n");
        main_path = tmp_path("absent.conf");
        assert_int_equal(config_load_defaults_and_files(&c, main_path, false, &err), 0);
        assert_string_equal(c.user, "dropin");
        config_free(&c);

        assert_int_equal(config_load_defaults_and_files(&c, main_path, true, &err), -ENOENT);
        assert_true(asprintf(&expected, "%s: cannot open: No such file or directory", main_path) >
                    0);
        assert_string_equal(err, expected);
        assert_null(c.root);
        assert_null(c.user);
        config_free(&c);
        free(err);
        free(expected);
        free(main_path);

        write_file("broken.conf", "user = \"ok\"\n");
        make_dir("broken.conf.d");
        write_file("broken.conf.d/x.conf", "[oops]\n");
        main_path = tmp_path("broken.conf");
        assert_int_equal(config_load_defaults_and_files(&c, main_path, false, &err), -EINVAL);
        assert_true(asprintf(&expected, "%s.d/x.conf:1: unknown key 'oops'", main_path) > 0);
        assert_string_equal(err, expected);
        assert_null(c.root);
        free(err);
        free(expected);
        free(main_path);

        /* The main file names a runtime a drop-in adds; another drop-in
         * changes a built-in one. */
        write_file("rt.conf", "default_runtime = \"mine\"\n[runtimes.runc]\nroot = \"/r\"\n");
        make_dir("rt.conf.d");
        write_file("rt.conf.d/10-mine.conf", "[runtimes.mine]\npath = \"/opt/mine\"\n");
        write_file("rt.conf.d/20-runc.conf", "[runtimes.runc]\npath = \"/opt/runc\"\n");
        main_path = tmp_path("rt.conf");
        assert_int_equal(config_load_defaults_and_files(&c, main_path, true, &err), 0);
        assert_int_equal(config_check(&c, &err), 0);
        assert_int_equal(c.n_runtimes, 3);
        assert_string_equal(config_runtime_find(&c, "")->path, "/opt/mine");
        assert_string_equal(c.runtimes[0].path, "/opt/runc");
        assert_string_equal(c.runtimes[0].root, "/r");
        config_free(&c);
        free(main_path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_free_zeroed),
            cmocka_unit_test(test_load_all_keys),
            cmocka_unit_test(test_load_layers),
            cmocka_unit_test(test_unknown_keys),
            cmocka_unit_test(test_wrong_types),
            cmocka_unit_test(test_toml_errors_pass_through),
            cmocka_unit_test(test_invalid_values),
            cmocka_unit_test(test_valid_values),
            cmocka_unit_test(test_length_limits),
            cmocka_unit_test(test_atomic_load),
            cmocka_unit_test(test_set),
            cmocka_unit_test(test_set_errors),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_print_format),
            cmocka_unit_test(test_image_keys),
            cmocka_unit_test(test_runtime_defaults),
            cmocka_unit_test(test_runtime_override_and_add),
            cmocka_unit_test(test_runtime_limit),
            cmocka_unit_test(test_runtime_errors),
            cmocka_unit_test(test_runtime_check),
            cmocka_unit_test(test_print_errors),
            cmocka_unit_test(test_cni_keys),
            cmocka_unit_test(test_load_file),
            cmocka_unit_test(test_load_file_size),
            cmocka_unit_test(test_dropins),
            cmocka_unit_test(test_dropin_errors),
            cmocka_unit_test(test_defaults_and_files),
        };
        return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
