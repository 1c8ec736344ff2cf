/* pods.c: owns brigd's pod sandboxes: the table, ids, the record of each
 * pod (root/pods/<id>.json: state, creation time, runtime handler and the
 * PodSandboxConfig as kubelet sent it, packed), the create / stop / remove
 * steps and their order against the helper, and the clean-up at start of
 * what a crash left half-created. */
#include "pods.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crashpoint.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "helper_client.h"
#include "log.h"
#include "proto/helper.h"
#include "recfile.h"
#include "util.h"

#define RECORD_SUFFIX ".json"

struct pods {
        struct helper_client *helper;
        unsigned net_timeout_ms;
        int dir_fd;
        pthread_mutex_t lock; /* the table, and every pod's state, creating and refs */
        struct pod **v;
        size_t n, cap;
        /* One stop or remove at a time, so a record never comes back after
         * its pod was removed. Pods are few and these calls short. */
        pthread_mutex_t op_lock;
        pods_containers_hook_fn containers_hook; /* NULL: no containers */
        void *containers_arg;
};

static void pod_free(struct pod *pod)
{
        if (!pod)
                return;
        if (pod->config)
                runtime__v1__pod_sandbox_config__free_unpacked(pod->config, NULL);
        free(pod->runtime_handler);
        free(pod);
}

void pod_unref(struct pods *p, struct pod *pod)
{
        bool last;

        if (!pod)
                return;
        pthread_mutex_lock(&p->lock);
        last = --pod->refs == 0;
        pthread_mutex_unlock(&p->lock);
        if (last)
                pod_free(pod);
}

void pods_set_containers_hook(struct pods *p, pods_containers_hook_fn fn, void *arg)
{
        p->containers_hook = fn;
        p->containers_arg = arg;
}

enum pod_state pod_state(struct pods *p, const struct pod *pod)
{
        enum pod_state s;

        pthread_mutex_lock(&p->lock);
        s = pod->state;
        pthread_mutex_unlock(&p->lock);
        return s;
}

/* ---- records ------------------------------------------------------------ */

static void record_name(const char *id, char *buf, size_t size)
{
        snprintf(buf, size, "%s" RECORD_SUFFIX, id);
}

/* Writes pod's record with state (read by the caller under the lock). */
static int record_write(struct pods *p, const struct pod *pod, const char *state)
{
        size_t packed_len = protobuf_c_message_get_packed_size(&pod->config->base);
        _cleanup_free_ uint8_t *packed = malloc(packed_len ? packed_len : 1);
        _cleanup_free_ char *config_hex = NULL, *text = NULL;
        char name[POD_ID_LEN + 16];
        json_t *o, *ips = json_array();

        if (!packed || !ips) {
                json_decref(ips);
                return -ENOMEM;
        }
        for (size_t i = 0; i < pod->n_ips; i++)
                if (json_array_append_new(ips, json_string(pod->ips[i])) < 0) {
                        json_decref(ips);
                        return -ENOMEM;
                }
        protobuf_c_message_pack(&pod->config->base, packed);
        config_hex = malloc(2 * packed_len + 1);
        if (!config_hex) {
                json_decref(ips);
                return -ENOMEM;
        }
        digest_hex_encode(packed, packed_len, config_hex);
        o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:o}", "id", pod->id, "state", state,
                      "createdAt", (json_int_t)pod->created_at, "runtimeHandler",
                      pod->runtime_handler, "nsFlags", (json_int_t)pod->ns_flags, "config",
                      config_hex, "ips", ips);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        record_name(pod->id, name, sizeof(name));
        return recfile_write(p->dir_fd, name, text, strlen(text));
}

static bool valid_pod_id(const char *id)
{
        size_t n = strspn(id, "0123456789abcdef");

        return n == POD_ID_LEN && id[n] == '\0';
}

