/* test_ctr_request.c: unit tests for daemon/ctr_request.h: each merging
 * rule of a CreateContainer request with its pod and image config (args,
 * env, working dir, user, flags, capabilities, pid mode, mounts and the
 * pod's files, image volumes, devices, log path, resources, layers), and
 * each refusal with the message kubelet gets. Every spec built is also
 * passed through ctrspec_encode() and ctrspec_decode(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctr_request.h"
#include "daemon/ctrspec_encode.h"

#define MAXN 8

/* A request with every message the builder reads, linked together. */
struct fx {
        Runtime__V1__ContainerConfig cfg;
        Runtime__V1__ContainerMetadata meta;
        Runtime__V1__ImageSpec image_spec;
        Runtime__V1__LinuxContainerConfig linux;
        Runtime__V1__LinuxContainerSecurityContext sc;
        Runtime__V1__LinuxContainerResources res;
        Runtime__V1__NamespaceOption ns;
        Runtime__V1__Capability caps;
        Runtime__V1__Int64Value uid, gid;
        Runtime__V1__PodSandboxConfig pod;
        Runtime__V1__LinuxPodSandboxConfig pod_linux;
        Runtime__V1__KeyValue kv[MAXN], *kvp[MAXN];
        Runtime__V1__Mount mnt[MAXN], *mntp[MAXN];
        Runtime__V1__Device dev[MAXN], *devp[MAXN];
        Runtime__V1__HugepageLimit hp[MAXN], *hpp[MAXN];
        Runtime__V1__LinuxContainerResources__UnifiedEntry uni[MAXN], *unip[MAXN];
        struct image_config image;
        const char *layers[2];
        size_t n_layers;
        struct ctr_request req;
        char err[512];
};

static char *image_cmd[] = {"sh"};
static char *image_env[] = {"PATH=/bin", "A=1", "B=2"};

static struct fx *fx_new(void)
{
        struct fx *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        runtime__v1__container_config__init(&f->cfg);
        runtime__v1__container_metadata__init(&f->meta);
        runtime__v1__image_spec__init(&f->image_spec);
        runtime__v1__linux_container_config__init(&f->linux);
        runtime__v1__linux_container_security_context__init(&f->sc);
        runtime__v1__linux_container_resources__init(&f->res);
        runtime__v1__namespace_option__init(&f->ns);
        runtime__v1__capability__init(&f->caps);
        runtime__v1__int64_value__init(&f->uid);
        runtime__v1__int64_value__init(&f->gid);
        runtime__v1__pod_sandbox_config__init(&f->pod);
        runtime__v1__linux_pod_sandbox_config__init(&f->pod_linux);
        for (size_t i = 0; i < MAXN; i++) {
                runtime__v1__key_value__init(&f->kv[i]);
                f->kvp[i] = &f->kv[i];
                runtime__v1__mount__init(&f->mnt[i]);
                f->mntp[i] = &f->mnt[i];
                runtime__v1__device__init(&f->dev[i]);
                f->devp[i] = &f->dev[i];
                runtime__v1__hugepage_limit__init(&f->hp[i]);
                f->hpp[i] = &f->hp[i];
                runtime__v1__linux_container_resources__unified_entry__init(&f->uni[i]);
                f->unip[i] = &f->uni[i];
        }
        f->meta.name = "app";
        f->cfg.metadata = &f->meta;
        f->image_spec.image = "docker.io/library/busybox:latest";
        f->cfg.image = &f->image_spec;
        f->cfg.envs = f->kvp;
        f->cfg.mounts = f->mntp;
        f->cfg.devices = f->devp;
        f->cfg.log_path = "app/0.log";
        f->pod.hostname = "web-0";
        f->pod.log_directory = "/var/log/pods/ns_web-0_uid";
        f->res.hugepage_limits = f->hpp;
        f->res.unified = f->unip;
        f->image.cmd = image_cmd;
        f->image.n_cmd = 1;
        f->image.env = image_env;
        f->image.n_env = 3;
        f->layers[0] = "sha256:1111";
        f->layers[1] = "sha256:2222";
        f->n_layers = 2;
        return f;
}

/* Turns on the linux security context (and its namespace options). */
static Runtime__V1__LinuxContainerSecurityContext *sc_of(struct fx *f)
{
        f->linux.security_context = &f->sc;
        f->cfg.linux = &f->linux;
        return &f->sc;
}

static void env_add(struct fx *f, const char *key, const char *value)
{
        Runtime__V1__KeyValue *kv = &f->kv[f->cfg.n_envs++];

        kv->key = (char *)key;
        kv->value.data = (uint8_t *)value;
        kv->value.len = strlen(value);
}

