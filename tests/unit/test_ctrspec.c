/* test_ctrspec.c: unit tests for common/ctrspec.h: a full spec through
 * encode and decode, the exact bytes of a small one, and every refusal of
 * the decoder (unknown tag, wrong type, repeated single field, missing or
 * too many elements, bad nested record, flag and enum ranges, truncation,
 * trailing bytes, size) and of the encoder (counts, lengths, total size),
 * each with its errno and a reason naming the element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctrspec.h"
#include "daemon/ctrspec_encode.h"
#include "tlv.h"

/* ---- a raw stream builder, for inputs the encoder never makes ---------- */

struct raw {
        uint8_t *buf;
        size_t len, cap;
};

static void raw_put(struct raw *w, uint16_t tag, uint16_t type, const void *v, size_t len)
{
        if (w->len + BRIG_TLV_HDR_SIZE + len > w->cap) {
                w->cap = (w->len + BRIG_TLV_HDR_SIZE + len) * 2;
                w->buf = realloc(w->buf, w->cap);
                assert_non_null(w->buf);
        }
        tlv_le16_encode(w->buf + w->len, tag);
        tlv_le16_encode(w->buf + w->len + 2, type);
        tlv_le32_encode(w->buf + w->len + 4, (uint32_t)len);
        if (len)
                memcpy(w->buf + w->len + BRIG_TLV_HDR_SIZE, v, len);
        w->len += BRIG_TLV_HDR_SIZE + len;
}

static void raw_str(struct raw *w, uint16_t tag, const char *s)
{
        raw_put(w, tag, BRIG_TLV_STRING, s, strlen(s) + 1);
}

static void raw_u32(struct raw *w, uint16_t tag, uint32_t v)
{
        uint8_t b[4];

        tlv_le32_encode(b, v);
        raw_put(w, tag, BRIG_TLV_U32, b, 4);
}

static void raw_u64(struct raw *w, uint16_t tag, uint64_t v)
{
        uint8_t b[8];

        tlv_le64_encode(b, v);
        raw_put(w, tag, BRIG_TLV_U64, b, 8);
}

/* Appends rec as a nested record and empties it. */
static void raw_rec(struct raw *w, uint16_t tag, struct raw *rec)
{
        raw_put(w, tag, BRIG_TLV_BYTES, rec->buf, rec->len);
        free(rec->buf);
        *rec = (struct raw){0};
}

/* The smallest valid spec: one ARG, one LAYER. */
static struct raw minimal(void)
{
        struct raw w = {0};

        raw_str(&w, CTR_TAG_ARG, "/bin/sh");
        raw_str(&w, CTR_TAG_LAYER, "sha256:aa");
        return w;
}

static void decodes(struct raw *w)
{
        char err[256] = "";
        struct ctr_spec s;
        int r = ctrspec_decode(w->buf, w->len, &s, err, sizeof(err));

        if (r != 0)
                fail_msg("refused (%d): %s", r, err);
        ctrspec_free(&s);
        free(w->buf);
}

/* Decodes w, expects errno r and a reason holding want; frees w. */
static void refused(struct raw *w, int r, const char *want)
{
        char err[256] = "";
        struct ctr_spec s;
        int got = ctrspec_decode(w->buf, w->len, &s, err, sizeof(err));

        if (got == 0)
                fail_msg("accepted, expected \"%s\"", want);
        if (got != r || !strstr(err, want))
                fail_msg("refused with %d \"%s\", expected %d \"%s\"", got, err, r, want);
        assert_null(s.storage);
        assert_null(s.args);
        free(w->buf);
}

/* ---- a full spec -------------------------------------------------------- */

