/* test_ocispec.c: unit tests for privhelper/ocispec.h. Each config is read
 * back with jansson and checked field by field: the process, the root, the
 * standard mounts in their order and the caller's after them, namespaces,
 * devices and the device cgroup, resources, masked and read-only paths;
 * the privileged, read-only and tty variants; and each refusal with its
 * errno and a message naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privhelper/ocispec.h"

static const char *args[] = {"/bin/sh", "-c", "echo hi"};
static const char *env[] = {"PATH=/usr/bin:/bin", "EMPTY="};
static const uint32_t gids[] = {1000, 10, 20};
static const char *caps[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

static struct ctr_spec spec;
static struct oci_config_input in;

static int setup(void **state)
{
        (void)state;
        memset(&spec, 0, sizeof(spec));
        spec.args = args;
        spec.n_args = 3;
        spec.env = env;
        spec.n_env = 2;
        memset(&in, 0, sizeof(in));
        in.spec = &spec;
        in.user = (struct oci_process_user){1000, 1000, gids, 3};
        in.rootfs = "rootfs";
        in.hostname = "pod-host";
        in.pid = (struct oci_namespace){OCI_NS_NEW, NULL};
        in.net = (struct oci_namespace){OCI_NS_JOIN, "/run/brig/ns/net/abc"};
        in.ipc = (struct oci_namespace){OCI_NS_JOIN, "/run/brig/ns/ipc/abc"};
        in.uts = (struct oci_namespace){OCI_NS_JOIN, "/run/brig/ns/uts/abc"};
        in.cgroups_path = "/kubepods/besteffort/podabc/0123";
        in.caps = caps;
        in.n_caps = 3;
        return 0;
}

static json_t *write_ok(void)
{
        char err[512] = "", *doc = NULL;
        size_t len = 0;
        json_error_t jerr;
        int r = ocispec_write(&in, &doc, &len, err, sizeof(err));

        if (r != 0)
                fail_msg("ocispec_write failed (%d): %s", r, err);
        assert_int_equal(strlen(doc), len);
        json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                fail_msg("jansson refused the config: %s\n%s", jerr.text, doc);
        free(doc);
        return root;
}

static void write_fails(int want, const char *want_msg)
{
        char err[512] = "", *doc = NULL;
        size_t len = 0;
        int r = ocispec_write(&in, &doc, &len, err, sizeof(err));

        if (r != want)
                fail_msg("want %d, got %d (%s)", want, r, err);
        assert_null(doc);
        if (!strstr(err, want_msg))
                fail_msg("message \"%s\" lacks \"%s\"", err, want_msg);
}

/* The value at a dotted path ("process.user.uid", "linux.namespaces.2"). */
static json_t *at(json_t *v, const char *path)
{
        char buf[256], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save))
                v = json_is_array(v) ? json_array_get(v, strtoul(t, NULL, 10))
                                     : json_object_get(v, t);
        return v;
}

static const char *str_at(json_t *v, const char *path)
{
        json_t *s = at(v, path);

        if (!json_is_string(s))
                fail_msg("%s is not a string", path);
        return json_string_value(s);
}

static json_int_t int_at(json_t *v, const char *path)
{
        json_t *i = at(v, path);

        if (!json_is_integer(i))
                fail_msg("%s is not an integer", path);
        return json_integer_value(i);
}

static bool bool_at(json_t *v, const char *path)
{
        json_t *b = at(v, path);

        if (!json_is_boolean(b))
                fail_msg("%s is not a boolean", path);
        return json_is_true(b);
}

/* The string array at path equals want (NULL-terminated list). */
static void assert_strings(json_t *v, const char *path, const char *const *want)
{
        json_t *a = at(v, path);
        size_t n = 0;

        if (!json_is_array(a))
                fail_msg("%s is not an array", path);
        for (; want[n]; n++) {
                json_t *s = json_array_get(a, n);

                if (!json_is_string(s) || strcmp(json_string_value(s), want[n]) != 0)
                        fail_msg("%s[%zu] is not \"%s\"", path, n, want[n]);
        }
        if (json_array_size(a) != n)
                fail_msg("%s has %zu items, want %zu", path, json_array_size(a), n);
}

#define STRS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE      ((const char *const[]){NULL})