static Runtime__V1__Mount *mount_add(struct fx *f, const char *ctr, const char *host)
{
        Runtime__V1__Mount *m = &f->mnt[f->cfg.n_mounts++];

        m->container_path = (char *)ctr;
        m->host_path = (char *)host;
        return m;
}

static void device_add(struct fx *f, const char *ctr, const char *host, const char *perms)
{
        Runtime__V1__Device *d = &f->dev[f->cfg.n_devices++];

        d->container_path = (char *)ctr;
        d->host_path = (char *)host;
        d->permissions = (char *)perms;
}

static int run(struct fx *f)
{
        f->err[0] = '\0';
        return ctr_request_build(&f->cfg, &f->pod, &f->image, f->layers, f->n_layers, &f->req,
                                 f->err, sizeof(f->err));
}

/* Builds f's request, which must succeed and survive the helper's
 * decoder; the spec is in f->req until fx_done(). */
static const struct ctr_spec *built(struct fx *f)
{
        struct ctr_spec back;
        char err[256] = "";
        uint8_t *buf;
        size_t len;
        int r = run(f);

        if (r != 0)
                fail_msg("refused (%d): %s", r, f->err);
        r = ctrspec_encode(&f->req.spec, &buf, &len, err, sizeof(err));
        if (r != 0)
                fail_msg("encode refused (%d): %s", r, err);
        r = ctrspec_decode(buf, len, &back, err, sizeof(err));
        if (r != 0)
                fail_msg("decode refused (%d): %s", r, err);
        assert_int_equal(back.n_args, f->req.spec.n_args);
        assert_int_equal(back.n_mounts, f->req.spec.n_mounts);
        ctrspec_free(&back);
        free(buf);
        return &f->req.spec;
}

/* f's request must be refused with -EINVAL and exactly the message want. */
static void refused(struct fx *f, const char *want)
{
        int r = run(f);

        if (r == 0)
                fail_msg("accepted, expected \"%s\"", want);
        if (r != -EINVAL || strcmp(f->err, want) != 0)
                fail_msg("refused with %d \"%s\", expected \"%s\"", r, f->err, want);
        assert_null(f->req.chunks);
        assert_null(f->req.spec.args);
}

static void fx_done(struct fx *f)
{
        ctr_request_free(&f->req);
        assert_null(f->req.chunks);
        free(f);
}

static void assert_strv(const char *const *v, size_t n, const char *const *want, size_t n_want)
{
        assert_int_equal(n, n_want);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(v[i], want[i]);
}

#define ASSERT_STRV(v, n, ...)                                                                     \
        do {                                                                                       \
                const char *const want_[] = {__VA_ARGS__};                                         \
                assert_strv(v, n, want_, sizeof(want_) / sizeof(want_[0]));                        \
        } while (0)

/* ---- args ------------------------------------------------------------------ */

static void test_args(void **state)
{
        char *entrypoint[] = {"/entry", "-x"}, *command[] = {"/bin/app"},
             *args[] = {"--port", "80"};
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        /* neither: Entrypoint + Cmd */
        f->image.entrypoint = entrypoint;
        f->image.n_entrypoint = 2;
        s = built(f);
        ASSERT_STRV(s->args, s->n_args, "/entry", "-x", "sh");
        ctr_request_free(&f->req);

        /* args only: Entrypoint + args, Cmd dropped */
        f->cfg.args = args;
        f->cfg.n_args = 2;
        s = built(f);
        ASSERT_STRV(s->args, s->n_args, "/entry", "-x", "--port", "80");
        ctr_request_free(&f->req);

        /* command: command + args, the image's both dropped */
        f->cfg.command = command;
        f->cfg.n_command = 1;
        s = built(f);
        ASSERT_STRV(s->args, s->n_args, "/bin/app", "--port", "80");
        ctr_request_free(&f->req);
        f->cfg.n_args = 0;
        s = built(f);
        ASSERT_STRV(s->args, s->n_args, "/bin/app");
        ctr_request_free(&f->req);

        /* no Entrypoint: Cmd alone, or args alone */
        f->cfg.n_command = 0;
        f->image.n_entrypoint = 0;
        s = built(f);
        ASSERT_STRV(s->args, s->n_args, "sh");
        ctr_request_free(&f->req);
        f->cfg.n_args = 2;
        s = built(f);
        ASSERT_STRV(s->args, s->n_args, "--port", "80");
        ctr_request_free(&f->req);

        f->cfg.n_args = 0;
        f->image.n_cmd = 0;
        refused(f, "container app: no command: the CreateContainer request has no command and "
                   "image docker.io/library/busybox:latest has no Entrypoint or Cmd");
        f->image_spec.user_specified_image = "busybox";
        refused(f, "container app: no command: the CreateContainer request has no command and "
                   "image busybox has no Entrypoint or Cmd");
        fx_done(f);
}

