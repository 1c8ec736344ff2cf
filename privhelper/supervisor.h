/* supervisor.h: brig-helper's main loop.
 *
 * It starts brigd (socketpair, fork, drop to the brig user, exec), serves
 * the helper protocol on brigd's channel and on the optional root-only
 * debug socket, restarts brigd with backoff when it dies, and on SIGTERM or
 * SIGINT stops brigd and cleans up what it made.
 */
#pragma once

#include <sys/types.h>

#include "config.h"

struct supervisor_options {
        const struct brig_config *config;
        const char *brigd_path;   /* absolute path of the brigd binary */
        const char *debug_socket; /* NULL: no debug socket */
        uid_t uid;                /* brigd's identity */
        gid_t gid;
};

/* brigd finds its helper channel and its configuration on these fds. */
#define BRIGD_HELPER_FD 3
#define BRIGD_CONFIG_FD 4

/* Runs until SIGTERM, SIGINT or SIGHUP. Returns 0 after a clean stop, or
 * -errno when it cannot start or poll() fails (brigd is then killed). */
int supervisor_run(const struct supervisor_options *opts);
