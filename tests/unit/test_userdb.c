/* test_userdb.c: unit tests for privhelper/userdb.h: the precedence of CRI's
 * fields over the image's User, names and numbers in each position, the
 * additional gid list, each refusal with its errno and message (numbers out
 * of uid_t's range are refused, never truncated), run_as_non_root, and the
 * file reading: symlinks resolved inside the container's root, a FIFO and a
 * directory refused, a 1 GiB file refused without being read. */
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
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "privhelper/userdb.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1::/:/sbin/nologin\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                             "bob:x:1001:100::/home/bob:/bin/sh\n"
                             "# a comment:x:5:5:::\n"
                             "\n"
                             "+nis::::::\n"
                             "broken:x:12:\n"
                             "badnum:x:1x:1:::\n"
                             "big:x:4294967295:1:::\n"
                             "wrap:x:4294967296:1:::\n"
                             "neg:x:-1:1:::\n"
                             "extra:x:5:5::::\n"
                             ":x:6:6:::\n"
                             "nul\0x:x:7:7:::\n"
                             "  indented:x:1200:1200:::\n"
                             "dup:x:1300:1300:::\n"
                             "dup:x:1301:1301:::\n"
                             "last:x:1400:1400:::"; /* no final newline */

static const char group[] = "root:x:0:\n"
                            "wheel:x:10:alice,bob\n"
                            "users:x:100:\n"
                            "staff:x:50:carol,alice\n"
                            "media:x:1000:alice\n"
                            "broken:x:77\n"
                            "badgid:x:4294967295:alice\n"
                            "video:x:44:bob,alice,\n"
                            "audio:x:29:alicex,xalice, alice\n";

static struct ctr_spec spec;

static int setup(void **state)
{
        (void)state;
        memset(&spec, 0, sizeof(spec));
        return 0;
}

static void resolves(const char *pw, size_t pw_len, uint32_t uid, uint32_t gid,
                     const uint32_t *want_gids, size_t n)
{
        struct resolved_user u;
        char err[512] = "";
        int r =
            userdb_resolve_from(pw, pw_len, group, sizeof(group) - 1, &spec, &u, err, sizeof(err));

        if (r != 0)
                fail_msg("resolution failed (%d): %s", r, err);
        assert_int_equal(u.uid, uid);
        assert_int_equal(u.gid, gid);
        if (u.n_additional_gids != n)
                fail_msg("%zu additional gids, want %zu", u.n_additional_gids, n);
        for (size_t i = 0; i < n; i++)
                if (u.additional_gids[i] != want_gids[i])
                        fail_msg("additional gid %zu is %u, want %u", i, u.additional_gids[i],
                                 want_gids[i]);
        userdb_user_free(&u);
}

#define GIDS(...)               ((const uint32_t[]){__VA_ARGS__}), sizeof((const uint32_t[]){__VA_ARGS__}) / 4
#define RESOLVES(uid, gid, ...) resolves(passwd, sizeof(passwd) - 1, uid, gid, GIDS(__VA_ARGS__))

static void refused(int want, const char *want_msg)
{
        struct resolved_user u;
        char err[512] = "";

        memset(&u, 0x5a, sizeof(u));
        int r = userdb_resolve_from(passwd, sizeof(passwd) - 1, group, sizeof(group) - 1, &spec, &u,
                                    err, sizeof(err));
        if (r != want)
                fail_msg("want %d, got %d (%s)", want, r, err);
        if (!strstr(err, want_msg))
                fail_msg("message \"%s\" lacks \"%s\"", err, want_msg);
        for (size_t i = 0; i < sizeof(u); i++)
                assert_int_equal(((unsigned char *)&u)[i], 0x5a);
}

/* ---- resolution ------------------------------------------------------- */

