/* test_ctrcheck.c: unit tests for privhelper/ctrcheck.h: a full container
 * request accepted, then one field at a time broken, each refusal with
 * -EINVAL and a reason that names the field and its index; the path and id
 * predicates on their own; and the reason's bounds (64 bytes of a value at
 * most, plain text, any buffer size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "privhelper/ctrcheck.h"
#include "proto/helper.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const denied[] = {"/var/lib/brig", "/run/brig", "/etc/brig"};
static const struct ctrcheck_roots roots = {denied, 3, "/var/log/pods"};

/* A request with every field set and valid, in storage the tests break
 * one field of. */
struct req {
        const char *args[2], *env[3], *layers[2], *volumes[1], *cap_add[2], *cap_drop[1];
        struct ctr_mount mounts[3];
        struct ctr_device devices[2];
        struct ctr_hugepage hugepages[1];
        struct ctr_unified unified[2];
        struct ctr_spec s;
};

static struct req *req_new(void)
{
        static struct req r;

        r = (struct req){
            .args = {"/bin/sh", ""},
            .env = {"PATH=/usr/bin", "EMPTY=", "A==b"},
            .layers = {"sha256:" HEX64, "sha256:" HEX64},
            .volumes = {"/data"},
            .cap_add = {"CAP_NET_ADMIN", "sys_time"},
            .cap_drop = {"ALL"},
            .mounts =
                {
                    {"/etc/hosts", NULL, CTR_MOUNT_POD_HOSTS, CTR_M_READONLY},
                    {"/var/run/secrets", "/var/lib/kubelet/pods/x/volumes/secret", CTR_MOUNT_BIND,
                     CTR_M_READONLY | CTR_M_RECURSIVE_READONLY},
                    {"/host/log", "/var/log", CTR_MOUNT_BIND, CTR_M_PROPAGATION_RSLAVE},
                },
            .devices = {{"/dev/fuse", "/dev/fuse", NULL}, {"/dev/gpu0", "/dev/dri/card0", "rw"}},
            .hugepages = {{"2MB", 1 << 21}},
            .unified = {{"memory.high", "1073741824"}, {"io.max", "8:0 rbps=1048576"}},
        };
        r.s = (struct ctr_spec){
            .args = r.args,
            .n_args = 2,
            .env = r.env,
            .n_env = 3,
            .cwd = "/work",
            .flags = CTR_F_TTY | CTR_F_STDIN | CTR_F_STDIN_ONCE,
            .pid_mode = CTR_PID_TARGET,
            .pid_target = HEX64,
            .layers = r.layers,
            .n_layers = 2,
            .mounts = r.mounts,
            .n_mounts = 3,
            .volumes = r.volumes,
            .n_volumes = 1,
            .devices = r.devices,
            .n_devices = 2,
            .log_directory = "/var/log/pods/ns_pod_uid",
            .log_path = "app/0.log",
            .cgroup_parent = "kubepods-burstable-pod1.slice",
            .cpu_period = {true, 100000},
            .cpu_quota = {true, 50000},
            .cpu_shares = {true, 1024},
            .memory_limit = {true, 1 << 30},
            .memory_swap = {true, 1 << 30},
            .oom_score_adj = {true, -997},
            .pids_limit = {true, 100},
            .cpuset_cpus = "0-3,6",
            .cpuset_mems = "0",
            .hugepages = r.hugepages,
            .n_hugepages = 1,
            .unified = r.unified,
            .n_unified = 2,
            .cap_add = r.cap_add,
            .n_cap_add = 2,
            .cap_drop = r.cap_drop,
            .n_cap_drop = 1,
        };
        return &r;
}

/* A string of n copies of c after prefix, in one of a few static buffers. */
static const char *rep(const char *prefix, char c, size_t n)
{
        static char bufs[4][8192];
        static unsigned next;
        char *b = bufs[next++ % 4];
        size_t p = strlen(prefix);

        assert_true(p + n < sizeof(bufs[0]));
        memcpy(b, prefix, p);
        memset(b + p, c, n);
        b[p + n] = '\0';
        return b;
}

static void accepted_at(const struct ctr_spec *s, const char *file, int line)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        int r = ctrcheck_spec(s, &roots, reason, sizeof(reason));

        if (r != 0)
                fail_msg("%s:%d: refused (%d): %s", file, line, r, reason);
}

