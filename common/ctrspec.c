/* ctrspec.c: owns the container request's TLV stream (see ctrspec.h): the
 * table of its tags with their types, counts and lengths, and the decoder
 * that checks every element against the table before it builds a struct
 * whose strings and arrays live in one allocation. brigd's encoder
 * (daemon/ctrspec_encode.c) reads the same table (ctrspec_rules.h). */
#include "ctrspec.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrspec_rules.h"
#include "tlv.h"
#include "util.h"

#define MAX_RULES 32

/* What a scan of one level saw: per rule, how many elements and the value
 * of its last U32 (singles' only value, for the cross-field rules). */
struct tally {
        uint32_t count[MAX_RULES];
        uint32_t u32[MAX_RULES];
};

#define STR(tag, min, max, len, name)                                                              \
        {                                                                                          \
                tag, BRIG_TLV_STRING, min, max, len, NULL, name                                    \
        }
#define U32(tag, min, max, name)                                                                   \
        {                                                                                          \
                tag, BRIG_TLV_U32, min, max, 0, NULL, name                                         \
        }
#define U64(tag, min, max, name)                                                                   \
        {                                                                                          \
                tag, BRIG_TLV_U64, min, max, 0, NULL, name                                         \
        }
#define REC(tag, max, level, name)                                                                 \
        {                                                                                          \
                tag, BRIG_TLV_BYTES, 0, max, 0, &level, name                                       \
        }

static const struct ctrspec_rule mount_rules[] = {
    STR(CTR_TAG_M_DESTINATION, 1, 1, CTRSPEC_MAX_PATH, "DESTINATION"),
    STR(CTR_TAG_M_SOURCE, 0, 1, CTRSPEC_MAX_PATH, "SOURCE"),
    U32(CTR_TAG_M_FLAGS, 0, 1, "FLAGS"),
    U32(CTR_TAG_M_KIND, 0, 1, "KIND"),
};
static const struct ctrspec_level mount_level = {"MOUNT", mount_rules, ARRAY_SIZE(mount_rules)};

static const struct ctrspec_rule device_rules[] = {
    STR(CTR_TAG_D_CONTAINER_PATH, 1, 1, CTRSPEC_MAX_PATH, "CONTAINER_PATH"),
    STR(CTR_TAG_D_HOST_PATH, 1, 1, CTRSPEC_MAX_PATH, "HOST_PATH"),
    STR(CTR_TAG_D_PERMISSIONS, 0, 1, 3, "PERMISSIONS"),
};
static const struct ctrspec_level device_level = {"DEVICE", device_rules, ARRAY_SIZE(device_rules)};

static const struct ctrspec_rule hugepage_rules[] = {
    STR(CTR_TAG_H_PAGE_SIZE, 1, 1, CTRSPEC_MAX_NAME, "PAGE_SIZE"),
    U64(CTR_TAG_H_LIMIT, 1, 1, "LIMIT"),
};
static const struct ctrspec_level hugepage_level = {"HUGEPAGE", hugepage_rules,
                                                    ARRAY_SIZE(hugepage_rules)};

static const struct ctrspec_rule unified_rules[] = {
    STR(CTR_TAG_U_KEY, 1, 1, CTRSPEC_MAX_NAME, "KEY"),
    STR(CTR_TAG_U_VALUE, 1, 1, CTRSPEC_MAX_PATH, "VALUE"),
};
static const struct ctrspec_level unified_level = {"UNIFIED", unified_rules,
                                                   ARRAY_SIZE(unified_rules)};