/* Parses one record into a pod; *state_ret is its state string's kind. */
static int record_parse(const char *text, size_t len, const char *name, struct pod **ret,
                        bool *creating, char *err, size_t err_size)
{
        json_error_t jerr;
        json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        const char *id = NULL, *state = NULL, *handler = NULL, *config_hex = NULL;
        json_int_t created_at = 0, ns_flags = 0;
        json_t *ips = NULL;
        _cleanup_free_ uint8_t *packed = NULL;
        size_t packed_len = 0;
        struct pod *pod = NULL;
        char expected[POD_ID_LEN + 16];
        int r = -EINVAL;

        if (!o)
                return errbuf_fail(err, err_size, -EINVAL, "not JSON: %s", jerr.text);
        if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:s, s:s, s:I, s:s, s:I, s:s, s?o}", "id", &id,
                           "state", &state, "createdAt", &created_at, "runtimeHandler", &handler,
                           "nsFlags", &ns_flags, "config", &config_hex, "ips", &ips) < 0) {
                errbuf_fail(err, err_size, -EINVAL, "%s", jerr.text);
                goto out;
        }
        record_name(id, expected, sizeof(expected));
        if (!valid_pod_id(id) || strcmp(expected, name) != 0) {
                errbuf_fail(err, err_size, -EINVAL, "holds pod \"%.80s\" under another name", id);
                goto out;
        }
        if (strcmp(state, "creating") && strcmp(state, "ready") && strcmp(state, "notready")) {
                errbuf_fail(err, err_size, -EINVAL, "unknown state \"%.32s\"", state);
                goto out;
        }
        if (ns_flags < 0 || ns_flags & ~(json_int_t)BRIG_POD_NS_KNOWN ||
            digest_hex_decode(config_hex, &packed, &packed_len) < 0) {
                errbuf_fail(err, err_size, -EINVAL, "bad nsFlags or config");
                goto out;
        }
        if (ips && (!json_is_array(ips) || json_array_size(ips) > BRIG_HELPER_MAX_POD_IPS)) {
                errbuf_fail(err, err_size, -EINVAL, "bad ips");
                goto out;
        }
        pod = calloc(1, sizeof(*pod));
        if (!pod) {
                r = errbuf_fail(err, err_size, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; ips && i < json_array_size(ips); i++) {
                const char *ip = json_string_value(json_array_get(ips, i));

                if (!ip || strlen(ip) >= sizeof(pod->ips[0])) {
                        errbuf_fail(err, err_size, -EINVAL, "bad ips");
                        goto out;
                }
                snprintf(pod->ips[pod->n_ips++], sizeof(pod->ips[0]), "%s", ip);
        }
        snprintf(pod->id, sizeof(pod->id), "%s", id);
        pod->created_at = created_at;
        pod->ns_flags = (unsigned)ns_flags;
        pod->state = strcmp(state, "ready") == 0 ? POD_READY : POD_NOTREADY;
        pod->runtime_handler = strdup(handler);
        pod->config = runtime__v1__pod_sandbox_config__unpack(NULL, packed_len, packed);
        if (!pod->runtime_handler || !pod->config || !pod->config->metadata) {
                errbuf_fail(err, err_size, -EINVAL, "the config does not decode");
                goto out;
        }
        *creating = strcmp(state, "creating") == 0;
        *ret = TAKE_PTR(pod);
        r = 0;
out:
        pod_free(pod);
        json_decref(o);
        return r;
}

/* ---- the table ---------------------------------------------------------- */