/* Refused with -EINVAL and a reason of plain text that contains want. */
static void refused_at(const struct ctr_spec *s, const char *want, const char *file, int line)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        int r = ctrcheck_spec(s, &roots, reason, sizeof(reason));

        if (r != -EINVAL)
                fail_msg("%s:%d: %d, not -EINVAL (wanted \"%s\")", file, line, r, want);
        if (!strstr(reason, want))
                fail_msg("%s:%d: reason \"%s\" does not say \"%s\"", file, line, reason, want);
        for (const char *c = reason; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                        fail_msg("%s:%d: reason has byte 0x%02x", file, line, (unsigned char)*c);
}

#define accepted(s)      accepted_at(s, __FILE__, __LINE__)
#define refused(s, want) refused_at(s, want, __FILE__, __LINE__)

static const char *const bad_paths[] = {
    "", "a", "a/b", "/a/../b", "/a/./b", "//a", "/a/", "/a//b", "/..", "/.", "/a/..", "/a/.", "./a",
};

/* ---- the predicates ------------------------------------------------------- */

static void test_abs_path(void **state)
{
        (void)state;
        assert_true(ctrcheck_abs_path("/"));
        assert_true(ctrcheck_abs_path("/a/b"));
        assert_true(ctrcheck_abs_path("/a/.b/..c/b../..."));
        assert_true(ctrcheck_abs_path(rep("/", 'a', CTRSPEC_MAX_PATH - 1)));
        assert_false(ctrcheck_abs_path(rep("/", 'a', CTRSPEC_MAX_PATH)));
        for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
                if (ctrcheck_abs_path(bad_paths[i]))
                        fail_msg("path \"%s\" accepted", bad_paths[i]);
}

static void test_id(void **state)
{
        (void)state;
        assert_true(ctrcheck_id(HEX64));
        assert_true(ctrcheck_id(rep("", 'f', 64)));
        assert_false(ctrcheck_id(""));
        assert_false(ctrcheck_id(rep("", 'a', 63)));
        assert_false(ctrcheck_id(rep("", 'a', 65)));
        assert_false(ctrcheck_id(rep("", 'g', 64)));
        assert_false(ctrcheck_id(rep("", 'A', 64)));
        assert_false(ctrcheck_id(rep("sha256:", 'a', 64)));
}

/* ---- whole requests ------------------------------------------------------- */

static void test_accepted(void **state)
{
        struct req *r = req_new();
        const char *args[] = {"x"}, *layers[] = {"sha256:" HEX64};
        struct ctr_spec minimal = {.args = args, .n_args = 1, .layers = layers, .n_layers = 1};

        (void)state;
        accepted(&r->s);
        /* only what the decoder requires, every optional field absent */
        accepted(&minimal);
        /* no reason buffer at all */
        assert_int_equal(ctrcheck_spec(&r->s, &roots, NULL, 0), 0);
}

static void test_args_env(void **state)
{
        struct req *r = req_new();

        (void)state;
        r->s.n_args = 0;
        refused(&r->s, "args: no program");
        r = req_new();
        r->args[0] = "";
        refused(&r->s, "args: no program");

        r = req_new();
        r->env[2] = "SECRET";
        refused(&r->s, "env 2: not NAME=value");
        r->env[2] = "=hunter2";
        refused(&r->s, "env 2: not NAME=value with a non-empty NAME");
        /* an env entry may be a secret: never quoted */
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        assert_int_equal(ctrcheck_spec(&r->s, &roots, reason, sizeof(reason)), -EINVAL);
        assert_null(strstr(reason, "hunter2"));
}

static void test_cwd_flags(void **state)
{
        struct req *r = req_new();

        (void)state;
        r->s.cwd = NULL;
        accepted(&r->s);
        r->s.cwd = "/";
        accepted(&r->s);
        for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
                r->s.cwd = bad_paths[i];
                refused(&r->s, "cwd \"");
        }

        r = req_new();
        r->s.flags = CTR_F_STDIN_ONCE;
        refused(&r->s, "flags: stdin_once without stdin");
        r->s.flags = CTR_F_STDIN_ONCE | CTR_F_TTY | CTR_F_PRIVILEGED;
        refused(&r->s, "flags: stdin_once without stdin");
        r->s.flags = CTR_F_STDIN;
        accepted(&r->s);
}