static void test_image_user(void **state)
{
        (void)state;
        /* nothing named: uid 0, and root's own groups (none besides 0) */
        RESOLVES(0, 0, 0);
        spec.image_user = "";
        RESOLVES(0, 0, 0);
        /* a name: its passwd gid, then its groups ascending, 1000 once */
        spec.image_user = "alice";
        RESOLVES(1000, 1000, 1000, 10, 44, 50);
        /* the same user by uid */
        spec.image_user = "1000";
        RESOLVES(1000, 1000, 1000, 10, 44, 50);
        spec.image_user = "0001000";
        RESOLVES(1000, 1000, 1000, 10, 44, 50);
        spec.image_user = "bob";
        RESOLVES(1001, 100, 100, 10, 44);
        /* a uid not in passwd: gid 0, no groups */
        spec.image_user = "4242";
        RESOLVES(4242, 0, 0);
        spec.image_user = "4294967294";
        RESOLVES(4294967294u, 0, 0);
        /* group parts, by name and by number */
        spec.image_user = "alice:wheel";
        RESOLVES(1000, 10, 10, 44, 50, 1000);
        spec.image_user = "alice:777";
        RESOLVES(1000, 777, 777, 10, 44, 50, 1000);
        spec.image_user = "4242:4242";
        RESOLVES(4242, 4242, 4242);
        spec.image_user = "1001:users";
        RESOLVES(1001, 100, 100, 10, 44);
        spec.image_user = "4242:staff";
        RESOLVES(4242, 50, 50);
        /* blank-led lines are read as glibc reads them; the first entry wins */
        spec.image_user = "indented";
        RESOLVES(1200, 1200, 1200);
        spec.image_user = "dup";
        RESOLVES(1300, 1300, 1300);
        spec.image_user = "1301";
        RESOLVES(1301, 1301, 1301);
        spec.image_user = "last";
        RESOLVES(1400, 1400, 1400);
}

static void test_cri_user(void **state)
{
        (void)state;
        /* run_as_user beats the image's user, group part included */
        spec.image_user = "bob:wheel";
        spec.run_as_user = (struct ctr_opt_u64){true, 1000};
        RESOLVES(1000, 1000, 1000, 10, 44, 50);
        spec.run_as_user.v = 0;
        RESOLVES(0, 0, 0);
        spec.run_as_user.v = 5555;
        RESOLVES(5555, 0, 0);
        /* run_as_user beats run_as_username too */
        spec.run_as_username = "bob";
        spec.run_as_user.v = 1000;
        RESOLVES(1000, 1000, 1000, 10, 44, 50);
        spec.run_as_user.has = false;
        RESOLVES(1001, 100, 100, 10, 44);
        /* run_as_group overrides every other group */
        spec.run_as_group = (struct ctr_opt_u64){true, 5};
        RESOLVES(1001, 5, 5, 10, 44); /* 100 was only the passwd gid */
        spec.run_as_username = NULL;
        spec.image_user = "alice:wheel";
        RESOLVES(1000, 5, 5, 10, 44, 50, 1000);
        spec.image_user = NULL;
        RESOLVES(0, 5, 5);
        /* supplemental groups join in, sorted, deduplicated, primary once */
        uint64_t sup[] = {3, 10, 3, 5, 1000, 0};
        spec.supplemental_groups = sup;
        spec.n_supplemental_groups = 6;
        spec.image_user = "alice";
        RESOLVES(1000, 5, 5, 0, 3, 10, 44, 50, 1000);
        spec.run_as_group.has = false;
        RESOLVES(1000, 1000, 1000, 0, 3, 5, 10, 44, 50);
        /* an empty run_as_username is unset: the image's user counts */
        spec.run_as_username = "";
        RESOLVES(1000, 1000, 1000, 0, 3, 5, 10, 44, 50);
        /* a run_as_username is a whole name: a ':' is not a group part */
        spec.run_as_username = "alice:wheel";
        refused(-ENOENT, "run_as_username \"alice:wheel\": no such user");
}