static const struct ctrspec_rule top_rules[] = {
    STR(CTR_TAG_ARG, 1, CTRSPEC_MAX_ARGS, CTRSPEC_MAX_ARG_LEN, "ARG"),
    STR(CTR_TAG_ENV, 0, CTRSPEC_MAX_ENV, CTRSPEC_MAX_ARG_LEN, "ENV"),
    STR(CTR_TAG_CWD, 0, 1, CTRSPEC_MAX_PATH, "CWD"),
    U32(CTR_TAG_FLAGS, 0, 1, "FLAGS"),
    U64(CTR_TAG_RUN_AS_USER, 0, 1, "RUN_AS_USER"),
    STR(CTR_TAG_RUN_AS_USERNAME, 0, 1, CTRSPEC_MAX_NAME, "RUN_AS_USERNAME"),
    U64(CTR_TAG_RUN_AS_GROUP, 0, 1, "RUN_AS_GROUP"),
    STR(CTR_TAG_IMAGE_USER, 0, 1, CTRSPEC_MAX_NAME, "IMAGE_USER"),
    U64(CTR_TAG_SUPPLEMENTAL_GROUP, 0, CTRSPEC_MAX_GROUPS, "SUPPLEMENTAL_GROUP"),
    U32(CTR_TAG_PID_MODE, 0, 1, "PID_MODE"),
    STR(CTR_TAG_PID_TARGET, 0, 1, CTRSPEC_MAX_NAME, "PID_TARGET"),
    STR(CTR_TAG_LAYER, 1, CTRSPEC_MAX_LAYERS, CTRSPEC_MAX_NAME, "LAYER"),
    REC(CTR_TAG_MOUNT, CTRSPEC_MAX_MOUNTS, mount_level, "MOUNT"),
    STR(CTR_TAG_VOLUME, 0, CTRSPEC_MAX_VOLUMES, CTRSPEC_MAX_PATH, "VOLUME"),
    REC(CTR_TAG_DEVICE, CTRSPEC_MAX_DEVICES, device_level, "DEVICE"),
    STR(CTR_TAG_LOG_DIRECTORY, 0, 1, CTRSPEC_MAX_PATH, "LOG_DIRECTORY"),
    STR(CTR_TAG_LOG_PATH, 0, 1, CTRSPEC_MAX_PATH, "LOG_PATH"),
    STR(CTR_TAG_CGROUP_PARENT, 0, 1, CTRSPEC_MAX_PATH, "CGROUP_PARENT"),
    U64(CTR_TAG_CPU_PERIOD, 0, 1, "CPU_PERIOD"),
    U64(CTR_TAG_CPU_QUOTA, 0, 1, "CPU_QUOTA"),
    U64(CTR_TAG_CPU_SHARES, 0, 1, "CPU_SHARES"),
    U64(CTR_TAG_MEMORY_LIMIT, 0, 1, "MEMORY_LIMIT"),
    U64(CTR_TAG_MEMORY_SWAP, 0, 1, "MEMORY_SWAP"),
    U64(CTR_TAG_OOM_SCORE_ADJ, 0, 1, "OOM_SCORE_ADJ"),
    STR(CTR_TAG_CPUSET_CPUS, 0, 1, CTRSPEC_MAX_PATH, "CPUSET_CPUS"),
    STR(CTR_TAG_CPUSET_MEMS, 0, 1, CTRSPEC_MAX_PATH, "CPUSET_MEMS"),
    U64(CTR_TAG_PIDS_LIMIT, 0, 1, "PIDS_LIMIT"),
    REC(CTR_TAG_HUGEPAGE, CTRSPEC_MAX_HUGEPAGES, hugepage_level, "HUGEPAGE"),
    REC(CTR_TAG_UNIFIED, CTRSPEC_MAX_UNIFIED, unified_level, "UNIFIED"),
    STR(CTR_TAG_CAP_ADD, 0, CTRSPEC_MAX_CAPS, CTRSPEC_MAX_NAME, "CAP_ADD"),
    STR(CTR_TAG_CAP_DROP, 0, CTRSPEC_MAX_CAPS, CTRSPEC_MAX_NAME, "CAP_DROP"),
    STR(CTR_TAG_HOSTNAME, 0, 1, CTRSPEC_MAX_NAME, "HOSTNAME"),
};
static const struct ctrspec_level top_level = {"spec", top_rules, ARRAY_SIZE(top_rules)};

/* What an update of a running container's resources may carry: the
 * resource rules of the top level, no more. */
