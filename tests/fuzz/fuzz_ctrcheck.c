/* fuzz_ctrcheck.c: libFuzzer target for privhelper/ctrcheck.h. Each input
 * is checked twice:
 *  - as a spec stream: when ctrspec_decode() takes it, the decoded request
 *    is checked, which is the helper's own path;
 *  - as a request built from the bytes directly, so the fuzzer reaches
 *    every rule without having to keep TLV lengths right. The first byte is
 *    the CTR_F_* flags, the next FUZZ_INTS * 8 the optional integers (the
 *    low bit of each one's first byte says whether it is sent), the rest
 *    NUL-separated strings whose first byte picks the field (enum field)
 *    and whose other bytes are its value; a record takes its other strings
 *    from those that follow, whole.
 * Besides memory errors it checks, on a second implementation written for
 * plain reading, what the helper relies on after an acceptance: paths
 * absolute (or, for log_path, relative) without ".", ".." or empty
 * components, no BIND source at or below a denied root or "/", the log
 * directory strictly below the log root, ids and digests of hex, unified
 * keys without '/', and on a refusal -EINVAL with a short reason of plain
 * text. A broken invariant aborts. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrspec.h"
#include "privhelper/ctrcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static const char *const denied[] = {"/var/lib/brig", "/run/brig", "/etc/brig"};
static const struct ctrcheck_roots roots = {denied, 3, "/var/log/pods"};

/* ---- the oracle ------------------------------------------------------------ */

/* No empty, "." or ".." component in the n bytes at p, read as components
 * between '/' separators. */
static bool components_ok(const char *p, size_t n)
{
        size_t start = 0;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && p[i] != '/')
                        continue;
                size_t len = i - start;

                if (len == 0 || (len == 1 && p[start] == '.') ||
                    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
                        return false;
                start = i + 1;
        }
        return true;
}

static bool abs_ok(const char *p)
{
        size_t n = strlen(p);

        return n >= 1 && n <= CTRSPEC_MAX_PATH && p[0] == '/' &&
               (n == 1 || components_ok(p + 1, n - 1));
}

