/* store.h: brigd's content store and image records, in a directory brigd
 * owns (e.g. /var/lib/brig/images):
 *
 *   blobs/sha256/<hex>, blobs/sha512/<hex>   verified blobs (manifests,
 *                                            configs, layer archives)
 *   ingest/<algo>-<hex>                      blobs being downloaded
 *   images/<algo>-<hex>.json                 one record per image (id)
 *
 * Blobs: a writer opens an ingest for a digest, writes, and commits; the
 * store hashes as the bytes go by and commit checks digest and size, fsyncs,
 * renames into blobs/ and fsyncs the directory. A mismatch deletes the
 * ingest file. An ingest left by a broken transfer is resumed: open re-hashes
 * what is there and returns its length, so the caller asks the registry for
 * the rest (HTTP Range). Two writers of one blob: the ingest file is
 * flock()ed; the second gets -EBUSY unless it asked to wait. At store_open,
 * ingest files untouched for STORE_INGEST_MAX_AGE seconds are deleted;
 * younger ones stay for resuming.
 *
 * Records: an image's id is its config digest. Records are written crash
 * safe (temp file, fsync, rename, fsync directory) and all loaded at open; a
 * record that cannot be read or parsed is logged, renamed to *.corrupt and
 * skipped. Leftover temp files are deleted. Every function is safe to call
 * from many threads at once (one mutex for the records; blobs rely on the
 * file system and flock).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define STORE_INGEST_MAX_AGE  (24 * 60 * 60)
#define STORE_RECORD_MAX_SIZE (1024 * 1024)
#define STORE_MAX_NAMES       256 /* repo tags, and repo digests, per image */
#define STORE_NAME_MAX        600 /* one repo tag or repo digest */
#define STORE_MAX_LAYERS      128
#define STORE_MEDIA_TYPE_MAX  255
#define STORE_SIZE_UNKNOWN    UINT64_MAX

struct store;
struct store_ingest;

struct store_layer {
        char digest[DIGEST_STRING_MAX + 1]; /* the blob as pulled */
        char media_type[STORE_MEDIA_TYPE_MAX + 1];
        uint64_t size;
        char diff_id[DIGEST_STRING_MAX + 1];
        char chain_id[DIGEST_STRING_MAX + 1];
        /* The unpacked layer as brig-helper reported it (tar bytes and
         * entries); 0 when unknown (records of older versions). */
        uint64_t unpacked_bytes;
        uint64_t unpacked_inodes;
};

struct store_image {
        char id[DIGEST_STRING_MAX + 1]; /* = config_digest */
        char **repo_tags;               /* "docker.io/library/busybox:1.36" */
        size_t n_repo_tags;
        char **repo_digests; /* "docker.io/library/busybox@sha256:..." */
        size_t n_repo_digests;
        char manifest_digest[DIGEST_STRING_MAX + 1];
        char manifest_media_type[STORE_MEDIA_TYPE_MAX + 1];
        char config_digest[DIGEST_STRING_MAX + 1];
        struct store_layer *layers;
        size_t n_layers;
        uint64_t size;     /* total, as reported to the CRI */
        int64_t pulled_at; /* unix seconds */
        bool has_uid;      /* uid is set, else username (see image_config_user) */
        int64_t uid;
        char *username; /* NULL or a name */
        bool pinned;
};

/* Opens (creating the subdirectories of) the store at root, which must
 * exist. Returns 0 or a negative errno with a message. */
int store_open(const char *root, struct store **ret, char *err, size_t err_size);
void store_close(struct store *s);

/* --- blobs ----------------------------------------------------------- */

/* Starts or resumes writing blob digest. expected_size may be
 * STORE_SIZE_UNKNOWN. On 0, *ret_offset is the number of bytes already
 * present (verified by re-hashing them): the caller writes from there.
 * -EEXIST: the blob is already committed. -EBUSY: another writer holds it
 * and wait is false (with wait, the call blocks until that writer is done,
 * then returns -EEXIST if it committed). */
int store_ingest_open(struct store *s, const char *digest, uint64_t expected_size, bool wait,
                      struct store_ingest **ret, uint64_t *ret_offset, char *err, size_t err_size);

