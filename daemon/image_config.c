/* image_config.c: owns parsing of image config blobs (OCI / Docker) and the
 * User -> CRI uid/username rule. */
#include "image_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "digest.h"
#include "errbuf.h"
#include "jsondoc.h"
#include "util.h"

/* jansson refuses \u0000 unless asked (JSON_ALLOW_NUL), so every string
 * here is a proper C string. */
static int dup_json_string(json_t *v, char **ret, const char *what, char *err, size_t err_size)
{
        if (!json_is_string(v))
                return errbuf_fail(err, err_size, -EINVAL, "image config: %s is not a string",
                                   what);
        *ret = strdup(json_string_value(v));
        if (!*ret)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        return 0;
}

/* An optional string member; JSON null counts as missing. */
static int opt_string(json_t *obj, const char *key, char **ret, char *err, size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        return dup_json_string(v, ret, key, err, err_size);
}

/* An optional array of strings; null counts as missing. */
static int opt_string_array(json_t *obj, const char *key, char ***ret, size_t *ret_n, char *err,
                            size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return errbuf_fail(err, err_size, -EINVAL, "image config: %s is not an array", key);
        size_t n = json_array_size(v);
        if (n > IMAGE_CONFIG_MAX_ITEMS)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image config: %s has %zu entries, more than %d", key, n,
                                   IMAGE_CONFIG_MAX_ITEMS);
        *ret = calloc(n ? n : 1, sizeof(char *));
        if (!*ret)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int r = dup_json_string(json_array_get(v, i), &(*ret)[i], key, err, err_size);
                if (r < 0)
                        return r;
                (*ret_n)++;
        }
        return 0;
}

/* The keys of an optional object ({"80/tcp": {}}); null counts as missing. */
static int opt_object_keys(json_t *obj, const char *key, char ***ret, size_t *ret_n, char *err,
                           size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        const char *k;
        json_t *val;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return errbuf_fail(err, err_size, -EINVAL, "image config: %s is not an object",
                                   key);
        size_t n = json_object_size(v);
        if (n > IMAGE_CONFIG_MAX_ITEMS)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image config: %s has %zu entries, more than %d", key, n,
                                   IMAGE_CONFIG_MAX_ITEMS);
        *ret = calloc(n ? n : 1, sizeof(char *));
        if (!*ret)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        json_object_foreach(v, k, val)
        {
                (*ret)[*ret_n] = strdup(k);
                if (!(*ret)[*ret_n])
                        return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
                (*ret_n)++;
        }
        return 0;
}

static int parse_labels(json_t *obj, struct image_config *c, char *err, size_t err_size)
{
        json_t *v = json_object_get(obj, "Labels");
        const char *k;
        json_t *val;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return errbuf_fail(err, err_size, -EINVAL, "image config: Labels is not an object");
        size_t n = json_object_size(v);
        if (n > IMAGE_CONFIG_MAX_ITEMS)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image config: Labels has %zu entries, more than %d", n,
                                   IMAGE_CONFIG_MAX_ITEMS);
        c->labels = calloc(n ? n : 1, sizeof(*c->labels));
        if (!c->labels)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        json_object_foreach(v, k, val)
        {
                struct image_config_label *l = &c->labels[c->n_labels];
                int r = dup_json_string(val, &l->value, "a Labels value", err, err_size);
                if (r < 0)
                        return r;
                l->key = strdup(k);
                c->n_labels++;
                if (!l->key)
                        return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_process(json_t *cfg, struct image_config *c, char *err, size_t err_size)
{
        int r;

        if (!cfg || json_is_null(cfg))
                return 0;
        if (!json_is_object(cfg))
                return errbuf_fail(err, err_size, -EINVAL, "image config: config is not an object");
        if ((r = opt_string(cfg, "User", &c->user, err, err_size)) < 0 ||
            (r = opt_string_array(cfg, "Env", &c->env, &c->n_env, err, err_size)) < 0 ||
            (r = opt_string_array(cfg, "Entrypoint", &c->entrypoint, &c->n_entrypoint, err,
                                  err_size)) < 0 ||
            (r = opt_string_array(cfg, "Cmd", &c->cmd, &c->n_cmd, err, err_size)) < 0 ||
            (r = opt_string(cfg, "WorkingDir", &c->working_dir, err, err_size)) < 0 ||
            (r = opt_object_keys(cfg, "Volumes", &c->volumes, &c->n_volumes, err, err_size)) < 0 ||
            (r = opt_object_keys(cfg, "ExposedPorts", &c->exposed_ports, &c->n_exposed_ports, err,
                                 err_size)) < 0 ||
            (r = opt_string(cfg, "StopSignal", &c->stop_signal, err, err_size)) < 0 ||
            (r = parse_labels(cfg, c, err, err_size)) < 0)
                return r;
        return 0;
}

static int parse_rootfs(json_t *rootfs, struct image_config *c, char *err, size_t err_size)
{
        char derr[200];

        if (!json_is_object(rootfs))
                return errbuf_fail(err, err_size, -EINVAL, "image config: missing rootfs object");
        json_t *type = json_object_get(rootfs, "type");
        if (!json_is_string(type) || strcmp(json_string_value(type), "layers") != 0)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image config: rootfs.type must be \"layers\"");
        json_t *ids = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(ids))
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image config: rootfs.diff_ids is not an array");
        size_t n = json_array_size(ids);
        if (n > IMAGE_CONFIG_MAX_LAYERS)
                return errbuf_fail(
                    err, err_size, -EINVAL,
                    "image config has %zu diff_ids, more than brig's limit of %d layers", n,
                    IMAGE_CONFIG_MAX_LAYERS);
        int r = opt_string_array(rootfs, "diff_ids", &c->diff_ids, &c->n_diff_ids, err, err_size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_diff_ids; i++)
                if (digest_parse(c->diff_ids[i], NULL, derr, sizeof(derr)) < 0)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "image config: diff_ids[%zu]: %s", i, derr);
        return 0;
}