static void test_args_limits(void **state)
{
        struct fx *f = fx_new();
        char **many = calloc(CTRSPEC_MAX_ARGS + 1, sizeof(*many));
        char *big = malloc(CTRSPEC_MAX_ARG_LEN + 2);

        (void)state;
        assert_non_null(many);
        assert_non_null(big);
        memset(big, 'a', CTRSPEC_MAX_ARG_LEN + 1);
        big[CTRSPEC_MAX_ARG_LEN + 1] = '\0';
        for (size_t i = 0; i <= CTRSPEC_MAX_ARGS; i++)
                many[i] = "x";
        f->cfg.command = many;
        f->cfg.n_command = CTRSPEC_MAX_ARGS + 1;
        refused(f, "container app: 4097 command and args, more than 4096");
        f->cfg.n_command = CTRSPEC_MAX_ARGS;
        built(f);
        ctr_request_free(&f->req);
        many[1] = big;
        refused(f, "container app: argument 2 is longer than 131072 bytes");
        big[CTRSPEC_MAX_ARG_LEN] = '\0';
        built(f);
        free(many);
        free(big);
        fx_done(f);
}

/* ---- env ------------------------------------------------------------------- */

static void test_env_merge(void **state)
{
        static char *image_env2[] = {"A=1", "NOVALUE", "A=3"};
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        /* the image's in order; config replaces in place and appends */
        env_add(f, "B", "config");
        env_add(f, "C", "new");
        env_add(f, "A", "");
        env_add(f, "C", "newer");
        s = built(f);
        ASSERT_STRV(s->env, s->n_env, "PATH=/bin", "A=", "B=config", "C=newer", "HOSTNAME=web-0");
        ctr_request_free(&f->req);

        /* PATH default; HOSTNAME left as the image or config sets it */
        f->image.env = image_env2;
        f->image.n_env = 3;
        f->cfg.n_envs = 0;
        env_add(f, "HOSTNAME", "mine");
        s = built(f);
        ASSERT_STRV(s->env, s->n_env, "A=3", "NOVALUE=", "HOSTNAME=mine", CTR_REQUEST_DEFAULT_PATH);
        ctr_request_free(&f->req);

        /* no pod hostname: no HOSTNAME */
        f->cfg.n_envs = 0;
        f->pod.hostname = "";
        f->image.n_env = 0;
        s = built(f);
        ASSERT_STRV(s->env, s->n_env, CTR_REQUEST_DEFAULT_PATH);
        assert_null(s->hostname);
        fx_done(f);
}

static void test_env_bytes(void **state)
{
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        /* the value's length is its length: no NUL needed after it */
        f->kv[0].key = "K";
        f->kv[0].value.data = (uint8_t *)"v1v2";
        f->kv[0].value.len = 2;
        f->kv[1].key = "EMPTY";
        f->kv[1].value.data = NULL;
        f->kv[1].value.len = 0;
        f->cfg.n_envs = 2;
        s = built(f);
        assert_string_equal(s->env[3], "K=v1");
        assert_string_equal(s->env[4], "EMPTY=");
        ctr_request_free(&f->req);

        f->kv[1].value.data = (uint8_t *)"a\0b";
        f->kv[1].value.len = 3;
        refused(f, "container app: env EMPTY: the value contains a NUL byte");
        fx_done(f);
}

static void test_env_refused(void **state)
{
        static char *bad_image_env[] = {"A=1", "=x"};
        struct fx *f = fx_new();
        char *big;

        (void)state;
        env_add(f, "", "x");
        refused(f, "container app: env 1: name \"\" is empty or contains '='");
        f->cfg.n_envs = 0;
        env_add(f, "OK", "x");
        env_add(f, "A=B", "x");
        refused(f, "container app: env 2: name \"A=B\" is empty or contains '='");

        f->cfg.n_envs = 0;
        f->image.env = bad_image_env;
        f->image.n_env = 2;
        refused(f, "container app: image docker.io/library/busybox:latest: Env entry 2 has an "
                   "empty name");

        f->image.n_env = 1;
        big = malloc(CTRSPEC_MAX_ARG_LEN + 1);
        assert_non_null(big);
        memset(big, 'v', CTRSPEC_MAX_ARG_LEN);
        big[CTRSPEC_MAX_ARG_LEN] = '\0';
        env_add(f, "V", big);
        f->kv[0].value.len = CTRSPEC_MAX_ARG_LEN - 2; /* "V=" + this: the limit exactly */
        built(f);
        ctr_request_free(&f->req);
        f->kv[0].value.len++;
        refused(f, "container app: env V: name and value are longer than 131072 bytes");
        free(big);

        f->cfg.n_envs = CTRSPEC_MAX_ENV + 1;
        refused(f, "container app: 16385 env entries, more than 16384");
        fx_done(f);
}