static const char *args[] = {"/bin/app", "--flag", ""};
static const char *env[] = {"PATH=/usr/bin", "HOSTNAME=pod", "EMPTY="};
static uint64_t groups[] = {10, 0, UINT64_MAX};
static const char *layers[] = {"sha256:1111", "sha256:2222"};
static const struct ctr_mount mounts[] = {
    {"/data", "/var/lib/data", CTR_MOUNT_BIND,
     CTR_M_READONLY | CTR_M_RECURSIVE_READONLY | CTR_M_PROPAGATION_RSLAVE},
    {"/etc/hosts", NULL, CTR_MOUNT_POD_HOSTS, 0},
    {"/dev/shm", NULL, CTR_MOUNT_POD_SHM, CTR_M_SELINUX_RELABEL},
    {"/shared", "/mnt/shared", CTR_MOUNT_BIND, CTR_M_PROPAGATION_RSHARED},
};
static const char *volumes[] = {"/var/cache"};
static const struct ctr_device devices[] = {
    {"/dev/fuse", "/dev/fuse", "rwm"},
    {"/dev/null2", "/dev/null", NULL},
};
static const struct ctr_hugepage hugepages[] = {{"2MB", 1 << 21}, {"1GB", 0}};
static const struct ctr_unified unified[] = {{"memory.high", "1000000"}, {"io.weight", "10"}};
static const char *cap_add[] = {"CAP_NET_ADMIN", "CAP_SYS_TIME"};
static const char *cap_drop[] = {"ALL"};

static struct ctr_spec full_spec(void)
{
        return (struct ctr_spec){
            .args = args,
            .n_args = 3,
            .env = env,
            .n_env = 3,
            .cwd = "/work",
            .flags = CTR_F_ALL,
            .run_as_user = {true, 1000},
            .run_as_username = "app",
            .run_as_group = {true, 0},
            .image_user = "1000:1000",
            .supplemental_groups = groups,
            .n_supplemental_groups = 3,
            .pid_mode = CTR_PID_TARGET,
            .pid_target = "0123456789abcdef",
            .layers = layers,
            .n_layers = 2,
            .mounts = (struct ctr_mount *)mounts,
            .n_mounts = 4,
            .volumes = volumes,
            .n_volumes = 1,
            .devices = (struct ctr_device *)devices,
            .n_devices = 2,
            .log_directory = "/var/log/pods/x",
            .log_path = "app/0.log",
            .cgroup_parent = "kubepods.slice",
            .hostname = "pod",
            .cpu_period = {true, 100000},
            .cpu_quota = {true, -1},
            .cpu_shares = {true, 2},
            .memory_limit = {true, INT64_MAX},
            .memory_swap = {true, -1},
            .oom_score_adj = {true, -999},
            .pids_limit = {true, 0},
            .cpuset_cpus = "0-3",
            .cpuset_mems = "0",
            .hugepages = (struct ctr_hugepage *)hugepages,
            .n_hugepages = 2,
            .unified = (struct ctr_unified *)unified,
            .n_unified = 2,
            .cap_add = cap_add,
            .n_cap_add = 2,
            .cap_drop = cap_drop,
            .n_cap_drop = 1,
        };
}

static void assert_str(const char *a, const char *b)
{
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

static void assert_strv(const char *const *a, size_t na, const char *const *b, size_t nb)
{
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++)
                assert_string_equal(a[i], b[i]);
}

