/* ctrcheck.c: owns the rules of meaning CTR_CREATE applies to a decoded
 * container request (see ctrcheck.h). Everything here is a whitelist: what
 * is not described is refused, and the first field that breaks a rule is
 * the one the reason names. */
#include "ctrcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* How a reason quotes a request value: at most its first 64 bytes, so a
 * 4000-byte path cannot crowd out what the reason is about. */
#define VAL "\"%.64s\""

#define DIGITS "0123456789"

static int refuse(char *reason, size_t reason_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *reason, size_t reason_size, const char *fmt, ...)
{
        va_list ap;

        if (reason_size == 0)
                return -EINVAL;
        va_start(ap, fmt);
        vsnprintf(reason, reason_size, fmt, ap);
        va_end(ap);
        /* A quoted value may hold any byte; the reason goes to logs and
         * to kubelet, so it stays one line of plain text. */
        for (char *c = reason; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                        *c = '?';
        return -EINVAL;
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Whether every byte of s is in set (true for ""). */
static bool all_of(const char *s, const char *set)
{
        return s[strspn(s, set)] == '\0';
}

/* Whether path is normalised: 1..CTRSPEC_MAX_PATH bytes, absolute or
 * relative as asked, of non-empty components none of which is "." or "..",
 * so no "//" and no trailing '/' ("/" itself aside). */
static bool normalised(const char *path, bool absolute)
{
        size_t len = strnlen(path, CTRSPEC_MAX_PATH + 1);
        const char *p = path;

        if (len == 0 || len > CTRSPEC_MAX_PATH || (path[0] == '/') != absolute)
                return false;
        if (absolute) {
                if (len == 1)
                        return true;
                p++;
        }
        for (;;) {
                size_t n = strcspn(p, "/");

                if (n == 0 || (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))))
                        return false;
                if (p[n] == '\0')
                        return true;
                p += n + 1;
        }
}

bool ctrcheck_abs_path(const char *path)
{
        return normalised(path, true);
}

bool ctrcheck_id(const char *id)
{
        size_t n = 0;

        for (; id[n]; n++)
                if (!(is_digit(id[n]) || (id[n] >= 'a' && id[n] <= 'f')))
                        return false;
        return n == 64;
}

/* Whether normalised path is root or below it. Comparing whole components
 * keeps "/var/lib/brigx" out of "/var/lib/brig"; a root ending in '/' can
 * only be "/", below which is everything. */
static bool at_or_below(const char *path, const char *root)
{
        size_t n = strlen(root);

        return n > 0 && strncmp(path, root, n) == 0 &&
               (path[n] == '\0' || path[n] == '/' || root[n - 1] == '/');
}

static int check_process(const struct ctr_spec *spec, char *reason, size_t reason_size)
{
        if (spec->n_args == 0 || spec->args[0][0] == '\0')
                return refuse(reason, reason_size,
                              "args: no program (args[0] is missing or empty)");
        /* Env values may be secrets: the reason names the index only. */
        for (size_t i = 0; i < spec->n_env; i++) {
                const char *eq = strchr(spec->env[i], '=');

                if (!eq || eq == spec->env[i])
                        return refuse(reason, reason_size,
                                      "env %zu: not NAME=value with a non-empty NAME", i);
        }
        if (spec->cwd && !ctrcheck_abs_path(spec->cwd))
                return refuse(reason, reason_size,
                              "cwd " VAL " is not an absolute, normalised path", spec->cwd);
        if ((spec->flags & CTR_F_STDIN_ONCE) && !(spec->flags & CTR_F_STDIN))
                return refuse(reason, reason_size, "flags: stdin_once without stdin");
        return 0;
}

static int check_mount(const struct ctr_mount *m, size_t i, const struct ctrcheck_roots *roots,
                       char *reason, size_t reason_size)
{
        if (!ctrcheck_abs_path(m->destination))
                return refuse(reason, reason_size,
                              "mount %zu: destination " VAL " is not an absolute, normalised path",
                              i, m->destination);
        if (m->kind == CTR_MOUNT_BIND) {
                if (!ctrcheck_abs_path(m->source))
                        return refuse(reason, reason_size,
                                      "mount %zu: source " VAL
                                      " is not an absolute, normalised path",
                                      i, m->source);
                if (strcmp(m->source, "/") == 0)
                        return refuse(reason, reason_size,
                                      "mount %zu: source \"/\" would give the container the host",
                                      i);
                for (size_t d = 0; d < roots->n_denied; d++)
                        if (at_or_below(m->source, roots->denied[d]))
                                return refuse(reason, reason_size,
                                              "mount %zu: source " VAL " is brig's own %s or "
                                              "below it",
                                              i, m->source, roots->denied[d]);
        }
        if ((m->flags & CTR_M_RECURSIVE_READONLY) && !(m->flags & CTR_M_READONLY))
                return refuse(reason, reason_size,
                              "mount %zu: flags: recursive read-only without read-only", i);
        if ((m->flags & CTR_M_PROPAGATION_RSLAVE) && (m->flags & CTR_M_PROPAGATION_RSHARED))
                return refuse(reason, reason_size,
                              "mount %zu: flags: more than one propagation (rslave and rshared)",
                              i);
        return 0;
}