static void test_mount_paths(void **state)
{
        struct req *r = req_new();
        char want[64];

        (void)state;
        for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
                r = req_new();
                r->mounts[2].destination = bad_paths[i];
                snprintf(want, sizeof(want), "mount 2: destination \"%s\" is not", bad_paths[i]);
                refused(&r->s, want);
                r = req_new();
                r->mounts[1].source = bad_paths[i];
                snprintf(want, sizeof(want), "mount 1: source \"%s\" is not", bad_paths[i]);
                refused(&r->s, want);
        }
        /* the other kinds have no source to check */
        r = req_new();
        r->mounts[1] = (struct ctr_mount){"/dev/shm", NULL, CTR_MOUNT_POD_SHM, 0};
        accepted(&r->s);
        /* a destination is in the container: brig's roots are fine there */
        r->mounts[2].destination = "/var/lib/brig";
        accepted(&r->s);
}

static void test_mount_denied(void **state)
{
        static const char *const refused_sources[] = {
            "/var/lib/brig", "/var/lib/brig/x",       "/var/lib/brig/containers/a/b",
            "/run/brig",     "/run/brig/helper.sock", "/etc/brig",
        };
        static const char *const allowed_sources[] = {
            "/var/lib/brigx", "/var/lib/bri", "/run/brig-other", "/etc/brig.d",
            "/etc",           "/var",         "/var/lib",        "/run/brigd",
        };
        struct req *r = req_new();
        char want[128];

        (void)state;
        for (size_t i = 0; i < sizeof(refused_sources) / sizeof(refused_sources[0]); i++) {
                r->mounts[2].source = refused_sources[i];
                snprintf(want, sizeof(want), "mount 2: source \"%s\" is brig's own",
                         refused_sources[i]);
                refused(&r->s, want);
        }
        for (size_t i = 0; i < sizeof(allowed_sources) / sizeof(allowed_sources[0]); i++) {
                r->mounts[2].source = allowed_sources[i];
                accepted(&r->s);
        }
        r->mounts[2].source = "/";
        refused(&r->s, "mount 2: source \"/\" would give the container the host");
        /* normalisation comes first: no way round the roots by spelling */
        r->mounts[2].source = "/var/lib/x/../brig";
        refused(&r->s, "mount 2: source \"/var/lib/x/../brig\" is not");
        r->mounts[2].source = "/var/lib//brig";
        refused(&r->s, "mount 2: source");
}

static void test_mount_flags(void **state)
{
        static const uint32_t ok[] = {
            0,
            CTR_M_READONLY,
            CTR_M_READONLY | CTR_M_RECURSIVE_READONLY,
            CTR_M_PROPAGATION_RSLAVE,
            CTR_M_PROPAGATION_RSHARED | CTR_M_SELINUX_RELABEL,
        };
        struct req *r = req_new();

        (void)state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                r->mounts[2].flags = ok[i];
                accepted(&r->s);
        }
        r->mounts[2].flags = CTR_M_RECURSIVE_READONLY;
        refused(&r->s, "mount 2: flags: recursive read-only without read-only");
        r->mounts[2].flags = CTR_M_READONLY | CTR_M_PROPAGATION_RSLAVE | CTR_M_PROPAGATION_RSHARED;
        refused(&r->s, "mount 2: flags: more than one propagation");
        /* every kind, not BIND only */
        r = req_new();
        r->mounts[0].flags = CTR_M_RECURSIVE_READONLY;
        refused(&r->s, "mount 0: flags: recursive read-only");
}

static void test_volumes(void **state)
{
        struct req *r = req_new();

        (void)state;
        r->volumes[0] = "/";
        accepted(&r->s);
        for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
                r->volumes[0] = bad_paths[i];
                refused(&r->s, "volume 0: \"");
        }
}

static void test_devices(void **state)
{
        static const char *const bad_hosts[] = {
            "/dev",     "/dev/",      "/dev/../etc/shadow", "/devx/a", "/etc/shadow",
            "dev/null", "/dev//null", "/dev/./null",        "/",
        };
        static const char *const perms_ok[] = {"r", "w", "m", "rw", "mr", "rwm", "mwr"};
        static const char *const perms_bad[] = {"", "rr", "x", "rwmr", "R", "rw ", "rwx"};
        struct req *r = req_new();

        (void)state;
        for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
                r = req_new();
                r->devices[1].container_path = bad_paths[i];
                refused(&r->s, "device 1: container path \"");
        }
        r = req_new();
        for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
                r->devices[1].host_path = bad_hosts[i];
                refused(&r->s, "device 1: host path \"");
        }
        r->devices[1].host_path = "/dev/null";
        for (size_t i = 0; i < sizeof(perms_ok) / sizeof(perms_ok[0]); i++) {
                r->devices[1].permissions = perms_ok[i];
                accepted(&r->s);
        }
        for (size_t i = 0; i < sizeof(perms_bad) / sizeof(perms_bad[0]); i++) {
                r->devices[1].permissions = perms_bad[i];
                refused(&r->s, "device 1: permissions \"");
        }
}