/* ---- process --------------------------------------------------------------- */

static void test_cwd(void **state)
{
        struct fx *f = fx_new();

        (void)state;
        assert_string_equal(built(f)->cwd, "/");
        ctr_request_free(&f->req);
        f->image.working_dir = "/srv";
        assert_string_equal(built(f)->cwd, "/srv");
        ctr_request_free(&f->req);
        f->cfg.working_dir = "/work";
        assert_string_equal(built(f)->cwd, "/work");
        ctr_request_free(&f->req);
        f->cfg.working_dir = "work";
        refused(f, "container app: working directory \"work\" is not absolute");
        f->cfg.working_dir = "";
        f->image.working_dir = "srv";
        refused(f, "container app: working directory \"srv\" is not absolute");
        fx_done(f);
}

static void test_user(void **state)
{
        int64_t groups[] = {5, 0, 4294967294};
        struct fx *f = fx_new();
        Runtime__V1__LinuxContainerSecurityContext *sc;
        const struct ctr_spec *s;

        (void)state;
        f->image.user = "nobody:nogroup";
        s = built(f);
        assert_string_equal(s->image_user, "nobody:nogroup");
        assert_false(s->run_as_user.has);
        assert_false(s->run_as_group.has);
        assert_null(s->run_as_username);
        ctr_request_free(&f->req);

        sc = sc_of(f);
        f->uid.value = 0; /* present and 0 is root, not unset */
        sc->run_as_user = &f->uid;
        f->gid.value = 1000;
        sc->run_as_group = &f->gid;
        sc->run_as_username = "www";
        sc->supplemental_groups = groups;
        sc->n_supplemental_groups = 3;
        s = built(f);
        assert_true(s->run_as_user.has && s->run_as_user.v == 0);
        assert_true(s->run_as_group.has && s->run_as_group.v == 1000);
        assert_string_equal(s->run_as_username, "www");
        assert_int_equal(s->n_supplemental_groups, 3);
        assert_true(s->supplemental_groups[2] == 4294967294u);
        /* a user named as someone else: the helper must find no uid 0 */
        assert_true(s->flags & CTR_F_RUN_AS_NON_ROOT);
        ctr_request_free(&f->req);
        sc->run_as_username = "root";
        assert_false(built(f)->flags & CTR_F_RUN_AS_NON_ROOT);
        ctr_request_free(&f->req);
        f->uid.value = 1000;
        assert_true(built(f)->flags & CTR_F_RUN_AS_NON_ROOT);
        ctr_request_free(&f->req);
        sc->run_as_username = "www";
        f->uid.value = 0;

        f->uid.value = -1;
        refused(f, "container app: run_as_user -1 is negative");
        f->uid.value = 1;
        f->gid.value = -2;
        refused(f, "container app: run_as_group -2 is negative");
        f->gid.value = 2;
        groups[1] = -3;
        refused(f, "container app: supplemental group -3 is negative");
        groups[1] = 3;
        sc->n_supplemental_groups = CTRSPEC_MAX_GROUPS + 1;
        refused(f, "container app: 257 supplemental groups, more than 256");
        fx_done(f);
}

static void test_flags(void **state)
{
        struct fx *f = fx_new();
        Runtime__V1__LinuxContainerSecurityContext *sc;

        (void)state;
        assert_int_equal(built(f)->flags, CTR_F_ALLOW_PRIV_ESC);
        ctr_request_free(&f->req);
        f->cfg.tty = f->cfg.stdin = f->cfg.stdin_once = 1;
        sc = sc_of(f);
        sc->no_new_privs = 1;
        assert_int_equal(built(f)->flags, CTR_F_TTY | CTR_F_STDIN | CTR_F_STDIN_ONCE);
        ctr_request_free(&f->req);
        sc->no_new_privs = 0;
        sc->privileged = 1;
        sc->readonly_rootfs = 1;
        f->cfg.tty = 0;
        assert_int_equal(built(f)->flags, CTR_F_STDIN | CTR_F_STDIN_ONCE | CTR_F_ALLOW_PRIV_ESC |
                                              CTR_F_PRIVILEGED | CTR_F_READONLY_ROOTFS);
        ctr_request_free(&f->req);
        f->cfg.stdin = 0;
        refused(f, "container app: stdin_once is set without stdin");
        fx_done(f);
}

