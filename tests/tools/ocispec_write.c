/* ocispec_write.c: test tool for tests/integration/test_ocispec_runc.py.
 * Resolves a user against BUNDLE/rootfs (privhelper/userdb.h) and writes
 * BUNDLE/config.json (privhelper/ocispec.h) from command-line options, so
 * the test can hand the result to a real `runc run` and see runc accept it.
 * New PID, network, IPC and UTS namespaces stand in for a pod's pins.
 *
 *   ocispec_write --bundle DIR --cgroups-path P [--image-user U]
 *       [--run-as-user N] [--run-as-group N] [--group N]... [--env K=V]...
 *       [--cwd P] [--hostname H] [--cap CAP_X]... [--bind DEST:SRC:OPT,...]...
 *       [--pids-limit N] [--memory N] [--readonly] [--privileged] [--tty]
 *       [--allow-priv-esc] [--default-rlimits] -- ARGS...
 *
 * Unless --default-rlimits is given, RLIMIT_NOFILE is the tool's own hard
 * limit, as a caller without CAP_SYS_RESOURCE must clamp it: the runtime
 * cannot raise it past that (ocispec.h's default is 1048576).
 *
 * Exits 0, or 1 with the module's message on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "privhelper/ocispec.h"
#include "privhelper/userdb.h"
#include "util.h"

#define MAX_ITEMS 32

/* containerd's default capability set */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

struct bind {
        struct oci_mount m;
        const char *opts[MAX_ITEMS];
};

static int die(const char *what, const char *msg)
{
        fprintf(stderr, "ocispec_write: %s: %s\n", what, msg);
        return 1;
}

