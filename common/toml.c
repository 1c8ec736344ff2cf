/* toml.c: owns brig's TOML subset (see toml.h): the scanner, the rules that
 * keep keys and tables unique, the node tree, and the writer for quoted
 * strings. The grammar follows toml.io v1.0.0; input outside the subset stops
 * the parse with a message naming the line. */
#include "toml.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* How a table came to exist decides what may still be done to it (TOML 1.0
 * "Table", "Inline Table" and "Array of Tables" sections): a table created
 * only as the prefix of a [header] may get its own header later; one made by
 * dotted keys may not, and dotted keys may only extend tables they created
 * themselves. An inline table, and everything inside it, is closed once its
 * '}' is read. Only an array made by [[headers]] may grow by another one. */
enum origin {
        ORIGIN_VALUE, /* not a table, or an array written as a value */
        ORIGIN_ROOT,
        ORIGIN_HEADER,
        ORIGIN_IMPLICIT,
        ORIGIN_DOTTED,
        ORIGIN_ARRAY_OF_TABLES, /* the array node of [[name]] */
        ORIGIN_INLINE,
        ORIGIN_INLINE_DOTTED, /* made by a dotted key inside an inline table */
};

static bool is_closed(enum origin origin)
{
        return origin == ORIGIN_INLINE || origin == ORIGIN_INLINE_DOTTED;
}

struct node {
        struct toml_node pub; /* first, so a struct toml_node * converts back */
        enum origin origin;
        unsigned depth;  /* key components and array levels above this node */
        size_t cap;      /* allocated slots of pub.items */
        uint32_t *slots; /* tables: hash index into pub.items, 0 = free, else index + 1 */
        size_t n_slots;  /* a power of two, at least twice n_items, so probing ends */
};

struct parser {
        const char *buf;
        size_t len;
        size_t pos;
        unsigned line;
        const char *source;
        char *err;
        struct node *root;
        struct node *current; /* table that key/value lines go into */
};

static struct node *to_node(const struct toml_node *n)
{
        return (struct node *)n;
}

static void node_free(struct node *n)
{
        if (!n)
                return;
        for (size_t i = 0; i < n->pub.n_items; i++)
                node_free(to_node(n->pub.items[i]));
        free(n->pub.items);
        free(n->slots);
        free(n->pub.key);
        if (n->pub.type == TOML_STRING)
                free(n->pub.string);
        free(n);
}

static void node_freep(struct node **n)
{
        node_free(*n);
}

void toml_free(struct toml_node *root)
{
        node_free(to_node(root));
}

const char *toml_type_to_string(enum toml_type type)
{
        switch (type) {
        case TOML_TABLE:
                return "table";
        case TOML_ARRAY:
                return "array";
        case TOML_STRING:
                return "string";
        case TOML_INTEGER:
                return "integer";
        case TOML_BOOLEAN:
                return "boolean";
        }
        return "unknown";
}

bool toml_utf8_valid(const char *s, size_t len)
{
        const unsigned char *u = (const unsigned char *)s;
        uint32_t cp;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_decode(u + i, len - i, &cp);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

static void utf8_encode(uint32_t cp, char out[static 4], size_t *ret_len)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                *ret_len = 1;
        } else if (cp < 0x800) {
                out[0] = (char)(0xc0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3f));
                *ret_len = 2;
        } else if (cp < 0x10000) {
                out[0] = (char)(0xe0 | cp >> 12);
                out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                *ret_len = 3;
        } else {
                out[0] = (char)(0xf0 | cp >> 18);
                out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
                out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
                out[3] = (char)(0x80 | (cp & 0x3f));
                *ret_len = 4;
        }
}