static int parse_root(json_t *root, struct image_config *c, char *err, size_t err_size)
{
        int r;

        if (!json_is_object(root))
                return errbuf_fail(err, err_size, -EINVAL, "image config is not a JSON object");
        if ((r = opt_string(root, "architecture", &c->architecture, err, err_size)) < 0 ||
            (r = opt_string(root, "os", &c->os, err, err_size)) < 0 ||
            (r = opt_string(root, "variant", &c->variant, err, err_size)) < 0 ||
            (r = opt_string(root, "created", &c->created, err, err_size)) < 0 ||
            (r = parse_process(json_object_get(root, "config"), c, err, err_size)) < 0 ||
            (r = parse_rootfs(json_object_get(root, "rootfs"), c, err, err_size)) < 0)
                return r;
        return 0;
}

int image_config_parse(const void *buf, size_t len, struct image_config **ret, char *err,
                       size_t err_size)
{
        json_t *root;
        int r;

        *ret = NULL;
        r = jsondoc_load(buf, len, IMAGE_CONFIG_MAX_SIZE, "image config", &root, err, err_size);
        if (r < 0)
                return r;
        struct image_config *c = calloc(1, sizeof(*c));
        if (!c) {
                json_decref(root);
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        }
        r = parse_root(root, c, err, err_size);
        json_decref(root);
        if (r < 0) {
                image_config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static void free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void image_config_free(struct image_config *c)
{
        if (!c)
                return;
        free(c->architecture);
        free(c->os);
        free(c->variant);
        free(c->created);
        free(c->user);
        free_strv(c->env, c->n_env);
        free_strv(c->entrypoint, c->n_entrypoint);
        free_strv(c->cmd, c->n_cmd);
        free(c->working_dir);
        free_strv(c->volumes, c->n_volumes);
        free_strv(c->exposed_ports, c->n_exposed_ports);
        free(c->stop_signal);
        for (size_t i = 0; i < c->n_labels; i++) {
                free(c->labels[i].key);
                free(c->labels[i].value);
        }
        free(c->labels);
        free_strv(c->diff_ids, c->n_diff_ids);
        free(c);
}

int image_config_check_layers(const struct image_config *c, size_t n_layers, char *err,
                              size_t err_size)
{
        if (c->n_diff_ids != n_layers)
                return errbuf_fail(
                    err, err_size, -EINVAL,
                    "image config lists %zu diff_ids but the manifest has %zu layers",
                    c->n_diff_ids, n_layers);
        return 0;
}

void image_config_user(const char *user, bool *ret_has_uid, int64_t *ret_uid, char *username,
                       size_t username_size)
{
        const char *u = user ? user : "";
        size_t n = strcspn(u, ":");
        uint64_t uid = 0;
        bool numeric = n > 0 && n <= 10;

        for (size_t i = 0; numeric && i < n; i++) {
                if (u[i] < '0' || u[i] > '9')
                        numeric = false;
                else
                        uid = uid * 10 + (uint64_t)(u[i] - '0');
        }
        if (username_size > 0)
                username[0] = '\0';
        if (n == 0 || (numeric && uid <= UINT32_MAX - 1)) {
                *ret_has_uid = true;
                *ret_uid = (int64_t)uid;
                return;
        }
        *ret_has_uid = false;
        *ret_uid = 0;
        if (username_size > 0)
                snprintf(username, username_size, "%.*s", (int)n, u);
}
