/* ctrspec_encode.c: owns the encoding of a container request
 * (ctrspec_encode.h) into the TLV stream brig-helper decodes: a growable
 * buffer that follows the table of common/ctrspec_rules.h and ends with
 * the decoder's own check. brigd's alone: the root side only decodes. */
#include "ctrspec_encode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrspec_rules.h"
#include "tlv.h"

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

/* A growable buffer with tlv_writer's sticky first error; the message of
 * that error is in err. */
struct enc {
        const struct ctrspec_level *lv;
        char where[64];
        uint8_t *buf;
        size_t len, cap;
        int error;
        char *err;
        size_t err_size;
};

static void enc_put(struct enc *e, uint16_t tag, uint16_t type, const void *value, size_t len)
{
        if (e->error < 0)
                return;
        if (len > CTRSPEC_MAX_SIZE - BRIG_TLV_HDR_SIZE ||
            e->len > CTRSPEC_MAX_SIZE - BRIG_TLV_HDR_SIZE - len) {
                e->error = fail(e->err, e->err_size, -EMSGSIZE,
                                "%s%s: the encoded spec would pass %u bytes", e->where,
                                ctrspec_rule(e->lv, tag)->name, CTRSPEC_MAX_SIZE);
                return;
        }
        size_t need = e->len + BRIG_TLV_HDR_SIZE + len;
        if (need > e->cap) {
                size_t cap = e->cap ? e->cap : 4096;
                while (cap < need)
                        cap *= 2;
                uint8_t *p = realloc(e->buf, cap);
                if (!p) {
                        e->error =
                            fail(e->err, e->err_size, -ENOMEM, "out of memory encoding the spec");
                        return;
                }
                e->buf = p;
                e->cap = cap;
        }
        uint8_t *p = e->buf + e->len;
        tlv_le16_encode(p, tag);
        tlv_le16_encode(p + 2, type);
        tlv_le32_encode(p + 4, (uint32_t)len);
        if (len > 0)
                memcpy(p + BRIG_TLV_HDR_SIZE, value, len);
        e->len = need;
}

static void enc_u32(struct enc *e, uint16_t tag, uint32_t v)
{
        uint8_t b[4];

        tlv_le32_encode(b, v);
        enc_put(e, tag, BRIG_TLV_U32, b, sizeof(b));
}

static void enc_u64(struct enc *e, uint16_t tag, uint64_t v)
{
        uint8_t b[8];

        tlv_le64_encode(b, v);
        enc_put(e, tag, BRIG_TLV_U64, b, sizeof(b));
}

/* n is s's 1-based position among its tag's, for the message. */
static void enc_string(struct enc *e, uint16_t tag, const char *s, size_t n)
{
        const struct ctrspec_rule *ru = ctrspec_rule(e->lv, tag);

        if (e->error < 0)
                return;
        if (!s) {
                e->error =
                    fail(e->err, e->err_size, -EINVAL, "%s%s %zu: NULL", e->where, ru->name, n);
                return;
        }
        size_t len = strnlen(s, (size_t)ru->max_len + 1);
        if (len > ru->max_len) {
                e->error = fail(e->err, e->err_size, -EMSGSIZE, "%s%s %zu: longer than %u bytes",
                                e->where, ru->name, n, ru->max_len);
                return;
        }
        enc_put(e, tag, BRIG_TLV_STRING, s, len + 1);
}

static void enc_opt_string(struct enc *e, uint16_t tag, const char *s)
{
        if (s)
                enc_string(e, tag, s, 1);
}

/* Refuses more than tag's count allows, before writing any. */
static bool enc_count(struct enc *e, uint16_t tag, size_t n)
{
        const struct ctrspec_rule *ru = ctrspec_rule(e->lv, tag);

        if (e->error < 0)
                return false;
        if (n > ru->max) {
                e->error = fail(e->err, e->err_size, -EMSGSIZE, "%s%s: %zu, more than %u", e->where,
                                ru->name, n, ru->max);
                return false;
        }
        return true;
}

static void enc_strings(struct enc *e, uint16_t tag, const char *const *v, size_t n)
{
        if (!enc_count(e, tag, n))
                return;
        for (size_t i = 0; i < n; i++)
                enc_string(e, tag, v[i], i + 1);
}

static void enc_opt_u64(struct enc *e, uint16_t tag, struct ctr_opt_u64 o)
{
        if (o.has)
                enc_u64(e, tag, o.v);
}

static void enc_opt_i64(struct enc *e, uint16_t tag, struct ctr_opt_i64 o)
{
        if (o.has)
                enc_u64(e, tag, (uint64_t)o.v);
}