static void test_capabilities(void **state)
{
        char *add[] = {"NET_ADMIN", "cap_sys_time", "CAP_CHOWN", "Sys_Nice"}, *drop[] = {"all"},
             *bad[] = {"NET ADMIN"}, *empty[] = {"CAP_"};
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        sc_of(f)->capabilities = &f->caps;
        f->caps.add_capabilities = add;
        f->caps.n_add_capabilities = 4;
        f->caps.drop_capabilities = drop;
        f->caps.n_drop_capabilities = 1;
        s = built(f);
        ASSERT_STRV(s->cap_add, s->n_cap_add, "CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_CHOWN",
                    "CAP_SYS_NICE");
        ASSERT_STRV(s->cap_drop, s->n_cap_drop, "ALL");
        ctr_request_free(&f->req);

        f->caps.drop_capabilities = bad;
        refused(f, "container app: capabilities.drop_capabilities: \"NET ADMIN\" is not a "
                   "capability name");
        f->caps.drop_capabilities = empty;
        refused(f, "container app: capabilities.drop_capabilities: \"CAP_\" is not a capability "
                   "name");
        f->caps.n_drop_capabilities = 0;
        f->caps.n_add_capabilities = CTRSPEC_MAX_CAPS + 1;
        refused(f, "container app: capabilities.add_capabilities has 65 items, more than 64");
        fx_done(f);
}

static void test_pid_mode(void **state)
{
        struct fx *f = fx_new();
        Runtime__V1__LinuxContainerSecurityContext *sc;
        const struct ctr_spec *s;

        (void)state;
        assert_int_equal(built(f)->pid_mode, CTR_PID_CONTAINER);
        ctr_request_free(&f->req);
        sc = sc_of(f);
        assert_int_equal(built(f)->pid_mode, CTR_PID_CONTAINER);
        ctr_request_free(&f->req);
        sc->namespace_options = &f->ns;
        f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__POD;
        assert_int_equal(built(f)->pid_mode, CTR_PID_POD);
        ctr_request_free(&f->req);
        f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
        assert_int_equal(built(f)->pid_mode, CTR_PID_NODE);
        ctr_request_free(&f->req);
        f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
        assert_int_equal(built(f)->pid_mode, CTR_PID_CONTAINER);
        ctr_request_free(&f->req);
        f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
        f->ns.target_id = "c0ffee";
        s = built(f);
        assert_int_equal(s->pid_mode, CTR_PID_TARGET);
        assert_string_equal(s->pid_target, "c0ffee");
        ctr_request_free(&f->req);
        f->ns.target_id = "";
        refused(f, "container app: pid namespace mode TARGET has no target_id");
        f->ns.pid = 7;
        refused(f, "container app: pid namespace mode 7 is not POD, CONTAINER, NODE or TARGET");
        fx_done(f);
}

/* ---- filesystem ------------------------------------------------------------ */

static const struct ctr_mount *mount_at(const struct ctr_spec *s, const char *dest)
{
        const struct ctr_mount *found = NULL;

        for (size_t i = 0; i < s->n_mounts; i++)
                if (strcmp(s->mounts[i].destination, dest) == 0) {
                        assert_null(found);
                        found = &s->mounts[i];
                }
        return found;
}

