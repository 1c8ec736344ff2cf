/* ocispec.c: owns the shape of the config.json brig-helper hands the OCI
 * runtime (see ocispec.h): the defaults a Kubernetes container gets, the
 * checks each resolved value passes once more where it is written, and the
 * order of the document. The field names follow runtime-spec 1.0.2
 * config.md and config-linux.md. */
#include "ocispec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

struct ctx {
        struct jsonw w;
        char *err;
        size_t err_size;
};

static int bad(struct ctx *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->err, c->err_size, fmt, ap);
        va_end(ap);
        return r;
}

/* Writes s as a value; on failure names the field (built from what) but
 * never echoes s, which came from brigd. */
static int str(struct ctx *c, const char *s, const char *what, ...)
    __attribute__((format(printf, 3, 4)));

static int str(struct ctx *c, const char *s, const char *what, ...)
{
        char name[96];
        va_list ap;
        int r = jsonw_string(&c->w, s);

        if (r == 0)
                return 0;
        va_start(ap, what);
        vsnprintf(name, sizeof(name), what, ap);
        va_end(ap);
        if (r == -EILSEQ)
                return bad(c, r, "%s is not valid UTF-8", name);
        return bad(c, r, "cannot write %s: %s", name, strerror(-r));
}

/* key: value, for values the helper itself chose */
static void kstr(struct ctx *c, const char *key, const char *value)
{
        jsonw_key(&c->w, key);
        jsonw_string(&c->w, value);
}

static void kint(struct ctx *c, const char *key, int64_t value)
{
        jsonw_key(&c->w, key);
        jsonw_int(&c->w, value);
}

static void kbool(struct ctx *c, const char *key, bool value)
{
        jsonw_key(&c->w, key);
        jsonw_bool(&c->w, value);
}

static void str_array(struct ctx *c, const char *key, const char *const *items, size_t n)
{
        jsonw_key(&c->w, key);
        jsonw_begin_array(&c->w);
        for (size_t i = 0; i < n; i++)
                jsonw_string(&c->w, items[i]);
        jsonw_end_array(&c->w);
}

/* An absolute path without "." or ".." components and not "/" itself, so a
 * destination means what it says inside the root. */
static bool is_clean_abs_path(const char *p)
{
        if (p[0] != '/' || p[1] == '\0')
                return false;
        for (const char *s = p + 1; *s;) {
                size_t len = strcspn(s, "/");

                if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                s += len;
                if (*s == '/')
                        s++;
        }
        return true;
}

static bool all_of(const char *s, const char *set)
{
        return s[0] != '\0' && s[strspn(s, set)] == '\0';
}

#define UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER  "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* ---- process ---------------------------------------------------------- */

static const char *const rlimit_names[] = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
};

static int write_rlimits(struct ctx *c, const struct oci_config_input *in)
{
        static const struct oci_rlimit nofile = {"RLIMIT_NOFILE", OCISPEC_DEFAULT_NOFILE,
                                                 OCISPEC_DEFAULT_NOFILE};
        const struct oci_rlimit *rl = in->n_rlimits ? in->rlimits : &nofile;
        size_t n = in->n_rlimits ? in->n_rlimits : 1;

        jsonw_key(&c->w, "rlimits");
        jsonw_begin_array(&c->w);
        for (size_t i = 0; i < n; i++) {
                bool known = false;

                for (size_t k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
                        known = known || strcmp(rl[i].type, rlimit_names[k]) == 0;
                if (!known)
                        return bad(c, -EINVAL, "rlimits[%zu]: unknown type", i);
                if (rl[i].soft > rl[i].hard)
                        return bad(c, -EINVAL, "rlimits[%zu] (%s): soft limit above the hard one",
                                   i, rl[i].type);
                jsonw_begin_object(&c->w);
                kstr(c, "type", rl[i].type);
                jsonw_key(&c->w, "hard");
                jsonw_uint(&c->w, rl[i].hard);
                jsonw_key(&c->w, "soft");
                jsonw_uint(&c->w, rl[i].soft);
                jsonw_end_object(&c->w);
        }
        jsonw_end_array(&c->w);
        return 0;
}

static int write_capabilities(struct ctx *c, const struct oci_config_input *in)
{
        static const char *const sets[] = {"bounding", "effective", "permitted"};

        for (size_t i = 0; i < in->n_caps; i++)
                if (strncmp(in->caps[i], "CAP_", 4) != 0 ||
                    !all_of(in->caps[i] + 4, UPPER DIGITS "_"))
                        return bad(c, -EINVAL, "capability %zu is not a CAP_ name", i);
        jsonw_key(&c->w, "capabilities");
        jsonw_begin_object(&c->w);
        for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++)
                str_array(c, sets[s], in->caps, in->n_caps);
        str_array(c, "inheritable", NULL, 0);
        str_array(c, "ambient", NULL, 0);
        jsonw_end_object(&c->w);
        return 0;
}

