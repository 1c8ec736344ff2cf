/* manifest.h: image manifests and indexes from a registry, parsed and
 * checked: OCI image index and manifest (image-spec v1), Docker manifest
 * list and image manifest v2 schema 2. Platform selection from an index.
 *
 * Everything here is untrusted input. A document is refused before parsing
 * when bigger than MANIFEST_MAX_SIZE; JSON with duplicate keys is refused;
 * every descriptor's digest is validated (daemon/digest.h), its size is
 * 0..2^53 and its strings are bounded. Docker schema 1 is refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define MANIFEST_MAX_SIZE          (4u * 1024 * 1024)
#define MANIFEST_MAX_LAYERS        128 /* brig's overlay lower-dir limit */
#define MANIFEST_MAX_INDEX_ENTRIES 1024
#define MANIFEST_MEDIA_TYPE_MAX    255

#define MEDIA_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MEDIA_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"

enum manifest_kind {
        MANIFEST_OCI_INDEX,
        MANIFEST_DOCKER_LIST,
        MANIFEST_OCI_MANIFEST,
        MANIFEST_DOCKER_MANIFEST,
};

/* How a layer blob is compressed, from its media type. */
enum layer_compression {
        LAYER_TAR,
        LAYER_GZIP,
        LAYER_ZSTD,
};

struct manifest_platform {
        char os[32];
        char architecture[32];
        char variant[32];
        char os_version[64];
};

struct manifest_descriptor {
        char media_type[MANIFEST_MEDIA_TYPE_MAX + 1];
        char digest[DIGEST_STRING_MAX + 1];
        uint64_t size;
        bool has_platform; /* index entries only */
        struct manifest_platform platform;
};

struct manifest {
        enum manifest_kind kind;
        const char *media_type; /* one of the MEDIA_* strings above */
        /* Image manifests: */
        struct manifest_descriptor config;
        struct manifest_descriptor *layers;
        size_t n_layers;
        /* Indexes and lists (entries of any media type are kept; selection
         * only picks image manifests): */
        struct manifest_descriptor *manifests;
        size_t n_manifests;
};

/* Parses len bytes at buf. content_type is the registry's Content-Type
 * (parameters after ';' ignored; NULL, "" or a generic JSON/octet-stream
 * type means "not given"). When it names a manifest type it must agree with
 * the document's mediaType. Returns 0 and a manifest to free with
 * manifest_free(), -EFBIG (too big), -ENOTSUP (schema 1, unsupported media
 * types) or -EINVAL (malformed), always with a message in err. */
int manifest_parse(const char *content_type, const void *buf, size_t len, struct manifest **ret,
                   char *err, size_t err_size);

void manifest_free(struct manifest *m);

static inline bool manifest_is_index(const struct manifest *m)
{
        return m->kind == MANIFEST_OCI_INDEX || m->kind == MANIFEST_DOCKER_LIST;
}

/* Compression of a layer media type manifest_parse() accepted; -ENOTSUP for
 * any other type. */
int manifest_layer_compression(const char *media_type, enum layer_compression *ret);

/* Normalizes a platform the way image indexes spell it: lowercase os,
 * x86_64/x86-64 -> amd64, aarch64 -> arm64, i386/i686 -> 386, armhf ->
 * arm v7, armel -> arm v6, armv7l/armv6l -> arm v7/v6; variant "8" -> "v8";
 * arm64 defaults to v8, arm to v7; amd64 "v1" is the same as none. Any
 * argument may be NULL (""). Returns 0 or -EINVAL if a part is too long. */
int manifest_platform_normalize(const char *os, const char *arch, const char *variant,
                                struct manifest_platform *ret);

/* The running machine's platform (uname), normalized. */
int manifest_host_platform(struct manifest_platform *ret);

/* Picks the entry of an index for os/arch/variant (normalized first; NULL
 * variant means the architecture's default). An exact variant wins; for arm
 * a lower variant is accepted (a v7 machine runs v6 code), highest first.
 * Entries that are not image manifests are skipped. Returns 0 with *ret
 * pointing into index, -EINVAL if m is no index, or -ENOENT with a message
 * listing the platforms the index offers. */
int manifest_select(const struct manifest *index, const char *os, const char *arch,
                    const char *variant, const struct manifest_descriptor **ret, char *err,
                    size_t err_size);

/* Checks that len bytes at buf hash to expected (a digest reference).
 * Returns 0, -EINVAL for a malformed expected digest, or -EBADMSG naming
 * both digests. */
int manifest_verify_digest(const void *buf, size_t len, const char *expected, char *err,
                           size_t err_size);
