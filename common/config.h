/* config.h: brig's configuration, shared by brigd and its tools.
 *
 * The effective configuration is built in layers, each applied on top of the
 * previous one: built-in defaults, the main file (BRIG_DEFAULT_CONFIG_PATH
 * unless another is given), the drop-ins <main file>.d/NAME.conf in strcmp()
 * order, then command-line flags through config_set(). Files are TOML (the
 * subset of toml.h) with top-level keys only.
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
 * Returns 0, -EINVAL (unknown key or invalid value) or -ENOMEM. */
int config_set(struct brig_config *c, const char *key, const char *value, const char *source,
               char **ret_err);

/* Writes c as a commented TOML document that config_load_buffer() reads
 * back to an equal configuration. Returns 0, -EIO if writing f failed, or
 * -EINVAL if c holds a string that is not UTF-8 (which values set through
 * this API never are). */
int config_print(const struct brig_config *c, FILE *f);

/* config_print() into a malloc'd string. Returns 0, -ENOMEM, or -EINVAL as
 * config_print() does. */
int config_to_string(const struct brig_config *c, char **ret);
