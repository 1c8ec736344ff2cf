/* cgroup_path.h: what a pod's cgroup_parent means under each cgroup driver:
 * the cgroupfs driver takes a path below the cgroup root, the systemd driver
 * a slice name that systemd expands into nested slices. Pure functions. */
#pragma once

#include <stddef.h>

#include "config.h"

#define CGROUP_PATH_MAX 4096

/* Expands a systemd slice name into the path systemd gives it below the
 * cgroup root: "kubepods-burstable-pod1.slice" becomes
 * "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"
 * (each '-' opens a child of the slice before it), "-.slice" (the root
 * slice) becomes "/". The name must end in ".slice", and its prefix must
 * not start or end with '-', hold "--", or any byte other than letters,
 * digits, ':', '_', '.', '\\' and '-' (systemd's unit name rules). Returns
 * 0 or -EINVAL (-ENAMETOOLONG past out_size). */
int cgroup_systemd_expand(const char *slice, char *out, size_t out_size);

/* Where a pod goes when kubelet sends no cgroup_parent (cgroupsPerQOS off). */
#define CGROUP_DEFAULT_CGROUPFS "/brig"
#define CGROUP_DEFAULT_SLICE    "brig.slice"

/* The cgroup path (below the cgroup root) kubelet's cgroup_parent names
 * under manager: for cgroupfs an absolute path without empty, "." or ".."
 * components; for systemd a slice name as above; "" the default above.
 * Returns 0, or -EINVAL with err saying what is wrong. */
int cgroup_parent_resolve(enum cgroup_manager manager, const char *parent, char *out,
                          size_t out_size, char *err, size_t err_size);