static void test_roundtrip_full(void **state)
{
        struct ctr_spec in = full_spec(), out;
        char err[256] = "";
        uint8_t *buf;
        size_t len;

        (void)state;
        assert_int_equal(ctrspec_encode(&in, &buf, &len, err, sizeof(err)), 0);
        assert_int_equal(ctrspec_decode(buf, len, &out, err, sizeof(err)), 0);
        /* the decoded strings do not point into the caller's buffer */
        memset(buf, 0, len);
        free(buf);

        assert_non_null(out.storage);
        assert_strv(out.args, out.n_args, in.args, in.n_args);
        assert_strv(out.env, out.n_env, in.env, in.n_env);
        assert_str(out.cwd, in.cwd);
        assert_int_equal(out.flags, in.flags);
        assert_true(out.run_as_user.has && out.run_as_user.v == 1000);
        assert_str(out.run_as_username, "app");
        assert_true(out.run_as_group.has && out.run_as_group.v == 0);
        assert_str(out.image_user, "1000:1000");
        assert_int_equal(out.n_supplemental_groups, 3);
        assert_memory_equal(out.supplemental_groups, groups, sizeof(groups));
        assert_int_equal(out.pid_mode, CTR_PID_TARGET);
        assert_str(out.pid_target, in.pid_target);
        assert_strv(out.layers, out.n_layers, in.layers, in.n_layers);
        assert_int_equal(out.n_mounts, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_str(out.mounts[i].destination, mounts[i].destination);
                assert_str(out.mounts[i].source, mounts[i].source);
                assert_int_equal(out.mounts[i].kind, mounts[i].kind);
                assert_int_equal(out.mounts[i].flags, mounts[i].flags);
        }
        assert_strv(out.volumes, out.n_volumes, in.volumes, in.n_volumes);
        assert_int_equal(out.n_devices, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_str(out.devices[i].container_path, devices[i].container_path);
                assert_str(out.devices[i].host_path, devices[i].host_path);
                assert_str(out.devices[i].permissions, devices[i].permissions);
        }
        assert_str(out.log_directory, in.log_directory);
        assert_str(out.log_path, in.log_path);
        assert_str(out.cgroup_parent, in.cgroup_parent);
        assert_str(out.hostname, in.hostname);
        assert_true(out.cpu_period.has && out.cpu_period.v == 100000);
        assert_true(out.cpu_quota.has && out.cpu_quota.v == -1);
        assert_true(out.cpu_shares.has && out.cpu_shares.v == 2);
        assert_true(out.memory_limit.has && out.memory_limit.v == INT64_MAX);
        assert_true(out.memory_swap.has && out.memory_swap.v == -1);
        assert_true(out.oom_score_adj.has && out.oom_score_adj.v == -999);
        assert_true(out.pids_limit.has && out.pids_limit.v == 0);
        assert_str(out.cpuset_cpus, "0-3");
        assert_str(out.cpuset_mems, "0");
        assert_int_equal(out.n_hugepages, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_str(out.hugepages[i].page_size, hugepages[i].page_size);
                assert_true(out.hugepages[i].limit == hugepages[i].limit);
        }
        assert_int_equal(out.n_unified, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_str(out.unified[i].key, unified[i].key);
                assert_str(out.unified[i].value, unified[i].value);
        }
        assert_strv(out.cap_add, out.n_cap_add, in.cap_add, in.n_cap_add);
        assert_strv(out.cap_drop, out.n_cap_drop, in.cap_drop, in.n_cap_drop);

        ctrspec_free(&out);
        assert_null(out.storage);
        assert_null(out.args);
        assert_int_equal(out.n_args, 0);
}

/* Absent optional fields stay absent, and defaults are not written. */
static void test_roundtrip_minimal(void **state)
{
        const char *a[] = {"x"}, *l[] = {"y"};
        struct ctr_spec in = {.args = a, .n_args = 1, .layers = l, .n_layers = 1}, out;
        static const uint8_t want[] = {
            1,  0, 3, 0, 2, 0, 0, 0, 'x', 0, /* ARG "x" */
            12, 0, 3, 0, 2, 0, 0, 0, 'y', 0, /* LAYER "y" */
        };
        char err[256] = "";
        uint8_t *buf;
        size_t len;

        (void)state;
        assert_int_equal(ctrspec_encode(&in, &buf, &len, err, sizeof(err)), 0);
        assert_int_equal(len, sizeof(want));
        assert_memory_equal(buf, want, sizeof(want));
        assert_int_equal(ctrspec_decode(buf, len, &out, err, sizeof(err)), 0);
        free(buf);
        assert_null(out.cwd);
        assert_int_equal(out.flags, 0);
        assert_false(out.run_as_user.has);
        assert_false(out.oom_score_adj.has);
        assert_int_equal(out.pid_mode, CTR_PID_CONTAINER);
        assert_null(out.env);
        assert_int_equal(out.n_env, 0);
        assert_null(out.mounts);
        ctrspec_free(&out);
}

/* A mount without KIND is BIND; elements may come in any order. */
static void test_decode_defaults_and_order(void **state)
{
        struct raw w = {0}, m = {0};
        struct ctr_spec s;
        char err[256] = "";

        (void)state;
        raw_str(&m, CTR_TAG_M_SOURCE, "/src");
        raw_str(&m, CTR_TAG_M_DESTINATION, "/dst");
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        raw_str(&w, CTR_TAG_LAYER, "l");
        raw_u32(&w, CTR_TAG_FLAGS, 0);
        raw_str(&w, CTR_TAG_ARG, "a");
        raw_str(&w, CTR_TAG_ARG, "b");
        assert_int_equal(ctrspec_decode(w.buf, w.len, &s, err, sizeof(err)), 0);
        assert_int_equal(s.n_mounts, 1);
        assert_int_equal(s.mounts[0].kind, CTR_MOUNT_BIND);
        assert_string_equal(s.mounts[0].source, "/src");
        assert_int_equal(s.n_args, 2);
        assert_string_equal(s.args[1], "b");
        ctrspec_free(&s);
        free(w.buf);
}