static int table_add(struct pods *p, struct pod *pod)
{
        if (p->n == p->cap) {
                size_t cap = p->cap ? 2 * p->cap : 16;
                struct pod **v = realloc(p->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                p->v = v;
                p->cap = cap;
        }
        pod->refs++;
        p->v[p->n++] = pod;
        return 0;
}

/* Drops the table's reference; the caller holds the lock. Returns true
 * when that was the last one (the caller frees the pod after unlocking). */
static bool table_drop(struct pods *p, struct pod *pod)
{
        for (size_t i = 0; i < p->n; i++)
                if (p->v[i] == pod) {
                        p->v[i] = p->v[--p->n];
                        pod->removed = true;
                        return --pod->refs == 0;
                }
        return false;
}

static void drop(struct pods *p, struct pod *pod)
{
        bool last;

        pthread_mutex_lock(&p->lock);
        last = table_drop(p, pod);
        pthread_mutex_unlock(&p->lock);
        if (last)
                pod_free(pod);
}

/* The pod's id and names, as NET_DEL and NET_CHECK take them. */
static struct helper_net_request net_request_of(const struct pod *pod)
{
        const Runtime__V1__PodSandboxMetadata *m = pod->config->metadata;

        return (struct helper_net_request){.pod_id = pod->id,
                                           .k8s_namespace = m->namespace_,
                                           .k8s_name = m->name,
                                           .k8s_uid = m->uid};
}

/* Detaches the pod from the CNI network if it has its own network
 * namespace (the helper knows whether it was ever attached). */
static int net_del(struct pods *p, uint64_t call_id, const struct pod *pod, char *err,
                   size_t err_size)
{
        struct helper_net_request req = net_request_of(pod);

        if (!(pod->ns_flags & BRIG_POD_NS_NET))
                return 0;
        return helper_client_net_del(p->helper, call_id, &req, p->net_timeout_ms, err, err_size);
}

/* Undoes whatever exists of a pod's creation: its network attachment, its
 * namespaces, then its record. */
static int undo_create(struct pods *p, uint64_t call_id, const struct pod *pod, char *err,
                       size_t err_size)
{
        const char *id = pod->id;
        char name[POD_ID_LEN + 16];
        int r = 0;

        /* Best effort, as the pod never ran: a plugin whose DEL fails must
         * not keep the namespaces and the record (the helper has run every
         * plugin's DEL it could). */
        if (p->helper && net_del(p, call_id, pod, err, err_size) < 0)
                log_warn("CNI DEL failed while undoing a pod that never became ready; its "
                         "namespaces go anyway",
                         "pod=%s reason=\"%s\"", id, err);
        if (p->helper)
                r = helper_client_pod_remove(p->helper, call_id, id, err, err_size);
        if (r < 0)
                return r;
        record_name(id, name, sizeof(name));
        r = recfile_delete(p->dir_fd, name);
        if (r < 0)
                errbuf_fail(err, err_size, r, "pod %s: cannot delete its record: %s", id,
                            strerror(-r));
        return r;
}

static void load_record(struct pods *p, const char *name)
{
        _cleanup_free_ char *text = NULL;
        struct pod *pod = NULL;
        char err[512] = "", corrupt[512];
        bool creating = false;
        size_t len = 0;
        int r = recfile_read(p->dir_fd, name, POD_RECORD_MAX, &text, &len, err, sizeof(err));

        if (r == 0)
                r = record_parse(text, len, name, &pod, &creating, err, sizeof(err));
        if (r < 0) {
                snprintf(corrupt, sizeof(corrupt), "%s.corrupt", name);
                log_error("a pod record cannot be read; it is set aside",
                          "file=%s reason=\"%s\" renamed_to=%s", name, err, corrupt);
                renameat(p->dir_fd, name, p->dir_fd, corrupt);
                return;
        }
        if (creating) {
                /* brigd died during RunPodSandbox: kubelet got no id, so the
                 * pod is nobody's; its namespaces may exist. */
                r = undo_create(p, 0, pod, err, sizeof(err));
                if (r < 0)
                        log_error("cannot clean up a pod left half-created; retried at the "
                                  "next start",
                                  "pod=%s reason=\"%s\"", pod->id, err);
                else
                        log_info("removed a pod left half-created by a crash", "pod=%s", pod->id);
                pod_free(pod);
                return;
        }
        if (table_add(p, pod) < 0) {
                log_error("out of memory loading pod records", "pod=%s", pod->id);
                pod_free(pod);
        }
}

/* A ready pod whose pins are gone (the node rebooted: run_root is a tmpfs,
 * records are not) is not ready any more; kubelet then makes it anew. */
static void reconcile(struct pods *p)
{
        char err[512];

        for (size_t i = 0; p->helper && i < p->n; i++) {
                struct pod *pod = p->v[i];
                unsigned pinned = 0;

                if (pod->state != POD_READY)
                        continue;
                if (helper_client_pod_status(p->helper, 0, pod->id, &pinned, err, sizeof(err)) <
                    0) {
                        log_warn("cannot ask brig-helper for a pod's namespaces; the pod keeps "
                                 "its recorded state",
                                 "pod=%s reason=\"%s\"", pod->id, err);
                        continue;
                }
                if ((pinned & pod->ns_flags) == pod->ns_flags)
                        continue;
                pod->state = POD_NOTREADY;
                log_warn("a ready pod has lost its namespaces (did the node reboot?); it is not "
                         "ready now",
                         "pod=%s want_ns=0x%x pinned=0x%x", pod->id, pod->ns_flags, pinned);
                if (record_write(p, pod, "notready") < 0)
                        log_error("cannot record a pod not ready", "pod=%s", pod->id);
        }
}

int pods_open(const struct brig_config *config, struct helper_client *helper, struct pods **ret,
              char *err, size_t err_size)
{
        _cleanup_free_ char *dir = NULL;
        struct pods *p = calloc(1, sizeof(*p));
        struct dirent *de;
        DIR *d;

        if (!p)
                return -ENOMEM;
        p->helper = helper;
        /* The helper times each plugin out; this is only the backstop for
         * a chain of the longest allowed. */
        p->net_timeout_ms = (config->cni_plugin_timeout * 16 + 60) * 1000;
        p->dir_fd = -1;
        pthread_mutex_init(&p->lock, NULL);
        pthread_mutex_init(&p->op_lock, NULL);
        if (asprintf(&dir, "%s/" PODS_DIR, config->root) < 0) {
                dir = NULL;
                pods_close(p);
                return -ENOMEM;
        }
        p->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = p->dir_fd >= 0 ? opendir_at(p->dir_fd) : NULL;
        if (!d) {
                int r = errbuf_fail(err, err_size, negative_errno(),
                                    "cannot open the pod records directory %s: %m", dir);
                pods_close(p);
                return r;
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (recfile_is_temp(de->d_name))
                        unlinkat(p->dir_fd, de->d_name, 0);
                else if (n > strlen(RECORD_SUFFIX) &&
                         strcmp(de->d_name + n - strlen(RECORD_SUFFIX), RECORD_SUFFIX) == 0)
                        load_record(p, de->d_name);
        }
        closedir(d);
        reconcile(p);
        log_info("pod records loaded", "dir=%s pods=%zu", dir, p->n);
        *ret = p;
        return 0;
}

void pods_close(struct pods *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                if (--p->v[i]->refs == 0)
                        pod_free(p->v[i]);
        free(p->v);
        safe_close(p->dir_fd);
        pthread_mutex_destroy(&p->lock);
        pthread_mutex_destroy(&p->op_lock);
        free(p);
}

/* ---- the operations ----------------------------------------------------- */

static bool same_metadata(const Runtime__V1__PodSandboxMetadata *a,
                          const Runtime__V1__PodSandboxMetadata *b)
{
        return strcmp(a->name, b->name) == 0 && strcmp(a->namespace_, b->namespace_) == 0 &&
               strcmp(a->uid, b->uid) == 0 && a->attempt == b->attempt;
}

static int new_id(char id[static POD_ID_LEN + 1])
{
        uint8_t raw[POD_ID_LEN / 2];

        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return -EIO;
        digest_hex_encode(raw, sizeof(raw), id);
        return 0;
}

/* A pod of our own from the caller's config, not yet in the table. */
static int pod_new(const Runtime__V1__PodSandboxConfig *config, const char *runtime_handler,
                   unsigned ns_flags, struct pod **ret)
{
        size_t len = protobuf_c_message_get_packed_size(&config->base);
        _cleanup_free_ uint8_t *packed = malloc(len ? len : 1);
        struct pod *pod = calloc(1, sizeof(*pod));
        struct timespec now;

        if (!packed || !pod) {
                free(pod);
                return -ENOMEM;
        }
        protobuf_c_message_pack(&config->base, packed);
        pod->config = runtime__v1__pod_sandbox_config__unpack(NULL, len, packed);
        pod->runtime_handler = strdup(runtime_handler);
        if (!pod->config || !pod->runtime_handler || new_id(pod->id) < 0) {
                pod_free(pod);
                return -ENOMEM;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        pod->created_at = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        pod->ns_flags = ns_flags;
        pod->state = POD_NOTREADY;
        pod->creating = true;
        *ret = pod;
        return 0;
}

/* Puts pod in the table unless a pod with its metadata is there. */
static int reserve(struct pods *p, struct pod *pod, char *err, size_t err_size)
{
        const Runtime__V1__PodSandboxMetadata *m = pod->config->metadata;
        int r = 0;

        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->n && r == 0; i++)
                if (same_metadata(p->v[i]->config->metadata, m))
                        r = errbuf_fail(err, err_size, -EEXIST,
                                        "pod sandbox %s/%s (uid %s, attempt %" PRIu32
                                        ") exists already as %s",
                                        m->namespace_, m->name, m->uid, m->attempt, p->v[i]->id);
        if (r == 0 && p->n >= PODS_MAX)
                r = errbuf_fail(err, err_size, -ENOSPC, "brigd holds %d pod sandboxes already",
                                PODS_MAX);
        if (r == 0)
                r = table_add(p, pod);
        pthread_mutex_unlock(&p->lock);
        return r;
}

int pods_run(struct pods *p, uint64_t call_id, const Runtime__V1__PodSandboxConfig *config,
             const char *runtime_handler, unsigned ns_flags, const char *hostname,
             const char *cgroup_parent, const char *const *sysctls, size_t n_sysctls,
             const struct pod_network *net, const char *files_hostname,
             char id[static POD_ID_LEN + 1], char *err, size_t err_size)
{
        struct pod *pod = NULL;
        char why[512];
        int r;

        if (!p->helper)
                return errbuf_fail(err, err_size, -ENOTCONN,
                                   "brigd runs without brig-helper: pods cannot be created");
        r = pod_new(config, runtime_handler, ns_flags, &pod);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "out of memory");
        r = reserve(p, pod, err, err_size);
        if (r < 0) {
                pod_free(pod);
                return r;
        }
        r = record_write(p, pod, "creating");
        if (r < 0) {
                errbuf_fail(err, err_size, r, "pod %s: cannot write its record: %s", pod->id,
                            strerror(-r));
                drop(p, pod);
                return r;
        }
        crashpoint(CRASH_POD_RECORDED);
        struct helper_pod_create req = {
            .pod_id = pod->id,
            .ns_flags = ns_flags,
            .hostname = hostname,
            .sysctls = sysctls,
            .n_sysctls = n_sysctls,
            .cgroup_parent = cgroup_parent,
        };
        r = helper_client_pod_create(p->helper, call_id, &req, err, err_size);
        /* The only ENOENT: a sysctl the kernel does not have. */
        if (r == -ENOENT)
                r = -EINVAL;
        if (r == 0)
                crashpoint(CRASH_POD_PINNED);
        if (r == 0 && (ns_flags & BRIG_POD_NS_NET)) {
                struct helper_net_request req = net->req;
                const struct helper_net_request names = net_request_of(pod);
                struct helper_net_result res;

                req.pod_id = names.pod_id;
                req.k8s_namespace = names.k8s_namespace;
                req.k8s_name = names.k8s_name;
                req.k8s_uid = names.k8s_uid;
                r = helper_client_net_add(p->helper, call_id, &req, p->net_timeout_ms, &res, err,
                                          err_size);
                if (r == 0) {
                        pod->n_ips = res.n_ips;
                        memcpy(pod->ips, res.ips, sizeof(pod->ips));
                        crashpoint(CRASH_POD_NETWORKED);
                } else if (r == -ENOENT || r == -EPERM) {
                        /* no CNI configuration, or one root may not use:
                         * the node's network is not ready */
                        r = -ENETDOWN;
                }
        }
        if (r == 0)
                r = helper_client_pod_files(p->helper, call_id, pod->id, files_hostname,
                                            net->files_dns, pod->ips, pod->n_ips, err, err_size);
        if (r == 0) {
                r = record_write(p, pod, "ready");
                if (r < 0)
                        errbuf_fail(err, err_size, r, "pod %s: cannot write its record: %s",
                                    pod->id, strerror(-r));
        }
        if (r < 0) {
                if (undo_create(p, call_id, pod, why, sizeof(why)) < 0)
                        log_error("cannot undo a failed RunPodSandbox; the next start retries",
                                  "pod=%s reason=\"%s\"", pod->id, why);
                drop(p, pod);
                return r;
        }
        pthread_mutex_lock(&p->lock);
        pod->state = POD_READY;
        pod->creating = false;
        pthread_mutex_unlock(&p->lock);
        crashpoint(CRASH_POD_READY);
        memcpy(id, pod->id, POD_ID_LEN + 1);
        log_info("pod sandbox ready", "call=%" PRIu64 " pod=%s name=%s/%s", call_id, pod->id,
                 config->metadata->namespace_, config->metadata->name);
        return 0;
}