static void test_ids(void **state)
{
        static const char *const bad_layers[] = {
            HEX64,
            "sha256:",
            "sha256:" HEX64 "0",
            "sha512:" HEX64,
            "SHA256:" HEX64,
            "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        };
        struct req *r = req_new();

        (void)state;
        for (size_t i = 0; i < sizeof(bad_layers) / sizeof(bad_layers[0]); i++) {
                r->layers[1] = bad_layers[i];
                refused(&r->s, "layer 1: \"");
        }
        r = req_new();
        r->s.pid_target = "sha256:" HEX64;
        refused(&r->s, "pid_target \"sha256:");
        r->s.pid_target = rep("", 'a', 63);
        refused(&r->s, "pid_target");
        r->s.pid_target = NULL;
        r->s.pid_mode = CTR_PID_POD;
        accepted(&r->s);
}

static void test_cgroup_parent(void **state)
{
        static const char *const ok[] = {
            "/kubepods/burstable/pod0b5c1a3e",
            "/",
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
            "kubepods.slice",
            "a@b:c_d-e.f.slice",
            "-.slice",
            "/a@b:c",
        };
        static const char *const bad[] = {
            "kubepods", ".slice", "a/b.slice", "/a/../b",   "/a b",     "a\\x2d.slice", "",
            "/a/",      "//a",    "a.slice/",  "x.slice\n", "x.slicex", "x.SLICE",
        };
        struct req *r = req_new();

        (void)state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                r->s.cgroup_parent = ok[i];
                accepted(&r->s);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                r->s.cgroup_parent = bad[i];
                refused(&r->s, "cgroup_parent \"");
        }
        r->s.cgroup_parent = NULL;
        accepted(&r->s);
}

static void test_log(void **state)
{
        static const char *const bad_dirs[] = {
            "/var/log/pods",      "/var/log/podsx/a", "/var/log",         "/var/log/pods/../x",
            "/var/log/pods/a/..", "var/log/pods/a",   "/var/log/pods//a", "/var/log/pods/a/",
        };
        static const char *const bad_paths_rel[] = {
            "/abs", "a/../b", "../x", "..", ".", "a//b", "a/", "./a", "",
        };
        struct req *r = req_new();

        (void)state;
        r->s.log_directory = "/var/log/pods/a/b";
        r->s.log_path = "0.log";
        accepted(&r->s);
        r->s.log_directory = NULL;
        r->s.log_path = NULL;
        accepted(&r->s);
        r->s.log_directory = "/var/log/pods/a";
        refused(&r->s, "log_directory and log_path: one is set without the other");
        r->s.log_directory = NULL;
        r->s.log_path = "0.log";
        refused(&r->s, "log_directory and log_path");

        r = req_new();
        for (size_t i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++) {
                r->s.log_directory = bad_dirs[i];
                refused(&r->s, "log_directory \"");
        }
        r = req_new();
        for (size_t i = 0; i < sizeof(bad_paths_rel) / sizeof(bad_paths_rel[0]); i++) {
                r->s.log_path = bad_paths_rel[i];
                refused(&r->s, "log_path \"");
        }
}

