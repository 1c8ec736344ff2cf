/* ctr_request.c: owns turning a CreateContainer request into the spec the
 * helper takes (see ctr_request.h): Kubernetes' merging of the container
 * config with the image config, the checks whose refusals tell kubelet
 * which field to fix, and the storage the spec points into. */
#include "ctr_request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "util.h"

/* Most bytes of one storage chunk; larger items get a chunk of their own. */
#define CHUNK_SIZE 65536

struct ctr_request_chunk {
        struct ctr_request_chunk *next;
        size_t used, size;
        max_align_t data[];
};

/* One build: its inputs, the spec being filled, where messages go. */
struct build {
        const Runtime__V1__ContainerConfig *cfg;
        const Runtime__V1__PodSandboxConfig *pod;
        const struct image_config *image;
        const Runtime__V1__LinuxContainerSecurityContext *sc; /* NULL: none sent */
        struct ctr_request *req;
        struct ctr_spec *s;
        const char *name;      /* the container's, for messages */
        const char *image_ref; /* the image's, for messages */
        char *err;
        size_t err_size;
};

static int refuse(const struct build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* -EINVAL with "container <name>: <message>". */
static int refuse(const struct build *b, const char *fmt, ...)
{
        char msg[768];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return errbuf_fail(b->err, b->err_size, -EINVAL, "container %.253s: %s", b->name, msg);
}

static int nomem(const struct build *b)
{
        return errbuf_fail(b->err, b->err_size, -ENOMEM,
                           "container %.253s: out of memory building its spec", b->name);
}

/* size bytes of zeroes in the request's storage, or NULL. */
static void *alloc(struct build *b, size_t size)
{
        struct ctr_request_chunk *c = b->req->chunks;
        size_t align = sizeof(max_align_t);

        size = (size + align - 1) / align * align;
        if (!c || c->size - c->used < size) {
                size_t n = size > CHUNK_SIZE ? size : CHUNK_SIZE;

                c = calloc(1, sizeof(*c) + n);
                if (!c)
                        return NULL;
                c->size = n;
                c->next = b->req->chunks;
                b->req->chunks = c;
        }
        void *p = (char *)c->data + c->used;
        c->used += size;
        return p;
}

static const char *copy(struct build *b, const char *s, size_t len)
{
        char *p = alloc(b, len + 1);

        if (p)
                memcpy(p, s, len);
        return p;
}

/* A copy of s in *ret, refused when longer than max bytes. */
static int text(struct build *b, const char *what, const char *s, size_t max, const char **ret)
{
        size_t len = strnlen(s, max + 1);

        if (len > max)
                return refuse(b, "%s is longer than %zu bytes", what, max);
        *ret = copy(b, s, len);
        return *ret ? 0 : nomem(b);
}

/* An absolute path with empty, "." and ".." components resolved
 * lexically, so the helper checks the path that is meant and brigd can
 * compare destinations. */
static const char *clean_path(struct build *b, const char *path)
{
        size_t len = strlen(path), o = 1;
        char *out = alloc(b, len + 1);

        if (!out)
                return NULL;
        out[0] = '/';
        for (const char *p = path; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.')) {
                        p += n;
                        continue;
                }
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > 1 && out[o - 1] != '/')
                                o--;
                        if (o > 1)
                                o--;
                } else {
                        if (o > 1)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
        }
        out[o] = '\0';
        return out;
}

/* A path that must be absolute, cleaned, into *ret. */
static int abs_path(struct build *b, const char *what, const char *path, const char **ret)
{
        if (path[0] != '/')
                return refuse(b, "%s \"%.256s\" is not absolute", what, path);
        if (strnlen(path, CTRSPEC_MAX_PATH + 1) > CTRSPEC_MAX_PATH)
                return refuse(b, "%s is longer than %d bytes", what, CTRSPEC_MAX_PATH);
        *ret = clean_path(b, path);
        return *ret ? 0 : nomem(b);
}

/* --- process --------------------------------------------------------------- */

