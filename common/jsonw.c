/* jsonw.c: owns the JSON writer (see jsonw.h): buffer growth, the nesting
 * state that places commas and colons, and string escaping. */
#include "jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void jsonw_init(struct jsonw *w)
{
        memset(w, 0, sizeof(*w));
}

void jsonw_free(struct jsonw *w)
{
        free(w->buf);
        jsonw_init(w);
}

static int fail(struct jsonw *w, int err)
{
        if (w->err == 0)
                w->err = err;
        return w->err;
}

/* Room for n more bytes plus the final NUL. */
static int reserve(struct jsonw *w, size_t n)
{
        size_t cap;
        char *p;

        if (n > JSONW_MAX_SIZE - w->len)
                return fail(w, -E2BIG);
        if (w->len + n < w->cap)
                return 0;
        cap = w->cap ? w->cap : 1024;
        while (cap <= w->len + n)
                cap *= 2;
        p = realloc(w->buf, cap);
        if (!p)
                return fail(w, -ENOMEM);
        w->buf = p;
        w->cap = cap;
        return 0;
}

static int put(struct jsonw *w, const char *s, size_t n)
{
        if (reserve(w, n) < 0)
                return w->err;
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
        return 0;
}

/* Before any value: checks that one may come here and writes the comma
 * that separates it from the previous item. */
static int before_value(struct jsonw *w)
{
        if (w->err)
                return w->err;
        if (w->done)
                return fail(w, -EINVAL);
        if (w->depth == 0)
                return 0;
        if (w->is_object[w->depth - 1]) {
                if (!w->after_key)
                        return fail(w, -EINVAL);
                w->after_key = false;
                return 0;
        }
        if (w->has_items[w->depth - 1] && put(w, ",", 1) < 0)
                return w->err;
        w->has_items[w->depth - 1] = true;
        return 0;
}

/* After a scalar or a closed container: the top level is then complete. */
static int after_value(struct jsonw *w)
{
        if (w->depth == 0)
                w->done = true;
        return w->err;
}

static int begin(struct jsonw *w, bool object)
{
        if (before_value(w) < 0)
                return w->err;
        if (w->depth == JSONW_MAX_DEPTH)
                return fail(w, -E2BIG);
        if (put(w, object ? "{" : "[", 1) < 0)
                return w->err;
        w->is_object[w->depth] = object;
        w->has_items[w->depth] = false;
        w->depth++;
        return 0;
}

static int end(struct jsonw *w, bool object)
{
        if (w->err)
                return w->err;
        if (w->depth == 0 || w->is_object[w->depth - 1] != object || w->after_key)
                return fail(w, -EINVAL);
        if (put(w, object ? "}" : "]", 1) < 0)
                return w->err;
        w->depth--;
        return after_value(w);
}

int jsonw_begin_object(struct jsonw *w)
{
        return begin(w, true);
}

int jsonw_end_object(struct jsonw *w)
{
        return end(w, true);
}

int jsonw_begin_array(struct jsonw *w)
{
        return begin(w, false);
}

int jsonw_end_array(struct jsonw *w)
{
        return end(w, false);
}

/* Writes s quoted and escaped; fails with -EILSEQ on malformed UTF-8. */
static int put_quoted(struct jsonw *w, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s);

        if (put(w, "\"", 1) < 0)
                return w->err;
        for (size_t i = 0; i < n;) {
                char esc[8];
                uint32_t cp;
                size_t run = 0;

                /* copy the longest run that needs no escaping at once */
                while (i + run < n) {
                        unsigned char c = p[i + run];
                        size_t len = 1;

                        if (c < 0x20 || c == '"' || c == '\\')
                                break;
                        if (c >= 0x80) {
                                len = utf8_decode(p + i + run, n - i - run, &cp);
                                if (len == 0)
                                        return fail(w, -EILSEQ);
                        }
                        run += len;
                }
                if (run > 0) {
                        if (put(w, s + i, run) < 0)
                                return w->err;
                        i += run;
                        continue;
                }
                if (p[i] == '"' || p[i] == '\\')
                        snprintf(esc, sizeof(esc), "\\%c", p[i]);
                else
                        snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
                if (put(w, esc, strlen(esc)) < 0)
                        return w->err;
                i++;
        }
        return put(w, "\"", 1);
}

int jsonw_key(struct jsonw *w, const char *key)
{
        if (w->err)
                return w->err;
        if (w->depth == 0 || !w->is_object[w->depth - 1] || w->after_key)
                return fail(w, -EINVAL);
        if (w->has_items[w->depth - 1] && put(w, ",", 1) < 0)
                return w->err;
        if (put_quoted(w, key) < 0 || put(w, ":", 1) < 0)
                return w->err;
        w->has_items[w->depth - 1] = true;
        w->after_key = true;
        return 0;
}

int jsonw_string(struct jsonw *w, const char *s)
{
        if (before_value(w) < 0 || put_quoted(w, s) < 0)
                return w->err;
        return after_value(w);
}

/* A value written as given: a number or a literal. */
static int put_literal(struct jsonw *w, const char *lit)
{
        if (before_value(w) < 0 || put(w, lit, strlen(lit)) < 0)
                return w->err;
        return after_value(w);
}

int jsonw_int(struct jsonw *w, int64_t v)
{
        char num[24];

        snprintf(num, sizeof(num), "%" PRId64, v);
        return put_literal(w, num);
}

int jsonw_uint(struct jsonw *w, uint64_t v)
{
        char num[24];

        snprintf(num, sizeof(num), "%" PRIu64, v);
        return put_literal(w, num);
}

int jsonw_bool(struct jsonw *w, bool v)
{
        return put_literal(w, v ? "true" : "false");
}

int jsonw_finish(struct jsonw *w, char **ret, size_t *ret_len)
{
        if (w->err)
                return w->err;
        if (!w->done)
                return -EINVAL;
        *ret = w->buf;
        *ret_len = w->len;
        w->buf = NULL;
        jsonw_init(w);
        return 0;
}