int pods_get(struct pods *p, const char *ref, struct pod **ret, char *err, size_t err_size)
{
        size_t len = strlen(ref), matches = 0;
        struct pod *found = NULL;

        if (len == 0)
                return errbuf_fail(err, err_size, -ENOENT, "no pod sandbox id given");
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->n; i++) {
                struct pod *pod = p->v[i];

                if (pod->creating || strncmp(pod->id, ref, len) != 0)
                        continue;
                if (len == POD_ID_LEN) {
                        found = pod;
                        matches = 1;
                        break;
                }
                found = pod;
                matches++;
        }
        if (matches == 1)
                found->refs++;
        pthread_mutex_unlock(&p->lock);
        if (matches == 0)
                return errbuf_fail(err, err_size, -ENOENT, "pod sandbox %.80s not found", ref);
        if (matches > 1)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "pod sandbox id prefix %.80s matches %zu pods", ref, matches);
        *ret = found;
        return 0;
}

static int newest_first(const void *a, const void *b)
{
        const struct pod *x = *(struct pod *const *)a, *y = *(struct pod *const *)b;

        return x->created_at < y->created_at ? 1 : x->created_at > y->created_at ? -1 : 0;
}

int pods_list(struct pods *p, struct pod ***ret, size_t *ret_n)
{
        struct pod **v;
        size_t n = 0;

        pthread_mutex_lock(&p->lock);
        v = calloc(p->n ? p->n : 1, sizeof(*v));
        for (size_t i = 0; v && i < p->n; i++)
                if (!p->v[i]->creating) {
                        p->v[i]->refs++;
                        v[n++] = p->v[i];
                }
        pthread_mutex_unlock(&p->lock);
        if (!v)
                return -ENOMEM;
        qsort(v, n, sizeof(*v), newest_first);
        *ret = v;
        *ret_n = n;
        return 0;
}