static const struct ctrspec_rule resource_rules[] = {
    U64(CTR_TAG_CPU_PERIOD, 0, 1, "CPU_PERIOD"),
    U64(CTR_TAG_CPU_QUOTA, 0, 1, "CPU_QUOTA"),
    U64(CTR_TAG_CPU_SHARES, 0, 1, "CPU_SHARES"),
    U64(CTR_TAG_MEMORY_LIMIT, 0, 1, "MEMORY_LIMIT"),
    U64(CTR_TAG_MEMORY_SWAP, 0, 1, "MEMORY_SWAP"),
    STR(CTR_TAG_CPUSET_CPUS, 0, 1, CTRSPEC_MAX_PATH, "CPUSET_CPUS"),
    STR(CTR_TAG_CPUSET_MEMS, 0, 1, CTRSPEC_MAX_PATH, "CPUSET_MEMS"),
    U64(CTR_TAG_PIDS_LIMIT, 0, 1, "PIDS_LIMIT"),
    REC(CTR_TAG_HUGEPAGE, CTRSPEC_MAX_HUGEPAGES, hugepage_level, "HUGEPAGE"),
    REC(CTR_TAG_UNIFIED, CTRSPEC_MAX_UNIFIED, unified_level, "UNIFIED"),
};
static const struct ctrspec_level resource_level = {"resources", resource_rules,
                                                    ARRAY_SIZE(resource_rules)};

_Static_assert(ARRAY_SIZE(top_rules) <= MAX_RULES, "a tally counts every top-level tag");
_Static_assert(CTRSPEC_MAX_SIZE <= UINT32_MAX, "a spec's length fits an element length");

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
        if (err_size > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, err_size, fmt, ap);
                va_end(ap);
        }
        return r;
}

/* Index of tag's rule in lv, or -1. */
static int rule_index(const struct ctrspec_level *lv, uint16_t tag)
{
        for (size_t i = 0; i < lv->n_rules; i++)
                if (lv->rules[i].tag == tag)
                        return (int)i;
        return -1;
}

static const struct ctrspec_rule *rule_of(const struct ctrspec_level *lv, uint16_t tag)
{
        int i = rule_index(lv, tag);

        assert(i >= 0);
        return &lv->rules[i];
}

/* --- checking ------------------------------------------------------------ */

static int scan(const struct ctrspec_level *lv, const uint8_t *buf, size_t len, const char *where,
                struct tally *t, char *err, size_t err_size);

/* The rules of one value beyond its type: flag sets, enum ranges, nested
 * records. n is the element's 1-based position among its tag's. */
static int check_value(const struct ctrspec_rule *ru, const struct tlv_field *f, uint32_t n,
                       const char *where, char *err, size_t err_size)
{
        uint32_t v = ru->type == BRIG_TLV_U32 ? tlv_le32_decode(f->value) : 0;

        switch (f->tag) {
        case CTR_TAG_FLAGS:
                if (v & ~CTR_F_ALL)
                        return fail(err, err_size, -EINVAL, "%sFLAGS: bits 0x%x outside CTR_F_ALL",
                                    where, v & ~CTR_F_ALL);
                return 0;
        case CTR_TAG_PID_MODE:
                if (v > CTR_PID_TARGET)
                        return fail(err, err_size, -EINVAL,
                                    "%sPID_MODE: %u is not a pid mode (0..3)", where, v);
                return 0;
        case CTR_TAG_M_FLAGS:
                if (v & ~CTR_M_ALL)
                        return fail(err, err_size, -EINVAL, "%sFLAGS: bits 0x%x outside CTR_M_ALL",
                                    where, v & ~CTR_M_ALL);
                if ((v & CTR_M_PROPAGATION_RSLAVE) && (v & CTR_M_PROPAGATION_RSHARED))
                        return fail(err, err_size, -EINVAL,
                                    "%sFLAGS: more than one propagation (rslave and rshared)",
                                    where);
                if ((v & CTR_M_RECURSIVE_READONLY) && !(v & CTR_M_READONLY))
                        return fail(err, err_size, -EINVAL,
                                    "%sFLAGS: recursive read-only without read-only", where);
                return 0;
        case CTR_TAG_M_KIND:
                if (v > CTR_MOUNT_POD_SHM)
                        return fail(err, err_size, -EINVAL, "%sKIND: %u is not a mount kind (0..4)",
                                    where, v);
                return 0;
        case CTR_TAG_D_PERMISSIONS:
                if (f->len == 1 || strspn((const char *)f->value, "rwm") != f->len - 1)
                        return fail(err, err_size, -EINVAL,
                                    "%sPERMISSIONS: not a non-empty string of r, w and m", where);
                return 0;
        }
        if (ru->record) {
                char inner[64];
                struct tally t;

                snprintf(inner, sizeof(inner), "%s%s %u: ", where, ru->name, n);
                return scan(ru->record, f->value, f->len, inner, &t, err, err_size);
        }
        return 0;
}

