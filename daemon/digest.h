/* digest.h: content digests as the OCI image spec defines them
 * ("<algorithm>:<encoded>"), a streaming hasher and layer chain ids.
 *
 * Only two algorithms are accepted, each with its lowercase hex encoding of
 * exactly the algorithm's length: sha256 (64 hex) and sha512 (128 hex).
 * Anything else (uppercase, other algorithms, "+" extensions) is refused,
 * because every digest brig stores becomes a file name.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "sha512:" + 128 hex; a buffer of DIGEST_STRING_MAX + 1 holds any digest. */
#define DIGEST_STRING_MAX (7 + 128)

enum digest_algo {
        DIGEST_SHA256,
        DIGEST_SHA512,
};

/* Checks s and stores its algorithm in *ret_algo (may be NULL). Returns 0 or
 * -EINVAL with "invalid digest '<s>': <why>" in err (err may be NULL when
 * err_size is 0). */
int digest_parse(const char *s, enum digest_algo *ret_algo, char *err, size_t err_size);

/* digest_parse() without the message. */
bool digest_valid(const char *s);

/* "sha256" or "sha512". */
const char *digest_algo_name(enum digest_algo algo);

/* The hex part of a digest that digest_valid() accepted. */
const char *digest_hex(const char *digest);

/* Digests are compared as strings: valid ones have one spelling only. */
bool digest_equal(const char *a, const char *b);

struct evp_md_ctx_st;

/* A running hash. Zero-initialize or digest_hasher_init() before use;
 * digest_hasher_done() releases it (safe on a zeroed or finished hasher). */
struct digest_hasher {
        struct evp_md_ctx_st *ctx;
        enum digest_algo algo;
        uint64_t bytes; /* fed so far */
};

/* Returns 0, -ENOMEM, or -EIO if libcrypto refuses. */
int digest_hasher_init(struct digest_hasher *h, enum digest_algo algo);
int digest_hasher_update(struct digest_hasher *h, const void *buf, size_t len);
/* Writes "<algo>:<hex>" into out (DIGEST_STRING_MAX + 1 bytes) and ends the
 * hasher: only digest_hasher_done() or digest_hasher_init() may follow. */
int digest_hasher_final(struct digest_hasher *h, char out[static DIGEST_STRING_MAX + 1]);
void digest_hasher_done(struct digest_hasher *h);

/* Writes the lowercase hex of len bytes at buf into out (2 * len + 1
 * bytes, NUL-terminated). */
void digest_hex_encode(const void *buf, size_t len, char *out);

/* The bytes lowercase hex stands for, into a malloc'd buffer: the records'
 * way back from digest_hex_encode(). Returns 0, -EINVAL (odd length or not
 * lowercase hex) or -ENOMEM. */
int digest_hex_decode(const char *hex, uint8_t **ret, size_t *ret_len);

/* The digest of len bytes at buf. */
int digest_buffer(enum digest_algo algo, const void *buf, size_t len,
                  char out[static DIGEST_STRING_MAX + 1]);

/* Chain ids of a layer stack from its diff ids, as the OCI image spec
 * defines them: ChainID(L0) = DiffID(L0), ChainID(L0..Ln) =
 * sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)). out has n entries. Returns 0
 * or -EINVAL with a message naming the bad diff id. */
int digest_chain_ids(const char *const diff_ids[], size_t n, char (*out)[DIGEST_STRING_MAX + 1],
                     char *err, size_t err_size);
