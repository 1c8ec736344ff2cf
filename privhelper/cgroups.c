/* cgroups.c: owns the list of the node's cgroup hierarchies (from
 * mountinfo), moving a process into, and removing, one cgroup path in
 * all of them, and reading a container's OOM kills from its memory
 * cgroup. */
#include "cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "util.h"

#define MAX_HIERARCHIES 32
#define MONITOR_LEAF    "brig-monitor"
#define DEFAULT_PARENT  "/brig"

static char *hierarchies[MAX_HIERARCHIES];
static size_t n_hierarchies;
/* The hierarchy OOM kills are read in: the v1 memory controller where the
 * node mounts one, else the v2 tree; -1 for none. */
static int memory_fd = -1;
static bool memory_v1;

/* A hierarchy mounted twice is moved into once. */
static bool seen(const char *point)
{
        for (size_t i = 0; i < n_hierarchies; i++)
                if (strcmp(hierarchies[i], point) == 0)
                        return true;
        return false;
}

/* Whether the comma-separated list holds item. */
static bool has_item(const char *list, const char *item)
{
        size_t n = strlen(item);

        for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, item, n) == 0 &&
                    (p[n] == ',' || p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

/* Keeps the hierarchy at point when it is the one OOM kills are read in.
 * tail is mountinfo's "<fstype> <source> <super options>". */
static void note_memory(const char *point, const char *fstype, const char *tail)
{
        char options[1024] = "";
        bool v1 = strcmp(fstype, "cgroup") == 0;

        if (sscanf(tail, "%*s %*s %1023s", options) != 1)
                return;
        if (v1 ? !has_item(options, "memory") : memory_fd >= 0)
                return;
        safe_close(memory_fd);
        memory_fd = open(point, O_PATH | O_DIRECTORY | O_CLOEXEC);
        memory_v1 = v1 && memory_fd >= 0;
}

int cgroups_init(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        if (!f)
                return log_error_errno(negative_errno(), "cannot read /proc/self/mountinfo", NULL);
        while (getline(&line, &cap, f) > 0) {
                char point[PATH_MAX], fstype[64];
                const char *sep = strstr(line, " - ");

                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
                    sscanf(sep + 3, "%63s", fstype) != 1)
                        continue;
                if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
                        continue;
                note_memory(point, fstype, sep + 3);
                /* mountinfo escapes blanks as \040: such a path is not a
                 * node's cgroup mount; leave it out rather than misread it */
                if (strchr(point, '\\') || seen(point) || n_hierarchies == MAX_HIERARCHIES)
                        continue;
                hierarchies[n_hierarchies] = strdup(point);
                if (!hierarchies[n_hierarchies])
                        return -ENOMEM;
                n_hierarchies++;
        }
        if (n_hierarchies == 0)
                log_warn("no cgroup hierarchy is mounted; monitors stay in the helper's cgroup",
                         NULL);
        return 0;
}

void cgroups_monitor_path(const char *parent, const char *pod_id, char *buf, size_t size)
{
        if (!parent || parent[0] != '/')
                parent = DEFAULT_PARENT;
        snprintf(buf, size, "%s/%s-%s", strcmp(parent, "/") == 0 ? "" : parent, MONITOR_LEAF,
                 pod_id);
}

/* A v1 cpuset cgroup starts with no CPUs and no memory nodes, and no
 * process may join it then (ENOSPC): a new one gets its parent's. */
static void inherit_cpuset(const char *dir)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        char path[PATH_MAX], value[4096];

        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
                if (fd < 0)
                        return; /* not a cpuset hierarchy */
                ssize_t n = read(fd, value, sizeof(value) - 1);
                if (n > 1)
                        continue; /* set already (clone_children) */
                /* dir's parent directory, then the file: cut at the last '/' */
                int len = (int)(strrchr(dir, '/') - dir);
                if (snprintf(path, sizeof(path), "%.*s/%s", len, dir, files[i]) >=
                    (int)sizeof(path))
                        return;
                _cleanup_close_ int pfd = open(path, O_RDONLY | O_CLOEXEC);
                n = pfd < 0 ? -1 : read(pfd, value, sizeof(value) - 1);
                if (n > 0 && write(fd, value, (size_t)n) < 0)
                        log_warn_errno(negative_errno(), "cannot give a cpuset cgroup its parent's",
                                       "cgroup=%s file=%s", dir, files[i]);
        }
}

