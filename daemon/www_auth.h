/* www_auth.h: a strict parser of HTTP WWW-Authenticate challenges.
 *
 * The grammar is RFC 7235 section 4.1 with the list rule of RFC 7230
 * section 7:
 *   WWW-Authenticate = 1#challenge
 *   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param       = token BWS "=" BWS ( token / quoted-string )
 * Empty list elements are skipped. A registry's answer is untrusted input,
 * so anything outside the grammar (control characters, unterminated
 * quotes, a parameter named twice in one challenge) is an error, and the
 * WWW_AUTH_MAX_* limits bound memory and time.
 */
#pragma once

#include <stddef.h>

#define WWW_AUTH_MAX_INPUT      8192 /* bytes in one header value */
#define WWW_AUTH_MAX_CHALLENGES 8
#define WWW_AUTH_MAX_PARAMS     16 /* per challenge */

struct www_auth_param {
        char *name;  /* lowercased: parameter names are case-insensitive */
        char *value; /* unquoted, quoted-pairs resolved; never contains a control character */
};

struct www_auth_challenge {
        char *scheme;  /* lowercased, e.g. "basic", "bearer" */
        char *token68; /* the token68 form (e.g. "Negotiate abc=="), else NULL */
        struct www_auth_param params[WWW_AUTH_MAX_PARAMS];
        size_t n_params;
};

struct www_auth {
        struct www_auth_challenge challenges[WWW_AUTH_MAX_CHALLENGES];
        size_t n_challenges;
};

/* Parses one WWW-Authenticate header value of len bytes (no NUL needed).
 * Returns 0 with at least one challenge in *ret, or -EINVAL with a message
 * in err naming the offset and the problem, or -ENOMEM. *ret needs
 * www_auth_free() after success only; on failure it holds nothing. */
int www_auth_parse(const char *value, size_t len, struct www_auth *ret, char *err, size_t err_size);

/* Releases what www_auth_parse() stored; the struct may be parsed into again. */
void www_auth_free(struct www_auth *a);

/* The first challenge whose scheme equals scheme (case-insensitive), or NULL. */
const struct www_auth_challenge *www_auth_find(const struct www_auth *a, const char *scheme);

/* The value of the parameter name (case-insensitive) in c, or NULL. */
const char *www_auth_param(const struct www_auth_challenge *c, const char *name);