static int build_args(struct build *b)
{
        const Runtime__V1__ContainerConfig *cfg = b->cfg;
        char *const *first = cfg->command, *const *second = cfg->args;
        size_t n1 = cfg->n_command, n2 = cfg->n_args;
        const char **v;
        char what[32];

        if (n1 == 0) {
                first = b->image->entrypoint;
                n1 = b->image->n_entrypoint;
                if (n2 == 0) {
                        second = b->image->cmd;
                        n2 = b->image->n_cmd;
                }
        }
        if (n1 + n2 == 0)
                return refuse(b,
                              "no command: the CreateContainer request has no command and image "
                              "%.256s has no Entrypoint or Cmd",
                              b->image_ref);
        if (n1 + n2 > CTRSPEC_MAX_ARGS)
                return refuse(b, "%zu command and args, more than %d", n1 + n2, CTRSPEC_MAX_ARGS);
        v = alloc(b, (n1 + n2) * sizeof(*v));
        if (!v)
                return nomem(b);
        for (size_t i = 0; i < n1 + n2; i++) {
                int r;

                snprintf(what, sizeof(what), "argument %zu", i + 1);
                r = text(b, what, i < n1 ? first[i] : second[i - n1], CTRSPEC_MAX_ARG_LEN, &v[i]);
                if (r < 0)
                        return r;
        }
        b->s->args = v;
        b->s->n_args = n1 + n2;
        return 0;
}

/* The merged environment: items in order, and a hash of their names so a
 * later item replaces an earlier one of the same name in place. */
struct envset {
        const char **items;
        size_t n;
        size_t *slots; /* index + 1 of the item with a name; 0: free */
        size_t mask;
};

static size_t name_len(const char *item)
{
        return strcspn(item, "=");
}

static size_t *env_slot(const struct envset *e, const char *name, size_t len)
{
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */

        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
        for (size_t i = (size_t)h & e->mask;; i = (i + 1) & e->mask) {
                size_t *slot = &e->slots[i];
                const char *it = *slot ? e->items[*slot - 1] : NULL;

                if (!it || (name_len(it) == len && memcmp(it, name, len) == 0))
                        return slot;
        }
}

static void env_set(struct envset *e, const char *item)
{
        size_t *slot = env_slot(e, item, name_len(item));

        if (*slot) {
                e->items[*slot - 1] = item;
        } else {
                e->items[e->n++] = item;
                *slot = e->n;
        }
}

/* "name=value" in storage, or NULL. */
static const char *env_item(struct build *b, const char *name, size_t name_len, const void *value,
                            size_t value_len)
{
        char *p = alloc(b, name_len + 1 + value_len + 1);

        if (!p)
                return NULL;
        memcpy(p, name, name_len);
        p[name_len] = '=';
        if (value_len)
                memcpy(p + name_len + 1, value, value_len);
        return p;
}

static int env_from_image(struct build *b, struct envset *e)
{
        for (size_t i = 0; i < b->image->n_env; i++) {
                const char *item = b->image->env[i], *copied;
                size_t n = name_len(item), len = strnlen(item, CTRSPEC_MAX_ARG_LEN + 1);

                if (n == 0)
                        return refuse(b, "image %.256s: Env entry %zu has an empty name",
                                      b->image_ref, i + 1);
                if (len + (item[n] ? 0 : 1) > CTRSPEC_MAX_ARG_LEN)
                        return refuse(b, "image %.256s: Env %.*s is longer than %d bytes",
                                      b->image_ref, (int)(n < 256 ? n : 256), item,
                                      CTRSPEC_MAX_ARG_LEN);
                /* "NAME" alone is an empty value, written in the one form */
                copied = item[n] ? copy(b, item, len) : env_item(b, item, n, NULL, 0);
                if (!copied)
                        return nomem(b);
                env_set(e, copied);
        }
        return 0;
}

static int env_from_config(struct build *b, struct envset *e)
{
        for (size_t i = 0; i < b->cfg->n_envs; i++) {
                const Runtime__V1__KeyValue *kv = b->cfg->envs[i];
                size_t n = strlen(kv->key);
                const char *item;

                if (n == 0 || strchr(kv->key, '='))
                        return refuse(b, "env %zu: name \"%.256s\" is empty or contains '='", i + 1,
                                      kv->key);
                if (kv->value.len > 0 && memchr(kv->value.data, '\0', kv->value.len))
                        return refuse(b, "env %.256s: the value contains a NUL byte", kv->key);
                if (n > CTRSPEC_MAX_ARG_LEN - 1 || kv->value.len > CTRSPEC_MAX_ARG_LEN - 1 - n)
                        return refuse(b, "env %.256s: name and value are longer than %d bytes",
                                      kv->key, CTRSPEC_MAX_ARG_LEN);
                item = env_item(b, kv->key, n, kv->value.data, kv->value.len);
                if (!item)
                        return nomem(b);
                env_set(e, item);
        }
        return 0;
}