/* One element: a tag of this level, its type, its type's rules, its
 * length and its count. */
static int check_element(const struct ctrspec_level *lv, const struct tlv_field *f,
                         const char *where, struct tally *t, char *err, size_t err_size)
{
        int i = rule_index(lv, f->tag);
        const char *reason;

        if (i < 0)
                return fail(err, err_size, -EINVAL, "%sunknown tag %u in a %s", where, f->tag,
                            lv->name);

        const struct ctrspec_rule *ru = &lv->rules[i];
        uint32_t n = ++t->count[i];

        if (f->type != ru->type)
                return fail(err, err_size, -EINVAL, "%s%s: type %s, expected %s", where, ru->name,
                            tlv_type_name(f->type), tlv_type_name(ru->type));
        if (tlv_field_check(f, &reason) < 0)
                return fail(err, err_size, -EINVAL, "%s%s %u: %s", where, ru->name, n, reason);
        if (ru->type == BRIG_TLV_STRING && f->len - 1 > ru->max_len)
                return fail(err, err_size, -EMSGSIZE, "%s%s %u: longer than %u bytes", where,
                            ru->name, n, ru->max_len);
        if (n > ru->max) {
                if (ru->max == 1)
                        return fail(err, err_size, -EINVAL, "%s%s: more than once", where,
                                    ru->name);
                return fail(err, err_size, -EMSGSIZE, "%s%s: more than %u", where, ru->name,
                            ru->max);
        }
        if (ru->type == BRIG_TLV_U32)
                t->u32[i] = tlv_le32_decode(f->value);
        return check_value(ru, f, n, where, err, err_size);
}

/* Whether the single-valued tag is present, and its U32 value (0 when
 * absent). */
static bool single(const struct ctrspec_level *lv, const struct tally *t, uint16_t tag,
                   uint32_t *ret)
{
        int i = rule_index(lv, tag);

        assert(i >= 0);
        *ret = t->count[i] ? t->u32[i] : 0;
        return t->count[i] > 0;
}

/* The rules between fields of one level. */
static int check_level(const struct ctrspec_level *lv, const struct tally *t, const char *where,
                       char *err, size_t err_size)
{
        uint32_t v, unused;

        for (size_t i = 0; i < lv->n_rules; i++)
                if (t->count[i] < lv->rules[i].min)
                        return fail(err, err_size, -EINVAL, "%s%s: missing (at least %u)", where,
                                    lv->rules[i].name, lv->rules[i].min);
        if (lv == &top_level) {
                single(lv, t, CTR_TAG_PID_MODE, &v);
                if ((v == CTR_PID_TARGET) != single(lv, t, CTR_TAG_PID_TARGET, &unused))
                        return fail(err, err_size, -EINVAL,
                                    "%sPID_TARGET: present without PID_MODE TARGET, or missing "
                                    "with it",
                                    where);
        } else if (lv == &mount_level) {
                single(lv, t, CTR_TAG_M_KIND, &v);
                if ((v == CTR_MOUNT_BIND) != single(lv, t, CTR_TAG_M_SOURCE, &unused))
                        return fail(err, err_size, -EINVAL,
                                    "%sSOURCE: a BIND mount needs one, other kinds take none",
                                    where);
        }
        return 0;
}

static int scan(const struct ctrspec_level *lv, const uint8_t *buf, size_t len, const char *where,
                struct tally *t, char *err, size_t err_size)
{
        struct tlv_reader rd;
        struct tlv_field f;
        int r;

