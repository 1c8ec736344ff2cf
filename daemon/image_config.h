/* image_config.h: the image configuration blob (OCI image config, Docker
 * container config JSON), parsed into what brig uses: platform, the process
 * defaults (config.*), and rootfs.diff_ids. history is ignored.
 *
 * The blob is untrusted: it is refused above IMAGE_CONFIG_MAX_SIZE, with
 * duplicate keys, with more than IMAGE_CONFIG_MAX_ITEMS entries in any list
 * or map, or with \u0000 in a string.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_CONFIG_MAX_SIZE   (8u * 1024 * 1024)
#define IMAGE_CONFIG_MAX_ITEMS  4096
#define IMAGE_CONFIG_MAX_LAYERS 128 /* same as MANIFEST_MAX_LAYERS */

struct image_config_label {
        char *key;
        char *value;
};

/* Strings are NULL when the config leaves them out; arrays have their
 * count beside them. */
struct image_config {
        char *architecture;
        char *os;
        char *variant;
        char *created;
        char *user;
        char **env;
        size_t n_env;
        char **entrypoint;
        size_t n_entrypoint;
        char **cmd;
        size_t n_cmd;
        char *working_dir;
        char **volumes; /* keys of config.Volumes */
        size_t n_volumes;
        char **exposed_ports; /* keys of config.ExposedPorts, "80/tcp" */
        size_t n_exposed_ports;
        char *stop_signal;
        struct image_config_label *labels;
        size_t n_labels;
        char **diff_ids; /* validated digests, in layer order */
        size_t n_diff_ids;
};

/* Parses len bytes at buf. Returns 0 and a config to free with
 * image_config_free(), -EFBIG or -EINVAL (malformed: rootfs.type other than
 * "layers", a bad diff id, too many items, a wrongly typed field), with a
 * message in err. */
int image_config_parse(const void *buf, size_t len, struct image_config **ret, char *err,
                       size_t err_size);

void image_config_free(struct image_config *c);

/* Checks that the config's diff_ids match the manifest's n_layers. Returns
 * 0 or -EINVAL naming both counts. */
int image_config_check_layers(const struct image_config *c, size_t n_layers, char *err,
                              size_t err_size);

/* The CRI Image.uid / Image.username pair from the config's User, as
 * containerd and CRI-O derive it: the part before ':' is a uid when it is
 * all digits (at most 2^32-2), a user name otherwise. An empty or missing
 * User means root: *ret_has_uid true, uid 0. With a user name *ret_has_uid
 * is false and the name (cut to username_size - 1) is in username. */
void image_config_user(const char *user, bool *ret_has_uid, int64_t *ret_uid, char *username,
                       size_t username_size);
