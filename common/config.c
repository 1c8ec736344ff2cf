/* config.c: owns brig's configuration keys (their defaults, validation and
 * documentation) and how files, drop-in directories and flags are layered
 * onto struct brig_config. Every key is one row of config_keys[]; loading,
 * setting, printing and freeing all walk that table. */
#include "config.h"
#include "toml.h"
#include "util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_MAX_LEN        4095 /* PATH_MAX less the terminating NUL */
#define SOCKET_PATH_MAX_LEN 107  /* sizeof(sockaddr_un.sun_path) less the NUL */
#define USER_MAX_LEN        32
#define MAX_DOWNLOADS       16
#define MAX_PATTERNS        256
#define MAX_PATH_LIST       16
#define MAX_PLUGIN_TIMEOUT  600
#define UNIX_PREFIX         "unix://"
#define RUNTIME_TYPE_OCI    "oci"

struct config_key {
        const char *name;
        /* What the file must hold. parse() always receives text: a string as
         * it is, an integer in decimal, an array of strings joined by '\n'
         * (which no element may contain), which is also the form a flag
         * gives (where ',' separates elements too). A TOML_TABLE key has
         * init() and load() in place of parse(), and no flag. */
        enum toml_type type;
        const char *doc;           /* printed as # lines above the key */
        const char *default_value; /* handed to parse() by config_init() */
        size_t offset;             /* of the field in struct brig_config */
        size_t size;
        /* Validates text and stores it in the zeroed field. Returns 0, -ENOMEM,
         * or -EINVAL with *ret_why set to a static explanation for the user. */
        int (*parse)(void *field, const char *text, const char **ret_why);
        /* Writes the field as a TOML value that parse() accepts back; for a
         * TOML_TABLE key, whole [table] sections that load() accepts back. */
        int (*print)(FILE *f, const void *field);
        void (*release)(void *field); /* NULL if the field owns nothing */
        /* TOML_TABLE keys: init() stores the built-in default in the zeroed
         * field. load() fills the zeroed field from current (the value
         * before this file) and the file's table n, since a table amends
         * what earlier layers defined rather than replacing it; its
         * messages are as config_load_buffer() gives them. */
        int (*init)(void *field);
        int (*load)(void *field, const void *current, const struct toml_node *n, const char *source,
                    char **ret_err);
};

static const char *path_problem(const char *s)
{
        if (s[0] != '/')
                return "must be an absolute path";
        for (const char *c = s; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        return "must not contain control characters";
        if (strstr(s, "//"))
                return "must not contain \"//\"";
        for (const char *c = s + 1; *c;) {
                size_t n = strcspn(c, "/");
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return "must not contain \".\" or \"..\" components";
                c += n;
                if (*c == '/')
                        c++;
        }
        size_t len = strlen(s);
        if (len > 1 && s[len - 1] == '/')
                return "must not end with \"/\"";
        return NULL;
}

static int store_string(void *field, const char *text)
{
        char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        *(char **)field = copy;
        return 0;
}

static int parse_path(void *field, const char *text, const char **ret_why)
{
        if (strlen(text) > PATH_MAX_LEN) {
                *ret_why = "must be at most 4095 bytes long";
                return -EINVAL;
        }
        *ret_why = path_problem(text);
        if (*ret_why)
                return -EINVAL;
        return store_string(field, text);
}

static int parse_listen(void *field, const char *text, const char **ret_why)
{
        const size_t prefix = strlen(UNIX_PREFIX);

        if (strncmp(text, UNIX_PREFIX, prefix) != 0 || text[prefix] != '/') {
                *ret_why = "must be \"" UNIX_PREFIX "\" followed by an absolute path";
                return -EINVAL;
        }
        if (strlen(text + prefix) > SOCKET_PATH_MAX_LEN) {
                *ret_why = "socket path must be at most 107 bytes long";
                return -EINVAL;
        }
        *ret_why = path_problem(text + prefix);
        if (*ret_why)
                return -EINVAL;
        return store_string(field, text);
}

static int parse_user(void *field, const char *text, const char **ret_why)
{
        bool ok = (text[0] >= 'a' && text[0] <= 'z') || text[0] == '_';
        size_t len = 1;

        for (; ok && text[len]; len++)
                ok = (text[len] >= 'a' && text[len] <= 'z') ||
                     (text[len] >= '0' && text[len] <= '9') || text[len] == '_' || text[len] == '-';
        if (!ok || len > USER_MAX_LEN) {
                *ret_why = "must be a user name: a lowercase letter or '_', then up to 31 "
                           "lowercase letters, digits, '_' or '-'";
                return -EINVAL;
        }
        return store_string(field, text);
}

static int parse_log_level(void *field, const char *text, const char **ret_why)
{
        if (log_level_from_string(text, field) < 0) {
                *ret_why = "expected one of: error, warn, info, debug";
                return -EINVAL;
        }
        return 0;
}

static const char *const cgroup_manager_names[] = {
    [CGROUP_MANAGER_CGROUPFS] = "cgroupfs",
    [CGROUP_MANAGER_SYSTEMD] = "systemd",
};

static int parse_cgroup_manager(void *field, const char *text, const char **ret_why)
{
        for (size_t i = 0; i < ARRAY_SIZE(cgroup_manager_names); i++) {
                if (strcmp(text, cgroup_manager_names[i]) == 0) {
                        *(enum cgroup_manager *)field = (enum cgroup_manager)i;
                        return 0;
                }
        }
        *ret_why = "expected one of: cgroupfs, systemd";
        return -EINVAL;
}

static int parse_downloads(void *field, const char *text, const char **ret_why)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(text, &end, 10);
        if (text[0] < '0' || text[0] > '9' || *end || errno || v < 1 || v > MAX_DOWNLOADS) {
                *ret_why = "must be an integer from 1 to 16";
                return -EINVAL;
        }
        *(unsigned *)field = (unsigned)v;
        return 0;
}