/* Appends len bytes. -EFBIG if that passes the expected size (nothing is
 * written). After a failed write every later write and the commit fail with
 * -EIO: close (keep) and open again to resume from what reached the disk. */
int store_ingest_write(struct store_ingest *in, const void *buf, size_t len, char *err,
                       size_t err_size);

/* Bytes written so far (including resumed ones). */
uint64_t store_ingest_offset(const struct store_ingest *in);

/* Verifies and commits the blob, then frees in (always). Returns 0,
 * -EAGAIN if fewer than the expected bytes arrived (the ingest file stays
 * for resuming), -EBADMSG on a digest or size mismatch (the ingest file is
 * deleted, nothing is left), -EIO after a failed write (file kept), or
 * another negative errno. */
int store_ingest_commit(struct store_ingest *in, char *err, size_t err_size);

/* Ends an ingest without committing: keep leaves the partial file for a
 * later resume, !keep deletes it. Frees in; NULL is a no-op. */
void store_ingest_close(struct store_ingest *in, bool keep);

/* Whether blob digest is committed; its size in *ret_size (may be NULL). */
bool store_blob_exists(struct store *s, const char *digest, uint64_t *ret_size);

/* A read-only (O_CLOEXEC) fd of a committed blob, or -ENOENT/-EINVAL. */
int store_blob_open(struct store *s, const char *digest);

/* Reads a committed blob of at most max bytes into memory (NUL-terminated
 * for convenience). -EFBIG if bigger. */
int store_blob_read(struct store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
                    char *err, size_t err_size);

/* Deletes a committed blob; -ENOENT if absent. */
int store_blob_delete(struct store *s, const char *digest);

/* --- image records ---------------------------------------------------- */

/* Adds or updates img (by id). Its repo tags are taken away from any other
 * image that had them (that image stays, maybe untagged); when the id
 * already exists, its old tags and digests are kept besides the new ones.
 * Returns 0 or a negative errno with a message. */
int store_image_put(struct store *s, const struct store_image *img, char *err, size_t err_size);

/* Finds an image by full id, repo tag, repo digest, or unique id prefix
 * (hex, with or without "sha256:"), and returns a copy to free with
 * store_image_free(). -ENOENT, or -EINVAL for an ambiguous prefix. */
int store_image_get(struct store *s, const char *ref, struct store_image **ret, char *err,
                    size_t err_size);

/* What a removal left unused. */
struct store_unref {
        char (*chain_ids)[DIGEST_STRING_MAX + 1];
        size_t n_chain_ids;
        char (*blobs)[DIGEST_STRING_MAX + 1]; /* layers, config, manifest */
        size_t n_blobs;
};

/* Removes the image ref names (as store_image_get finds it; by tag or
 * digest the whole image goes) and fills *ret (may be NULL) with the chain
 * ids and blob digests that no remaining image references: the caller
 * deletes those layers and blobs. */
int store_image_remove(struct store *s, const char *ref, struct store_unref *ret, char *err,
                       size_t err_size);
void store_unref_done(struct store_unref *u);

/* Copies of all images, sorted by id. Free with store_image_list_free(). */
int store_image_list(struct store *s, struct store_image ***ret, size_t *ret_n);
void store_image_list_free(struct store_image **list, size_t n);

struct store_image *store_image_dup(const struct store_image *img);
void store_image_free(struct store_image *img);

/* The record codec, exposed for tests and fuzzing: parse checks every
 * field (digests, bounds, chain ids recomputed from diff ids). */
int store_record_parse(const void *buf, size_t len, struct store_image **ret, char *err,
                       size_t err_size);
/* Returns a malloc'ed JSON text (NUL-terminated) in *ret. */
int store_record_format(const struct store_image *img, char **ret, size_t *ret_len);

/* Disk use of the whole store for ImageFsInfo: allocated bytes (st_blocks)
 * and inodes, found by walking blobs/, ingest/ and images/ (the store is
 * flat: no accounting to drift after a crash). */
int store_usage(struct store *s, uint64_t *ret_bytes, uint64_t *ret_inodes);

/* The unpacked layers all images use, each chain id counted once: the sums
 * of their unpacked_bytes and unpacked_inodes. */
void store_layers_usage(struct store *s, uint64_t *ret_bytes, uint64_t *ret_inodes);
