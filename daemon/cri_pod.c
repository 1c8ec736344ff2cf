/* cri_pod.c: the CRI pod sandbox RPCs (RunPodSandbox, StopPodSandbox,
 * RemovePodSandbox, PodSandboxStatus, ListPodSandbox, StreamPodSandboxes):
 * the checks on what kubelet sends, the translation between CRI messages
 * and the pod table (pods.h), and the gRPC status of every failure. What
 * root may do with the request is checked again by brig-helper. */
#include "cri.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"
#include "brigd.h"
#include "crimap.h"
#include "cgroup_path.h"
#include "errbuf.h"
#include "log.h"
#include "pod_network.h"
#include "pods.h"
#include "proto/helper.h"
#include "util.h"

#define HOST_RESOLV_CONF "/etc/resolv.conf"

#define ERR_SIZE     1024
#define STREAM_BATCH 256
#define NAME_MAX_LEN 253

static struct pods *app_pods(struct rpc_call *call)
{
        return ((struct brigd *)rpc_call_app(call))->pods;
}

static void fail_with(struct rpc_call *call, int r, const char *err)
{
        log_warn("pod request failed", "call=%" PRIu64 " method=%s errno=%d reason=\"%s\"",
                 rpc_call_id(call), rpc_call_method(call), -r, err);
        rpc_fail(call, pods_grpc_code(r), "%s", err[0] ? err : strerror(-r));
}

/* ---- checks on RunPodSandbox -------------------------------------------- */

/* Letters, digits, '.', '_' and '-': what kubelet (and critest, whose
 * names carry capitals) sends; never a '/', space or control byte. */
static int check_name(const char *field, const char *v, char *err, size_t err_size)
{
        size_t n = strlen(v);

        if (n == 0 || n > NAME_MAX_LEN)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "RunPodSandbox: %s must be 1 to %d bytes, not %zu", field,
                                   NAME_MAX_LEN, n);
        for (size_t i = 0; i < n; i++) {
                char c = v[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: %s has a byte other than letters, "
                                           "digits, '.', '_' and '-' (0x%02x)",
                                           field, (unsigned char)c);
        }
        return 0;
}

static bool is_ip(const char *s)
{
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int check_config(struct rpc_call *call, const Runtime__V1__RunPodSandboxRequest *req,
                        char *err, size_t err_size)
{
        const struct brig_config *config = &((struct brigd *)rpc_call_app(call))->config;
        char cgroup[CGROUP_PATH_MAX], why[512];
        const Runtime__V1__PodSandboxConfig *c = req->config;
        int r;

        if (!c || !c->metadata)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "RunPodSandbox: config.metadata is "
                                   "missing");
        r = check_name("metadata.name", c->metadata->name, err, err_size);
        if (r == 0)
                r = check_name("metadata.namespace", c->metadata->namespace_, err, err_size);
        if (r == 0)
                r = check_name("metadata.uid", c->metadata->uid, err, err_size);
        if (r < 0)
                return r;
        /* The handlers are the configured runtimes' names, and "" for
         * default_runtime. */
        if (!config_runtime_find(config, req->runtime_handler)) {
                _cleanup_free_ char *names = NULL;
                if (config_runtime_names(config, &names) < 0)
                        return errbuf_fail(err, err_size, -ENOMEM, "RunPodSandbox: out of memory");
                return errbuf_fail(err, err_size, -EINVAL,
                                   "RunPodSandbox: unknown runtime handler \"%.64s\" (brig "
                                   "runs: %s; \"\" is %s)",
                                   req->runtime_handler, names, config->default_runtime);
        }
        for (size_t i = 0; c->dns_config && i < c->dns_config->n_servers; i++)
                if (!is_ip(c->dns_config->servers[i]))
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: DNS server \"%.64s\" is not an IP "
                                           "address",
                                           c->dns_config->servers[i]);
        for (size_t i = 0; i < c->n_port_mappings; i++) {
                const Runtime__V1__PortMapping *m = c->port_mappings[i];

                if (m->container_port <= 0 || m->container_port > 65535 || m->host_port < 0 ||
                    m->host_port > 65535)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: port mapping %" PRId32 " -> %" PRId32
                                           " is out of range (container port 1-65535, host "
                                           "port 0-65535)",
                                           m->host_port, m->container_port);
                if (m->host_ip[0] && !is_ip(m->host_ip))
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: port mapping host_ip \"%.64s\" is "
                                           "not an IP address",
                                           m->host_ip);
        }
        r = cgroup_parent_resolve(config->cgroup_manager, c->linux ? c->linux->cgroup_parent : "",
                                  cgroup, sizeof(cgroup), why, sizeof(why));
        if (r < 0)
                return errbuf_fail(err, err_size, r, "RunPodSandbox: linux.%s", why);
        return 0;
}

