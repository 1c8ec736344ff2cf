/* monitors.h: the helper's side of the pods' brig-monitor processes
 * (privhelper/monitor/channel.h is the channel, docs/brig-monitor.md the
 * program).
 *
 * A pod gets its monitor when its first container is created: the helper
 * binds <run_root>/mon/<pod id> (a root 0700 directory), executes
 * brig-monitor in a session of its own with that listening socket and one
 * end of a socketpair, and keeps the other end as the control connection.
 * Monitors outlive the helper; after a restart the helper connects to
 * every socket again (monitors_reconnect_all()), and only starts a new
 * monitor when nothing answers there.
 *
 * Requests never block the loop: the reply comes back through the callback,
 * from monitors_handle(). A monitor that goes away fails its pending
 * requests with -EPIPE.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tlv.h"

/* Most monitors at once: one per pod with containers. */
#define MONITORS_MAX 1024

/* The answer to one request: status 0 or a negative errno; error the
 * monitor's message (or ours) when status < 0; reply its fields on
 * success, and fds[0..n_fds) the descriptors that came with it (FD fields
 * index them), all valid during the call only: the callback takes an fd by
 * setting its entry to -1; the rest are closed after it. */
typedef void (*monitor_reply_fn)(void *data, int status, const char *error,
                                 const struct tlv_fields *reply, int *fds, size_t n_fds);

/* A monitor's READY: status 0 (pause_pid its pause process, 0 for none)
 * or a negative errno when it went away first (error says why). */
typedef void (*monitor_ready_fn)(void *data, int status, const char *error, pid_t pause_pid);

/* What the monitors report unasked: a container's exit (the monitor
 * recorded it in the container's directory first), and a monitor that
 * went away without a SHUTDOWN (at the helper's own stop, nothing is
 * reported). */
struct monitor_observer {
        void (*exited)(const char *pod_id, const char *ctr_id, uint32_t pid, uint32_t wait_status,
                       uint64_t exit_time);
        void (*gone)(const char *pod_id);
};

/* Opens (creating root 0700, or checking) <run_root>/mon and the
 * brig-monitor program at monitor_path. A missing program is logged; the
 * helper still starts and CTR_CREATE fails. Returns 0 or a negative errno. */
int monitors_init(const char *run_root, const char *monitor_path);

/* Whom the monitors' reports go to (the observer must stay valid). */
void monitors_set_observer(const struct monitor_observer *observer);

/* Connects to every monitor a previous helper started (one listening at
 * <run_root>/mon/<pod id>), so that their exit reports reach the helper
 * from now on rather than when a pod's monitor is first needed. */
void monitors_reconnect_all(void);

/* At POD_CREATE: starts pod_id's monitor (with a pause process as the
 * init of a new PID namespace when pause) in the cgroup
 * cgroups_monitor_path() gives for cgroup_parent, or finds the one already
 * there; ready is called once it said READY (at once if it had). Returns 0
 * or a negative errno (ready is then never called). */
int monitors_start(const char *pod_id, const char *cgroup_parent, bool pause,
                   monitor_ready_fn ready, void *data);

/* The CREATE of container ctr_id in pod_id's monitor (started or
 * reconnected here as needed; a new one goes into the cgroup
 * cgroups_monitor_path() gives for cgroup_parent): bundle and runtime
 * paths, CTR_F_* flags, and the log fd (duplicated: it stays the caller's;
 * -1 for none). done is called once, later, unless this returns a negative
 * errno. */
int monitors_create(const char *pod_id, const char *cgroup_parent, const char *ctr_id,
                    const char *bundle, const char *runtime, const char *runtime_root,
                    uint32_t flags, int log_fd, monitor_reply_fn done, void *data);

/* The EXEC_SYNC of args (n_args NUL-terminated strings, back to back, in
 * args_len bytes) in container ctr_id of pod_id's monitor, killed after
 * timeout_ms (0: never). The reply carries WAIT_STATUS, TIMED_OUT and the
 * STDOUT_FD and STDERR_FD memfds. Returns 0 (done is called later) or a
 * negative errno: -ENOENT when the pod has no monitor. */
int monitors_exec_sync(const char *pod_id, const char *ctr_id, const char *bundle,
                       const char *runtime, const char *runtime_root, const char *args,
                       size_t args_len, uint32_t timeout_ms, monitor_reply_fn done, void *data);

/* The REOPEN_LOG of ctr_id in pod_id's monitor with log_fd (duplicated:
 * it stays the caller's). -ENOENT when the pod has no monitor. */
int monitors_reopen_log(const char *pod_id, const char *ctr_id, int log_fd, monitor_reply_fn done,
                        void *data);

/* The FORGET of ctr_id, when pod_id has a monitor; its answer is only
 * logged. */
void monitors_forget(const char *pod_id, const char *ctr_id);

/* At POD_REMOVE: asks pod_id's monitor (when it has one) to SHUTDOWN; its
 * socket and its cgroup are removed when it agrees. A monitor refuses while a container of
 * the pod still runs: that is logged, and the monitor stays. */
void monitors_shutdown(const char *pod_id);

/* The pid of pod_id's monitor when the helper is connected to it and it
 * said READY, else 0. Never connects. */
pid_t monitors_pid(const char *pod_id);

/* The loop's part: fills pfd[0..n) (n <= max) with the control
 * connections; monitors_handle() gets the same entries back. */
size_t monitors_fill_pollfds(struct pollfd *pfd, size_t max);
void monitors_handle(const struct pollfd *pfd, size_t n);

/* Closes the connections (the monitors keep running) and what
 * monitors_init() opened. */
void monitors_free(void);
