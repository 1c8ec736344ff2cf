/* cri.h: the method tables brigd serves. */
#pragma once

#include <stddef.h>

#include "api.pb-c.h"
#include "crimap.h"
#include "proto/helper.h"
#include "rpc_server.h"

/* Every RuntimeService and ImageService RPC of CRI runtime.v1. */
extern const struct rpc_method cri_methods[];
extern const size_t cri_n_methods;

/* The ImageService handlers (cri_image.c). */
void cri_pull_image(struct rpc_call *call, const ProtobufCMessage *request);
void cri_list_images(struct rpc_call *call, const ProtobufCMessage *request);
void cri_stream_images(struct rpc_call *call, const ProtobufCMessage *request);
void cri_image_status(struct rpc_call *call, const ProtobufCMessage *request);
void cri_remove_image(struct rpc_call *call, const ProtobufCMessage *request);
void cri_image_fs_info(struct rpc_call *call, const ProtobufCMessage *request);

/* The pod sandbox handlers (cri_pod.c). */
void cri_run_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request);
void cri_stop_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request);
void cri_remove_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request);
void cri_pod_sandbox_status(struct rpc_call *call, const ProtobufCMessage *request);
void cri_list_pod_sandbox(struct rpc_call *call, const ProtobufCMessage *request);
void cri_stream_pod_sandboxes(struct rpc_call *call, const ProtobufCMessage *request);

/* A PodSandboxStatus message built from pod: status points into the
 * struct and the pod (keep both referenced while it is used); free with
 * cri_pod_status_free(). Returns 0 or -ENOMEM. */
struct cri_pod_status {
        Runtime__V1__PodSandboxStatus status;
        Runtime__V1__PodSandboxNetworkStatus network;
        Runtime__V1__LinuxPodSandboxStatus linux_status;
        Runtime__V1__Namespace namespaces;
        Runtime__V1__NamespaceOption default_options;
        Runtime__V1__PodIP pod_ips[BRIG_HELPER_MAX_POD_IPS];
        Runtime__V1__PodIP *additional[BRIG_HELPER_MAX_POD_IPS];
        char addrs[BRIG_HELPER_MAX_POD_IPS][BRIG_HELPER_MAX_POD_IP];
        struct crimap_copy labels, annotations;
};
struct pods;
struct pod;
int cri_pod_status_build(struct pods *p, struct pod *pod, struct cri_pod_status *m);
void cri_pod_status_free(struct cri_pod_status *m);

/* The container handlers (cri_container.c). */
void cri_create_container(struct rpc_call *call, const ProtobufCMessage *request);
void cri_start_container(struct rpc_call *call, const ProtobufCMessage *request);
void cri_stop_container(struct rpc_call *call, const ProtobufCMessage *request);
void cri_remove_container(struct rpc_call *call, const ProtobufCMessage *request);
void cri_list_containers(struct rpc_call *call, const ProtobufCMessage *request);
void cri_stream_containers(struct rpc_call *call, const ProtobufCMessage *request);
void cri_container_status(struct rpc_call *call, const ProtobufCMessage *request);
void cri_exec_sync(struct rpc_call *call, const ProtobufCMessage *request);
void cri_reopen_container_log(struct rpc_call *call, const ProtobufCMessage *request);
void cri_update_container_resources(struct rpc_call *call, const ProtobufCMessage *request);
void cri_get_container_events(struct rpc_call *call, const ProtobufCMessage *request);

/* The streaming handlers (cri_stream.c). */
void cri_exec(struct rpc_call *call, const ProtobufCMessage *request);
void cri_attach(struct rpc_call *call, const ProtobufCMessage *request);
void cri_port_forward(struct rpc_call *call, const ProtobufCMessage *request);

/* brig.debug.v1.Debug: test-only, served when debug_rpcs is set. */
extern const struct rpc_method debug_methods[];
extern const size_t debug_n_methods;