static int build_env(struct build *b)
{
        size_t cap = b->image->n_env + b->cfg->n_envs + 2, n_slots = 16;
        _cleanup_free_ size_t *slots = NULL;
        struct envset e = {0};
        const char *hostname = b->pod->hostname;
        int r;

        if (b->cfg->n_envs > CTRSPEC_MAX_ENV)
                return refuse(b, "%zu env entries, more than %d", b->cfg->n_envs, CTRSPEC_MAX_ENV);
        while (n_slots < 2 * cap)
                n_slots *= 2;
        slots = calloc(n_slots, sizeof(*slots));
        e.items = alloc(b, cap * sizeof(*e.items));
        if (!slots || !e.items)
                return nomem(b);
        e.slots = slots;
        e.mask = n_slots - 1;

        r = env_from_image(b, &e);
        if (r == 0)
                r = env_from_config(b, &e);
        if (r < 0)
                return r;
        if (!*env_slot(&e, "PATH", 4))
                env_set(&e, CTR_REQUEST_DEFAULT_PATH);
        if (hostname[0] && !*env_slot(&e, "HOSTNAME", 8)) {
                /* build_pod() refuses the hostname when it is too long */
                const char *item =
                    env_item(b, "HOSTNAME", 8, hostname, strnlen(hostname, CTRSPEC_MAX_NAME + 1));
                if (!item)
                        return nomem(b);
                env_set(&e, item);
        }
        if (e.n > CTRSPEC_MAX_ENV)
                return refuse(b, "%zu environment variables with the image's, more than %d", e.n,
                              CTRSPEC_MAX_ENV);
        b->s->env = e.items;
        b->s->n_env = e.n;
        return 0;
}

static int build_cwd(struct build *b)
{
        const char *cwd = b->cfg->working_dir;

        if (!cwd[0])
                cwd =
                    b->image->working_dir && b->image->working_dir[0] ? b->image->working_dir : "/";
        if (cwd[0] != '/')
                return refuse(b, "working directory \"%.256s\" is not absolute", cwd);
        return text(b, "working directory", cwd, CTRSPEC_MAX_PATH, &b->s->cwd);
}

static int build_user(struct build *b)
{
        const Runtime__V1__LinuxContainerSecurityContext *sc = b->sc;
        struct ctr_spec *s = b->s;
        char what[300];
        int r;

        if (b->image->user && b->image->user[0]) {
                snprintf(what, sizeof(what), "image %.256s: User", b->image_ref);
                r = text(b, what, b->image->user, CTRSPEC_MAX_NAME, &s->image_user);
                if (r < 0)
                        return r;
        }
        if (!sc)
                return 0;
        if (sc->run_as_user) {
                if (sc->run_as_user->value < 0)
                        return refuse(b, "run_as_user %lld is negative",
                                      (long long)sc->run_as_user->value);
                s->run_as_user = (struct ctr_opt_u64){true, (uint64_t)sc->run_as_user->value};
        }
        if (sc->run_as_group) {
                if (sc->run_as_group->value < 0)
                        return refuse(b, "run_as_group %lld is negative",
                                      (long long)sc->run_as_group->value);
                s->run_as_group = (struct ctr_opt_u64){true, (uint64_t)sc->run_as_group->value};
        }
        if (sc->run_as_username[0]) {
                r = text(b, "run_as_username", sc->run_as_username, CTRSPEC_MAX_NAME,
                         &s->run_as_username);
                if (r < 0)
                        return r;
        }
        if (sc->n_supplemental_groups > CTRSPEC_MAX_GROUPS)
                return refuse(b, "%zu supplemental groups, more than %d", sc->n_supplemental_groups,
                              CTRSPEC_MAX_GROUPS);
        if (sc->n_supplemental_groups == 0)
                return 0;
        s->supplemental_groups = alloc(b, sc->n_supplemental_groups * sizeof(uint64_t));
        if (!s->supplemental_groups)
                return nomem(b);
        for (size_t i = 0; i < sc->n_supplemental_groups; i++) {
                if (sc->supplemental_groups[i] < 0)
                        return refuse(b, "supplemental group %lld is negative",
                                      (long long)sc->supplemental_groups[i]);
                s->supplemental_groups[i] = (uint64_t)sc->supplemental_groups[i];
        }
        s->n_supplemental_groups = sc->n_supplemental_groups;
        return 0;
}

