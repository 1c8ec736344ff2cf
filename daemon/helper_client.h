/* helper_client.h: brigd's side of the helper protocol.
 *
 * One stub per helper command builds the request, sends it on the channel
 * brig-helper gave brigd, and checks that the reply answers that request
 * (same id, same command, valid against the reply schema). Any number of
 * calls may be in flight at once from any threads: one reader thread
 * matches replies to waiting calls by request id, in whatever order the
 * helper sends them. Each request carries a fresh id that brigd logs next
 * to the gRPC call id that caused it, and the helper logs too.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/helper.h"

struct helper_client;

/* How long a quick call (HELLO, PING, READY) waits for its reply before it
 * fails with -ETIMEDOUT. */
#define HELPER_CLIENT_TIMEOUT_MS 10000
/* UNPACK's wait: a large layer on a slow disk takes minutes. */
#define HELPER_CLIENT_UNPACK_TIMEOUT_MS (60 * 60 * 1000)

/* Takes ownership of fd (a SOCK_SEQPACKET channel to brig-helper), starts
 * the reader thread and performs the HELLO handshake. On failure fd is
 * closed. */
int helper_client_open(int fd, struct helper_client **ret);

/* Stops the reader (calls still waiting fail with -ECONNRESET) and closes
 * the channel. NULL is a no-op. */
void helper_client_free(struct helper_client *hc);

/* The protocol version agreed in HELLO. */
uint32_t helper_client_version(const struct helper_client *hc);

/* Every stub: call_id is the gRPC call that asked, 0 for brigd's own work.
 * Returns 0, or -errno with reason (a buffer of reason_size bytes) saying
 * why: the helper's own message when it refused or failed. */

/* Round trip through the helper's loop. */
int helper_client_ping(struct helper_client *hc, uint64_t call_id, char *reason,
                       size_t reason_size);

/* Tells the helper that brigd serves CRI (it notifies systemd). */
int helper_client_ready(struct helper_client *hc, char *reason, size_t reason_size);

struct helper_unpack_result {
        uint64_t bytes;   /* uncompressed tar bytes */
        uint64_t entries; /* entries written */
        uint64_t skipped; /* device nodes skipped */
        bool existed;     /* the layer was there already; nothing was done */
};

/* Has the helper unpack the layer blob open at blob_fd (stays the
 * caller's) into the layer store as chain_id, on top of parent_chain_id
 * (NULL for a first layer). Ids are "sha256:" + 64 lowercase hex. Blocks
 * until the layer is published or failed. */
int helper_client_unpack(struct helper_client *hc, uint64_t call_id, const char *chain_id,
                         const char *parent_chain_id, const char *diff_id, const char *media_type,
                         int blob_fd, struct helper_unpack_result *ret, char *reason,
                         size_t reason_size);

/* UNPACK in two steps, so a caller can order the requests of several
 * threads on the channel (a layer's UNPACK must reach the helper after its
 * parent's): _send() returns once the request is on the channel, _wait()
 * waits for the result and frees *u whatever it returns. */
struct helper_unpack;
int helper_client_unpack_send(struct helper_client *hc, uint64_t call_id, const char *chain_id,
                              const char *parent_chain_id, const char *diff_id,
                              const char *media_type, int blob_fd, struct helper_unpack **ret,
                              char *reason, size_t reason_size);
int helper_client_unpack_wait(struct helper_unpack *u, struct helper_unpack_result *ret,
                              char *reason, size_t reason_size);

/* What POD_CREATE asks for: the namespaces the pod gets new
 * (BRIG_POD_NS_* bits), its hostname (NULL: none set) and its sysctls as
 * "name=value" strings. */
struct helper_pod_create {
        const char *pod_id; /* 64 lowercase hex */
        unsigned ns_flags;
        const char *hostname;
        const char *const *sysctls;
        size_t n_sysctls;
        const char *cgroup_parent; /* resolved, absolute; NULL: the helper's default */
};

/* Has the helper create and pin the pod's namespaces. Blocks until they are
 * pinned or the helper refused (its errno: EINVAL and EPERM for what the
 * request asked, EEXIST for a pod id in use). */
int helper_client_pod_create(struct helper_client *hc, uint64_t call_id,
                             const struct helper_pod_create *req, char *reason, size_t reason_size);

