/* test_cgroup_path.c: unit tests for daemon/cgroup_path.h: systemd slice
 * expansion and the cgroup_parent rules of both drivers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "daemon/cgroup_path.h"

static void expands(const char *slice, const char *want)
{
        char out[CGROUP_PATH_MAX];

        assert_int_equal(cgroup_systemd_expand(slice, out, sizeof(out)), 0);
        assert_string_equal(out, want);
}

static void test_slice_expansion(void **state)
{
        (void)state;
        expands("-.slice", "/");
        expands("kubepods.slice", "/kubepods.slice");
        expands("kubepods-burstable.slice", "/kubepods.slice/kubepods-burstable.slice");
        expands("kubepods-burstable-pod1a2b_3c4d.slice",
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b_3c4d.slice");
        expands("a-b-c-d.slice", "/a.slice/a-b.slice/a-b-c.slice/a-b-c-d.slice");
        expands("user\\x2dx.slice", "/user\\x2dx.slice");
}

static void test_bad_slices(void **state)
{
        static const char *const bad[] = {
            "",
            ".slice",
            "kubepods",
            "kubepods.service",
            "-kubepods.slice",
            "kubepods-.slice",
            "a--b.slice",
            "a/b.slice",
            "../x.slice",
            "a b.slice",
            "a\n.slice",
            "--.slice",
        };
        char out[CGROUP_PATH_MAX];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cgroup_systemd_expand(bad[i], out, sizeof(out)), -EINVAL);
        assert_int_equal(cgroup_systemd_expand("a-b.slice", out, 12), -ENAMETOOLONG);
}

static void resolves(enum cgroup_manager m, const char *parent, const char *want)
{
        char out[CGROUP_PATH_MAX], err[256] = "";

        assert_int_equal(cgroup_parent_resolve(m, parent, out, sizeof(out), err, sizeof(err)), 0);
        assert_string_equal(out, want);
}

static void refused(enum cgroup_manager m, const char *parent, const char *needle)
{
        char out[CGROUP_PATH_MAX], err[256] = "";

        assert_int_equal(cgroup_parent_resolve(m, parent, out, sizeof(out), err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, needle));
}

static void test_parents(void **state)
{
        (void)state;
        resolves(CGROUP_MANAGER_CGROUPFS, "/kubepods/burstable/pod1", "/kubepods/burstable/pod1");
        resolves(CGROUP_MANAGER_CGROUPFS, "/", "/");
        resolves(CGROUP_MANAGER_CGROUPFS, "", CGROUP_DEFAULT_CGROUPFS);
        resolves(CGROUP_MANAGER_SYSTEMD, "kubepods-besteffort.slice",
                 "/kubepods.slice/kubepods-besteffort.slice");
        resolves(CGROUP_MANAGER_SYSTEMD, "", "/brig.slice");

        refused(CGROUP_MANAGER_CGROUPFS, "kubepods/pod1", "absolute");
        refused(CGROUP_MANAGER_CGROUPFS, "kubepods-besteffort.slice", "cgroupDriver");
        refused(CGROUP_MANAGER_CGROUPFS, "/kubepods/../../etc", "'..'");
        refused(CGROUP_MANAGER_CGROUPFS, "/kubepods/./x", "'.'");
        refused(CGROUP_MANAGER_CGROUPFS, "/kubepods//x", "empty");
        refused(CGROUP_MANAGER_CGROUPFS, "/..", "'..'");
        refused(CGROUP_MANAGER_SYSTEMD, "/kubepods/burstable", "systemd slice name");
        refused(CGROUP_MANAGER_SYSTEMD, "../x.slice", "systemd slice name");

        char long_path[CGROUP_PATH_MAX + 1];
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = '\0';
        refused(CGROUP_MANAGER_CGROUPFS, long_path, "bytes long");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_slice_expansion),
            cmocka_unit_test(test_bad_slices),
            cmocka_unit_test(test_parents),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
