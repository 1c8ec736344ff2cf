/* cgroups.h: placing the helper's long-lived children (the pods' monitors)
 * in cgroups of their own, outside the helper's.
 *
 * The helper's systemd unit has KillMode=mixed: on stop or restart, systemd
 * SIGKILLs every process left in the unit's cgroup. A monitor left there
 * would die with the helper, and its containers' stdio and exit records
 * with it. So each monitor is moved, before it executes, into the cgroup
 * <parent>/brig-monitor-<pod id> of every hierarchy the node mounts (the v1
 * controllers and name=systemd, and the v2 tree, unified or not), parent
 * being the pod's cgroup parent, or "/brig".
 * The leaf is the monitor's alone, named after its pod: under cgroup v2 a
 * cgroup whose children have controllers cannot hold processes itself, and
 * a leaf no other pod shares can be removed as soon as its monitor ends.
 */
#pragma once

#include <sys/types.h>

/* Scans /proc/self/mountinfo for the cgroup hierarchies, once, at start.
 * Returns 0 or a negative errno, logged. */
int cgroups_init(void);

/* The monitor cgroup path of pod pod_id for its cgroup parent (NULL, or
 * anything but an absolute path, for none) into buf:
 * "<parent>/brig-monitor-<pod id>", "/brig/brig-monitor-<pod id>" without
 * a parent. parent must have been checked (ctrcheck_cgroup_parent()). */
void cgroups_monitor_path(const char *parent, const char *pod_id, char *buf, size_t size);

/* Makes path in every hierarchy (mkdir -p, 0755) and moves pid into it.
 * Meant for a freshly forked child moving itself (pid 0 means the caller).
 * Returns 0 or the first negative errno; later hierarchies are still
 * tried. */
int cgroups_enter(const char *path, pid_t pid);

/* Removes path's leaf directory from every hierarchy where it is empty
 * (no process left); a busy or absent one is skipped. Returns the number of
 * hierarchies where it is still there. */
int cgroups_remove(const char *path);

/* The path of process pid's memory cgroup in the hierarchy
 * cgroups_oom_kills() reads (the v1 memory controller where the node
 * mounts one, else the v2 tree), from /proc/<pid>/cgroup, into buf.
 * Returns 0 or a negative errno (-ENOENT: no memory hierarchy). */
int cgroups_memory_path(pid_t pid, char *buf, size_t size);

/* How many processes the kernel's OOM killer killed in the memory cgroup
 * at path (from cgroups_memory_path()): oom_kill of v1
 * memory.oom_control, or of v2 memory.events. Returns the count, or a
 * negative errno: -ENOENT when the cgroup is gone. */
long long cgroups_oom_kills(const char *path);

/* Forgets the hierarchies. */
void cgroups_free(void);
