/* stream.c: owns turning the layer blob into its uncompressed bytes, the
 * SHA-256 of those bytes and the uncompressed byte limit (see stream.h). */
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <zstd.h>

#define IN_SIZE  (256 * 1024)
#define OUT_SIZE (256 * 1024)

struct stream {
        int fd;
        enum stream_compression comp;
        uint64_t max_bytes;
        uint64_t total;
        uint64_t compressed;
        int error;
        bool in_eof;
        bool ended;
        /* the last call filled the output buffer, so the decoder may hold
         * more output even without new input */
        bool out_full;
        /* gzip: the current member ended; zstd: the last frame is complete */
        bool unit_done;
        bool started;
        size_t in_len, in_pos;
        /* ISA-L's inflate: the same RFC 1951/1952 checks as zlib's, about
         * six times faster on a layer's worth of text (make bench) */
        struct inflate_state *gz;
        ZSTD_DCtx *zs;
        EVP_MD_CTX *sha;
        char err[STREAM_ERR_MAX];
        uint8_t in[IN_SIZE];
        uint8_t out[OUT_SIZE];
};

static int fail(struct stream *s, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct stream *s, int error, const char *fmt, ...)
{
        va_list ap;

        if (s->error)
                return s->error;
        va_start(ap, fmt);
        vsnprintf(s->err, sizeof(s->err), fmt, ap);
        va_end(ap);
        s->error = error;
        return error;
}

/* ISAL_GZIP: gzip framing only, with the header, CRC-32 and length
 * checks; a zlib or raw deflate stream is refused. */
static void gzip_member_start(struct stream *s)
{
        isal_inflate_init(s->gz);
        s->gz->crc_flag = ISAL_GZIP;
}