/* ---- decoder refusals --------------------------------------------------- */

static void test_refuse_unknown_tag(void **state)
{
        struct raw w = minimal(), m = {0};

        (void)state;
        raw_u32(&w, 99, 0);
        refused(&w, -EINVAL, "unknown tag 99 in a spec");

        /* a nested tag at the top level, and a top tag inside a record */
        w = minimal();
        raw_str(&w, CTR_TAG_M_DESTINATION, "/x");
        refused(&w, -EINVAL, "unknown tag 64 in a spec");
        w = minimal();
        raw_str(&m, CTR_TAG_M_DESTINATION, "/x");
        raw_str(&m, CTR_TAG_M_SOURCE, "/y");
        raw_str(&m, CTR_TAG_ARG, "z");
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        refused(&w, -EINVAL, "MOUNT 1: unknown tag 1 in a MOUNT");
}

static void test_refuse_wrong_type(void **state)
{
        struct raw w = minimal();

        (void)state;
        raw_u64(&w, CTR_TAG_FLAGS, 1);
        refused(&w, -EINVAL, "FLAGS: type U64, expected U32");
        w = minimal();
        raw_u32(&w, CTR_TAG_ENV, 1);
        refused(&w, -EINVAL, "ENV: type U32, expected STRING");
        w = minimal();
        raw_str(&w, CTR_TAG_MOUNT, "/x");
        refused(&w, -EINVAL, "MOUNT: type STRING, expected BYTES");
        w = minimal();
        raw_put(&w, CTR_TAG_CWD, 77, "/\0", 2);
        refused(&w, -EINVAL, "CWD: type unknown, expected STRING");
        /* the type's own rules */
        w = minimal();
        raw_put(&w, CTR_TAG_FLAGS, BRIG_TLV_U32, "\1\0\0", 3);
        refused(&w, -EINVAL, "FLAGS 1: U32 value must be 4 bytes");
        w = minimal();
        raw_put(&w, CTR_TAG_ENV, BRIG_TLV_STRING, "A=b\0c", 6);
        refused(&w, -EINVAL, "ENV 1: STRING value has an embedded NUL");
        w = minimal();
        raw_put(&w, CTR_TAG_ENV, BRIG_TLV_STRING, "A=b", 3);
        refused(&w, -EINVAL, "ENV 1: STRING value lacks its final NUL");
        w = minimal();
        raw_put(&w, CTR_TAG_ENV, BRIG_TLV_STRING, "", 0);
        refused(&w, -EINVAL, "ENV 1: STRING value is empty");
}

static void test_refuse_duplicate_single(void **state)
{
        static const uint16_t str_tags[] = {
            CTR_TAG_CWD,           CTR_TAG_RUN_AS_USERNAME, CTR_TAG_IMAGE_USER,
            CTR_TAG_LOG_DIRECTORY, CTR_TAG_LOG_PATH,        CTR_TAG_CGROUP_PARENT,
            CTR_TAG_CPUSET_CPUS,   CTR_TAG_CPUSET_MEMS,     CTR_TAG_HOSTNAME};
        static const uint16_t u64_tags[] = {
            CTR_TAG_RUN_AS_USER, CTR_TAG_RUN_AS_GROUP,  CTR_TAG_CPU_PERIOD,
            CTR_TAG_CPU_QUOTA,   CTR_TAG_CPU_SHARES,    CTR_TAG_MEMORY_LIMIT,
            CTR_TAG_MEMORY_SWAP, CTR_TAG_OOM_SCORE_ADJ, CTR_TAG_PIDS_LIMIT};
        struct raw w, m = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(str_tags) / sizeof(str_tags[0]); i++) {
                w = minimal();
                raw_str(&w, str_tags[i], "/a");
                raw_str(&w, str_tags[i], "/a");
                refused(&w, -EINVAL, ": more than once");
        }
        for (size_t i = 0; i < sizeof(u64_tags) / sizeof(u64_tags[0]); i++) {
                w = minimal();
                raw_u64(&w, u64_tags[i], 1);
                raw_u64(&w, u64_tags[i], 1);
                refused(&w, -EINVAL, ": more than once");
        }
        w = minimal();
        raw_u32(&w, CTR_TAG_FLAGS, 1);
        raw_u32(&w, CTR_TAG_FLAGS, 1);
        refused(&w, -EINVAL, "FLAGS: more than once");
        w = minimal();
        raw_u32(&w, CTR_TAG_PID_MODE, CTR_PID_TARGET);
        raw_str(&w, CTR_TAG_PID_TARGET, "c");
        raw_str(&w, CTR_TAG_PID_TARGET, "c");
        refused(&w, -EINVAL, "PID_TARGET: more than once");

        w = minimal();
        raw_str(&m, CTR_TAG_M_DESTINATION, "/x");
        raw_str(&m, CTR_TAG_M_DESTINATION, "/y");
        raw_str(&m, CTR_TAG_M_SOURCE, "/z");
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        refused(&w, -EINVAL, "MOUNT 1: DESTINATION: more than once");
}

