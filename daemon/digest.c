/* digest.c: owns digest syntax, hashing (OpenSSL EVP) and chain ids for brigd. */
#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const struct {
        const char *name;
        size_t hex_len;
} algos[] = {
    [DIGEST_SHA256] = {"sha256", 64},
    [DIGEST_SHA512] = {"sha512", 128},
};

static const EVP_MD *algo_md(enum digest_algo algo)
{
        return algo == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256();
}

static int fail(char *err, size_t err_size, const char *s, const char *why)
{
        if (err_size > 0)
                snprintf(err, err_size, "invalid digest '%.140s': %s", s, why);
        return -EINVAL;
}

int digest_parse(const char *s, enum digest_algo *ret_algo, char *err, size_t err_size)
{
        if (!s || !*s)
                return fail(err, err_size, "", "empty");
        const char *colon = strchr(s, ':');
        if (!colon)
                return fail(err, err_size, s, "expected <algorithm>:<hex>");
        size_t name_len = (size_t)(colon - s);
        for (size_t a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
                if (name_len != strlen(algos[a].name) || memcmp(s, algos[a].name, name_len) != 0)
                        continue;
                const char *hex = colon + 1;
                size_t n = strlen(hex);
                if (n != algos[a].hex_len)
                        return fail(err, err_size, s,
                                    a == DIGEST_SHA256 ? "sha256 needs 64 hex characters"
                                                       : "sha512 needs 128 hex characters");
                for (size_t i = 0; i < n; i++)
                        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
                                return fail(err, err_size, s,
                                            "the hex part must be lowercase 0-9a-f");
                if (ret_algo)
                        *ret_algo = (enum digest_algo)a;
                return 0;
        }
        return fail(err, err_size, s, "unsupported algorithm (only sha256 and sha512)");
}

bool digest_valid(const char *s)
{
        return digest_parse(s, NULL, NULL, 0) == 0;
}

const char *digest_algo_name(enum digest_algo algo)
{
        return algos[algo == DIGEST_SHA512 ? DIGEST_SHA512 : DIGEST_SHA256].name;
}

const char *digest_hex(const char *digest)
{
        const char *colon = strchr(digest, ':');
        return colon ? colon + 1 : digest;
}

bool digest_equal(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

int digest_hasher_init(struct digest_hasher *h, enum digest_algo algo)
{
        digest_hasher_done(h);
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx)
                return -ENOMEM;
        h->algo = algo;
        h->bytes = 0;
        if (EVP_DigestInit_ex(h->ctx, algo_md(algo), NULL) != 1) {
                digest_hasher_done(h);
                return -EIO;
        }
        return 0;
}

int digest_hasher_update(struct digest_hasher *h, const void *buf, size_t len)
{
        if (!h->ctx)
                return -EINVAL;
        if (len > 0 && EVP_DigestUpdate(h->ctx, buf, len) != 1)
                return -EIO;
        h->bytes += len;
        return 0;
}

void digest_hex_encode(const void *buf, size_t len, char *out)
{
        static const char hexdig[] = "0123456789abcdef";
        const unsigned char *b = buf;

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = hexdig[b[i] >> 4];
                out[2 * i + 1] = hexdig[b[i] & 0xf];
        }
        out[2 * len] = '\0';
}

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int digest_hex_decode(const char *hex, uint8_t **ret, size_t *ret_len)
{
        size_t n = strlen(hex);
        uint8_t *out;

        if (n % 2)
                return -EINVAL;
        out = malloc(n / 2 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n / 2; i++) {
                int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

                if (hi < 0 || lo < 0) {
                        free(out);
                        return -EINVAL;
                }
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        *ret = out;
        *ret_len = n / 2;
        return 0;
}

int digest_hasher_final(struct digest_hasher *h, char out[static DIGEST_STRING_MAX + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (!h->ctx)
                return -EINVAL;
        int ok = EVP_DigestFinal_ex(h->ctx, md, &md_len);
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
        if (ok != 1 || md_len * 2 != algos[h->algo].hex_len)
                return -EIO;
        size_t off = (size_t)snprintf(out, DIGEST_STRING_MAX + 1, "%s:", algos[h->algo].name);
        digest_hex_encode(md, md_len, out + off);
        return 0;
}

void digest_hasher_done(struct digest_hasher *h)
{
        if (h->ctx)
                EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
}

int digest_buffer(enum digest_algo algo, const void *buf, size_t len,
                  char out[static DIGEST_STRING_MAX + 1])
{
        struct digest_hasher h = {0};
        int r = digest_hasher_init(&h, algo);
        if (r == 0)
                r = digest_hasher_update(&h, buf, len);
        if (r == 0)
                r = digest_hasher_final(&h, out);
        digest_hasher_done(&h);
        return r;
}

int digest_chain_ids(const char *const diff_ids[], size_t n, char (*out)[DIGEST_STRING_MAX + 1],
                     char *err, size_t err_size)
{
        for (size_t i = 0; i < n; i++) {
                int r = digest_parse(diff_ids[i], NULL, err, err_size);
                if (r < 0)
                        return r;
                if (i == 0) {
                        snprintf(out[0], DIGEST_STRING_MAX + 1, "%s", diff_ids[0]);
                        continue;
                }
                struct digest_hasher h = {0};
                r = digest_hasher_init(&h, DIGEST_SHA256);
                if (r == 0)
                        r = digest_hasher_update(&h, out[i - 1], strlen(out[i - 1]));
                if (r == 0)
                        r = digest_hasher_update(&h, " ", 1);
                if (r == 0)
                        r = digest_hasher_update(&h, diff_ids[i], strlen(diff_ids[i]));
                if (r == 0)
                        r = digest_hasher_final(&h, out[i]);
                digest_hasher_done(&h);
                if (r < 0) {
                        if (err_size > 0)
                                snprintf(err, err_size, "hashing chain id of layer %zu failed", i);
                        return r;
                }
        }
        return 0;
}
