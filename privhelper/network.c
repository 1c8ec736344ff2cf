/* network.c: owns the NET_* commands on the root side: their checks, the
 * choice of the CNI configuration file, <root>/cni (what each attached
 * pod's DEL needs), and the runner, a job child that spawns brig-cni and
 * runs the plugins it asks for, each with an environment built here, a
 * timeout, and its stderr in the log. The runner relays JSON it never
 * parses. */
#include "network.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cni/channel.h"
#include "clock.h"
#include "dirs.h"
#include "fsutil.h"
#include "hproto.h"
#include "jobs.h"
#include "log.h"
#include "podcheck.h"
#include "pods.h"
#include "tlv.h"
#include "util.h"

#define CACHE_DIR "cni"
#define IFNAME    "eth0"
/* A configuration file (ADD), or the cache blob (DEL, CHECK): brig-cni
 * never makes a blob larger than what fits back into a REQUEST. */
#define CONF_MAX  CNI_MAX_CONF
#define CACHE_MAX BRIG_HELPER_MAX_PAYLOAD
/* A plugin's stdout must fit a RESULT datagram. */
#define STDOUT_MAX (BRIG_HELPER_MAX_PAYLOAD - 64)
/* Plugin stderr kept for the log. */
#define STDERR_MAX   4096
#define CNI_PATH_MAX 4096
/* Seconds brig-cni may take to send its next message. */
#define BRIG_CNI_SILENCE_MAX 30

/* One NET_ADD, NET_DEL or NET_CHECK while its child runs; shared with the
 * child, which writes the outcome. */
struct net_job {
        struct net_job *next;
        struct helper_conn *conn;
        uint64_t serial;
        uint32_t request_id;
        uint16_t command;
        enum cni_command cni;
        char id[BRIG_HELPER_MAX_POD_ID];
        char netns[PATH_MAX];
        char k8s_namespace[BRIG_HELPER_MAX_K8S_NAME];
        char k8s_name[BRIG_HELPER_MAX_K8S_NAME];
        char k8s_uid[BRIG_HELPER_MAX_K8S_NAME];
        uint8_t ports[BRIG_HELPER_MAX_PORT_MAPPINGS * BRIG_HELPER_PORT_MAPPING_SIZE];
        size_t ports_len;
        bool has_ingress, has_egress;
        uint64_t ingress, egress;
        char dns[3][BRIG_HELPER_MAX_DNS_LIST]; /* servers, searches, options */
        /* written by the child */
        int error;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
        char conf_name[BRIG_HELPER_MAX_FILE_NAME];
        size_t n_ips;
        char ips[BRIG_HELPER_MAX_POD_IPS][BRIG_HELPER_MAX_POD_IP];
};

static const char *conf_dir;
static const struct config_strv *plugin_dirs;
static unsigned plugin_timeout;
static char cni_path[CNI_PATH_MAX];
static int cache_fd = -1;
static int cni_exe = -1;
static struct net_job *running;

int network_init(const struct brig_config *config, const char *brig_cni)
{
        _cleanup_close_ int root_fd =
            open(config->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        size_t n = 0;

        if (root_fd < 0)
                return log_error_errno(negative_errno(), "cannot open the root directory", "dir=%s",
                                       config->root);
        cache_fd = dirs_open_private(root_fd, config->root, CACHE_DIR);
        if (cache_fd < 0)
                return cache_fd;
        conf_dir = config->cni_conf_dir;
        plugin_dirs = &config->cni_plugin_dirs;
        plugin_timeout = config->cni_plugin_timeout;
        for (size_t i = 0; i < plugin_dirs->n; i++) {
                /* CNI_PATH is ':'-separated */
                if (strchr(plugin_dirs->items[i], ':'))
                        return log_error_errno(-EINVAL,
                                               "a cni_plugin_dirs entry holds ':', which CNI_PATH "
                                               "cannot carry",
                                               "dir=%s", plugin_dirs->items[i]);
                int w = snprintf(cni_path + n, sizeof(cni_path) - n, "%s%s", i ? ":" : "",
                                 plugin_dirs->items[i]);
                if (w < 0 || (size_t)w >= sizeof(cni_path) - n)
                        return log_error_errno(-ENAMETOOLONG, "cni_plugin_dirs is too long",
                                               "max=%d", CNI_PATH_MAX - 1);
                n += (size_t)w;
        }
        cni_exe = open(brig_cni, O_PATH | O_CLOEXEC);
        if (cni_exe < 0)
                log_warn_errno(negative_errno(), "brig-cni not found: pods get no network",
                               "path=%s", brig_cni);
        return 0;
}

void network_free(void)
{
        cache_fd = safe_close(cache_fd);
        cni_exe = safe_close(cni_exe);
}

bool network_busy(const char *id)
{
        for (struct net_job *j = running; j; j = j->next)
                if (strcmp(j->id, id) == 0)
                        return true;
        return false;
}

void network_forget(const char *id)
{
        if (unlinkat(cache_fd, id, 0) == 0)
                log_warn("pod removed while still attached to its CNI network (its DEL failed): "
                         "what the failed plugins set up is theirs to clean",
                         "pod=%s", id);
}

/* ---- files ---------------------------------------------------------------- */

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return r;
}

