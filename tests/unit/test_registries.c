/* test_registries.c: unit tests for daemon/registries.h: every key and its
 * errors, drop-in merge order, prefix matching (component boundaries,
 * wildcards, longest match), mirrors and their digest/tag rules, path
 * rewriting, blocked registries, aliases and the three short-name modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/registries.h"
#include "toml.h"
#include "util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct registries_conf *conf_ok(const char *doc)
{
        struct registries_conf *c = registries_new();
        char err[1024] = "";

        assert_non_null(c);
        int r = registries_merge(c, doc, strlen(doc), "r.conf", err, sizeof(err));
        if (r < 0)
                fail_msg("unexpected error %d: %s", r, err);
        return c;
}

static void check_error(const char *doc, const char *expected)
{
        _cleanup_registries_ struct registries_conf *c = registries_new();
        char err[1024] = "";

        assert_non_null(c);
        int r = registries_merge(c, doc, strlen(doc), "r.conf", err, sizeof(err));
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err, expected);
        /* A failed document leaves the configuration untouched. */
        assert_int_equal(c->n_registries, 0);
        assert_int_equal(c->n_aliases, 0);
        assert_int_equal(c->n_search, 0);
        assert_string_equal(c->files, "");
}

static struct imageref ref_of(const char *s)
{
        struct imageref ref;
        char err[512];
        if (imageref_parse(s, &ref, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        return ref;
}

/* Checks the pull sources of s, written as "host path [insecure] [mirror]"
 * strings joined by " | ". */
static void check_sources(const struct registries_conf *c, const char *s, const char *expected)
{
        struct imageref ref = ref_of(s);
        struct pull_source *srcs = NULL;
        size_t n = 0;
        char err[1024] = "", got[2048] = "";
        size_t w = 0;

        int r = registries_pull_sources(c, &ref, &srcs, &n, err, sizeof(err));
        if (r < 0)
                fail_msg("'%s': error %d: %s", s, r, err);
        for (size_t i = 0; i < n; i++)
                w += (size_t)snprintf(got + w, sizeof(got) - w, "%s%s %s%s%s", i ? " | " : "",
                                      srcs[i].host, srcs[i].path,
                                      srcs[i].insecure ? " insecure" : "",
                                      srcs[i].mirror ? " mirror" : "");
        free(srcs);
        assert_string_equal(got, expected);
}

static void check_sources_error(const struct registries_conf *c, const char *s, int expected_r,
                                const char *expected)
{
        struct imageref ref = ref_of(s);
        struct pull_source *srcs = NULL;
        size_t n = 0;
        char err[1024] = "";

        assert_int_equal(registries_pull_sources(c, &ref, &srcs, &n, err, sizeof(err)), expected_r);
        assert_null(srcs);
        assert_string_equal(err, expected);
}

/* Checks the candidates for s, formatted and joined by " ". */
static void check_resolve(const struct registries_conf *c, const char *s, const char *expected)
{
        struct imageref ref = ref_of(s);
        struct imageref *cands = NULL;
        size_t n = 0;
        char err[1024] = "", got[2048] = "", buf[IMAGEREF_STRING_MAX];
        size_t w = 0;

        int r = registries_resolve(c, &ref, &cands, &n, err, sizeof(err));
        if (r < 0)
                fail_msg("'%s': error %d: %s", s, r, err);
        for (size_t i = 0; i < n; i++) {
                assert_true(imageref_format(&cands[i], buf, sizeof(buf)) > 0);
                w += (size_t)snprintf(got + w, sizeof(got) - w, "%s%s", i ? " " : "", buf);
        }
        free(cands);
        assert_string_equal(got, expected);
}

static void check_resolve_error(const struct registries_conf *c, const char *s, int expected_r,
                                const char *expected)
{
        struct imageref ref = ref_of(s);
        struct imageref *cands = NULL;
        size_t n = 0;
        char err[1024] = "";

        assert_int_equal(registries_resolve(c, &ref, &cands, &n, err, sizeof(err)), expected_r);
        assert_null(cands);
        assert_string_equal(err, expected);
}

static void test_empty(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c = conf_ok("");
        assert_int_equal(c->short_name_mode, SHORT_NAME_ENFORCING);
        assert_string_equal(c->files, "r.conf");
        check_sources(c, "busybox", "docker.io library/busybox");
        check_sources(c, "localhost:5000/a/b@sha256:" HEX64, "localhost:5000 a/b");
        check_resolve(c, "quay.io/a/b:1", "quay.io/a/b:1");
        check_resolve_error(c, "busybox", -ENOENT,
                            "short name 'busybox' has no alias and no "
                            "unqualified-search-registries are configured (in r.conf); use a "
                            "fully qualified name such as docker.io/library/busybox");
}

static void test_keys(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c =
            conf_ok("unqualified-search-registries = [\"registry.fedoraproject.org\", "
                    "\"docker.io\", \"localhost:5000\"]\n"
                    "short-name-mode = \"permissive\"\n"
                    "credential-helpers = [\"x\"]\n"
                    "[aliases]\n"
                    "\"fedora\" = \"registry.fedoraproject.org/fedora\"\n"
                    "\"library/alpine\" = \"docker.io/library/alpine:3.19\"\n"
                    "[[registry]]\n"
                    "location = \"example.com/ns\"\n"
                    "insecure = true\n"
                    "surprise = 1\n"
                    "[[registry]]\n"
                    "prefix = \"docker.io\"\n"
                    "location = \"docker.io\"\n"
                    "blocked = false\n"
                    "mirror-by-digest-only = true\n"
                    "[[registry.mirror]]\n"
                    "location = \"m1.example\"\n"
                    "insecure = true\n"
                    "pull-from-mirror = \"tag-only\"\n"
                    "other = 2\n"
                    "[[registry.mirror]]\n"
                    "location = \"m2.example:5000/cache\"\n"
                    "pull-from-mirror = \"digest-only\"\n"
                    "[[registry]]\n"
                    "prefix = \"*.example.org\"\n");
        assert_int_equal(c->n_search, 3);
        assert_string_equal(c->search[2], "localhost:5000");
        assert_int_equal(c->short_name_mode, SHORT_NAME_PERMISSIVE);
        assert_int_equal(c->n_aliases, 2);
        assert_string_equal(c->aliases[1].name, "library/alpine");
        assert_string_equal(c->aliases[1].target.tag, "3.19");
        assert_string_equal(c->aliases[1].source, "r.conf:6");
        assert_int_equal(c->n_registries, 3);
        const struct registry *r0 = &c->registries[0];
        assert_string_equal(r0->prefix, "example.com/ns");
        assert_string_equal(r0->location, "example.com/ns");
        assert_true(r0->insecure);
        assert_string_equal(r0->source, "r.conf:7");
        const struct registry *r1 = &c->registries[1];
        assert_true(r1->mirror_by_digest_only);
        assert_false(r1->blocked);
        assert_int_equal(r1->n_mirrors, 2);
        assert_string_equal(r1->mirrors[1].location, "m2.example:5000/cache");
        assert_int_equal(r1->mirrors[1].pull_from_mirror, PULL_FROM_MIRROR_DIGEST_ONLY);
        assert_false(r1->mirrors[1].insecure);
        assert_true(r1->mirrors[0].insecure);
        assert_int_equal(r1->mirrors[0].pull_from_mirror, PULL_FROM_MIRROR_TAG_ONLY);
        const struct registry *r2 = &c->registries[2];
        assert_string_equal(r2->prefix, "*.example.org");
        assert_string_equal(r2->location, "");
        assert_int_equal(c->n_warnings, 3);
        assert_string_equal(
            c->warnings[0],
            "r.conf:3: unknown key 'credential-helpers' ignored (not used by brig)");
        assert_string_equal(c->warnings[1],
                            "r.conf:10: unknown key 'registry[0].surprise' ignored (not used by "
                            "brig)");
        assert_string_equal(c->warnings[2], "r.conf:20: unknown key 'registry[1].mirror[0].other' "
                                            "ignored (not used by brig)");
}

static void test_errors(void **state)
{
        (void)state;
        check_error("[registries.search]\nregistries = [\"docker.io\"]\n",
                    "r.conf:1: this is a version 1 registries.conf ([registries.search], "
                    "[registries.insecure], ...); brig reads only version 2: use "
                    "unqualified-search-registries and [[registry]] tables (see "
                    "containers-registries.conf(5))");
        check_error("a = [\n", "r.conf:1: key 'a': unterminated array (missing ']')");
        check_error("unqualified-search-registries = \"docker.io\"\n",
                    "r.conf:1: key 'unqualified-search-registries': must be an array, not a "
                    "string");
        check_error("unqualified-search-registries = [1]\n",
                    "r.conf:1: key 'unqualified-search-registries[0]': must be a string, not an "
                    "integer");
        check_error("unqualified-search-registries = [\"https://docker.io\"]\n",
                    "r.conf:1: key 'unqualified-search-registries[0]': 'https://docker.io' is "
                    "not a registry host[:port] (no path, no scheme)");
        check_error("unqualified-search-registries = [\"quay.io/ns\"]\n",
                    "r.conf:1: key 'unqualified-search-registries[0]': 'quay.io/ns' is not a "
                    "registry host[:port] (no path, no scheme)");
        check_error("unqualified-search-registries = [\"registry\"]\n",
                    "r.conf:1: key 'unqualified-search-registries[0]': 'registry' would not be "
                    "read as a registry in an image name: it needs a '.' or a ':port', or must "
                    "be localhost");
        check_error("short-name-mode = \"strict\"\n",
                    "r.conf:1: key 'short-name-mode': must be \"enforcing\", \"permissive\" or "
                    "\"disabled\"");
        check_error("short-name-mode = true\n",
                    "r.conf:1: key 'short-name-mode': must be a string, not a boolean");
        check_error("aliases = 1\n", "r.conf:1: key 'aliases': must be a table, not an integer");
        check_error("[aliases]\nx = 1\n", "r.conf:2: key 'aliases.x': must be a string, not an "
                                          "integer");
        check_error("[aliases]\n\"quay.io/x\" = \"quay.io/x\"\n",
                    "r.conf:2: key 'aliases.\"quay.io/x\"': an alias name is a short name "
                    "without a registry, tag or digest");
        check_error("[aliases]\n\"x:1\" = \"quay.io/x\"\n",
                    "r.conf:2: key 'aliases.\"x:1\"': an alias name is a short name without a "
                    "registry, tag or digest");
        check_error("[aliases]\n\"X\" = \"quay.io/x\"\n",
                    "r.conf:2: key 'aliases.X': the alias name is not a short name: invalid "
                    "image reference 'X': repository name must be lowercase");
        check_error("[aliases]\nx = \"x\"\n",
                    "r.conf:2: key 'aliases.x': an alias must be a fully qualified name with a "
                    "registry, optionally with a tag, not 'x'");
        check_error("[aliases]\nx = \"quay.io/x@sha256:" HEX64 "\"\n",
                    "r.conf:2: key 'aliases.x': an alias must be a fully qualified name with a "
                    "registry, optionally with a tag, not 'quay.io/x@sha256:" HEX64 "'");
        check_error("[aliases]\nx = \"quay.io/X\"\n",
                    "r.conf:2: key 'aliases.x': invalid image reference 'quay.io/X': repository "
                    "name must be lowercase");
        check_error("[registry]\nlocation = \"x.io\"\n",
                    "r.conf:1: key 'registry': must be written [[registry]] (an array of tables), "
                    "not [registry]");
        check_error("registry = [1]\n", "r.conf:1: key 'registry[0]': must be a table, not an "
                                        "integer");
        check_error("[[registry]]\ninsecure = true\n",
                    "r.conf:1: a [[registry]] needs a prefix or a location");
        check_error("[[registry]]\nlocation = 1\n",
                    "r.conf:2: key 'registry[0].location': must be a string, not an integer");
        check_error("[[registry]]\nlocation = \"x.io\"\ninsecure = \"yes\"\n",
                    "r.conf:3: key 'registry[0].insecure': must be a boolean, not a string");
        check_error("[[registry]]\nlocation = \"x.io\"\nblocked = 1\n",
                    "r.conf:3: key 'registry[0].blocked': must be a boolean, not an integer");
        check_error("[[registry]]\nlocation = \"x.io\"\nmirror-by-digest-only = 1\n",
                    "r.conf:3: key 'registry[0].mirror-by-digest-only': must be a boolean, not "
                    "an integer");
        check_error("[[registry]]\nlocation = \"\"\n",
                    "r.conf:2: key 'registry[0].location': location is empty");
        check_error("[[registry]]\nprefix = \"\"\n",
                    "r.conf:2: key 'registry[0].prefix': prefix '': is empty");
        check_error("[[registry]]\nlocation = \"https://x.io\"\n",
                    "r.conf:2: key 'registry[0].location': location 'https://x.io' must start "
                    "with a valid host[:port]");
        check_error("[[registry]]\nlocation = \"x.io/Ns\"\n",
                    "r.conf:2: key 'registry[0].location': location 'x.io/Ns' must have a "
                    "lowercase repository path (components of [a-z0-9] joined by '.', '_', '__' "
                    "or '-') after the host");
        /* Values are shown escaped, so a message stays one line. */
        check_error("[[registry]]\nlocation = \"x.io/\\tns\\n'\"\n",
                    "r.conf:2: key 'registry[0].location': location 'x.io/\\x09ns\\x0a\\x27' must "
                    "have a lowercase repository path (components of [a-z0-9] joined by '.', '_', "
                    "'__' or '-') after the host");
        check_error("[[registry]]\nlocation = \"*.x.io\"\n",
                    "r.conf:2: key 'registry[0].location': a location cannot be a wildcard; put "
                    "'*.x.io' in prefix");
        check_error("[[registry]]\nprefix = \"x.io/a:1\"\n",
                    "r.conf:2: key 'registry[0].prefix': prefix 'x.io/a:1': prefixes with a tag "
                    "or digest are not supported by brig");
        check_error("[[registry]]\nprefix = \"x.io/a@sha256:" HEX64 "\"\n",
                    "r.conf:2: key 'registry[0].prefix': prefix 'x.io/a@sha256:" HEX64
                    "': prefixes with a tag or digest are not supported by brig");
        static const char *const bad_wildcards[] = {"*example.com", "*.",       "*.x.io:5000",
                                                    "*.x.io/ns",    "*.*.x.io", "*"};
        for (size_t i = 0; i < ARRAY_SIZE(bad_wildcards); i++) {
                char doc[256], expected[512];
                snprintf(doc, sizeof(doc), "[[registry]]\nprefix = \"%s\"\n", bad_wildcards[i]);
                snprintf(expected, sizeof(expected),
                         "r.conf:2: key 'registry[0].prefix': prefix '%s': a wildcard prefix "
                         "must look like *.example.com (no port, path or other '*')",
                         bad_wildcards[i]);
                check_error(doc, expected);
        }
        check_error("[[registry]]\nprefix = \"*.x.io\"\nlocation = \"y.io\"\n",
                    "r.conf:3: key 'registry[0].location': a [[registry]] with a wildcard "
                    "prefix keeps the matched host: leave its location out (mirrors are "
                    "allowed)");
        check_error("[[registry]]\nlocation = \"x.io\"\n[[registry]]\nprefix = \"x.io\"\n",
                    "r.conf: [[registry]] prefix 'x.io' is defined twice, at r.conf:1 and line 3");
        check_error("[[registry]]\nlocation = \"x.io\"\nmirror = 1\n",
                    "r.conf:3: key 'registry[0].mirror': must be an array, not an integer");
        check_error("[[registry]]\nlocation = \"x.io\"\nmirror = [\"m.io\"]\n",
                    "r.conf:3: key 'registry[0].mirror[0]': must be a table, not a string");
        check_error("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\ninsecure = true\n",
                    "r.conf:3: a [[registry.mirror]] needs a location");
        check_error("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = \"\"\n",
                    "r.conf:4: key 'registry[0].mirror[0].location': mirror location '' is "
                    "empty");
        check_error("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = "
                    "\"m.io\"\npull-from-mirror = \"never\"\n",
                    "r.conf:5: key 'registry[0].mirror[0].pull-from-mirror': must be \"all\", "
                    "\"digest-only\" or \"tag-only\"");
        check_error("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = "
                    "\"m.io\"\ninsecure = 0\n",
                    "r.conf:5: key 'registry[0].mirror[0].insecure': must be a boolean, not an "
                    "integer");
}

static void test_prefix_matching(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c =
            conf_ok("[[registry]]\n"
                    "prefix = \"example.com/foo\"\n"
                    "location = \"foo.internal/mirror\"\n"
                    "[[registry]]\n"
                    "prefix = \"example.com\"\n"
                    "location = \"all.internal\"\n"
                    "[[registry]]\n"
                    "prefix = \"example.com/foo/bar\"\n"
                    "location = \"bar.internal:5000\"\n"
                    "insecure = true\n"
                    "[[registry]]\n"
                    "prefix = \"*.example.net\"\n"
                    "insecure = true\n"
                    "[[registry]]\n"
                    "prefix = \"*.b.example.net\"\n"
                    "[[registry]]\n"
                    "location = \"exact.example.net\"\n"
                    "[[registry]]\n"
                    "prefix = \"docker.io/library\"\n"
                    "location = \"hub.internal/lib\"\n");
        /* Longest match on component boundaries. */
        check_sources(c, "example.com/foo/x", "foo.internal mirror/x");
        check_sources(c, "example.com/foo", "foo.internal mirror");
        check_sources(c, "example.com/foobar/x", "all.internal foobar/x");
        check_sources(c, "example.com/foo/bar/y:1", "bar.internal:5000 y insecure");
        check_sources(c, "example.com/foo/barn", "foo.internal mirror/barn");
        check_sources(c, "example.com/a/b", "all.internal a/b");
        /* A different port is a different registry. */
        check_sources(c, "example.com:5000/foo/x", "example.com:5000 foo/x");
        check_sources(c, "sub.example.com/foo/x", "sub.example.com foo/x");
        /* Wildcards match any subdomain (with any port), keeping the host. */
        check_sources(c, "a.example.net/x", "a.example.net x insecure");
        check_sources(c, "a.b.c.example.net:5000/x", "a.b.c.example.net:5000 x insecure");
        check_sources(c, "example.net/x", "example.net x");
        check_sources(c, "xexample.net/x", "xexample.net x");
        /* The longer wildcard wins; an exact prefix beats a wildcard. */
        check_sources(c, "a.b.example.net/x", "a.b.example.net x");
        check_sources(c, "exact.example.net/x", "exact.example.net x");
        /* docker.io names are matched normalized. */
        check_sources(c, "busybox", "hub.internal lib/busybox");
        check_sources(c, "docker.io/library/busybox@sha256:" HEX64, "hub.internal lib/busybox");
        check_sources(c, "user/x", "docker.io user/x");
}

static void test_mirrors(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c =
            conf_ok("[[registry]]\n"
                    "prefix = \"docker.io\"\n"
                    "location = \"docker.io\"\n"
                    "mirror = [\n"
                    "  { location = \"all.mirror/hub\" },\n"
                    "  { location = \"digest.mirror\", pull-from-mirror = \"digest-only\" },\n"
                    "  { location = \"tag.mirror:5000\", pull-from-mirror = \"tag-only\", "
                    "insecure = true },\n"
                    "  { location = \"explicit.mirror\", pull-from-mirror = \"all\" },\n"
                    "]\n"
                    "[[registry]]\n"
                    "prefix = \"quay.io/ns\"\n"
                    "location = \"quay.io/ns\"\n"
                    "mirror-by-digest-only = true\n"
                    "[[registry.mirror]]\n"
                    "location = \"m1.io/q\"\n"
                    "pull-from-mirror = \"tag-only\"\n"
                    "[[registry.mirror]]\n"
                    "location = \"m2.io\"\n");
        check_sources(c, "busybox:1",
                      "all.mirror hub/library/busybox mirror | tag.mirror:5000 library/busybox "
                      "insecure mirror | explicit.mirror library/busybox mirror | docker.io "
                      "library/busybox");
        check_sources(c, "busybox@sha256:" HEX64,
                      "all.mirror hub/library/busybox mirror | digest.mirror library/busybox "
                      "mirror | explicit.mirror library/busybox mirror | docker.io "
                      "library/busybox");
        /* name:tag@digest pulls by digest. */
        check_sources(c, "busybox:1@sha256:" HEX64,
                      "all.mirror hub/library/busybox mirror | digest.mirror library/busybox "
                      "mirror | explicit.mirror library/busybox mirror | docker.io "
                      "library/busybox");
        /* mirror-by-digest-only overrides each mirror's pull-from-mirror. */
        check_sources(c, "quay.io/ns/app:v1", "quay.io ns/app");
        check_sources(c, "quay.io/ns/app@sha256:" HEX64,
                      "m1.io q/app mirror | m2.io app mirror | quay.io ns/app");
}

static void test_rewriting_and_blocked(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c =
            conf_ok("[[registry]]\n"
                    "prefix = \"example.com/team/app\"\n"
                    "location = \"other.io\"\n"
                    "[[registry]]\n"
                    "prefix = \"example.com/team\"\n"
                    "location = \"other.io/a/b\"\n"
                    "[[registry]]\n"
                    "prefix = \"evil.io\"\n"
                    "blocked = true\n"
                    "[[registry]]\n"
                    "prefix = \"*.blocked.io\"\n"
                    "blocked = true\n"
                    "[[registry]]\n"
                    "prefix = \"evil.io/fine\"\n"
                    "location = \"evil.io/fine\"\n");
        check_sources(c, "example.com/team/x/y", "other.io a/b/x/y");
        check_sources(c, "example.com/team/app/sub", "other.io sub");
        check_sources_error(c, "example.com/team/app", -EINVAL,
                            "[[registry]] prefix 'example.com/team/app' at r.conf:1 maps the "
                            "whole repository name to 'other.io', which has no repository path");
        check_sources_error(c, "evil.io/x:1", -EACCES,
                            "pulling 'evil.io/x' is blocked by [[registry]] prefix 'evil.io' at "
                            "r.conf:7");
        check_sources_error(c, "a.blocked.io/x", -EACCES,
                            "pulling 'a.blocked.io/x' is blocked by [[registry]] prefix "
                            "'*.blocked.io' at r.conf:10");
        /* A longer prefix that is not blocked opens a namespace again. */
        check_sources(c, "evil.io/fine/x", "evil.io fine/x");
}

static void test_short_names(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c =
            conf_ok("unqualified-search-registries = [\"quay.io\", \"docker.io\"]\n"
                    "[aliases]\n"
                    "fedora = \"registry.fedoraproject.org/fedora\"\n"
                    "alpine = \"docker.io/alpine:3.19\"\n"
                    "\"team/app\" = \"quay.io/team/app\"\n");
        /* Enforcing (the default): ambiguity is an error naming every candidate. */
        check_resolve_error(c, "busybox", -EINVAL,
                            "short name 'busybox' is ambiguous: it could be quay.io/busybox or "
                            "docker.io/library/busybox; short-name-mode is enforcing, so use a "
                            "fully qualified name or add an [aliases] entry (in r.conf)");
        /* Aliases win in every mode; the user's tag or digest replaces theirs. */
        check_resolve(c, "fedora", "registry.fedoraproject.org/fedora:latest");
        check_resolve(c, "fedora:39", "registry.fedoraproject.org/fedora:39");
        check_resolve(c, "alpine", "docker.io/library/alpine:3.19");
        check_resolve(c, "alpine:edge", "docker.io/library/alpine:edge");
        check_resolve(c, "alpine@sha256:" HEX64, "docker.io/library/alpine@sha256:" HEX64);
        check_resolve(c, "team/app", "quay.io/team/app:latest");
        /* library/alpine is not the alias "alpine". */
        check_resolve_error(c, "library/alpine", -EINVAL,
                            "short name 'library/alpine' is ambiguous: it could be "
                            "quay.io/library/alpine or docker.io/library/alpine; short-name-mode "
                            "is enforcing, so use a fully qualified name or add an [aliases] "
                            "entry (in r.conf)");
        /* Fully qualified names are their own candidate. */
        check_resolve(c, "docker.io/fedora", "docker.io/library/fedora:latest");

        char err[512];
        assert_int_equal(registries_merge(c, "short-name-mode = \"permissive\"\n", 31, "d.conf",
                                          err, sizeof(err)),
                         0);
        assert_int_equal(c->short_name_mode, SHORT_NAME_PERMISSIVE);
        check_resolve(c, "busybox:1", "quay.io/busybox:1 docker.io/library/busybox:1");
        check_resolve(c, "a/b@sha256:" HEX64,
                      "quay.io/a/b@sha256:" HEX64 " docker.io/a/b@sha256:" HEX64);
        check_resolve(c, "fedora", "registry.fedoraproject.org/fedora:latest");
        assert_int_equal(
            registries_merge(c, "short-name-mode = \"disabled\"\n", 29, "e.conf", err, sizeof(err)),
            0);
        assert_int_equal(c->short_name_mode, SHORT_NAME_DISABLED);
        check_resolve(c, "busybox", "quay.io/busybox:latest docker.io/library/busybox:latest");

        /* One search registry is never ambiguous. */
        _cleanup_registries_ struct registries_conf *one =
            conf_ok("unqualified-search-registries = [\"docker.io\"]\n");
        check_resolve(one, "busybox", "docker.io/library/busybox:latest");
        check_resolve(one, "user/x:2", "docker.io/user/x:2");

        /* A candidate that breaks the length limit is reported. */
        char name[256], s[300], expected[1024], lerr[1024];
        memset(name, 'a', 240);
        name[240] = '\0';
        _cleanup_registries_ struct registries_conf *longhost =
            conf_ok("unqualified-search-registries = [\"registry.example.com\"]\n");
        snprintf(s, sizeof(s), "x/%s", name);
        struct imageref ref = ref_of(s);
        struct imageref *cands = NULL;
        size_t n;
        assert_int_equal(registries_resolve(longhost, &ref, &cands, &n, lerr, sizeof(lerr)),
                         -EINVAL);
        snprintf(expected, sizeof(expected), "short name 'x/%.20s", name);
        assert_memory_equal(lerr, expected, strlen(expected));
        assert_non_null(strstr(lerr, "the limit is 255"));
}

static void test_merge_order(void **state)
{
        (void)state;
        _cleanup_registries_ struct registries_conf *c =
            conf_ok("unqualified-search-registries = [\"a.io\", \"b.io\"]\n"
                    "short-name-mode = \"permissive\"\n"
                    "[aliases]\n"
                    "x = \"a.io/x\"\n"
                    "y = \"a.io/y\"\n"
                    "[[registry]]\n"
                    "prefix = \"a.io\"\n"
                    "location = \"a-primary.io\"\n"
                    "[[registry]]\n"
                    "location = \"b.io\"\n"
                    "insecure = true\n"
                    "bogus = 1\n");
        char err[512];
        const char *d1 = "[aliases]\n"
                         "y = \"c.io/y\"\n"
                         "z = \"c.io/z\"\n"
                         "[[registry]]\n"
                         "prefix = \"a.io\"\n"
                         "location = \"a-replaced.io\"\n"
                         "[[registry]]\n"
                         "location = \"c.io\"\n";
        assert_int_equal(registries_merge(c, d1, strlen(d1), "d1.conf", err, sizeof(err)), 0);
        /* Settings the drop-in does not set stay. */
        assert_int_equal(c->n_search, 2);
        assert_int_equal(c->short_name_mode, SHORT_NAME_PERMISSIVE);
        assert_int_equal(c->n_aliases, 3);
        check_resolve(c, "x", "a.io/x:latest");
        check_resolve(c, "y", "c.io/y:latest");
        check_resolve(c, "z", "c.io/z:latest");
        assert_string_equal(c->aliases[1].source, "d1.conf:2");
        /* Same prefix: replaced in place, with the later file's settings. */
        assert_int_equal(c->n_registries, 3);
        assert_string_equal(c->registries[0].location, "a-replaced.io");
        assert_string_equal(c->registries[0].source, "d1.conf:4");
        check_sources(c, "a.io/x", "a-replaced.io x");
        check_sources(c, "b.io/x", "b.io x insecure");

        const char *d2 = "unqualified-search-registries = []\nshort-name-mode = \"enforcing\"\n";
        assert_int_equal(registries_merge(c, d2, strlen(d2), "d2.conf", err, sizeof(err)), 0);
        assert_int_equal(c->n_search, 0);
        assert_int_equal(c->short_name_mode, SHORT_NAME_ENFORCING);
        assert_string_equal(c->files, "r.conf, d1.conf, d2.conf");
        assert_int_equal(c->n_warnings, 1);
        check_resolve_error(c, "w", -ENOENT,
                            "short name 'w' has no alias and no unqualified-search-registries "
                            "are configured (in r.conf, d1.conf, d2.conf); use a fully "
                            "qualified name such as docker.io/library/w");

        /* A bad drop-in changes nothing. */
        const char *bad = "unqualified-search-registries = [\"q.io\"]\n[aliases]\nx = \"q.io/x\"\n"
                          "[[registry]]\nprefix = \"b.io\"\nlocation = 5\n";
        assert_int_equal(registries_merge(c, bad, strlen(bad), "bad.conf", err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "bad.conf:6: key 'registry[0].location': must be a string, not "
                                 "an integer");
        assert_int_equal(c->n_search, 0);
        check_resolve(c, "x", "a.io/x:latest");
        check_sources(c, "b.io/x", "b.io x insecure");
        assert_string_equal(c->files, "r.conf, d1.conf, d2.conf");
}

/* A scratch directory, removed by teardown whatever the test did. */
static char tmpdir[64];

static int setup_dir(void **state)
{
        (void)state;
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/brig-test-registries-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
        char cmd[128];
        (void)state;
        if (!*tmpdir || strncmp(tmpdir, "/tmp/brig-test-registries-", 26) != 0)
                return -1;
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
        int r = system(cmd);
        tmpdir[0] = '\0';
        return r == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *content)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        assert_int_equal(fclose(f), 0);
}

static void test_load(void **state)
{
        char main_path[128], dir[128], err[1024] = "";
        struct registries_conf *c = NULL;

        (void)state;
        snprintf(main_path, sizeof(main_path), "%s/registries.conf", tmpdir);
        snprintf(dir, sizeof(dir), "%s/registries.conf.d", tmpdir);

        /* Neither the file nor the directory: an empty configuration. */
        assert_int_equal(registries_load(main_path, dir, &c, err, sizeof(err)), 0);
        assert_int_equal(c->n_registries, 0);
        assert_string_equal(c->files, "");
        registries_free(c);
        c = NULL;

        write_file("registries.conf", "unqualified-search-registries = [\"main.io\"]\n"
                                      "[aliases]\nx = \"main.io/x\"\n");
        assert_int_equal(mkdir(dir, 0700), 0);
        write_file("registries.conf.d/20-b.conf", "[aliases]\nx = \"b.io/x\"\n");
        write_file("registries.conf.d/10-a.conf",
                   "unknown = 1\n[aliases]\nx = \"a.io/x\"\ny = \"a.io/y\"\n");
        write_file("registries.conf.d/30-c.conf.disabled", "bad = [\n");
        write_file("registries.conf.d/.hidden.conf", "bad = [\n");
        write_file("registries.conf.d/99-z.conf",
                   "unqualified-search-registries = [\"z.io\", \"main.io\"]\n");
        assert_int_equal(mkdir(strcat(strcpy(err, dir), "/40-dir.conf"), 0700), 0);
        assert_int_equal(registries_load(main_path, dir, &c, err, sizeof(err)), 0);
        char expected[1024];
        snprintf(expected, sizeof(expected), "%s, %s/10-a.conf, %s/20-b.conf, %s/99-z.conf",
                 main_path, dir, dir, dir);
        assert_string_equal(c->files, expected);
        check_resolve(c, "x", "b.io/x:latest");
        check_resolve(c, "y", "a.io/y:latest");
        assert_int_equal(c->n_search, 2);
        assert_string_equal(c->search[0], "z.io");
        assert_int_equal(c->n_warnings, 1);
        snprintf(expected, sizeof(expected),
                 "%s/10-a.conf:1: unknown key 'unknown' ignored (not used by brig)", dir);
        assert_string_equal(c->warnings[0], expected);
        registries_free(c);
        c = NULL;

        /* Without a drop-in directory argument only the main file counts. */
        assert_int_equal(registries_load(main_path, NULL, &c, err, sizeof(err)), 0);
        check_resolve(c, "x", "main.io/x:latest");
        registries_free(c);
        c = NULL;

        /* An error names the file and line. */
        write_file("registries.conf.d/50-bad.conf", "\n[[registry]]\nlocation = \"X.io/A\"\n");
        assert_int_equal(registries_load(main_path, dir, &c, err, sizeof(err)), -EINVAL);
        assert_null(c);
        snprintf(expected, sizeof(expected),
                 "%s/50-bad.conf:3: key 'registry[0].location': location 'X.io/A' must have a "
                 "lowercase repository path (components of [a-z0-9] joined by '.', '_', '__' or "
                 "'-') after the host",
                 dir);
        assert_string_equal(err, expected);

        /* A main path that is a directory is refused. */
        assert_int_equal(registries_load(dir, NULL, &c, err, sizeof(err)), -EINVAL);
        snprintf(expected, sizeof(expected), "%s: not a regular file", dir);
        assert_string_equal(err, expected);

        /* Too large. */
        char *big = malloc(TOML_MAX_INPUT + 2);
        assert_non_null(big);
        memset(big, '\n', TOML_MAX_INPUT + 1);
        big[TOML_MAX_INPUT + 1] = '\0';
        write_file("registries.conf", big);
        free(big);
        assert_int_equal(registries_load(main_path, NULL, &c, err, sizeof(err)), -EFBIG);
        snprintf(expected, sizeof(expected), "%s: larger than %d bytes", main_path, TOML_MAX_INPUT);
        assert_string_equal(err, expected);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_empty),
            cmocka_unit_test(test_keys),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_prefix_matching),
            cmocka_unit_test(test_mirrors),
            cmocka_unit_test(test_rewriting_and_blocked),
            cmocka_unit_test(test_short_names),
            cmocka_unit_test(test_merge_order),
            cmocka_unit_test_setup_teardown(test_load, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
