/* pods.h: brigd's pod sandboxes behind the CRI pod RPCs: the table of pods,
 * their crash-safe records in <root>/pods (which brig-helper made for
 * brigd), and the helper calls that make and remove a pod's namespaces.
 *
 * A pod is created in steps, recorded before and after: a record in state
 * "creating", the helper's POD_CREATE, NET_ADD (for a pod with its own
 * network namespace), the record in state "ready" with the pod's IPs.
 * pods_open() undoes whatever a crash left in "creating" (the helper's
 * NET_DEL and POD_REMOVE are idempotent), so no half-made pod is ever
 * listed and no IP leaks. Stop runs NET_DEL; remove also POD_REMOVE.
 *
 * Every function is safe from many gRPC worker threads at once. Errors are
 * a negative errno with a message naming the pod; pods_grpc_code() maps the
 * errno to the status code kubelet expects.
 */
#pragma once

#include <grpc/status.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "config.h"
#include "helper_client.h"
#include "pod_network.h"
#include "proto/helper.h"

#define PODS_DIR       "pods"
#define POD_ID_LEN     64
#define PODS_MAX       4096
#define POD_RECORD_MAX (4 * 1024 * 1024)

struct pods;

enum pod_state {
        POD_READY = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY,
        POD_NOTREADY = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY,
};

/* A pod as the RPCs see it. Everything but state is fixed once the pod is
 * listed; read state with pod_state(). Held by a reference (pod_unref). */
struct pod {
        char id[POD_ID_LEN + 1];
        int64_t created_at; /* ns since the epoch */
        char *runtime_handler;
        Runtime__V1__PodSandboxConfig *config; /* as RunPodSandbox gave it */
        unsigned ns_flags;                     /* BRIG_POD_NS_*: the pod's own namespaces */
        /* From CNI ADD, "10.88.0.5/16"; none for a pod on the node's network */
        size_t n_ips;
        char ips[BRIG_HELPER_MAX_POD_IPS][BRIG_HELPER_MAX_POD_IP];
        /* guarded by the table's lock */
        enum pod_state state;
        bool creating; /* not listed until created */
        bool removed;  /* out of the table: stop and remove find nothing to do */
        unsigned refs;
};

/* Opens <root>/pods, loads every record and removes what a crash left
 * half-created. helper may be NULL (development only: then RunPodSandbox
 * fails). Returns 0 or a negative errno with a message. */
int pods_open(const struct brig_config *config, struct helper_client *helper, struct pods **ret,
              char *err, size_t err_size);
void pods_close(struct pods *p);

/* Creates a pod from config (checked by the caller) with the namespaces
 * ns_flags asks for, its sysctls (n "name=value" strings) and hostname
 * (NULL: the node's is kept), attached to the CNI network with net's
 * request when it has its own network namespace (the pod id and names are
 * filled in here), its monitor started in cgroup_parent (the resolved
 * path; NULL: the helper's default), and its resolv.conf, hostname and
 * hosts files written
 * (files_hostname, NULL: none; net's files_dns). On success the new id is
 * in id. */
int pods_run(struct pods *p, uint64_t call_id, const Runtime__V1__PodSandboxConfig *config,
             const char *runtime_handler, unsigned ns_flags, const char *hostname,
             const char *cgroup_parent, const char *const *sysctls, size_t n_sysctls,
             const struct pod_network *net, const char *files_hostname,
             char id[static POD_ID_LEN + 1], char *err, size_t err_size);

/* CNI CHECK of a ready pod's network (0 for a pod on the node's). */
int pods_check_network(struct pods *p, uint64_t call_id, const struct pod *pod, char *err,
                       size_t err_size);

/* Finds the pod whose id is ref or starts with ref (a unique prefix).
 * Returns 0 with a reference in *ret, -ENOENT, or -EINVAL when the prefix is
 * ambiguous (err names it). */
int pods_get(struct pods *p, const char *ref, struct pod **ret, char *err, size_t err_size);

/* Every listed pod, each referenced, newest first. */
int pods_list(struct pods *p, struct pod ***ret, size_t *ret_n);
void pods_list_free(struct pods *p, struct pod **v, size_t n);

/* Makes the pod not ready (recorded). An unknown pod, or one stopped
 * already, is no error. */
int pods_stop(struct pods *p, uint64_t call_id, const char *ref, char *err, size_t err_size);

/* Stops the pod if it is ready, has the helper remove its namespaces and
 * deletes its record. An unknown pod is no error. */
int pods_remove(struct pods *p, uint64_t call_id, const char *ref, char *err, size_t err_size);

/* What a pod's containers need done before the pod goes: called by a stop
 * (remove false) once the pod is recorded not ready and before its network
 * goes, and by a removal (remove true) before its namespaces go. A failure
 * fails the stop or removal, which kubelet retries. */
typedef int (*pods_containers_hook_fn)(void *arg, uint64_t call_id, const char *pod_id, bool remove,
                                       char *err, size_t err_size);

/* Sets the hook (containers_pod_hook()); before any RPC is served. */
void pods_set_containers_hook(struct pods *p, pods_containers_hook_fn fn, void *arg);

enum pod_state pod_state(struct pods *p, const struct pod *pod);
void pod_unref(struct pods *p, struct pod *pod);

grpc_status_code pods_grpc_code(int error);