static void test_refuse_missing(void **state)
{
        struct raw w = {0};

        (void)state;
        refused(&w, -EINVAL, "ARG: missing (at least 1)");
        raw_str(&w, CTR_TAG_LAYER, "l");
        refused(&w, -EINVAL, "ARG: missing (at least 1)");
        w = (struct raw){0};
        raw_str(&w, CTR_TAG_ARG, "a");
        refused(&w, -EINVAL, "LAYER: missing (at least 1)");
}

static void test_refuse_bad_records(void **state)
{
        struct raw w, m = {0};

        (void)state;
        w = minimal();
        raw_str(&m, CTR_TAG_M_SOURCE, "/s");
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        refused(&w, -EINVAL, "MOUNT 1: DESTINATION: missing");
        /* the second record is the bad one */
        w = minimal();
        raw_str(&m, CTR_TAG_M_DESTINATION, "/d");
        raw_str(&m, CTR_TAG_M_SOURCE, "/s");
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        raw_str(&m, CTR_TAG_M_DESTINATION, "/d");
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        refused(&w, -EINVAL, "MOUNT 2: SOURCE: a BIND mount needs one");
        w = minimal();
        raw_str(&m, CTR_TAG_M_DESTINATION, "/etc/hosts");
        raw_str(&m, CTR_TAG_M_SOURCE, "/etc/passwd");
        raw_u32(&m, CTR_TAG_M_KIND, CTR_MOUNT_POD_HOSTS);
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        refused(&w, -EINVAL, "MOUNT 1: SOURCE: a BIND mount needs one, other kinds take none");
        w = minimal();
        raw_str(&m, CTR_TAG_M_DESTINATION, "/d");
        raw_u32(&m, CTR_TAG_M_KIND, 5);
        raw_rec(&w, CTR_TAG_MOUNT, &m);
        refused(&w, -EINVAL, "MOUNT 1: KIND: 5 is not a mount kind");
        w = minimal();
        raw_put(&w, CTR_TAG_MOUNT, BRIG_TLV_BYTES, "\x40\0\3\0\5\0", 6);
        refused(&w, -EBADMSG, "MOUNT 1: element at byte 0 of the MOUNT: truncated element header");
        w = minimal();
        raw_put(&w, CTR_TAG_MOUNT, BRIG_TLV_BYTES, "", 0);
        refused(&w, -EINVAL, "MOUNT 1: DESTINATION: missing");

        w = minimal();
        raw_str(&m, CTR_TAG_D_CONTAINER_PATH, "/dev/x");
        raw_rec(&w, CTR_TAG_DEVICE, &m);
        refused(&w, -EINVAL, "DEVICE 1: HOST_PATH: missing");
        static const char *const perms[] = {"", "rwx", "R", "rw m"};
        for (size_t i = 0; i < 4; i++) {
                w = minimal();
                raw_str(&m, CTR_TAG_D_CONTAINER_PATH, "/dev/x");
                raw_str(&m, CTR_TAG_D_HOST_PATH, "/dev/x");
                raw_str(&m, CTR_TAG_D_PERMISSIONS, perms[i]);
                raw_rec(&w, CTR_TAG_DEVICE, &m);
                refused(&w, i == 3 ? -EMSGSIZE : -EINVAL, "DEVICE 1: PERMISSIONS");
        }

        w = minimal();
        raw_str(&m, CTR_TAG_H_PAGE_SIZE, "2MB");
        raw_rec(&w, CTR_TAG_HUGEPAGE, &m);
        refused(&w, -EINVAL, "HUGEPAGE 1: LIMIT: missing");
        w = minimal();
        raw_str(&m, CTR_TAG_H_PAGE_SIZE, "2MB");
        raw_u32(&m, CTR_TAG_H_LIMIT, 1);
        raw_rec(&w, CTR_TAG_HUGEPAGE, &m);
        refused(&w, -EINVAL, "HUGEPAGE 1: LIMIT: type U32, expected U64");
        w = minimal();
        raw_str(&m, CTR_TAG_U_VALUE, "1");
        raw_rec(&w, CTR_TAG_UNIFIED, &m);
        refused(&w, -EINVAL, "UNIFIED 1: KEY: missing");
}