/* Has the helper unpin the pod's namespaces and delete its directory
 * (absent is no error). */
int helper_client_pod_remove(struct helper_client *hc, uint64_t call_id, const char *pod_id,
                             char *reason, size_t reason_size);

/* Which of the pod's namespaces the helper has pinned (BRIG_POD_NS_* bits
 * in *ret; 0 for an unknown pod). */
int helper_client_pod_status(struct helper_client *hc, uint64_t call_id, const char *pod_id,
                             unsigned *ret, char *reason, size_t reason_size);

/* A pod's attachment to the CNI network: its names for CNI_ARGS, and the
 * capability arguments. Lists are space-separated (NULL: none). */
struct helper_net_request {
        const char *pod_id;
        const char *k8s_namespace, *k8s_name, *k8s_uid;
        const uint8_t *port_mappings; /* BRIG_HELPER_PORT_MAPPING_SIZE records */
        size_t port_mappings_len;
        bool has_ingress, has_egress;
        uint64_t ingress, egress; /* bits per second */
        const char *dns_servers, *dns_searches, *dns_options;
};

struct helper_net_result {
        size_t n_ips;
        char ips[BRIG_HELPER_MAX_POD_IPS][BRIG_HELPER_MAX_POD_IP]; /* "10.88.0.5/16" */
        char conf_name[BRIG_HELPER_MAX_FILE_NAME];
};

/* NET_ADD: attaches the pod (its network namespace pinned) to the CNI
 * network; the CNI plugins run meanwhile, for up to timeout_ms. */
int helper_client_net_add(struct helper_client *hc, uint64_t call_id,
                          const struct helper_net_request *req, unsigned timeout_ms,
                          struct helper_net_result *ret, char *reason, size_t reason_size);

/* NET_DEL (a pod never attached is no error) and NET_CHECK, with req's
 * pod id and names only. */
int helper_client_net_del(struct helper_client *hc, uint64_t call_id,
                          const struct helper_net_request *req, unsigned timeout_ms, char *reason,
                          size_t reason_size);
int helper_client_net_check(struct helper_client *hc, uint64_t call_id,
                            const struct helper_net_request *req, unsigned timeout_ms, char *reason,
                            size_t reason_size);

/* NET_STATUS: 0 with the configuration's file name in conf_name, or
 * -ENOENT with what is missing or wrong in problem. */
int helper_client_net_status(struct helper_client *hc, uint64_t call_id, char *conf_name,
                             size_t conf_name_size, char *problem, size_t problem_size);

/* POD_FILES: has the helper write the pod's resolv.conf (the DNS lists,
 * space-separated; NULL: none), hostname (NULL: empty) and hosts (with
 * ips, "10.88.0.5/16" each). */
int helper_client_pod_files(struct helper_client *hc, uint64_t call_id, const char *pod_id,
                            const char *hostname, const char *const dns[3],
                            const char (*ips)[BRIG_HELPER_MAX_POD_IP], size_t n_ips, char *reason,
                            size_t reason_size);

/* Has the helper remove the layer chain_id (absent is no error). */
int helper_client_remove_layer(struct helper_client *hc, uint64_t call_id, const char *chain_id,
                               char *reason, size_t reason_size);

/* CTR_CREATE, CTR_START and CTR_DELETE run the OCI runtime (and mount or
 * unmount a rootfs): they wait this long. */
#define HELPER_CLIENT_CTR_TIMEOUT_MS (2 * 60 * 1000)

/* What CTR_CREATE asks for: the container's ids, its request as
 * ctrspec_encode() made it, and the pod's runtime handler (NULL or "":
 * the default). */
struct helper_ctr_create {
        const char *pod_id; /* 64 lowercase hex */
        const char *ctr_id; /* 64 lowercase hex */
        const uint8_t *spec;
        size_t spec_len;
        const char *runtime_handler;
};

/* What CTR_CREATE answers: the init's pid and, from a helper that says,
 * the identity it runs as (groups: the supplementary gids, the primary
 * first, the first BRIG_HELPER_MAX_GROUPS of them). */
