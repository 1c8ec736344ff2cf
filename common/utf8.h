/* utf8.h: strict UTF-8 decoding, shared by the TOML parser and brig-cni's
 * message scrubbing, so both agree on what is well-formed text. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Decodes the UTF-8 sequence at s (at most len bytes, len >= 1): returns
 * its length and its code point in *ret, or 0 when it is malformed.
 * Overlong forms, surrogates and code points past U+10FFFF are malformed,
 * so every consumer of text that passed decodes it the same way. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret);