static int build_flags(struct build *b)
{
        const Runtime__V1__ContainerConfig *cfg = b->cfg;
        uint32_t f = 0;

        if (cfg->stdin_once && !cfg->stdin)
                return refuse(b, "stdin_once is set without stdin");
        if (cfg->tty)
                f |= CTR_F_TTY;
        if (cfg->stdin)
                f |= CTR_F_STDIN;
        if (cfg->stdin_once)
                f |= CTR_F_STDIN_ONCE;
        /* Kubernetes' allowPrivilegeEscalation defaults to true; kubelet
         * sends no_new_privs when it is false. */
        if (!b->sc || !b->sc->no_new_privs)
                f |= CTR_F_ALLOW_PRIV_ESC;
        if (b->sc && b->sc->readonly_rootfs)
                f |= CTR_F_READONLY_ROOTFS;
        if (b->sc && b->sc->privileged)
                f |= CTR_F_PRIVILEGED;
        /* CRI carries no runAsNonRoot: kubelet checks it on the user it
         * sends. A user named as anyone but root must then not turn out
         * to be uid 0 in the image's own files, which only the helper reads
         * (a name mapped to 0, a number that wraps): it checks again. */
        if (b->sc && ((b->sc->run_as_user && b->sc->run_as_user->value != 0) ||
                      (b->sc->run_as_username[0] && strcmp(b->sc->run_as_username, "root") != 0)))
                f |= CTR_F_RUN_AS_NON_ROOT;
        b->s->flags = f;
        return 0;
}

/* "ALL", or "CAP_" and the name in upper case ("net_admin" and
 * "CAP_NET_ADMIN" alike), as CRI runtimes take Kubernetes' names. */