struct helper_ctr_created {
        uint32_t pid;
        bool has_user;
        uint32_t uid, gid;
        size_t n_groups;
        uint32_t groups[BRIG_HELPER_MAX_GROUPS];
};

/* Has the helper create the container; the spec travels in a sealed memfd.
 * Refusals: EINVAL and EPERM for what the request asked, EEXIST for a
 * container id in use, ENOENT for a pod the helper has not created. */
int helper_client_ctr_create(struct helper_client *hc, uint64_t call_id,
                             const struct helper_ctr_create *req, struct helper_ctr_created *ret,
                             char *reason, size_t reason_size);

/* The runtime's start of a created container. */
int helper_client_ctr_start(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                            char *reason, size_t reason_size);

/* Sends signal (1..BRIG_HELPER_MAX_SIGNAL) to the container's init. */
int helper_client_ctr_kill(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                           int signal, char *reason, size_t reason_size);

/* Deletes the container, killing it if it runs (absent is no error). */
int helper_client_ctr_delete(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                             char *reason, size_t reason_size);

/* What CTR_STATUS tells of a container. exited: the monitor recorded its
 * exit, wait_status and exit_time are set. */
struct helper_ctr_status {
        bool has_pid;
        uint32_t pid;
        bool running;
        bool exited;
        uint32_t wait_status; /* as waitpid(2) gives it */
        uint64_t exit_time;   /* ns since the epoch */
        bool oom_killed;      /* the OOM killer struck in its cgroup */
        bool monitor;         /* its monitor is there: its exit will be an event */
};

/* CTR_STATUS: -ENOENT for a container the helper does not know. */
int helper_client_ctr_status(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                             struct helper_ctr_status *ret, char *reason, size_t reason_size);

/* Changes a running container's resources: resources is what
 * ctrspec_encode_resources() made (at least one field), sent in a sealed
 * memfd. */
int helper_client_ctr_update(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                             const uint8_t *resources, size_t len, char *reason,
                             size_t reason_size);

/* CTR_SPEC: the container's config.json in a sealed memfd, into *ret_fd
 * (the caller's to close). -ENOENT for a container without one. */
int helper_client_ctr_spec(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                           int *ret_fd, char *reason, size_t reason_size);

/* What a container-event watcher hears: an event (ev set), word that
 * events were lost (ask about every container), or that the watch ended
 * for good (the helper refused or answered nonsense). */
enum helper_events_what {
        HELPER_EVENTS_EVENT,
        HELPER_EVENTS_LOST,
        HELPER_EVENTS_STOPPED,
};

struct ctr_event;
/* Runs on the channel's reader thread, one call at a time: it must not
 * call the helper (whose replies that thread delivers) nor wait for
 * anything that does. */
typedef void (*helper_event_fn)(void *arg, enum helper_events_what what,
                                const struct ctr_event *ev);

/* Subscribes the channel to the helper's container events (CTR_EVENTS,
 * asked again after every answer) and hands each to fn. One watcher per
 * channel. Returns 0 or the -errno of the first request. */
int helper_client_watch_events(struct helper_client *hc, helper_event_fn fn, void *arg);

/* Stops handing events to the watcher: once this returns, fn runs no more.
 * NULL is a no-op. */
void helper_client_unwatch_events(struct helper_client *hc);

/* Has the helper reopen the container's log where CTR_CREATE put it and
 * hand it to the container's monitor. */
int helper_client_ctr_reopen_log(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                                 char *reason, size_t reason_size);

/* What an exec left: its wait status, whether its timeout killed it, and
 * its output as two memfds (the caller's to read from offset 0 and close). */
struct helper_exec_result {
        uint32_t wait_status;
        bool timed_out;
        int stdout_fd;
        int stderr_fd;
};

/* CTR_EXEC_SYNC of argv[0..argc) (at most BRIG_HELPER_MAX_EXEC_ARGS, none
 * holding a NUL) in a running container, killed after timeout_s seconds (0:
 * never). Waits for the exec to end. -EINVAL (reason set) for arguments
 * the protocol cannot carry. */
int helper_client_ctr_exec_sync(struct helper_client *hc, uint64_t call_id, const char *ctr_id,
                                const char *const *argv, size_t argc, uint32_t timeout_s,
                                struct helper_exec_result *ret, char *reason, size_t reason_size);
