/* cmdline.c: owns turning argv into the cmdline of cmdline.h and applying
 * it to a configuration. */
#include "cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int fail(char **ret_err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **ret_err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_err, fmt, ap) < 0)
                *ret_err = NULL;
        va_end(ap);
        return -EINVAL;
}

static const struct cmdline_option *find_option(const struct cmdline_option *options,
                                                size_t n_options, const char *name)
{
        for (size_t i = 0; i < n_options; i++)
                if (strcmp(options[i].name, name) == 0)
                        return &options[i];
        return NULL;
}

int cmdline_parse(int argc, char **argv, const struct cmdline_option *options, size_t n_options,
                  struct cmdline *ret, char **ret_err)
{
        struct cmdline cl = {0};
        int r;

        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i];
                _cleanup_free_ char *name = NULL;
                const char *value, *eq;
                const struct cmdline_option *option;

                if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
                        cl.help = true;
                        continue;
                }
                if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
                        cl.version = true;
                        continue;
                }
                if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
                        if (arg[0] == '-') {
                                r = fail(ret_err, "unknown option '%s'", arg);
                                goto error;
                        }
                        if (cl.command) {
                                r = fail(ret_err, "unexpected argument '%s'", arg);
                                goto error;
                        }
                        cl.command = arg;
                        continue;
                }
                eq = strchr(arg, '=');
                name = eq ? strndup(arg + 2, (size_t)(eq - arg - 2)) : strdup(arg + 2);
                if (!name) {
                        r = -ENOMEM;
                        goto error;
                }
                option = find_option(options, n_options, name);
                if (option && !option->takes_value) {
                        if (eq) {
                                r = fail(ret_err, "option '--%s' takes no value", name);
                                goto error;
                        }
                        value = "";
                } else if (eq) {
                        value = eq + 1;
                } else if (i + 1 < argc) {
                        value = argv[++i];
                } else {
                        r = fail(ret_err, "option '%s' needs a value", arg);
                        goto error;
                }
                if (strcmp(name, "config") == 0) {
                        cl.config_path = value;
                } else if (option) {
                        if (cl.n_extra == CMDLINE_MAX_EXTRA) {
                                r = fail(ret_err, "too many options");
                                goto error;
                        }
                        cl.extra[cl.n_extra++] =
                            (struct cmdline_extra){.name = TAKE_PTR(name), .value = value};
                } else {
                        if (cl.n_sets == CMDLINE_MAX_SETS) {
                                r = fail(ret_err, "too many options");
                                goto error;
                        }
                        for (char *p = name; *p; p++)
                                if (*p == '-')
                                        *p = '_';
                        cl.sets[cl.n_sets++] = (struct cmdline_set){
                            .flag = argv[i - (eq ? 0 : 1)], .key = TAKE_PTR(name), .value = value};
                }
        }
        *ret = cl;
        return 0;
error:
        cmdline_free(&cl);
        return r;
}

int cmdline_parse_main(const char *prog, int argc, char **argv,
                       const struct cmdline_option *options, size_t n_options,
                       void (*usage)(FILE *f), struct cmdline *ret)
{
        _cleanup_free_ char *err = NULL;
        int r = cmdline_parse(argc, argv, options, n_options, ret, &err);

        if (r < 0) {
                fprintf(stderr, "%s: %s\n", prog, err ? err : strerror(-r));
                usage(stderr);
                return 2;
        }
        if (ret->help) {
                usage(stdout);
                return 0;
        }
        if (ret->version) {
                printf("%s %s\n", prog, BRIG_VERSION);
                return 0;
        }
        if (ret->command && strcmp(ret->command, "config") != 0) {
                fprintf(stderr, "%s: unknown command '%s'\n", prog, ret->command);
                usage(stderr);
                return 2;
        }
        return -1;
}

const char *cmdline_extra(const struct cmdline *cl, const char *name)
{
        const char *value = NULL;

        /* The last one given wins, as with every other option. */
        for (size_t i = 0; i < cl->n_extra; i++)
                if (strcmp(cl->extra[i].name, name) == 0)
                        value = cl->extra[i].value;
        return value;
}

int cmdline_apply_flags(const struct cmdline *cl, struct brig_config *c, char **ret_err)
{
        for (size_t i = 0; i < cl->n_sets; i++) {
                int r =
                    config_set(c, cl->sets[i].key, cl->sets[i].value, cl->sets[i].flag, ret_err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cmdline_load_config(const struct cmdline *cl, struct brig_config *c, char **ret_err)
{
        const char *path = cl->config_path ? cl->config_path : BRIG_DEFAULT_CONFIG_PATH;
        int r;

        /* A file named on the command line must exist; the default may not. */
        r = config_load_defaults_and_files(c, path, cl->config_path != NULL, ret_err);
        if (r == 0)
                r = cmdline_apply_flags(cl, c, ret_err);
        if (r == 0)
                r = config_check(c, ret_err);
        if (r < 0)
                config_free(c);
        return r;
}

void cmdline_free(struct cmdline *cl)
{
        for (size_t i = 0; i < cl->n_sets; i++)
                free(cl->sets[i].key);
        for (size_t i = 0; i < cl->n_extra; i++)
                free(cl->extra[i].name);
        *cl = (struct cmdline){0};
}
