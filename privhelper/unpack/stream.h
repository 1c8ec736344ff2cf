/* stream.h: the layer blob as an uncompressed byte stream.
 *
 * Decompresses gzip (every member of a multi-member stream), zstd (every
 * frame) or nothing, in-process, and hashes every uncompressed byte with
 * SHA-256 so the caller can check the diff id. The byte limit is enforced
 * here, on the uncompressed side, so a compression bomb stops as soon as it
 * crosses it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum stream_compression {
        STREAM_PLAIN,
        STREAM_GZIP,
        STREAM_ZSTD,
};

#define STREAM_ERR_MAX 256

struct stream;

/* Starts reading fd (not taken) as a stream compressed with comp, stopping
 * with -EFBIG past max_bytes uncompressed bytes. Returns 0 or -ENOMEM. */
int stream_new(int fd, enum stream_compression comp, uint64_t max_bytes, struct stream **ret);
void stream_free(struct stream *s);

/* Reads the first bytes of the blob and checks they are what comp says
 * (gzip or zstd magic; for plain, not a known compression's magic).
 * Returns 0, -EBADMSG with a reason in stream_error(), or a read error. */
int stream_check_magic(struct stream *s);

/* The next uncompressed bytes: returns their count (> 0) and *ret points to
 * them until the next call; 0 at the real end of the blob (every gzip member
 * and zstd frame complete); or a negative errno with stream_error() set:
 * -EBADMSG for corrupt data, a truncated stream or trailing garbage, -EFBIG
 * over the limit, or the read error. Errors are sticky. */
ssize_t stream_read(struct stream *s, const void **ret);

/* Reads and discards up to the real end, so the digest covers every byte. */
int stream_drain(struct stream *s);

/* Uncompressed bytes produced so far. */
uint64_t stream_bytes(const struct stream *s);

/* After stream_read() returned 0: "sha256:" + 64 lowercase hex into out
 * (at least 72 bytes). Returns 0 or -EINVAL if the stream did not end. */
int stream_digest(struct stream *s, char *out, size_t out_size);

/* The reason of the last error, "" if none, and its negative errno (0). */
const char *stream_error(const struct stream *s);
int stream_errno(const struct stream *s);