static void test_refusals(void **state)
{
        (void)state;
        spec.image_user = "nobody";
        refused(-ENOENT, "image user \"nobody\": no such user in the container's /etc/passwd");
        spec.image_user = "alice:nogroup";
        refused(-ENOENT,
                "image user \"alice:nogroup\": no such group in the container's /etc/group");
        /* malformed lines are skipped, so their names are unknown */
        static const char *const skipped[] = {"broken", "badnum", "big",  "wrap",
                                              "neg",    "extra",  "nul",  "# a comment",
                                              " 0",     "0x0",    "root "};
        for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
                spec.image_user = skipped[i];
                refused(-ENOENT, "no such user");
        }
        spec.image_user = "alice:broken";
        refused(-ENOENT, "no such group");
        spec.image_user = "alice:badgid";
        refused(-ENOENT, "no such group");

        /* numbers: never truncated into range */
        spec.image_user = "4294967295";
        refused(-ERANGE, "image user \"4294967295\": uid 4294967295 is out of range");
        spec.image_user = "4294967296";
        refused(-ERANGE, "uid 4294967296 is out of range");
        spec.image_user = "18446744073709551616";
        refused(-ERANGE, "is out of range");
        spec.image_user = "99999999999999999999999999999999";
        refused(-ERANGE, "is out of range");
        spec.image_user = "alice:4294967295";
        refused(-ERANGE, "gid 4294967295 is out of range");
        spec.image_user = "0:4294967296";
        refused(-ERANGE, "gid 4294967296 is out of range");
        /* signs and empty parts */
        static const char *const malformed[] = {"-1",  "+0",     "+nis",     "-",
                                                ":10", "alice:", "alice:-1", "0:+5"};
        for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
                spec.image_user = malformed[i];
                refused(-EINVAL, "is neither a name nor a");
        }
        /* a spelling too long to be a name */
        char longname[200];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        spec.image_user = longname;
        refused(-EINVAL, "is too long");
        /* a name that is not printable is not echoed as is */
        spec.image_user = "ev\x1b[2Jil\"x";
        refused(-ENOENT, "image user \"ev?[2Jil?x\": no such user");

        /* CRI numbers */
        spec.image_user = NULL;
        spec.run_as_user = (struct ctr_opt_u64){true, 4294967295u};
        refused(-ERANGE, "run_as_user 4294967295 is out of range");
        spec.run_as_user.v = 4294967296u; /* would be 0 truncated */
        refused(-ERANGE, "run_as_user 4294967296 is out of range");
        spec.run_as_user.v = UINT64_MAX; /* would be -1 truncated */
        refused(-ERANGE, "run_as_user 18446744073709551615 is out of range");
        spec.run_as_user.v = 1000;
        spec.run_as_group = (struct ctr_opt_u64){true, 1ull << 32};
        refused(-ERANGE, "run_as_group 4294967296 is out of range");
        spec.run_as_group.has = false;
        uint64_t sup[] = {7, (1ull << 32) + 7};
        spec.supplemental_groups = sup;
        spec.n_supplemental_groups = 2;
        refused(-ERANGE, "supplemental group 4294967303 is out of range");
}

static void test_absent_files(void **state)
{
        struct resolved_user u;
        char err[512] = "";

        (void)state;
        spec.image_user = "1000:2000";
        assert_int_equal(userdb_resolve_from(NULL, 0, NULL, 0, &spec, &u, err, sizeof(err)), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 2000);
        assert_int_equal(u.n_additional_gids, 1);
        userdb_user_free(&u);
        spec.image_user = "alice";
        assert_int_equal(userdb_resolve_from(NULL, 0, NULL, 0, &spec, &u, err, sizeof(err)),
                         -ENOENT);
        assert_non_null(strstr(err, "no such user in the container's image (it has no "
                                    "/etc/passwd)"));
        spec.image_user = "0:wheel";
        assert_int_equal(
            userdb_resolve_from(passwd, sizeof(passwd) - 1, NULL, 0, &spec, &u, err, sizeof(err)),
            -ENOENT);
        assert_non_null(strstr(err, "(it has no /etc/group)"));
}

static void test_too_many_groups(void **state)
{
        struct resolved_user u;
        char err[512] = "";
        size_t cap = 70000 * 32, len = 0;
        char *big = malloc(cap);

        (void)state;
        assert_non_null(big);
        for (unsigned i = 0; i < 70000; i++)
                len += (size_t)snprintf(big + len, cap - len, "g%u:x:%u:alice\n", i, i + 2000);
        spec.image_user = "alice";
        int r =
            userdb_resolve_from(passwd, sizeof(passwd) - 1, big, len, &spec, &u, err, sizeof(err));
        free(big);
        assert_int_equal(r, -E2BIG);
        assert_non_null(strstr(err, "more than 65536 groups"));
}