static void assert_mount(json_t *root, size_t i, const char *dest, const char *type,
                         const char *source, const char *const *options)
{
        char path[64];

        snprintf(path, sizeof(path), "mounts.%zu", i);
        json_t *m = at(root, path);
        assert_non_null(m);
        assert_string_equal(str_at(m, "destination"), dest);
        assert_string_equal(str_at(m, "type"), type);
        if (source)
                assert_string_equal(str_at(m, "source"), source);
        else
                assert_null(json_object_get(m, "source"));
        assert_strings(m, "options", options);
}

static const char *const masked[] = {"/proc/acpi",
                                     "/proc/asound",
                                     "/proc/kcore",
                                     "/proc/keys",
                                     "/proc/latency_stats",
                                     "/proc/timer_list",
                                     "/proc/timer_stats",
                                     "/proc/sched_debug",
                                     "/proc/scsi",
                                     "/sys/firmware",
                                     "/sys/devices/virtual/powercap",
                                     NULL};
static const char *const readonly[] = {"/proc/bus",           "/proc/fs", "/proc/irq", "/proc/sys",
                                       "/proc/sysrq-trigger", NULL};

/* ---- the default container -------------------------------------------- */

static void test_defaults(void **state)
{
        (void)state;
        json_t *r = write_ok();

        assert_string_equal(str_at(r, "ociVersion"), "1.0.2-dev");
        /* process */
        assert_false(bool_at(r, "process.terminal"));
        assert_int_equal(int_at(r, "process.user.uid"), 1000);
        assert_int_equal(int_at(r, "process.user.gid"), 1000);
        assert_int_equal(json_array_size(at(r, "process.user.additionalGids")), 3);
        assert_int_equal(int_at(r, "process.user.additionalGids.1"), 10);
        assert_int_equal(int_at(r, "process.user.additionalGids.2"), 20);
        assert_strings(r, "process.args", STRS("/bin/sh", "-c", "echo hi"));
        assert_strings(r, "process.env", STRS("PATH=/usr/bin:/bin", "EMPTY="));
        assert_string_equal(str_at(r, "process.cwd"), "/");
        const char *const *want_caps = STRS("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE");
        assert_strings(r, "process.capabilities.bounding", want_caps);
        assert_strings(r, "process.capabilities.effective", want_caps);
        assert_strings(r, "process.capabilities.permitted", want_caps);
        assert_strings(r, "process.capabilities.inheritable", NONE);
        assert_strings(r, "process.capabilities.ambient", NONE);
        assert_int_equal(json_array_size(at(r, "process.rlimits")), 1);
        assert_string_equal(str_at(r, "process.rlimits.0.type"), "RLIMIT_NOFILE");
        assert_int_equal(int_at(r, "process.rlimits.0.soft"), 1048576);
        assert_int_equal(int_at(r, "process.rlimits.0.hard"), 1048576);
        assert_true(bool_at(r, "process.noNewPrivileges"));
        assert_null(at(r, "process.oomScoreAdj"));
        /* root; no hostname: UTS is the pod's */
        assert_string_equal(str_at(r, "root.path"), "rootfs");
        assert_false(bool_at(r, "root.readonly"));
        assert_null(at(r, "hostname"));
        /* the standard mounts, in order */
        assert_int_equal(json_array_size(at(r, "mounts")), 7);
        assert_mount(r, 0, "/proc", "proc", "proc", STRS("nosuid", "noexec", "nodev"));
        assert_mount(r, 1, "/dev", "tmpfs", "tmpfs",
                     STRS("nosuid", "strictatime", "mode=755", "size=65536k"));
        assert_mount(
            r, 2, "/dev/pts", "devpts", "devpts",
            STRS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
        assert_mount(r, 3, "/dev/mqueue", "mqueue", "mqueue", STRS("nosuid", "noexec", "nodev"));
        assert_mount(r, 4, "/sys", "sysfs", "sysfs", STRS("nosuid", "noexec", "nodev", "ro"));
        assert_mount(r, 5, "/sys/fs/cgroup", "cgroup", "cgroup",
                     STRS("nosuid", "noexec", "nodev", "relatime", "ro"));
        assert_mount(r, 6, "/dev/shm", "tmpfs", "shm",
                     STRS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
        /* namespaces: pid new, the pod's network/ipc/uts, new mount and cgroup */
        json_t *ns = at(r, "linux.namespaces");
        assert_int_equal(json_array_size(ns), 6);
        assert_string_equal(str_at(ns, "0.type"), "pid");
        assert_null(at(ns, "0.path"));
        assert_string_equal(str_at(ns, "1.type"), "network");
        assert_string_equal(str_at(ns, "1.path"), "/run/brig/ns/net/abc");
        assert_string_equal(str_at(ns, "2.type"), "ipc");
        assert_string_equal(str_at(ns, "2.path"), "/run/brig/ns/ipc/abc");
        assert_string_equal(str_at(ns, "3.type"), "uts");
        assert_string_equal(str_at(ns, "3.path"), "/run/brig/ns/uts/abc");
        assert_string_equal(str_at(ns, "4.type"), "mount");
        assert_null(at(ns, "4.path"));
        assert_string_equal(str_at(ns, "5.type"), "cgroup");
        assert_null(at(r, "linux.uidMappings"));
        assert_int_equal(json_array_size(at(r, "linux.devices")), 0);
        /* device cgroup: deny all, then the standard character devices */
        json_t *d = at(r, "linux.resources.devices");
        assert_int_equal(json_array_size(d), 11);
        assert_false(bool_at(d, "0.allow"));
        assert_string_equal(str_at(d, "0.access"), "rwm");
        assert_null(at(d, "0.type"));
        static const int std[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}};
        for (size_t i = 0; i < 7; i++) {
                json_t *rule = json_array_get(d, i + 1);
                assert_true(bool_at(rule, "allow"));
                assert_string_equal(str_at(rule, "type"), "c");
                assert_int_equal(int_at(rule, "major"), std[i][0]);
                assert_int_equal(int_at(rule, "minor"), std[i][1]);
                assert_string_equal(str_at(rule, "access"), "rwm");
        }
        assert_int_equal(int_at(d, "8.major"), 136);
        assert_null(at(d, "8.minor"));
        assert_string_equal(str_at(d, "9.type"), "c");
        assert_null(at(d, "9.major"));
        assert_string_equal(str_at(d, "9.access"), "m");
        assert_string_equal(str_at(d, "10.type"), "b");
        assert_string_equal(str_at(d, "10.access"), "m");
        /* no limits were given */
        assert_null(at(r, "linux.resources.memory"));
        assert_null(at(r, "linux.resources.cpu"));
        assert_null(at(r, "linux.resources.pids"));
        assert_null(at(r, "linux.resources.hugepageLimits"));
        assert_null(at(r, "linux.resources.unified"));
        assert_string_equal(str_at(r, "linux.cgroupsPath"), "/kubepods/besteffort/podabc/0123");
        assert_null(at(r, "linux.rootfsPropagation"));
        assert_strings(r, "linux.maskedPaths", masked);
        assert_strings(r, "linux.readonlyPaths", readonly);
        json_decref(r);
}

static void test_flags(void **state)
{
        (void)state;
        spec.flags = CTR_F_TTY | CTR_F_READONLY_ROOTFS | CTR_F_ALLOW_PRIV_ESC;
        spec.cwd = "/work dir";
        spec.oom_score_adj = (struct ctr_opt_i64){true, -997};
        json_t *r = write_ok();
        assert_true(bool_at(r, "process.terminal"));
        assert_true(bool_at(r, "root.readonly"));
        assert_false(bool_at(r, "process.noNewPrivileges"));
        assert_string_equal(str_at(r, "process.cwd"), "/work dir");
        assert_int_equal(int_at(r, "process.oomScoreAdj"), -997);
        /* not privileged: /sys stays read-only, paths stay masked */
        assert_strings(at(r, "mounts.4"), "options", STRS("nosuid", "noexec", "nodev", "ro"));
        assert_strings(r, "linux.maskedPaths", masked);
        json_decref(r);

        spec.oom_score_adj = (struct ctr_opt_i64){true, 0};
        r = write_ok();
        assert_int_equal(int_at(r, "process.oomScoreAdj"), 0);
        json_decref(r);
}

static void test_privileged(void **state)
{
        (void)state;
        spec.flags = CTR_F_PRIVILEGED | CTR_F_ALLOW_PRIV_ESC;
        json_t *r = write_ok();
        assert_mount(r, 4, "/sys", "sysfs", "sysfs", STRS("nosuid", "noexec", "nodev", "rw"));
        assert_mount(r, 5, "/sys/fs/cgroup", "cgroup", "cgroup",
                     STRS("nosuid", "noexec", "nodev", "relatime", "rw"));
        assert_strings(r, "linux.maskedPaths", NONE);
        assert_strings(r, "linux.readonlyPaths", NONE);
        json_t *d = at(r, "linux.resources.devices");
        assert_int_equal(json_array_size(d), 1);
        assert_true(bool_at(d, "0.allow"));
        assert_string_equal(str_at(d, "0.access"), "rwm");
        assert_null(at(d, "0.type"));
        assert_null(at(d, "0.major"));
        json_decref(r);
}

/* ---- namespaces ------------------------------------------------------- */

static void test_namespaces(void **state)
{
        (void)state;
        /* the node's PID and network namespaces are left out; a new UTS
         * namespace gets the hostname */
        in.pid = (struct oci_namespace){OCI_NS_NODE, NULL};
        in.net = (struct oci_namespace){OCI_NS_NODE, NULL};
        in.uts = (struct oci_namespace){OCI_NS_NEW, NULL};
        json_t *r = write_ok();
        json_t *ns = at(r, "linux.namespaces");
        assert_int_equal(json_array_size(ns), 4);
        assert_string_equal(str_at(ns, "0.type"), "ipc");
        assert_string_equal(str_at(ns, "1.type"), "uts");
        assert_null(at(ns, "1.path"));
        assert_string_equal(str_at(ns, "2.type"), "mount");
        assert_string_equal(str_at(ns, "3.type"), "cgroup");
        assert_string_equal(str_at(r, "hostname"), "pod-host");
        json_decref(r);

        /* a pod's shared PID namespace is joined */
        in.pid = (struct oci_namespace){OCI_NS_JOIN, "/proc/4242/ns/pid"};
        in.hostname = NULL;
        r = write_ok();
        assert_string_equal(str_at(r, "linux.namespaces.0.type"), "pid");
        assert_string_equal(str_at(r, "linux.namespaces.0.path"), "/proc/4242/ns/pid");
        assert_null(at(r, "hostname"));
        json_decref(r);

        in.net = (struct oci_namespace){OCI_NS_JOIN, NULL};
        write_fails(-EINVAL, "the network namespace to join needs an absolute path");
        in.net = (struct oci_namespace){OCI_NS_JOIN, "run/ns"};
        write_fails(-EINVAL, "the network namespace to join needs an absolute path");
        in.net = (struct oci_namespace){OCI_NS_NEW, "/run/ns"};
        write_fails(-EINVAL, "the network namespace is new but has a path");
        in.net = (struct oci_namespace){OCI_NS_NODE, "/run/ns"};
        write_fails(-EINVAL, "the network namespace is the node's but has a path");
        in.net = (struct oci_namespace){(enum oci_ns_mode)7, NULL};
        write_fails(-EINVAL, "the network namespace has an unknown mode 7");
        in.net = (struct oci_namespace){OCI_NS_JOIN, "/run/\xff"};
        write_fails(-EILSEQ, "the network namespace path is not valid UTF-8");
}

/* ---- mounts ----------------------------------------------------------- */

static void test_mounts(void **state)
{
        (void)state;
        static const char *const o_vol[] = {"rbind", "rprivate", "ro"};
        static const char *const o_rro[] = {"rbind", "rro", "rslave"};
        static const char *const o_tmp[] = {"nosuid", "nodev", "mode=1777", "size=1m"};
        const struct oci_mount mounts[] = {
            {"/etc/hosts", "bind", "/run/brig/pods/abc/hosts", o_vol, 3},
            {"/data", "bind", "/var/lib/kubelet/pods/x/volumes/v", o_rro, 3},
            {"/scratch", "tmpfs", NULL, o_tmp, 4},
        };
        in.mounts = mounts;
        in.n_mounts = 3;
        in.shm_source = "/run/brig/pods/abc/shm";
        json_t *r = write_ok();
        assert_int_equal(json_array_size(at(r, "mounts")), 10);
        assert_mount(r, 6, "/dev/shm", "bind", "/run/brig/pods/abc/shm",
                     STRS("rbind", "rprivate", "nosuid", "noexec", "nodev"));
        assert_mount(r, 7, "/etc/hosts", "bind", "/run/brig/pods/abc/hosts",
                     STRS("rbind", "rprivate", "ro"));
        assert_mount(r, 8, "/data", "bind", "/var/lib/kubelet/pods/x/volumes/v",
                     STRS("rbind", "rro", "rslave"));
        assert_mount(r, 9, "/scratch", "tmpfs", NULL,
                     STRS("nosuid", "nodev", "mode=1777", "size=1m"));
        /* an rslave volume makes the root rslave too; rshared wins */
        assert_string_equal(str_at(r, "linux.rootfsPropagation"), "rslave");
        json_decref(r);

        static const char *const o_shared[] = {"rbind", "rshared"};
        const struct oci_mount shared[] = {mounts[1], {"/s", "bind", "/s", o_shared, 2}};
        in.mounts = shared;
        in.n_mounts = 2;
        r = write_ok();
        assert_string_equal(str_at(r, "linux.rootfsPropagation"), "rshared");
        json_decref(r);

        struct oci_mount m = {"/data", "bind", "/src", o_vol, 3};
        in.mounts = &m;
        in.n_mounts = 1;
        static const char *const bad_dest[] = {"data", "/", "/a/../etc", "/a/./b", "/..", ""};
        for (size_t i = 0; i < sizeof(bad_dest) / sizeof(bad_dest[0]); i++) {
                m.destination = bad_dest[i];
                write_fails(-EINVAL, "mounts[0]: the destination must be an absolute path");
        }
        m.destination = "/data";
        m.source = "relative";
        write_fails(-EINVAL, "mounts[0]: a bind mount needs an absolute source");
        m.source = NULL;
        write_fails(-EINVAL, "mounts[0]: a bind mount needs an absolute source");
        m.source = "/src";
        m.type = "Bind!";
        write_fails(-EINVAL, "mounts[0]: the type must be a file system name");
        m.type = "bind";
        static const char *const o_typo[] = {"rbind", "r0"};
        static const char *const o_data[] = {"rbind", "mode=0755,uid=0"};
        static const char *const o_remount[] = {"remount"};
        m.options = o_typo;
        m.n_options = 2;
        write_fails(-EINVAL, "mounts[0]: option 1 is not one runc applies");
        m.options = o_data;
        write_fails(-EINVAL, "mounts[0]: option 1 is not one runc applies");
        m.options = o_remount;
        m.n_options = 1;
        write_fails(-EINVAL, "mounts[0]: option 0 is not one runc applies");
        m.options = o_vol;
        m.n_options = 3;
        m.source = "/src\x80";
        write_fails(-EILSEQ, "mounts[0].source is not valid UTF-8");

        in.n_mounts = 0;
        in.shm_source = "shm";
        write_fails(-EINVAL, "the /dev/shm source must be an absolute path");
}

/* ---- devices ---------------------------------------------------------- */

static void test_devices(void **state)
{
        (void)state;
        struct oci_device devs[] = {
            {"/dev/fuse", 'c', 10, 229, 0666, 0, 0, NULL},
            {"/dev/xvdb", 'b', 202, 16, 0660, 0, 6, "rw"},
        };
        in.devices = devs;
        in.n_devices = 2;
        json_t *r = write_ok();
        json_t *d = at(r, "linux.devices");
        assert_int_equal(json_array_size(d), 2);
        assert_string_equal(str_at(d, "0.path"), "/dev/fuse");
        assert_string_equal(str_at(d, "0.type"), "c");
        assert_int_equal(int_at(d, "0.major"), 10);
        assert_int_equal(int_at(d, "0.minor"), 229);
        assert_int_equal(int_at(d, "0.fileMode"), 0666);
        assert_int_equal(int_at(d, "0.uid"), 0);
        assert_string_equal(str_at(d, "1.type"), "b");
        assert_int_equal(int_at(d, "1.gid"), 6);
        json_t *c = at(r, "linux.resources.devices");
        assert_int_equal(json_array_size(c), 13);
        assert_true(bool_at(c, "11.allow"));
        assert_string_equal(str_at(c, "11.type"), "c");
        assert_int_equal(int_at(c, "11.major"), 10);
        assert_int_equal(int_at(c, "11.minor"), 229);
        assert_string_equal(str_at(c, "11.access"), "rwm");
        assert_string_equal(str_at(c, "12.type"), "b");
        assert_int_equal(int_at(c, "12.minor"), 16);
        assert_string_equal(str_at(c, "12.access"), "rw");
        json_decref(r);

        in.n_devices = 1;
        devs[0].path = "dev/fuse";
        write_fails(-EINVAL, "devices[0]: the path must be absolute");
        devs[0].path = "/dev/fuse";
        devs[0].type = 'u';
        write_fails(-EINVAL, "devices[0]: the type must be 'c' or 'b'");
        devs[0].type = 'c';
        devs[0].major = 4096;
        write_fails(-ERANGE, "devices[0]: device number out of range");
        devs[0].major = -1;
        write_fails(-ERANGE, "devices[0]: device number out of range");
        devs[0].major = 10;
        devs[0].minor = 1048576;
        write_fails(-ERANGE, "devices[0]: device number out of range");
        devs[0].minor = 229;
        devs[0].file_mode = 020666;
        write_fails(-EINVAL, "devices[0]: the file mode has more than permission bits");
        devs[0].file_mode = 0666;
        static const char *const bad_access[] = {"", "rwx", "rr", "rwmr", "RWM"};
        for (size_t i = 0; i < sizeof(bad_access) / sizeof(bad_access[0]); i++) {
                devs[0].access = bad_access[i];
                write_fails(-EINVAL, "devices[0]: access must be letters of \"rwm\"");
        }
}

/* ---- resources -------------------------------------------------------- */

static void test_resources(void **state)
{
        (void)state;
        struct ctr_hugepage hp[] = {{"2MB", 1 << 30}, {"1GB", 0}};
        struct ctr_unified un[] = {{"memory.high", "1073741824"}, {"io.weight", "default 100"}};
        spec.memory_limit = (struct ctr_opt_i64){true, 268435456};
        spec.memory_swap = (struct ctr_opt_i64){true, 268435456};
        spec.cpu_shares = (struct ctr_opt_i64){true, 512};
        spec.cpu_quota = (struct ctr_opt_i64){true, 50000};
        spec.cpu_period = (struct ctr_opt_i64){true, 100000};
        spec.cpuset_cpus = "0-1,3";
        spec.cpuset_mems = "0";
        spec.pids_limit = (struct ctr_opt_i64){true, 1024};
        spec.hugepages = hp;
        spec.n_hugepages = 2;
        spec.unified = un;
        spec.n_unified = 2;
        json_t *r = write_ok();
        json_t *res = at(r, "linux.resources");
        assert_int_equal(int_at(res, "memory.limit"), 268435456);
        assert_int_equal(int_at(res, "memory.swap"), 268435456);
        assert_int_equal(int_at(res, "cpu.shares"), 512);
        assert_int_equal(int_at(res, "cpu.quota"), 50000);
        assert_int_equal(int_at(res, "cpu.period"), 100000);
        assert_string_equal(str_at(res, "cpu.cpus"), "0-1,3");
        assert_string_equal(str_at(res, "cpu.mems"), "0");
        assert_int_equal(int_at(res, "pids.limit"), 1024);
        assert_string_equal(str_at(res, "hugepageLimits.0.pageSize"), "2MB");
        assert_int_equal(int_at(res, "hugepageLimits.0.limit"), 1 << 30);
        assert_string_equal(str_at(res, "hugepageLimits.1.pageSize"), "1GB");
        /* keys hold a dot, so no dotted path here */
        json_t *unified = at(res, "unified");
        assert_string_equal(json_string_value(json_object_get(unified, "memory.high")),
                            "1073741824");
        assert_string_equal(json_string_value(json_object_get(unified, "io.weight")),
                            "default 100");
        json_decref(r);

        /* -1 is "unlimited" where runc knows it; 0 is CRI's "unset" */
        spec.memory_swap.v = -1;
        spec.cpu_quota.v = -1;
        spec.pids_limit.v = -1;
        spec.cpu_shares.v = 0;
        spec.cpu_period.v = 0;
        spec.memory_limit.v = 0;
        spec.cpuset_cpus = spec.cpuset_mems = NULL;
        r = write_ok();
        res = at(r, "linux.resources");
        assert_null(at(res, "memory.limit"));
        assert_int_equal(int_at(res, "memory.swap"), -1);
        assert_int_equal(int_at(res, "cpu.quota"), -1);
        assert_null(at(res, "cpu.shares"));
        assert_null(at(res, "cpu.period"));
        assert_int_equal(int_at(res, "pids.limit"), -1);
        json_decref(r);
}

static void test_resource_limits(void **state)
{
        (void)state;
        spec.cpu_shares = (struct ctr_opt_i64){true, 1};
        write_fails(-ERANGE, "cpu_shares 1 is outside 2..262144");
        spec.cpu_shares.v = 262145;
        write_fails(-ERANGE, "cpu_shares 262145 is outside 2..262144");
        spec.cpu_shares.v = 2;
        spec.cpu_period = (struct ctr_opt_i64){true, 999};
        write_fails(-ERANGE, "cpu_period 999 is outside 1000..1000000");
        spec.cpu_period.v = 1000001;
        write_fails(-ERANGE, "cpu_period 1000001");
        spec.cpu_period.v = 100000;
        spec.cpu_quota = (struct ctr_opt_i64){true, 999};
        write_fails(-ERANGE, "cpu_quota 999 is neither -1 nor at least 1000");
        spec.cpu_quota.v = -2;
        write_fails(-ERANGE, "cpu_quota -2");
        spec.cpu_quota.v = 1000;
        spec.memory_limit = (struct ctr_opt_i64){true, -1};
        write_fails(-ERANGE, "memory_limit -1 is negative");
        spec.memory_limit.v = 1 << 20;
        spec.memory_swap = (struct ctr_opt_i64){true, 1 << 19};
        write_fails(-ERANGE, "memory_swap 524288 needs a memory_limit no larger than it");
        spec.memory_swap.v = -5;
        write_fails(-ERANGE, "memory_swap -5 is neither -1 nor positive");
        spec.memory_limit.v = 0;
        spec.memory_swap.v = 1 << 20;
        write_fails(-ERANGE, "needs a memory_limit");
        spec.memory_limit.v = 1 << 20;
        spec.pids_limit = (struct ctr_opt_i64){true, -2};
        write_fails(-ERANGE, "pids_limit -2 is neither -1 nor positive");
        spec.pids_limit.v = 10;
        spec.oom_score_adj = (struct ctr_opt_i64){true, 1001};
        write_fails(-ERANGE, "oom_score_adj 1001 is outside -1000..1000");
        spec.oom_score_adj.v = -1001;
        write_fails(-ERANGE, "oom_score_adj -1001");
        spec.oom_score_adj.v = 1000;
        spec.cpuset_cpus = "0-3\n";
        write_fails(-EINVAL, "cpuset_cpus is not a CPU list");
        spec.cpuset_cpus = "";
        write_fails(-EINVAL, "cpuset_cpus is not a CPU list");
        spec.cpuset_cpus = "1";
        spec.cpuset_mems = "a";
        write_fails(-EINVAL, "cpuset_mems is not a node list");
        spec.cpuset_mems = NULL;

        struct ctr_hugepage hp = {"2M", 1};
        spec.hugepages = &hp;
        spec.n_hugepages = 1;
        write_fails(-EINVAL, "hugepages[0]: the page size is not like");
        hp.page_size = "MB";
        write_fails(-EINVAL, "hugepages[0]");
        hp.page_size = "2MB";

        struct ctr_unified un = {"cgroup.procs", "1"};
        spec.unified = &un;
        spec.n_unified = 1;
        write_fails(-EINVAL, "unified[0]: the key is not a controller file");
        static const char *const bad_keys[] = {"memory",
                                               ".high",
                                               "memory.",
                                               "../x.y",
                                               "memory/high.x",
                                               "Memory.high",
                                               "cgroup.subtree_control"};
        for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
                un.key = bad_keys[i];
                write_fails(-EINVAL, "unified[0]: the key is not a controller file");
        }
        struct ctr_unified twice[] = {
            {"memory.max", "1"}, {"memory.high", "1"}, {"memory.max", "2"}};
        spec.unified = twice;
        spec.n_unified = 3;
        write_fails(-EINVAL, "unified[2]: the key repeats unified[0]");
        spec.unified = &un;
        spec.n_unified = 1;
        un.key = "memory.max";
        un.value = "1\n2";
        write_fails(-EINVAL, "unified[0]: the value is not printable ASCII");
        un.value = "max";
        json_t *r = write_ok();
        json_decref(r);
}

