/* test_imageref.c: unit tests for daemon/imageref.h: every grammar rule with
 * the grammar's own examples, each rejection and its message,
 * normalization, and formatting round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/imageref.h"
#include "util.h"

#define HEX64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64

static struct imageref parse_ok(const char *s)
{
        struct imageref ref;
        char err[512] = "";

        int r = imageref_parse(s, &ref, err, sizeof(err));
        if (r < 0)
                fail_msg("'%s' rejected: %s", s, err);
        return ref;
}

/* Parses s, checks the full normalized string, and that it parses back to
 * the same parts. */
static struct imageref check_ok(const char *s, const char *expected)
{
        struct imageref ref = parse_ok(s), again;
        char buf[IMAGEREF_STRING_MAX];

        assert_int_equal(imageref_format(&ref, buf, sizeof(buf)), (int)strlen(expected));
        assert_string_equal(buf, expected);
        again = parse_ok(buf);
        assert_string_equal(again.domain, ref.domain);
        assert_string_equal(again.path, ref.path);
        assert_string_equal(again.tag, ref.tag);
        assert_string_equal(again.digest, ref.digest);
        assert_true(again.has_domain);
        return ref;
}

/* Long references are shown cut short: only the reason is compared then. */
static void check_error(const char *s, const char *expected_why)
{
        struct imageref ref;
        char err[512] = "";
        char expected[512];

        int r = imageref_parse(s, &ref, err, sizeof(err));
        if (r == 0)
                fail_msg("'%s' accepted", s);
        assert_int_equal(r, -EINVAL);
        if (strlen(s) > 150) {
                snprintf(expected, sizeof(expected), "...': %s", expected_why);
                assert_non_null(strstr(err, expected));
                return;
        }
        snprintf(expected, sizeof(expected), "invalid image reference '%s': %s", s, expected_why);
        assert_string_equal(err, expected);
}

static void test_normalization(void **state)
{
        (void)state;
        struct imageref r = check_ok("busybox", "docker.io/library/busybox:latest");
        assert_false(r.has_domain);
        assert_true(r.library_added);
        assert_true(r.tag_defaulted);
        assert_string_equal(r.domain, "docker.io");
        assert_string_equal(r.path, "library/busybox");
        assert_string_equal(imageref_short_name(&r), "busybox");

        r = check_ok("user/x", "docker.io/user/x:latest");
        assert_false(r.has_domain);
        assert_false(r.library_added);
        assert_string_equal(imageref_short_name(&r), "user/x");

        r = check_ok("library/busybox:1.36", "docker.io/library/busybox:1.36");
        assert_false(r.library_added);
        assert_false(r.tag_defaulted);
        assert_string_equal(imageref_short_name(&r), "library/busybox");

        r = check_ok("index.docker.io/busybox", "docker.io/library/busybox:latest");
        assert_true(r.has_domain);
        check_ok("docker.io/busybox", "docker.io/library/busybox:latest");
        check_ok("index.docker.io/a/b", "docker.io/a/b:latest");
        /* Only the exact legacy name is rewritten. */
        check_ok("index.docker.io:443/a", "index.docker.io:443/a:latest");

        r = check_ok("busybox@sha256:" HEX64, "docker.io/library/busybox@sha256:" HEX64);
        assert_string_equal(r.tag, "");
        assert_false(r.tag_defaulted);
        r = check_ok("busybox:1@sha256:" HEX64, "docker.io/library/busybox:1@sha256:" HEX64);
        assert_string_equal(r.tag, "1");
}

