/* containers.h: brigd's containers behind the CRI container RPCs: the table
 * of containers, their crash-safe records (<root>/pods/<id>.ctr, beside the
 * pod records in the directory brig-helper made for brigd), the helper
 * calls that create, start, signal, inspect and delete them, and the state
 * machine CRI shows: CREATED -> RUNNING -> EXITED.
 *
 * A container is created in steps, recorded before and after: a record in
 * state "creating", the helper's CTR_CREATE, the record in state
 * "created". Start writes the record "starting" before CTR_START and
 * "running" after it (back to "created" when the start fails).
 * containers_open() deletes (with the idempotent CTR_DELETE) whatever a
 * crash left "creating", starts again whatever it left "starting" (the
 * runtime refuses a second start harmlessly, so it is started either way)
 * and asks the helper (CTR_STATUS) about every created and running one.
 *
 * Exits come as events: brigd subscribes to the helper's CTR_EVENTS before
 * it asks about anything at open, and records each exit (with OOMKilled
 * when the OOM killer struck) the moment its event arrives. A running
 * container is only asked about (CTR_STATUS) when an event may have been
 * missed for it: its monitor went away, the helper dropped events, its
 * exit came while its start was being recorded, or the subscription
 * failed. An exit nobody saw (the helper forgot the container, or its
 * monitor died before it) is exit code 255, reason "Unknown"
 * (docs/containers.md).
 *
 * Every function is safe from many gRPC worker threads at once. Errors are
 * a negative errno with a message naming the container (or pod, image);
 * containers_grpc_code() maps the errno to the status code kubelet
 * expects.
 */
#pragma once

#include <grpc/status.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "config.h"
#include "helper_client.h"
#include "pods.h"

#define CTR_ID_LEN     64
#define CONTAINERS_MAX 16384
#define CTR_RECORD_MAX (4 * 1024 * 1024)
/* CRI's reason for an exit: Completed, Error, OOMKilled or Unknown */
#define CTR_REASON_MAX  32
#define CTR_MESSAGE_MAX 256

struct containers;

enum ctr_state {
        CTR_CREATED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED,
        CTR_RUNNING = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
        CTR_EXITED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED,
};

/* A container's changing part: state and what its start and exit left. */
struct ctr_status {
        enum ctr_state state;
        int64_t started_at;  /* ns since the epoch; 0 before the start */
        int64_t finished_at; /* ns since the epoch; 0 before the exit */
        int32_t exit_code;   /* 128 + the signal for a signalled exit */
        uint32_t pid;        /* as the helper reported it; 0 unknown */
        char reason[CTR_REASON_MAX];
        char message[CTR_MESSAGE_MAX];
};

/* A container as the RPCs see it. Everything but the status is fixed once
 * it is listed; read the status with containers_status(). Held by a
 * reference (container_unref). */
struct container {
        char id[CTR_ID_LEN + 1];
        char pod_id[POD_ID_LEN + 1];
        int64_t created_at;                   /* ns since the epoch */
        Runtime__V1__ContainerConfig *config; /* as CreateContainer gave it */
        char *image_id;                       /* "sha256:...", the image's config digest */
        char *image_ref;                      /* a repo digest of it, else image_id */
        char *log_path;                       /* log_directory/log_path; "" for none */
        char *runtime_handler;                /* the pod's */
        int stop_signal;                      /* StopContainer's first signal */
        /* the identity its process runs as, as the helper resolved it;
         * none for a container created before brig reported it */
        bool has_user;
        uint32_t uid, gid;
        uint32_t *groups; /* supplementary, the primary gid first */
        size_t n_groups;
};

/* Opens the container records in <root>/pods, deletes what a crash left
 * half-created, finishes the starts it cut short and asks the helper about
 * the created and running ones. pods is the pod table the containers live
 * in (it must outlive this). helper may be NULL (development only: then
 * every container operation fails). Returns 0 or a negative errno with a
 * message. */
int containers_open(const struct brig_config *config, struct helper_client *helper,
                    struct pods *pods, struct containers **ret, char *err, size_t err_size);
void containers_close(struct containers *c);

struct ctr_events;
/* From now on every change a container goes through (created, started,
 * stopped, deleted) is emitted to events (ctr_events.h) as it is
 * recorded. Set before serving; events must outlive c. */
void containers_set_events(struct containers *c, struct ctr_events *events);

/* CreateContainer holds this shared lock from its first check of the pod
 * and image to the end of containers_create(): a pod's stop or removal and
 * an image's removal wait for creations in flight, so a container never
 * appears in a pod being stopped or uses an image being removed. */
void containers_create_begin(struct containers *c);
void containers_create_end(struct containers *c);