static void test_non_root(void **state)
{
        struct resolved_user u;
        char err[512] = "";

        (void)state;
        spec.image_user = "root";
        assert_int_equal(userdb_resolve_from(passwd, sizeof(passwd) - 1, group, sizeof(group) - 1,
                                             &spec, &u, err, sizeof(err)),
                         0);
        assert_int_equal(userdb_check_non_root(&u, false, err, sizeof(err)), 0);
        assert_int_equal(userdb_check_non_root(&u, true, err, sizeof(err)), -EPERM);
        assert_string_equal(err, "image user \"root\" resolves to uid 0, but the container must "
                                 "run as non-root (run_as_non_root)");
        userdb_user_free(&u);

        spec.image_user = NULL;
        assert_int_equal(userdb_resolve_from(NULL, 0, NULL, 0, &spec, &u, err, sizeof(err)), 0);
        assert_int_equal(userdb_check_non_root(&u, true, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "the default user (the image names none) resolves to uid 0"));
        userdb_user_free(&u);

        spec.run_as_user = (struct ctr_opt_u64){true, 0};
        assert_int_equal(userdb_resolve_from(NULL, 0, NULL, 0, &spec, &u, err, sizeof(err)), 0);
        assert_int_equal(userdb_check_non_root(&u, true, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "run_as_user 0 resolves to uid 0"));
        userdb_user_free(&u);

        spec.run_as_user.has = false;
        spec.run_as_username = "daemon";
        assert_int_equal(
            userdb_resolve_from(passwd, sizeof(passwd) - 1, NULL, 0, &spec, &u, err, sizeof(err)),
            0);
        assert_int_equal(userdb_check_non_root(&u, true, err, sizeof(err)), 0);
        userdb_user_free(&u);
}

/* ---- reading the files ------------------------------------------------ */

static char tmp[64];
static int rootfd = -1;

static void put_file(const char *path, const char *content)
{
        int fd = openat(rootfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        close(fd);
}

static int setup_root(void **state)
{
        setup(state);
        snprintf(tmp, sizeof(tmp), "/tmp/test_userdb.XXXXXX");
        assert_non_null(mkdtemp(tmp));
        rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);
        assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
        return 0;
}

static int teardown_root(void **state)
{
        char cmd[128];

        (void)state;
        close(rootfd);
        rootfd = -1;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static int resolve_in_root(struct resolved_user *u, char *err, size_t err_size)
{
        err[0] = '\0';
        return userdb_resolve(rootfd, &spec, u, err, err_size);
}

static void test_files(void **state)
{
        struct resolved_user u;
        char err[512];

        (void)state;
        /* no etc/passwd nor etc/group: numbers only */
        spec.image_user = "123";
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), 0);
        assert_int_equal(u.uid, 123);
        userdb_user_free(&u);
        spec.image_user = "alice";
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "it has no /etc/passwd"));

        put_file("etc/passwd", "alice:x:1000:1000:::\n");
        put_file("etc/group", "wheel:x:10:alice\n");
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.n_additional_gids, 2);
        assert_int_equal(u.additional_gids[1], 10);
        userdb_user_free(&u);
}

/* An absolute symlink resolves inside the container's root, and so does
 * one that climbs out with "..": never the node's files. */