static void test_domains(void **state)
{
        (void)state;
        struct imageref r = check_ok("localhost:5000/a", "localhost:5000/a:latest");
        assert_true(r.has_domain);
        assert_string_equal(r.domain, "localhost:5000");
        assert_string_equal(r.path, "a");
        check_ok("localhost/a", "localhost/a:latest");
        check_ok("localhost", "docker.io/library/localhost:latest");
        /* A bare first component with no '.' or ':' is a path. */
        r = check_ok("registry/a", "docker.io/registry/a:latest");
        assert_false(r.has_domain);
        check_ok("example.com/a/b/c", "example.com/a/b/c:latest");
        check_ok("Example.COM/a", "Example.COM/a:latest");
        check_ok("a-b.c-d.example:65535/x", "a-b.c-d.example:65535/x:latest");
        check_ok("192.168.0.1:5000/x", "192.168.0.1:5000/x:latest");
        /* Uppercase marks a domain, as in distribution. */
        r = check_ok("Foo/bar", "Foo/bar:latest");
        assert_true(r.has_domain);

        r = check_ok("[fe80::1]:5000/x:y", "[fe80::1]:5000/x:y");
        assert_string_equal(r.domain, "[fe80::1]:5000");
        assert_string_equal(r.path, "x");
        assert_string_equal(r.tag, "y");
        check_ok("[::1]/x", "[::1]/x:latest");
        check_ok("[2001:DB8::1]:443/a/b", "[2001:DB8::1]:443/a/b:latest");

        check_error("example.com:/a", "domain 'example.com:': the port after ':' is empty");
        check_error("example.com:80x/a",
                    "domain 'example.com:80x': the port must be decimal digits");
        check_error("example.com:65536/a",
                    "domain 'example.com:65536': the port is larger than 65535");
        check_error("-example.com/a",
                    "domain '-example.com': a domain component cannot start or end with '-'");
        check_error("example-.com/a",
                    "domain 'example-.com': a domain component cannot start or end with '-'");
        check_error("example..com/a", "domain 'example..com': the domain has an empty component");
        check_error(".example.com/a", "domain '.example.com': the domain has an empty component");
        check_error("example.com./a", "domain 'example.com.': the domain has an empty component");
        check_error("ex_ample.com/a", "domain 'ex_ample.com': the domain may only hold letters, "
                                      "digits, '-', '.' and a ':port'");
        check_error("[fe80::1/a", "domain '[fe80::1': missing ']' after the IPv6 address");
        check_error("[]:5000/a", "domain '[]:5000': the IPv6 address in brackets is empty");
        check_error("[fe80::g]/a", "domain '[fe80::g]': an IPv6 address in brackets may only "
                                   "hold hex digits and ':'");
        check_error("[::1]x/a", "domain '[::1]x': the domain may only hold letters, digits, '-', "
                                "'.' and a ':port'");
        check_error("a:1:2/b", "domain 'a:1:2': the port must be decimal digits");
        check_error("/a", "repository name has an empty path component");
}

static void test_path_components(void **state)
{
        (void)state;
        check_ok("a__b/c_d/e.f/g-h/i--j/k---l", "docker.io/a__b/c_d/e.f/g-h/i--j/k---l:latest");
        check_ok("0/9z", "docker.io/0/9z:latest");
        check_ok("a/b/c:tag@sha256:" HEX64, "docker.io/a/b/c:tag@sha256:" HEX64);

        check_error("Busybox", "repository name must be lowercase");
        check_error("example.com/Foo", "repository name must be lowercase");
        check_error("example.com/a//b", "repository name has an empty path component");
        check_error("a/", "repository name has an empty path component");
        check_error("example.com/", "repository name has an empty path component");
        check_error("a___b", "repository name separators ('.', '_', '__', '-') must stand alone "
                             "between letters or digits");
        check_error("a..b", "repository name separators ('.', '_', '__', '-') must stand alone "
                            "between letters or digits");
        check_error("a.-b", "repository name separators ('.', '_', '__', '-') must stand alone "
                            "between letters or digits");
        check_error("a-_b", "repository name separators ('.', '_', '__', '-') must stand alone "
                            "between letters or digits");
        check_error("_a", "repository name path components must start and end with a letter or "
                          "digit");
        check_error("a-", "repository name path components must start and end with a letter or "
                          "digit");
        check_error("a/.b", "repository name path components must start and end with a letter or "
                            "digit");
        check_error("a b", "repository name may only hold lowercase letters, digits, '.', '_', "
                           "'__', '-' and '/'");
        check_error("a+b", "repository name may only hold lowercase letters, digits, '.', '_', "
                           "'__', '-' and '/'");
        check_error("", "the reference is empty");
        check_error(":tag", "the repository name is empty");
        check_error("@sha256:" HEX64, "the repository name is empty");
        check_error(HEX64, "the name looks like an image ID (64 hex digits); a repository name "
                           "cannot be one");
        check_error(HEX64 ":latest", "the name looks like an image ID (64 hex digits); a "
                                     "repository name cannot be one");
        /* With a domain, or at another length, hex is a fine name. */
        check_ok("example.com/" HEX64, "example.com/" HEX64 ":latest");
        check_ok("a" HEX64, "docker.io/library/a" HEX64 ":latest");
}