static void test_mounts(void **state)
{
        struct fx *f = fx_new();
        const struct ctr_spec *s;
        const struct ctr_mount *m;
        Runtime__V1__Mount *cm;

        (void)state;
        /* no CRI mounts: the pod's four files */
        s = built(f);
        assert_int_equal(s->n_mounts, 4);
        assert_int_equal(mount_at(s, "/etc/hosts")->kind, CTR_MOUNT_POD_HOSTS);
        assert_int_equal(mount_at(s, "/etc/resolv.conf")->kind, CTR_MOUNT_POD_RESOLV);
        assert_int_equal(mount_at(s, "/etc/hostname")->kind, CTR_MOUNT_POD_HOSTNAME);
        m = mount_at(s, "/dev/shm");
        assert_int_equal(m->kind, CTR_MOUNT_POD_SHM);
        assert_null(m->source);
        assert_int_equal(m->flags, 0);
        ctr_request_free(&f->req);

        cm = mount_add(f, "/data/", "/var/lib/kubelet/pods/x//volumes/./data");
        cm->readonly = cm->recursive_read_only = 1;
        cm->propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER;
        cm = mount_add(f, "/shared", "/mnt/a/../b");
        cm->propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL;
        cm->selinux_relabel = 1;
        /* kubelet's own /etc/hosts, written oddly, replaces the pod's */
        mount_add(f, "//etc/./hosts", "/var/lib/kubelet/pods/x/etc-hosts");
        s = built(f);
        assert_int_equal(s->n_mounts, 6);
        m = &s->mounts[0];
        assert_string_equal(m->destination, "/data");
        assert_string_equal(m->source, "/var/lib/kubelet/pods/x/volumes/data");
        assert_int_equal(m->kind, CTR_MOUNT_BIND);
        assert_int_equal(m->flags,
                         CTR_M_READONLY | CTR_M_RECURSIVE_READONLY | CTR_M_PROPAGATION_RSLAVE);
        m = &s->mounts[1];
        assert_string_equal(m->source, "/mnt/b");
        assert_int_equal(m->flags, CTR_M_PROPAGATION_RSHARED | CTR_M_SELINUX_RELABEL);
        m = mount_at(s, "/etc/hosts");
        assert_int_equal(m->kind, CTR_MOUNT_BIND);
        assert_string_equal(m->source, "/var/lib/kubelet/pods/x/etc-hosts");
        assert_non_null(mount_at(s, "/etc/resolv.conf"));
        assert_non_null(mount_at(s, "/dev/shm"));
        ctr_request_free(&f->req);

        /* ".." never climbs above the root */
        f->cfg.n_mounts = 0;
        mount_add(f, "/../../x/..", "/..");
        s = built(f);
        assert_string_equal(s->mounts[0].destination, "/");
        assert_string_equal(s->mounts[0].source, "/");
        fx_done(f);
}

static void test_mounts_refused(void **state)
{
        Runtime__V1__IDMapping map = RUNTIME__V1__IDMAPPING__INIT;
        Runtime__V1__IDMapping *maps[] = {&map};
        Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
        struct fx *f = fx_new();
        Runtime__V1__Mount *cm;

        (void)state;
        mount_add(f, "/ok", "/ok");
        cm = mount_add(f, "data", "/srv/data");
        refused(f, "container app: mount 2: container path \"data\" is not absolute");
        cm->container_path = "";
        refused(f, "container app: mount 2: container path \"\" is not absolute");
        cm->container_path = "/data";
        cm->host_path = "srv/data";
        refused(f, "container app: mount 2: host path \"srv/data\" is not absolute");
        cm->host_path = "";
        refused(f, "container app: mount 2: host path \"\" is not absolute");
        cm->host_path = "/srv/data";
        cm->recursive_read_only = 1;
        refused(f, "container app: mount 2: recursive_read_only is set without readonly");
        cm->recursive_read_only = 0;
        cm->propagation = 3;
        refused(f, "container app: mount 2: propagation 3 is not a mount propagation");
        cm->propagation = 0;
        cm->uidmappings = maps;
        cm->n_uidmappings = 1;
        refused(f, "container app: mount 2: ID-mapped mounts are not supported");
        cm->n_uidmappings = 0;
        img.image = "registry/vol:1";
        cm->image = &img;
        refused(f, "container app: mount 2: image volumes are not supported");
        cm->image = NULL;
        built(f);
        ctr_request_free(&f->req);
        f->cfg.n_mounts = CTRSPEC_MAX_MOUNTS + 1;
        refused(f, "container app: 513 mounts, more than 512");
        fx_done(f);
}

static void test_volumes(void **state)
{
        char *vols[] = {"/var/cache", "/data/", "/var/cache/", "/etc/hosts", "/tmp"};
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        f->image.volumes = vols;
        f->image.n_volumes = 5;
        mount_add(f, "/data", "/srv");
        s = built(f);
        /* /data has a mount, /var/cache is there once, /etc/hosts is the pod's */
        ASSERT_STRV(s->volumes, s->n_volumes, "/var/cache", "/tmp");
        ctr_request_free(&f->req);
        vols[4] = "tmp";
        refused(f, "container app: image docker.io/library/busybox:latest: VOLUME \"tmp\" is not "
                   "absolute");
        fx_done(f);
}

