/* fuzz_ctrspec.c: libFuzzer target for common/ctrspec.h. The input is a
 * spec stream as the helper reads it from brigd. Besides memory errors it
 * checks what the helper relies on: a refusal has a reason and leaves
 * nothing to free; a decoded spec keeps the header's promises (counts in
 * their limits, strings within their lengths, a mount's source present
 * exactly for BIND); and it re-encodes, decodes back to the same spec, and
 * encodes again to the same bytes. A broken invariant aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrspec.h"
#include "daemon/ctrspec_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void same_str(const char *a, const char *b)
{
        check((!a && !b) || (a && b && strcmp(a, b) == 0));
}

static void same_strv(const char *const *a, size_t na, const char *const *b, size_t nb)
{
        check(na == nb);
        for (size_t i = 0; i < na; i++)
                same_str(a[i], b[i]);
}

static void same_u64(struct ctr_opt_u64 a, struct ctr_opt_u64 b)
{
        check(a.has == b.has && (!a.has || a.v == b.v));
}

static void same_i64(struct ctr_opt_i64 a, struct ctr_opt_i64 b)
{
        check(a.has == b.has && (!a.has || a.v == b.v));
}

static void same(const struct ctr_spec *a, const struct ctr_spec *b)
{
        same_strv(a->args, a->n_args, b->args, b->n_args);
        same_strv(a->env, a->n_env, b->env, b->n_env);
        same_str(a->cwd, b->cwd);
        check(a->flags == b->flags);
        same_u64(a->run_as_user, b->run_as_user);
        same_str(a->run_as_username, b->run_as_username);
        same_u64(a->run_as_group, b->run_as_group);
        same_str(a->image_user, b->image_user);
        check(a->n_supplemental_groups == b->n_supplemental_groups);
        for (size_t i = 0; i < a->n_supplemental_groups; i++)
                check(a->supplemental_groups[i] == b->supplemental_groups[i]);
        check(a->pid_mode == b->pid_mode);
        same_str(a->pid_target, b->pid_target);
        same_strv(a->layers, a->n_layers, b->layers, b->n_layers);
        check(a->n_mounts == b->n_mounts);
        for (size_t i = 0; i < a->n_mounts; i++) {
                same_str(a->mounts[i].destination, b->mounts[i].destination);
                same_str(a->mounts[i].source, b->mounts[i].source);
                check(a->mounts[i].kind == b->mounts[i].kind);
                check(a->mounts[i].flags == b->mounts[i].flags);
        }
        same_strv(a->volumes, a->n_volumes, b->volumes, b->n_volumes);
        check(a->n_devices == b->n_devices);
        for (size_t i = 0; i < a->n_devices; i++) {
                same_str(a->devices[i].container_path, b->devices[i].container_path);
                same_str(a->devices[i].host_path, b->devices[i].host_path);
                same_str(a->devices[i].permissions, b->devices[i].permissions);
        }
        same_str(a->log_directory, b->log_directory);
        same_str(a->log_path, b->log_path);
        same_str(a->cgroup_parent, b->cgroup_parent);
        same_str(a->hostname, b->hostname);
        same_i64(a->cpu_period, b->cpu_period);
        same_i64(a->cpu_quota, b->cpu_quota);
        same_i64(a->cpu_shares, b->cpu_shares);
        same_i64(a->memory_limit, b->memory_limit);
        same_i64(a->memory_swap, b->memory_swap);
        same_i64(a->oom_score_adj, b->oom_score_adj);
        same_i64(a->pids_limit, b->pids_limit);
        same_str(a->cpuset_cpus, b->cpuset_cpus);
        same_str(a->cpuset_mems, b->cpuset_mems);
        check(a->n_hugepages == b->n_hugepages);
        for (size_t i = 0; i < a->n_hugepages; i++) {
                same_str(a->hugepages[i].page_size, b->hugepages[i].page_size);
                check(a->hugepages[i].limit == b->hugepages[i].limit);
        }
        check(a->n_unified == b->n_unified);
        for (size_t i = 0; i < a->n_unified; i++) {
                same_str(a->unified[i].key, b->unified[i].key);
                same_str(a->unified[i].value, b->unified[i].value);
        }
        same_strv(a->cap_add, a->n_cap_add, b->cap_add, b->n_cap_add);
        same_strv(a->cap_drop, a->n_cap_drop, b->cap_drop, b->n_cap_drop);
}

/* What the header promises of any decoded spec. */
static void promises(const struct ctr_spec *s)
{
        check(s->storage != NULL);
        check(s->n_args >= 1 && s->n_args <= CTRSPEC_MAX_ARGS);
        check(s->n_layers >= 1 && s->n_layers <= CTRSPEC_MAX_LAYERS);
        check(s->n_env <= CTRSPEC_MAX_ENV && s->n_mounts <= CTRSPEC_MAX_MOUNTS);
        check(s->n_volumes <= CTRSPEC_MAX_VOLUMES && s->n_devices <= CTRSPEC_MAX_DEVICES);
        check(s->n_supplemental_groups <= CTRSPEC_MAX_GROUPS);
        check(s->n_hugepages <= CTRSPEC_MAX_HUGEPAGES && s->n_unified <= CTRSPEC_MAX_UNIFIED);
        check(s->n_cap_add <= CTRSPEC_MAX_CAPS && s->n_cap_drop <= CTRSPEC_MAX_CAPS);
        for (size_t i = 0; i < s->n_args; i++)
                check(strlen(s->args[i]) <= CTRSPEC_MAX_ARG_LEN);
        check(!s->cwd || strlen(s->cwd) <= CTRSPEC_MAX_PATH);
        check((s->flags & ~CTR_F_ALL) == 0);
        check(s->pid_mode <= CTR_PID_TARGET);
        check((s->pid_mode == CTR_PID_TARGET) == (s->pid_target != NULL));
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct ctr_mount *m = &s->mounts[i];

                check(m->destination && strlen(m->destination) <= CTRSPEC_MAX_PATH);
                check(m->kind <= CTR_MOUNT_POD_SHM && (m->flags & ~CTR_M_ALL) == 0);
                check((m->kind == CTR_MOUNT_BIND) == (m->source != NULL));
        }
        for (size_t i = 0; i < s->n_devices; i++) {
                const char *p = s->devices[i].permissions;

                check(s->devices[i].container_path && s->devices[i].host_path);
                check(!p || (p[0] && strspn(p, "rwm") == strlen(p)));
        }
        for (size_t i = 0; i < s->n_hugepages; i++)
                check(s->hugepages[i].page_size != NULL);
        for (size_t i = 0; i < s->n_unified; i++)
                check(s->unified[i].key && s->unified[i].value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ctr_spec a, b;
        uint8_t *enc, *enc2;
        size_t len, len2;
        char err[256] = "";

        if (ctrspec_decode(data, size, &a, err, sizeof(err)) < 0) {
                check(err[0] != '\0' && a.storage == NULL && a.args == NULL);
                return 0;
        }
        promises(&a);
        check(ctrspec_encode(&a, &enc, &len, err, sizeof(err)) == 0);
        check(len <= size);
        check(ctrspec_decode(enc, len, &b, err, sizeof(err)) == 0);
        same(&a, &b);
        check(ctrspec_encode(&b, &enc2, &len2, err, sizeof(err)) == 0);
        check(len2 == len && memcmp(enc, enc2, len) == 0);
        free(enc2);
        free(enc);
        ctrspec_free(&b);
        ctrspec_free(&a);
        check(a.storage == NULL && a.args == NULL);
        return 0;
}