static void release_strv(void *field)
{
        struct config_strv *v = field;

        for (size_t i = 0; i < v->n; i++)
                free(v->items[i]);
        free(v->items);
        *v = (struct config_strv){0};
}

/* A pinned-image pattern: exact, "prefix*" or "*keyword*", as CRI-O has
 * them; made of the characters an image reference can hold. */
static const char *pattern_problem(const char *p)
{
        size_t stars = 0, len = strlen(p);

        if (len == 0)
                return "must not contain empty patterns";
        if (len > 512)
                return "patterns must be at most 512 bytes long";
        for (size_t i = 0; i < len; i++) {
                char c = p[i];
                if (c == '*') {
                        stars++;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("._-/:@[]", c)))
                        return "patterns hold only the characters of an image reference and '*'";
        }
        if (stars == 0 || (stars == 1 && p[len - 1] == '*') ||
            (stars == 2 && len > 2 && p[0] == '*' && p[len - 1] == '*'))
                return NULL;
        return "'*' may only end a pattern (prefix*) or surround it (*keyword*)";
}

static const char *list_path_problem(const char *p)
{
        if (strlen(p) > PATH_MAX_LEN)
                return "paths must be at most 4095 bytes long";
        return path_problem(p);
}

/* Splits text at ',' and '\n' into at most max items, each passing
 * problem(), and stores them all or nothing. */
static int parse_list(void *field, const char *text, const char *(*problem)(const char *),
                      size_t max, const char *too_many, const char **ret_why)
{
        struct config_strv *v = field;
        _cleanup_(release_strv) struct config_strv staged = {0};

        for (const char *p = text; *p;) {
                size_t len = strcspn(p, ",\n");
                char **items;

                if (staged.n == max) {
                        *ret_why = too_many;
                        return -EINVAL;
                }
                items = realloc(staged.items, (staged.n + 1) * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                staged.items = items;
                staged.items[staged.n] = strndup(p, len);
                if (!staged.items[staged.n])
                        return -ENOMEM;
                staged.n++;
                *ret_why = problem(staged.items[staged.n - 1]);
                if (*ret_why)
                        return -EINVAL;
                p += len;
                if (*p)
                        p++;
        }
        *v = staged;
        staged = (struct config_strv){0};
        return 0;
}

static int parse_patterns(void *field, const char *text, const char **ret_why)
{
        return parse_list(field, text, pattern_problem, MAX_PATTERNS, "at most 256 patterns",
                          ret_why);
}

static int parse_paths(void *field, const char *text, const char **ret_why)
{
        return parse_list(field, text, list_path_problem, MAX_PATH_LIST, "at most 16 paths",
                          ret_why);
}

/* A whole number from lo to hi (what names the allowed range). */
static int parse_range(void *field, const char *text, unsigned long lo, unsigned long hi,
                       const char *what, const char **ret_why)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(text, &end, 10);
        if (text[0] < '0' || text[0] > '9' || *end || errno || v < lo || v > hi) {
                *ret_why = what;
                return -EINVAL;
        }
        *(unsigned *)field = (unsigned)v;
        return 0;
}

static int parse_plugin_timeout(void *field, const char *text, const char **ret_why)
{
        return parse_range(field, text, 1, MAX_PLUGIN_TIMEOUT,
                           "must be a number of seconds from 1 to 600", ret_why);
}

static int parse_stream_address(void *field, const char *text, const char **ret_why)
{
        struct in6_addr a6;
        struct in_addr a4;

        if (inet_pton(AF_INET, text, &a4) != 1 && inet_pton(AF_INET6, text, &a6) != 1) {
                *ret_why = "must be an IPv4 or IPv6 address, e.g. \"127.0.0.1\"";
                return -EINVAL;
        }
        return store_string(field, text);
}

static int parse_stream_port(void *field, const char *text, const char **ret_why)
{
        return parse_range(field, text, 0, 65535, "must be a TCP port from 0 to 65535", ret_why);
}

static int parse_idle_timeout(void *field, const char *text, const char **ret_why)
{
        return parse_range(field, text, 1, 7 * 24 * 3600,
                           "must be a number of seconds from 1 to 604800 (a week)", ret_why);
}

static int print_count(FILE *f, const void *field)
{
        return fprintf(f, "%u", *(const unsigned *)field) < 0 ? -EIO : 0;
}

static int print_strv(FILE *f, const void *field)
{
        const struct config_strv *v = field;

        fputc('[', f);
        for (size_t i = 0; i < v->n; i++) {
                if (i > 0)
                        fputs(", ", f);
                int r = toml_write_string(f, v->items[i]);
                if (r < 0)
                        return r;
        }
        fputc(']', f);
        return ferror(f) ? -EIO : 0;
}