static void test_refuse_ranges(void **state)
{
        struct raw w, m = {0};

        (void)state;
        w = minimal();
        raw_u32(&w, CTR_TAG_FLAGS, CTR_F_ALL + 1);
        refused(&w, -EINVAL, "FLAGS: bits 0x80 outside CTR_F_ALL");
        w = minimal();
        raw_u32(&w, CTR_TAG_FLAGS, 0x80000000u);
        refused(&w, -EINVAL, "FLAGS: bits 0x80000000 outside CTR_F_ALL");
        w = minimal();
        raw_u32(&w, CTR_TAG_PID_MODE, 4);
        refused(&w, -EINVAL, "PID_MODE: 4 is not a pid mode");
        w = minimal();
        raw_u32(&w, CTR_TAG_PID_MODE, CTR_PID_TARGET);
        refused(&w, -EINVAL, "PID_TARGET: present without PID_MODE TARGET, or missing");
        w = minimal();
        raw_u32(&w, CTR_TAG_PID_MODE, CTR_PID_POD);
        raw_str(&w, CTR_TAG_PID_TARGET, "c");
        refused(&w, -EINVAL, "PID_TARGET: present without PID_MODE TARGET");
        w = minimal();
        raw_str(&w, CTR_TAG_PID_TARGET, "c");
        refused(&w, -EINVAL, "PID_TARGET: present without PID_MODE TARGET");

        const struct {
                uint32_t flags;
                const char *want;
        } mflags[] = {
            {CTR_M_ALL + 1, "bits 0x20 outside CTR_M_ALL"},
            {CTR_M_PROPAGATION_RSLAVE | CTR_M_PROPAGATION_RSHARED, "more than one propagation"},
            {CTR_M_RECURSIVE_READONLY, "recursive read-only without read-only"},
        };
        for (size_t i = 0; i < 3; i++) {
                w = minimal();
                raw_str(&m, CTR_TAG_M_DESTINATION, "/d");
                raw_str(&m, CTR_TAG_M_SOURCE, "/s");
                raw_u32(&m, CTR_TAG_M_FLAGS, mflags[i].flags);
                raw_rec(&w, CTR_TAG_MOUNT, &m);
                refused(&w, -EINVAL, mflags[i].want);
        }
}

static void test_refuse_truncated(void **state)
{
        struct raw w = minimal();
        size_t full = w.len;

        (void)state;
        /* cut inside the last element's value, then inside its header */
        w.len = full - 1;
        refused(&w, -EBADMSG, "element at byte 16 of the spec: truncated element value");
        w = minimal();
        w.len = full - 12;
        refused(&w, -EBADMSG, "truncated element header");
        /* a length that claims more than there is, even near UINT32_MAX */
        w = minimal();
        tlv_le32_encode(w.buf + 4, UINT32_MAX);
        refused(&w, -EBADMSG, "element at byte 0 of the spec: truncated element value");
}