/* The namespaces the pod gets new, from its NamespaceOption: a network
 * NODE pod keeps the node's network and UTS namespaces, an ipc NODE pod
 * the node's IPC. */
static unsigned ns_flags_of(const Runtime__V1__PodSandboxConfig *c)
{
        const Runtime__V1__NamespaceOption *o = c->linux && c->linux->security_context
                                                    ? c->linux->security_context->namespace_options
                                                    : NULL;
        unsigned flags = BRIG_POD_NS_ALL;

        if (o && o->network == RUNTIME__V1__NAMESPACE_MODE__NODE)
                flags &= ~(BRIG_POD_NS_NET | BRIG_POD_NS_UTS);
        if (o && o->ipc == RUNTIME__V1__NAMESPACE_MODE__NODE)
                flags &= ~BRIG_POD_NS_IPC;
        if (o && o->pid == RUNTIME__V1__NAMESPACE_MODE__POD)
                flags |= BRIG_POD_NS_PID;
        return flags;
}

/* The hostname for the pod's hostname and hosts files: kubelet's, unless it
 * is not one the helper takes (a node name in capitals, say), then none. */
static const char *files_hostname(const char *h)
{
        size_t n = strlen(h);

        if (n == 0 || n > 63 || h[0] == '-' || h[0] == '.' || h[n - 1] == '-' || h[n - 1] == '.' ||
            strstr(h, ".."))
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
                      h[i] == '.'))
                        return NULL;
        return h;
}

/* ---- RunPodSandbox, StopPodSandbox, RemovePodSandbox --------------------- */