static int capability(struct build *b, const char *which, const char *in, const char **ret)
{
        size_t skip = strncasecmp(in, "CAP_", 4) == 0 ? 4 : 0;
        size_t len = strnlen(in + skip, CTRSPEC_MAX_NAME + 1);
        char *out;

        if (strcasecmp(in, "ALL") == 0) {
                *ret = "ALL";
                return 0;
        }
        if (len == 0 || len > CTRSPEC_MAX_NAME - 4 ||
            strspn(in + skip, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz"
                              "0123456789_") != len)
                return refuse(b, "capabilities.%s: \"%.256s\" is not a capability name", which, in);
        out = alloc(b, 4 + len + 1);
        if (!out)
                return nomem(b);
        memcpy(out, "CAP_", 4);
        for (size_t i = 0; i < len; i++) {
                char c = in[skip + i];
                out[4 + i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        }
        *ret = out;
        return 0;
}

static int capabilities(struct build *b, const char *which, char *const *in, size_t n,
                        const char ***ret, size_t *ret_n)
{
        const char **v;

        if (n > CTRSPEC_MAX_CAPS)
                return refuse(b, "capabilities.%s has %zu items, more than %d", which, n,
                              CTRSPEC_MAX_CAPS);
        if (n == 0)
                return 0;
        v = alloc(b, n * sizeof(*v));
        if (!v)
                return nomem(b);
        for (size_t i = 0; i < n; i++) {
                int r = capability(b, which, in[i], &v[i]);
                if (r < 0)
                        return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int build_caps(struct build *b)
{
        const Runtime__V1__Capability *c = b->sc ? b->sc->capabilities : NULL;
        int r;

        if (!c)
                return 0;
        r = capabilities(b, "add_capabilities", c->add_capabilities, c->n_add_capabilities,
                         &b->s->cap_add, &b->s->n_cap_add);
        if (r == 0)
                r = capabilities(b, "drop_capabilities", c->drop_capabilities,
                                 c->n_drop_capabilities, &b->s->cap_drop, &b->s->n_cap_drop);
        return r;
}

static int build_pid(struct build *b)
{
        const Runtime__V1__NamespaceOption *ns = b->sc ? b->sc->namespace_options : NULL;

        if (!ns) {
                b->s->pid_mode = CTR_PID_CONTAINER;
                return 0;
        }
        switch (ns->pid) {
        case RUNTIME__V1__NAMESPACE_MODE__POD:
                b->s->pid_mode = CTR_PID_POD;
                return 0;
        case RUNTIME__V1__NAMESPACE_MODE__CONTAINER:
                b->s->pid_mode = CTR_PID_CONTAINER;
                return 0;
        case RUNTIME__V1__NAMESPACE_MODE__NODE:
                b->s->pid_mode = CTR_PID_NODE;
                return 0;
        case RUNTIME__V1__NAMESPACE_MODE__TARGET:
                if (!ns->target_id[0])
                        return refuse(b, "pid namespace mode TARGET has no target_id");
                b->s->pid_mode = CTR_PID_TARGET;
                return text(b, "namespace_options.target_id", ns->target_id, CTRSPEC_MAX_NAME,
                            &b->s->pid_target);
        default:
                return refuse(b, "pid namespace mode %d is not POD, CONTAINER, NODE or TARGET",
                              (int)ns->pid);
        }
}

/* --- filesystem ------------------------------------------------------------ */

static bool has_destination(const struct ctr_mount *m, size_t n, const char *path)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(m[i].destination, path) == 0)
                        return true;
        return false;
}

static int cri_mount(struct build *b, size_t i, struct ctr_mount *ret)
{
        const Runtime__V1__Mount *m = b->cfg->mounts[i];
        char what[64];
        uint32_t f = 0;
        int r;

        if (m->image && m->image->image[0])
                return refuse(b, "mount %zu: image volumes are not supported", i + 1);
        if (m->n_uidmappings || m->n_gidmappings)
                return refuse(b, "mount %zu: ID-mapped mounts are not supported", i + 1);
        snprintf(what, sizeof(what), "mount %zu: container path", i + 1);
        r = abs_path(b, what, m->container_path, &ret->destination);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "mount %zu: host path", i + 1);
        r = abs_path(b, what, m->host_path, &ret->source);
        if (r < 0)
                return r;
        if (m->recursive_read_only && !m->readonly)
                return refuse(b, "mount %zu: recursive_read_only is set without readonly", i + 1);
        switch (m->propagation) {
        case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE:
                break;
        case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER:
                f |= CTR_M_PROPAGATION_RSLAVE;
                break;
        case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL:
                f |= CTR_M_PROPAGATION_RSHARED;
                break;
        default:
                return refuse(b, "mount %zu: propagation %d is not a mount propagation", i + 1,
                              (int)m->propagation);
        }
        if (m->readonly)
                f |= CTR_M_READONLY;
        if (m->recursive_read_only)
                f |= CTR_M_RECURSIVE_READONLY;
        if (m->selinux_relabel)
                f |= CTR_M_SELINUX_RELABEL;
        ret->kind = CTR_MOUNT_BIND;
        ret->flags = f;
        return 0;
}

static int build_mounts(struct build *b)
{
        static const struct {
                const char *destination;
                uint32_t kind;
        } pod_files[] = {
            {"/etc/hosts", CTR_MOUNT_POD_HOSTS},
            {"/etc/resolv.conf", CTR_MOUNT_POD_RESOLV},
            {"/etc/hostname", CTR_MOUNT_POD_HOSTNAME},
            {"/dev/shm", CTR_MOUNT_POD_SHM},
        };
        size_t n = b->cfg->n_mounts, k = 0;
        struct ctr_mount *m;

        if (n > CTRSPEC_MAX_MOUNTS)
                return refuse(b, "%zu mounts, more than %d", n, CTRSPEC_MAX_MOUNTS);
        m = alloc(b, (n + ARRAY_SIZE(pod_files)) * sizeof(*m));
        if (!m)
                return nomem(b);
        for (; k < n; k++) {
                int r = cri_mount(b, k, &m[k]);
                if (r < 0)
                        return r;
        }
        /* kubelet mounts its own /etc/hosts for most pods: that one wins */
        for (size_t i = 0; i < ARRAY_SIZE(pod_files); i++)
                if (!has_destination(m, n, pod_files[i].destination))
                        m[k++] = (struct ctr_mount){.destination = pod_files[i].destination,
                                                    .kind = pod_files[i].kind};
        if (k > CTRSPEC_MAX_MOUNTS)
                return refuse(b, "%zu mounts with the pod's files, more than %d", k,
                              CTRSPEC_MAX_MOUNTS);
        b->s->mounts = m;
        b->s->n_mounts = k;
        return 0;
}