static void test_refuse_trailing_garbage(void **state)
{
        struct raw w = minimal();

        (void)state;
        raw_put(&w, 0, 0, NULL, 0);
        w.len -= 2; /* six bytes: less than an element header */
        refused(&w, -EBADMSG, "truncated element header");
        w = minimal();
        w.buf[w.len++] = 0;
        refused(&w, -EBADMSG, "truncated element header");
        /* a zeroed header is a whole element, with an unknown tag */
        w = minimal();
        raw_put(&w, 0, 0, NULL, 0);
        refused(&w, -EINVAL, "unknown tag 0");
}

/* ---- limits ------------------------------------------------------------- */

static void test_decode_limits(void **state)
{
        struct raw w = {0};
        char *s;

        (void)state;
        for (int i = 0; i < CTRSPEC_MAX_ARGS; i++)
                raw_str(&w, CTR_TAG_ARG, "a");
        raw_str(&w, CTR_TAG_LAYER, "l");
        decodes(&w);
        w = (struct raw){0};
        for (int i = 0; i <= CTRSPEC_MAX_ARGS; i++)
                raw_str(&w, CTR_TAG_ARG, "a");
        raw_str(&w, CTR_TAG_LAYER, "l");
        refused(&w, -EMSGSIZE, "ARG: more than 4096");

        w = minimal();
        for (int i = 0; i <= CTRSPEC_MAX_LAYERS; i++)
                raw_str(&w, CTR_TAG_LAYER, "l");
        refused(&w, -EMSGSIZE, "LAYER: more than 128");
        w = minimal();
        for (int i = 0; i <= CTRSPEC_MAX_CAPS; i++)
                raw_str(&w, CTR_TAG_CAP_DROP, "CAP_X");
        refused(&w, -EMSGSIZE, "CAP_DROP: more than 64");

        s = malloc(CTRSPEC_MAX_ARG_LEN + 2);
        assert_non_null(s);
        memset(s, 'x', CTRSPEC_MAX_ARG_LEN + 1);
        s[CTRSPEC_MAX_ARG_LEN] = '\0';
        w = minimal();
        raw_str(&w, CTR_TAG_ARG, s);
        decodes(&w);
        s[CTRSPEC_MAX_ARG_LEN] = 'x';
        s[CTRSPEC_MAX_ARG_LEN + 1] = '\0';
        w = minimal();
        raw_str(&w, CTR_TAG_ARG, s);
        refused(&w, -EMSGSIZE, "ARG 2: longer than 131072 bytes");
        s[CTRSPEC_MAX_PATH + 1] = '\0';
        w = minimal();
        raw_str(&w, CTR_TAG_CWD, s);
        refused(&w, -EMSGSIZE, "CWD 1: longer than 4095 bytes");
        s[CTRSPEC_MAX_NAME + 1] = '\0';
        w = minimal();
        raw_str(&w, CTR_TAG_LAYER, s);
        refused(&w, -EMSGSIZE, "LAYER 2: longer than 255 bytes");
        free(s);

        /* over the whole size, refused before anything is looked at */
        w = minimal();
        w.buf = realloc(w.buf, CTRSPEC_MAX_SIZE + 1);
        assert_non_null(w.buf);
        w.len = CTRSPEC_MAX_SIZE + 1;
        refused(&w, -EMSGSIZE, "over 4194304");
}

static void encode_refused(const struct ctr_spec *s, int r, const char *want)
{
        char err[256] = "";
        uint8_t *buf = NULL;
        size_t len = 0;
        int got = ctrspec_encode(s, &buf, &len, err, sizeof(err));

        if (got == 0)
                fail_msg("encoded, expected \"%s\"", want);
        if (got != r || !strstr(err, want))
                fail_msg("refused with %d \"%s\", expected %d \"%s\"", got, err, r, want);
        assert_null(buf);
}

