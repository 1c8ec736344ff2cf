/* cri_runtime.c: the CRI method table (every RuntimeService and ImageService
 * RPC of runtime.v1; the image handlers are in cri_image.c) and the
 * runtime-level RPCs: Version, Status and RuntimeConfig. RPCs whose capability has not landed have
 * no handler and answer UNIMPLEMENTED naming themselves.
 */
#include "cri.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include "api.pb-c.h"
#include "brigd.h"
#include "stream_server.h"
#include "helper_client.h"
#include "log.h"
#include "proto/helper.h"
#include "util.h"

/* What VersionResponse.version reports: the version of the kubelet runtime
 * API this server speaks, as every CRI runtime answers it. */
#define CRI_KUBELET_API_VERSION "0.1.0"
#define CRI_RUNTIME_NAME        "brig"
#define CRI_RUNTIME_API_VERSION "v1"

static void handle_version(struct rpc_call *call, const ProtobufCMessage *request)
{
        Runtime__V1__VersionResponse resp = RUNTIME__V1__VERSION_RESPONSE__INIT;

        (void)request;
        resp.version = CRI_KUBELET_API_VERSION;
        resp.runtime_name = CRI_RUNTIME_NAME;
        resp.runtime_version = BRIG_VERSION;
        resp.runtime_api_version = CRI_RUNTIME_API_VERSION;
        rpc_reply(call, &resp.base);
}

/* RuntimeReady means brigd can reach brig-helper: without it no pod or
 * container can be created, so kubelet must not schedule here. */
static void runtime_condition(struct brigd *d, struct rpc_call *call,
                              Runtime__V1__RuntimeCondition *cond, char *message, size_t size)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        int r;

        cond->type = "RuntimeReady";
        if (!d->helper) {
                cond->status = false;
                cond->reason = "HelperNotConnected";
                cond->message = "brigd was started without a brig-helper channel";
                return;
        }
        r = helper_client_ping(d->helper, rpc_call_id(call), reason, sizeof(reason));
        if (r < 0) {
                cond->status = false;
                cond->reason = "HelperUnreachable";
                snprintf(message, size, "brig-helper did not answer PING: %s", reason);
                cond->message = message;
                return;
        }
        cond->status = true;
        cond->reason = "";
        cond->message = "";
}

/* NetworkReady: whether the helper finds a CNI configuration, asked on
 * each call so that one that appears counts at once, with no restart. */
static void network_condition(struct brigd *d, struct rpc_call *call,
                              Runtime__V1__RuntimeCondition *cond, char *message, size_t size)
{
        char conf[BRIG_HELPER_MAX_FILE_NAME];

        cond->type = "NetworkReady";
        cond->status = true;
        cond->reason = "";
        cond->message = "";
        if (!d->helper) {
                cond->status = false;
                cond->reason = "NetworkPluginNotReady";
                cond->message = "brigd runs without brig-helper";
                return;
        }
        if (helper_client_net_status(d->helper, rpc_call_id(call), conf, sizeof(conf), message,
                                     size) < 0) {
                cond->status = false;
                cond->reason = "NetworkPluginNotReady";
                cond->message = message;
        }
}

/* Whether the kernel can make a bind mount read-only recursively
 * (mount_setattr(2) with AT_RECURSIVE, Linux 5.12), which a runtime needs
 * for the "rro" mount option. */
static bool kernel_has_rro(void)
{
        struct utsname u;
        unsigned major, minor;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 5 || (major == 5 && minor >= 12);
}