static int build_volumes(struct build *b)
{
        const struct image_config *img = b->image;
        const char **v;
        size_t k = 0;
        char what[300];

        if (img->n_volumes == 0)
                return 0;
        v = alloc(b, img->n_volumes * sizeof(*v));
        if (!v)
                return nomem(b);
        snprintf(what, sizeof(what), "image %.256s: VOLUME", b->image_ref);
        for (size_t i = 0; i < img->n_volumes; i++) {
                const char *path;
                int r = abs_path(b, what, img->volumes[i], &path);
                bool seen = false;

                if (r < 0)
                        return r;
                for (size_t j = 0; j < k && !seen; j++)
                        seen = strcmp(v[j], path) == 0;
                if (seen || has_destination(b->s->mounts, b->s->n_mounts, path))
                        continue;
                if (k == CTRSPEC_MAX_VOLUMES)
                        return refuse(b, "image %.256s has more than %d VOLUMEs", b->image_ref,
                                      CTRSPEC_MAX_VOLUMES);
                v[k++] = path;
        }
        b->s->volumes = v;
        b->s->n_volumes = k;
        return 0;
}

static int device(struct build *b, size_t i, struct ctr_device *ret)
{
        const Runtime__V1__Device *d = b->cfg->devices[i];
        const char *p = d->permissions;
        char what[64], *perms;
        int r;

        snprintf(what, sizeof(what), "device %zu: container path", i + 1);
        r = abs_path(b, what, d->container_path, &ret->container_path);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "device %zu: host path", i + 1);
        r = abs_path(b, what, d->host_path, &ret->host_path);
        if (r < 0)
                return r;
        if (strncmp(ret->host_path, "/dev/", 5) != 0)
                return refuse(b, "device %zu: host path \"%.256s\" is outside /dev", i + 1,
                              d->host_path);
        if (!p[0] || strspn(p, "rwm") != strlen(p))
                return refuse(b,
                              "device %zu: permissions \"%.16s\" are not a non-empty set of r, "
                              "w and m",
                              i + 1, p);
        perms = alloc(b, 4);
        if (!perms)
                return nomem(b);
        for (const char *c = "rwm"; *c; c++)
                if (strchr(p, *c))
                        perms[strlen(perms)] = *c;
        ret->permissions = perms;
        return 0;
}

static int build_devices(struct build *b)
{
        size_t n = b->cfg->n_devices;

        /* without them the container would start lacking the device */
        if (b->cfg->n_cdi_devices)
                return refuse(b, "CDI device \"%.256s\": CDI devices are not supported",
                              b->cfg->cdi_devices[0]->name);
        if (n > CTRSPEC_MAX_DEVICES)
                return refuse(b, "%zu devices, more than %d", n, CTRSPEC_MAX_DEVICES);
        if (n == 0)
                return 0;
        b->s->devices = alloc(b, n * sizeof(*b->s->devices));
        if (!b->s->devices)
                return nomem(b);
        for (size_t i = 0; i < n; i++) {
                int r = device(b, i, &b->s->devices[i]);
                if (r < 0)
                        return r;
        }
        b->s->n_devices = n;
        return 0;
}

static int build_log(struct build *b)
{
        const char *dir = b->pod->log_directory, *path = b->cfg->log_path;
        size_t dir_len = strnlen(dir, CTRSPEC_MAX_PATH + 1);
        int r;

        if (!dir[0] || !path[0])
                return 0;
        if (dir[0] != '/')
                return refuse(b, "the pod's log directory \"%.256s\" is not absolute", dir);
        if (path[0] == '/')
                return refuse(b,
                              "log path \"%.256s\" is absolute: it is relative to the pod's "
                              "log directory",
                              path);
        for (const char *p = path;; p++) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return refuse(b, "log path \"%.256s\" escapes the pod's log directory",
                                      path);
                if (n == 0 || (n == 1 && p[0] == '.'))
                        return refuse(b, "log path \"%.256s\" has an empty or \".\" component",
                                      path);
                p += n;
                if (!*p)
                        break;
        }
        if (dir_len > CTRSPEC_MAX_PATH - 1 ||
            strnlen(path, CTRSPEC_MAX_PATH) > CTRSPEC_MAX_PATH - 1 - dir_len)
                return refuse(b,
                              "the pod's log directory and the log path are longer than %d "
                              "bytes together",
                              CTRSPEC_MAX_PATH);
        r = text(b, "log directory", dir, CTRSPEC_MAX_PATH, &b->s->log_directory);
        if (r == 0)
                r = text(b, "log path", path, CTRSPEC_MAX_PATH, &b->s->log_path);
        return r;
}