static int print_string(FILE *f, const void *field)
{
        return toml_write_string(f, *(char *const *)field);
}

static int print_log_level(FILE *f, const void *field)
{
        return toml_write_string(f, log_level_to_string(*(const enum log_level *)field));
}

static int print_cgroup_manager(FILE *f, const void *field)
{
        return toml_write_string(f, cgroup_manager_names[*(const enum cgroup_manager *)field]);
}

static void release_string(void *field)
{
        free(*(char **)field);
        *(char **)field = NULL;
}

/* A runtime name is what a kubelet RuntimeClass names as its handler (a DNS
 * label) and also a directory name (<run_root>/runtimes/NAME) and a bare
 * TOML key, so it needs no quoting anywhere. */
static const char *runtime_name_problem(const char *s)
{
        size_t len = strlen(s);
        bool ok = len >= 1 && len <= CONFIG_RUNTIME_NAME_MAX && s[0] >= 'a' && s[0] <= 'z';

        for (size_t i = 1; ok && i < len; i++)
                ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
                     s[i] == '-';
        return ok ? NULL
                  : "must be a runtime name: a lowercase letter, then up to 62 lowercase "
                    "letters, digits, '_' or '-'";
}

static int parse_runtime_name(void *field, const char *text, const char **ret_why)
{
        *ret_why = runtime_name_problem(text);
        if (*ret_why)
                return -EINVAL;
        return store_string(field, text);
}

/* "" stands for <run_root>/runtimes/NAME, resolved by its user rather than
 * here so that a printed configuration keeps following run_root. */
static int parse_runtime_root(void *field, const char *text, const char **ret_why)
{
        if (!text[0])
                return store_string(field, text);
        return parse_path(field, text, ret_why);
}

static int parse_runtime_type(void *field, const char *text, const char **ret_why)
{
        if (strcmp(text, RUNTIME_TYPE_OCI) != 0) {
                *ret_why = "expected \"oci\", the only runtime type";
                return -EINVAL;
        }
        return store_string(field, text);
}

/* The keys of a [runtimes.NAME] table, all strings, in printing order. */
static const struct runtime_field {
        const char *name;
        size_t offset; /* of the char * in struct config_runtime */
        int (*parse)(void *field, const char *text, const char **ret_why);
} runtime_fields[] = {
    {"path", offsetof(struct config_runtime, path), parse_path},
    {"root", offsetof(struct config_runtime, root), parse_runtime_root},
    {"type", offsetof(struct config_runtime, type), parse_runtime_type},
};

/* What config_init() defines. Debian's runc and crun packages install
 * these paths. */
static const struct {
        const char *name;
        const char *path;
} builtin_runtimes[] = {
    {"runc", "/usr/sbin/runc"},
    {"crun", "/usr/bin/crun"},
};

static char **runtime_field_of(struct config_runtime *rt, const struct runtime_field *f)
{
        return (char **)((char *)rt + f->offset);
}

static const char *runtime_value_of(const struct config_runtime *rt, const struct runtime_field *f)
{
        return *(char *const *)((const char *)rt + f->offset);
}

/* The [runtimes] key's field spans runtimes and n_runtimes (see FIELDS()):
 * its hooks get a pointer to the first and reach the count through the
 * configuration that holds both. */
static struct brig_config *runtimes_owner(void *field)
{
        return (struct brig_config *)((char *)field - offsetof(struct brig_config, runtimes));
}

static const struct brig_config *const_runtimes_owner(const void *field)
{
        return (const struct brig_config *)((const char *)field -
                                            offsetof(struct brig_config, runtimes));
}

static void release_runtimes(void *field)
{
        struct brig_config *c = runtimes_owner(field);

        for (size_t i = 0; i < c->n_runtimes; i++) {
                free(c->runtimes[i].name);
                for (size_t j = 0; j < ARRAY_SIZE(runtime_fields); j++)
                        free(*runtime_field_of(&c->runtimes[i], &runtime_fields[j]));
        }
        free(c->runtimes);
        c->runtimes = NULL;
        c->n_runtimes = 0;
}

/* Appends a runtime with the default root and type and no path yet, which
 * the caller sets. What was allocated is counted even on failure, for
 * release_runtimes() to free. */
static int runtime_append(struct brig_config *c, const char *name, struct config_runtime **ret)
{
        struct config_runtime *items =
            reallocarray(c->runtimes, c->n_runtimes + 1, sizeof(*c->runtimes));
        struct config_runtime *rt;

        if (!items)
                return -ENOMEM;
        c->runtimes = items;
        rt = &items[c->n_runtimes++];
        *rt = (struct config_runtime){
            .name = strdup(name), .root = strdup(""), .type = strdup(RUNTIME_TYPE_OCI)};
        if (!rt->name || !rt->root || !rt->type)
                return -ENOMEM;
        *ret = rt;
        return 0;
}

/* Sets one field of rt, dropping its previous value. */
static int runtime_set(struct config_runtime *rt, const struct runtime_field *f, const char *value)
{
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        free(*runtime_field_of(rt, f));
        *runtime_field_of(rt, f) = copy;
        return 0;
}