static void test_tags(void **state)
{
        char max[IMAGEREF_TAG_MAX + 1];
        char s[300], expected[300];

        (void)state;
        check_ok("a:_", "docker.io/library/a:_");
        check_ok("a:V1.2-rc_3", "docker.io/library/a:V1.2-rc_3");
        memset(max, 'T', IMAGEREF_TAG_MAX);
        max[IMAGEREF_TAG_MAX] = '\0';
        snprintf(s, sizeof(s), "a:%s", max);
        snprintf(expected, sizeof(expected), "docker.io/library/a:%s", max);
        struct imageref r = check_ok(s, expected);
        assert_int_equal(strlen(r.tag), IMAGEREF_TAG_MAX);
        snprintf(s, sizeof(s), "a:%sT", max);
        check_error(s, "the tag is 129 characters long, the limit is 128");

        check_error("a:", "the tag after ':' is empty");
        check_error("a:-x", "the tag must start with a letter, digit or '_' (is the port or the "
                            "path wrong?)");
        check_error("a:.x", "the tag must start with a letter, digit or '_' (is the port or the "
                            "path wrong?)");
        check_error("a:x+y", "the tag may only hold letters, digits, '_', '.' and '-'");
        check_error("a:b:c", "repository name may only hold lowercase letters, digits, '.', '_', "
                             "'__', '-' and '/'");
        check_error("a:b/c", "domain 'a:b': the port must be decimal digits");
        /* Without a '/', "localhost:5000" is the name localhost with tag 5000. */
        r = check_ok("localhost:5000", "docker.io/library/localhost:5000");
        assert_string_equal(r.tag, "5000");
}