static void test_hugepages_unified(void **state)
{
        static const char *const sizes_ok[] = {"2MB", "1GB", "64KB", "0002MB"};
        static const char *const sizes_bad[] = {"MB", "2mb",  "2TB", "2 MB", "2MBx",
                                                "",   "-2MB", "2",   "2M"};
        static const char *const keys_bad[] = {"memory",      "Memory.high",  "../x.y", "a/b.c",
                                               ".",           "..",           ".a",     "",
                                               "memory-high", "memory.high\n"};
        static const char *const values_bad[] = {"a\nb", "\x7f", "caf\xc3\xa9", "\t1"};
        struct req *r = req_new();

        (void)state;
        for (size_t i = 0; i < sizeof(sizes_ok) / sizeof(sizes_ok[0]); i++) {
                r->hugepages[0].page_size = sizes_ok[i];
                accepted(&r->s);
        }
        for (size_t i = 0; i < sizeof(sizes_bad) / sizeof(sizes_bad[0]); i++) {
                r->hugepages[0].page_size = sizes_bad[i];
                refused(&r->s, "hugepage 0: page size \"");
        }
        r = req_new();
        r->unified[1].key = "cgroup.procs";
        refused(&r->s, "unified 1: key \"cgroup.procs\"");
        r->unified[1].key = "hugetlb.2MB.max";
        refused(&r->s, "unified 1: key \"hugetlb.2MB.max\"");
        r->unified[1].key = "memory.swap.max";
        r->unified[1].value = "";
        accepted(&r->s);
        for (size_t i = 0; i < sizeof(keys_bad) / sizeof(keys_bad[0]); i++) {
                r->unified[1].key = keys_bad[i];
                refused(&r->s, "unified 1: key \"");
        }
        r = req_new();
        for (size_t i = 0; i < sizeof(values_bad) / sizeof(values_bad[0]); i++) {
                r->unified[1].value = values_bad[i];
                refused(&r->s, "unified 1: the value is not printable ASCII");
        }
}

static void test_capabilities(void **state)
{
        /* checked as given, not looked up: "cap" and "ALL_" are names too */
        const char *ok[] = {"CAP_NET_ADMIN", "net_admin", "cap_sys_time",   "Cap_Chown",
                            "ALL",           "all",       "CAP_ALL",        "cap",
                            "ALL_",          "_",         rep("", 'A', 32), rep("CAP_", 'A', 32)};
        const char *bad[] = {
            "CAP_",  "",    "CAP_NET-ADMIN", "NET ADMIN",      "CAP_SYS_ADMIN\n",
            "CAP_1", "C@P", "cap_",          rep("", 'A', 33), rep("CAP_", 'A', 33)};
        struct req *r = req_new();

        (void)state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                r->cap_add[1] = ok[i];
                r->cap_drop[0] = ok[i];
                accepted(&r->s);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                r = req_new();
                r->cap_add[1] = bad[i];
                refused(&r->s, "cap_add 1: \"");
                r = req_new();
                r->cap_drop[0] = bad[i];
                refused(&r->s, "cap_drop 0: \"");
        }
}

static void test_cpusets(void **state)
{
        struct req *r = req_new();

        (void)state;
        r->s.cpuset_cpus = "";
        r->s.cpuset_mems = "0-1,3";
        accepted(&r->s);
        r->s.cpuset_cpus = "0 1";
        refused(&r->s, "cpuset_cpus \"0 1\"");
        r->s.cpuset_cpus = "0-3";
        r->s.cpuset_mems = "0\n1";
        refused(&r->s, "cpuset_mems \"0?1\"");
        r->s.cpuset_mems = "a";
        refused(&r->s, "cpuset_mems");
}

static void test_integers(void **state)
{
        struct req *r = req_new();

        (void)state;
        /* memory_swap */
        r->s.memory_swap.v = (1 << 30) - 1;
        refused(&r->s, "memory_swap 1073741823 is below memory_limit 1073741824");
        r->s.memory_swap.v = -2;
        refused(&r->s, "memory_swap -2 is below");
        r->s.memory_swap.v = -1;
        accepted(&r->s);
        r->s.memory_swap.v = 1 << 30;
        accepted(&r->s);
        r->s.memory_swap.v = 0; /* CRI's unset */
        accepted(&r->s);
        r->s.memory_swap = (struct ctr_opt_i64){true, 1};
        r->s.memory_limit = (struct ctr_opt_i64){false, 1 << 30};
        accepted(&r->s);
        r->s.memory_limit = (struct ctr_opt_i64){true, 0};
        accepted(&r->s);

        /* oom_score_adj: 0 is a value, not unset */
        static const int64_t oom_ok[] = {-1000, 0, 1000}, oom_bad[] = {-1001, 1001, INT64_MIN};
        r = req_new();
        for (size_t i = 0; i < 3; i++) {
                r->s.oom_score_adj.v = oom_ok[i];
                accepted(&r->s);
                r->s.oom_score_adj.v = oom_bad[i];
                refused(&r->s, "oom_score_adj");
        }
        r->s.oom_score_adj = (struct ctr_opt_i64){false, 5000};
        accepted(&r->s);

        static const int64_t shares_ok[] = {2, 262144, 0}, shares_bad[] = {1, 262145, -1};
        r = req_new();
        for (size_t i = 0; i < 3; i++) {
                r->s.cpu_shares.v = shares_ok[i];
                accepted(&r->s);
                r->s.cpu_shares.v = shares_bad[i];
                refused(&r->s, "cpu_shares");
        }
        r->s.cpu_shares = (struct ctr_opt_i64){false, 1};
        accepted(&r->s);

        static const int64_t period_ok[] = {1000, 1000000, 0}, period_bad[] = {999, 1000001, -1};
        r = req_new();
        for (size_t i = 0; i < 3; i++) {
                r->s.cpu_period.v = period_ok[i];
                accepted(&r->s);
                r->s.cpu_period.v = period_bad[i];
                refused(&r->s, "cpu_period");
        }
        r->s.cpu_period = (struct ctr_opt_i64){false, 1};
        accepted(&r->s);
}