static void test_symlinks(void **state)
{
        struct resolved_user u;
        char err[512], host[96], target[256];

        (void)state;
        put_file("etc/passwd.real", "realuser:x:2000:2000:::\n");
        assert_int_equal(symlinkat("/etc/passwd.real", rootfd, "etc/passwd"), 0);
        spec.image_user = "realuser";
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), 0);
        assert_int_equal(u.uid, 2000);
        userdb_user_free(&u);

        /* a host file named by climbing out: resolves to <root>/<path>, absent */
        snprintf(host, sizeof(host), "%s.host", tmp);
        FILE *f = fopen(host, "w");
        assert_non_null(f);
        fputs("hostonly:x:3000:3000:::\n", f);
        fclose(f);
        snprintf(target, sizeof(target), "../../../../../../../..%s", host);
        assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
        assert_int_equal(symlinkat(target, rootfd, "etc/passwd"), 0);
        spec.image_user = "hostonly";
        int r = resolve_in_root(&u, err, sizeof(err));
        unlink(host);
        assert_int_equal(r, -ENOENT);
        assert_non_null(strstr(err, "no such user"));
        /* the same through an absolute link */
        assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
        assert_int_equal(symlinkat(host, rootfd, "etc/passwd"), 0);
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -ENOENT);

        /* "../../../../etc/passwd" from etc/ is etc/passwd itself: a loop */
        assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
        assert_int_equal(symlinkat("../../../../etc/passwd", rootfd, "etc/passwd"), 0);
        spec.image_user = "root";
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -ELOOP);
        assert_non_null(strstr(err, "cannot open the container's /etc/passwd"));
}

static void test_not_regular(void **state)
{
        struct resolved_user u;
        char err[512];

        (void)state;
        spec.image_user = "0";
        /* a FIFO: refused at once instead of blocking the helper */
        assert_int_equal(mkfifoat(rootfd, "etc/passwd", 0644), 0);
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "the container's /etc/passwd is not a regular file");
        assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);

        assert_int_equal(mkdirat(rootfd, "etc/group", 0755), 0);
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "the container's /etc/group is not a regular file");
        assert_int_equal(unlinkat(rootfd, "etc/group", AT_REMOVEDIR), 0);

        /* a device node is never opened (where the test may make one) */
        if (mknodat(rootfd, "etc/group", S_IFCHR | 0644, makedev(1, 3)) == 0) {
                assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -EINVAL);
                assert_string_equal(err, "the container's /etc/group is not a regular file");
                assert_int_equal(unlinkat(rootfd, "etc/group", 0), 0);
        }

        /* etc is a file: nothing below it, so absent */
        assert_int_equal(unlinkat(rootfd, "etc", AT_REMOVEDIR), 0);
        put_file("etc", "not a directory");
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), 0);
        userdb_user_free(&u);
        assert_int_equal(unlinkat(rootfd, "etc", 0), 0);
        assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
}

static void test_sizes(void **state)
{
        static const char entry[] = "\nlimit:x:4000:4000:::\n";
        struct resolved_user u;
        struct timespec t0, t1;
        char err[512];
        int fd;

        (void)state;
        /* 1 GiB (sparse): refused without reading it */
        fd = openat(rootfd, "etc/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 1l << 30), 0);
        close(fd);
        spec.image_user = "limit";
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -EFBIG);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_string_equal(err, "the container's /etc/passwd is larger than 4194304 bytes "
                                 "(1073741824)");
        assert_true(t1.tv_sec - t0.tv_sec < 2);

        /* exactly the limit is fine: NUL-filled lines are skipped, the last is read */
        fd = openat(rootfd, "etc/passwd", O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, USERDB_MAX_FILE - (sizeof(entry) - 1)), 0);
        assert_int_equal(
            pwrite(fd, entry, sizeof(entry) - 1, USERDB_MAX_FILE - (sizeof(entry) - 1)),
            (ssize_t)sizeof(entry) - 1);
        close(fd);
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), 0);
        assert_int_equal(u.uid, 4000);
        userdb_user_free(&u);

        /* one byte more is not */
        fd = openat(rootfd, "etc/passwd", O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_int_equal(write(fd, "\n", 1), 1);
        close(fd);
        assert_int_equal(resolve_in_root(&u, err, sizeof(err)), -EFBIG);
}

int main(void)
{
#define T(f)  cmocka_unit_test_setup(f, setup)
#define TR(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)
        const struct CMUnitTest tests[] = {
            T(test_image_user),      T(test_cri_user), T(test_refusals), T(test_absent_files),
            T(test_too_many_groups), T(test_non_root), TR(test_files),   TR(test_symlinks),
            TR(test_not_regular),    TR(test_sizes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