/* mkdir of dir; a new one is made joinable. */
static int make_dir(const char *dir)
{
        if (mkdir(dir, 0755) < 0)
                return errno == EEXIST ? 0 : negative_errno();
        inherit_cpuset(dir);
        return 0;
}

/* mkdir -p of path below the hierarchy mounted at base. */
static int make_path(const char *base, const char *path)
{
        char buf[PATH_MAX];
        int n = snprintf(buf, sizeof(buf), "%s%s", base, path);

        if (n < 0 || (size_t)n >= sizeof(buf))
                return -ENAMETOOLONG;
        for (char *p = buf + strlen(base) + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                int r = make_dir(buf);
                if (r < 0)
                        return r;
                *p = '/';
        }
        return make_dir(buf);
}

int cgroups_enter(const char *path, pid_t pid)
{
        char procs[PATH_MAX], num[32];
        int first = 0;

        snprintf(num, sizeof(num), "%d", pid > 0 ? (int)pid : (int)getpid());
        for (size_t i = 0; i < n_hierarchies; i++) {
                int r = make_path(hierarchies[i], path);
                if (r == 0) {
                        snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", hierarchies[i], path);
                        _cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
                        if (fd < 0 || write(fd, num, strlen(num)) < 0)
                                r = negative_errno();
                }
                if (r < 0 && first == 0)
                        first = r;
        }
        return first;
}

int cgroups_remove(const char *path)
{
        char dir[PATH_MAX];
        int left = 0;

        for (size_t i = 0; i < n_hierarchies; i++) {
                snprintf(dir, sizeof(dir), "%s%s", hierarchies[i], path);
                if (rmdir(dir) < 0 && errno != ENOENT)
                        left++;
        }
        return left;
}

int cgroups_memory_path(pid_t pid, char *buf, size_t size)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        char path[64];
        size_t cap = 0;

        if (memory_fd < 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        /* "<id>:<controllers>:<path>": the v1 line listing memory, or the
         * v2 line "0::<path>" */
        while (getline(&line, &cap, f) > 0) {
                char *controllers = strchr(line, ':'), *rest;

                if (!controllers || !(rest = strchr(controllers + 1, ':')))
                        continue;
                *rest++ = '\0';
                controllers++;
                if (memory_v1 ? !has_item(controllers, "memory") : controllers[0] != '\0')
                        continue;
                rest[strcspn(rest, "\n")] = '\0';
                if (rest[0] != '/' || (size_t)snprintf(buf, size, "%s", rest) >= size)
                        return -ENAMETOOLONG;
                return 0;
        }
        return -ENOENT;
}

long long cgroups_oom_kills(const char *path)
{
        char rel[PATH_MAX], text[1024];
        const char *key = "oom_kill ";
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (memory_fd < 0)
                return -ENOENT;
        if (path[0] != '/' ||
            (size_t)snprintf(rel, sizeof(rel), "%s/%s", path[1] ? path + 1 : ".",
                             memory_v1 ? "memory.oom_control" : "memory.events") >= sizeof(rel))
                return -EINVAL;
        fd = openat_beneath(memory_fd, rel, O_RDONLY | O_NOFOLLOW, 0);
        if (fd < 0)
                return fd;
        n = read(fd, text, sizeof(text) - 1);
        if (n < 0)
                return negative_errno();
        text[n] = '\0';
        for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, key, strlen(key)) == 0)
                        return strtoll(p + strlen(key), NULL, 10);
        /* kernels before 4.13 do not count kills */
        return -EOPNOTSUPP;
}

void cgroups_free(void)
{
        memory_fd = safe_close(memory_fd);
        memory_v1 = false;
        for (size_t i = 0; i < n_hierarchies; i++) {
                free(hierarchies[i]);
                hierarchies[i] = NULL;
        }
        n_hierarchies = 0;
}