/* ---- the reason ----------------------------------------------------------- */

/* A long value shows as its first 64 bytes, whichever field holds it. */
static void test_reason_long_values(void **state)
{
        char reason[8192], want[80];
        struct req *r = req_new();
        /* bad for every field below: relative, with a ".." and a '/' */
        const char *bad = rep("a/../", 'a', 4000 - 5);
        const char **fields[] = {
            &r->s.cwd,           &r->mounts[2].destination,
            &r->volumes[0],      &r->devices[0].host_path,
            &r->layers[0],       &r->s.pid_target,
            &r->s.log_directory, &r->s.log_path,
            &r->s.cgroup_parent, &r->unified[0].key,
            &r->cap_drop[0],     &r->hugepages[0].page_size,
            &r->s.cpuset_cpus,   &r->mounts[1].source,
        };

        (void)state;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                /* req_new() refills the one static request the pointers are into */
                r = req_new();
                *fields[i] = bad;
                snprintf(want, sizeof(want), "\"%.64s\"", bad);
                assert_int_equal(ctrcheck_spec(&r->s, &roots, reason, sizeof(reason)), -EINVAL);
                if (!strstr(reason, want) || strlen(reason) >= 64 + 100)
                        fail_msg("field %zu: reason of %zu bytes: %s", i, strlen(reason), reason);
        }
        /* a path that is fine but for brig's roots */
        r = req_new();
        r->mounts[1].source = rep("/var/lib/brig/", 'a', 4000 - 14);
        snprintf(want, sizeof(want), "\"%.64s\"", r->mounts[1].source);
        assert_int_equal(ctrcheck_spec(&r->s, &roots, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, want));
        assert_true(strlen(reason) < 64 + 100);
}

static void test_reason_buffer(void **state)
{
        char reason[8];
        struct req *r = req_new();

        (void)state;
        /* a path may hold any byte but '/' and NUL in a component, a reason
         * only plain text */
        r->s.cwd = "/a\n\x1b[31m/\xff";
        accepted(&r->s);
        r->s.cwd = "a\n\x1b[31m/\xff";
        refused(&r->s, "cwd \"a??[31m/?\"");

        memset(reason, 'X', sizeof(reason));
        assert_int_equal(ctrcheck_spec(&r->s, &roots, reason, sizeof(reason)), -EINVAL);
        assert_int_equal(strlen(reason), sizeof(reason) - 1);
        assert_int_equal(ctrcheck_spec(&r->s, &roots, NULL, 0), -EINVAL);
        reason[0] = 'X';
        assert_int_equal(ctrcheck_spec(&r->s, &roots, reason, 1), -EINVAL);
        assert_int_equal(reason[0], '\0');
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_abs_path),      cmocka_unit_test(test_id),
            cmocka_unit_test(test_accepted),      cmocka_unit_test(test_args_env),
            cmocka_unit_test(test_cwd_flags),     cmocka_unit_test(test_mount_paths),
            cmocka_unit_test(test_mount_denied),  cmocka_unit_test(test_mount_flags),
            cmocka_unit_test(test_volumes),       cmocka_unit_test(test_devices),
            cmocka_unit_test(test_ids),           cmocka_unit_test(test_cgroup_parent),
            cmocka_unit_test(test_log),           cmocka_unit_test(test_hugepages_unified),
            cmocka_unit_test(test_capabilities),  cmocka_unit_test(test_cpusets),
            cmocka_unit_test(test_integers),      cmocka_unit_test(test_reason_long_values),
            cmocka_unit_test(test_reason_buffer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
