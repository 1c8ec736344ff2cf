/* www_auth.c: owns the WWW-Authenticate challenge parser of www_auth.h: a
 * single forward scan over the header value, no backtracking beyond one
 * token of lookahead, so time is linear in the (bounded) input. */
#include "www_auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scan {
        const char *s;
        size_t len;
        size_t pos;
        char *err;
        size_t err_size;
};

/* tchar of RFC 7230 section 3.2.6. */
static bool is_tchar(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_token68_char(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("-._~+/", c);
}

static int fail(struct scan *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct scan *sc, const char *fmt, ...)
{
        char what[160];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (sc->err && sc->err_size)
                snprintf(sc->err, sc->err_size,
                         "malformed WWW-Authenticate header at offset %zu: %s", sc->pos, what);
        return -EINVAL;
}

static bool at_end(const struct scan *sc)
{
        return sc->pos >= sc->len;
}

static unsigned char peek(const struct scan *sc)
{
        return at_end(sc) ? 0 : (unsigned char)sc->s[sc->pos];
}

static void skip_ows(struct scan *sc)
{
        while (peek(sc) == ' ' || peek(sc) == '\t')
                sc->pos++;
}

/* Skips OWS and any run of commas: empty list elements are allowed. */
static void skip_list_separators(struct scan *sc)
{
        for (;;) {
                skip_ows(sc);
                if (peek(sc) != ',')
                        return;
                sc->pos++;
        }
}

static size_t token_length(const struct scan *sc, size_t from)
{
        size_t n = 0;
        while (from + n < sc->len && is_tchar((unsigned char)sc->s[from + n]))
                n++;
        return n;
}

static int dup_lower(const char *s, size_t n, char **ret)
{
        char *p = malloc(n + 1);
        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                p[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
        p[n] = '\0';
        *ret = p;
        return 0;
}

/* A token68 is the whole rest of the challenge: token68 chars, then '='
 * padding, then only OWS before a comma or the end. Anything else (such as
 * "realm=x") is a parameter list. */
static size_t token68_length(const struct scan *sc)
{
        size_t n = 0, end;

        while (sc->pos + n < sc->len && is_token68_char((unsigned char)sc->s[sc->pos + n]))
                n++;
        if (n == 0)
                return 0;
        while (sc->pos + n < sc->len && sc->s[sc->pos + n] == '=')
                n++;
        end = sc->pos + n;
        while (end < sc->len && (sc->s[end] == ' ' || sc->s[end] == '\t'))
                end++;
        return (end == sc->len || sc->s[end] == ',') ? n : 0;
}

/* quoted-string of RFC 7230 section 3.2.6, starting at the opening quote. */
static int parse_quoted(struct scan *sc, char **ret)
{
        char *out = malloc(sc->len - sc->pos);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        sc->pos++;
        for (;;) {
                if (at_end(sc)) {
                        free(out);
                        return fail(sc, "unterminated quoted string");
                }
                unsigned char c = peek(sc);
                if (c == '"') {
                        sc->pos++;
                        break;
                }
                if (c == '\\') {
                        sc->pos++;
                        if (at_end(sc)) {
                                free(out);
                                return fail(sc, "unterminated quoted string");
                        }
                        c = peek(sc);
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        free(out);
                        return fail(sc, "control character 0x%02x in quoted string", c);
                }
                out[n++] = (char)c;
                sc->pos++;
        }
        out[n] = '\0';
        *ret = out;
        return 0;
}

static int parse_param(struct scan *sc, struct www_auth_challenge *c)
{
        size_t n = token_length(sc, sc->pos);
        char *name = NULL, *value = NULL;
        int r;

        if (n == 0)
                return fail(sc, "expected a parameter name");
        r = dup_lower(sc->s + sc->pos, n, &name);
        if (r < 0)
                return r;
        sc->pos += n;
        skip_ows(sc);
        if (peek(sc) != '=') {
                r = fail(sc, "expected '=' after parameter \"%s\"", name);
                goto out;
        }
        sc->pos++;
        skip_ows(sc);
        if (peek(sc) == '"') {
                r = parse_quoted(sc, &value);
                if (r < 0)
                        goto out;
        } else {
                n = token_length(sc, sc->pos);
                if (n == 0) {
                        r = fail(sc, "expected a token or quoted string as value of \"%s\"", name);
                        goto out;
                }
                value = strndup(sc->s + sc->pos, n);
                if (!value) {
                        r = -ENOMEM;
                        goto out;
                }
                sc->pos += n;
        }
        if (www_auth_param(c, name)) {
                r = fail(sc, "parameter \"%s\" given twice in one challenge", name);
                goto out;
        }
        if (c->n_params == WWW_AUTH_MAX_PARAMS) {
                r = fail(sc, "more than %d parameters in one challenge", WWW_AUTH_MAX_PARAMS);
                goto out;
        }
        c->params[c->n_params].name = name;
        c->params[c->n_params].value = value;
        c->n_params++;
        return 0;
out:
        free(name);
        free(value);
        return r;
}

/* After a comma: does an auth-param (token BWS "=") follow, rather than the
 * scheme of the next challenge? */
static bool param_follows(const struct scan *sc)
{
        size_t n = token_length(sc, sc->pos), i = sc->pos + n;

        if (n == 0)
                return false;
        while (i < sc->len && (sc->s[i] == ' ' || sc->s[i] == '\t'))
                i++;
        return i < sc->len && sc->s[i] == '=';
}

static int parse_params(struct scan *sc, struct www_auth_challenge *c)
{
        for (;;) {
                int r = parse_param(sc, c);
                if (r < 0)
                        return r;
                skip_ows(sc);
                if (at_end(sc))
                        return 0;
                if (peek(sc) != ',')
                        return fail(sc, "expected ',' or the end after parameter \"%s\"",
                                    c->params[c->n_params - 1].name);
                size_t comma = sc->pos;
                skip_list_separators(sc);
                if (!param_follows(sc)) {
                        /* The comma ends this challenge; the caller wants to see it. */
                        sc->pos = comma;
                        return 0;
                }
        }
}

static int parse_challenge(struct scan *sc, struct www_auth_challenge *c)
{
        size_t n = token_length(sc, sc->pos);
        int r;

        if (n == 0)
                return fail(sc, "expected an authentication scheme");
        r = dup_lower(sc->s + sc->pos, n, &c->scheme);
        if (r < 0)
                return r;
        sc->pos += n;
        if (at_end(sc) || peek(sc) == ',')
                return 0;
        if (peek(sc) != ' ')
                return fail(sc, "expected a space after scheme \"%s\"", c->scheme);
        while (peek(sc) == ' ')
                sc->pos++;
        if (at_end(sc) || peek(sc) == ',')
                return 0;
        n = token68_length(sc);
        if (n > 0) {
                c->token68 = strndup(sc->s + sc->pos, n);
                if (!c->token68)
                        return -ENOMEM;
                sc->pos += n;
                skip_ows(sc);
                return 0;
        }
        return parse_params(sc, c);
}

int www_auth_parse(const char *value, size_t len, struct www_auth *ret, char *err, size_t err_size)
{
        struct scan sc = {.s = value, .len = len, .err = err, .err_size = err_size};
        int r;

        memset(ret, 0, sizeof(*ret));
        if (len > WWW_AUTH_MAX_INPUT)
                return fail(&sc, "header longer than %d bytes", WWW_AUTH_MAX_INPUT);
        skip_list_separators(&sc);
        while (!at_end(&sc)) {
                if (ret->n_challenges == WWW_AUTH_MAX_CHALLENGES) {
                        r = fail(&sc, "more than %d challenges", WWW_AUTH_MAX_CHALLENGES);
                        goto fail;
                }
                r = parse_challenge(&sc, &ret->challenges[ret->n_challenges++]);
                if (r < 0)
                        goto fail;
                if (!at_end(&sc) && peek(&sc) != ',') {
                        r = fail(&sc, "unexpected character 0x%02x", peek(&sc));
                        goto fail;
                }
                skip_list_separators(&sc);
        }
        if (ret->n_challenges == 0)
                return fail(&sc, "no challenge");
        return 0;
fail:
        www_auth_free(ret);
        return r;
}

void www_auth_free(struct www_auth *a)
{
        for (size_t i = 0; i < a->n_challenges; i++) {
                struct www_auth_challenge *c = &a->challenges[i];
                free(c->scheme);
                free(c->token68);
                for (size_t k = 0; k < c->n_params; k++) {
                        free(c->params[k].name);
                        free(c->params[k].value);
                }
        }
        memset(a, 0, sizeof(*a));
}

const struct www_auth_challenge *www_auth_find(const struct www_auth *a, const char *scheme)
{
        for (size_t i = 0; i < a->n_challenges; i++)
                if (strcasecmp(a->challenges[i].scheme, scheme) == 0)
                        return &a->challenges[i];
        return NULL;
}

const char *www_auth_param(const struct www_auth_challenge *c, const char *name)
{
        for (size_t i = 0; i < c->n_params; i++)
                if (strcasecmp(c->params[i].name, name) == 0)
                        return c->params[i].value;
        return NULL;
}