static int init_runtimes(void *field)
{
        struct brig_config *c = runtimes_owner(field);

        for (size_t i = 0; i < ARRAY_SIZE(builtin_runtimes); i++) {
                struct config_runtime *rt;
                int r = runtime_append(c, builtin_runtimes[i].name, &rt);
                if (r == 0) /* runtime_fields[0] is path */
                        r = runtime_set(rt, &runtime_fields[0], builtin_runtimes[i].path);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int print_runtimes(FILE *f, const void *field)
{
        const struct brig_config *c = const_runtimes_owner(field);

        for (size_t i = 0; i < c->n_runtimes; i++) {
                /* A valid name is a bare key: it needs no quoting. */
                fprintf(f, "%s[runtimes.%s]\n", i > 0 ? "\n" : "", c->runtimes[i].name);
                for (size_t j = 0; j < ARRAY_SIZE(runtime_fields); j++) {
                        fprintf(f, "%s = ", runtime_fields[j].name);
                        int r = toml_write_string(
                            f, runtime_value_of(&c->runtimes[i], &runtime_fields[j]));
                        if (r < 0)
                                return r;
                        fputc('\n', f);
                }
        }
        return ferror(f) ? -EIO : 0;
}

#define FIELD(member)                                                                              \
        .offset = offsetof(struct brig_config, member),                                            \
        .size = sizeof(((struct brig_config *)NULL)->member)

/* A value held in adjacent members, first to last (an array and its
 * count), which commit() swaps as one. */
#define FIELDS(first, last)                                                                        \
        .offset = offsetof(struct brig_config, first),                                             \
        .size = offsetof(struct brig_config, last) + sizeof(((struct brig_config *)NULL)->last) -  \
                offsetof(struct brig_config, first)

/* Defined with the loading code, whose messages it shares. */
static int load_runtimes(void *field, const void *current, const struct toml_node *n,
                         const char *source, char **ret_err);

_Static_assert(offsetof(struct brig_config, n_runtimes) ==
                   offsetof(struct brig_config, runtimes) + sizeof(struct config_runtime *),
               "FIELDS(runtimes, n_runtimes) must not span another member");

static const struct config_key config_keys[] = {
    {
        .name = "root",
        .type = TOML_STRING,
        .doc = "Directory for persistent state: images, container metadata and bundles.\n"
               "An absolute path.",
        .default_value = "/var/lib/brig",
        FIELD(root),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "run_root",
        .type = TOML_STRING,
        .doc = "Directory for state that must not survive a reboot: sockets, PID files\n"
               "and mounts. An absolute path, normally on a tmpfs.",
        .default_value = "/run/brig",
        FIELD(run_root),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "listen",
        .type = TOML_STRING,
        .doc = "Endpoint of the CRI gRPC service, given to the kubelet as\n"
               "--container-runtime-endpoint: \"unix://\" followed by an absolute\n"
               "socket path of at most 107 bytes.",
        .default_value = "unix:///run/brig/brig.sock",
        FIELD(listen),
        .parse = parse_listen,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "log_level",
        .type = TOML_STRING,
        .doc = "Least severe messages that are logged: error, warn, info or debug.",
        .default_value = "info",
        FIELD(log_level),
        .parse = parse_log_level,
        .print = print_log_level,
    },
    {
        .name = "user",
        .type = TOML_STRING,
        .doc = "Unprivileged user brigd runs as: a lowercase letter or '_', then up to\n"
               "31 lowercase letters, digits, '_' or '-'.",
        .default_value = "brig",
        FIELD(user),
        .parse = parse_user,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "cgroup_manager",
        .type = TOML_STRING,
        .doc = "Who creates container cgroups: \"cgroupfs\" writes /sys/fs/cgroup\n"
               "directly, \"systemd\" asks systemd for transient units. Must match the\n"
               "kubelet's cgroupDriver.",
        .default_value = "cgroupfs",
        FIELD(cgroup_manager),
        .parse = parse_cgroup_manager,
        .print = print_cgroup_manager,
    },
    {
        .name = "registries_conf",
        .type = TOML_STRING,
        .doc = "Registry configuration in the containers-registries.conf(5) version 2\n"
               "format (mirrors, insecure and blocked registries, short names). A\n"
               "missing file means no such configuration.",
        .default_value = "/etc/containers/registries.conf",
        FIELD(registries_conf),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "registries_conf_dir",
        .type = TOML_STRING,
        .doc = "Drop-ins read after registries_conf, every *.conf in name order.",
        .default_value = "/etc/containers/registries.conf.d",
        FIELD(registries_conf_dir),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "registry_certs_dir",
        .type = TOML_STRING,
        .doc = "Per-registry TLS files as containers-certs.d(5) has them:\n"
               "<dir>/<host[:port]>/*.crt are extra CAs, *.cert with *.key a client\n"
               "certificate. The system CAs are always trusted too.",
        .default_value = "/etc/containers/certs.d",
        FIELD(registry_certs_dir),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "max_concurrent_downloads",
        .type = TOML_INTEGER,
        .doc = "Layers of one image downloaded at once, 1 to 16.",
        .default_value = "3",
        FIELD(max_concurrent_downloads),
        .parse = parse_downloads,
        .print = print_count,
    },
    {
        .name = "pinned_images",
        .type = TOML_ARRAY,
        .doc = "Images the kubelet's image garbage collection must keep (CRI pinned).\n"
               "Patterns match the image's tags and digests: exact, \"prefix*\" or\n"
               "\"*keyword*\". As a flag: comma-separated.",
        .default_value = "",
        FIELD(pinned_images),
        .parse = parse_patterns,
        .print = print_strv,
        .release = release_strv,
    },
    {
        .name = "cni_conf_dir",
        .type = TOML_STRING,
        .doc = "CNI network configuration directory: the first *.conflist, *.conf or\n"
               "*.json in name order is the pods' network. It and the file must be\n"
               "root's and writable by root alone.",
        .default_value = "/etc/cni/net.d",
        FIELD(cni_conf_dir),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "cni_plugin_dirs",
        .type = TOML_ARRAY,
        .doc = "Directories searched, in order, for CNI plugin binaries (CNI_PATH).\n"
               "Each, and each plugin run, must be root's and writable by root alone.",
        .default_value = "/opt/cni/bin\n/usr/lib/cni",
        FIELD(cni_plugin_dirs),
        .parse = parse_paths,
        .print = print_strv,
        .release = release_strv,
    },
    {
        .name = "cni_plugin_timeout",
        .type = TOML_INTEGER,
        .doc = "Seconds one CNI plugin may run before it is killed and its command\n"
               "fails, 1 to 600.",
        .default_value = "60",
        FIELD(cni_plugin_timeout),
        .parse = parse_plugin_timeout,
        .print = print_count,
    },
    {
        .name = "pod_log_root",
        .type = TOML_STRING,
        .doc = "Where the kubelet keeps container logs (its pods' log_directory is\n"
               "below it). brig-helper opens every container log below this directory\n"
               "and refuses a log directory anywhere else.",
        .default_value = "/var/log/pods",
        FIELD(pod_log_root),
        .parse = parse_path,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "stream_address",
        .type = TOML_STRING,
        .doc = "IP address of the streaming server kubelet sends exec, attach and\n"
               "port-forward sessions to (the URLs Exec, Attach and PortForward answer).",
        .default_value = "127.0.0.1",
        FIELD(stream_address),
        .parse = parse_stream_address,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "stream_port",
        .type = TOML_INTEGER,
        .doc = "TCP port of the streaming server; 0 picks a free one at each start\n"
               "(logged, and shown in Status' verbose info).",
        .default_value = "0",
        FIELD(stream_port),
        .parse = parse_stream_port,
        .print = print_count,
    },
    {
        .name = "stream_idle_timeout",
        .type = TOML_INTEGER,
        .doc = "Seconds a streaming session may pass no data before it is closed.",
        .default_value = "14400",
        FIELD(stream_idle_timeout),
        .parse = parse_idle_timeout,
        .print = print_count,
    },
    {
        .name = "default_runtime",
        .type = TOML_STRING,
        .doc = "Runtime of the pods whose runtime handler is \"\" (those without a\n"
               "RuntimeClass): the name of one of the [runtimes.NAME] tables.",
        .default_value = "runc",
        FIELD(default_runtime),
        .parse = parse_runtime_name,
        .print = print_string,
        .release = release_string,
    },
    {
        .name = "runtimes",
        .type = TOML_TABLE,
        .doc = "OCI runtimes, one [runtimes.NAME] table each: a pod whose runtime\n"
               "handler (its RuntimeClass's handler) is NAME runs its containers with\n"
               "it. NAME: a lowercase letter, then up to 62 lowercase letters, digits,\n"
               "'_' or '-'. path: the executable, an absolute path. root: its state\n"
               "directory (--root), an absolute path, or \"\" for\n"
               "<run_root>/runtimes/NAME. type: \"oci\" (runc's command line), the only\n"
               "type. runc and crun are built in. A file's table changes the keys it\n"
               "sets of a runtime defined before, or adds a runtime, which needs a path.",
        FIELDS(runtimes, n_runtimes),
        .print = print_runtimes,
        .release = release_runtimes,
        .init = init_runtimes,
        .load = load_runtimes,
    },
};

static void *field_of(struct brig_config *c, const struct config_key *k)
{
        return (char *)c + k->offset;
}

static const void *const_field_of(const struct brig_config *c, const struct config_key *k)
{
        return (const char *)c + k->offset;
}

static const struct config_key *find_key(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
                if (strcmp(config_keys[i].name, name) == 0)
                        return &config_keys[i];
        return NULL;
}

static int fail(char **ret_err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets *ret_err to the formatted message and returns r (or -ENOMEM). */
static int fail(char **ret_err, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        int n = vasprintf(ret_err, fmt, ap);
        va_end(ap);
        if (n < 0) {
                *ret_err = NULL;
                return -ENOMEM;
        }
        return r;
}

static int oom(char **ret_err)
{
        *ret_err = NULL;
        return -ENOMEM;
}

void config_free(struct brig_config *c)
{
        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
                if (config_keys[i].release)
                        config_keys[i].release(field_of(c, &config_keys[i]));
}

int config_init(struct brig_config *c)
{
        *c = (struct brig_config){};
        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
                const struct config_key *k = &config_keys[i];
                const char *why;
                int r = k->type == TOML_TABLE ? k->init(field_of(c, k))
                                              : k->parse(field_of(c, k), k->default_value, &why);
                if (r < 0) {
                        config_free(c);
                        return r;
                }
        }
        return 0;
}

/* Moves the keys marked in set from staged into c, leaving c's previous
 * values in staged for the caller to free. Cannot fail, which is what makes
 * loading all or nothing. */
static void commit(struct brig_config *c, struct brig_config *staged, const bool *set)
{
        unsigned char tmp[sizeof(struct brig_config)];

        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
                if (!set[i])
                        continue;
                void *a = field_of(c, &config_keys[i]);
                void *b = field_of(staged, &config_keys[i]);
                memcpy(tmp, a, config_keys[i].size);
                memcpy(a, b, config_keys[i].size);
                memcpy(b, tmp, config_keys[i].size);
        }
}

/* The message for a value text that breaks the rule why. where starts it:
 * the file, line and key, or the flag. */
static int invalid_value(const char *where, const char *text, const char *why, char **ret_err)
{
        _cleanup_free_ char *quoted = NULL;
        size_t size = 0;
        int r;

        FILE *f = open_memstream(&quoted, &size);
        if (!f)
                return oom(ret_err);
        r = toml_write_string(f, text);
        if (fclose(f) != 0 || r < 0)
                return oom(ret_err);
        return fail(ret_err, -EINVAL, "%s: invalid value %s (%s)", where, quoted, why);
}

/* Parses text for key k into staged. where starts the message: the file,
 * line and key, or the flag. */
static int parse_into(struct brig_config *staged, const struct config_key *k, const char *text,
                      const char *where, char **ret_err)
{
        const char *why = NULL;

        int r = k->parse(field_of(staged, k), text, &why);
        if (r == -EINVAL)
                return invalid_value(where, text, why, ret_err);
        return r < 0 ? oom(ret_err) : 0;
}

/* "<source>:<line>: key '<path>'", how messages about node n start. */
static int node_where(const struct toml_node *n, const char *source, char **ret, char **ret_err)
{
        _cleanup_free_ char *path = NULL;

        if (toml_path(n, &path) < 0)
                return oom(ret_err);
        if (asprintf(ret, "%s:%u: key '%s'", source, n->line, path) < 0) {
                *ret = NULL;
                return oom(ret_err);
        }
        return 0;
}

/* Applies one [runtimes.NAME] table n to the runtimes of c. */
static int load_runtime(struct brig_config *c, const struct toml_node *n, const char *source,
                        char **ret_err)
{
        _cleanup_free_ char *where = NULL;
        struct config_runtime *rt = NULL;
        const char *why;

        int r = node_where(n, source, &where, ret_err);
        if (r < 0)
                return r;
        if (n->type != TOML_TABLE)
                return fail(ret_err, -EINVAL, "%s: expected table, got %s", where,
                            toml_type_to_string(n->type));
        why = runtime_name_problem(n->key);
        if (why)
                return fail(ret_err, -EINVAL, "%s: invalid runtime name (%s)", where, why);
        for (size_t i = 0; i < c->n_runtimes && !rt; i++)
                if (strcmp(c->runtimes[i].name, n->key) == 0)
                        rt = &c->runtimes[i];
        if (!rt) {
                /* root and type have defaults; the executable has none. */
                if (!toml_get(n, "path"))
                        return fail(ret_err, -EINVAL,
                                    "%s: a runtime that is not defined yet needs a path", where);
                if (c->n_runtimes == CONFIG_MAX_RUNTIMES)
                        return fail(ret_err, -EINVAL, "%s: at most %d runtimes can be defined",
                                    where, CONFIG_MAX_RUNTIMES);
                if (runtime_append(c, n->key, &rt) < 0)
                        return oom(ret_err);
        }
        for (size_t i = 0; i < n->n_items; i++) {
                const struct toml_node *item = n->items[i];
                const struct runtime_field *f = NULL;
                _cleanup_free_ char *item_where = NULL;
                _cleanup_free_ char *value = NULL;

                r = node_where(item, source, &item_where, ret_err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < ARRAY_SIZE(runtime_fields) && !f; j++)
                        if (strcmp(runtime_fields[j].name, item->key) == 0)
                                f = &runtime_fields[j];
                if (!f) {
                        /* the same wording as an unknown top-level key */
                        _cleanup_free_ char *path = NULL;
                        if (toml_path(item, &path) < 0)
                                return oom(ret_err);
                        return fail(ret_err, -EINVAL, "%s:%u: unknown key '%s'", source, item->line,
                                    path);
                }
                if (item->type != TOML_STRING)
                        return fail(ret_err, -EINVAL, "%s: expected string, got %s", item_where,
                                    toml_type_to_string(item->type));
                r = f->parse(&value, item->string, &why);
                if (r == -EINVAL)
                        return invalid_value(item_where, item->string, why, ret_err);
                if (r < 0)
                        return oom(ret_err);
                free(*runtime_field_of(rt, f));
                *runtime_field_of(rt, f) = TAKE_PTR(value);
        }
        return 0;
}

/* The runtimes defined so far (current), amended by the file's [runtimes]
 * table: the staged copy is all the caller keeps or drops. */
static int load_runtimes(void *field, const void *current, const struct toml_node *n,
                         const char *source, char **ret_err)
{
        struct brig_config *staged = runtimes_owner(field);
        const struct brig_config *c = const_runtimes_owner(current);

        for (size_t i = 0; i < c->n_runtimes; i++) {
                struct config_runtime *rt;
                int r = runtime_append(staged, c->runtimes[i].name, &rt);
                for (size_t j = 0; j < ARRAY_SIZE(runtime_fields) && r == 0; j++)
                        r = runtime_set(rt, &runtime_fields[j],
                                        runtime_value_of(&c->runtimes[i], &runtime_fields[j]));
                if (r < 0)
                        return oom(ret_err);
        }
        for (size_t i = 0; i < n->n_items; i++) {
                int r = load_runtime(staged, n->items[i], source, ret_err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The text parse() gets for a node (see struct config_key). */
static int node_text(const struct toml_node *n, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        switch (n->type) {
        case TOML_STRING:
                *ret = strdup(n->string);
                return *ret ? 0 : -ENOMEM;
        case TOML_INTEGER:
                return asprintf(ret, "%lld", (long long)n->integer) < 0 ? -ENOMEM : 0;
        case TOML_ARRAY:
                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < n->n_items; i++) {
                        const struct toml_node *e = n->items[i];
                        if (e->type != TOML_STRING || !e->string[0] || strchr(e->string, '\n')) {
                                fclose(f);
                                return -EINVAL;
                        }
                        fprintf(f, "%s%s", i ? "\n" : "", e->string);
                }
                if (fclose(f) != 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(buf);
                return 0;
        default:
                return -EINVAL;
        }
}

int config_load_buffer(struct brig_config *c, const char *buf, size_t len, const char *source,
                       char **ret_err)
{
        _cleanup_toml_ struct toml_node *root = NULL;
        _cleanup_(config_free) struct brig_config staged = {};
        bool set[ARRAY_SIZE(config_keys)] = {};

        int r = toml_parse(buf, len, source, &root, ret_err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < root->n_items; i++) {
                const struct toml_node *n = root->items[i];
                _cleanup_free_ char *path = NULL;
                _cleanup_free_ char *where = NULL;

                if (toml_path(n, &path) < 0)
                        return oom(ret_err);
                const struct config_key *k = find_key(n->key);
                if (!k)
                        return fail(ret_err, -EINVAL, "%s:%u: unknown key '%s'", source, n->line,
                                    path);
                if (n->type != k->type)
                        return fail(ret_err, -EINVAL, "%s:%u: key '%s': expected %s, got %s",
                                    source, n->line, path, toml_type_to_string(k->type),
                                    toml_type_to_string(n->type));
                if (k->type == TOML_TABLE) {
                        r = k->load(field_of(&staged, k), const_field_of(c, k), n, source, ret_err);
                        if (r < 0)
                                return r;
                        set[k - config_keys] = true;
                        continue;
                }
                if (asprintf(&where, "%s:%u: key '%s'", source, n->line, path) < 0) {
                        where = NULL;
                        return oom(ret_err);
                }
                _cleanup_free_ char *text = NULL;
                r = node_text(n, &text);
                if (r == -EINVAL)
                        return fail(ret_err, -EINVAL,
                                    "%s: expected an array of non-empty strings without newlines",
                                    where);
                if (r < 0)
                        return oom(ret_err);
                r = parse_into(&staged, k, text, where, ret_err);
                if (r < 0)
                        return r;
                set[k - config_keys] = true;
        }
        commit(c, &staged, set);
        return 0;
}

/* Reads all of fd, refusing more than TOML_MAX_INPUT bytes. */
static int read_all(int fd, const char *path, char **ret, size_t *ret_len, char **ret_err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                if (len == cap) {
                        if (cap == TOML_MAX_INPUT + 1)
                                return fail(ret_err, -EINVAL, "%s: file is larger than %d bytes",
                                            path, TOML_MAX_INPUT);
                        size_t ncap = cap ? cap * 2 : 4096;
                        if (ncap > TOML_MAX_INPUT + 1)
                                ncap = TOML_MAX_INPUT + 1;
                        char *b = realloc(buf, ncap);
                        if (!b)
                                return oom(ret_err);
                        buf = b;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = negative_errno();
                        return fail(ret_err, r, "%s: cannot read: %s", path, strerror(-r));
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int config_load_file(struct brig_config *c, const char *path, bool must_exist, char **ret_err)
{
        struct stat st;

        /* O_NONBLOCK so that a FIFO in place of the file cannot hang us
         * before fstat() rejects it. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int r = negative_errno();
                if (r == -ENOENT && !must_exist)
                        return 0;
                return fail(ret_err, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                int r = negative_errno();
                return fail(ret_err, r, "%s: cannot stat: %s", path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return fail(ret_err, -EINVAL, "%s: not a regular file", path);
        return config_load_fd(c, fd, path, ret_err);
}

int config_load_fd(struct brig_config *c, int fd, const char *source, char **ret_err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        int r = read_all(fd, source, &buf, &len, ret_err);
        if (r < 0)
                return r;
        return config_load_buffer(c, buf, len, source, ret_err);
}

struct name_list {
        char **names;
        size_t n;
        size_t cap;
};

static void name_list_free(struct name_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
}

static int name_list_add(struct name_list *l, const char *name)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                char **names = reallocarray(l->names, cap, sizeof(*names));
                if (!names)
                        return -ENOMEM;
                l->names = names;
                l->cap = cap;
        }
        l->names[l->n] = strdup(name);
        if (!l->names[l->n])
                return -ENOMEM;
        l->n++;
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *name)
{
        size_t len = strlen(name);
        return name[0] != '.' && len > strlen(".conf") &&
               strcmp(name + len - strlen(".conf"), ".conf") == 0;
}

int config_load_dropins(struct brig_config *c, const char *dir, char **ret_err)
{
        _cleanup_(name_list_free) struct name_list list = {};
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        if (!d) {
                int r = negative_errno();
                if (r == -ENOENT)
                        return 0;
                return fail(ret_err, r, "%s: cannot open directory: %s", dir, strerror(-r));
        }
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (is_dropin_name(de->d_name) && name_list_add(&list, de->d_name) < 0)
                        return oom(ret_err);
        }
        if (errno != 0) {
                int r = negative_errno();
                return fail(ret_err, r, "%s: cannot read directory: %s", dir, strerror(-r));
        }
        if (list.n > 0)
                qsort(list.names, list.n, sizeof(*list.names), compare_names);

        for (size_t i = 0; i < list.n; i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", dir, list.names[i]) < 0) {
                        path = NULL;
                        return oom(ret_err);
                }
                int r = config_load_file(c, path, true, ret_err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_load_defaults_and_files(struct brig_config *c, const char *main_path,
                                   bool main_must_exist, char **ret_err)
{
        _cleanup_free_ char *dropin_dir = NULL;

        int r = config_init(c);
        if (r < 0)
                return oom(ret_err);
        r = config_load_file(c, main_path, main_must_exist, ret_err);
        if (r < 0)
                goto out;
        if (asprintf(&dropin_dir, "%s.d", main_path) < 0) {
                dropin_dir = NULL;
                r = oom(ret_err);
                goto out;
        }
        r = config_load_dropins(c, dropin_dir, ret_err);
out:
        if (r < 0)
                config_free(c);
        return r;
}

int config_set(struct brig_config *c, const char *key, const char *value, const char *source,
               char **ret_err)
{
        _cleanup_(config_free) struct brig_config staged = {};
        bool set[ARRAY_SIZE(config_keys)] = {};

        const struct config_key *k = find_key(key);
        if (!k)
                return fail(ret_err, -EINVAL, "%s: unknown key '%s'", source, key);
        if (k->type == TOML_TABLE)
                return fail(ret_err, -EINVAL,
                            "%s: key '%s' is a table, which only a configuration file can set",
                            source, key);
        /* A file can only hold UTF-8; refusing it here keeps config_print()
         * output loadable. */
        if (!toml_utf8_valid(value, strlen(value)))
                return fail(ret_err, -EINVAL, "%s: invalid value (not valid UTF-8)", source);
        int r = parse_into(&staged, k, value, source, ret_err);
        if (r < 0)
                return r;
        set[k - config_keys] = true;
        commit(c, &staged, set);
        return 0;
}

int config_check(const struct brig_config *c, char **ret_err)
{
        _cleanup_free_ char *names = NULL;

        if (config_runtime_find(c, c->default_runtime))
                return 0;
        if (config_runtime_names(c, &names) < 0)
                return oom(ret_err);
        return fail(ret_err, -EINVAL, "default_runtime \"%s\" is not one of [runtimes.*]: %s",
                    c->default_runtime, names);
}

const struct config_runtime *config_runtime_find(const struct brig_config *c, const char *name)
{
        if (!name[0])
                name = c->default_runtime;
        for (size_t i = 0; i < c->n_runtimes; i++)
                if (strcmp(c->runtimes[i].name, name) == 0)
                        return &c->runtimes[i];
        return NULL;
}

int config_runtime_root(const struct brig_config *c, const struct config_runtime *rt, char **ret)
{
        if (rt->root[0]) {
                *ret = strdup(rt->root);
                return *ret ? 0 : -ENOMEM;
        }
        /* run_root "/" must not give "//runtimes" */
        if (asprintf(ret, "%s/runtimes/%s", strcmp(c->run_root, "/") == 0 ? "" : c->run_root,
                     rt->name) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int config_runtime_names(const struct brig_config *c, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_runtimes; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", c->runtimes[i].name);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void print_doc(FILE *f, const char *doc)
{
        for (const char *line = doc; *line;) {
                size_t n = strcspn(line, "\n");
                fprintf(f, "# %.*s\n", (int)n, line);
                line += n;
                if (*line == '\n')
                        line++;
        }
}

int config_print(const struct brig_config *c, FILE *f)
{
        fputs("# brig configuration: the effective values after built-in defaults, the\n"
              "# configuration file (" BRIG_DEFAULT_CONFIG_PATH " unless another was given),\n"
              "# its drop-in directory and command-line flags.\n",
              f);
        /* Plain keys first: in TOML, every key after a [table] header
         * belongs to that table. */
        for (int tables = 0; tables <= 1; tables++) {
                for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
                        const struct config_key *k = &config_keys[i];

                        if ((k->type == TOML_TABLE) != tables)
                                continue;
                        fputc('\n', f);
                        print_doc(f, k->doc);
                        if (!tables)
                                fprintf(f, "%s = ", k->name);
                        int r = k->print(f, const_field_of(c, k));
                        if (r < 0)
                                return r;
                        if (!tables)
                                fputc('\n', f);
                }
        }
        return ferror(f) ? -EIO : 0;
}

int config_to_string(const struct brig_config *c, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        int r = config_print(c, f);
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}