/* --- resources and the rest ----------------------------------------------- */

static void set_nonzero(struct ctr_opt_i64 *o, int64_t v)
{
        if (v != 0)
                *o = (struct ctr_opt_i64){true, v};
}

static int build_hugepages(struct build *b, const Runtime__V1__LinuxContainerResources *res)
{
        size_t n = res->n_hugepage_limits;

        if (n > CTRSPEC_MAX_HUGEPAGES)
                return refuse(b, "%zu hugepage limits, more than %d", n, CTRSPEC_MAX_HUGEPAGES);
        if (n == 0)
                return 0;
        b->s->hugepages = alloc(b, n * sizeof(*b->s->hugepages));
        if (!b->s->hugepages)
                return nomem(b);
        for (size_t i = 0; i < n; i++) {
                const Runtime__V1__HugepageLimit *h = res->hugepage_limits[i];
                int r;

                if (!h->page_size[0])
                        return refuse(b, "hugepage limit %zu has no page size", i + 1);
                r = text(b, "hugepage page size", h->page_size, CTRSPEC_MAX_NAME,
                         &b->s->hugepages[i].page_size);
                if (r < 0)
                        return r;
                b->s->hugepages[i].limit = h->limit;
        }
        b->s->n_hugepages = n;
        return 0;
}

/* A cgroup v2 file name: one component, so the helper never writes outside
 * the container's cgroup. */
static bool cgroup_file_name(const char *key)
{
        return key[0] && !strchr(key, '/') && strcmp(key, ".") != 0 && strcmp(key, "..") != 0;
}

static int build_unified(struct build *b, const Runtime__V1__LinuxContainerResources *res)
{
        size_t n = res->n_unified, k = 0;
        struct ctr_unified *u;

        if (n > CTRSPEC_MAX_UNIFIED)
                return refuse(b, "%zu unified cgroup entries, more than %d", n,
                              CTRSPEC_MAX_UNIFIED);
        if (n == 0)
                return 0;
        u = alloc(b, n * sizeof(*u));
        if (!u)
                return nomem(b);
        for (size_t i = 0; i < n; i++) {
                const Runtime__V1__LinuxContainerResources__UnifiedEntry *e = res->unified[i];
                size_t j = 0;
                int r;

                if (!cgroup_file_name(e->key))
                        return refuse(b, "unified key \"%.256s\" is not a cgroup file name",
                                      e->key);
                /* a map sent with a key twice means its last value */
                while (j < k && strcmp(u[j].key, e->key) != 0)
                        j++;
                r = text(b, "unified key", e->key, CTRSPEC_MAX_NAME, &u[j].key);
                if (r == 0)
                        r = text(b, "unified value", e->value, CTRSPEC_MAX_PATH, &u[j].value);
                if (r < 0)
                        return r;
                if (j == k)
                        k++;
        }
        b->s->unified = u;
        b->s->n_unified = k;
        return 0;
}

static int build_resources(struct build *b, const Runtime__V1__LinuxContainerResources *res)
{
        struct ctr_spec *s = b->s;
        int r = 0;

        if (!res)
                return 0;
        set_nonzero(&s->cpu_period, res->cpu_period);
        set_nonzero(&s->cpu_quota, res->cpu_quota);
        set_nonzero(&s->cpu_shares, res->cpu_shares);
        set_nonzero(&s->memory_limit, res->memory_limit_in_bytes);
        set_nonzero(&s->memory_swap, res->memory_swap_limit_in_bytes);
        /* 0 is a score kubelet means (a Burstable or Guaranteed pod may get it) */
        s->oom_score_adj = (struct ctr_opt_i64){true, res->oom_score_adj};
        if (res->cpuset_cpus[0])
                r = text(b, "cpuset_cpus", res->cpuset_cpus, CTRSPEC_MAX_PATH, &s->cpuset_cpus);
        if (r == 0 && res->cpuset_mems[0])
                r = text(b, "cpuset_mems", res->cpuset_mems, CTRSPEC_MAX_PATH, &s->cpuset_mems);
        if (r == 0)
                r = build_hugepages(b, res);
        if (r == 0)
                r = build_unified(b, res);
        return r;
}

