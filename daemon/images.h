/* images.h: brigd's image service behind the CRI ImageService: pulling an
 * image (reference → registries.conf → registry → manifest → verified blobs
 * → layers unpacked by brig-helper → image record), finding, listing and
 * removing images, and the disk use the kubelet's image GC reads.
 *
 * Every function is safe from many gRPC worker threads at once. Errors are
 * a negative errno with a message for the kubelet's events (what, which
 * reference or registry, why); images_grpc_code() maps the errno to the
 * status code kubelet expects.
 */
#pragma once

#include <grpc/status.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "registry_auth.h"
#include "store.h"

struct images;
struct helper_client;

/* brigd's store lives in <root>/images, which brig-helper made for it. */
#define IMAGES_STORE_DIR "images"

/* Opens the store and the registry client. helper may be NULL (development
 * only: then every pull fails at its first layer). config must outlive the
 * service. Returns 0 or a negative errno with a message. */
int images_open(const struct brig_config *config, struct helper_client *helper, struct images **ret,
                char *err, size_t err_size);
void images_close(struct images *im);

/* Pulls image (a reference as the kubelet sends it: short or full name,
 * tag, digest) with the credentials of the kubelet's AuthConfig (NULL:
 * anonymous). On success the image id ("sha256:...") is in image_ref. */
int images_pull(struct images *im, const char *image, const struct registry_auth_config *auth,
                uint64_t call_id, char image_ref[static DIGEST_STRING_MAX + 1], char *err,
                size_t err_size);

/* Finds an image by id, unique id prefix, or reference (normalized, short
 * names through registries.conf). -ENOENT when there is none. The copy is
 * freed with store_image_free(). */
int images_find(struct images *im, const char *image, struct store_image **ret, char *err,
                size_t err_size);

/* Every image, sorted by id, pinned set from the configuration. Free with
 * store_image_list_free(). */
int images_list(struct images *im, struct store_image ***ret, size_t *ret_n);

/* Removes the image (as images_find() finds it) and the layers and blobs no
 * other image uses. An absent image is no error (the CRI says so). */
int images_remove(struct images *im, const char *image, uint64_t call_id, char *err,
                  size_t err_size);

/* Bytes and inodes the images take: the store's blobs and records plus the
 * unpacked layers, and the mount point of the filesystem holding them. */
struct images_usage {
        uint64_t bytes;
        uint64_t inodes;
        char mountpoint[4096];
};
int images_usage(struct images *im, struct images_usage *ret);

/* The image's config blob from the store (at most IMAGE_CONFIG_MAX_SIZE),
 * NUL-terminated, to free(). */
int images_read_config(struct images *im, const struct store_image *img, char **ret,
                       size_t *ret_len, char *err, size_t err_size);

/* Whether the configuration's pinned_images patterns match a tag or digest
 * of img. */
bool images_is_pinned(const struct images *im, const struct store_image *img);

/* The gRPC status for an errno images_* returned. */
grpc_status_code images_grpc_code(int error);
