/* config.h: brig's configuration, shared by brigd and its tools.
 *
 * The effective configuration is built in layers, each applied on top of the
 * previous one: built-in defaults, the main file (BRIG_DEFAULT_CONFIG_PATH
 * unless another is given), the drop-ins <main file>.d/NAME.conf in strcmp()
 * order, then command-line flags through config_set(). Files are TOML (the
 * subset of toml.h): top-level keys, and the [runtimes.NAME] tables, which
 * only files can set. Once every layer is applied, config_check() checks
 * what involves several keys.
 *
 * Nothing here logs. Functions that can fail on user input return a negative
 * errno and, through ret_err (which must not be NULL), a malloc'd message
 * for the caller to log, of the form "<file>:<line>: <problem>",
 * "<file>: <problem>" or "<flag>: <problem>". *ret_err is assigned only on
 * failure, and is NULL only when the error is -ENOMEM.
 */
#pragma once

#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BRIG_DEFAULT_CONFIG_PATH "/etc/brig/brig.conf"

enum cgroup_manager {
        CGROUP_MANAGER_CGROUPFS,
        CGROUP_MANAGER_SYSTEMD,
};

/* A list of strings owned by the configuration. */
struct config_strv {
        char **items;
        size_t n;
};

/* Most runtimes a configuration defines (built-in ones included). */
#define CONFIG_MAX_RUNTIMES 32
/* Longest runtime name: a DNS label, as a RuntimeClass handler is. */
#define CONFIG_RUNTIME_NAME_MAX 63

/* One [runtimes.NAME] table: an OCI runtime a pod can be run with, chosen by
 * the pod's CRI runtime_handler. */
struct config_runtime {
        char *name; /* 1 to 63 of [a-z0-9_-], starting with a letter */
        char *path; /* its executable; absolute path */
        char *root; /* its state directory (--root), absolute; "" for the
                     * default, see config_runtime_root() */
        char *type; /* "oci", the only type: runc's command line */
};

/* Every string is owned by the struct, non-NULL after config_init(), and
 * already validated; see config.c for each key's rules. */
struct brig_config {
        char *root;                         /* persistent state; absolute path */
        char *run_root;                     /* runtime state; absolute path */
        char *listen;                       /* CRI endpoint; "unix://" + absolute path */
        enum log_level log_level;           /* least severe level logged */
        char *user;                         /* unprivileged user brigd runs as */
        enum cgroup_manager cgroup_manager; /* who creates container cgroups */
        char *registries_conf;              /* containers-registries.conf(5) file */
        char *registries_conf_dir;          /* its drop-in directory */
        char *registry_certs_dir;           /* containers-certs.d(5) directory */
        unsigned max_concurrent_downloads;  /* layers of one pull fetched at once */
        struct config_strv pinned_images;   /* patterns of images GC must keep */
        char *cni_conf_dir;                 /* CNI network configuration directory */
        struct config_strv cni_plugin_dirs; /* CNI plugin directories, in order */
        unsigned cni_plugin_timeout;        /* seconds one plugin may run */
        char *pod_log_root;                 /* container logs live below it */
        char *default_runtime;              /* the runtime of the handler "" */
        char *stream_address;               /* the streaming server's IP address */
        unsigned stream_port;               /* its TCP port; 0: an ephemeral one */
        unsigned stream_idle_timeout;       /* seconds a stream may sit idle */
        /* Built-in runc and crun first (overridden in place), then the ones
         * files add, in the order they were added. Names are unique. The two
         * members stay adjacent: config.c swaps them as one value. */
        struct config_runtime *runtimes;
        size_t n_runtimes;
};

/* Sets every key to its built-in default. c need not be initialised.
 * Returns 0 or -ENOMEM; on failure c is left freed. */
int config_init(struct brig_config *c);

/* Releases what c owns. Idempotent, and safe on a zeroed struct. */
void config_free(struct brig_config *c);

/* Applies one TOML document (len bytes at buf; source names it in messages)
 * on top of c. All or nothing: on error c is unchanged. Returns 0, -EINVAL
 * (invalid document, unknown key, wrong type or invalid value) or -ENOMEM. */
int config_load_buffer(struct brig_config *c, const char *buf, size_t len, const char *source,
                       char **ret_err);

/* As config_load_buffer() on the contents of path. A missing path is not an
 * error unless must_exist; path must otherwise be a regular file (symlinks
 * are followed) of at most TOML_MAX_INPUT bytes. Returns 0, -EINVAL, -ENOMEM
 * or the negative errno of a failed open/read. */
int config_load_file(struct brig_config *c, const char *path, bool must_exist, char **ret_err);

/* As config_load_buffer() on what remains to be read from fd (which stays
 * the caller's), at most TOML_MAX_INPUT bytes. brigd reads the effective
 * configuration brig-helper hands it this way. */
int config_load_fd(struct brig_config *c, int fd, const char *source, char **ret_err);

/* Applies every dir/NAME.conf in strcmp() order, each with
 * config_load_file(). Names starting with '.' and names not ending in
 * ".conf" are ignored; a matching name that is not a regular file is an
 * error. A missing dir is not an error. Each file is applied atomically,
 * but on error the files before the failing one remain applied. */
int config_load_dropins(struct brig_config *c, const char *dir, char **ret_err);

/* config_init(), then main_path (which may be missing unless
 * main_must_exist, i.e. the user named it), then the drop-ins of
 * "<main_path>.d". On failure c is left freed. */
int config_load_defaults_and_files(struct brig_config *c, const char *main_path,
                                   bool main_must_exist, char **ret_err);

/* Sets key (a name as written in the file, e.g. "log_level") from a
 * command-line flag's value, with the same validation as a file. source
 * names the flag in messages, e.g. "--log-level". On error c is unchanged.
 * Returns 0, -EINVAL (unknown key, a table such as "runtimes", which only
 * files set, or invalid value) or -ENOMEM. */
int config_set(struct brig_config *c, const char *key, const char *value, const char *source,
               char **ret_err);

/* Checks what no single layer can, once every layer (files and flags) is
 * applied: that default_runtime names a runtime. Returns 0, -EINVAL with a
 * message without a source (e.g. `default_runtime "x" is not one of
 * [runtimes.*]: runc, crun`) or -ENOMEM. */
int config_check(const struct brig_config *c, char **ret_err);

/* The runtime of a CRI runtime handler: name "" means default_runtime.
 * NULL if c defines none of that name. */
const struct config_runtime *config_runtime_find(const struct brig_config *c, const char *name);

/* The state directory to give rt as --root: rt->root, or
 * "<run_root>/runtimes/<name>" when that is "", in a malloc'd string.
 * Returns 0 or -ENOMEM. */
int config_runtime_root(const struct brig_config *c, const struct config_runtime *rt, char **ret);

/* The names of c's runtimes, ", "-separated in order, for messages, in a
 * malloc'd string. Returns 0 or -ENOMEM. */
int config_runtime_names(const struct brig_config *c, char **ret);

/* Writes c as a commented TOML document that config_load_buffer() reads
 * back to an equal configuration. Returns 0, -EIO if writing f failed, or
 * -EINVAL if c holds a string that is not UTF-8 (which values set through
 * this API never are). */
int config_print(const struct brig_config *c, FILE *f);

/* config_print() into a malloc'd string. Returns 0, -ENOMEM, or -EINVAL as
 * config_print() does. */
int config_to_string(const struct brig_config *c, char **ret);
