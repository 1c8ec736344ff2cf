/* toml.h: brig's strict TOML subset parser.
 *
 * A document held in memory is parsed into a read-only tree of nodes. The
 * accepted language is TOML v1.0.0 (toml.io) without floats, dates and times
 * and multi-line strings; those, and arrays that mix element types, are
 * rejected with a message instead of being misread. Inline tables
 * ({ a = 1 }) and arrays of tables ([[name]]) follow TOML's rules: an inline
 * table is closed once written, and only an array made by [[name]] headers
 * may grow by another [[name]]; both read as ordinary TOML_TABLE and
 * TOML_ARRAY nodes. Strings cannot hold U+0000, so every string and key is a plain C
 * string. Everything TOML forbids (duplicate keys, redefined tables, invalid
 * UTF-8, control characters, ...) is an error too.
 *
 * The TOML_MAX_* limits bound time and memory on hostile input: parsing
 * takes (expected) linear time in the input size.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TOML_MAX_INPUT  (1024 * 1024) /* bytes in one document */
#define TOML_MAX_DEPTH  16            /* key components plus array levels above a value */
#define TOML_MAX_ARRAY  4096          /* elements in one array */
#define TOML_MAX_STRING (64 * 1024)   /* bytes in one decoded string or key */

enum toml_type {
        TOML_TABLE,
        TOML_ARRAY,
        TOML_STRING,
        TOML_INTEGER,
        TOML_BOOLEAN,
};

/* One node of a parsed document. Every field is read-only for callers; the
 * tree owns all memory and is released as a whole by toml_free(). */
struct toml_node {
        enum toml_type type;
        /* 1-based line of the key, of the [table] header, or of an array
         * element's first character. A table created implicitly (as a prefix
         * of a dotted key or header) has the line that first named it. */
        unsigned line;
        const struct toml_node *parent; /* NULL for the root table */
        char *key;                      /* unquoted; NULL for the root and array elements */
        size_t index;                   /* position in parent->items */
        union {
                char *string; /* TOML_STRING: valid UTF-8, no NUL */
                int64_t integer;
                bool boolean;
        };
        /* TOML_TABLE: the key/value pairs in document order; TOML_ARRAY: the
         * elements, all of one type. Empty for other types. */
        struct toml_node **items;
        size_t n_items;
};

/* Parses len bytes at buf. source names the document in error messages,
 * which read "<source>:<line>: <problem>" (or "<source>: <problem>" for a
 * problem with the whole input, such as its size).
 *
 * Returns 0 and the root table in *ret, or a negative errno: -EINVAL for
 * invalid or unsupported input, -ENOMEM. On failure *ret is untouched and
 * *ret_err receives a malloc'd message (NULL only with -ENOMEM); on success
 * *ret_err is untouched. */
int toml_parse(const char *buf, size_t len, const char *source, struct toml_node **ret,
               char **ret_err);

/* Frees a tree returned by toml_parse(). NULL is a no-op. */
void toml_free(struct toml_node *root);

static inline void toml_freep(struct toml_node **root)
{
        toml_free(*root);
}
#define _cleanup_toml_ __attribute__((cleanup(toml_freep)))

/* The item of table named key, or NULL if there is none or table is not a
 * table. Constant time on average. */
const struct toml_node *toml_get(const struct toml_node *table, const char *key);

/* The node's key path as a user would write it, e.g. a."b c".d or ports[2],
 * in a malloc'd string; "" for the root. Returns 0 or -ENOMEM. */
int toml_path(const struct toml_node *node, char **ret);

/* "table", "array", "string", "integer" or "boolean". */
const char *toml_type_to_string(enum toml_type type);

/* Writes s as a TOML basic string ("..." with escapes) that toml_parse()
 * reads back as s. Returns 0, -EINVAL if s is not valid UTF-8 (nothing is
 * written then), or -EIO if the stream is in error. */
int toml_write_string(FILE *f, const char *s);

/* Whether len bytes at s are well-formed UTF-8 (no overlong forms,
 * surrogates or code points above U+10FFFF), as TOML requires of text. */
bool toml_utf8_valid(const char *s, size_t len);