static void test_encode_limits(void **state)
{
        const char **many = calloc(CTRSPEC_MAX_ENV + 1, sizeof(*many));
        char *big = malloc(CTRSPEC_MAX_ARG_LEN + 2);
        struct ctr_spec s;
        struct ctr_mount m = {"/d", NULL, CTR_MOUNT_BIND, 0};
        char err[256];
        uint8_t *buf;
        size_t len;

        (void)state;
        assert_non_null(many);
        assert_non_null(big);
        memset(big, 'x', CTRSPEC_MAX_ARG_LEN + 1);
        big[CTRSPEC_MAX_ARG_LEN + 1] = '\0';
        for (size_t i = 0; i <= CTRSPEC_MAX_ENV; i++)
                many[i] = "A=b";

        s = full_spec();
        s.n_args = CTRSPEC_MAX_ARGS + 1;
        s.args = many;
        encode_refused(&s, -EMSGSIZE, "ARG: 4097, more than 4096");
        s = full_spec();
        s.env = many;
        s.n_env = CTRSPEC_MAX_ENV + 1;
        encode_refused(&s, -EMSGSIZE, "ENV: 16385, more than 16384");
        s = full_spec();
        s.n_env = CTRSPEC_MAX_ENV;
        s.env = many;
        assert_int_equal(ctrspec_encode(&s, &buf, &len, err, sizeof(err)), 0);
        free(buf);

        s = full_spec();
        s.args = (const char *[]){"a", big};
        s.n_args = 2;
        encode_refused(&s, -EMSGSIZE, "ARG 2: longer than 131072 bytes");
        s = full_spec();
        s.cwd = big;
        encode_refused(&s, -EMSGSIZE, "CWD 1: longer than 4095 bytes");
        s = full_spec();
        s.n_mounts = 1;
        s.mounts = &(struct ctr_mount){big, "/s", 0, 0};
        encode_refused(&s, -EMSGSIZE, "MOUNT 1: DESTINATION 1: longer than 4095 bytes");
        s = full_spec();
        s.n_cap_add = CTRSPEC_MAX_CAPS + 1;
        s.cap_add = many;
        encode_refused(&s, -EMSGSIZE, "CAP_ADD: 65, more than 64");
        s = full_spec();
        s.n_supplemental_groups = CTRSPEC_MAX_GROUPS + 1;
        s.supplemental_groups = calloc(CTRSPEC_MAX_GROUPS + 1, sizeof(uint64_t));
        assert_non_null(s.supplemental_groups);
        encode_refused(&s, -EMSGSIZE, "SUPPLEMENTAL_GROUP: 257, more than 256");
        free(s.supplemental_groups);

        /* each string within its limit, the whole over 4 MiB */
        big[CTRSPEC_MAX_ARG_LEN] = '\0';
        for (size_t i = 0; i < CTRSPEC_MAX_ENV; i++)
                many[i] = big;
        s = full_spec();
        s.env = many;
        s.n_env = 40;
        encode_refused(&s, -EMSGSIZE, "ENV: the encoded spec would pass 4194304 bytes");

        /* what the decoder would refuse for its form */
        s = full_spec();
        s.n_args = 0;
        encode_refused(&s, -EINVAL, "ARG: missing");
        s = full_spec();
        s.args = (const char *[]){"a", NULL};
        s.n_args = 2;
        encode_refused(&s, -EINVAL, "ARG 2: NULL");
        s = full_spec();
        s.flags = 0x100;
        encode_refused(&s, -EINVAL, "FLAGS: bits 0x100 outside CTR_F_ALL");
        s = full_spec();
        s.pid_target = NULL;
        encode_refused(&s, -EINVAL, "PID_TARGET: present without PID_MODE TARGET, or missing");
        s = full_spec();
        s.n_mounts = 1;
        s.mounts = &m;
        encode_refused(&s, -EINVAL, "MOUNT 1: SOURCE: a BIND mount needs one");
        m.kind = 9;
        encode_refused(&s, -EINVAL, "MOUNT 1: KIND: 9 is not a mount kind");

        free(many);
        free(big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip_full),
            cmocka_unit_test(test_roundtrip_minimal),
            cmocka_unit_test(test_decode_defaults_and_order),
            cmocka_unit_test(test_refuse_unknown_tag),
            cmocka_unit_test(test_refuse_wrong_type),
            cmocka_unit_test(test_refuse_duplicate_single),
            cmocka_unit_test(test_refuse_missing),
            cmocka_unit_test(test_refuse_bad_records),
            cmocka_unit_test(test_refuse_ranges),
            cmocka_unit_test(test_refuse_truncated),
            cmocka_unit_test(test_refuse_trailing_garbage),
            cmocka_unit_test(test_decode_limits),
            cmocka_unit_test(test_encode_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
