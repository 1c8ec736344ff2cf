/* fuzz_toml.c: libFuzzer target for the TOML subset parser and the config
 * loader built on it. Besides memory errors it checks the invariants callers
 * rely on: a consistent tree, single-line error messages, the loader
 * reporting the parser's errors unchanged, and config_print() output loading
 * back to the same configuration. A broken invariant aborts. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void check_message(const char *err)
{
        check(err && strncmp(err, "fuzz", 4) == 0);
        for (const char *c = err; *c; c++)
                check((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void check_tree(const struct toml_node *n, unsigned depth)
{
        char *path = NULL;

        check(depth <= TOML_MAX_DEPTH);
        check(toml_path(n, &path) == 0);
        free(path);
        switch (n->type) {
        case TOML_STRING:
                check(strlen(n->string) <= TOML_MAX_STRING);
                check(toml_utf8_valid(n->string, strlen(n->string)));
                break;
        case TOML_ARRAY:
                check(n->n_items <= TOML_MAX_ARRAY);
                for (size_t i = 0; i < n->n_items; i++) {
                        check(!n->items[i]->key && n->items[i]->index == i);
                        check(n->items[i]->line >= n->line);
                        check(n->items[i]->type == n->items[0]->type);
                }
                break;
        case TOML_TABLE:
                for (size_t i = 0; i < n->n_items; i++)
                        check(n->items[i]->key && toml_get(n, n->items[i]->key) == n->items[i]);
                break;
        case TOML_INTEGER:
        case TOML_BOOLEAN:
                check(n->n_items == 0);
                break;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                check(n->items[i]->parent == n);
                check_tree(n->items[i], depth + 1);
        }
}

static void check_round_trip(const struct brig_config *c)
{
        struct brig_config back;
        char *text = NULL, *err = NULL;

        if (config_to_string(c, &text) < 0 || config_init(&back) < 0) {
                free(text);
                return;
        }
        check(config_load_buffer(&back, text, strlen(text), "printed", &err) == 0);
        check(strcmp(back.root, c->root) == 0 && strcmp(back.run_root, c->run_root) == 0 &&
              strcmp(back.listen, c->listen) == 0 && back.log_level == c->log_level &&
              strcmp(back.user, c->user) == 0 && back.cgroup_manager == c->cgroup_manager);
        check(strcmp(back.default_runtime, c->default_runtime) == 0 &&
              back.n_runtimes == c->n_runtimes);
        for (size_t i = 0; i < c->n_runtimes; i++)
                check(strcmp(back.runtimes[i].name, c->runtimes[i].name) == 0 &&
                      strcmp(back.runtimes[i].path, c->runtimes[i].path) == 0 &&
                      strcmp(back.runtimes[i].root, c->runtimes[i].root) == 0 &&
                      strcmp(back.runtimes[i].type, c->runtimes[i].type) == 0);
        config_free(&back);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        struct toml_node *root = NULL;
        struct brig_config c;
        char *parse_err = NULL, *load_err = NULL;

        int parsed = toml_parse(buf, size, "fuzz", &root, &parse_err);
        if (parsed == 0) {
                check(root->line == 1 && !root->parent);
                check_tree(root, 0);
                toml_free(root);
        } else if (parsed == -EINVAL) {
                check_message(parse_err);
        }

        if (config_init(&c) == 0) {
                int r = config_load_buffer(&c, buf, size, "fuzz", &load_err);
                if (r == 0) {
                        check(parsed == 0);
                        check_round_trip(&c);
                } else if (r == -EINVAL) {
                        check_message(load_err);
                        if (parsed == -EINVAL)
                                check(strcmp(parse_err, load_err) == 0);
                }
                config_free(&c);
        }
        free(parse_err);
        free(load_err);
        return 0;
}