/* ---- strings, capabilities, rlimits ----------------------------------- */

static void test_strings(void **state)
{
        (void)state;
        const char *odd[] = {"/bin/echo", "quote\" back\\ tab\t nl\n bell\x07",
                             "caf\xc3\xa9 \xf0\x9f\x90\xb3", ""};
        const char *odd_env[] = {"A=\"x\"\n", "B=\xe2\x82\xac"};
        spec.args = odd;
        spec.n_args = 4;
        spec.env = odd_env;
        json_t *r = write_ok();
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(json_string_value(json_array_get(at(r, "process.args"), i)),
                                    odd[i]);
        assert_string_equal(str_at(r, "process.env.0"), odd_env[0]);
        assert_string_equal(str_at(r, "process.env.1"), odd_env[1]);
        json_decref(r);

        odd[2] = "bad \xc3";
        write_fails(-EILSEQ, "args[2] is not valid UTF-8");
        odd[2] = "ok";
        odd_env[1] = "B=\xff";
        write_fails(-EILSEQ, "env[1] is not valid UTF-8");
        odd_env[1] = "NOVALUE";
        write_fails(-EINVAL, "env[1] is not NAME=value");
        odd_env[1] = "=x";
        write_fails(-EINVAL, "env[1] is not NAME=value");
        odd_env[1] = "B=";

        spec.cwd = "relative";
        write_fails(-EINVAL, "the working directory must be an absolute path");
        spec.cwd = "/\xed\xa0\x80";
        write_fails(-EILSEQ, "the working directory is not valid UTF-8");
        spec.cwd = NULL;
        spec.n_args = 0;
        write_fails(-EINVAL, "the container has no command");
        spec.n_args = 1;
        odd[0] = "";
        write_fails(-EINVAL, "the container has no command");
        odd[0] = "/bin/echo";

        in.user.uid = UINT32_MAX;
        write_fails(-ERANGE, "uid or gid 4294967295 is not a valid id");
        in.user.uid = 0;
        in.user.gid = UINT32_MAX;
        write_fails(-ERANGE, "uid or gid 4294967295 is not a valid id");
        in.user.gid = 0;
        static const uint32_t bad_gids[] = {5, UINT32_MAX};
        in.user.additional_gids = bad_gids;
        in.user.n_additional_gids = 2;
        write_fails(-ERANGE, "additional gid 1 is 4294967295");
        in.user.n_additional_gids = 0;

        in.rootfs = "";
        write_fails(-EINVAL, "the root path is empty");
        in.rootfs = "rootfs";
        in.cgroups_path = NULL;
        write_fails(-EINVAL, "the cgroups path is empty");
        in.cgroups_path = "brig.slice:brig:abc";
        in.spec = NULL;
        write_fails(-EINVAL, "no container spec");
        in.spec = &spec;
        in.uts = (struct oci_namespace){OCI_NS_NEW, NULL};
        in.hostname = "h\xff";
        write_fails(-EILSEQ, "the hostname is not valid UTF-8");
}