static void enc_start(struct enc *e, const struct ctrspec_level *lv, char *err, size_t err_size)
{
        *e = (struct enc){.lv = lv, .err = err, .err_size = err_size};
}

/* Starts the nested record n of tag in parent; enc_end_record() appends it. */
static void enc_start_record(struct enc *rec, const struct enc *parent, uint16_t tag, size_t n)
{
        const struct ctrspec_rule *ru = ctrspec_rule(parent->lv, tag);

        enc_start(rec, ru->record, parent->err, parent->err_size);
        rec->error = parent->error;
        snprintf(rec->where, sizeof(rec->where), "%s %zu: ", ru->name, n);
}

static void enc_end_record(struct enc *rec, struct enc *parent, uint16_t tag)
{
        if (parent->error == 0 && rec->error < 0)
                parent->error = rec->error;
        enc_put(parent, tag, BRIG_TLV_BYTES, rec->buf, rec->len);
        free(rec->buf);
}

static void enc_mounts(struct enc *e, const struct ctr_mount *m, size_t n)
{
        if (!enc_count(e, CTR_TAG_MOUNT, n))
                return;
        for (size_t i = 0; i < n; i++) {
                struct enc rec;

                enc_start_record(&rec, e, CTR_TAG_MOUNT, i + 1);
                enc_string(&rec, CTR_TAG_M_DESTINATION, m[i].destination, 1);
                enc_opt_string(&rec, CTR_TAG_M_SOURCE, m[i].source);
                if (m[i].flags)
                        enc_u32(&rec, CTR_TAG_M_FLAGS, m[i].flags);
                if (m[i].kind != CTR_MOUNT_BIND)
                        enc_u32(&rec, CTR_TAG_M_KIND, m[i].kind);
                enc_end_record(&rec, e, CTR_TAG_MOUNT);
        }
}

static void enc_devices(struct enc *e, const struct ctr_device *d, size_t n)
{
        if (!enc_count(e, CTR_TAG_DEVICE, n))
                return;
        for (size_t i = 0; i < n; i++) {
                struct enc rec;

                enc_start_record(&rec, e, CTR_TAG_DEVICE, i + 1);
                enc_string(&rec, CTR_TAG_D_CONTAINER_PATH, d[i].container_path, 1);
                enc_string(&rec, CTR_TAG_D_HOST_PATH, d[i].host_path, 1);
                enc_opt_string(&rec, CTR_TAG_D_PERMISSIONS, d[i].permissions);
                enc_end_record(&rec, e, CTR_TAG_DEVICE);
        }
}

static void enc_hugepages(struct enc *e, const struct ctr_hugepage *h, size_t n)
{
        if (!enc_count(e, CTR_TAG_HUGEPAGE, n))
                return;
        for (size_t i = 0; i < n; i++) {
                struct enc rec;

                enc_start_record(&rec, e, CTR_TAG_HUGEPAGE, i + 1);
                enc_string(&rec, CTR_TAG_H_PAGE_SIZE, h[i].page_size, 1);
                enc_u64(&rec, CTR_TAG_H_LIMIT, h[i].limit);
                enc_end_record(&rec, e, CTR_TAG_HUGEPAGE);
        }
}

static void enc_unified(struct enc *e, const struct ctr_unified *u, size_t n)
{
        if (!enc_count(e, CTR_TAG_UNIFIED, n))
                return;
        for (size_t i = 0; i < n; i++) {
                struct enc rec;

                enc_start_record(&rec, e, CTR_TAG_UNIFIED, i + 1);
                enc_string(&rec, CTR_TAG_U_KEY, u[i].key, 1);
                enc_string(&rec, CTR_TAG_U_VALUE, u[i].value, 1);
                enc_end_record(&rec, e, CTR_TAG_UNIFIED);
        }
}

