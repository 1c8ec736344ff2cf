/* cri_container.c: the CRI container RPCs (CreateContainer, StartContainer,
 * StopContainer, RemoveContainer, ListContainers, StreamContainers,
 * ContainerStatus): the checks on what kubelet sends, the image and pod a
 * container needs, the stop signal, the translation between CRI messages
 * and the container table (containers.h), and the gRPC status of every
 * failure. What root may do with the request is checked again by
 * brig-helper. */
#include "cri.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "brigd.h"
#include "crimap.h"
#include "containers.h"
#include "ctr_events.h"
#include "ctr_request.h"
#include "ctrspec.h"
#include "ctrspec_encode.h"
#include "errbuf.h"
#include "image_config.h"
#include "images.h"
#include "log.h"
#include "pods.h"
#include "util.h"

#define ERR_SIZE     1024
#define STREAM_BATCH 256
/* Real-time signals as a container's libc numbers them (glibc keeps the
 * kernel's first two for itself), which is what image StopSignal names
 * like "SIGRTMIN+3" mean. */
#define SIG_RTMIN 34
#define SIG_RTMAX 64

static struct containers *app_containers(struct rpc_call *call)
{
        return ((struct brigd *)rpc_call_app(call))->containers;
}

/* Fails the call with err after the RPC's name ("CreateContainer: ..."),
 * as kubelet's events show it. */
static void fail_with(struct rpc_call *call, int r, const char *err)
{
        const char *method = strrchr(rpc_call_method(call), '/');

        log_warn("container request failed", "call=%" PRIu64 " method=%s errno=%d reason=\"%s\"",
                 rpc_call_id(call), rpc_call_method(call), -r, err);
        rpc_fail(call, containers_grpc_code(r), "%s: %s",
                 method ? method + 1 : rpc_call_method(call), err[0] ? err : strerror(-r));
}

/* ---- signals ------------------------------------------------------------ */

/* "RTMIN", "RTMIN+n" (or CRI's "RTMINPLUSn"), "RTMAX", "RTMAX-n" ("RTMAXMINUSn"). */
static int parse_rt_signal(const char *s)
{
        static const struct {
                const char *prefix;
                int base, sign;
        } forms[] = {{"RTMINPLUS", SIG_RTMIN, 1},
                     {"RTMIN+", SIG_RTMIN, 1},
                     {"RTMAXMINUS", SIG_RTMAX, -1},
                     {"RTMAX-", SIG_RTMAX, -1}};

        if (strcmp(s, "RTMIN") == 0)
                return SIG_RTMIN;
        if (strcmp(s, "RTMAX") == 0)
                return SIG_RTMAX;
        for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
                size_t n = strlen(forms[i].prefix);
                char *end;
                long v;

                if (strncmp(s, forms[i].prefix, n) != 0 || !isdigit((unsigned char)s[n]))
                        continue;
                v = strtol(s + n, &end, 10);
                if (*end || v > SIG_RTMAX - SIG_RTMIN)
                        return -EINVAL;
                return forms[i].base + forms[i].sign * (int)v;
        }
        return -EINVAL;
}

/* A signal as an image's StopSignal or a CRI Signal name gives it: a
 * number, or a name with or without "SIG", in any case. Returns 1..64 or
 * -EINVAL. */
static int parse_signal(const char *s)
{
        static const struct {
                const char *name;
                int sig;
        } aliases[] = {{"IOT", SIGIOT}, {"CLD", SIGCHLD}, {"POLL", SIGPOLL}};
        char up[32];
        size_t n = strlen(s);

        if (n == 0 || n >= sizeof(up))
                return -EINVAL;
        if (strspn(s, "0123456789") == n) {
                long v = strtol(s, NULL, 10);

                return v >= 1 && v <= SIG_RTMAX ? (int)v : -EINVAL;
        }
        for (size_t i = 0; i <= n; i++)
                up[i] = (char)toupper((unsigned char)s[i]);
        const char *name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
        for (int sig = 1; sig < SIG_RTMIN - 2; sig++) {
                const char *abbrev = sigabbrev_np(sig);

                if (abbrev && strcmp(abbrev, name) == 0)
                        return sig;
        }
        for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
                if (strcmp(aliases[i].name, name) == 0)
                        return aliases[i].sig;
        return parse_rt_signal(name);
}