void cri_run_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__RunPodSandboxRequest *req = (const void *)request;
        Runtime__V1__RunPodSandboxResponse resp = RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT;
        char err[ERR_SIZE] = "", id[POD_ID_LEN + 1];
        char sysctl_buf[BRIG_HELPER_MAX_SYSCTLS][BRIG_HELPER_MAX_SYSCTL];
        const char *sysctls[BRIG_HELPER_MAX_SYSCTLS];
        _cleanup_free_ struct pod_network *net = NULL;
        const Runtime__V1__PodSandboxConfig *c;
        unsigned flags;
        size_t n = 0;
        int r = check_config(call, req, err, sizeof(err));

        if (r < 0)
                return fail_with(call, r, err);
        c = req->config;
        net = malloc(sizeof(*net));
        if (!net)
                return fail_with(call, -ENOMEM, "RunPodSandbox: out of memory");
        r = pod_network_from_config(c, net, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        if (!c->dns_config ||
            c->dns_config->n_servers + c->dns_config->n_searches + c->dns_config->n_options == 0) {
                r = pod_network_dns_from_host(net, HOST_RESOLV_CONF);
                if (r < 0)
                        log_warn("cannot read the node's resolver configuration; the pod gets "
                                 "none",
                                 "file=%s errno=%d", HOST_RESOLV_CONF, -r);
        }
        flags = ns_flags_of(c);
        if (c->linux && c->linux->n_sysctls > BRIG_HELPER_MAX_SYSCTLS)
                return fail_with(call, -EINVAL, "RunPodSandbox: more than 32 sysctls");
        for (; c->linux && n < c->linux->n_sysctls; n++) {
                const Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *e = c->linux->sysctls[n];
                int len = snprintf(sysctl_buf[n], sizeof(sysctl_buf[n]), "%s=%s", e->key, e->value);

                if (len < 0 || (size_t)len >= sizeof(sysctl_buf[n])) {
                        snprintf(err, sizeof(err), "RunPodSandbox: sysctl %.64s is too long",
                                 e->key);
                        return fail_with(call, -EINVAL, err);
                }
                sysctls[n] = sysctl_buf[n];
        }
        /* check_config() resolved it once already: this cannot fail now */
        char cgroup[CGROUP_PATH_MAX], why[512];
        r = cgroup_parent_resolve(((struct brigd *)rpc_call_app(call))->config.cgroup_manager,
                                  c->linux ? c->linux->cgroup_parent : "", cgroup, sizeof(cgroup),
                                  why, sizeof(why));
        r = pods_run(app_pods(call), rpc_call_id(call), c, req->runtime_handler, flags,
                     (flags & BRIG_POD_NS_UTS) && c->hostname[0] ? c->hostname : NULL,
                     r == 0 && cgroup[0] == '/' ? cgroup : NULL, sysctls, n, net,
                     files_hostname(c->hostname), id, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        resp.pod_sandbox_id = id;
        rpc_reply(call, &resp.base);
}

void cri_stop_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StopPodSandboxRequest *req = (const void *)request;
        Runtime__V1__StopPodSandboxResponse resp = RUNTIME__V1__STOP_POD_SANDBOX_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->pod_sandbox_id[0])
                return fail_with(call, -EINVAL, "StopPodSandbox: pod_sandbox_id is empty");
        r = pods_stop(app_pods(call), rpc_call_id(call), req->pod_sandbox_id, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

void cri_remove_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__RemovePodSandboxRequest *req = (const void *)request;
        Runtime__V1__RemovePodSandboxResponse resp = RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->pod_sandbox_id[0])
                return fail_with(call, -EINVAL, "RemovePodSandbox: pod_sandbox_id is empty");
        r = pods_remove(app_pods(call), rpc_call_id(call), req->pod_sandbox_id, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

/* ---- PodSandboxStatus, ListPodSandbox, StreamPodSandboxes ---------------- */

/* One ListPodSandbox item. */
struct cri_item {
        Runtime__V1__PodSandbox item;
        struct crimap_copy labels, annotations;
};

static int item_fill(struct pods *p, struct cri_item *out, struct pod *pod)
{
        const Runtime__V1__PodSandboxConfig *c = pod->config;

        runtime__v1__pod_sandbox__init(&out->item);
        out->item.id = pod->id;
        out->item.metadata = c->metadata;
        out->item.state = (Runtime__V1__PodSandboxState)pod_state(p, pod);
        out->item.created_at = pod->created_at;
        out->item.runtime_handler = pod->runtime_handler;
        if (crimap_copy(&out->labels, &runtime__v1__pod_sandbox__labels_entry__descriptor,
                        (void *const *)c->labels, c->n_labels) < 0 ||
            crimap_copy(&out->annotations, &runtime__v1__pod_sandbox__annotations_entry__descriptor,
                        (void *const *)c->annotations, c->n_annotations) < 0)
                return -ENOMEM;
        out->item.labels = (Runtime__V1__PodSandbox__LabelsEntry **)out->labels.ptrs;
        out->item.n_labels = c->n_labels;
        out->item.annotations = (Runtime__V1__PodSandbox__AnnotationsEntry **)out->annotations.ptrs;
        out->item.n_annotations = c->n_annotations;
        return 0;
}

static bool matches(struct pods *p, struct pod *pod, const Runtime__V1__PodSandboxFilter *f)
{
        if (!f)
                return true;
        if (f->id[0] && strncmp(pod->id, f->id, strlen(f->id)) != 0)
                return false;
        if (f->state && (int)pod_state(p, pod) != (int)f->state->state)
                return false;
        for (size_t i = 0; i < f->n_label_selector; i++)
                if (!crimap_has((void *const *)pod->config->labels, pod->config->n_labels,
                                f->label_selector[i]->key, f->label_selector[i]->value))
                        return false;
        return true;
}

struct listing {
        struct pod **pods;
        size_t n_pods;
        struct cri_item *items;
        Runtime__V1__PodSandbox **ptrs;
        size_t n;
};

static void listing_done(struct pods *p, struct listing *l)
{
        for (size_t i = 0; i < l->n; i++) {
                crimap_free(&l->items[i].labels);
                crimap_free(&l->items[i].annotations);
        }
        free(l->items);
        free(l->ptrs);
        pods_list_free(p, l->pods, l->n_pods);
}

static int listing_make(struct rpc_call *call, const Runtime__V1__PodSandboxFilter *f,
                        struct listing *l)
{
        struct pods *p = app_pods(call);
        int r = pods_list(p, &l->pods, &l->n_pods);

        if (r == 0) {
                l->items = calloc(l->n_pods ? l->n_pods : 1, sizeof(*l->items));
                l->ptrs = calloc(l->n_pods ? l->n_pods : 1, sizeof(*l->ptrs));
                if (!l->items || !l->ptrs)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r == 0 && i < l->n_pods; i++) {
                if (!matches(p, l->pods[i], f))
                        continue;
                r = item_fill(p, &l->items[l->n], l->pods[i]);
                l->ptrs[l->n] = &l->items[l->n].item;
                l->n++;
        }
        if (r < 0) {
                listing_done(p, l);
                rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "%s: out of memory",
                         rpc_call_method(call));
        }
        return r;
}