int ctrspec_encode(const struct ctr_spec *s, uint8_t **ret, size_t *ret_len, char *err,
                   size_t err_size)
{
        struct enc e;

        enc_start(&e, ctrspec_level_top(), err, err_size);
        enc_strings(&e, CTR_TAG_ARG, s->args, s->n_args);
        enc_strings(&e, CTR_TAG_ENV, s->env, s->n_env);
        enc_opt_string(&e, CTR_TAG_CWD, s->cwd);
        if (s->flags)
                enc_u32(&e, CTR_TAG_FLAGS, s->flags);
        enc_opt_u64(&e, CTR_TAG_RUN_AS_USER, s->run_as_user);
        enc_opt_string(&e, CTR_TAG_RUN_AS_USERNAME, s->run_as_username);
        enc_opt_u64(&e, CTR_TAG_RUN_AS_GROUP, s->run_as_group);
        enc_opt_string(&e, CTR_TAG_IMAGE_USER, s->image_user);
        if (enc_count(&e, CTR_TAG_SUPPLEMENTAL_GROUP, s->n_supplemental_groups))
                for (size_t i = 0; i < s->n_supplemental_groups; i++)
                        enc_u64(&e, CTR_TAG_SUPPLEMENTAL_GROUP, s->supplemental_groups[i]);
        if (s->pid_mode != CTR_PID_CONTAINER)
                enc_u32(&e, CTR_TAG_PID_MODE, s->pid_mode);
        enc_opt_string(&e, CTR_TAG_PID_TARGET, s->pid_target);
        enc_strings(&e, CTR_TAG_LAYER, s->layers, s->n_layers);
        enc_mounts(&e, s->mounts, s->n_mounts);
        enc_strings(&e, CTR_TAG_VOLUME, s->volumes, s->n_volumes);
        enc_devices(&e, s->devices, s->n_devices);
        enc_opt_string(&e, CTR_TAG_LOG_DIRECTORY, s->log_directory);
        enc_opt_string(&e, CTR_TAG_LOG_PATH, s->log_path);
        enc_opt_string(&e, CTR_TAG_CGROUP_PARENT, s->cgroup_parent);
        enc_opt_i64(&e, CTR_TAG_CPU_PERIOD, s->cpu_period);
        enc_opt_i64(&e, CTR_TAG_CPU_QUOTA, s->cpu_quota);
        enc_opt_i64(&e, CTR_TAG_CPU_SHARES, s->cpu_shares);
        enc_opt_i64(&e, CTR_TAG_MEMORY_LIMIT, s->memory_limit);
        enc_opt_i64(&e, CTR_TAG_MEMORY_SWAP, s->memory_swap);
        enc_opt_i64(&e, CTR_TAG_OOM_SCORE_ADJ, s->oom_score_adj);
        enc_opt_string(&e, CTR_TAG_CPUSET_CPUS, s->cpuset_cpus);
        enc_opt_string(&e, CTR_TAG_CPUSET_MEMS, s->cpuset_mems);
        enc_opt_i64(&e, CTR_TAG_PIDS_LIMIT, s->pids_limit);
        enc_hugepages(&e, s->hugepages, s->n_hugepages);
        enc_unified(&e, s->unified, s->n_unified);
        enc_strings(&e, CTR_TAG_CAP_ADD, s->cap_add, s->n_cap_add);
        enc_strings(&e, CTR_TAG_CAP_DROP, s->cap_drop, s->n_cap_drop);
        enc_opt_string(&e, CTR_TAG_HOSTNAME, s->hostname);

        /* The decoder's own check over the result, so brigd never sends a
         * spec the helper would refuse for its form (a missing ARG, a flag
         * or kind out of range). */
        int r =
            e.error < 0 ? e.error : ctrspec_check(ctrspec_level_top(), e.buf, e.len, err, err_size);
        if (r < 0) {
                free(e.buf);
                return r;
        }
        *ret = e.buf;
        *ret_len = e.len;
        return 0;
}

int ctrspec_encode_resources(const struct ctr_spec *s, uint8_t **ret, size_t *ret_len, char *err,
                             size_t err_size)
{
        struct enc e;

        enc_start(&e, ctrspec_level_resources(), err, err_size);
        enc_opt_i64(&e, CTR_TAG_CPU_PERIOD, s->cpu_period);
        enc_opt_i64(&e, CTR_TAG_CPU_QUOTA, s->cpu_quota);
        enc_opt_i64(&e, CTR_TAG_CPU_SHARES, s->cpu_shares);
        enc_opt_i64(&e, CTR_TAG_MEMORY_LIMIT, s->memory_limit);
        enc_opt_i64(&e, CTR_TAG_MEMORY_SWAP, s->memory_swap);
        enc_opt_string(&e, CTR_TAG_CPUSET_CPUS, s->cpuset_cpus);
        enc_opt_string(&e, CTR_TAG_CPUSET_MEMS, s->cpuset_mems);
        enc_opt_i64(&e, CTR_TAG_PIDS_LIMIT, s->pids_limit);
        enc_hugepages(&e, s->hugepages, s->n_hugepages);
        enc_unified(&e, s->unified, s->n_unified);
        int r = e.error < 0 ? e.error
                            : ctrspec_check(ctrspec_level_resources(), e.buf, e.len, err, err_size);
        if (r < 0) {
                free(e.buf);
                return r;
        }
        /* an empty update is still a buffer the caller frees */
        *ret = e.buf ? e.buf : malloc(1);
        *ret_len = e.len;
        return *ret ? 0 : -ENOMEM;
}
