/* main.c: brigd's entry point: command line, configuration, the helper
 * channel, the gRPC server, the seccomp filter, and the signal wait that
 * ends in a graceful stop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brigd.h"
#include "cmdline.h"
#include "containers.h"
#include "ctr_events.h"
#include "cri.h"
#include "helper_client.h"
#include "stream_server.h"
#include "images.h"
#include "pods.h"
#include "registry.h"
#include "log.h"
#include "rpc_server.h"
#include "seccomp.h"
#include "util.h"

/* kubelet's own limit (../shared/spec/README.md); larger calls get
 * RESOURCE_EXHAUSTED from the core. */
#define MAX_MESSAGE_BYTES (16u << 20)
#define MIN_WORKERS       2
#define MAX_WORKERS       64
/* In-flight calls get this long after SIGTERM; the helper waits longer. */
#define STOP_GRACE_MS 10000

static void usage(FILE *f)
{
        fprintf(f, "Usage: brigd [OPTION]... [config]\n"
                   "brig's CRI daemon. It is started by brig-helper, which passes it the\n"
                   "helper channel and the configuration; started by hand it serves without\n"
                   "a helper (RuntimeReady stays false), for development only.\n\n"
                   "  config             print the effective configuration and exit\n"
                   "  --config PATH      configuration file, when not given --config-fd\n"
                   "  --KEY VALUE        any configuration key, as for brig-helper\n"
                   "  --helper-fd N      the helper channel (from brig-helper)\n"
                   "  --config-fd N      the effective configuration (from brig-helper)\n"
                   "  --debug-rpcs       also serve the test-only brig.debug.v1 service\n"
                   "  -h, --help         show this help\n"
                   "  -V, --version      show the version\n");
}

/* A descriptor number handed down by brig-helper: digits only, open. */
static int parse_fd(const char *s, int *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end || errno || v < 3 || v > 1024 ||
            fcntl((int)v, F_GETFD) < 0)
                return -EBADF;
        *ret = (int)v;
        return 0;
}

static int load_config(const struct cmdline *cl, struct brig_config *config, char **err)
{
        const char *fd_arg = cmdline_extra(cl, "config-fd");
        int fd, r;

        if (!fd_arg)
                return cmdline_load_config(cl, config, err);
        if (cl->config_path)
                return asprintf(err, "--config and --config-fd exclude each other") < 0 ? -ENOMEM
                                                                                        : -EINVAL;
        if (parse_fd(fd_arg, &fd) < 0)
                return asprintf(err, "--config-fd: '%s' is not an open descriptor", fd_arg) < 0
                           ? -ENOMEM
                           : -EBADF;
        r = config_init(config);
        if (r == 0)
                r = config_load_fd(config, fd, "brig-helper's configuration", err);
        if (r == 0)
                r = cmdline_apply_flags(cl, config, err);
        /* brig-helper checked its configuration, but a flag may have
         * changed default_runtime since. */
        if (r == 0)
                r = config_check(config, err);
        close(fd);
        return r;
}

static int merge_methods(bool debug_rpcs, struct rpc_method **ret, size_t *ret_n)
{
        size_t n = cri_n_methods + (debug_rpcs ? debug_n_methods : 0);
        struct rpc_method *m = calloc(n, sizeof(*m));

        if (!m)
                return -ENOMEM;
        memcpy(m, cri_methods, cri_n_methods * sizeof(*m));
        if (debug_rpcs)
                memcpy(m + cri_n_methods, debug_methods, debug_n_methods * sizeof(*m));
        *ret = m;
        *ret_n = n;
        return 0;
}