/* A non-empty subset of "rwm", each letter at most once. */
static bool permissions_ok(const char *p)
{
        static const char letters[] = "rwm";
        unsigned seen = 0;

        for (; *p; p++) {
                const char *at = strchr(letters, *p);
                unsigned bit;

                if (!at)
                        return false;
                bit = 1u << (at - letters);
                if (seen & bit)
                        return false;
                seen |= bit;
        }
        return seen != 0;
}

static int check_device(const struct ctr_device *d, size_t i, char *reason, size_t reason_size)
{
        if (!ctrcheck_abs_path(d->container_path))
                return refuse(reason, reason_size,
                              "device %zu: container path " VAL
                              " is not an absolute, normalised path",
                              i, d->container_path);
        /* normalised, so something follows the "/dev/" */
        if (!ctrcheck_abs_path(d->host_path) || strncmp(d->host_path, "/dev/", 5) != 0)
                return refuse(reason, reason_size,
                              "device %zu: host path " VAL " is not a normalised path below /dev/",
                              i, d->host_path);
        if (d->permissions && !permissions_ok(d->permissions))
                return refuse(reason, reason_size,
                              "device %zu: permissions " VAL
                              " are not a non-empty subset of \"rwm\"",
                              i, d->permissions);
        return 0;
}

static int check_filesystem(const struct ctr_spec *spec, const struct ctrcheck_roots *roots,
                            char *reason, size_t reason_size)
{
        int r;

        for (size_t i = 0; i < spec->n_layers; i++)
                if (strncmp(spec->layers[i], "sha256:", 7) != 0 ||
                    !ctrcheck_id(spec->layers[i] + 7))
                        return refuse(reason, reason_size,
                                      "layer %zu: " VAL " is not \"sha256:\" and 64 lowercase hex",
                                      i, spec->layers[i]);
        for (size_t i = 0; i < spec->n_mounts; i++)
                if ((r = check_mount(&spec->mounts[i], i, roots, reason, reason_size)) < 0)
                        return r;
        for (size_t i = 0; i < spec->n_volumes; i++)
                if (!ctrcheck_abs_path(spec->volumes[i]))
                        return refuse(reason, reason_size,
                                      "volume %zu: " VAL " is not an absolute, normalised path", i,
                                      spec->volumes[i]);
        for (size_t i = 0; i < spec->n_devices; i++)
                if ((r = check_device(&spec->devices[i], i, reason, reason_size)) < 0)
                        return r;
        return 0;
}

static int check_log(const struct ctr_spec *spec, const struct ctrcheck_roots *roots, char *reason,
                     size_t reason_size)
{
        if (!spec->log_directory != !spec->log_path)
                return refuse(reason, reason_size,
                              "log_directory and log_path: one is set without the other");
        if (!spec->log_directory)
                return 0;
        if (!ctrcheck_abs_path(spec->log_directory) ||
            !at_or_below(spec->log_directory, roots->log_root) ||
            strcmp(spec->log_directory, roots->log_root) == 0)
                return refuse(reason, reason_size,
                              "log_directory " VAL " is not a normalised path below %s",
                              spec->log_directory, roots->log_root);
        if (!normalised(spec->log_path, false))
                return refuse(reason, reason_size,
                              "log_path " VAL " is not a relative, normalised path",
                              spec->log_path);
        return 0;
}

static bool cgroup_char(char c)
{
        return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("._@:-", c));
}

/* A cgroupfs path, or a systemd slice name that the driver expands into
 * one; which of the two the node's driver takes is for its code to say. */
bool ctrcheck_cgroup_parent(const char *s)
{
        static const char suffix[] = ".slice";
        const size_t n_suffix = sizeof(suffix) - 1;
        size_t n = 0;

        for (; s[n]; n++)
                if (!cgroup_char(s[n]) && s[n] != '/')
                        return false;
        if (s[0] == '/')
                return ctrcheck_abs_path(s);
        return n > n_suffix && !strchr(s, '/') && strcmp(s + n - n_suffix, suffix) == 0;
}

/* digits then "KB", "MB" or "GB" */
static bool page_size_ok(const char *s)
{
        size_t digits = strspn(s, DIGITS);

        return digits > 0 && (strcmp(s + digits, "KB") == 0 || strcmp(s + digits, "MB") == 0 ||
                              strcmp(s + digits, "GB") == 0);
}

/* A cgroup v2 controller file name: [a-z0-9._] with a '.', not starting
 * with one (so never "." or ".."), and none of the core "cgroup.*" files,
 * which move processes in (cgroup.procs) or change the tree rather than
 * limit it. */