void pods_list_free(struct pods *p, struct pod **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                pod_unref(p, v[i]);
        free(v);
}

/* Not ready (recorded), then detached from the network: a stop that
 * failed in NET_DEL is retried whole by the next stop or remove. The
 * caller holds op_lock. */
static int stop_locked(struct pods *p, uint64_t call_id, struct pod *pod, char *err,
                       size_t err_size)
{
        bool was_ready;
        int r = 0;

        pthread_mutex_lock(&p->lock);
        was_ready = pod->state == POD_READY;
        pod->state = POD_NOTREADY;
        pthread_mutex_unlock(&p->lock);
        if (was_ready) {
                r = record_write(p, pod, "notready");
                if (r < 0)
                        return errbuf_fail(err, err_size, r, "pod %s: cannot write its record: %s",
                                           pod->id, strerror(-r));
        }
        /* After the record: a container created from now on finds the pod
         * not ready. */
        if (p->containers_hook)
                r = p->containers_hook(p->containers_arg, call_id, pod->id, false, err, err_size);
        if (r == 0 && p->helper)
                r = net_del(p, call_id, pod, err, err_size);
        if (r == 0 && was_ready)
                log_info("pod sandbox stopped", "call=%" PRIu64 " pod=%s", call_id, pod->id);
        return r;
}