/* The CRI Signal value naming sig (RUNTIME_DEFAULT when none does). */
static Runtime__V1__Signal signal_enum_of(int sig)
{
        const ProtobufCEnumDescriptor *d = &runtime__v1__signal__descriptor;

        for (unsigned i = 0; i < d->n_values; i++)
                if (d->values[i].value != RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT &&
                    parse_signal(d->values[i].name) == sig)
                        return (Runtime__V1__Signal)d->values[i].value;
        return RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT;
}

/* StopContainer's first signal: the config's stop_signal, else the
 * image's StopSignal, else SIGTERM. */
static int stop_signal_of(const Runtime__V1__ContainerConfig *cfg, const struct image_config *img,
                          char *err, size_t err_size)
{
        int sig;

        if (cfg->stop_signal != RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT) {
                const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
                    &runtime__v1__signal__descriptor, cfg->stop_signal);

                sig = v ? parse_signal(v->name) : -EINVAL;
                if (sig < 0)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "container %s: stop_signal %d is not a signal brig "
                                           "knows",
                                           cfg->metadata->name, (int)cfg->stop_signal);
                return sig;
        }
        if (!img->stop_signal || !img->stop_signal[0])
                return SIGTERM;
        sig = parse_signal(img->stop_signal);
        if (sig < 0)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "container %s: the image's StopSignal \"%.32s\" is not a signal",
                                   cfg->metadata->name, img->stop_signal);
        return sig;
}

/* ---- CreateContainer ---------------------------------------------------- */

/* What a creation holds, released in one place. */
struct creation {
        struct pod *pod;
        struct store_image *image;
        char *image_config_text;
        struct image_config *image_config;
        const char **chain_ids;
        struct ctr_request request;
        bool has_request;
        uint8_t *spec;
        size_t spec_len;
        char *log_path;
};

static void creation_done(struct rpc_call *call, struct creation *cr)
{
        struct brigd *d = rpc_call_app(call);

        if (cr->pod)
                pod_unref(d->pods, cr->pod);
        if (cr->image)
                store_image_free(cr->image);
        free(cr->image_config_text);
        if (cr->image_config)
                image_config_free(cr->image_config);
        free(cr->chain_ids);
        if (cr->has_request)
                ctr_request_free(&cr->request);
        free(cr->spec);
        free(cr->log_path);
}

/* The pod, ready, and the container's name free in it. */
static int check_pod(struct rpc_call *call, const Runtime__V1__CreateContainerRequest *req,
                     struct creation *cr, char *err, size_t err_size)
{
        struct brigd *d = rpc_call_app(call);
        int r = pods_get(d->pods, req->pod_sandbox_id, &cr->pod, err, err_size);

        if (r < 0)
                return r;
        if (pod_state(d->pods, cr->pod) != POD_READY)
                return errbuf_fail(err, err_size, -EBUSY,
                                   "pod sandbox %s is not ready: containers start only in a "
                                   "ready pod",
                                   cr->pod->id);
        return containers_name_check(d->containers, cr->pod->id, req->config->metadata, err,
                                     err_size);
}

/* The image, its parsed config and its layer chain, lowest first. */
static int load_image(struct rpc_call *call, const char *name, struct creation *cr, char *err,
                      size_t err_size)
{
        struct images *im = ((struct brigd *)rpc_call_app(call))->images;
        size_t len = 0;
        int r = images_find(im, name, &cr->image, err, err_size);

        if (r == -ENOENT)
                return errbuf_fail(err, err_size, -ENOENT, "image \"%.256s\" is not present", name);
        if (r < 0)
                return r;
        r = images_read_config(im, cr->image, &cr->image_config_text, &len, err, err_size);
        if (r == 0)
                r = image_config_parse(cr->image_config_text, len, &cr->image_config, err,
                                       err_size);
        /* The store verified the blob at pull: a failure here is the node's. */
        if (r < 0)
                return errbuf_fail(err, err_size, r == -ENOMEM ? r : -EIO,
                                   "image %s: cannot use its stored config", cr->image->id);
        cr->chain_ids =
            calloc(cr->image->n_layers ? cr->image->n_layers : 1, sizeof(*cr->chain_ids));
        if (!cr->chain_ids)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        for (size_t i = 0; i < cr->image->n_layers; i++)
                cr->chain_ids[i] = cr->image->layers[i].chain_id;
        return 0;
}