static void test_devices(void **state)
{
        Runtime__V1__CDIDevice cdi = RUNTIME__V1__CDIDEVICE__INIT, *cdip[1];
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        device_add(f, "/dev/fuse", "/dev/fuse", "rwm");
        device_add(f, "/dev/gpu0", "/dev//dri/card0", "mr");
        s = built(f);
        assert_int_equal(s->n_devices, 2);
        assert_string_equal(s->devices[0].permissions, "rwm");
        assert_string_equal(s->devices[1].host_path, "/dev/dri/card0");
        assert_string_equal(s->devices[1].permissions, "rm");
        ctr_request_free(&f->req);

        f->dev[1].host_path = "/etc/passwd";
        refused(f, "container app: device 2: host path \"/etc/passwd\" is outside /dev");
        f->dev[1].host_path = "/dev/../etc/shadow";
        refused(f, "container app: device 2: host path \"/dev/../etc/shadow\" is outside /dev");
        f->dev[1].host_path = "/dev";
        refused(f, "container app: device 2: host path \"/dev\" is outside /dev");
        f->dev[1].host_path = "dev/null";
        refused(f, "container app: device 2: host path \"dev/null\" is not absolute");
        f->dev[1].host_path = "/dev/null";
        f->dev[1].container_path = "null";
        refused(f, "container app: device 2: container path \"null\" is not absolute");
        f->dev[1].container_path = "/dev/null";
        f->dev[1].permissions = "rwx";
        refused(f, "container app: device 2: permissions \"rwx\" are not a non-empty set of r, w "
                   "and m");
        f->dev[1].permissions = "";
        refused(f, "container app: device 2: permissions \"\" are not a non-empty set of r, w and "
                   "m");
        f->dev[1].permissions = "r";
        built(f);
        ctr_request_free(&f->req);
        f->cfg.n_devices = CTRSPEC_MAX_DEVICES + 1;
        refused(f, "container app: 257 devices, more than 256");
        f->cfg.n_devices = 0;
        cdip[0] = &cdi;
        cdi.name = "nvidia.com/gpu=0";
        f->cfg.cdi_devices = cdip;
        f->cfg.n_cdi_devices = 1;
        refused(f, "container app: CDI device \"nvidia.com/gpu=0\": CDI devices are not supported");
        fx_done(f);
}

static void test_log(void **state)
{
        static const char *escapes[] = {"..", "../x", "a/../../x", "a/.."};
        static const char *empty[] = {"a//b", "a/", ".", "./x", "a/./b"};
        char msg[256];
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        s = built(f);
        assert_string_equal(s->log_directory, "/var/log/pods/ns_web-0_uid");
        assert_string_equal(s->log_path, "app/0.log");
        ctr_request_free(&f->req);
        f->cfg.log_path = "";
        s = built(f);
        assert_null(s->log_directory);
        assert_null(s->log_path);
        ctr_request_free(&f->req);
        f->cfg.log_path = "0.log";
        f->pod.log_directory = "";
        s = built(f);
        assert_null(s->log_directory);
        assert_null(s->log_path);
        ctr_request_free(&f->req);
        /* a name that merely starts with dots is a name */
        f->pod.log_directory = "/var/log/pods/p";
        f->cfg.log_path = "..a/...";
        assert_string_equal(built(f)->log_path, "..a/...");
        ctr_request_free(&f->req);

        for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
                f->cfg.log_path = (char *)escapes[i];
                snprintf(msg, sizeof(msg),
                         "container app: log path \"%s\" escapes the pod's log directory",
                         escapes[i]);
                refused(f, msg);
        }
        for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
                f->cfg.log_path = (char *)empty[i];
                snprintf(msg, sizeof(msg),
                         "container app: log path \"%s\" has an empty or \".\" component",
                         empty[i]);
                refused(f, msg);
        }
        f->cfg.log_path = "/var/log/x.log";
        refused(f, "container app: log path \"/var/log/x.log\" is absolute: it is relative to "
                   "the pod's log directory");
        f->cfg.log_path = "x.log";
        f->pod.log_directory = "var/log/pods";
        refused(f, "container app: the pod's log directory \"var/log/pods\" is not absolute");
        fx_done(f);
}

/* ---- resources and the rest -------------------------------------------------- */