static void test_digests(void **state)
{
        (void)state;
        struct imageref r = check_ok("host:5000/a/b@sha256:" HEX64, "host:5000/a/b@sha256:" HEX64);
        assert_string_equal(r.digest, "sha256:" HEX64);
        check_ok("a@sha512:" HEX128, "docker.io/library/a@sha512:" HEX128);

        check_error("a@sha256:" HEX64 "0", "a sha256 digest has 64 hex digits, this one has 65");
        check_error("a@sha256:abc", "a sha256 digest has 64 hex digits, this one has 3");
        check_error("a@sha256:", "a sha256 digest has 64 hex digits, this one has 0");
        check_error("a@sha512:" HEX64, "a sha512 digest has 128 hex digits, this one has 64");
        check_error("a@sha256:"
                    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                    "the sha256 digest must be lowercase hex");
        check_error("a@sha256:"
                    "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    "the sha256 digest may only hold hex digits after ':'");
        check_error("a@sha256:" HEX64 "@x", "the sha256 digest may only hold hex digits after ':'");
        check_error("a@md5:0123456789abcdef0123456789abcdef",
                    "digest algorithm 'md5' is not supported (use sha256 or sha512)");
        check_error("a@multihash+base58:" HEX64,
                    "digest algorithm 'multihash+base58' is not supported (use sha256 or sha512)");
        check_error("a@" HEX64, "the digest after '@' must be <algorithm>:<hex>, e.g. sha256:<64 "
                                "hex digits>");
        check_error("a@:" HEX64, "the digest algorithm is malformed");
        check_error("a@1sha:" HEX64, "the digest algorithm is malformed");
        check_error("a@sha-:" HEX64, "the digest algorithm is malformed");
        check_error("a@", "the digest after '@' must be <algorithm>:<hex>, e.g. sha256:<64 hex "
                          "digits>");
}

static void test_name_length(void **state)
{
        char s[400], expected[500];

        (void)state;
        /* example.com/ is 12 bytes: a path of 243 makes exactly 255. */
        memset(s, 0, sizeof(s));
        strcpy(s, "example.com/");
        memset(s + 12, 'a', 243);
        snprintf(expected, sizeof(expected), "%s:latest", s);
        check_ok(s, expected);
        s[12 + 243] = 'a';
        check_error(s, "the repository name is 256 characters long when fully qualified, the "
                       "limit is 255");

        /* The limit applies to the normalized name: docker.io/library/ is 18. */
        memset(s, 0, sizeof(s));
        memset(s, 'b', 237);
        snprintf(expected, sizeof(expected), "docker.io/library/%s:latest", s);
        check_ok(s, expected);
        s[237] = 'b';
        check_error(s, "the repository name is 256 characters long when fully qualified, the "
                       "limit is 255");

        /* Hostile input is shown cut short and printable. */
        char big[2000];
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        struct imageref ref;
        char err[512];
        assert_int_equal(imageref_parse(big, &ref, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "AAA...': repository name must be lowercase"));
        assert_int_equal(imageref_parse("a\nb\x01'", &ref, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "invalid image reference 'a\\x0ab\\x01\\x27': repository name "
                                 "may only hold lowercase letters, digits, '.', '_', '__', '-' "
                                 "and '/'");
        /* A small or absent buffer is fine. */
        assert_int_equal(imageref_parse("A", &ref, err, 10), -EINVAL);
        assert_string_equal(err, "invalid i");
        assert_int_equal(imageref_parse("A", &ref, NULL, 0), -EINVAL);
}

static void test_formatting(void **state)
{
        char buf[IMAGEREF_STRING_MAX];

        (void)state;
        struct imageref r = parse_ok("quay.io/a/b:v1@sha256:" HEX64);
        assert_int_equal(imageref_format_name(&r, buf, sizeof(buf)), 11);
        assert_string_equal(buf, "quay.io/a/b");
        assert_true(imageref_format_tagged(&r, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, "quay.io/a/b:v1");
        assert_true(imageref_format_digested(&r, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, "quay.io/a/b@sha256:" HEX64);

        r = parse_ok("busybox");
        assert_int_equal(imageref_format_digested(&r, buf, sizeof(buf)), -ENOENT);
        assert_true(imageref_format_tagged(&r, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, "docker.io/library/busybox:latest");
        r = parse_ok("busybox@sha256:" HEX64);
        assert_int_equal(imageref_format_tagged(&r, buf, sizeof(buf)), -ENOENT);

        assert_int_equal(imageref_format(&r, buf, 10), -ENOBUFS);
        assert_int_equal(imageref_format_name(&r, buf, 25), -ENOBUFS);
        assert_int_equal(imageref_format_name(&r, buf, 26), 25);
}

static void test_validators(void **state)
{
        (void)state;
        assert_true(imageref_valid_domain("example.com", 11));
        assert_true(imageref_valid_domain("example.com:5000", 16));
        assert_true(imageref_valid_domain("[::1]:5", 7));
        assert_true(imageref_valid_domain("localhost", 9));
        assert_false(imageref_valid_domain("", 0));
        assert_false(imageref_valid_domain("a/b", 3));
        assert_false(imageref_valid_domain("*.example.com", 13));
        assert_true(imageref_is_domain("a.b", 3));
        assert_true(imageref_is_domain("a:1", 3));
        assert_true(imageref_is_domain("localhost", 9));
        assert_true(imageref_is_domain("Registry", 8));
        assert_false(imageref_is_domain("registry", 8));
        assert_false(imageref_is_domain("localhos", 8));
        assert_true(imageref_valid_path("a/b-c/d__e", 10));
        assert_false(imageref_valid_path("a/B", 3));
        assert_false(imageref_valid_path("", 0));
        assert_false(imageref_valid_path("a/", 2));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_normalization),   cmocka_unit_test(test_domains),
            cmocka_unit_test(test_path_components), cmocka_unit_test(test_tags),
            cmocka_unit_test(test_digests),         cmocka_unit_test(test_name_length),
            cmocka_unit_test(test_formatting),      cmocka_unit_test(test_validators),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