int stream_new(int fd, enum stream_compression comp, uint64_t max_bytes, struct stream **ret)
{
        struct stream *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->fd = fd;
        s->comp = comp;
        s->max_bytes = max_bytes;
        s->sha = EVP_MD_CTX_new();
        if (!s->sha || EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
                goto fail;
        if (comp == STREAM_GZIP) {
                s->gz = malloc(sizeof(*s->gz));
                if (!s->gz)
                        goto fail;
                gzip_member_start(s);
        } else if (comp == STREAM_ZSTD) {
                s->zs = ZSTD_createDCtx();
                if (!s->zs)
                        goto fail;
        }
        *ret = s;
        return 0;
fail:
        stream_free(s);
        return -ENOMEM;
}

void stream_free(struct stream *s)
{
        if (!s)
                return;
        free(s->gz);
        ZSTD_freeDCtx(s->zs);
        EVP_MD_CTX_free(s->sha);
        free(s);
}

/* Refills the input buffer once it is used up. Returns 0 (in_eof set at the
 * end of the blob) or a read error. */
static int fill(struct stream *s)
{
        ssize_t n;

        if (s->in_pos < s->in_len || s->in_eof)
                return 0;
        do
                n = read(s->fd, s->in, IN_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return fail(s, -errno, "reading the layer blob: %s", strerror(errno));
        s->in_pos = 0;
        s->in_len = (size_t)n;
        s->compressed += (uint64_t)n;
        if (n == 0)
                s->in_eof = true;
        else
                s->started = true;
        return 0;
}

int stream_check_magic(struct stream *s)
{
        static const uint8_t gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd},
                             xz[] = {0xfd, '7', 'z', 'X', 'Z'}, bz2[] = {'B', 'Z', 'h'};
        int r = fill(s);
        const uint8_t *p = s->in + s->in_pos;
        size_t n = s->in_len - s->in_pos;
        bool is_gzip = n >= sizeof(gzip) && memcmp(p, gzip, sizeof(gzip)) == 0;
        bool is_zstd = n >= sizeof(zstd) && memcmp(p, zstd, sizeof(zstd)) == 0;
        /* A zstd stream may start with a skippable frame (magic 0x184D2A5?). */
        bool is_skippable =
            n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18;

        if (r < 0)
                return r;
        if (n == 0)
                return fail(s, -EBADMSG, "the layer blob is empty");
        switch (s->comp) {
        case STREAM_GZIP:
                if (!is_gzip)
                        return fail(s, -EBADMSG,
                                    "the media type says gzip but the blob has no gzip magic");
                break;
        case STREAM_ZSTD:
                if (!is_zstd && !is_skippable)
                        return fail(s, -EBADMSG,
                                    "the media type says zstd but the blob has no zstd magic");
                break;
        case STREAM_PLAIN:
                if (is_gzip || is_zstd || is_skippable ||
                    (n >= sizeof(xz) && memcmp(p, xz, sizeof(xz)) == 0) ||
                    (n >= sizeof(bz2) && memcmp(p, bz2, sizeof(bz2)) == 0))
                        return fail(s, -EBADMSG,
                                    "the media type says uncompressed tar but the "
                                    "blob starts with a compression magic");
                break;
        }
        return 0;
}

/* One decoder step into s->out. Returns the bytes produced (maybe 0 when
 * only input was consumed), -1 at the real end, or a negative errno. */
static const char *gzip_reason(int r)
{
        switch (r) {
        case ISAL_INVALID_WRAPPER:
                return "not a gzip member header";
        case ISAL_UNSUPPORTED_METHOD:
                return "compression method is not deflate";
        case ISAL_INCORRECT_CHECKSUM:
                return "CRC or length check failed";
        case ISAL_INVALID_LOOKBACK:
                return "invalid distance too far back";
        case ISAL_INVALID_SYMBOL:
                return "invalid code";
        default:
                return "invalid block";
        }
}

static ssize_t step_gzip(struct stream *s)
{
        int r;

        if (s->unit_done) {
                if (s->in_pos == s->in_len)
                        return -1;
                /* Another member follows (RFC 1952 allows concatenation). */
                gzip_member_start(s);
                s->unit_done = false;
        }
        if (s->in_pos == s->in_len && !s->out_full)
                return fail(s, -EBADMSG,
                            "gzip: the stream is truncated (%" PRIu64
                            " compressed bytes, member not complete)",
                            s->compressed);
        s->gz->next_in = s->in + s->in_pos;
        s->gz->avail_in = (uint32_t)(s->in_len - s->in_pos);
        s->gz->next_out = s->out;
        s->gz->avail_out = OUT_SIZE;
        r = isal_inflate(s->gz);
        s->in_pos = s->in_len - s->gz->avail_in;
        if (r != ISAL_DECOMP_OK)
                return fail(s, -EBADMSG, "gzip: bad data after %" PRIu64 " compressed bytes: %s",
                            s->compressed - (s->in_len - s->in_pos), gzip_reason(r));
        s->unit_done = s->gz->block_state == ISAL_BLOCK_FINISH;
        s->out_full = s->gz->avail_out == 0;
        return (ssize_t)(OUT_SIZE - s->gz->avail_out);
}

static ssize_t step_zstd(struct stream *s)
{
        ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
        ZSTD_outBuffer out = {s->out, OUT_SIZE, 0};
        size_t r;

        if (s->in_pos == s->in_len && !s->out_full) {
                if (!s->unit_done)
                        return fail(s, -EBADMSG,
                                    "zstd: the stream is truncated (%" PRIu64
                                    " compressed bytes, frame not complete)",
                                    s->compressed);
                return -1;
        }
        r = ZSTD_decompressStream(s->zs, &out, &in);
        s->in_pos = in.pos;
        if (ZSTD_isError(r))
                return fail(s, -EBADMSG, "zstd: bad data: %s", ZSTD_getErrorName(r));
        /* 0 means a frame was completely decoded and flushed. */
        s->unit_done = r == 0;
        s->out_full = out.pos == out.size;
        return (ssize_t)out.pos;
}

ssize_t stream_read(struct stream *s, const void **ret)
{
        for (;;) {
                ssize_t n;
                int r;

                if (s->error)
                        return s->error;
                if (s->ended)
                        return 0;
                if (!s->out_full) {
                        r = fill(s);
                        if (r < 0)
                                return r;
                }
                if (s->in_eof && !s->started)
                        return fail(s, -EBADMSG, "the layer blob is empty");
                switch (s->comp) {
                case STREAM_PLAIN:
                        if (s->in_eof) {
                                n = -1;
                                break;
                        }
                        n = (ssize_t)(s->in_len - s->in_pos);
                        *ret = s->in + s->in_pos;
                        s->in_pos = s->in_len;
                        break;
                case STREAM_GZIP:
                        n = step_gzip(s);
                        *ret = s->out;
                        break;
                default:
                        n = step_zstd(s);
                        *ret = s->out;
                        break;
                }
                if (n == -1) {
                        s->ended = true;
                        return 0;
                }
                if (n < 0)
                        return n;
                if (n == 0)
                        continue;
                if ((uint64_t)n > s->max_bytes - s->total)
                        return fail(s, -EFBIG,
                                    "the uncompressed layer is larger than the limit of %" PRIu64
                                    " bytes",
                                    s->max_bytes);
                s->total += (uint64_t)n;
                if (EVP_DigestUpdate(s->sha, *ret, (size_t)n) != 1)
                        return fail(s, -EIO, "sha256 update failed");
                return n;
        }
}

int stream_drain(struct stream *s)
{
        const void *p;
        ssize_t n;

        while ((n = stream_read(s, &p)) > 0)
                ;
        return (int)n;
}

uint64_t stream_bytes(const struct stream *s)
{
        return s->total;
}

int stream_digest(struct stream *s, char *out, size_t out_size)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;

        if (!s->ended || out_size < 7 + 64 + 1)
                return -EINVAL;
        if (EVP_DigestFinal_ex(s->sha, md, &len) != 1 || len != 32)
                return -EIO;
        memcpy(out, "sha256:", 7);
        for (unsigned i = 0; i < len; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
        return 0;
}

const char *stream_error(const struct stream *s)
{
        return s->err;
}

int stream_errno(const struct stream *s)
{
        return s->error;
}