/* Root's, and writable by root alone: what root may act on. */
static const char *ownership_problem(int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return "cannot be examined";
        if (st.st_uid != 0)
                return "is not owned by root";
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return "is writable by group or others";
        return NULL;
}

static bool is_conf_name(const char *name)
{
        static const char *const suffixes[] = {".conflist", ".conf", ".json"};
        size_t n = strlen(name);

        if (name[0] == '.')
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                size_t s = strlen(suffixes[i]);
                if (n > s && strcmp(name + n - s, suffixes[i]) == 0)
                        return true;
        }
        return false;
}

/* Opens cni_conf_dir and its first configuration file in name order, both
 * checked to be root's alone. Returns the file's fd and its name in
 * ret_name, or a negative errno with err set (-ENOENT: none there). */
static int conf_open(char ret_name[BRIG_HELPER_MAX_FILE_NAME], char *err, size_t err_size)
{
        _cleanup_close_ int dir_fd = open(conf_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = NULL;
        const char *problem;
        struct dirent *e;
        struct stat st;
        int fd;

        if (dir_fd < 0)
                return fail(err, err_size, negative_errno(),
                            errno == ENOENT ? "no CNI configuration: %s does not exist"
                                            : "cannot open the CNI configuration directory %s: %m",
                            conf_dir);
        problem = ownership_problem(dir_fd);
        if (problem)
                return fail(err, err_size, -EPERM, "CNI configuration directory %s %s", conf_dir,
                            problem);
        d = fdopendir(fcntl(dir_fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return fail(err, err_size, negative_errno(), "cannot list %s: %m", conf_dir);
        ret_name[0] = '\0';
        while ((e = readdir(d)))
                if (is_conf_name(e->d_name) && strlen(e->d_name) < BRIG_HELPER_MAX_FILE_NAME &&
                    (!ret_name[0] || strcmp(e->d_name, ret_name) < 0))
                        snprintf(ret_name, BRIG_HELPER_MAX_FILE_NAME, "%s", e->d_name);
        if (!ret_name[0])
                return fail(err, err_size, -ENOENT,
                            "no CNI configuration in %s (no *.conflist, *.conf or *.json)",
                            conf_dir);
        fd = openat_beneath(dir_fd, ret_name, O_RDONLY | O_NOFOLLOW, 0);
        if (fd < 0)
                return fail(err, err_size, fd, "cannot open CNI configuration %s/%s: %s", conf_dir,
                            ret_name, strerror(-fd));
        problem = ownership_problem(fd);
        if (!problem && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)))
                problem = "is not a regular file";
        if (problem) {
                close(fd);
                return fail(err, err_size, -EPERM, "CNI configuration %s/%s %s", conf_dir, ret_name,
                            problem);
        }
        return fd;
}

/* Reads all of fd, at most max bytes, into a malloc'd buffer. */
static int read_file(int fd, size_t max, uint8_t **ret, size_t *ret_len)
{
        _cleanup_free_ uint8_t *buf = malloc(max + 1);
        size_t len = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, max + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Replaces <root>/cni/<id> with data, durably: a DEL after a crash finds
 * either the old blob or the new one. */
static int cache_write(const char *id, const void *data, size_t len)
{
        char tmp[BRIG_HELPER_MAX_POD_ID + 8];
        _cleanup_close_ int fd = -1;
        int r = 0;

        snprintf(tmp, sizeof(tmp), "%s.tmp", id);
        fd = openat_beneath(cache_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return fd;
        for (size_t off = 0; off < len && r == 0;) {
                ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
                if (n < 0 && errno != EINTR)
                        r = negative_errno();
                else if (n > 0)
                        off += (size_t)n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r == 0 && renameat(cache_fd, tmp, cache_fd, id) < 0)
                r = negative_errno();
        if (r == 0 && fsync(cache_fd) < 0)
                r = negative_errno();
        if (r < 0)
                unlinkat(cache_fd, tmp, 0);
        return r;
}

static int cache_remove(const char *id)
{
        if (unlinkat(cache_fd, id, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return fsync(cache_fd) < 0 ? negative_errno() : 0;
}

/* ---- running one plugin (in the runner) --------------------------------- */

struct plugin_run {
        uint32_t exit; /* CNI_TAG_EXIT's value */
        uint8_t out[STDOUT_MAX];
        size_t out_len;
        char errtext[STDERR_MAX + 1];
        size_t err_len;
};

static bool plugin_name_ok(const char *name)
{
        size_t n = 0;

        for (; name[n]; n++)
                if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= 'A' && name[n] <= 'Z') ||
                      (name[n] >= '0' && name[n] <= '9') || strchr("._-", name[n])))
                        return false;
        return n > 0 && n <= CNI_PLUGIN_NAME_MAX && strcmp(name, ".") != 0 &&
               strcmp(name, "..") != 0;
}

/* Finds plugin name in cni_plugin_dirs: an O_PATH fd of a regular,
 * executable file that, like its directory, is root's alone. A directory
 * that is missing is skipped; one that is not root's is an error. */
static int plugin_open(const char *name, char *err, size_t err_size)
{
        for (size_t i = 0; i < plugin_dirs->n; i++) {
                const char *dir = plugin_dirs->items[i];
                _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                const char *problem;
                struct stat st;
                int fd;

                if (dir_fd < 0 && errno == ENOENT)
                        continue;
                if (dir_fd < 0)
                        return fail(err, err_size, negative_errno(),
                                    "cannot open CNI plugin directory %s: %m", dir);
                problem = ownership_problem(dir_fd);
                if (problem)
                        return fail(err, err_size, -EPERM, "CNI plugin directory %s %s", dir,
                                    problem);
                fd = openat_beneath(dir_fd, name, O_PATH | O_NOFOLLOW, 0);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fail(err, err_size, fd, "cannot open CNI plugin %s/%s: %s", dir,
                                    name, strerror(-fd));
                problem = ownership_problem(fd);
                if (!problem &&
                    (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)))
                        problem = "is not an executable file";
                if (problem) {
                        close(fd);
                        return fail(err, err_size, -EPERM, "CNI plugin %s/%s %s", dir, name,
                                    problem);
                }
                return fd;
        }
        return fail(err, err_size, -ENOENT, "no CNI plugin \"%s\" in %s", name, cni_path);
}

static const char *const cni_command_names[] = {
    [CNI_CMD_ADD] = "ADD",
    [CNI_CMD_DEL] = "DEL",
    [CNI_CMD_CHECK] = "CHECK",
};

/* Runs in the plugin's child: never returns. */
static void plugin_exec(const struct net_job *j, const char *name, int exe, int in, int out,
                        int errfd)
{
        char env_command[32], env_id[96], env_netns[PATH_MAX + 16], env_args[1024],
            env_path[CNI_PATH_MAX + 16];
        char *const argv[] = {(char *)name, NULL};
        char *const envp[] = {env_command,
                              env_id,
                              env_netns,
                              "CNI_IFNAME=" IFNAME,
                              env_args,
                              env_path,
                              "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                              NULL};
        int n;

        /* Its own process group, so that a timeout kills what it started. */
        if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                _exit(127);
        signal(SIGPIPE, SIG_DFL);
        /* fd 3 stays open across exec: a script plugin's interpreter reads
         * it as /dev/fd/3. */
        if (!job_child_place_fds((const struct job_fd[]){{in, 0}, {out, 1}, {errfd, 2}, {exe, 3}},
                                 4) ||
            chdir("/") < 0)
                _exit(127);
        snprintf(env_command, sizeof(env_command), "CNI_COMMAND=%s", cni_command_names[j->cni]);
        snprintf(env_id, sizeof(env_id), "CNI_CONTAINERID=%s", j->id);
        snprintf(env_netns, sizeof(env_netns), "CNI_NETNS=%s", j->netns);
        /* IgnoreUnknown: plugins refuse arguments they do not know without
         * it, and not every plugin knows the K8S_ ones. */
        n = snprintf(env_args, sizeof(env_args), "CNI_ARGS=IgnoreUnknown=1");
        if (j->k8s_namespace[0])
                n += snprintf(env_args + n, sizeof(env_args) - (size_t)n, ";K8S_POD_NAMESPACE=%s",
                              j->k8s_namespace);
        if (j->k8s_name[0])
                n += snprintf(env_args + n, sizeof(env_args) - (size_t)n, ";K8S_POD_NAME=%s",
                              j->k8s_name);
        n += snprintf(env_args + n, sizeof(env_args) - (size_t)n, ";K8S_POD_INFRA_CONTAINER_ID=%s",
                      j->id);
        if (j->k8s_uid[0])
                snprintf(env_args + n, sizeof(env_args) - (size_t)n, ";K8S_POD_UID=%s", j->k8s_uid);
        snprintf(env_path, sizeof(env_path), "CNI_PATH=%s", cni_path);
        syscall(SYS_execveat, 3, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
}

/* Feeds stdin to the plugin and collects its stdout and stderr until it
 * has exited and they are drained, or until the timeout (then its whole
 * process group is killed). Returns false if the plugin was killed here. */
static bool plugin_talk(pid_t pid, int pidfd, int in, int out, int errfd, const uint8_t *stdin_data,
                        size_t stdin_len, struct plugin_run *run)
{
        int64_t deadline = clock_monotonic_ms() + (int64_t)plugin_timeout * 1000;
        size_t written = 0;
        bool exited = false, too_long = false;

        fcntl(in, F_SETFL, O_NONBLOCK);
        fcntl(out, F_SETFL, O_NONBLOCK);
        fcntl(errfd, F_SETFL, O_NONBLOCK);
        if (stdin_len == 0)
                in = safe_close(in);
        while (out >= 0 || errfd >= 0) {
                struct pollfd p[4] = {{.fd = in, .events = POLLOUT},
                                      {.fd = out, .events = POLLIN},
                                      {.fd = errfd, .events = POLLIN},
                                      {.fd = exited ? -1 : pidfd, .events = POLLIN}};
                int64_t left = deadline - clock_monotonic_ms();

                if (left <= 0) {
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        run->exit = CNI_EXIT_TIMEOUT;
                        break;
                }
                /* Once it has exited, what is left in the pipes is there
                 * already: a daemon it left behind may hold them open. */
                if (poll(p, 4, exited ? 0 : (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
                        break;
                if (p[3].revents)
                        exited = true;
                if (in >= 0 && p[0].revents) {
                        ssize_t n = write(in, stdin_data + written, stdin_len - written);
                        if (n > 0)
                                written += (size_t)n;
                        if ((n < 0 && errno != EAGAIN) || written == stdin_len)
                                in = safe_close(in);
                }
                if (out >= 0 && (p[1].revents || exited)) {
                        ssize_t n =
                            read(out, run->out + run->out_len, sizeof(run->out) - run->out_len);
                        if (n > 0)
                                run->out_len += (size_t)n;
                        if (run->out_len == sizeof(run->out))
                                too_long = true;
                        if (n == 0 || too_long || (n < 0 && errno != EAGAIN) || (exited && n < 0))
                                out = safe_close(out);
                }
                if (errfd >= 0 && (p[2].revents || exited)) {
                        char discard[512];
                        char *dst =
                            run->err_len < STDERR_MAX ? run->errtext + run->err_len : discard;
                        size_t room =
                            run->err_len < STDERR_MAX ? STDERR_MAX - run->err_len : sizeof(discard);
                        ssize_t n = read(errfd, dst, room);
                        if (n > 0 && dst != discard)
                                run->err_len += (size_t)n;
                        if (n == 0 || (n < 0 && errno != EAGAIN) || (exited && n < 0))
                                errfd = safe_close(errfd);
                }
        }
        safe_close(in);
        safe_close(out);
        safe_close(errfd);
        if (run->exit == CNI_EXIT_TIMEOUT)
                return false;
        if (too_long) {
                kill(-pid, SIGKILL);
                run->exit = CNI_EXIT_NOT_RUN;
                run->out_len = (size_t)snprintf((char *)run->out, sizeof(run->out),
                                                "its output exceeds %d bytes", STDOUT_MAX - 1);
                return false;
        }
        return true;
}

static void log_plugin_stderr(const struct net_job *j, const char *name, struct plugin_run *run)
{
        size_t n = run->err_len;

        while (n > 0 && (run->errtext[n - 1] == '\n' || run->errtext[n - 1] == ' '))
                n--;
        if (n == 0)
                return;
        run->errtext[n] = '\0';
        log_warn("CNI plugin wrote to stderr", "pod=%s plugin=%s command=%s stderr=\"%s\"", j->id,
                 name, cni_command_names[j->cni], run->errtext);
}

/* Runs plugin name with stdin_data and fills run: exit and stdout. */
static void plugin_run(const struct net_job *j, const char *name, const uint8_t *stdin_data,
                       size_t stdin_len, struct plugin_run *run)
{
        _cleanup_close_ int exe = -1, pidfd = -1;
        int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
        int status = 0;
        pid_t pid;

        run->out_len = run->err_len = 0;
        run->exit = CNI_EXIT_NOT_RUN;
        exe = plugin_name_ok(name) ? plugin_open(name, (char *)run->out, sizeof(run->out))
                                   : fail((char *)run->out, sizeof(run->out), -EINVAL,
                                          "\"%.64s\" is not a CNI plugin name", name);
        if (exe == -ENOENT)
                run->exit = CNI_EXIT_NOT_FOUND;
        if (exe < 0)
                goto runner_failed;
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                fail((char *)run->out, sizeof(run->out), 0, "pipe: %m");
                goto runner_failed;
        }
        pid = fork();
        if (pid < 0) {
                fail((char *)run->out, sizeof(run->out), 0, "fork: %m");
                goto runner_failed;
        }
        if (pid == 0)
                plugin_exec(j, name, exe, in[0], out[1], err[1]);
        in[0] = safe_close(in[0]);
        out[1] = safe_close(out[1]);
        err[1] = safe_close(err[1]);
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (plugin_talk(pid, pidfd, in[1], out[0], err[0], stdin_data, stdin_len, run)) {
                waitpid(pid, &status, 0);
                run->exit = WIFEXITED(status) ? (uint32_t)WEXITSTATUS(status)
                                              : CNI_EXIT_SIGNAL + (uint32_t)WTERMSIG(status);
        } else {
                waitpid(pid, &status, 0);
        }
        log_plugin_stderr(j, name, run);
        log_info("CNI plugin ran", "pod=%s plugin=%s command=%s exit=%" PRIu32, j->id, name,
                 cni_command_names[j->cni], run->exit);
        return;
runner_failed:
        for (int i = 0; i < 2; i++) {
                safe_close(in[i]);
                safe_close(out[i]);
                safe_close(err[i]);
        }
        run->out_len = strlen((char *)run->out);
        log_warn("CNI plugin not run", "pod=%s plugin=%.64s reason=\"%s\"", j->id, name,
                 (char *)run->out);
}

/* ---- the runner: the job child ---------------------------------------------- */

static int runner_fail(struct net_job *j, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int runner_fail(struct net_job *j, int error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        pods_format_error(j->err, sizeof(j->err), j->id, fmt, ap);
        va_end(ap);
        j->error = error;
        return error;
}

static pid_t cni_spawn(int sock)
{
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        char *const argv[] = {"brig-cni", NULL};
        pid_t pid = fork();
        int devnull, exe;

        if (pid != 0)
                return pid;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                _exit(127);
        signal(SIGPIPE, SIG_DFL);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        /* above every target, as cni_exe may be one of their numbers */
        exe = fcntl(cni_exe, F_DUPFD_CLOEXEC, 64);
        /* stdout is the log too: brig-cni writes nothing else there */
        if (devnull < 0 || exe < 0 ||
            !job_child_place_fds((const struct job_fd[]){{devnull, 0}, {2, 1}, {sock, 3}}, 3))
                _exit(127);
        syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
}

static int send_msg(int sock, struct tlv_writer *w)
{
        size_t len;
        int r = tlv_writer_finish(w, &len);

        if (r < 0)
                return r;
        return send(sock, w->buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EPIPE;
}

static int send_request(struct net_job *j, int sock, const uint8_t *conf, size_t conf_len,
                        bool from_cache, uint8_t *buf)
{
        static const uint16_t dns_tags[] = {CNI_TAG_DNS_SERVERS, CNI_TAG_DNS_SEARCHES,
                                            CNI_TAG_DNS_OPTIONS};
        struct tlv_writer w;

        tlv_writer_init(&w, buf, BRIG_HELPER_MAX_PAYLOAD);
        tlv_put_u32(&w, CNI_TAG_KIND, CNI_KIND_REQUEST);
        tlv_put_u32(&w, CNI_TAG_COMMAND, j->cni);
        tlv_put_string(&w, CNI_TAG_CONTAINER_ID, j->id);
        tlv_put_string(&w, CNI_TAG_IFNAME, IFNAME);
        if (!from_cache)
                tlv_put_string(&w, CNI_TAG_CONF_NAME, j->conf_name);
        tlv_put_bytes(&w, from_cache ? CNI_TAG_CACHE : CNI_TAG_CONF, conf, conf_len);
        if (j->ports_len)
                tlv_put_bytes(&w, CNI_TAG_PORTS, j->ports, j->ports_len);
        if (j->has_ingress)
                tlv_put_u64(&w, CNI_TAG_INGRESS_RATE, j->ingress);
        if (j->has_egress)
                tlv_put_u64(&w, CNI_TAG_EGRESS_RATE, j->egress);
        for (size_t i = 0; i < ARRAY_SIZE(dns_tags); i++)
                if (j->dns[i][0])
                        tlv_put_string(&w, dns_tags[i], j->dns[i]);
        return send_msg(sock, &w);
}

/* What brig-cni may send, whatever the kind (channel.h); each kind's own
 * fields are then required by the getters below. */
static const struct brig_field_spec from_cni[] = {
    {CNI_TAG_KIND, BRIG_TLV_U32, 1, 1, 4},
    {CNI_TAG_COMMAND, BRIG_TLV_U32, 0, 1, 4},
    {CNI_TAG_CACHE, BRIG_TLV_BYTES, 0, 1, BRIG_HELPER_MAX_PAYLOAD},
    {CNI_TAG_PLUGIN, BRIG_TLV_STRING, 0, 1, CNI_PLUGIN_NAME_MAX + 1},
    {CNI_TAG_STDIN, BRIG_TLV_BYTES, 0, 1, BRIG_HELPER_MAX_PAYLOAD},
    {CNI_TAG_IP, BRIG_TLV_STRING, 0, CNI_MAX_IPS, BRIG_HELPER_MAX_POD_IP},
    {CNI_TAG_MESSAGE, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_ERROR_MESSAGE},
};

/* One message from brig-cni, acted on. Returns 1 to go on, 0 when brig-cni
 * has answered (DONE or FAIL), or a negative errno with j->err set. */
static int runner_step(struct net_job *j, int sock, uint8_t *buf, struct plugin_run *run)
{
        struct tlv_fields fs = {0};
        struct tlv_writer w;
        char why[BRIG_MSG_REASON_MAX];
        const void *data = NULL;
        const char *name = NULL;
        size_t len = 0;
        uint32_t kind = 0;
        ssize_t n = recv(sock, buf, BRIG_HELPER_MAX_PAYLOAD + 1, MSG_TRUNC);
        int r;

        if (n <= 0)
                return runner_fail(j, -EPROTO, "brig-cni ended, or fell silent, without an answer");
        if (n > BRIG_HELPER_MAX_PAYLOAD)
                return runner_fail(j, -EPROTO, "brig-cni sent a message over %d bytes",
                                   BRIG_HELPER_MAX_PAYLOAD);
        if (brig_fields_decode(buf, (size_t)n, from_cni, ARRAY_SIZE(from_cni), "brig-cni's message",
                               &fs, why, sizeof(why)) < 0)
                return runner_fail(j, -EPROTO, "brig-cni sent a malformed message: %s", why);
        tlv_get_u32(&fs, CNI_TAG_KIND, &kind);
        switch (kind) {
        case CNI_KIND_CACHE:
                if (tlv_get_bytes(&fs, CNI_TAG_CACHE, &data, &len) < 0)
                        return runner_fail(j, -EPROTO, "brig-cni sent CACHE without a blob");
                r = j->cni == CNI_CMD_CHECK ? 0 : cache_write(j->id, data, len);
                if (r < 0)
                        return runner_fail(j, r, "cannot keep the CNI state in %s/%s: %s",
                                           CACHE_DIR, j->id, strerror(-r));
                return 1;
        case CNI_KIND_EXEC:
                if (tlv_get_string(&fs, CNI_TAG_PLUGIN, &name) < 0 ||
                    tlv_get_bytes(&fs, CNI_TAG_STDIN, &data, &len) < 0)
                        return runner_fail(j, -EPROTO, "brig-cni sent EXEC without a plugin");
                plugin_run(j, name, data, len, run);
                tlv_writer_init(&w, buf, BRIG_HELPER_MAX_PAYLOAD);
                tlv_put_u32(&w, CNI_TAG_KIND, CNI_KIND_RESULT);
                tlv_put_u32(&w, CNI_TAG_EXIT, run->exit);
                tlv_put_bytes(&w, CNI_TAG_STDOUT, run->out, run->out_len);
                r = send_msg(sock, &w);
                if (r < 0)
                        return runner_fail(j, r, "brig-cni went away");
                return 1;
        case CNI_KIND_DONE:
                for (size_t i = 0; i < fs.n; i++) {
                        const char *ip = (const char *)fs.items[i].value;

                        if (fs.items[i].tag != CNI_TAG_IP)
                                continue;
                        /* checked again here (the schema made it a
                         * string): it goes to brigd as the pod's IP, and
                         * into the pod's hosts file */
                        if (!podcheck_pod_ip(ip, NULL, 0) || j->n_ips == BRIG_HELPER_MAX_POD_IPS)
                                return runner_fail(j, -EPROTO,
                                                   "brig-cni sent a bad address or too many");
                        snprintf(j->ips[j->n_ips++], sizeof(j->ips[0]), "%s", ip);
                }
                return 0;
        case CNI_KIND_FAIL:
                if (tlv_get_string(&fs, CNI_TAG_MESSAGE, &name) < 0)
                        name = "brig-cni failed without a message";
                return runner_fail(j, -EIO, "%s", name);
        default:
                return runner_fail(j, -EPROTO, "brig-cni sent a message of kind %" PRIu32, kind);
        }
}

/* The job child: reads the configuration (ADD) or the cache (DEL, CHECK),
 * spawns brig-cni and serves it until it answers. */
static int runner(void *arg)
{
        static struct plugin_run run;
        static uint8_t buf[BRIG_HELPER_MAX_PAYLOAD + 1];
        struct net_job *j = arg;
        _cleanup_free_ uint8_t *conf = NULL;
        _cleanup_close_ int fd = -1, sock = -1;
        int pair[2], status, r;
        size_t conf_len = 0;
        pid_t pid;

        signal(SIGPIPE, SIG_IGN);
        if (j->cni == CNI_CMD_ADD) {
                fd = conf_open(j->conf_name, j->err, sizeof(j->err));
                if (fd < 0)
                        return j->error = fd;
        } else {
                fd = openat_beneath(cache_fd, j->id, O_RDONLY | O_NOFOLLOW, 0);
                if (fd == -ENOENT && j->cni == CNI_CMD_DEL)
                        return 0; /* never attached, or detached already */
                if (fd < 0)
                        return runner_fail(j, fd, "%s",
                                           fd == -ENOENT ? "not attached to a CNI network"
                                                         : "cannot open its CNI state");
                snprintf(j->conf_name, sizeof(j->conf_name), "%s", j->id);
        }
        r = read_file(fd, j->cni == CNI_CMD_ADD ? CONF_MAX : CACHE_MAX, &conf, &conf_len);
        if (r < 0)
                return runner_fail(j, r, "cannot read %s: %s", j->conf_name,
                                   r == -EFBIG ? "larger than 48 KiB" : strerror(-r));
        if (cni_exe < 0)
                return runner_fail(j, -ENOENT, "brig-cni is not installed");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return runner_fail(j, negative_errno(), "socketpair: %m");
        pid = cni_spawn(pair[1]);
        close(pair[1]);
        sock = pair[0];
        /* brig-cni only computes between messages: silence means it hangs. */
        setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_sec = BRIG_CNI_SILENCE_MAX},
                   sizeof(struct timeval));
        if (pid < 0)
                return runner_fail(j, negative_errno(), "cannot start brig-cni: %m");
        r = send_request(j, sock, conf, conf_len, j->cni != CNI_CMD_ADD, buf);
        if (r < 0)
                runner_fail(j, r, "cannot send brig-cni the request");
        while (r == 0 && (r = runner_step(j, sock, buf, &run)) == 1)
                r = 0;
        sock = safe_close(sock);
        if (waitpid(pid, &status, 0) == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
            r == 0)
                r = runner_fail(j, -EPROTO, "brig-cni ended with status %d", status);
        if (r == 0 && j->cni == CNI_CMD_DEL) {
                r = cache_remove(j->id);
                if (r < 0)
                        runner_fail(j, r, "cannot remove its CNI state: %s", strerror(-r));
        }
        return r;
}

/* ---- the handlers ------------------------------------------------------- */

static void job_free(struct net_job *j)
{
        for (struct net_job **p = &running; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        munmap(j, sizeof(*j));
}

static void net_done(void *data, int status)
{
        struct net_job *j = data;
        uint8_t buf[BRIG_HELPER_MAX_POD_IPS * (BRIG_HELPER_MAX_POD_IP + 8) +
                    BRIG_HELPER_MAX_FILE_NAME + 64];
        struct tlv_writer w;
        size_t len = 0;
        int r = 0;

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                r = j->error < 0 ? j->error : -EIO;
                if (!j->err[0])
                        snprintf(j->err, sizeof(j->err),
                                 "pod %s: the CNI runner ended with status %d", j->id, status);
                log_warn("CNI command failed", "pod=%s command=%s reason=\"%s\"", j->id,
                         cni_command_names[j->cni], j->err);
        } else {
                log_info("CNI command done", "pod=%s command=%s conf=%s ips=%zu", j->id,
                         cni_command_names[j->cni], j->conf_name, j->n_ips);
        }
        tlv_writer_init(&w, buf, sizeof(buf));
        if (r == 0 && j->cni == CNI_CMD_ADD) {
                for (size_t i = 0; i < j->n_ips; i++)
                        tlv_put_string(&w, BRIG_TAG_POD_IP, j->ips[i]);
                tlv_put_string(&w, BRIG_TAG_CNI_CONF_NAME, j->conf_name);
        }
        tlv_writer_finish(&w, &len);
        helper_conn_finish(j->conn, j->serial, j->command, j->request_id, r, r < 0 ? j->err : NULL,
                           buf, len, NULL, 0);
        job_free(j);
}

/* The optional K8S_* string tag, checked, into dst. */
static int copy_name(const struct brig_msg *msg, uint16_t tag, const char *what, char *dst,
                     size_t size, char *reason, size_t reason_size)
{
        const char *v = NULL;

        if (tlv_get_string(&msg->fields, tag, &v) < 0)
                return 0;
        int r = podcheck_k8s_name(what, v, reason, reason_size);
        if (r == 0)
                snprintf(dst, size, "%s", v);
        return r;
}

static int read_add_fields(const struct brig_msg *msg, struct net_job *j, char *reason,
                           size_t reason_size)
{
        const char *dns[3];
        const void *ports = NULL;
        int r;

        if (tlv_get_bytes(&msg->fields, BRIG_TAG_PORT_MAPPINGS, &ports, &j->ports_len) == 0) {
                r = podcheck_port_mappings(ports, j->ports_len, reason, reason_size);
                if (r < 0)
                        return r;
                memcpy(j->ports, ports, j->ports_len);
        }
        j->has_ingress = tlv_get_u64(&msg->fields, BRIG_TAG_INGRESS_RATE, &j->ingress) == 0;
        j->has_egress = tlv_get_u64(&msg->fields, BRIG_TAG_EGRESS_RATE, &j->egress) == 0;
        r = pods_dns_of(msg, dns, reason, reason_size);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dns); i++)
                if (dns[i])
                        snprintf(j->dns[i], sizeof(j->dns[i]), "%s", dns[i]);
        return r;
}

static int net_start(struct helper_conn *c, const struct brig_msg *msg, enum cni_command cni,
                     char *reason, size_t reason_size)
{
        const char *id = NULL;
        struct net_job *j;
        int r;

        r = pods_id_of(msg, &id, reason, reason_size);
        if (r < 0)
                return r;
        if (network_busy(id)) {
                snprintf(reason, reason_size, "%s: pod %s: another NET command is running for it",
                         msg->spec->name, id);
                return -EBUSY;
        }
        /* Nothing kept, nothing to undo: answered without a child. */
        if (cni == CNI_CMD_DEL && faccessat(cache_fd, id, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
            errno == ENOENT)
                return 0;
        j = mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (j == MAP_FAILED)
                return negative_errno();
        *j = (struct net_job){.conn = c,
                              .serial = c->serial,
                              .request_id = msg->hdr.request_id,
                              .command = msg->hdr.command,
                              .cni = cni};
        snprintf(j->id, sizeof(j->id), "%s", id);
        r = copy_name(msg, BRIG_TAG_K8S_NAMESPACE, "K8S_NAMESPACE", j->k8s_namespace,
                      sizeof(j->k8s_namespace), reason, reason_size);
        if (r == 0)
                r = copy_name(msg, BRIG_TAG_K8S_NAME, "K8S_NAME", j->k8s_name, sizeof(j->k8s_name),
                              reason, reason_size);
        if (r == 0)
                r = copy_name(msg, BRIG_TAG_K8S_UID, "K8S_UID", j->k8s_uid, sizeof(j->k8s_uid),
                              reason, reason_size);
        if (r == 0 && cni == CNI_CMD_ADD)
                r = read_add_fields(msg, j, reason, reason_size);
        /* A pod without its own pinned network namespace has nothing to
         * attach; a DEL after the pins are gone runs with no CNI_NETNS. */
        if (r == 0 && pods_ns_path(j->id, "net", j->netns, sizeof(j->netns)) < 0 &&
            cni != CNI_CMD_DEL) {
                j->netns[0] = '\0';
                snprintf(reason, reason_size,
                         "%s: pod %s has no network namespace of its own pinned", msg->spec->name,
                         j->id);
                r = -ENOENT;
        }
        if (r == 0 && cni == CNI_CMD_ADD &&
            faccessat(cache_fd, j->id, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                snprintf(reason, reason_size,
                         "NET_ADD: pod %s is attached already (NET_DEL it first)", j->id);
                r = -EEXIST;
        }
        if (r == 0) {
                r = job_spawn_fn("cni", runner, j, net_done, j);
                if (r < 0)
                        snprintf(reason, reason_size, "%s: pod %s: cannot start: %s",
                                 msg->spec->name, j->id, strerror(-r));
        }
        if (r < 0) {
                munmap(j, sizeof(*j));
                return r;
        }
        j->next = running;
        running = j;
        log_info("CNI command started", "conn=%s req=%" PRIu32 " pod=%s command=%s", c->label,
                 msg->hdr.request_id, j->id, cni_command_names[cni]);
        return HANDLER_DEFERRED;
}

int network_handle_add(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        (void)fds, (void)reply;
        return net_start(c, msg, CNI_CMD_ADD, reason, reason_size);
}

int network_handle_del(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        (void)fds, (void)reply;
        return net_start(c, msg, CNI_CMD_DEL, reason, reason_size);
}

int network_handle_check(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size)
{
        (void)fds, (void)reply;
        return net_start(c, msg, CNI_CMD_CHECK, reason, reason_size);
}

int network_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                          struct tlv_writer *reply, char *reason, size_t reason_size)
{
        char name[BRIG_HELPER_MAX_FILE_NAME], problem[BRIG_HELPER_MAX_ERROR_MESSAGE];
        int fd = conf_open(name, problem, sizeof(problem));

        (void)c, (void)msg, (void)fds, (void)reason, (void)reason_size;
        if (fd < 0)
                return tlv_put_string(reply, BRIG_TAG_CNI_PROBLEM, problem);
        close(fd);
        return tlv_put_string(reply, BRIG_TAG_CNI_CONF_NAME, name);
}