static void test_resources(void **state)
{
        struct fx *f = fx_new();
        const struct ctr_spec *s;

        (void)state;
        s = built(f);
        assert_false(s->oom_score_adj.has);
        assert_false(s->cpu_shares.has);
        ctr_request_free(&f->req);

        /* all zero: nothing set but the OOM score */
        f->linux.resources = &f->res;
        f->cfg.linux = &f->linux;
        s = built(f);
        assert_false(s->cpu_period.has || s->cpu_quota.has || s->cpu_shares.has ||
                     s->memory_limit.has || s->memory_swap.has || s->pids_limit.has);
        assert_true(s->oom_score_adj.has && s->oom_score_adj.v == 0);
        assert_null(s->cpuset_cpus);
        assert_int_equal(s->n_hugepages, 0);
        ctr_request_free(&f->req);

        f->res.cpu_period = 100000;
        f->res.cpu_quota = -1;
        f->res.cpu_shares = 2;
        f->res.memory_limit_in_bytes = 1 << 30;
        f->res.memory_swap_limit_in_bytes = -1;
        f->res.oom_score_adj = 1000;
        f->res.cpuset_cpus = "0-3";
        f->res.cpuset_mems = "0";
        f->hp[0].page_size = "2MB";
        f->hp[0].limit = 1 << 21;
        f->res.n_hugepage_limits = 1;
        f->uni[0].key = "memory.high";
        f->uni[0].value = "1";
        f->uni[1].key = "io.weight";
        f->uni[1].value = "10";
        f->uni[2].key = "memory.high";
        f->uni[2].value = "2";
        f->res.n_unified = 3;
        s = built(f);
        assert_true(s->cpu_period.has && s->cpu_period.v == 100000);
        assert_true(s->cpu_quota.has && s->cpu_quota.v == -1);
        assert_true(s->cpu_shares.has && s->cpu_shares.v == 2);
        assert_true(s->memory_limit.has && s->memory_limit.v == 1 << 30);
        assert_true(s->memory_swap.has && s->memory_swap.v == -1);
        assert_true(s->oom_score_adj.has && s->oom_score_adj.v == 1000);
        assert_string_equal(s->cpuset_cpus, "0-3");
        assert_string_equal(s->cpuset_mems, "0");
        assert_int_equal(s->n_hugepages, 1);
        assert_string_equal(s->hugepages[0].page_size, "2MB");
        assert_true(s->hugepages[0].limit == 1 << 21);
        /* a key sent twice keeps its place and takes the last value */
        assert_int_equal(s->n_unified, 2);
        assert_string_equal(s->unified[0].key, "memory.high");
        assert_string_equal(s->unified[0].value, "2");
        assert_string_equal(s->unified[1].key, "io.weight");
        ctr_request_free(&f->req);

        f->uni[1].key = "../cpu.max";
        refused(f, "container app: unified key \"../cpu.max\" is not a cgroup file name");
        f->uni[1].key = "..";
        refused(f, "container app: unified key \"..\" is not a cgroup file name");
        f->uni[1].key = "";
        refused(f, "container app: unified key \"\" is not a cgroup file name");
        f->uni[1].key = "io.weight";
        f->res.n_unified = CTRSPEC_MAX_UNIFIED + 1;
        refused(f, "container app: 65 unified cgroup entries, more than 64");
        f->res.n_unified = 0;
        f->hp[0].page_size = "";
        refused(f, "container app: hugepage limit 1 has no page size");
        f->res.n_hugepage_limits = CTRSPEC_MAX_HUGEPAGES + 1;
        refused(f, "container app: 17 hugepage limits, more than 16");
        fx_done(f);
}

static void test_pod_and_layers(void **state)
{
        struct fx *f = fx_new();
        const struct ctr_spec *s;
        char name[CTRSPEC_MAX_NAME + 2];

        (void)state;
        s = built(f);
        assert_null(s->cgroup_parent);
        assert_string_equal(s->hostname, "web-0");
        ASSERT_STRV(s->layers, s->n_layers, "sha256:1111", "sha256:2222");
        ctr_request_free(&f->req);
        f->pod.linux = &f->pod_linux;
        f->pod_linux.cgroup_parent = "kubepods-besteffort.slice";
        assert_string_equal(built(f)->cgroup_parent, "kubepods-besteffort.slice");
        ctr_request_free(&f->req);

        memset(name, 'h', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        f->pod.hostname = name;
        refused(f, "container app: the pod's hostname is longer than 255 bytes");
        f->pod.hostname = "web-0";
        f->n_layers = 0;
        refused(f, "container app: image docker.io/library/busybox:latest has no layers");
        f->n_layers = CTRSPEC_MAX_LAYERS + 1;
        refused(f, "container app: image docker.io/library/busybox:latest has 129 layers, more "
                   "than 128");
        /* no metadata or image: the messages still say what */
        f->cfg.metadata = NULL;
        f->cfg.image = NULL;
        f->n_layers = 0;
        refused(f, "container (unnamed): image (unnamed) has no layers");
        fx_done(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_args),
            cmocka_unit_test(test_args_limits),
            cmocka_unit_test(test_env_merge),
            cmocka_unit_test(test_env_bytes),
            cmocka_unit_test(test_env_refused),
            cmocka_unit_test(test_cwd),
            cmocka_unit_test(test_user),
            cmocka_unit_test(test_flags),
            cmocka_unit_test(test_capabilities),
            cmocka_unit_test(test_pid_mode),
            cmocka_unit_test(test_mounts),
            cmocka_unit_test(test_mounts_refused),
            cmocka_unit_test(test_volumes),
            cmocka_unit_test(test_devices),
            cmocka_unit_test(test_log),
            cmocka_unit_test(test_resources),
            cmocka_unit_test(test_pod_and_layers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
