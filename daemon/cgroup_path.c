/* cgroup_path.c: owns the translation of a pod's cgroup_parent into a path
 * below the cgroup root, for the cgroupfs and the systemd drivers, and the
 * checks that keep it below that root. */
#include "cgroup_path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SLICE_SUFFIX ".slice"

static bool unit_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.' || c == '\\' || c == '-';
}

int cgroup_systemd_expand(const char *slice, char *out, size_t out_size)
{
        size_t n = strlen(slice), suffix = strlen(SLICE_SUFFIX), prefix, used = 0;

        if (n <= suffix || strcmp(slice + n - suffix, SLICE_SUFFIX) != 0)
                return -EINVAL;
        prefix = n - suffix;
        if (prefix == 1 && slice[0] == '-') {
                if (out_size < 2)
                        return -ENAMETOOLONG;
                memcpy(out, "/", 2);
                return 0;
        }
        if (slice[0] == '-' || slice[prefix - 1] == '-')
                return -EINVAL;
        for (size_t i = 0; i < prefix; i++)
                if (!unit_char(slice[i]) || (slice[i] == '-' && slice[i + 1] == '-'))
                        return -EINVAL;
        /* One level per '-': the slice up to it, then the whole name. */
        for (size_t i = 0; i <= prefix; i++) {
                if (i < prefix && slice[i] != '-')
                        continue;
                int k = snprintf(out + used, out_size - used, "/%.*s" SLICE_SUFFIX, (int)i, slice);

                if (k < 0 || (size_t)k >= out_size - used)
                        return -ENAMETOOLONG;
                used += (size_t)k;
        }
        return 0;
}

static int check_cgroupfs(const char *parent, char *err, size_t err_size)
{
        if (parent[0] != '/') {
                snprintf(err, err_size,
                         "cgroup_parent \"%.200s\" is not an absolute path, which the cgroupfs "
                         "driver needs (is kubelet's cgroupDriver systemd?)",
                         parent);
                return -EINVAL;
        }
        for (const char *c = parent + 1; *c;) {
                size_t len = strcspn(c, "/");

                if ((len == 0 && c[len] == '/') || (len == 1 && c[0] == '.') ||
                    (len == 2 && c[0] == '.' && c[1] == '.')) {
                        snprintf(err, err_size,
                                 "cgroup_parent \"%.200s\" has an empty, '.' or '..' component",
                                 parent);
                        return -EINVAL;
                }
                c += len;
                c += *c == '/';
        }
        return 0;
}

int cgroup_parent_resolve(enum cgroup_manager manager, const char *parent, char *out,
                          size_t out_size, char *err, size_t err_size)
{
        size_t n;
        int r;

        if (!parent[0])
                parent = manager == CGROUP_MANAGER_CGROUPFS ? CGROUP_DEFAULT_CGROUPFS
                                                            : CGROUP_DEFAULT_SLICE;
        n = strlen(parent);
        if (n >= CGROUP_PATH_MAX || n >= out_size) {
                snprintf(err, err_size, "cgroup_parent is %zu bytes long, more than %d", n,
                         CGROUP_PATH_MAX - 1);
                return -EINVAL;
        }
        if (manager == CGROUP_MANAGER_CGROUPFS) {
                r = check_cgroupfs(parent, err, err_size);
                if (r == 0)
                        memcpy(out, parent, n + 1);
                return r;
        }
        r = cgroup_systemd_expand(parent, out, out_size);
        if (r < 0)
                snprintf(err, err_size,
                         r == -ENAMETOOLONG
                             ? "cgroup_parent \"%.200s\" expands to a path that is too long"
                             : "cgroup_parent \"%.200s\" is not a systemd slice name (such as "
                               "kubepods-burstable-pod1.slice), which the systemd driver needs",
                         parent);
        return r < 0 ? -EINVAL : 0;
}