static int write_process(struct ctx *c, const struct oci_config_input *in)
{
        const struct ctr_spec *sp = in->spec;
        const char *cwd = sp->cwd ? sp->cwd : "/";
        int r;

        if (sp->n_args == 0 || sp->args[0][0] == '\0')
                return bad(c, -EINVAL, "the container has no command (args is empty)");
        if (cwd[0] != '/')
                return bad(c, -EINVAL, "the working directory must be an absolute path");
        /* (uid_t)-1 is "no change" to the kernel, never a user */
        if (in->user.uid == UINT32_MAX || in->user.gid == UINT32_MAX)
                return bad(c, -ERANGE, "uid or gid 4294967295 is not a valid id");
        for (size_t i = 0; i < in->user.n_additional_gids; i++)
                if (in->user.additional_gids[i] == UINT32_MAX)
                        return bad(c, -ERANGE, "additional gid %zu is 4294967295, not a valid id",
                                   i);
        if (sp->oom_score_adj.has && (sp->oom_score_adj.v < -1000 || sp->oom_score_adj.v > 1000))
                return bad(c, -ERANGE, "oom_score_adj %lld is outside -1000..1000",
                           (long long)sp->oom_score_adj.v);

        jsonw_key(&c->w, "process");
        jsonw_begin_object(&c->w);
        kbool(c, "terminal", sp->flags & CTR_F_TTY);

        jsonw_key(&c->w, "user");
        jsonw_begin_object(&c->w);
        kint(c, "uid", in->user.uid);
        kint(c, "gid", in->user.gid);
        jsonw_key(&c->w, "additionalGids");
        jsonw_begin_array(&c->w);
        for (size_t i = 0; i < in->user.n_additional_gids; i++)
                jsonw_uint(&c->w, in->user.additional_gids[i]);
        jsonw_end_array(&c->w);
        jsonw_end_object(&c->w);

        jsonw_key(&c->w, "args");
        jsonw_begin_array(&c->w);
        for (size_t i = 0; i < sp->n_args; i++)
                if ((r = str(c, sp->args[i], "args[%zu]", i)) < 0)
                        return r;
        jsonw_end_array(&c->w);

        jsonw_key(&c->w, "env");
        jsonw_begin_array(&c->w);
        for (size_t i = 0; i < sp->n_env; i++) {
                const char *eq = strchr(sp->env[i], '=');

                if (!eq || eq == sp->env[i])
                        return bad(c, -EINVAL, "env[%zu] is not NAME=value", i);
                if ((r = str(c, sp->env[i], "env[%zu]", i)) < 0)
                        return r;
        }
        jsonw_end_array(&c->w);

        jsonw_key(&c->w, "cwd");
        if ((r = str(c, cwd, "the working directory")) < 0)
                return r;
        if ((r = write_capabilities(c, in)) < 0 || (r = write_rlimits(c, in)) < 0)
                return r;
        kbool(c, "noNewPrivileges", !(sp->flags & CTR_F_ALLOW_PRIV_ESC));
        if (sp->oom_score_adj.has)
                kint(c, "oomScoreAdj", sp->oom_score_adj.v);
        jsonw_end_object(&c->w);
        return 0;
}