static void test_caps_rlimits(void **state)
{
        (void)state;
        in.n_caps = 0;
        json_t *r = write_ok();
        assert_strings(r, "process.capabilities.bounding", NONE);
        assert_strings(r, "process.capabilities.effective", NONE);
        json_decref(r);

        const char *bad_caps[] = {"CAP_CHOWN", "chown"};
        in.caps = bad_caps;
        in.n_caps = 2;
        write_fails(-EINVAL, "capability 1 is not a CAP_ name");
        bad_caps[1] = "CAP_";
        write_fails(-EINVAL, "capability 1 is not a CAP_ name");
        bad_caps[1] = "CAP_SYS ADMIN";
        write_fails(-EINVAL, "capability 1 is not a CAP_ name");
        in.n_caps = 1;

        struct oci_rlimit rl[] = {{"RLIMIT_NOFILE", 1024, 4096}, {"RLIMIT_CORE", 0, 0}};
        in.rlimits = rl;
        in.n_rlimits = 2;
        r = write_ok();
        assert_int_equal(json_array_size(at(r, "process.rlimits")), 2);
        assert_int_equal(int_at(r, "process.rlimits.0.soft"), 1024);
        assert_int_equal(int_at(r, "process.rlimits.0.hard"), 4096);
        assert_string_equal(str_at(r, "process.rlimits.1.type"), "RLIMIT_CORE");
        json_decref(r);

        rl[1].soft = 1;
        write_fails(-EINVAL, "rlimits[1] (RLIMIT_CORE): soft limit above the hard one");
        rl[1].soft = 0;
        rl[1].type = "RLIMIT_BOGUS";
        write_fails(-EINVAL, "rlimits[1]: unknown type");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
        const struct CMUnitTest tests[] = {
            T(test_defaults), T(test_flags),        T(test_privileged), T(test_namespaces),
            T(test_mounts),   T(test_devices),      T(test_resources),  T(test_resource_limits),
            T(test_strings),  T(test_caps_rlimits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
