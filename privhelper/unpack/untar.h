/* untar.h: the unpacking core: blob -> uncompressed tar -> layer entries,
 * with the diff id checked over every uncompressed byte. No confinement
 * here (main.c does that first), so the fuzzer can run exactly this. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "stream.h"
#include "writer.h"

#define UNTAR_DEFAULT_MAX_ENTRIES 1000000ull
#define UNTAR_DEFAULT_MAX_BYTES   (64ull << 30)

struct untar_opts {
        enum stream_compression comp;
        uint64_t max_bytes;
        /* "sha256:..." the uncompressed stream must hash to; NULL skips the
         * check (the fuzzer only) */
        const char *diff_id;
};

struct untar_result {
        uint64_t bytes;
        uint64_t entries;
        uint64_t skipped;
};

/* Reads blob_fd (not taken) through the stream and libarchive's tar
 * reader (tar formats only, no libarchive filters) into w, reads the blob
 * to its real end after the end-of-archive marker, compares the digest and
 * completes w. Returns 0, or a negative errno with a message naming the
 * entry or blob and why in err: the writer's errors (writer.h), the
 * stream's (stream.h), -EBADMSG for a tar libarchive refuses, -EILSEQ for
 * a diff id mismatch. On failure the directory holds a partial layer for
 * the caller to delete. */
int untar_run(struct writer *w, int blob_fd, const struct untar_opts *o, struct untar_result *res,
              char *err, size_t err_size);