        memset(t, 0, sizeof(*t));
        tlv_reader_init(&rd, buf, len);
        while ((r = tlv_reader_next(&rd, &f)) > 0) {
                r = check_element(lv, &f, where, t, err, err_size);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return fail(err, err_size, r, "%selement at byte %zu of the %s: %s", where, rd.off,
                            lv->name, rd.error);
        return check_level(lv, t, where, err, err_size);
}

/* --- for the encoder (ctrspec_rules.h) ------------------------------------ */

const struct ctrspec_level *ctrspec_level_top(void)
{
        return &top_level;
}

const struct ctrspec_level *ctrspec_level_resources(void)
{
        return &resource_level;
}

const struct ctrspec_rule *ctrspec_rule(const struct ctrspec_level *lv, uint16_t tag)
{
        return rule_of(lv, tag);
}

int ctrspec_check(const struct ctrspec_level *lv, const uint8_t *buf, size_t len, char *err,
                  size_t err_size)
{
        struct tally t;

        return scan(lv, buf, len, "", &t, err, err_size);
}

/* --- decoding ------------------------------------------------------------ */

/* Carves 8-aligned pieces out of one allocation sized in advance. */
struct carve {
        uint8_t *p;
        size_t used, size;
};

static size_t align8(size_t n)
{
        return (n + 7) & ~(size_t)7;
}

static void *carve(struct carve *c, size_t size)
{
        void *p = c->p + c->used;

        c->used += align8(size);
        assert(c->used <= c->size);
        return p;
}

static int64_t i64_of(uint64_t v)
{
        int64_t r;

        memcpy(&r, &v, sizeof(r));
        return r;
}

static const char *str_of(const struct tlv_field *f)
{
        return (const char *)f->value;
}

/* Nested records, already checked by scan(): each fill reads its tags. */
static void fill_mount(struct ctr_mount *m, const struct tlv_field *rec)
{
        struct tlv_reader rd;
        struct tlv_field f;

        *m = (struct ctr_mount){.kind = CTR_MOUNT_BIND};
        tlv_reader_init(&rd, rec->value, rec->len);
        while (tlv_reader_next(&rd, &f) > 0)
                switch (f.tag) {
                case CTR_TAG_M_DESTINATION:
                        m->destination = str_of(&f);
                        break;
                case CTR_TAG_M_SOURCE:
                        m->source = str_of(&f);
                        break;
                case CTR_TAG_M_FLAGS:
                        m->flags = tlv_le32_decode(f.value);
                        break;
                case CTR_TAG_M_KIND:
                        m->kind = tlv_le32_decode(f.value);
                        break;
                }
}

static void fill_device(struct ctr_device *d, const struct tlv_field *rec)
{
        struct tlv_reader rd;
        struct tlv_field f;

        *d = (struct ctr_device){0};
        tlv_reader_init(&rd, rec->value, rec->len);
        while (tlv_reader_next(&rd, &f) > 0)
                switch (f.tag) {
                case CTR_TAG_D_CONTAINER_PATH:
                        d->container_path = str_of(&f);
                        break;
                case CTR_TAG_D_HOST_PATH:
                        d->host_path = str_of(&f);
                        break;
                case CTR_TAG_D_PERMISSIONS:
                        d->permissions = str_of(&f);
                        break;
                }
}

static void fill_hugepage(struct ctr_hugepage *h, const struct tlv_field *rec)
{
        struct tlv_reader rd;
        struct tlv_field f;

        *h = (struct ctr_hugepage){0};
        tlv_reader_init(&rd, rec->value, rec->len);
        while (tlv_reader_next(&rd, &f) > 0)
                if (f.tag == CTR_TAG_H_PAGE_SIZE)
                        h->page_size = str_of(&f);
                else
                        h->limit = tlv_le64_decode(f.value);
}

static void fill_unified(struct ctr_unified *u, const struct tlv_field *rec)
{
        struct tlv_reader rd;
        struct tlv_field f;

        *u = (struct ctr_unified){0};
        tlv_reader_init(&rd, rec->value, rec->len);
        while (tlv_reader_next(&rd, &f) > 0)
                if (f.tag == CTR_TAG_U_KEY)
                        u->key = str_of(&f);
                else
                        u->value = str_of(&f);
}

static struct ctr_opt_i64 opt_i64(const struct tlv_field *f)
{
        return (struct ctr_opt_i64){.has = true, .v = i64_of(tlv_le64_decode(f->value))};
}

static struct ctr_opt_u64 opt_u64(const struct tlv_field *f)
{
        return (struct ctr_opt_u64){.has = true, .v = tlv_le64_decode(f->value)};
}

/* One element of a checked stream into s; each array's count says where
 * its next element goes. */
static void fill(struct ctr_spec *s, const struct tlv_field *f)
{
        const char *str = f->type == BRIG_TLV_STRING ? str_of(f) : NULL;

        switch (f->tag) {
        case CTR_TAG_ARG:
                s->args[s->n_args++] = str;
                break;
        case CTR_TAG_ENV:
                s->env[s->n_env++] = str;
                break;
        case CTR_TAG_CWD:
                s->cwd = str;
                break;
        case CTR_TAG_FLAGS:
                s->flags = tlv_le32_decode(f->value);
                break;
        case CTR_TAG_RUN_AS_USER:
                s->run_as_user = opt_u64(f);
                break;
        case CTR_TAG_RUN_AS_USERNAME:
                s->run_as_username = str;
                break;
        case CTR_TAG_RUN_AS_GROUP:
                s->run_as_group = opt_u64(f);
                break;
        case CTR_TAG_IMAGE_USER:
                s->image_user = str;
                break;
        case CTR_TAG_SUPPLEMENTAL_GROUP:
                s->supplemental_groups[s->n_supplemental_groups++] = tlv_le64_decode(f->value);
                break;
        case CTR_TAG_PID_MODE:
                s->pid_mode = tlv_le32_decode(f->value);
                break;
        case CTR_TAG_PID_TARGET:
                s->pid_target = str;
                break;
        case CTR_TAG_LAYER:
                s->layers[s->n_layers++] = str;
                break;
        case CTR_TAG_MOUNT:
                fill_mount(&s->mounts[s->n_mounts++], f);
                break;
        case CTR_TAG_VOLUME:
                s->volumes[s->n_volumes++] = str;
                break;
        case CTR_TAG_DEVICE:
                fill_device(&s->devices[s->n_devices++], f);
                break;
        case CTR_TAG_LOG_DIRECTORY:
                s->log_directory = str;
                break;
        case CTR_TAG_LOG_PATH:
                s->log_path = str;
                break;
        case CTR_TAG_CGROUP_PARENT:
                s->cgroup_parent = str;
                break;
        case CTR_TAG_CPU_PERIOD:
                s->cpu_period = opt_i64(f);
                break;
        case CTR_TAG_CPU_QUOTA:
                s->cpu_quota = opt_i64(f);
                break;
        case CTR_TAG_CPU_SHARES:
                s->cpu_shares = opt_i64(f);
                break;
        case CTR_TAG_MEMORY_LIMIT:
                s->memory_limit = opt_i64(f);
                break;
        case CTR_TAG_MEMORY_SWAP:
                s->memory_swap = opt_i64(f);
                break;
        case CTR_TAG_OOM_SCORE_ADJ:
                s->oom_score_adj = opt_i64(f);
                break;
        case CTR_TAG_CPUSET_CPUS:
                s->cpuset_cpus = str;
                break;
        case CTR_TAG_CPUSET_MEMS:
                s->cpuset_mems = str;
                break;
        case CTR_TAG_PIDS_LIMIT:
                s->pids_limit = opt_i64(f);
                break;
        case CTR_TAG_HUGEPAGE:
                fill_hugepage(&s->hugepages[s->n_hugepages++], f);
                break;
        case CTR_TAG_UNIFIED:
                fill_unified(&s->unified[s->n_unified++], f);
                break;
        case CTR_TAG_CAP_ADD:
                s->cap_add[s->n_cap_add++] = str;
                break;
        case CTR_TAG_CAP_DROP:
                s->cap_drop[s->n_cap_drop++] = str;
                break;
        case CTR_TAG_HOSTNAME:
                s->hostname = str;
                break;
        }
}

/* Places the array of each repeated tag, sized by its count; with c->p
 * NULL it only adds up the sizes. */
static void *array_of(struct carve *c, const struct ctrspec_level *lv, const struct tally *t,
                      uint16_t tag, size_t elem)
{
        int i = rule_index(lv, tag);
        size_t n = i < 0 ? 0 : t->count[i];

        if (!c->p) {
                c->size += align8(n * elem);
                return NULL;
        }
        return n ? carve(c, n * elem) : NULL;
}

static void place_arrays(struct ctr_spec *s, struct carve *c, const struct ctrspec_level *lv,
                         const struct tally *t)
{
        s->args = array_of(c, lv, t, CTR_TAG_ARG, sizeof(*s->args));
        s->env = array_of(c, lv, t, CTR_TAG_ENV, sizeof(*s->env));
        s->supplemental_groups =
            array_of(c, lv, t, CTR_TAG_SUPPLEMENTAL_GROUP, sizeof(*s->supplemental_groups));
        s->layers = array_of(c, lv, t, CTR_TAG_LAYER, sizeof(*s->layers));
        s->mounts = array_of(c, lv, t, CTR_TAG_MOUNT, sizeof(*s->mounts));
        s->volumes = array_of(c, lv, t, CTR_TAG_VOLUME, sizeof(*s->volumes));
        s->devices = array_of(c, lv, t, CTR_TAG_DEVICE, sizeof(*s->devices));
        s->hugepages = array_of(c, lv, t, CTR_TAG_HUGEPAGE, sizeof(*s->hugepages));
        s->unified = array_of(c, lv, t, CTR_TAG_UNIFIED, sizeof(*s->unified));
        s->cap_add = array_of(c, lv, t, CTR_TAG_CAP_ADD, sizeof(*s->cap_add));
        s->cap_drop = array_of(c, lv, t, CTR_TAG_CAP_DROP, sizeof(*s->cap_drop));
}

static int decode(const struct ctrspec_level *lv, const void *buf, size_t len, struct ctr_spec *ret,
                  char *err, size_t err_size)
{
        struct tally t;
        struct carve c = {0};
        struct ctr_spec s = {0};
        struct tlv_reader rd;
        struct tlv_field f;
        int r;

        *ret = (struct ctr_spec){0};
        if (len > CTRSPEC_MAX_SIZE)
                return fail(err, err_size, -EMSGSIZE, "the spec is %zu bytes, over %u", len,
                            CTRSPEC_MAX_SIZE);
        r = scan(lv, buf, len, "", &t, err, err_size);
        if (r < 0)
                return r;

        /* Counts are bounded by the rules, so these sizes cannot overflow. */
        place_arrays(&s, &c, lv, &t);
        c.size += align8(len);
        c.p = malloc(c.size);
        if (!c.p)
                return fail(err, err_size, -ENOMEM, "out of memory decoding the spec");
        place_arrays(&s, &c, lv, &t);
        /* Strings point into this copy, so they live exactly as long as
         * the arrays do and the caller's buffer can go. */
        uint8_t *copy = carve(&c, len);
        memcpy(copy, buf, len);
        s.storage = c.p;

        tlv_reader_init(&rd, copy, len);
        while (tlv_reader_next(&rd, &f) > 0)
                fill(&s, &f);
        *ret = s;
        return 0;
}

int ctrspec_decode(const void *buf, size_t len, struct ctr_spec *ret, char *err, size_t err_size)
{
        return decode(&top_level, buf, len, ret, err, err_size);
}

int ctrspec_decode_resources(const void *buf, size_t len, struct ctr_spec *ret, char *err,
                             size_t err_size)
{
        return decode(&resource_level, buf, len, ret, err, err_size);
}

void ctrspec_free(struct ctr_spec *spec)
{
        free(spec->storage);
        *spec = (struct ctr_spec){0};
}
