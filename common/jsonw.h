/* jsonw.h: a small JSON writer (no parser) for the documents brig-helper
 * writes itself, such as a container's OCI config.json. Values go into a
 * growable buffer; commas and the colon after a key are placed by the
 * writer, which tracks the nesting. Every call returns the writer's sticky
 * error: after the first failure (out of memory, misuse, a string that is
 * not UTF-8) every later call does nothing and returns the same error, so a
 * caller may check once at the end or after the call it wants to name.
 *
 * Strings are bytes and must be well-formed UTF-8 (common/utf8.h's strict
 * rules): anything else fails with -EILSEQ rather than being replaced or
 * escaped, because a reader such as Go's encoding/json would silently turn
 * each bad byte into U+FFFD and a path or an environment value would then
 * name something else than the one checked. Quote and backslash are escaped
 * as \" and \\, control characters U+0000..U+001F as \u00XX (lowercase hex),
 * everything else is copied as is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of objects and arrays; deeper fails with -E2BIG. */
#define JSONW_MAX_DEPTH 32
/* Largest document; growing past it fails with -E2BIG. */
#define JSONW_MAX_SIZE (64u * 1024 * 1024)

struct jsonw {
        char *buf;
        size_t len, cap;
        int err; /* 0 or the first negative errno */
        unsigned depth;
        bool after_key;                  /* a key was written, its value is due */
        bool done;                       /* the top-level value is complete */
        bool is_object[JSONW_MAX_DEPTH]; /* per open level: object or array */
        bool has_items[JSONW_MAX_DEPTH]; /* per open level: a comma is due */
};

/* Prepares an empty writer (no allocation yet). */
void jsonw_init(struct jsonw *w);
/* Releases the buffer; the writer is then as after jsonw_init(). */
void jsonw_free(struct jsonw *w);

/* Structure. Misuse (a key outside an object, a value in an object without
 * its key, an end that does not match, a second top-level value) fails with
 * -EINVAL. */
int jsonw_begin_object(struct jsonw *w);
int jsonw_end_object(struct jsonw *w);
int jsonw_begin_array(struct jsonw *w);
int jsonw_end_array(struct jsonw *w);
int jsonw_key(struct jsonw *w, const char *key);

/* Values. s must not be NULL. */
int jsonw_string(struct jsonw *w, const char *s);
int jsonw_int(struct jsonw *w, int64_t v);
int jsonw_uint(struct jsonw *w, uint64_t v);
int jsonw_bool(struct jsonw *w, bool v);

/* Hands out the finished document, NUL-terminated, in *ret (free() it) and
 * its length without the NUL in *ret_len, and resets the writer. Returns 0,
 * the sticky error, or -EINVAL when the top-level value is not complete.
 * On failure the writer keeps its state; jsonw_free() it. */
int jsonw_finish(struct jsonw *w, char **ret, size_t *ret_len);