/* ---- mounts ----------------------------------------------------------- */

/* The options runc 1.1 turns into mount flags or propagation (`runc
 * features`, less "remount", which is runc's own business). Anything else
 * runc would pass to mount(2) as data, where a bind mount ignores it. */
static const char *const mount_flags[] = {
    "async",      "atime",        "bind",        "defaults",   "dev",
    "diratime",   "dirsync",      "exec",        "iversion",   "lazytime",
    "mand",       "noatime",      "nodev",       "nodiratime", "noexec",
    "noiversion", "nolazytime",   "nomand",      "norelatime", "nostrictatime",
    "nosuid",     "nosymfollow",  "private",     "rbind",      "relatime",
    "ro",         "rprivate",     "rro",         "rrw",        "rshared",
    "rslave",     "rnosuid",      "rnodev",      "rnoexec",    "rnoatime",
    "rrelatime",  "rnosymfollow", "runbindable", "rw",         "shared",
    "slave",      "strictatime",  "suid",        "symfollow",  "sync",
    "unbindable",
};

/* tmpfs data options, with their values checked for a plain form */
static const char *const mount_data[] = {"mode=", "size=", "uid=", "gid=", "nr_inodes="};

static bool mount_option_ok(const char *o)
{
        for (size_t i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++)
                if (strcmp(o, mount_flags[i]) == 0)
                        return true;
        for (size_t i = 0; i < sizeof(mount_data) / sizeof(mount_data[0]); i++) {
                size_t n = strlen(mount_data[i]);

                if (strncmp(o, mount_data[i], n) == 0 && all_of(o + n, DIGITS "kmgKMG%"))
                        return true;
        }
        return false;
}

static void std_mount(struct ctx *c, const char *dest, const char *type, const char *source,
                      const char *const *options, size_t n)
{
        jsonw_begin_object(&c->w);
        kstr(c, "destination", dest);
        kstr(c, "type", type);
        kstr(c, "source", source);
        str_array(c, "options", options, n);
        jsonw_end_object(&c->w);
}

#define STD_MOUNT(c, dest, type, source, ...)                                                      \
        do {                                                                                       \
                static const char *const o_[] = {__VA_ARGS__};                                     \
                std_mount(c, dest, type, source, o_, sizeof(o_) / sizeof(o_[0]));                  \
        } while (0)

static int write_user_mount(struct ctx *c, size_t i, const struct oci_mount *m)
{
        int r;

        if (!m->destination || !is_clean_abs_path(m->destination))
                return bad(c, -EINVAL,
                           "mounts[%zu]: the destination must be an absolute path without . or "
                           ".. components",
                           i);
        if (!m->type || !all_of(m->type, LOWER DIGITS "_.-"))
                return bad(c, -EINVAL, "mounts[%zu]: the type must be a file system name", i);
        if (strcmp(m->type, "bind") == 0 && (!m->source || m->source[0] != '/'))
                return bad(c, -EINVAL, "mounts[%zu]: a bind mount needs an absolute source", i);
        for (size_t k = 0; k < m->n_options; k++)
                if (!mount_option_ok(m->options[k]))
                        return bad(c, -EINVAL,
                                   "mounts[%zu]: option %zu is not one runc applies (it would "
                                   "be ignored)",
                                   i, k);

        jsonw_begin_object(&c->w);
        jsonw_key(&c->w, "destination");
        if ((r = str(c, m->destination, "mounts[%zu].destination", i)) < 0)
                return r;
        kstr(c, "type", m->type);
        if (m->source) {
                jsonw_key(&c->w, "source");
                if ((r = str(c, m->source, "mounts[%zu].source", i)) < 0)
                        return r;
        }
        str_array(c, "options", m->options, m->n_options);
        jsonw_end_object(&c->w);
        return 0;
}