/* "DEST:SRC:opt,opt" into b (modifies s) */
static int parse_bind(char *s, struct bind *b)
{
        char *src = strchr(s, ':'), *opts, *save = NULL;

        if (!src || !(opts = strchr(src + 1, ':')))
                return -EINVAL;
        *src++ = '\0';
        *opts++ = '\0';
        b->m =
            (struct oci_mount){.destination = s, .type = "bind", .source = src, .options = b->opts};
        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                if (b->m.n_options == MAX_ITEMS)
                        return -E2BIG;
                b->opts[b->m.n_options++] = o;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"bundle", required_argument, NULL, 'b'},
            {"cgroups-path", required_argument, NULL, 'c'},
            {"image-user", required_argument, NULL, 'u'},
            {"run-as-user", required_argument, NULL, 'U'},
            {"run-as-group", required_argument, NULL, 'G'},
            {"group", required_argument, NULL, 'g'},
            {"env", required_argument, NULL, 'e'},
            {"cwd", required_argument, NULL, 'w'},
            {"hostname", required_argument, NULL, 'h'},
            {"cap", required_argument, NULL, 'C'},
            {"bind", required_argument, NULL, 'B'},
            {"pids-limit", required_argument, NULL, 'p'},
            {"memory", required_argument, NULL, 'm'},
            {"readonly", no_argument, NULL, 'r'},
            {"privileged", no_argument, NULL, 'P'},
            {"tty", no_argument, NULL, 't'},
            {"allow-priv-esc", no_argument, NULL, 'a'},
            {0},
        };
        const char *bundle = NULL, *env[MAX_ITEMS], *caps[MAX_ITEMS];
        uint64_t groups[MAX_ITEMS];
        static struct bind binds[MAX_ITEMS];
        struct oci_mount mounts[MAX_ITEMS];
        struct ctr_spec spec = {0};
        struct oci_config_input in = {.spec = &spec, .rootfs = "rootfs"};
        _cleanup_free_ char *json = NULL;
        _cleanup_close_ int rootfd = -1, fd = -1;
        struct resolved_user user;
        struct oci_rlimit nofile = {"RLIMIT_NOFILE", 0, 0};
        bool default_rlimits = false;
        struct rlimit rl;
        char err[512], path[4096];
        size_t len;
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                bool full = (c == 'e' && spec.n_env == MAX_ITEMS) ||
                            (c == 'C' && in.n_caps == MAX_ITEMS) ||
                            (c == 'g' && spec.n_supplemental_groups == MAX_ITEMS) ||
                            (c == 'B' && in.n_mounts == MAX_ITEMS);
                if (full)
                        return die(argv[optind - 1], "too many");
                switch (c) {
                case 'b':
                        bundle = optarg;
                        break;
                case 'c':
                        in.cgroups_path = optarg;
                        break;
                case 'u':
                        spec.image_user = optarg;
                        break;
                case 'U':
                        spec.run_as_user = (struct ctr_opt_u64){true, strtoull(optarg, NULL, 10)};
                        break;
                case 'G':
                        spec.run_as_group = (struct ctr_opt_u64){true, strtoull(optarg, NULL, 10)};
                        break;
                case 'g':
                        groups[spec.n_supplemental_groups++] = strtoull(optarg, NULL, 10);
                        break;
                case 'e':
                        env[spec.n_env++] = optarg;
                        break;
                case 'w':
                        spec.cwd = optarg;
                        break;
                case 'h':
                        in.hostname = optarg;
                        break;
                case 'C':
                        caps[in.n_caps++] = optarg;
                        break;
                case 'B':
                        if (parse_bind(optarg, &binds[in.n_mounts]) < 0)
                                return die("--bind", "want DEST:SRC:OPT,...");
                        mounts[in.n_mounts] = binds[in.n_mounts].m;
                        in.n_mounts++;
                        break;
                case 'p':
                        spec.pids_limit = (struct ctr_opt_i64){true, strtoll(optarg, NULL, 10)};
                        break;
                case 'm':
                        spec.memory_limit = (struct ctr_opt_i64){true, strtoll(optarg, NULL, 10)};
                        break;
                case 'r':
                        spec.flags |= CTR_F_READONLY_ROOTFS;
                        break;
                case 'P':
                        spec.flags |= CTR_F_PRIVILEGED;
                        break;
                case 't':
                        spec.flags |= CTR_F_TTY;
                        break;
                case 'a':
                        spec.flags |= CTR_F_ALLOW_PRIV_ESC;
                        break;
                default:
                        return die("usage", "see the comment at the top of ocispec_write.c");
                }
        }
        if (!bundle || !in.cgroups_path || optind == argc)
                return die("usage", "--bundle, --cgroups-path and a command are required");
        spec.args = (const char **)argv + optind;
        spec.n_args = (size_t)(argc - optind);
        spec.env = env;
        spec.supplemental_groups = groups;
        in.mounts = mounts;
        if (in.n_caps) {
                in.caps = caps;
        } else {
                in.caps = default_caps;
                in.n_caps = sizeof(default_caps) / sizeof(default_caps[0]);
        }
        if (!default_rlimits) {
                if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                        return die("getrlimit", strerror(errno));
                nofile.soft = nofile.hard = rl.rlim_max;
                in.rlimits = &nofile;
                in.n_rlimits = 1;
        }
        in.pid = in.net = in.ipc = in.uts = (struct oci_namespace){OCI_NS_NEW, NULL};

        snprintf(path, sizeof(path), "%s/rootfs", bundle);
        rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return die(path, strerror(errno));
        if (userdb_resolve(rootfd, &spec, &user, err, sizeof(err)) < 0)
                return die("user", err);
        in.user = (struct oci_process_user){user.uid, user.gid, user.additional_gids,
                                            user.n_additional_gids};
        int r = ocispec_write(&in, &json, &len, err, sizeof(err));
        userdb_user_free(&user);
        if (r < 0)
                return die("config", err);

        snprintf(path, sizeof(path), "%s/config.json", bundle);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, json, len) != (ssize_t)len)
                return die(path, strerror(errno));
        return 0;
}