static bool is_bare_key_char(int c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

/* Characters that can make up an unquoted value: numbers in every base,
 * booleans, and the floats and dates we recognise only to reject them. */
static bool is_token_char(int c)
{
        return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

static bool is_control(int c)
{
        return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

int toml_write_string(FILE *f, const char *s)
{
        if (!toml_utf8_valid(s, strlen(s)))
                return -EINVAL;
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                switch (c) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\b':
                        fputs("\\b", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\f':
                        fputs("\\f", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                default:
                        if (is_control(c))
                                fprintf(f, "\\u%04X", c);
                        else
                                fputc(c, f);
                }
        }
        fputc('"', f);
        return ferror(f) ? -EIO : 0;
}

static int write_key(FILE *f, const char *key)
{
        bool bare = *key != '\0';
        for (const char *k = key; *k && bare; k++)
                bare = is_bare_key_char((unsigned char)*k);
        if (!bare)
                return toml_write_string(f, key);
        fputs(key, f);
        return 0;
}

static int write_path(FILE *f, const struct toml_node *n)
{
        int r;

        if (!n->parent)
                return 0;
        r = write_path(f, n->parent);
        if (r < 0)
                return r;
        if (!n->key) {
                fprintf(f, "[%zu]", n->index);
                return 0;
        }
        if (n->parent->parent)
                fputc('.', f);
        return write_key(f, n->key);
}

int toml_path(const struct toml_node *node, char **ret)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        int r = write_path(f, node);
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

static uint64_t hash_key(const char *key)
{
        /* FNV-1a: keys come from a size-limited file, not from the network. */
        uint64_t h = 0xcbf29ce484222325u;
        for (; *key; key++)
                h = (h ^ (unsigned char)*key) * 0x100000001b3u;
        return h;
}

static struct node *table_find(const struct node *t, const char *key)
{
        if (t->n_slots == 0)
                return NULL;
        size_t mask = t->n_slots - 1;
        for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
                uint32_t s = t->slots[i];
                if (s == 0)
                        return NULL;
                struct node *c = to_node(t->pub.items[s - 1]);
                if (strcmp(c->pub.key, key) == 0)
                        return c;
        }
}

const struct toml_node *toml_get(const struct toml_node *table, const char *key)
{
        if (table->type != TOML_TABLE)
                return NULL;
        struct node *n = table_find(to_node(table), key);
        return n ? &n->pub : NULL;
}

static void slot_insert(uint32_t *slots, size_t n_slots, const char *key, uint32_t value)
{
        size_t mask = n_slots - 1;
        size_t i = hash_key(key) & mask;
        while (slots[i] != 0)
                i = (i + 1) & mask;
        slots[i] = value;
}

/* Makes child the last item of parent; on failure parent is unchanged and
 * the caller still owns child. */
static int append(struct node *parent, struct node *child)
{
        size_t n = parent->pub.n_items;

        if (n == parent->cap) {
                size_t cap = parent->cap ? parent->cap * 2 : 4;
                struct toml_node **items = reallocarray(parent->pub.items, cap, sizeof(*items));
                if (!items)
                        return -ENOMEM;
                parent->pub.items = items;
                parent->cap = cap;
        }
        if (parent->pub.type == TOML_TABLE && (n + 1) * 2 > parent->n_slots) {
                size_t n_slots = parent->n_slots ? parent->n_slots * 2 : 8;
                uint32_t *slots = calloc(n_slots, sizeof(*slots));
                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        slot_insert(slots, n_slots, parent->pub.items[i]->key, (uint32_t)i + 1);
                free(parent->slots);
                parent->slots = slots;
                parent->n_slots = n_slots;
        }
        if (parent->pub.type == TOML_TABLE)
                slot_insert(parent->slots, parent->n_slots, child->pub.key, (uint32_t)n + 1);
        child->pub.parent = &parent->pub;
        child->pub.index = n;
        child->depth = parent->depth + 1;
        parent->pub.items[n] = &child->pub;
        parent->pub.n_items = n + 1;
        return 0;
}

/* Creates a node under parent, taking ownership of key (which may be NULL
 * for array elements) in every case. */
static int add_node(struct node *parent, char *key, enum origin origin, unsigned line,
                    struct node **ret)
{
        _cleanup_free_ char *k = key;
        _cleanup_(node_freep) struct node *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        /* A value is linked in before it is parsed, so that messages about it
         * can name its key; parse_value() then sets its real type. */
        n->pub.type = origin == ORIGIN_VALUE ? TOML_BOOLEAN : TOML_TABLE;
        n->pub.line = line;
        n->pub.key = TAKE_PTR(k);
        n->origin = origin;
        int r = append(parent, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

static int vfail(struct parser *p, const struct node *n, unsigned line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Records the error "<source>:<line>: [key '<path>': ]<message>". */
static int vfail(struct parser *p, const struct node *n, unsigned line, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ char *path = NULL;

        if (vasprintf(&msg, fmt, ap) < 0) {
                msg = NULL;
                return -ENOMEM;
        }
        if (n) {
                int r = toml_path(&n->pub, &path);
                if (r < 0)
                        return r;
        }
        int r = path ? asprintf(&p->err, "%s:%u: key '%s': %s", p->source, line, path, msg)
                     : asprintf(&p->err, "%s:%u: %s", p->source, line, msg);
        if (r < 0) {
                p->err = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(p, NULL, line, fmt, ap);
        va_end(ap);
        return r;
}

/* As fail(), naming the key of n. */
static int fail_key(struct parser *p, const struct node *n, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_key(struct parser *p, const struct node *n, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(p, n, line, fmt, ap);
        va_end(ap);
        return r;
}

static int peek_at(const struct parser *p, size_t offset)
{
        if (p->pos + offset >= p->len)
                return EOF;
        return (unsigned char)p->buf[p->pos + offset];
}

static int peek(const struct parser *p)
{
        return peek_at(p, 0);
}

static bool at_newline(const struct parser *p)
{
        /* check_input() has made sure every '\r' is followed by '\n'. */
        return peek(p) == '\n' || peek(p) == '\r';
}

static void skip_newline(struct parser *p)
{
        if (peek(p) == '\r')
                p->pos++;
        p->pos++;
        p->line++;
}

static void skip_space(struct parser *p)
{
        while (peek(p) == ' ' || peek(p) == '\t')
                p->pos++;
}

/* Describes the character at the current position for "found ..." in a
 * message, without copying control characters into it. */
static const char *describe(const struct parser *p, char buf[static 16])
{
        int c = peek(p);
        uint32_t cp;

        if (c == EOF)
                return "end of file";
        if (c == '\n' || c == '\r')
                return "end of line";
        if (c > 0x20 && c < 0x7f) {
                snprintf(buf, 16, "'%c'", c);
                return buf;
        }
        utf8_decode((const unsigned char *)p->buf + p->pos, p->len - p->pos, &cp);
        snprintf(buf, 16, "U+%04X", (unsigned)cp);
        return buf;
}

/* Rejects what is invalid anywhere in a document before any other rule runs. */
static int check_input(struct parser *p)
{
        const unsigned char *u = (const unsigned char *)p->buf;
        unsigned line = 1;
        uint32_t cp;

        for (size_t i = 0; i < p->len;) {
                if (u[i] == '\0')
                        return fail(p, line, "NUL byte is not allowed");
                if (u[i] == '\r' && (i + 1 == p->len || u[i + 1] != '\n'))
                        return fail(p, line, "carriage return not followed by a line feed");
                if (u[i] == '\n')
                        line++;
                size_t n = utf8_decode(u + i, p->len - i, &cp);
                if (n == 0)
                        return fail(p, line, "invalid UTF-8");
                i += n;
        }
        return 0;
}

static int skip_comment(struct parser *p)
{
        p->pos++;
        while (peek(p) != EOF && !at_newline(p)) {
                if (is_control(peek(p)))
                        return fail(p, p->line, "control character U+%04X in comment",
                                    (unsigned)peek(p));
                p->pos++;
        }
        return 0;
}

/* Skips spaces and an optional comment; returns 1 if the line (or the
 * input) ends there, consuming the newline, and 0 if something else follows. */
static int end_of_line(struct parser *p)
{
        skip_space(p);
        if (peek(p) == '#') {
                int r = skip_comment(p);
                if (r < 0)
                        return r;
        }
        if (peek(p) == EOF)
                return 1;
        if (!at_newline(p))
                return 0;
        skip_newline(p);
        return 1;
}

/* A growing string buffer bounded by TOML_MAX_STRING. */
struct strbuf {
        char *data;
        size_t len;
        size_t cap;
};

static int strbuf_add(struct parser *p, const struct node *n, unsigned line, struct strbuf *b,
                      const char *s, size_t len)
{
        if (b->len + len > TOML_MAX_STRING)
                return fail_key(p, n, line, "string is longer than %d bytes", TOML_MAX_STRING);
        if (b->len + len + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 16;
                while (cap < b->len + len + 1)
                        cap *= 2;
                char *d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

static int hex_value(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes the escape sequence at the current position (a backslash). */
static int parse_escape(struct parser *p, const struct node *n, struct strbuf *b)
{
        char buf[16];
        unsigned line = p->line;
        int c = peek_at(p, 1);
        const char *simple = NULL;

        switch (c) {
        case 'b':
                simple = "\b";
                break;
        case 't':
                simple = "\t";
                break;
        case 'n':
                simple = "\n";
                break;
        case 'f':
                simple = "\f";
                break;
        case 'r':
                simple = "\r";
                break;
        case '"':
                simple = "\"";
                break;
        case '\\':
                simple = "\\";
                break;
        case 'u':
        case 'U':
                break;
        default:
                p->pos++;
                if (c > 0x20 && c < 0x7f)
                        return fail_key(p, n, line, "invalid escape sequence '\\%c'", c);
                return fail_key(p, n, line, "invalid escape sequence: '\\' followed by %s",
                                describe(p, buf));
        }
        if (simple) {
                p->pos += 2;
                return strbuf_add(p, n, line, b, simple, 1);
        }

        int digits = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int i = 0; i < digits; i++) {
                int v = hex_value(peek_at(p, 2 + (size_t)i));
                if (v < 0)
                        return fail_key(p, n, line,
                                        "invalid escape sequence: '\\%c' needs %d hex digits", c,
                                        digits);
                cp = cp << 4 | (uint32_t)v;
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return fail_key(p, n, line,
                                "invalid escape sequence '\\%c%.*s': not a Unicode scalar value", c,
                                digits, p->buf + p->pos + 2);
        if (cp == 0)
                return fail_key(p, n, line,
                                "U+0000 (NUL) in a string is not supported by brig's "
                                "configuration parser");
        char out[4];
        size_t len;
        utf8_encode(cp, out, &len);
        p->pos += 2 + (size_t)digits;
        return strbuf_add(p, n, line, b, out, len);
}

/* Parses a basic ("...") or literal ('...') string at the current position
 * into *ret. n is the node being given a value, or NULL inside a key. */
static int parse_string(struct parser *p, const struct node *n, char **ret)
{
        _cleanup_free_ char *data = NULL;
        struct strbuf b = {};
        unsigned line = p->line;
        int quote = peek(p);
        int r = 0;

        p->pos++;
        for (;;) {
                int c = peek(p);
                if (c == EOF || at_newline(p)) {
                        r = fail_key(p, n, line, "unterminated string (missing closing '%c')",
                                     quote);
                        break;
                }
                if (c == quote) {
                        p->pos++;
                        break;
                }
                if (c == '\\' && quote == '"') {
                        r = parse_escape(p, n, &b);
                } else if (is_control(c)) {
                        r = fail_key(p, n, line,
                                     quote == '"' ? "control character U+%04X in string (use an "
                                                    "escape sequence)"
                                                  : "control character U+%04X in string",
                                     (unsigned)c);
                } else {
                        char ch = (char)c;
                        r = strbuf_add(p, n, line, &b, &ch, 1);
                        p->pos++;
                }
                if (r < 0)
                        break;
        }
        data = b.data;
        if (r < 0)
                return r;
        if (!data) {
                data = strdup("");
                if (!data)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(data);
        return 0;
}

/* The components of a dotted key, a.b."c d". */
struct key {
        char *part[TOML_MAX_DEPTH];
        size_t n;
};

static void key_done(struct key *k)
{
        for (size_t i = 0; i < k->n; i++)
                free(k->part[i]);
}

static int parse_key(struct parser *p, struct key *k)
{
        char buf[16];

        for (;;) {
                char *part;
                int r;

                skip_space(p);
                int c = peek(p);
                if (c == '"' || c == '\'') {
                        r = parse_string(p, NULL, &part);
                        if (r < 0)
                                return r;
                } else if (is_bare_key_char(c)) {
                        size_t start = p->pos;
                        while (is_bare_key_char(peek(p)))
                                p->pos++;
                        if (p->pos - start > TOML_MAX_STRING)
                                return fail(p, p->line, "key is longer than %d bytes",
                                            TOML_MAX_STRING);
                        part = strndup(p->buf + start, p->pos - start);
                        if (!part)
                                return -ENOMEM;
                } else if (k->n > 0) {
                        return fail(p, p->line, "expected a key after '.', found %s",
                                    describe(p, buf));
                } else {
                        return fail(p, p->line, "expected a key, found %s", describe(p, buf));
                }
                if (k->n == TOML_MAX_DEPTH) {
                        free(part);
                        return fail(p, p->line, "key is nested more than %d levels deep",
                                    TOML_MAX_DEPTH);
                }
                k->part[k->n++] = part;
                skip_space(p);
                if (peek(p) != '.')
                        return 0;
                p->pos++;
        }
}

/* Parses a decimal, hexadecimal, octal or binary integer as TOML writes
 * them. Returns 0, -EINVAL if s is not one, -EDOM if it is a decimal with a
 * leading zero, or -ERANGE if it does not fit in an int64_t. */
static int parse_integer(const char *s, size_t n, int64_t *ret)
{
        size_t i = 0;
        bool neg = false, sign = false;
        unsigned base = 10;

        if (n > 0 && (s[0] == '+' || s[0] == '-')) {
                neg = s[0] == '-';
                sign = true;
                i = 1;
        }
        if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
                if (sign)
                        return -EINVAL;
                base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
                i += 2;
        } else if (n - i >= 2 && s[i] == '0' &&
                   ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '_')) {
                return -EDOM;
        }
        if (i == n)
                return -EINVAL;

        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        uint64_t v = 0;
        bool prev_digit = false, overflow = false;
        for (; i < n; i++) {
                if (s[i] == '_') {
                        if (!prev_digit)
                                return -EINVAL;
                        prev_digit = false;
                        continue;
                }
                int d = hex_value((unsigned char)s[i]);
                if (d < 0 || (unsigned)d >= base)
                        return -EINVAL;
                if (v > (limit - (unsigned)d) / base)
                        overflow = true;
                else
                        v = v * base + (unsigned)d;
                prev_digit = true;
        }
        if (!prev_digit)
                return -EINVAL;
        if (overflow)
                return -ERANGE;
        if (!neg)
                *ret = (int64_t)v;
        else if (v == (uint64_t)INT64_MAX + 1)
                *ret = INT64_MIN;
        else
                *ret = -(int64_t)v;
        return 0;
}

/* Digits with single underscores between them, as in TOML numbers. */
static bool skip_digits(const char *s, size_t n, size_t *i)
{
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
                return false;
        for (;;) {
                (*i)++;
                if (*i < n && s[*i] == '_' && *i + 1 < n && s[*i + 1] >= '0' && s[*i + 1] <= '9')
                        (*i)++;
                else if (*i >= n || s[*i] < '0' || s[*i] > '9')
                        return true;
        }
}

/* Whether s is a valid TOML float (only so its rejection says why). */
static bool is_float(const char *s, size_t n)
{
        size_t i = 0;
        bool frac = false, exp = false;

        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0))
                return true;
        if (i < n && s[i] == '0')
                i++;
        else if (!skip_digits(s, n, &i))
                return false;
        if (i < n && s[i] == '.') {
                i++;
                if (!skip_digits(s, n, &i))
                        return false;
                frac = true;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                if (!skip_digits(s, n, &i))
                        return false;
                exp = true;
        }
        return i == n && (frac || exp);
}

static bool digits_at(const char *s, size_t n, size_t at, size_t count)
{
        if (at + count > n)
                return false;
        for (size_t i = at; i < at + count; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* Whether s starts like a TOML date (1979-05-27) or time (07:32:00). */
static bool is_date_or_time(const char *s, size_t n)
{
        if (digits_at(s, n, 0, 4) && n > 4 && s[4] == '-' && digits_at(s, n, 5, 2) && n > 7 &&
            s[7] == '-' && digits_at(s, n, 8, 2))
                return true;
        return digits_at(s, n, 0, 2) && n > 2 && s[2] == ':' && digits_at(s, n, 3, 2);
}

/* Parses an unquoted value: boolean or integer. */
static int parse_bare_value(struct parser *p, struct node *n)
{
        const char *s = p->buf + p->pos;
        size_t start = p->pos;
        unsigned line = p->line;

        while (is_token_char(peek(p)))
                p->pos++;
        size_t len = p->pos - start;
        /* Keeps messages short when a token runs on for kilobytes. */
        int shown = len > 40 ? 40 : (int)len;
        const char *more = len > 40 ? "..." : "";

        if (len == 4 && memcmp(s, "true", 4) == 0) {
                n->pub.type = TOML_BOOLEAN;
                n->pub.boolean = true;
                return 0;
        }
        if (len == 5 && memcmp(s, "false", 5) == 0) {
                n->pub.type = TOML_BOOLEAN;
                n->pub.boolean = false;
                return 0;
        }
        if (is_date_or_time(s, len))
                return fail_key(p, n, line,
                                "dates and times are not supported by brig's configuration parser");

        int r = parse_integer(s, len, &n->pub.integer);
        if (r == 0) {
                n->pub.type = TOML_INTEGER;
                return 0;
        }
        if (r == -ERANGE)
                return fail_key(p, n, line, "integer '%.*s%s' is out of range (64-bit signed)",
                                shown, s, more);
        if (is_float(s, len))
                return fail_key(p, n, line,
                                "floating-point numbers are not supported by brig's "
                                "configuration parser");
        if (r == -EDOM)
                return fail_key(p, n, line, "leading zeros are not allowed in integer '%.*s%s'",
                                shown, s, more);
        if ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))
                return fail_key(p, n, line, "invalid value '%.*s%s' (strings must be quoted)",
                                shown, s, more);
        return fail_key(p, n, line, "invalid value '%.*s%s'", shown, s, more);
}

static int parse_value(struct parser *p, struct node *n);

/* Skips what may sit between array elements: spaces, newlines, comments. */
static int skip_array_space(struct parser *p, const struct node *array, unsigned open_line)
{
        for (;;) {
                skip_space(p);
                if (peek(p) == '#') {
                        int r = skip_comment(p);
                        if (r < 0)
                                return r;
                } else if (at_newline(p)) {
                        skip_newline(p);
                } else if (peek(p) == EOF) {
                        return fail_key(p, array, open_line, "unterminated array (missing ']')");
                } else {
                        return 0;
                }
        }
}

static int parse_array(struct parser *p, struct node *array)
{
        char buf[16];
        unsigned open_line = p->line;
        int r;

        array->pub.type = TOML_ARRAY;
        p->pos++;
        for (;;) {
                r = skip_array_space(p, array, open_line);
                if (r < 0)
                        return r;
                if (peek(p) == ']')
                        break;
                if (peek(p) == ',')
                        return fail_key(p, array, p->line, "missing value before ','");
                if (array->pub.n_items == TOML_MAX_ARRAY)
                        return fail_key(p, array, p->line, "array has more than %d elements",
                                        TOML_MAX_ARRAY);
                if (array->depth == TOML_MAX_DEPTH)
                        return fail_key(p, array, p->line,
                                        "arrays nested too deep (limit %d levels)", TOML_MAX_DEPTH);

                struct node *elem;
                r = add_node(array, NULL, ORIGIN_VALUE, p->line, &elem);
                if (r < 0)
                        return r;
                r = parse_value(p, elem);
                if (r < 0)
                        return r;
                enum toml_type first = array->pub.items[0]->type;
                if (elem->pub.type != first)
                        return fail_key(p, array, elem->pub.line,
                                        "array mixes types %s and %s (all elements must have "
                                        "the same type)",
                                        toml_type_to_string(first),
                                        toml_type_to_string(elem->pub.type));

                r = skip_array_space(p, array, open_line);
                if (r < 0)
                        return r;
                if (peek(p) == ',') {
                        p->pos++;
                        continue;
                }
                if (peek(p) == ']')
                        break;
                return fail_key(p, array, p->line, "expected ',' or ']' in array, found %s",
                                describe(p, buf));
        }
        p->pos++;
        return 0;
}

static int parse_inline_table(struct parser *p, struct node *table);

static int parse_value(struct parser *p, struct node *n)
{
        char buf[16];
        int c = peek(p);

        if ((c == '"' || c == '\'') && peek_at(p, 1) == c && peek_at(p, 2) == c)
                return fail_key(p, n, p->line,
                                "multi-line strings are not supported by brig's configuration "
                                "parser");
        if (c == '"' || c == '\'') {
                int r = parse_string(p, n, &n->pub.string);
                if (r == 0)
                        n->pub.type = TOML_STRING;
                return r;
        }
        if (c == '[')
                return parse_array(p, n);
        if (c == '{')
                return parse_inline_table(p, n);
        if (is_token_char(c))
                return parse_bare_value(p, n);
        if (c == EOF || c == '#' || at_newline(p))
                return fail_key(p, n, p->line, "missing value");
        return fail_key(p, n, p->line, "invalid value starting with %s", describe(p, buf));
}

/* Follows all but the last part of the dotted key k down from table t,
 * creating the tables that are missing, and returns the table the last part
 * belongs in. in_inline tells whether the key is inside an inline table. */
static int walk_dotted(struct parser *p, struct node *t, struct key *k, bool in_inline,
                       unsigned line, struct node **ret)
{
        enum origin made = in_inline ? ORIGIN_INLINE_DOTTED : ORIGIN_DOTTED;
        int r;

        for (size_t i = 0; i + 1 < k->n; i++) {
                struct node *child = table_find(t, k->part[i]);
                if (!child) {
                        r = add_node(t, TAKE_PTR(k->part[i]), made, line, &child);
                        if (r < 0)
                                return r;
                } else if (child->origin == ORIGIN_ARRAY_OF_TABLES) {
                        return fail_key(p, child, line,
                                        "already defined as an array of tables on line %u; "
                                        "dotted keys cannot extend it",
                                        child->pub.line);
                } else if (child->pub.type != TOML_TABLE) {
                        return fail_key(p, child, line,
                                        "already defined as a value (%s) on line %u; it cannot "
                                        "also be a table",
                                        toml_type_to_string(child->pub.type), child->pub.line);
                } else if (child->origin == ORIGIN_INLINE) {
                        return fail_key(p, child, line,
                                        "inline table defined on line %u cannot be extended",
                                        child->pub.line);
                } else if (child->origin != made) {
                        return fail_key(p, child, line,
                                        "table defined by a [table] header on line %u cannot be "
                                        "extended with dotted keys",
                                        child->pub.line);
                }
                t = child;
        }
        *ret = t;
        return 0;
}

/* Parses `key = value` into table t: the current table, or the inline table
 * being read when in_inline. Stops right after the value. */
static int parse_keyval_into(struct parser *p, struct node *t, bool in_inline, struct node **ret)
{
        _cleanup_(key_done) struct key k = {};
        char buf[16];
        unsigned line = p->line;
        int r;

        r = parse_key(p, &k);
        if (r < 0)
                return r;
        if (peek(p) != '=')
                return fail(p, line, "expected '=' after key, found %s", describe(p, buf));
        p->pos++;
        skip_space(p);
        if (t->depth + k.n > TOML_MAX_DEPTH)
                return fail(p, line, "key is nested more than %d levels deep", TOML_MAX_DEPTH);

        r = walk_dotted(p, t, &k, in_inline, line, &t);
        if (r < 0)
                return r;

        struct node *n = table_find(t, k.part[k.n - 1]);
        if (n && n->pub.type == TOML_TABLE)
                return fail_key(p, n, line, "already defined as a table on line %u", n->pub.line);
        if (n)
                return fail_key(p, n, line, "duplicate key (first defined on line %u)",
                                n->pub.line);
        r = add_node(t, TAKE_PTR(k.part[k.n - 1]), ORIGIN_VALUE, line, &n);
        if (r < 0)
                return r;
        *ret = n;
        return parse_value(p, n);
}

/* Where an inline table may not go on: TOML keeps it on one line. */
static bool inline_table_cut(const struct parser *p)
{
        return peek(p) == EOF || peek(p) == '#' || at_newline(p);
}

static int parse_inline_table(struct parser *p, struct node *table)
{
        char buf[16];
        int r;

        table->pub.type = TOML_TABLE;
        table->origin = ORIGIN_INLINE;
        p->pos++;
        skip_space(p);
        if (peek(p) == '}') {
                p->pos++;
                return 0;
        }
        for (;;) {
                if (inline_table_cut(p))
                        return fail_key(p, table, p->line,
                                        "unterminated inline table (missing '}'; an inline table "
                                        "must fit on one line)");
                struct node *value;
                r = parse_keyval_into(p, table, true, &value);
                if (r < 0)
                        return r;
                skip_space(p);
                if (peek(p) == '}') {
                        p->pos++;
                        return 0;
                }
                if (peek(p) != ',') {
                        if (inline_table_cut(p))
                                continue;
                        return fail_key(p, table, p->line,
                                        "expected ',' or '}' in inline table, found %s",
                                        describe(p, buf));
                }
                p->pos++;
                skip_space(p);
                if (peek(p) == '}')
                        return fail_key(p, table, p->line,
                                        "trailing ',' is not allowed in an inline table");
        }
}

/* Finds or creates the table that part names under t for a [header] or
 * [[header]]; last and array describe the part's place in the header. */
static int header_part(struct parser *p, struct node *t, char **part, bool last, bool array,
                       unsigned line, struct node **ret)
{
        struct node *child = table_find(t, *part);
        int r;

        if (!child) {
                if (last && array) {
                        r = add_node(t, TAKE_PTR(*part), ORIGIN_VALUE, line, &child);
                        if (r < 0)
                                return r;
                        child->pub.type = TOML_ARRAY;
                        child->origin = ORIGIN_ARRAY_OF_TABLES;
                } else {
                        r = add_node(t, TAKE_PTR(*part), last ? ORIGIN_HEADER : ORIGIN_IMPLICIT,
                                     line, &child);
                        if (r < 0)
                                return r;
                }
        } else if (child->origin == ORIGIN_ARRAY_OF_TABLES) {
                if (last && !array)
                        return fail_key(p, child, line,
                                        "already defined as an array of tables on line %u; it "
                                        "cannot also be a table",
                                        child->pub.line);
        } else if (child->pub.type != TOML_TABLE) {
                return fail_key(p, child, line,
                                "already defined as a value (%s) on line %u; it cannot also be "
                                "%s",
                                toml_type_to_string(child->pub.type), child->pub.line,
                                last && array ? "an array of tables" : "a table");
        } else if (is_closed(child->origin)) {
                return fail_key(p, child, line,
                                "inline table defined on line %u cannot be extended",
                                child->pub.line);
        } else if (last && array) {
                return fail_key(p, child, line,
                                "already defined as a table on line %u; it cannot also be an "
                                "array of tables",
                                child->pub.line);
        } else if (last && child->origin != ORIGIN_IMPLICIT) {
                return fail_key(p, child, line, "table already defined on line %u",
                                child->pub.line);
        } else if (last) {
                child->origin = ORIGIN_HEADER;
                child->pub.line = line;
        }

        if (child->origin == ORIGIN_ARRAY_OF_TABLES) {
                if (!last) {
                        /* A header below [[name]] continues its latest element. */
                        child = to_node(child->pub.items[child->pub.n_items - 1]);
                } else {
                        if (child->pub.n_items == TOML_MAX_ARRAY)
                                return fail_key(p, child, line,
                                                "array of tables has more than %d elements",
                                                TOML_MAX_ARRAY);
                        struct node *elem;
                        r = add_node(child, NULL, ORIGIN_HEADER, line, &elem);
                        if (r < 0)
                                return r;
                        child = elem;
                }
        }
        if (child->depth > TOML_MAX_DEPTH)
                return fail(p, line, "tables nested more than %d levels deep", TOML_MAX_DEPTH);
        *ret = child;
        return 0;
}

static int parse_header(struct parser *p)
{
        _cleanup_(key_done) struct key k = {};
        char buf[16];
        unsigned line = p->line;
        int r;

        p->pos++;
        bool array = peek(p) == '[';
        if (array)
                p->pos++;
        r = parse_key(p, &k);
        if (r < 0)
                return r;
        if (peek(p) != ']')
                return fail(p, line, "expected '%s' after table name, found %s", array ? "]]" : "]",
                            describe(p, buf));
        p->pos++;
        if (array) {
                if (peek(p) != ']')
                        return fail(p, line, "expected ']]' after table name, found %s",
                                    describe(p, buf));
                p->pos++;
        }

        struct node *t = p->root;
        for (size_t i = 0; i < k.n; i++) {
                r = header_part(p, t, &k.part[i], i + 1 == k.n, array, line, &t);
                if (r < 0)
                        return r;
        }
        p->current = t;

        r = end_of_line(p);
        if (r < 0)
                return r;
        if (r == 0)
                return fail_key(p, t, p->line, "expected end of line after table header, found %s",
                                describe(p, buf));
        return 0;
}

static int parse_keyval(struct parser *p)
{
        struct node *n;
        char buf[16];
        int r;

        r = parse_keyval_into(p, p->current, false, &n);
        if (r < 0)
                return r;
        r = end_of_line(p);
        if (r < 0)
                return r;
        if (r == 0)
                return fail_key(p, n, p->line, "expected end of line after the value, found %s",
                                describe(p, buf));
        return 0;
}

static int parse_line(struct parser *p)
{
        skip_space(p);
        if (peek(p) == '[')
                return parse_header(p);
        if (peek(p) != EOF && peek(p) != '#' && !at_newline(p))
                return parse_keyval(p);
        int r = end_of_line(p);
        return r < 0 ? r : 0;
}

int toml_parse(const char *buf, size_t len, const char *source, struct toml_node **ret,
               char **ret_err)
{
        _cleanup_(node_freep) struct node *root = NULL;
        struct parser p = {
            .buf = buf,
            .len = len,
            .line = 1,
            .source = source,
        };
        int r;

        if (len > TOML_MAX_INPUT) {
                if (asprintf(ret_err, "%s: input is larger than %d bytes", source, TOML_MAX_INPUT) <
                    0) {
                        *ret_err = NULL;
                        return -ENOMEM;
                }
                return -EINVAL;
        }
        root = calloc(1, sizeof(*root));
        if (!root) {
                *ret_err = NULL;
                return -ENOMEM;
        }
        root->pub.type = TOML_TABLE;
        root->pub.line = 1;
        root->origin = ORIGIN_ROOT;
        p.root = p.current = root;

        r = check_input(&p);
        while (r == 0 && p.pos < p.len)
                r = parse_line(&p);
        if (r < 0) {
                *ret_err = p.err;
                return r;
        }
        *ret = &TAKE_PTR(root)->pub;
        return 0;
}