static int serve(struct brigd *d, bool debug_rpcs)
{
        _cleanup_free_ struct rpc_method *methods = NULL;
        struct rpc_server *srv = NULL;
        size_t n_methods;
        sigset_t mask;
        int sig, r;

        /* Before any thread exists, so grpc's threads inherit the mask and
         * only sigwait() below sees these signals. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = merge_methods(debug_rpcs, &methods, &n_methods);
        if (r < 0)
                return r;
        struct rpc_server_options opts = {
            .listen = d->config.listen,
            .max_message_bytes = MAX_MESSAGE_BYTES,
            .min_threads = MIN_WORKERS,
            .max_threads = MAX_WORKERS,
            .app = d,
        };
        r = rpc_server_start(&opts, methods, n_methods, &srv);
        if (r < 0)
                return r;
        /* After start-up: grpc has made its threads and opened its files,
         * and TSYNC puts every thread under the filter. */
        r = brigd_seccomp_install();
        if (r < 0) {
                rpc_server_stop(srv, 0);
                return r;
        }
        log_info("brigd ready", "uid=%u listen=%s", (unsigned)getuid(), d->config.listen);
        if (d->helper) {
                char reason[256];
                r = helper_client_ready(d->helper, reason, sizeof(reason));
                if (r < 0)
                        log_warn_errno(r, "cannot tell brig-helper that brigd is ready",
                                       "reason=\"%s\"", reason);
        }

        do {
                r = sigwait(&mask, &sig);
        } while (r == EINTR);
        log_info("stopping", "signal=%d grace_ms=%d", sig, STOP_GRACE_MS);
        rpc_server_stop(srv, STOP_GRACE_MS);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct cmdline_option options[] = {
            {"helper-fd", true},
            {"config-fd", true},
            {"debug-rpcs", false},
        };
        _cleanup_(cmdline_free) struct cmdline cl = {0};
        _cleanup_free_ char *err = NULL;
        struct brigd d = {0};
        const char *helper_fd;
        int fd, r;

        log_set_program("brigd");
        r = cmdline_parse_main("brigd", argc, argv, options, ARRAY_SIZE(options), usage, &cl);
        if (r >= 0)
                return r;
        r = load_config(&cl, &d.config, &err);
        if (r < 0) {
                fprintf(stderr, "brigd: %s\n", err ? err : strerror(-r));
                config_free(&d.config);
                return 1;
        }
        if (cl.command) {
                r = config_print(&d.config, stdout) < 0 || fflush(stdout) != 0;
                config_free(&d.config);
                return r;
        }
        log_set_level(d.config.log_level);
        /* brigd parses untrusted input: as root, a bug there would be root. */
        if (geteuid() == 0 || getegid() == 0) {
                log_error("brigd must not run as root; start brig-helper, which runs it as the "
                          "configured user",
                          "uid=%u gid=%u", (unsigned)geteuid(), (unsigned)getegid());
                config_free(&d.config);
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &d.started);
        /* libcurl's global set-up is not thread-safe: before any thread. */
        r = registry_global_init();
        if (r < 0) {
                log_error_errno(r, "cannot initialise libcurl", NULL);
                goto out;
        }

        helper_fd = cmdline_extra(&cl, "helper-fd");
        if (helper_fd) {
                if (parse_fd(helper_fd, &fd) < 0) {
                        log_error("--helper-fd is not an open descriptor", "value=\"%s\"",
                                  helper_fd);
                        r = -EBADF;
                        goto out;
                }
                r = helper_client_open(fd, &d.helper);
                if (r < 0)
                        goto out;
        } else {
                log_warn("running without brig-helper: no pod or container can be created", NULL);
        }
        {
                char err[1024] = "";
                r = images_open(&d.config, d.helper, &d.images, err, sizeof(err));
                if (r < 0) {
                        log_error_errno(r, "cannot open the image store", "reason=\"%s\"", err);
                        goto out;
                }
                r = pods_open(&d.config, d.helper, &d.pods, err, sizeof(err));
                if (r < 0) {
                        log_error_errno(r, "cannot open the pod records", "reason=\"%s\"", err);
                        goto out;
                }
                r = containers_open(&d.config, d.helper, d.pods, &d.containers, err, sizeof(err));
                if (r < 0) {
                        log_error_errno(r, "cannot open the container records", "reason=\"%s\"",
                                        err);
                        goto out;
                }
                pods_set_containers_hook(d.pods, containers_pod_hook, d.containers);
                r = ctr_events_new(&d.ctr_events);
                if (r < 0)
                        goto out;
                containers_set_events(d.containers, d.ctr_events);
                const struct stream_server_options so = {
                    .address = d.config.stream_address,
                    .port = d.config.stream_port,
                    .idle_timeout_s = d.config.stream_idle_timeout,
                };
                r = stream_server_start(&so, &d.streams, err, sizeof(err));
                if (r < 0) {
                        log_error_errno(r, "cannot start the streaming server", "reason=\"%s\"",
                                        err);
                        goto out;
                }
        }
        r = serve(&d, cmdline_extra(&cl, "debug-rpcs") != NULL);
out:
        stream_server_stop(d.streams);
        containers_close(d.containers);
        ctr_events_free(d.ctr_events);
        pods_close(d.pods);
        images_close(d.images);
        helper_client_free(d.helper);
        config_free(&d.config);
        log_info("brigd exiting", "status=%d", r < 0 ? 1 : 0);
        return r < 0 ? 1 : 0;
}