static int write_mounts(struct ctx *c, const struct oci_config_input *in)
{
        bool priv = in->spec->flags & CTR_F_PRIVILEGED;
        int r;

        jsonw_key(&c->w, "mounts");
        jsonw_begin_array(&c->w);
        STD_MOUNT(c, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
        STD_MOUNT(c, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
        STD_MOUNT(c, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance",
                  "ptmxmode=0666", "mode=0620", "gid=5");
        STD_MOUNT(c, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
        if (priv) {
                STD_MOUNT(c, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "rw");
                STD_MOUNT(c, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev",
                          "relatime", "rw");
        } else {
                STD_MOUNT(c, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
                STD_MOUNT(c, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev",
                          "relatime", "ro");
        }
        if (in->shm_source) {
                static const char *const shm_opts[] = {"rbind", "rprivate", "nosuid", "noexec",
                                                       "nodev"};

                if (in->shm_source[0] != '/')
                        return bad(c, -EINVAL, "the /dev/shm source must be an absolute path");
                jsonw_begin_object(&c->w);
                kstr(c, "destination", "/dev/shm");
                kstr(c, "type", "bind");
                jsonw_key(&c->w, "source");
                if ((r = str(c, in->shm_source, "the /dev/shm source")) < 0)
                        return r;
                str_array(c, "options", shm_opts, sizeof(shm_opts) / sizeof(shm_opts[0]));
                jsonw_end_object(&c->w);
        } else {
                STD_MOUNT(c, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777",
                          "size=65536k");
        }
        for (size_t i = 0; i < in->n_mounts; i++)
                if ((r = write_user_mount(c, i, &in->mounts[i])) < 0)
                        return r;
        jsonw_end_array(&c->w);
        return 0;
}

/* ---- linux ------------------------------------------------------------ */

static int write_namespace(struct ctx *c, const char *type, const struct oci_namespace *ns)
{
        int r;

        switch (ns->mode) {
        case OCI_NS_NODE:
                if (ns->path)
                        return bad(c, -EINVAL, "the %s namespace is the node's but has a path",
                                   type);
                return 0;
        case OCI_NS_NEW:
                if (ns->path)
                        return bad(c, -EINVAL, "the %s namespace is new but has a path", type);
                jsonw_begin_object(&c->w);
                kstr(c, "type", type);
                jsonw_end_object(&c->w);
                return 0;
        case OCI_NS_JOIN:
                if (!ns->path || ns->path[0] != '/')
                        return bad(c, -EINVAL, "the %s namespace to join needs an absolute path",
                                   type);
                jsonw_begin_object(&c->w);
                kstr(c, "type", type);
                jsonw_key(&c->w, "path");
                if ((r = str(c, ns->path, "the %s namespace path", type)) < 0)
                        return r;
                jsonw_end_object(&c->w);
                return 0;
        }
        return bad(c, -EINVAL, "the %s namespace has an unknown mode %d", type, (int)ns->mode);
}

static int write_namespaces(struct ctx *c, const struct oci_config_input *in)
{
        static const struct oci_namespace new_ns = {OCI_NS_NEW, NULL};
        int r;

        jsonw_key(&c->w, "namespaces");
        jsonw_begin_array(&c->w);
        if ((r = write_namespace(c, "pid", &in->pid)) < 0 ||
            (r = write_namespace(c, "network", &in->net)) < 0 ||
            (r = write_namespace(c, "ipc", &in->ipc)) < 0 ||
            (r = write_namespace(c, "uts", &in->uts)) < 0 ||
            (r = write_namespace(c, "mount", &new_ns)) < 0 ||
            (r = write_namespace(c, "cgroup", &new_ns)) < 0)
                return r;
        jsonw_end_array(&c->w);
        return 0;
}

/* The kernel's dev_t has 12 bits of major and 20 of minor. */
#define MAJOR_MAX 4095
#define MINOR_MAX 1048575

static int write_devices(struct ctx *c, const struct oci_config_input *in)
{
        int r;

        jsonw_key(&c->w, "devices");
        jsonw_begin_array(&c->w);
        for (size_t i = 0; i < in->n_devices; i++) {
                const struct oci_device *d = &in->devices[i];
                const char *access = d->access ? d->access : "rwm";

                if (!d->path || !is_clean_abs_path(d->path))
                        return bad(c, -EINVAL,
                                   "devices[%zu]: the path must be absolute without . or .. "
                                   "components",
                                   i);
                if (d->type != 'c' && d->type != 'b')
                        return bad(c, -EINVAL, "devices[%zu]: the type must be 'c' or 'b'", i);
                if (d->major < 0 || d->major > MAJOR_MAX || d->minor < 0 || d->minor > MINOR_MAX)
                        return bad(c, -ERANGE, "devices[%zu]: device number out of range", i);
                if (d->file_mode > 07777)
                        return bad(c, -EINVAL,
                                   "devices[%zu]: the file mode has more than "
                                   "permission bits",
                                   i);
                if (strlen(access) > 3 || !all_of(access, "rwm") ||
                    strchr(access, 'r') != strrchr(access, 'r') ||
                    strchr(access, 'w') != strrchr(access, 'w') ||
                    strchr(access, 'm') != strrchr(access, 'm'))
                        return bad(c, -EINVAL, "devices[%zu]: access must be letters of \"rwm\"",
                                   i);
                jsonw_begin_object(&c->w);
                jsonw_key(&c->w, "path");
                if ((r = str(c, d->path, "devices[%zu].path", i)) < 0)
                        return r;
                kstr(c, "type", d->type == 'c' ? "c" : "b");
                kint(c, "major", d->major);
                kint(c, "minor", d->minor);
                kint(c, "fileMode", d->file_mode);
                kint(c, "uid", d->uid);
                kint(c, "gid", d->gid);
                jsonw_end_object(&c->w);
        }
        jsonw_end_array(&c->w);
        return 0;
}

/* One device cgroup rule; major or minor -1 is the wildcard, left out. */
static void dev_rule(struct ctx *c, bool allow, const char *type, int64_t major, int64_t minor,
                     const char *access)
{
        jsonw_begin_object(&c->w);
        kbool(c, "allow", allow);
        if (type)
                kstr(c, "type", type);
        if (major >= 0)
                kint(c, "major", major);
        if (minor >= 0)
                kint(c, "minor", minor);
        kstr(c, "access", access);
        jsonw_end_object(&c->w);
}

/* The character devices every container may use (containerd's and runc's
 * default list): null, zero, full, random, urandom, tty, ptmx, the pts
 * range, and mknod of any node (creating one gives no access to it).
 * /dev/console (5:1) is not among them: the runtime bind-mounts the pty it
 * allocates there, which the pts rule covers. */
static void write_device_cgroup(struct ctx *c, const struct oci_config_input *in)
{
        static const struct {
                int major, minor;
        } std[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}, {136, -1}};

        jsonw_key(&c->w, "devices");
        jsonw_begin_array(&c->w);
        if (in->spec->flags & CTR_F_PRIVILEGED) {
                dev_rule(c, true, NULL, -1, -1, "rwm");
                jsonw_end_array(&c->w);
                return;
        }
        dev_rule(c, false, NULL, -1, -1, "rwm");
        for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
                dev_rule(c, true, "c", std[i].major, std[i].minor, "rwm");
        dev_rule(c, true, "c", -1, -1, "m");
        dev_rule(c, true, "b", -1, -1, "m");
        for (size_t i = 0; i < in->n_devices; i++) {
                const struct oci_device *d = &in->devices[i];

                dev_rule(c, true, d->type == 'c' ? "c" : "b", d->major, d->minor,
                         d->access ? d->access : "rwm");
        }
        jsonw_end_array(&c->w);
}

/* "2MB", "1GB", "64KB": the form runc maps onto hugetlb.<size>.* files */
static bool page_size_ok(const char *s)
{
        size_t digits = strspn(s, DIGITS);

        return digits > 0 && digits < 8 &&
               (strcmp(s + digits, "KB") == 0 || strcmp(s + digits, "MB") == 0 ||
                strcmp(s + digits, "GB") == 0);
}

/* A cgroup v2 interface file "controller.name". cgroup.* core files are
 * refused: they move processes or change the tree, not a limit. */
static bool unified_key_ok(const char *k)
{
        const char *dot = strchr(k, '.');

        return all_of(k, LOWER DIGITS "_.") && dot && dot != k && dot[1] != '\0' &&
               strncmp(k, "cgroup.", 7) != 0;
}

static bool printable_ascii(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
                        return false;
        return true;
}

static int check_resources(struct ctx *c, const struct ctr_spec *sp)
{
        const struct ctr_opt_i64 *mem = &sp->memory_limit, *swap = &sp->memory_swap;

        if (sp->cpu_shares.has && sp->cpu_shares.v != 0 &&
            (sp->cpu_shares.v < 2 || sp->cpu_shares.v > 262144))
                return bad(c, -ERANGE, "cpu_shares %lld is outside 2..262144",
                           (long long)sp->cpu_shares.v);
        if (sp->cpu_period.has && sp->cpu_period.v != 0 &&
            (sp->cpu_period.v < 1000 || sp->cpu_period.v > 1000000))
                return bad(c, -ERANGE, "cpu_period %lld is outside 1000..1000000 (microseconds)",
                           (long long)sp->cpu_period.v);
        if (sp->cpu_quota.has && sp->cpu_quota.v != 0 && sp->cpu_quota.v != -1 &&
            sp->cpu_quota.v < 1000)
                return bad(c, -ERANGE, "cpu_quota %lld is neither -1 nor at least 1000",
                           (long long)sp->cpu_quota.v);
        if (mem->has && mem->v < 0)
                return bad(c, -ERANGE, "memory_limit %lld is negative", (long long)mem->v);
        if (swap->has && swap->v != 0 && swap->v != -1) {
                if (swap->v < 0)
                        return bad(c, -ERANGE, "memory_swap %lld is neither -1 nor positive",
                                   (long long)swap->v);
                /* runc refuses a memory+swap limit without, or below, a memory limit */
                if (!mem->has || mem->v == 0 || swap->v < mem->v)
                        return bad(c, -ERANGE,
                                   "memory_swap %lld needs a memory_limit no larger than it",
                                   (long long)swap->v);
        }
        if (sp->pids_limit.has && sp->pids_limit.v < -1)
                return bad(c, -ERANGE, "pids_limit %lld is neither -1 nor positive",
                           (long long)sp->pids_limit.v);
        if (sp->cpuset_cpus && !all_of(sp->cpuset_cpus, DIGITS ",-"))
                return bad(c, -EINVAL, "cpuset_cpus is not a CPU list such as \"0-3,6\"");
        if (sp->cpuset_mems && !all_of(sp->cpuset_mems, DIGITS ",-"))
                return bad(c, -EINVAL, "cpuset_mems is not a node list such as \"0-1\"");
        for (size_t i = 0; i < sp->n_hugepages; i++)
                if (!page_size_ok(sp->hugepages[i].page_size))
                        return bad(c, -EINVAL,
                                   "hugepages[%zu]: the page size is not like \"2MB\" or \"1GB\"",
                                   i);
        for (size_t i = 0; i < sp->n_unified; i++) {
                if (!unified_key_ok(sp->unified[i].key))
                        return bad(c, -EINVAL,
                                   "unified[%zu]: the key is not a controller file such as "
                                   "\"memory.high\"",
                                   i);
                for (size_t k = 0; k < i; k++)
                        if (strcmp(sp->unified[k].key, sp->unified[i].key) == 0)
                                return bad(c, -EINVAL, "unified[%zu]: the key repeats unified[%zu]",
                                           i, k);
                if (!printable_ascii(sp->unified[i].value))
                        return bad(c, -EINVAL, "unified[%zu]: the value is not printable ASCII", i);
        }
        return 0;
}

static bool set(const struct ctr_opt_i64 *v)
{
        return v->has && v->v != 0;
}

/* The members of a LinuxResources object but its devices. */
static void write_limits(struct ctx *c, const struct ctr_spec *sp)
{
        if (set(&sp->memory_limit) || set(&sp->memory_swap)) {
                jsonw_key(&c->w, "memory");
                jsonw_begin_object(&c->w);
                if (set(&sp->memory_limit))
                        kint(c, "limit", sp->memory_limit.v);
                if (set(&sp->memory_swap))
                        kint(c, "swap", sp->memory_swap.v);
                jsonw_end_object(&c->w);
        }
        if (set(&sp->cpu_shares) || set(&sp->cpu_quota) || set(&sp->cpu_period) ||
            sp->cpuset_cpus || sp->cpuset_mems) {
                jsonw_key(&c->w, "cpu");
                jsonw_begin_object(&c->w);
                if (set(&sp->cpu_shares))
                        kint(c, "shares", sp->cpu_shares.v);
                if (set(&sp->cpu_quota))
                        kint(c, "quota", sp->cpu_quota.v);
                if (set(&sp->cpu_period))
                        kint(c, "period", sp->cpu_period.v);
                if (sp->cpuset_cpus)
                        kstr(c, "cpus", sp->cpuset_cpus);
                if (sp->cpuset_mems)
                        kstr(c, "mems", sp->cpuset_mems);
                jsonw_end_object(&c->w);
        }
        if (set(&sp->pids_limit)) {
                jsonw_key(&c->w, "pids");
                jsonw_begin_object(&c->w);
                kint(c, "limit", sp->pids_limit.v);
                jsonw_end_object(&c->w);
        }
        if (sp->n_hugepages) {
                jsonw_key(&c->w, "hugepageLimits");
                jsonw_begin_array(&c->w);
                for (size_t i = 0; i < sp->n_hugepages; i++) {
                        jsonw_begin_object(&c->w);
                        kstr(c, "pageSize", sp->hugepages[i].page_size);
                        jsonw_key(&c->w, "limit");
                        jsonw_uint(&c->w, sp->hugepages[i].limit);
                        jsonw_end_object(&c->w);
                }
                jsonw_end_array(&c->w);
        }
        if (sp->n_unified) {
                jsonw_key(&c->w, "unified");
                jsonw_begin_object(&c->w);
                for (size_t i = 0; i < sp->n_unified; i++)
                        kstr(c, sp->unified[i].key, sp->unified[i].value);
                jsonw_end_object(&c->w);
        }
}

static int write_resources(struct ctx *c, const struct oci_config_input *in)
{
        int r;

        if ((r = check_resources(c, in->spec)) < 0)
                return r;
        jsonw_key(&c->w, "resources");
        jsonw_begin_object(&c->w);
        write_device_cgroup(c, in);
        write_limits(c, in->spec);
        jsonw_end_object(&c->w);
        return 0;
}

int ocispec_write_resources(const struct ctr_spec *spec, char **ret_json, size_t *ret_len,
                            char *err, size_t err_size)
{
        struct ctx c = {.err = err, .err_size = err_size};
        int r = check_resources(&c, spec);

        jsonw_init(&c.w);
        if (r == 0) {
                jsonw_begin_object(&c.w);
                write_limits(&c, spec);
                jsonw_end_object(&c.w);
                r = jsonw_finish(&c.w, ret_json, ret_len);
                if (r < 0)
                        bad(&c, r, "cannot write the resources: %s", strerror(-r));
        }
        jsonw_free(&c.w);
        return r;
}

static const char *const masked_paths[] = {
    "/proc/acpi",
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
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* A bind mount meant to propagate needs the root to propagate too, as
 * containerd sets it: rshared wins over rslave; otherwise the runtime's
 * default (rslave for runc) applies and the field is left out. */
static const char *rootfs_propagation(const struct oci_config_input *in)
{
        const char *ret = NULL;

        for (size_t i = 0; i < in->n_mounts; i++)
                for (size_t k = 0; k < in->mounts[i].n_options; k++) {
                        const char *o = in->mounts[i].options[k];

                        if (strcmp(o, "rshared") == 0)
                                return "rshared";
                        if (strcmp(o, "rslave") == 0)
                                ret = "rslave";
                }
        return ret;
}

static int write_linux(struct ctx *c, const struct oci_config_input *in)
{
        bool priv = in->spec->flags & CTR_F_PRIVILEGED;
        const char *propagation = rootfs_propagation(in);
        int r;

        if (!in->cgroups_path || in->cgroups_path[0] == '\0')
                return bad(c, -EINVAL, "the cgroups path is empty");
        jsonw_key(&c->w, "linux");
        jsonw_begin_object(&c->w);
        if ((r = write_namespaces(c, in)) < 0 || (r = write_devices(c, in)) < 0 ||
            (r = write_resources(c, in)) < 0)
                return r;
        jsonw_key(&c->w, "cgroupsPath");
        if ((r = str(c, in->cgroups_path, "the cgroups path")) < 0)
                return r;
        if (propagation)
                kstr(c, "rootfsPropagation", propagation);
        str_array(c, "maskedPaths", masked_paths,
                  priv ? 0 : sizeof(masked_paths) / sizeof(masked_paths[0]));
        str_array(c, "readonlyPaths", readonly_paths,
                  priv ? 0 : sizeof(readonly_paths) / sizeof(readonly_paths[0]));
        jsonw_end_object(&c->w);
        return 0;
}

/* ---- the document ----------------------------------------------------- */

static int write_config(struct ctx *c, const struct oci_config_input *in)
{
        int r;

        if (!in->spec)
                return bad(c, -EINVAL, "no container spec");
        if (!in->rootfs || in->rootfs[0] == '\0')
                return bad(c, -EINVAL, "the root path is empty");
        jsonw_begin_object(&c->w);
        kstr(c, "ociVersion", "1.0.2-dev");
        if ((r = write_process(c, in)) < 0)
                return r;
        jsonw_key(&c->w, "root");
        jsonw_begin_object(&c->w);
        jsonw_key(&c->w, "path");
        if ((r = str(c, in->rootfs, "the root path")) < 0)
                return r;
        kbool(c, "readonly", in->spec->flags & CTR_F_READONLY_ROOTFS);
        jsonw_end_object(&c->w);
        if (in->hostname && in->uts.mode == OCI_NS_NEW) {
                jsonw_key(&c->w, "hostname");
                if ((r = str(c, in->hostname, "the hostname")) < 0)
                        return r;
        }
        if ((r = write_mounts(c, in)) < 0 || (r = write_linux(c, in)) < 0)
                return r;
        jsonw_end_object(&c->w);
        return 0;
}

int ocispec_write(const struct oci_config_input *in, char **ret_json, size_t *ret_len, char *err,
                  size_t err_size)
{
        struct ctx c = {.err = err, .err_size = err_size};
        int r;

        jsonw_init(&c.w);
        r = write_config(&c, in);
        if (r == 0) {
                r = jsonw_finish(&c.w, ret_json, ret_len);
                if (r < 0)
                        bad(&c, r, "cannot write config.json: %s", strerror(-r));
        }
        jsonw_free(&c.w);
        return r;
}
