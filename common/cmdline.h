/* cmdline.h: the command line shared by brig-helper and brigd.
 *
 * Every configuration key is also a flag: --run-root DIR sets run_root
 * (dashes become underscores), as does --run-root=DIR. --config PATH names
 * the main file; flags override the files. Each program may accept a few
 * options of its own (described by the caller) and one positional command.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define CMDLINE_MAX_SETS  32
#define CMDLINE_MAX_EXTRA 8

struct cmdline_set {
        const char *flag; /* as typed, for error messages */
        char *key;
        const char *value;
};

/* A program's own option: --name VALUE, --name=VALUE, or a bare --name
 * when it takes no value. */
struct cmdline_option {
        const char *name; /* without the leading dashes */
        bool takes_value;
};

struct cmdline_extra {
        char *name;
        const char *value; /* "" for an option that takes no value */
};

struct cmdline {
        const char *config_path; /* NULL: BRIG_DEFAULT_CONFIG_PATH, may be absent */
        const char *command;     /* first positional argument, or NULL */
        bool help, version;
        size_t n_sets;
        struct cmdline_set sets[CMDLINE_MAX_SETS];
        size_t n_extra;
        struct cmdline_extra extra[CMDLINE_MAX_EXTRA];
};

/* Parses argv. options lists the n_options options the program handles
 * itself. On error returns -EINVAL and a message in *ret_err (free it). */
int cmdline_parse(int argc, char **argv, const struct cmdline_option *options, size_t n_options,
                  struct cmdline *ret, char **ret_err);

/* What every brig program does first: cmdline_parse(), then a parse error,
 * --help, --version and a command other than "config" are answered here on
 * stdout or stderr under the name prog, with usage() printing the program's
 * help. Returns -1 when the program goes on with *ret, or the status main()
 * returns: 0 after help or version, 2 after a usage error. */
int cmdline_parse_main(const char *prog, int argc, char **argv,
                       const struct cmdline_option *options, size_t n_options,
                       void (*usage)(FILE *f), struct cmdline *ret);

/* Value of a program option ("" for one without a value), or NULL if not
 * given. */
const char *cmdline_extra(const struct cmdline *cl, const char *name);

/* Built-in defaults, then the main file and its drop-ins, then the flags,
 * then config_check(). c must be zeroed or freed; on error it is left
 * freed. */
int cmdline_load_config(const struct cmdline *cl, struct brig_config *c, char **ret_err);

/* Applies only the flags on top of c (for a config that came another way;
 * config_check() is then the caller's). */
int cmdline_apply_flags(const struct cmdline *cl, struct brig_config *c, char **ret_err);

void cmdline_free(struct cmdline *cl);