void cri_list_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ListPodSandboxRequest *req = (const void *)request;
        Runtime__V1__ListPodSandboxResponse resp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
        struct listing l = {0};

        if (listing_make(call, req->filter, &l) < 0)
                return;
        resp.items = l.ptrs;
        resp.n_items = l.n;
        rpc_reply(call, &resp.base);
        listing_done(app_pods(call), &l);
}

void cri_stream_pod_sandboxes(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StreamPodSandboxesRequest *req = (const void *)request;
        struct listing l = {0};

        if (listing_make(call, req->filter, &l) < 0)
                return;
        for (size_t off = 0; off < l.n; off += STREAM_BATCH) {
                Runtime__V1__StreamPodSandboxesResponse msg =
                    RUNTIME__V1__STREAM_POD_SANDBOXES_RESPONSE__INIT;

                msg.pod_sandboxes = l.ptrs + off;
                msg.n_pod_sandboxes = l.n - off < STREAM_BATCH ? l.n - off : STREAM_BATCH;
                if (rpc_send(call, &msg.base) < 0)
                        break;
        }
        listing_done(app_pods(call), &l);
        rpc_reply(call, NULL);
}

/* A LinuxContainerResources as JSON, for the verbose info; NULL for none. */
static json_t *resources_json(const Runtime__V1__LinuxContainerResources *r)
{
        if (!r)
                return NULL;
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "cpuPeriod",
                         (json_int_t)r->cpu_period, "cpuQuota", (json_int_t)r->cpu_quota,
                         "cpuShares", (json_int_t)r->cpu_shares, "memoryLimitInBytes",
                         (json_int_t)r->memory_limit_in_bytes, "memorySwapLimitInBytes",
                         (json_int_t)r->memory_swap_limit_in_bytes, "cpusetCpus", r->cpuset_cpus,
                         "cpusetMems", r->cpuset_mems);
}

/* PodSandboxStatus' verbose "info": what brig knows of the pod, as JSON,
 * with the outcome of a CNI CHECK of a ready pod's network. */
static char *verbose_info(struct rpc_call *call, struct pod *pod, enum pod_state state)
{
        const char *run_root = ((struct brigd *)rpc_call_app(call))->config.run_root;
        static const struct {
                const char *key, *pin;
                unsigned flag;
        } kinds[] = {{"network", "net", BRIG_POD_NS_NET},
                     {"ipc", "ipc", BRIG_POD_NS_IPC},
                     {"uts", "uts", BRIG_POD_NS_UTS}};
        json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", pod->id, "state",
                              state == POD_READY ? "ready" : "notready", "createdAt",
                              (json_int_t)pod->created_at, "runtimeHandler", pod->runtime_handler);
        json_t *ns = json_object();
        char *text = NULL;

        if (!o || !ns)
                goto out;
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
                char path[4096];

                snprintf(path, sizeof(path), "%s/ns/%s/%s", run_root, pod->id, kinds[i].pin);
                json_object_set_new(ns, kinds[i].key,
                                    json_string(pod->ns_flags & kinds[i].flag ? path : "node"));
        }
        json_object_set(o, "namespaces", ns);
        json_t *ips = json_array();
        for (size_t i = 0; ips && i < pod->n_ips; i++)
                json_array_append_new(ips, json_string(pod->ips[i]));
        json_object_set_new(o, "ips", ips);
        if (state == POD_READY && (pod->ns_flags & BRIG_POD_NS_NET)) {
                char check[ERR_SIZE] = "";
                int r = pods_check_network(app_pods(call), rpc_call_id(call), pod, check,
                                           sizeof(check));

                json_object_set_new(o, "networkCheck", json_string(r == 0 ? "ok" : check));
        }
        /* RunPodSandbox checked it, so it resolves. */
        const Runtime__V1__PodSandboxConfig *c = pod->config;
        char cgroup[CGROUP_PATH_MAX], why[512];
        if (cgroup_parent_resolve(((struct brigd *)rpc_call_app(call))->config.cgroup_manager,
                                  c->linux ? c->linux->cgroup_parent : "", cgroup, sizeof(cgroup),
                                  why, sizeof(why)) == 0)
                json_object_set_new(o, "cgroupParent", json_string(cgroup));
        /* Kept for the containers, which land in the pod's cgroup parent. */
        if (c->linux && c->linux->overhead)
                json_object_set_new(o, "overhead", resources_json(c->linux->overhead));
        if (c->linux && c->linux->resources)
                json_object_set_new(o, "resources", resources_json(c->linux->resources));
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
        json_decref(ns);
        json_decref(o);
        return text;
}