static void handle_status(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StatusRequest *req = (const Runtime__V1__StatusRequest *)request;
        struct brigd *d = rpc_call_app(call);
        Runtime__V1__StatusResponse resp = RUNTIME__V1__STATUS_RESPONSE__INIT;
        Runtime__V1__RuntimeStatus status = RUNTIME__V1__RUNTIME_STATUS__INIT;
        Runtime__V1__RuntimeCondition runtime = RUNTIME__V1__RUNTIME_CONDITION__INIT;
        Runtime__V1__RuntimeCondition network = RUNTIME__V1__RUNTIME_CONDITION__INIT;
        Runtime__V1__RuntimeCondition *conditions[] = {&runtime, &network};
        Runtime__V1__RuntimeHandlerFeatures features = RUNTIME__V1__RUNTIME_HANDLER_FEATURES__INIT;
        Runtime__V1__RuntimeHandler handlers[CONFIG_MAX_RUNTIMES + 1];
        Runtime__V1__RuntimeHandler *handler_ptrs[ARRAY_SIZE(handlers)];
        Runtime__V1__RuntimeFeatures runtime_features = RUNTIME__V1__RUNTIME_FEATURES__INIT;
        Runtime__V1__StatusResponse__InfoEntry info[4];
        Runtime__V1__StatusResponse__InfoEntry *info_ptrs[ARRAY_SIZE(info)];
        _cleanup_free_ char *config_text = NULL;
        char runtime_message[768], network_message[BRIG_HELPER_MAX_ERROR_MESSAGE];
        char version[16], uptime[32];

        runtime_condition(d, call, &runtime, runtime_message, sizeof(runtime_message));
        network_condition(d, call, &network, network_message, sizeof(network_message));

        status.n_conditions = ARRAY_SIZE(conditions);
        status.conditions = conditions;
        resp.status = &status;

        /* Every configured runtime under its name, and first "" for
         * default_runtime, which is how the CRI names the default handler
         * (RunPodSandbox takes both). All are of type "oci", which takes
         * "rro" where the kernel can apply it (runc since 1.1); brigd's
         * sandbox cannot ask the runtime itself (`runc features`). User
         * namespaces are not supported yet. */
        features.recursive_read_only_mounts = kernel_has_rro();
        features.user_namespaces = false;
        size_t n_handlers = 0;
        for (size_t i = 0; i <= d->config.n_runtimes && i < ARRAY_SIZE(handlers); i++) {
                runtime__v1__runtime_handler__init(&handlers[i]);
                handlers[i].name = i == 0 ? "" : d->config.runtimes[i - 1].name;
                handlers[i].features = &features;
                handler_ptrs[n_handlers++] = &handlers[i];
        }
        resp.n_runtime_handlers = n_handlers;
        resp.runtime_handlers = handler_ptrs;
        resp.features = &runtime_features;

        if (req->verbose) {
                struct timespec now;
                size_t n = 0;

                clock_gettime(CLOCK_MONOTONIC, &now);
                snprintf(uptime, sizeof(uptime), "%lld",
                         (long long)(now.tv_sec - d->started.tv_sec));
                snprintf(version, sizeof(version), "%" PRIu32,
                         d->helper ? helper_client_version(d->helper) : 0);
                if (config_to_string(&d->config, &config_text) < 0)
                        config_text = NULL;
                const char *pairs[][2] = {
                    {"config", config_text ? config_text : ""},
                    {"helperProtocolVersion", version},
                    {"uptimeSeconds", uptime},
                    {"streamingServer", d->streams ? stream_server_endpoint(d->streams) : ""},
                };
                for (; n < ARRAY_SIZE(pairs); n++) {
                        runtime__v1__status_response__info_entry__init(&info[n]);
                        info[n].key = (char *)pairs[n][0];
                        info[n].value = (char *)pairs[n][1];
                        info_ptrs[n] = &info[n];
                }
                resp.n_info = n;
                resp.info = info_ptrs;
        }
        rpc_reply(call, &resp.base);
}

static void handle_runtime_config(struct rpc_call *call, const ProtobufCMessage *request)
{
        struct brigd *d = rpc_call_app(call);
        Runtime__V1__RuntimeConfigResponse resp = RUNTIME__V1__RUNTIME_CONFIG_RESPONSE__INIT;
        Runtime__V1__LinuxRuntimeConfiguration linux_config =
            RUNTIME__V1__LINUX_RUNTIME_CONFIGURATION__INIT;

        (void)request;
        linux_config.cgroup_driver = d->config.cgroup_manager == CGROUP_MANAGER_SYSTEMD
                                         ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
                                         : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
        resp.linux = &linux_config;
        rpc_reply(call, &resp.base);
}

#define METHOD(service, name, request, kind, handler)                                              \
        {                                                                                          \
                "/runtime.v1." #service "/" #name, kind, &runtime__v1__##request##__descriptor,    \
                    handler                                                                        \
        }

