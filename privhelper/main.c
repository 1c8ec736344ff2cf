/* main.c: brig-helper's entry point: command line, configuration, the
 * unprivileged user and directories, then the supervisor loop. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"
#include "dirs.h"
#include "log.h"
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
                "  --debug-socket PATH    for tests: a root-only socket speaking the helper\n"
                "                         protocol; brigd also serves its test-only RPCs\n"
                "  -h, --help             show this help\n"
                "  -V, --version          show the version\n"
                "Every configuration key is also a flag: --KEY VALUE or --KEY=VALUE.\n",
                BRIG_DEFAULT_CONFIG_PATH);
}

/* brigd is installed beside brig-helper, so find it from our own path. */
static int default_brigd_path(char **ret)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n < 0)
                return negative_errno();
        self[n] = '\0';
        return asprintf(ret, "%s/brigd", dirname(self)) < 0 ? -ENOMEM : 0;
}

static int run(const struct cmdline *cl, const struct brig_config *config)
{
        struct supervisor_options opts = {
            .config = config,
            .debug_socket = cmdline_extra(cl, "debug-socket"),
        };
        _cleanup_free_ char *brigd_path = NULL;
        const char *brigd = cmdline_extra(cl, "brigd");
        int r;

        if (geteuid() != 0)
                return log_error_errno(-EPERM, "brig-helper must run as root", "euid=%u",
                                       (unsigned)geteuid());
        if (!brigd) {
                r = default_brigd_path(&brigd_path);
                if (r < 0)
                        return log_error_errno(r, "cannot find brigd beside brig-helper", NULL);
                brigd = brigd_path;
        }
        if (brigd[0] != '/' || access(brigd, X_OK) < 0)
                return log_error_errno(brigd[0] != '/' ? -EINVAL : negative_errno(),
                                       "brigd is not an executable absolute path", "path=%s",
                                       brigd);
        opts.brigd_path = brigd;

        r = brig_user_ensure(config->user, &opts.uid, &opts.gid);
        if (r < 0)
                return r;
        r = dirs_prepare(config, opts.gid);
        if (r < 0)
                return r;
        log_info("brig-helper starting", "version=%s listen=%s user=%s", BRIG_VERSION,
                 config->listen, config->user);
        return supervisor_run(&opts);
}

int main(int argc, char **argv)
{
        static const struct cmdline_option options[] = {
            {"debug-socket", true},
            {"brigd", true},
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