int cri_pod_status_build(struct pods *p, struct pod *pod, struct cri_pod_status *m)
{
        const Runtime__V1__PodSandboxConfig *c = pod->config;

        *m = (struct cri_pod_status){
            .status = RUNTIME__V1__POD_SANDBOX_STATUS__INIT,
            .network = RUNTIME__V1__POD_SANDBOX_NETWORK_STATUS__INIT,
            .linux_status = RUNTIME__V1__LINUX_POD_SANDBOX_STATUS__INIT,
            .namespaces = RUNTIME__V1__NAMESPACE__INIT,
            .default_options = RUNTIME__V1__NAMESPACE_OPTION__INIT,
        };
        m->status.id = pod->id;
        m->status.metadata = c->metadata;
        m->status.state = (Runtime__V1__PodSandboxState)pod_state(p, pod);
        m->status.created_at = pod->created_at;
        m->status.runtime_handler = pod->runtime_handler;
        m->status.network = &m->network;
        /* A stopped pod's addresses went back to the pool at NET_DEL. */
        for (size_t i = 0;
             m->status.state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY && i < pod->n_ips;
             i++) {
                snprintf(m->addrs[i], sizeof(m->addrs[i]), "%.*s", (int)strcspn(pod->ips[i], "/"),
                         pod->ips[i]);
                if (i == 0) {
                        m->network.ip = m->addrs[0];
                        continue;
                }
                m->pod_ips[i] = (Runtime__V1__PodIP)RUNTIME__V1__POD_IP__INIT;
                m->pod_ips[i].ip = m->addrs[i];
                m->additional[m->network.n_additional_ips++] = &m->pod_ips[i];
        }
        m->network.additional_ips = m->additional;
        m->namespaces.options =
            c->linux && c->linux->security_context && c->linux->security_context->namespace_options
                ? c->linux->security_context->namespace_options
                : &m->default_options;
        m->linux_status.namespaces = &m->namespaces;
        m->status.linux = &m->linux_status;
        if (crimap_copy(&m->labels, &runtime__v1__pod_sandbox_status__labels_entry__descriptor,
                        (void *const *)c->labels, c->n_labels) < 0 ||
            crimap_copy(&m->annotations,
                        &runtime__v1__pod_sandbox_status__annotations_entry__descriptor,
                        (void *const *)c->annotations, c->n_annotations) < 0) {
                cri_pod_status_free(m);
                return -ENOMEM;
        }
        m->status.labels = (Runtime__V1__PodSandboxStatus__LabelsEntry **)m->labels.ptrs;
        m->status.n_labels = c->n_labels;
        m->status.annotations =
            (Runtime__V1__PodSandboxStatus__AnnotationsEntry **)m->annotations.ptrs;
        m->status.n_annotations = c->n_annotations;
        return 0;
}

void cri_pod_status_free(struct cri_pod_status *m)
{
        crimap_free(&m->labels);
        crimap_free(&m->annotations);
}

void cri_pod_sandbox_status(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__PodSandboxStatusRequest *req = (const void *)request;
        Runtime__V1__PodSandboxStatusResponse resp = RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT;
        Runtime__V1__PodSandboxStatusResponse__InfoEntry info =
            RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INFO_ENTRY__INIT;
        Runtime__V1__PodSandboxStatusResponse__InfoEntry *info_ptrs[] = {&info};
        struct cri_pod_status m;
        struct pods *p = app_pods(call);
        _cleanup_free_ char *info_text = NULL;
        char err[ERR_SIZE] = "";
        struct pod *pod = NULL;
        int r;

        if (!req->pod_sandbox_id[0])
                return fail_with(call, -EINVAL, "PodSandboxStatus: pod_sandbox_id is empty");
        r = pods_get(p, req->pod_sandbox_id, &pod, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        if (cri_pod_status_build(p, pod, &m) < 0) {
                rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "PodSandboxStatus: out of memory");
                pod_unref(p, pod);
                return;
        }
        resp.status = &m.status;
        if (req->verbose) {
                info_text = verbose_info(call, pod, (enum pod_state)m.status.state);
                if (info_text) {
                        info.key = "info";
                        info.value = info_text;
                        resp.info = info_ptrs;
                        resp.n_info = 1;
                }
        }
        rpc_reply(call, &resp.base);
        cri_pod_status_free(&m);
        pod_unref(p, pod);
}