/* -EEXIST naming the container that has metadata's name and attempt in the
 * pod, else 0. containers_create() checks it again, atomically. */
int containers_name_check(struct containers *c, const char *pod_id,
                          const Runtime__V1__ContainerMetadata *m, char *err, size_t err_size);

/* What containers_create() needs beside the pod: the config (checked by
 * the caller), its image, the joined log path, the first stop signal and
 * the request for the helper as ctrspec_encode() made it. */
struct ctr_create {
        const Runtime__V1__ContainerConfig *config;
        const char *image_id;
        const char *image_ref;
        const char *log_path;
        int stop_signal;
        const uint8_t *spec;
        size_t spec_len;
};

/* Creates a container in pod, which must be ready (-EBUSY otherwise). On
 * success the new id is in id and the container is CREATED. */
int containers_create(struct containers *c, uint64_t call_id, struct pod *pod,
                      const struct ctr_create *req, char id[static CTR_ID_LEN + 1], char *err,
                      size_t err_size);

/* Starts a CREATED container (-EBUSY for one in another state or in a pod
 * not ready). */
int containers_start(struct containers *c, uint64_t call_id, const char *ref, char *err,
                     size_t err_size);

/* Stops a running container: its stop signal, then SIGKILL when it still
 * runs after timeout_s seconds (at once for 0). Waits for the exit. An
 * exited or created container is no error; an unknown one is -ENOENT. */
int containers_stop(struct containers *c, uint64_t call_id, const char *ref, int64_t timeout_s,
                    char *err, size_t err_size);

/* Deletes the container (killing it if it runs) and its record. An unknown
 * container is no error. */
int containers_remove(struct containers *c, uint64_t call_id, const char *ref, char *err,
                      size_t err_size);

/* Finds the container whose id is ref or starts with ref (a unique
 * prefix). Returns 0 with a reference in *ret, -ENOENT, or -EINVAL when
 * the prefix is ambiguous (err names it). */
int containers_get(struct containers *c, const char *ref, struct container **ret, char *err,
                   size_t err_size);

/* Every listed container, each referenced, newest first. */
int containers_list(struct containers *c, struct container ***ret, size_t *ret_n);
void containers_list_free(struct containers *c, struct container **v, size_t n);

/* The container's status, asking the helper first when it is believed
 * running (a seen exit is recorded). */
void containers_status(struct containers *c, uint64_t call_id, struct container *ctr,
                       struct ctr_status *ret);

/* Runs argv in running container ref (ExecSync): -EBUSY for one that does
 * not run, else what helper_client_ctr_exec_sync() gives. */
int containers_exec_sync(struct containers *c, uint64_t call_id, const char *ref,
                         const char *const *argv, size_t argc, uint32_t timeout_s,
                         struct helper_exec_result *ret, char *err, size_t err_size);

/* The container's OCI runtime spec (config.json) as the helper wrote it,
 * in a sealed memfd (*ret_fd, the caller's). */
int containers_spec(struct containers *c, uint64_t call_id, struct container *ctr, int *ret_fd,
                    char *err, size_t err_size);

/* ReopenContainerLog: -EBUSY for a container that does not run, -ENOENT
 * for one without a log. */
int containers_reopen_log(struct containers *c, uint64_t call_id, const char *ref, char *err,
                          size_t err_size);

/* UpdateContainerResources of a created or running container (-EBUSY
 * otherwise): checked as at create (-EINVAL), applied by the helper, then
 * recorded for ContainerStatus. A NULL res changes nothing. */
int containers_update(struct containers *c, uint64_t call_id, const char *ref,
                      const Runtime__V1__LinuxContainerResources *res, char *err, size_t err_size);

/* The container's resources as last set (at create or by an update), a
 * copy to free with protobuf_c_message_free_unpacked(); NULL for none. */
Runtime__V1__LinuxContainerResources *containers_resources(struct containers *c,
                                                           struct container *ctr);

void container_unref(struct containers *c, struct container *ctr);

/* The pods' hook (pods_set_containers_hook()) before a pod's stop
 * (remove false: SIGKILL to its running containers, waiting for their
 * exits) and before its removal (remove true: every container of the pod
 * deleted). arg is the struct containers. */
int containers_pod_hook(void *arg, uint64_t call_id, const char *pod_id, bool remove, char *err,
                        size_t err_size);

/* Taken around an image's removal: 0 with the exclusive side of the
 * creation lock held (release with containers_image_unlock()), or -EBUSY
 * naming a container that uses image_id (nothing held). */
int containers_image_lock(struct containers *c, const char *image_id, char *err, size_t err_size);
void containers_image_unlock(struct containers *c);

grpc_status_code containers_grpc_code(int error);