const struct rpc_method cri_methods[] = {
    METHOD(RuntimeService, Version, version_request, RPC_UNARY, handle_version),
    METHOD(RuntimeService, RunPodSandbox, run_pod_sandbox_request, RPC_UNARY, cri_run_pod_sandbox),
    METHOD(RuntimeService, StopPodSandbox, stop_pod_sandbox_request, RPC_UNARY,
           cri_stop_pod_sandbox),
    METHOD(RuntimeService, RemovePodSandbox, remove_pod_sandbox_request, RPC_UNARY,
           cri_remove_pod_sandbox),
    METHOD(RuntimeService, PodSandboxStatus, pod_sandbox_status_request, RPC_UNARY,
           cri_pod_sandbox_status),
    METHOD(RuntimeService, ListPodSandbox, list_pod_sandbox_request, RPC_UNARY,
           cri_list_pod_sandbox),
    METHOD(RuntimeService, StreamPodSandboxes, stream_pod_sandboxes_request, RPC_SERVER_STREAM,
           cri_stream_pod_sandboxes),
    METHOD(RuntimeService, CreateContainer, create_container_request, RPC_UNARY,
           cri_create_container),
    METHOD(RuntimeService, StartContainer, start_container_request, RPC_UNARY, cri_start_container),
    METHOD(RuntimeService, StopContainer, stop_container_request, RPC_UNARY, cri_stop_container),
    METHOD(RuntimeService, RemoveContainer, remove_container_request, RPC_UNARY,
           cri_remove_container),
    METHOD(RuntimeService, ListContainers, list_containers_request, RPC_UNARY, cri_list_containers),
    METHOD(RuntimeService, StreamContainers, stream_containers_request, RPC_SERVER_STREAM,
           cri_stream_containers),
    METHOD(RuntimeService, ContainerStatus, container_status_request, RPC_UNARY,
           cri_container_status),
    METHOD(RuntimeService, UpdateContainerResources, update_container_resources_request, RPC_UNARY,
           cri_update_container_resources),
    METHOD(RuntimeService, ReopenContainerLog, reopen_container_log_request, RPC_UNARY,
           cri_reopen_container_log),
    METHOD(RuntimeService, ExecSync, exec_sync_request, RPC_UNARY, cri_exec_sync),
    METHOD(RuntimeService, Exec, exec_request, RPC_UNARY, cri_exec),
    METHOD(RuntimeService, Attach, attach_request, RPC_UNARY, cri_attach),
    METHOD(RuntimeService, PortForward, port_forward_request, RPC_UNARY, cri_port_forward),
    METHOD(RuntimeService, ContainerStats, container_stats_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, ListContainerStats, list_container_stats_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, StreamContainerStats, stream_container_stats_request, RPC_SERVER_STREAM,
           NULL),
    METHOD(RuntimeService, PodSandboxStats, pod_sandbox_stats_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, ListPodSandboxStats, list_pod_sandbox_stats_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, StreamPodSandboxStats, stream_pod_sandbox_stats_request,
           RPC_SERVER_STREAM, NULL),
    METHOD(RuntimeService, UpdateRuntimeConfig, update_runtime_config_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, Status, status_request, RPC_UNARY, handle_status),
    METHOD(RuntimeService, CheckpointContainer, checkpoint_container_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, GetContainerEvents, get_events_request, RPC_SERVER_STREAM,
           cri_get_container_events),
    METHOD(RuntimeService, ListMetricDescriptors, list_metric_descriptors_request, RPC_UNARY, NULL),
    METHOD(RuntimeService, ListPodSandboxMetrics, list_pod_sandbox_metrics_request, RPC_UNARY,
           NULL),
    METHOD(RuntimeService, StreamPodSandboxMetrics, stream_pod_sandbox_metrics_request,
           RPC_SERVER_STREAM, NULL),
    METHOD(RuntimeService, RuntimeConfig, runtime_config_request, RPC_UNARY, handle_runtime_config),
    METHOD(RuntimeService, UpdatePodSandboxResources, update_pod_sandbox_resources_request,
           RPC_UNARY, NULL),
    METHOD(ImageService, ListImages, list_images_request, RPC_UNARY, cri_list_images),
    METHOD(ImageService, StreamImages, stream_images_request, RPC_SERVER_STREAM, cri_stream_images),
    METHOD(ImageService, ImageStatus, image_status_request, RPC_UNARY, cri_image_status),
    METHOD(ImageService, PullImage, pull_image_request, RPC_UNARY, cri_pull_image),
    METHOD(ImageService, RemoveImage, remove_image_request, RPC_UNARY, cri_remove_image),
    METHOD(ImageService, ImageFsInfo, image_fs_info_request, RPC_UNARY, cri_image_fs_info),
};

const size_t cri_n_methods = ARRAY_SIZE(cri_methods);