static int build_pod(struct build *b)
{
        const char *cgroup = b->pod->linux ? b->pod->linux->cgroup_parent : "";
        int r = 0;

        if (cgroup[0])
                r = text(b, "the pod's cgroup_parent", cgroup, CTRSPEC_MAX_PATH,
                         &b->s->cgroup_parent);
        if (r == 0 && b->pod->hostname[0])
                r = text(b, "the pod's hostname", b->pod->hostname, CTRSPEC_MAX_NAME,
                         &b->s->hostname);
        return r;
}

static int build_layers(struct build *b, const char *const *ids, size_t n)
{
        const char **v;

        if (n == 0)
                return refuse(b, "image %.256s has no layers", b->image_ref);
        if (n > CTRSPEC_MAX_LAYERS)
                return refuse(b, "image %.256s has %zu layers, more than %d", b->image_ref, n,
                              CTRSPEC_MAX_LAYERS);
        v = alloc(b, n * sizeof(*v));
        if (!v)
                return nomem(b);
        for (size_t i = 0; i < n; i++) {
                int r = text(b, "layer chain id", ids[i], CTRSPEC_MAX_NAME, &v[i]);
                if (r < 0)
                        return r;
        }
        b->s->layers = v;
        b->s->n_layers = n;
        return 0;
}

static const char *image_ref_of(const Runtime__V1__ContainerConfig *cfg)
{
        if (cfg->image && cfg->image->user_specified_image[0])
                return cfg->image->user_specified_image;
        if (cfg->image && cfg->image->image[0])
                return cfg->image->image;
        return "(unnamed)";
}

int ctr_request_build(const Runtime__V1__ContainerConfig *cfg,
                      const Runtime__V1__PodSandboxConfig *pod, const struct image_config *image,
                      const char *const *layer_chain_ids, size_t n_layers, struct ctr_request *ret,
                      char *err, size_t err_size)
{
        struct build b = {
            .cfg = cfg,
            .pod = pod,
            .image = image,
            .sc = cfg->linux ? cfg->linux->security_context : NULL,
            .req = ret,
            .s = &ret->spec,
            .name = cfg->metadata && cfg->metadata->name[0] ? cfg->metadata->name : "(unnamed)",
            .image_ref = image_ref_of(cfg),
            .err = err,
            .err_size = err_size,
        };
        int r;

        *ret = (struct ctr_request){0};
        /* build_env() relies on build_pod() for the hostname's length */
        r = build_pod(&b);
        if (r == 0)
                r = build_args(&b);
        if (r == 0)
                r = build_env(&b);
        if (r == 0)
                r = build_cwd(&b);
        if (r == 0)
                r = build_user(&b);
        if (r == 0)
                r = build_flags(&b);
        if (r == 0)
                r = build_caps(&b);
        if (r == 0)
                r = build_pid(&b);
        if (r == 0)
                r = build_mounts(&b);
        if (r == 0)
                r = build_volumes(&b);
        if (r == 0)
                r = build_devices(&b);
        if (r == 0)
                r = build_log(&b);
        if (r == 0)
                r = build_resources(&b, cfg->linux ? cfg->linux->resources : NULL);
        if (r == 0)
                r = build_layers(&b, layer_chain_ids, n_layers);
        if (r < 0)
                ctr_request_free(ret);
        return r;
}

int ctr_request_resources(const Runtime__V1__LinuxContainerResources *res, const char *name,
                          struct ctr_request *ret, char *err, size_t err_size)
{
        struct build b = {
            .req = ret,
            .s = &ret->spec,
            .name = name,
            .err = err,
            .err_size = err_size,
        };
        int r;

        *ret = (struct ctr_request){0};
        r = build_resources(&b, res);
        /* an update does not move the OOM score: runc update cannot */
        ret->spec.oom_score_adj = (struct ctr_opt_i64){0};
        if (r < 0)
                ctr_request_free(ret);
        return r;
}

void ctr_request_free(struct ctr_request *req)
{
        struct ctr_request_chunk *c = req->chunks;

        while (c) {
                struct ctr_request_chunk *next = c->next;
                free(c);
                c = next;
        }
        *req = (struct ctr_request){0};
}