static bool unified_key_ok(const char *k)
{
        return all_of(k, "abcdefghijklmnopqrstuvwxyz" DIGITS "._") && k[0] != '.' &&
               strchr(k, '.') && strncmp(k, "cgroup.", strlen("cgroup.")) != 0;
}

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
                        return false;
        return true;
}

/* CRI sends 0 for a limit it does not set. */
static bool set(struct ctr_opt_i64 v)
{
        return v.has && v.v != 0;
}

static int check_resources(const struct ctr_spec *spec, char *reason, size_t reason_size)
{
        if (spec->cgroup_parent && !ctrcheck_cgroup_parent(spec->cgroup_parent))
                return refuse(reason, reason_size,
                              "cgroup_parent " VAL " is neither a normalised absolute path of "
                              "[A-Za-z0-9._@:-] nor a \"x.slice\" name",
                              spec->cgroup_parent);
        if (set(spec->memory_swap) && set(spec->memory_limit) && spec->memory_swap.v != -1 &&
            spec->memory_swap.v < spec->memory_limit.v)
                return refuse(reason, reason_size, "memory_swap %lld is below memory_limit %lld",
                              (long long)spec->memory_swap.v, (long long)spec->memory_limit.v);
        if (spec->oom_score_adj.has &&
            (spec->oom_score_adj.v < -1000 || spec->oom_score_adj.v > 1000))
                return refuse(reason, reason_size, "oom_score_adj %lld is outside -1000..1000",
                              (long long)spec->oom_score_adj.v);
        if (set(spec->cpu_shares) && (spec->cpu_shares.v < 2 || spec->cpu_shares.v > 262144))
                return refuse(reason, reason_size, "cpu_shares %lld is outside 2..262144",
                              (long long)spec->cpu_shares.v);
        if (set(spec->cpu_period) && (spec->cpu_period.v < 1000 || spec->cpu_period.v > 1000000))
                return refuse(reason, reason_size,
                              "cpu_period %lld is outside 1000..1000000 (microseconds)",
                              (long long)spec->cpu_period.v);
        if (spec->cpuset_cpus && !all_of(spec->cpuset_cpus, DIGITS ",-"))
                return refuse(reason, reason_size,
                              "cpuset_cpus " VAL " holds more than digits, ',' and '-'",
                              spec->cpuset_cpus);
        if (spec->cpuset_mems && !all_of(spec->cpuset_mems, DIGITS ",-"))
                return refuse(reason, reason_size,
                              "cpuset_mems " VAL " holds more than digits, ',' and '-'",
                              spec->cpuset_mems);
        for (size_t i = 0; i < spec->n_hugepages; i++)
                if (!page_size_ok(spec->hugepages[i].page_size))
                        return refuse(reason, reason_size,
                                      "hugepage %zu: page size " VAL
                                      " is not digits and KB, MB or GB",
                                      i, spec->hugepages[i].page_size);
        for (size_t i = 0; i < spec->n_unified; i++) {
                if (!unified_key_ok(spec->unified[i].key))
                        return refuse(reason, reason_size,
                                      "unified %zu: key " VAL
                                      " is not a cgroup file name such as \"memory.high\"",
                                      i, spec->unified[i].key);
                if (!printable(spec->unified[i].value))
                        return refuse(reason, reason_size,
                                      "unified %zu: the value is not printable ASCII", i);
        }
        return 0;
}

/* "ALL", or 1..32 of [A-Z_] after an optional "CAP_", either in any case. */
static bool cap_ok(const char *c)
{
        size_t n = 0;

        if (strcasecmp(c, "ALL") == 0)
                return true;
        if (strncasecmp(c, "CAP_", 4) == 0)
                c += 4;
        for (; c[n]; n++)
                if (!is_alpha(c[n]) && c[n] != '_')
                        return false;
        return n >= 1 && n <= 32;
}

static int check_caps(const char *what, const char *const *caps, size_t n, char *reason,
                      size_t reason_size)
{
        for (size_t i = 0; i < n; i++)
                if (!cap_ok(caps[i]))
                        return refuse(reason, reason_size,
                                      "%s %zu: " VAL " is not \"ALL\" or a capability name", what,
                                      i, caps[i]);
        return 0;
}

int ctrcheck_spec(const struct ctr_spec *spec, const struct ctrcheck_roots *roots, char *reason,
                  size_t reason_size)
{
        int r;

        if ((r = check_process(spec, reason, reason_size)) < 0 ||
            (r = check_filesystem(spec, roots, reason, reason_size)) < 0)
                return r;
        if (spec->pid_target && !ctrcheck_id(spec->pid_target))
                return refuse(reason, reason_size,
                              "pid_target " VAL " is not a container id (64 lowercase hex)",
                              spec->pid_target);
        if ((r = check_log(spec, roots, reason, reason_size)) < 0 ||
            (r = check_resources(spec, reason, reason_size)) < 0 ||
            (r = check_caps("cap_add", spec->cap_add, spec->n_cap_add, reason, reason_size)) < 0)
                return r;
        return check_caps("cap_drop", spec->cap_drop, spec->n_cap_drop, reason, reason_size);
}
