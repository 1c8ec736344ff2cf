/* ids.h: checks of brig-unpack's arguments that need no file: the digest
 * form, the media type and the OCI chain id rule. */
#pragma once

#include <stddef.h>

#include "stream.h"

/* 0 when s is "sha256:" + 64 lowercase hex, else -EINVAL. */
int ids_check_digest(const char *s);

/* Maps an OCI or Docker layer media type to its compression. Returns 0 or
 * -EINVAL for any other type (zstd layers of Docker's schema do not exist;
 * xz, bzip2 and unknown types are refused). */
int ids_media_type(const char *media_type, enum stream_compression *ret);

/* Checks chain_id against the OCI image spec's definition: the diff id for
 * a base layer, else sha256(parent_chain_id + " " + diff_id). Every id must
 * pass ids_check_digest(). Returns 0 or -EINVAL with the reason in err. */
int ids_check_chain(const char *chain_id, const char *parent_chain_id, const char *diff_id,
                    char *err, size_t err_size);