int pods_check_network(struct pods *p, uint64_t call_id, const struct pod *pod, char *err,
                       size_t err_size)
{
        struct helper_net_request req = net_request_of(pod);

        if (!(pod->ns_flags & BRIG_POD_NS_NET))
                return 0;
        if (!p->helper)
                return errbuf_fail(err, err_size, -ENOTCONN, "brigd runs without brig-helper");
        return helper_client_net_check(p->helper, call_id, &req, p->net_timeout_ms, err, err_size);
}

/* Finds the pod ref names and takes op_lock for a stop or remove of it.
 * Returns 1 with the pod referenced and op_lock held, 0 when there is no
 * such pod (any more: an unknown id is no error), or a negative errno. */
static int op_begin(struct pods *p, const char *ref, struct pod **ret, char *err, size_t err_size)
{
        struct pod *pod = NULL;
        bool gone;
        int r = pods_get(p, ref, &pod, err, err_size);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        pthread_mutex_lock(&p->op_lock);
        pthread_mutex_lock(&p->lock);
        gone = pod->removed;
        pthread_mutex_unlock(&p->lock);
        if (gone) {
                pthread_mutex_unlock(&p->op_lock);
                pod_unref(p, pod);
                return 0;
        }
        *ret = pod;
        return 1;
}