/* log_directory/log_path, as ContainerStatus reports it; "" for none. */
static int join_log_path(const Runtime__V1__PodSandboxConfig *pod,
                         const Runtime__V1__ContainerConfig *cfg, char **ret)
{
        int n = pod->log_directory[0] && cfg->log_path[0]
                    ? asprintf(ret, "%s/%s", pod->log_directory, cfg->log_path)
                    : asprintf(ret, "%s", "");

        if (n < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int create(struct rpc_call *call, const Runtime__V1__CreateContainerRequest *req,
                  struct creation *cr, char id[static CTR_ID_LEN + 1], char *err, size_t err_size)
{
        const Runtime__V1__ContainerConfig *cfg = req->config;
        int stop_signal, r = check_pod(call, req, cr, err, err_size);

        if (r == 0)
                r = load_image(call, cfg->image->image, cr, err, err_size);
        if (r < 0)
                return r;
        stop_signal = stop_signal_of(cfg, cr->image_config, err, err_size);
        if (stop_signal < 0)
                return stop_signal;
        r = ctr_request_build(cfg, cr->pod->config, cr->image_config, cr->chain_ids,
                              cr->image->n_layers, &cr->request, err, err_size);
        if (r < 0)
                return r;
        cr->has_request = true;
        r = ctrspec_encode(&cr->request.spec, &cr->spec, &cr->spec_len, err, err_size);
        if (r == 0)
                r = join_log_path(cr->pod->config, cfg, &cr->log_path);
        if (r < 0)
                return r;
        struct ctr_create create = {
            .config = cfg,
            .image_id = cr->image->id,
            .image_ref = cr->image->n_repo_digests ? cr->image->repo_digests[0] : cr->image->id,
            .log_path = cr->log_path,
            .stop_signal = stop_signal,
            .spec = cr->spec,
            .spec_len = cr->spec_len,
        };
        return containers_create(app_containers(call), rpc_call_id(call), cr->pod, &create, id, err,
                                 err_size);
}

void cri_create_container(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__CreateContainerRequest *req = (const void *)request;
        Runtime__V1__CreateContainerResponse resp = RUNTIME__V1__CREATE_CONTAINER_RESPONSE__INIT;
        struct containers *c = app_containers(call);
        struct creation cr = {0};
        char err[ERR_SIZE] = "", id[CTR_ID_LEN + 1];
        int r;

        if (!req->pod_sandbox_id[0])
                return fail_with(call, -EINVAL, "pod_sandbox_id is empty");
        if (!req->config || !req->config->metadata || !req->config->metadata->name[0])
                return fail_with(call, -EINVAL, "config.metadata.name is missing");
        if (!req->config->image || !req->config->image->image[0])
                return fail_with(call, -EINVAL, "config.image.image is empty");
        containers_create_begin(c);
        r = create(call, req, &cr, id, err, sizeof(err));
        containers_create_end(c);
        creation_done(call, &cr);
        if (r < 0)
                return fail_with(call, r, err);
        resp.container_id = id;
        rpc_reply(call, &resp.base);
}

/* ---- StartContainer, StopContainer, RemoveContainer ---------------------- */

void cri_start_container(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StartContainerRequest *req = (const void *)request;
        Runtime__V1__StartContainerResponse resp = RUNTIME__V1__START_CONTAINER_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        r = containers_start(app_containers(call), rpc_call_id(call), req->container_id, err,
                             sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

void cri_stop_container(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StopContainerRequest *req = (const void *)request;
        Runtime__V1__StopContainerResponse resp = RUNTIME__V1__STOP_CONTAINER_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        r = containers_stop(app_containers(call), rpc_call_id(call), req->container_id,
                            req->timeout > 0 ? req->timeout : 0, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

void cri_remove_container(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__RemoveContainerRequest *req = (const void *)request;
        Runtime__V1__RemoveContainerResponse resp = RUNTIME__V1__REMOVE_CONTAINER_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        r = containers_remove(app_containers(call), rpc_call_id(call), req->container_id, err,
                              sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

void cri_update_container_resources(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__UpdateContainerResourcesRequest *req = (const void *)request;
        Runtime__V1__UpdateContainerResourcesResponse resp =
            RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        r = containers_update(app_containers(call), rpc_call_id(call), req->container_id,
                              req->linux, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

void cri_reopen_container_log(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ReopenContainerLogRequest *req = (const void *)request;
        Runtime__V1__ReopenContainerLogResponse resp =
            RUNTIME__V1__REOPEN_CONTAINER_LOG_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        r = containers_reopen_log(app_containers(call), rpc_call_id(call), req->container_id, err,
                                  sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        rpc_reply(call, &resp.base);
}

/* ---- ExecSync -------------------------------------------------------------- */

/* The whole of an exec's output memfd, which the monitor capped. */
/* The whole of the sealed memfd fd (at most max bytes) into ret. */
static int read_sealed(int fd, uint64_t max, ProtobufCBinaryData *ret)
{
        struct stat st;
        size_t off = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_size < 0 || (uint64_t)st.st_size > max)
                return -EFBIG;
        ret->len = (size_t)st.st_size;
        ret->data = ret->len ? malloc(ret->len) : NULL;
        if (ret->len && !ret->data)
                return -ENOMEM;
        while (off < ret->len) {
                ssize_t n = pread(fd, ret->data + off, ret->len - off, (off_t)off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                off += (size_t)n;
        }
        return 0;
}

void cri_exec_sync(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ExecSyncRequest *req = (const void *)request;
        Runtime__V1__ExecSyncResponse resp = RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
        struct helper_exec_result res = {.stdout_fd = -1, .stderr_fd = -1};
        char err[ERR_SIZE] = "";
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        if (req->n_cmd == 0 || !req->cmd[0][0])
                return fail_with(call, -EINVAL, "cmd is empty");
        if (req->timeout < 0)
                return fail_with(call, -EINVAL, "timeout is negative");
        r = containers_exec_sync(app_containers(call), rpc_call_id(call), req->container_id,
                                 (const char *const *)req->cmd, req->n_cmd,
                                 req->timeout > UINT32_MAX ? UINT32_MAX : (uint32_t)req->timeout,
                                 &res, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        if (res.timed_out) {
                safe_close(res.stdout_fd);
                safe_close(res.stderr_fd);
                snprintf(err, sizeof(err), "command timed out after %" PRId64 " s, killed",
                         req->timeout);
                return fail_with(call, -ETIMEDOUT, err);
        }
        r = read_sealed(res.stdout_fd, BRIG_HELPER_EXEC_OUTPUT_MAX, &resp.stdout);
        if (r == 0)
                r = read_sealed(res.stderr_fd, BRIG_HELPER_EXEC_OUTPUT_MAX, &resp.stderr);
        safe_close(res.stdout_fd);
        safe_close(res.stderr_fd);
        if (r == 0) {
                resp.exit_code = WIFEXITED(res.wait_status)     ? WEXITSTATUS(res.wait_status)
                                 : WIFSIGNALED(res.wait_status) ? 128 + WTERMSIG(res.wait_status)
                                                                : 255;
                rpc_reply(call, &resp.base);
        } else {
                snprintf(err, sizeof(err), "cannot read the command's output: %s", strerror(-r));
                fail_with(call, r, err);
        }
        free(resp.stdout.data);
        free(resp.stderr.data);
}

/* ---- ListContainers, StreamContainers, ContainerStatus ------------------- */

/* The filter's id, pod and labels; the state is compared after the
 * container's state is refreshed, for only the containers that pass. */
static bool matches_fixed(const struct container *ctr, const Runtime__V1__ContainerFilter *f)
{
        if (!f)
                return true;
        if (f->id[0] && strncmp(ctr->id, f->id, strlen(f->id)) != 0)
                return false;
        if (f->pod_sandbox_id[0] &&
            strncmp(ctr->pod_id, f->pod_sandbox_id, strlen(f->pod_sandbox_id)) != 0)
                return false;
        for (size_t i = 0; i < f->n_label_selector; i++)
                if (!crimap_has((void *const *)ctr->config->labels, ctr->config->n_labels,
                                f->label_selector[i]->key, f->label_selector[i]->value))
                        return false;
        return true;
}

/* One ListContainers item. */
struct cri_item {
        Runtime__V1__Container item;
        struct crimap_copy labels, annotations;
};

static int item_fill(struct cri_item *out, struct container *ctr, enum ctr_state state)
{
        const Runtime__V1__ContainerConfig *c = ctr->config;

        runtime__v1__container__init(&out->item);
        out->item.id = ctr->id;
        out->item.pod_sandbox_id = ctr->pod_id;
        out->item.metadata = c->metadata;
        out->item.image = c->image;
        out->item.image_ref = ctr->image_ref;
        out->item.image_id = ctr->image_id;
        out->item.state = (Runtime__V1__ContainerState)state;
        out->item.created_at = ctr->created_at;
        if (crimap_copy(&out->labels, &runtime__v1__container__labels_entry__descriptor,
                        (void *const *)c->labels, c->n_labels) < 0 ||
            crimap_copy(&out->annotations, &runtime__v1__container__annotations_entry__descriptor,
                        (void *const *)c->annotations, c->n_annotations) < 0)
                return -ENOMEM;
        out->item.labels = (Runtime__V1__Container__LabelsEntry **)out->labels.ptrs;
        out->item.n_labels = c->n_labels;
        out->item.annotations = (Runtime__V1__Container__AnnotationsEntry **)out->annotations.ptrs;
        out->item.n_annotations = c->n_annotations;
        return 0;
}

struct listing {
        struct container **ctrs;
        size_t n_ctrs;
        struct cri_item *items;
        Runtime__V1__Container **ptrs;
        size_t n;
};

static void listing_done(struct containers *c, struct listing *l)
{
        for (size_t i = 0; i < l->n; i++) {
                crimap_free(&l->items[i].labels);
                crimap_free(&l->items[i].annotations);
        }
        free(l->items);
        free(l->ptrs);
        containers_list_free(c, l->ctrs, l->n_ctrs);
}

static int listing_make(struct rpc_call *call, const Runtime__V1__ContainerFilter *f,
                        struct listing *l)
{
        struct containers *c = app_containers(call);
        int r = containers_list(c, &l->ctrs, &l->n_ctrs);

        if (r == 0) {
                l->items = calloc(l->n_ctrs ? l->n_ctrs : 1, sizeof(*l->items));
                l->ptrs = calloc(l->n_ctrs ? l->n_ctrs : 1, sizeof(*l->ptrs));
                if (!l->items || !l->ptrs)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r == 0 && i < l->n_ctrs; i++) {
                struct ctr_status s;

                if (!matches_fixed(l->ctrs[i], f))
                        continue;
                containers_status(c, rpc_call_id(call), l->ctrs[i], &s);
                if (f && f->state && (int)s.state != (int)f->state->state)
                        continue;
                r = item_fill(&l->items[l->n], l->ctrs[i], s.state);
                l->ptrs[l->n] = &l->items[l->n].item;
                l->n++;
        }
        if (r < 0) {
                listing_done(c, l);
                rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "%s: out of memory",
                         rpc_call_method(call));
        }
        return r;
}

void cri_list_containers(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ListContainersRequest *req = (const void *)request;
        Runtime__V1__ListContainersResponse resp = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
        struct listing l = {0};

        if (listing_make(call, req->filter, &l) < 0)
                return;
        resp.containers = l.ptrs;
        resp.n_containers = l.n;
        rpc_reply(call, &resp.base);
        listing_done(app_containers(call), &l);
}

void cri_stream_containers(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StreamContainersRequest *req = (const void *)request;
        struct listing l = {0};

        if (listing_make(call, req->filter, &l) < 0)
                return;
        for (size_t off = 0; off < l.n; off += STREAM_BATCH) {
                Runtime__V1__StreamContainersResponse msg =
                    RUNTIME__V1__STREAM_CONTAINERS_RESPONSE__INIT;

                msg.containers = l.ptrs + off;
                msg.n_containers = l.n - off < STREAM_BATCH ? l.n - off : STREAM_BATCH;
                if (rpc_send(call, &msg.base) < 0)
                        break;
        }
        listing_done(app_containers(call), &l);
        rpc_reply(call, NULL);
}

/* The container's OCI spec as the helper wrote it, parsed; NULL (logged)
 * when it cannot be had. */
static json_t *runtime_spec(struct rpc_call *call, struct containers *c, struct container *ctr)
{
        char err[ERR_SIZE] = "";
        _cleanup_close_ int fd = -1;
        ProtobufCBinaryData text = {0};
        json_error_t jerr;
        json_t *spec = NULL;
        int r = containers_spec(c, rpc_call_id(call), ctr, &fd, err, sizeof(err));

        if (r == 0)
                r = read_sealed(fd, BRIG_HELPER_MAX_SPEC, &text);
        if (r == 0 && !(spec = json_loadb((const char *)text.data, text.len, 0, &jerr)))
                r = -EBADMSG;
        if (r < 0)
                log_warn_errno(r,
                               "ContainerStatus: the runtime spec is left out of the verbose info",
                               "call=%" PRIu64 " ctr=%s reason=\"%s\"", rpc_call_id(call), ctr->id,
                               err[0] ? err : strerror(-r));
        free(text.data);
        return spec;
}

/* ContainerStatus' verbose "info": what brig knows of the container that
 * CRI has no field for, and its OCI spec (runtimeSpec), as JSON. */
static char *verbose_info(struct rpc_call *call, struct containers *c, struct container *ctr,
                          const struct ctr_status *s)
{
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:i}", "id", ctr->id, "sandboxId",
                              ctr->pod_id, "pid", (json_int_t)s->pid, "runtimeType", "oci",
                              "runtimeHandler", ctr->runtime_handler, "imageId", ctr->image_id,
                              "stopSignal", ctr->stop_signal);
        json_t *spec = o ? runtime_spec(call, c, ctr) : NULL;
        char *text;

        if (spec && json_object_set_new(o, "runtimeSpec", spec) < 0) {
                json_decref(o);
                return NULL;
        }
        text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        return text;
}

/* A ContainerStatus message of ctr, with what it points to. */
struct ctr_status_msg {
        Runtime__V1__ContainerStatus status;
        Runtime__V1__ContainerResources resources;
        Runtime__V1__LinuxContainerResources *resources_linux;
        Runtime__V1__ContainerUser user;
        Runtime__V1__LinuxContainerUser user_linux;
        int64_t *groups;
        struct crimap_copy labels, annotations;
        struct ctr_status s;
};

static void ctr_status_msg_free(struct ctr_status_msg *m)
{
        if (m->resources_linux)
                protobuf_c_message_free_unpacked(&m->resources_linux->base, NULL);
        m->resources_linux = NULL;
        free(m->groups);
        m->groups = NULL;
        crimap_free(&m->labels);
        crimap_free(&m->annotations);
}

/* Builds ctr's status (asking the helper first when it may have exited
 * unseen); it points into m and ctr. Returns 0 or -ENOMEM. */
static int ctr_status_msg_build(struct rpc_call *call, struct containers *c, struct container *ctr,
                                struct ctr_status_msg *m)
{
        const Runtime__V1__ContainerConfig *cfg = ctr->config;
        Runtime__V1__ContainerStatus *st = &m->status;

        *m = (struct ctr_status_msg){
            .status = RUNTIME__V1__CONTAINER_STATUS__INIT,
            .resources = RUNTIME__V1__CONTAINER_RESOURCES__INIT,
            .user = RUNTIME__V1__CONTAINER_USER__INIT,
            .user_linux = RUNTIME__V1__LINUX_CONTAINER_USER__INIT,
        };
        containers_status(c, rpc_call_id(call), ctr, &m->s);
        st->id = ctr->id;
        st->metadata = cfg->metadata;
        st->state = (Runtime__V1__ContainerState)m->s.state;
        st->created_at = ctr->created_at;
        st->started_at = m->s.started_at;
        st->finished_at = m->s.finished_at;
        st->exit_code = m->s.exit_code;
        st->image = cfg->image;
        st->image_ref = ctr->image_ref;
        st->image_id = ctr->image_id;
        st->reason = m->s.reason;
        st->message = m->s.message;
        st->mounts = cfg->mounts;
        st->n_mounts = cfg->n_mounts;
        st->log_path = ctr->log_path;
        st->stop_signal = signal_enum_of(ctr->stop_signal);
        m->resources_linux = containers_resources(c, ctr);
        if (m->resources_linux) {
                m->resources.linux = m->resources_linux;
                st->resources = &m->resources;
        }
        if (ctr->has_user) {
                m->groups = calloc(ctr->n_groups + 1, sizeof(*m->groups));
                if (!m->groups)
                        goto oom;
                for (size_t i = 0; i < ctr->n_groups; i++)
                        m->groups[i] = ctr->groups[i];
                m->user_linux.uid = ctr->uid;
                m->user_linux.gid = ctr->gid;
                m->user_linux.supplemental_groups = m->groups;
                m->user_linux.n_supplemental_groups = ctr->n_groups;
                m->user.linux = &m->user_linux;
                st->user = &m->user;
        }
        if (crimap_copy(&m->labels, &runtime__v1__container_status__labels_entry__descriptor,
                        (void *const *)cfg->labels, cfg->n_labels) < 0 ||
            crimap_copy(&m->annotations,
                        &runtime__v1__container_status__annotations_entry__descriptor,
                        (void *const *)cfg->annotations, cfg->n_annotations) < 0)
                goto oom;
        st->labels = (Runtime__V1__ContainerStatus__LabelsEntry **)m->labels.ptrs;
        st->n_labels = cfg->n_labels;
        st->annotations = (Runtime__V1__ContainerStatus__AnnotationsEntry **)m->annotations.ptrs;
        st->n_annotations = cfg->n_annotations;
        return 0;
oom:
        ctr_status_msg_free(m);
        return -ENOMEM;
}

void cri_container_status(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ContainerStatusRequest *req = (const void *)request;
        Runtime__V1__ContainerStatusResponse resp = RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INIT;
        Runtime__V1__ContainerStatusResponse__InfoEntry info =
            RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INFO_ENTRY__INIT;
        Runtime__V1__ContainerStatusResponse__InfoEntry *info_ptrs[] = {&info};
        struct containers *c = app_containers(call);
        _cleanup_free_ char *info_text = NULL;
        char err[ERR_SIZE] = "";
        struct container *ctr = NULL;
        struct ctr_status_msg m;
        int r;

        if (!req->container_id[0])
                return fail_with(call, -EINVAL, "container_id is empty");
        r = containers_get(c, req->container_id, &ctr, err, sizeof(err));
        if (r < 0)
                return fail_with(call, r, err);
        if (ctr_status_msg_build(call, c, ctr, &m) < 0) {
                rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "ContainerStatus: out of memory");
                container_unref(c, ctr);
                return;
        }
        resp.status = &m.status;
        if (req->verbose) {
                info_text = verbose_info(call, c, ctr, &m.s);
                if (info_text) {
                        info.key = "info";
                        info.value = info_text;
                        resp.info = info_ptrs;
                        resp.n_info = 1;
                }
        }
        rpc_reply(call, &resp.base);
        ctr_status_msg_free(&m);
        container_unref(c, ctr);
}

/* How often a GetContainerEvents stream with nothing to send looks whether
 * its client went away or brigd stops. */
#define EVENTS_POLL_MS 500

/* One GetContainerEvents message for note: the pod's status (when the pod
 * is still there) and the statuses of all its containers, as they are now.
 * Returns what rpc_send() gave, or -ENOMEM. */
static int send_event(struct rpc_call *call, const struct ctr_event_note *note)
{
        struct brigd *d = rpc_call_app(call);
        Runtime__V1__ContainerEventResponse resp = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
        struct container **all = NULL;
        struct ctr_status_msg *msgs = NULL;
        Runtime__V1__ContainerStatus **statuses = NULL;
        struct cri_pod_status pod_status;
        struct pod *pod = NULL;
        size_t n_all = 0, n = 0;
        bool have_pod = false;
        char err[ERR_SIZE];
        int r;

        resp.container_id = (char *)note->ctr_id;
        resp.container_event_type = note->type;
        resp.created_at = note->at;
        if (pods_get(d->pods, note->pod_id, &pod, err, sizeof(err)) == 0) {
                if (cri_pod_status_build(d->pods, pod, &pod_status) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                have_pod = true;
                resp.pod_sandbox_status = &pod_status.status;
        }
        r = containers_list(d->containers, &all, &n_all);
        if (r < 0)
                goto out;
        msgs = calloc(n_all + 1, sizeof(*msgs));
        statuses = calloc(n_all + 1, sizeof(*statuses));
        if (!msgs || !statuses) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n_all; i++) {
                if (strcmp(all[i]->pod_id, note->pod_id) != 0)
                        continue;
                r = ctr_status_msg_build(call, d->containers, all[i], &msgs[n]);
                if (r < 0)
                        goto out;
                statuses[n] = &msgs[n].status;
                n++;
        }
        resp.containers_statuses = statuses;
        resp.n_containers_statuses = n;
        r = rpc_send(call, &resp.base);
out:
        for (size_t i = 0; i < n; i++)
                ctr_status_msg_free(&msgs[i]);
        free(msgs);
        free(statuses);
        if (all)
                containers_list_free(d->containers, all, n_all);
        if (have_pod)
                cri_pod_status_free(&pod_status);
        if (pod)
                pod_unref(d->pods, pod);
        return r;
}

void cri_get_container_events(struct rpc_call *call, const ProtobufCMessage *request)
{
        struct brigd *d = rpc_call_app(call);
        struct ctr_events_sub *sub = NULL;
        int r;

        (void)request;
        r = ctr_events_subscribe(d->ctr_events, &sub);
        if (r < 0) {
                rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         "GetContainerEvents: %d streams are open already",
                         CTR_EVENTS_MAX_SUBSCRIBERS);
                return;
        }
        log_info("container events stream opened", "call=%" PRIu64, rpc_call_id(call));
        while (!rpc_call_done(call)) {
                struct ctr_event_note note;

                r = ctr_events_next(d->ctr_events, sub, EVENTS_POLL_MS, &note);
                if (r == 0)
                        continue;
                if (r == -ENOBUFS) {
                        rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                 "GetContainerEvents: this stream fell %d events behind and was "
                                 "dropped; relist and subscribe again",
                                 CTR_EVENTS_QUEUE_MAX);
                        goto out;
                }
                r = send_event(call, &note);
                if (r == -ENOMEM) {
                        rpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                 "GetContainerEvents: out of memory");
                        goto out;
                }
                if (r < 0)
                        break;
        }
        if (rpc_call_done(call))
                rpc_fail(call, GRPC_STATUS_CANCELLED, "GetContainerEvents: cancelled");
        else
                rpc_reply(call, NULL);
out:
        log_info("container events stream closed", "call=%" PRIu64, rpc_call_id(call));
        ctr_events_unsubscribe(d->ctr_events, sub);
}
