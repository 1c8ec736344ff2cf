/* main.c: brig-helper's entry point: command line, configuration, the
 * unprivileged user and directories, then the supervisor loop. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups.h"
#include "cmdline.h"
#include "config.h"
#include "containers.h"
#include "dirs.h"
#include "events.h"
#include "layers.h"
#include "monitors.h"
#include "network.h"
#include "log.h"
#include "pods.h"
#include "privdrop.h"
#include "supervisor.h"
#include "util.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: brig-helper [OPTION]... [config]\n"
                "The root side of brig, a Kubernetes CRI runtime: starts brigd without\n"
                "privileges and serves its requests.\n\n"
                "  config                 print the effective configuration and exit\n"
                "  --config PATH          main configuration file (default %s);\n"
                "                         its drop-ins are read from PATH.d/*.conf\n"
                "  --root DIR             persistent state directory\n"
                "  --run-root DIR         runtime state directory\n"
                "  --listen URL           CRI endpoint, unix:///absolute/path\n"
                "  --log-level LEVEL      error, warn, info or debug\n"
                "  --user NAME            unprivileged user brigd runs as\n"
                "  --cgroup-manager NAME  cgroupfs or systemd\n"
                "  --brigd PATH           brigd binary (default: beside brig-helper)\n"
                "  --unpack PATH          brig-unpack binary (default: beside brig-helper)\n"
                "  --cni PATH             brig-cni binary (default: beside brig-helper)\n"
                "  --monitor PATH         brig-monitor binary (default: beside brig-helper)\n"
                "  --debug-socket PATH    for tests: a root-only socket speaking the helper\n"
                "                         protocol; brigd also serves its test-only RPCs\n"
                "  -h, --help             show this help\n"
                "  -V, --version          show the version\n"
                "Every configuration key is also a flag: --KEY VALUE or --KEY=VALUE.\n",
                BRIG_DEFAULT_CONFIG_PATH);
}

/* brigd and brig-unpack are installed beside brig-helper, so find them
 * from our own path. */
static int beside_helper(const char *name, char **ret)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n < 0)
                return negative_errno();
        self[n] = '\0';
        return asprintf(ret, "%s/%s", dirname(self), name) < 0 ? -ENOMEM : 0;
}

/* The directories brigd must reach as its own user. */
static int check_brigd_paths(const struct brig_config *config, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *socket_dir = strdup(config->listen + strlen("unix://"));
        _cleanup_free_ char *images = NULL, *pods = NULL;

        if (!socket_dir || asprintf(&images, "%s/" DIRS_IMAGES, config->root) < 0 ||
            asprintf(&pods, "%s/" DIRS_PODS, config->root) < 0)
                return -ENOMEM;
        *strrchr(socket_dir, '/') = '\0';
        const char *const paths[] = {socket_dir, images, pods};
        return dirs_check_reachable(paths, ARRAY_SIZE(paths), uid, gid);
}

static int run(const struct cmdline *cl, const struct brig_config *config)
{
        struct supervisor_options opts = {
            .config = config,
            .debug_socket = cmdline_extra(cl, "debug-socket"),
        };
        _cleanup_free_ char *brigd_path = NULL, *unpack_path = NULL, *cni_path = NULL,
                            *monitor_path = NULL;
        const char *brigd = cmdline_extra(cl, "brigd");
        const char *unpack = cmdline_extra(cl, "unpack");
        const char *cni = cmdline_extra(cl, "cni");
        const char *monitor = cmdline_extra(cl, "monitor");
        int r;

        if (geteuid() != 0)
                return log_error_errno(-EPERM, "brig-helper must run as root", "euid=%u",
                                       (unsigned)geteuid());
        if (!brigd) {
                r = beside_helper("brigd", &brigd_path);
                if (r < 0)
                        return log_error_errno(r, "cannot find brigd beside brig-helper", NULL);
                brigd = brigd_path;
        }
        if (brigd[0] != '/' || access(brigd, X_OK) < 0)
                return log_error_errno(brigd[0] != '/' ? -EINVAL : negative_errno(),
                                       "brigd is not an executable absolute path", "path=%s",
                                       brigd);
        opts.brigd_path = brigd;
        if (!unpack) {
                r = beside_helper("brig-unpack", &unpack_path);
                if (r < 0)
                        return log_error_errno(r, "cannot find brig-unpack beside brig-helper",
                                               NULL);
                unpack = unpack_path;
        }
        if (!cni) {
                r = beside_helper("brig-cni", &cni_path);
                if (r < 0)
                        return log_error_errno(r, "cannot find brig-cni beside brig-helper", NULL);
                cni = cni_path;
        }
        if (!monitor) {
                r = beside_helper("brig-monitor", &monitor_path);
                if (r < 0)
                        return log_error_errno(r, "cannot find brig-monitor beside brig-helper",
                                               NULL);
                monitor = monitor_path;
        }

        /* sd_booted(3)'s test: the systemd driver needs systemd as init. */
        if (config->cgroup_manager == CGROUP_MANAGER_SYSTEMD &&
            access("/run/systemd/system", F_OK) < 0)
                return log_error_errno(-EOPNOTSUPP,
                                       "cgroup_manager is \"systemd\" but systemd is not this "
                                       "node's init (no /run/systemd/system); set cgroup_manager "
                                       "= \"cgroupfs\" here and kubelet's cgroupDriver to match",
                                       NULL);
        r = brig_user_ensure(config->user, &opts.uid, &opts.gid);
        if (r < 0)
                return r;
        r = dirs_prepare(config, opts.uid, opts.gid);
        if (r < 0)
                return r;
        r = check_brigd_paths(config, opts.uid, opts.gid);
        if (r < 0)
                return r;
        r = layers_init(config->root, unpack);
        if (r == 0)
                r = pods_init(config->run_root);
        if (r == 0)
                r = network_init(config, cni);
        if (r == 0)
                r = cgroups_init();
        if (r == 0)
                r = monitors_init(config->run_root, monitor);
        if (r == 0)
                r = containers_init(config);
        if (r == 0)
                monitors_reconnect_all();
        if (r < 0) {
                containers_free();
                monitors_free();
                cgroups_free();
                network_free();
                pods_free();
                layers_free();
                return r;
        }
        log_info("brig-helper starting", "version=%s listen=%s user=%s", BRIG_VERSION,
                 config->listen, config->user);
        r = supervisor_run(&opts);
        events_free();
        containers_free();
        monitors_free();
        cgroups_free();
        network_free();
        pods_free();
        layers_free();
        return r;
}

int main(int argc, char **argv)
{
        static const struct cmdline_option options[] = {
            {"debug-socket", true}, {"brigd", true},   {"unpack", true},
            {"cni", true},          {"monitor", true},
        };
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_(config_free) struct brig_config config = {0};
        _cleanup_free_ char *err = NULL;
        int r;

        log_set_program("brig-helper");
        r = cmdline_parse_main("brig-helper", argc, argv, options, ARRAY_SIZE(options), usage, &cl);
        if (r >= 0)
                return r;
        r = cmdline_load_config(&cl, &config, &err);
        if (r < 0) {
                fprintf(stderr, "brig-helper: %s\n", err ? err : strerror(-r));
                return 1;
        }
        if (cl.command)
                return config_print(&config, stdout) < 0 || fflush(stdout) != 0 ? 1 : 0;

        log_set_level(config.log_level);
        return run(&cl, &config) < 0 ? 1 : 0;
}