static void op_end(struct pods *p, struct pod *pod)
{
        pthread_mutex_unlock(&p->op_lock);
        pod_unref(p, pod);
}

int pods_stop(struct pods *p, uint64_t call_id, const char *ref, char *err, size_t err_size)
{
        struct pod *pod = NULL;
        int r = op_begin(p, ref, &pod, err, err_size);

        if (r <= 0)
                return r;
        r = p->helper ? stop_locked(p, call_id, pod, err, err_size)
                      : errbuf_fail(err, err_size, -ENOTCONN,
                                    "brigd runs without brig-helper: pods cannot be stopped");
        op_end(p, pod);
        return r;
}

int pods_remove(struct pods *p, uint64_t call_id, const char *ref, char *err, size_t err_size)
{
        struct pod *pod = NULL;
        char name[POD_ID_LEN + 16];
        int r = op_begin(p, ref, &pod, err, err_size);

        if (r <= 0)
                return r;
        /* Not ready first, recorded: a crash before the record goes leaves a
         * stopped pod that a later RemovePodSandbox finishes. */
        r = p->helper ? stop_locked(p, call_id, pod, err, err_size)
                      : errbuf_fail(err, err_size, -ENOTCONN,
                                    "brigd runs without brig-helper: pods cannot be removed");
        if (r == 0 && p->containers_hook)
                r = p->containers_hook(p->containers_arg, call_id, pod->id, true, err, err_size);
        if (r == 0)
                r = helper_client_pod_remove(p->helper, call_id, pod->id, err, err_size);
        if (r == 0) {
                record_name(pod->id, name, sizeof(name));
                r = recfile_delete(p->dir_fd, name);
                if (r < 0)
                        errbuf_fail(err, err_size, r, "pod %s: cannot delete its record: %s",
                                    pod->id, strerror(-r));
        }
        if (r == 0) {
                log_info("pod sandbox removed", "call=%" PRIu64 " pod=%s", call_id, pod->id);
                drop(p, pod);
        }
        op_end(p, pod);
        return r;
}

grpc_status_code pods_grpc_code(int error)
{
        switch (error) {
        case -EINVAL:
        case -EPERM:
        case -EMSGSIZE:
                return GRPC_STATUS_INVALID_ARGUMENT;
        case -ENOENT:
                return GRPC_STATUS_NOT_FOUND;
        case -EEXIST:
                return GRPC_STATUS_ALREADY_EXISTS;
        case -ENOSPC:
        case -ENOMEM:
                return GRPC_STATUS_RESOURCE_EXHAUSTED;
        case -ENOTCONN:
        case -EBUSY:
        case -ENETDOWN:
                return GRPC_STATUS_UNAVAILABLE;
        default:
                return GRPC_STATUS_INTERNAL;
        }
}