static bool hex64(const char *s)
{
        return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Whether path is root or has root and a '/' at its start. */
static bool reaches(const char *path, const char *root)
{
        size_t n = strlen(root);

        return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void caps_ok(const char *const *caps, size_t n)
{
        for (size_t i = 0; i < n; i++)
                check(caps[i][0] != '\0' &&
                      strspn(caps[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") ==
                          strlen(caps[i]));
}

static void check_accepted(const struct ctr_spec *s)
{
        check(s->n_args >= 1 && s->args[0][0] != '\0');
        for (size_t i = 0; i < s->n_env; i++)
                check(strchr(s->env[i], '=') > s->env[i]);
        check(!s->cwd || abs_ok(s->cwd));
        check(!(s->flags & CTR_F_STDIN_ONCE) || (s->flags & CTR_F_STDIN));
        for (size_t i = 0; i < s->n_layers; i++)
                check(strncmp(s->layers[i], "sha256:", 7) == 0 && hex64(s->layers[i] + 7));
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct ctr_mount *m = &s->mounts[i];

                check(abs_ok(m->destination));
                if (m->kind == CTR_MOUNT_BIND) {
                        check(abs_ok(m->source) && strcmp(m->source, "/") != 0);
                        for (size_t d = 0; d < roots.n_denied; d++)
                                check(!reaches(m->source, roots.denied[d]));
                }
                check(!(m->flags & CTR_M_RECURSIVE_READONLY) || (m->flags & CTR_M_READONLY));
                check((m->flags & (CTR_M_PROPAGATION_RSLAVE | CTR_M_PROPAGATION_RSHARED)) !=
                      (CTR_M_PROPAGATION_RSLAVE | CTR_M_PROPAGATION_RSHARED));
        }
        for (size_t i = 0; i < s->n_volumes; i++)
                check(abs_ok(s->volumes[i]));
        for (size_t i = 0; i < s->n_devices; i++) {
                const struct ctr_device *d = &s->devices[i];

                check(abs_ok(d->container_path));
                check(abs_ok(d->host_path) && strncmp(d->host_path, "/dev/", 5) == 0);
                check(!d->permissions ||
                      (strlen(d->permissions) >= 1 && strlen(d->permissions) <= 3 &&
                       strspn(d->permissions, "rwm") == strlen(d->permissions)));
        }
        check(!s->pid_target || hex64(s->pid_target));
        check(!s->log_directory == !s->log_path);
        if (s->log_directory) {
                size_t root = strlen(roots.log_root);

                check(abs_ok(s->log_directory));
                check(strncmp(s->log_directory, roots.log_root, root) == 0 &&
                      s->log_directory[root] == '/');
                check(s->log_path[0] != '/' && components_ok(s->log_path, strlen(s->log_path)));
        }
        if (s->cgroup_parent) {
                const char *c = s->cgroup_parent;

                check(c[0] == '/' ? abs_ok(c) : !strchr(c, '/'));
                check(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                "._@:-/") == strlen(c));
        }
        for (size_t i = 0; i < s->n_unified; i++) {
                const char *k = s->unified[i].key;

                check(!strchr(k, '/') && strcmp(k, ".") != 0 && strcmp(k, "..") != 0);
                for (const char *c = s->unified[i].value; *c; c++)
                        check(*c >= 0x20 && *c <= 0x7e);
        }
        caps_ok(s->cap_add, s->n_cap_add);
        caps_ok(s->cap_drop, s->n_cap_drop);
}

static void check_spec(const struct ctr_spec *s)
{
        char reason[512];

        reason[0] = '\0';
        int r = ctrcheck_spec(s, &roots, reason, sizeof(reason));
        if (r == 0) {
                check_accepted(s);
                return;
        }
        check(r == -EINVAL);
        /* fixed text and at most 64 bytes of one value, plain text */
        check(reason[0] != '\0' && strlen(reason) < 64 + 120);
        for (const char *c = reason; *c; c++)
                check(*c >= 0x20 && *c <= 0x7e);
}

/* ---- a request from bytes -------------------------------------------------- */

/* What a string's first byte (modulo N_FIELDS) makes it. */
enum field {
        F_ARG,
        F_ENV,
        F_CWD,
        F_PID_TARGET,
        F_LAYER,
        F_MOUNT, /* destination; BIND (see below) takes the next string as source */
        F_VOLUME,
        F_DEVICE, /* container path, then host path, then maybe permissions */
        F_LOG_DIRECTORY,
        F_LOG_PATH,
        F_CGROUP_PARENT,
        F_CPUSET_CPUS,
        F_CPUSET_MEMS,
        F_HUGEPAGE,
        F_UNIFIED, /* key, then the next string as value */
        F_CAP_ADD,
        F_CAP_DROP,
        N_FIELDS
};

#define MAX_ITEMS 8
#define FUZZ_INTS 7

struct built {
        const char *args[MAX_ITEMS], *env[MAX_ITEMS], *layers[MAX_ITEMS], *volumes[MAX_ITEMS];
        const char *cap_add[MAX_ITEMS], *cap_drop[MAX_ITEMS];
        struct ctr_mount mounts[MAX_ITEMS];
        struct ctr_device devices[MAX_ITEMS];
        struct ctr_hugepage hugepages[MAX_ITEMS];
        struct ctr_unified unified[MAX_ITEMS];
        struct ctr_spec s;
};

/* Appends v to an array of at most MAX_ITEMS, dropping what overflows. */
static void add(const char **array, size_t *n, const char *v)
{
        if (*n < MAX_ITEMS)
                array[(*n)++] = v;
}

/* The next string of the NUL-separated ones in [*p, end); past them, the
 * empty string at end. */
static char *next_string(char **p, char *end)
{
        char *s = *p;

        if (s >= end)
                return end;
        *p += strlen(s) + 1;
        return s;
}

/* Fills b from text (len bytes, NUL-terminated at text[len]). The selector
 * byte's quotient by N_FIELDS carries a record's extras: a mount's kind,
 * whether a device has permissions; a mount's flags are the first byte of
 * its value. */
static void build(struct built *b, uint8_t flags, const uint8_t *ints, char *text, size_t len)
{
        struct ctr_spec *s = &b->s;
        struct ctr_opt_i64 *opt[FUZZ_INTS] = {&s->cpu_period,  &s->cpu_shares,    &s->memory_limit,
                                              &s->memory_swap, &s->oom_score_adj, &s->cpu_quota,
                                              &s->pids_limit};
        char *p = text, *end = text + len;

        memset(b, 0, sizeof(*b));
        *s = (struct ctr_spec){.args = b->args,
                               .env = b->env,
                               .layers = b->layers,
                               .mounts = b->mounts,
                               .volumes = b->volumes,
                               .devices = b->devices,
                               .hugepages = b->hugepages,
                               .unified = b->unified,
                               .cap_add = b->cap_add,
                               .cap_drop = b->cap_drop,
                               .flags = flags & CTR_F_ALL};
        for (size_t i = 0; i < FUZZ_INTS; i++) {
                opt[i]->has = ints[8 * i] & 1;
                memcpy(&opt[i]->v, ints + 8 * i, 8);
        }
        while (p < end) {
                char *str = next_string(&p, end);
                unsigned sel = (unsigned char)str[0], extra = sel / N_FIELDS;
                const char *v = str[0] ? str + 1 : str;

                switch (sel % N_FIELDS) {
                case F_ARG:
                        add(b->args, &s->n_args, v);
                        break;
                case F_ENV:
                        add(b->env, &s->n_env, v);
                        break;
                case F_CWD:
                        s->cwd = v;
                        break;
                case F_PID_TARGET:
                        s->pid_mode = CTR_PID_TARGET;
                        s->pid_target = v;
                        break;
                case F_LAYER:
                        add(b->layers, &s->n_layers, v);
                        break;
                case F_MOUNT: {
                        struct ctr_mount m = {.destination = v[0] ? v + 1 : v,
                                              .kind = extra % (CTR_MOUNT_POD_SHM + 1),
                                              .flags = (unsigned char)v[0] & CTR_M_ALL};

                        if (m.kind == CTR_MOUNT_BIND)
                                m.source = next_string(&p, end);
                        if (s->n_mounts < MAX_ITEMS)
                                b->mounts[s->n_mounts++] = m;
                        break;
                }
                case F_VOLUME:
                        add(b->volumes, &s->n_volumes, v);
                        break;
                case F_DEVICE: {
                        struct ctr_device d = {.container_path = v};

                        d.host_path = next_string(&p, end);
                        if (extra & 1)
                                d.permissions = next_string(&p, end);
                        if (s->n_devices < MAX_ITEMS)
                                b->devices[s->n_devices++] = d;
                        break;
                }
                case F_LOG_DIRECTORY:
                        s->log_directory = v;
                        break;
                case F_LOG_PATH:
                        s->log_path = v;
                        break;
                case F_CGROUP_PARENT:
                        s->cgroup_parent = v;
                        break;
                case F_CPUSET_CPUS:
                        s->cpuset_cpus = v;
                        break;
                case F_CPUSET_MEMS:
                        s->cpuset_mems = v;
                        break;
                case F_HUGEPAGE:
                        if (s->n_hugepages < MAX_ITEMS)
                                b->hugepages[s->n_hugepages++] =
                                    (struct ctr_hugepage){.page_size = v};
                        break;
                case F_UNIFIED: {
                        struct ctr_unified u = {.key = v, .value = next_string(&p, end)};

                        if (s->n_unified < MAX_ITEMS)
                                b->unified[s->n_unified++] = u;
                        break;
                }
                case F_CAP_ADD:
                        add(b->cap_add, &s->n_cap_add, v);
                        break;
                case F_CAP_DROP:
                        add(b->cap_drop, &s->n_cap_drop, v);
                        break;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct built b;
        struct ctr_spec decoded;
        const size_t head = 1 + FUZZ_INTS * 8;
        char *text;

        if (ctrspec_decode(data, size, &decoded, NULL, 0) == 0) {
                check_spec(&decoded);
                ctrspec_free(&decoded);
        }

        if (size < head)
                return 0;
        /* a copy, so the last string is terminated whatever the input */
        text = malloc(size - head + 1);
        if (!text)
                return 0;
        memcpy(text, data + head, size - head);
        text[size - head] = '\0';
        build(&b, data[0], data + 1, text, size - head);
        check_spec(&b.s);
        free(text);
        return 0;
}
