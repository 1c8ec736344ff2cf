/* registry_auth.c: owns the CRI AuthConfig → credentials rules of
 * registry_auth.h, including the strict base64 decoder for `auth`. */
#include "registry_auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_set(const char *s)
{
        return s && *s;
}

static int b64_value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int registry_base64_decode(const char *s, size_t len, char **ret, size_t *ret_len)
{
        size_t n = 0;
        char *out;

        if (len % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                bool last = i + 4 == len;
                int v[4];
                size_t pad = 0;

                for (size_t k = 0; k < 4; k++) {
                        unsigned char c = (unsigned char)s[i + k];
                        /* '=' only at the end, at most two, and nothing after it. */
                        if (c == '=' && last && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                                v[k] = 0;
                                pad++;
                                continue;
                        }
                        v[k] = b64_value(c);
                        if (v[k] < 0 || pad > 0)
                                goto invalid;
                }
                uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                                (uint32_t)v[3];
                /* Canonical form only: the bits the padding hides must be zero. */
                if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff)))
                        goto invalid;
                out[n++] = (char)(bits >> 16);
                if (pad < 2)
                        out[n++] = (char)(bits >> 8 & 0xff);
                if (pad < 1)
                        out[n++] = (char)(bits & 0xff);
        }
        out[n] = '\0';
        *ret = out;
        *ret_len = n;
        return 0;
invalid:
        free(out);
        return -EINVAL;
}

static int check_value(const char *field, const char *s, size_t len, char *err, size_t err_size)
{
        if (len > REGISTRY_AUTH_MAX_FIELD) {
                snprintf(err, err_size, "auth config: %s is longer than %d bytes", field,
                         REGISTRY_AUTH_MAX_FIELD);
                return -EINVAL;
        }
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7f) {
                        snprintf(err, err_size,
                                 "auth config: %s contains a control character at byte %zu", field,
                                 i);
                        return -EINVAL;
                }
        }
        return 0;
}

static int check_username(const char *field, const char *s, char *err, size_t err_size)
{
        int r = check_value(field, s, strlen(s), err, err_size);
        if (r < 0)
                return r;
        if (strchr(s, ':')) {
                snprintf(err, err_size,
                         "auth config: %s contains ':', which HTTP Basic authentication cannot "
                         "carry",
                         field);
                return -EINVAL;
        }
        return 0;
}

/* Copies an optional field after checking it; unset stays NULL. */
static int take(const char *field, const char *s, char **ret, char *err, size_t err_size)
{
        if (!is_set(s))
                return 0;
        int r = check_value(field, s, strlen(s), err, err_size);
        if (r < 0)
                return r;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int decode_auth(const char *auth, struct registry_creds *c, char *err, size_t err_size)
{
        char *plain = NULL, *colon;
        size_t len = 0;
        int r;

        if (strlen(auth) > REGISTRY_AUTH_MAX_FIELD * 2) {
                snprintf(err, err_size, "auth config: auth is longer than %d bytes",
                         REGISTRY_AUTH_MAX_FIELD * 2);
                return -EINVAL;
        }
        r = registry_base64_decode(auth, strlen(auth), &plain, &len);
        if (r == -EINVAL)
                snprintf(err, err_size, "auth config: auth is not valid base64");
        if (r < 0)
                return r;
        r = -EINVAL;
        if (memchr(plain, '\0', len)) {
                snprintf(err, err_size, "auth config: decoded auth contains a NUL byte");
                goto out;
        }
        colon = strchr(plain, ':');
        if (!colon || colon == plain) {
                snprintf(err, err_size,
                         "auth config: decoded auth is not of the form \"username:password\"");
                goto out;
        }
        *colon = '\0';
        r = check_username("username in auth", plain, err, err_size);
        if (r < 0)
                goto out;
        r = check_value("password in auth", colon + 1, strlen(colon + 1), err, err_size);
        if (r < 0)
                goto out;
        c->username = strdup(plain);
        c->password = strdup(colon + 1);
        r = c->username && c->password ? 0 : -ENOMEM;
out:
        explicit_bzero(plain, len);
        free(plain);
        return r;
}

int registry_creds_from_auth_config(const struct registry_auth_config *in,
                                    struct registry_creds *ret, char *err, size_t err_size)
{
        struct registry_creds c = {0};
        int r;

        if (is_set(in->auth)) {
                r = decode_auth(in->auth, &c, err, err_size);
        } else if (is_set(in->username) || is_set(in->password)) {
                if (!is_set(in->username)) {
                        snprintf(err, err_size, "auth config: password given without username");
                        r = -EINVAL;
                        goto out;
                }
                r = check_username("username", in->username, err, err_size);
                if (r < 0)
                        goto out;
                r = take("username", in->username, &c.username, err, err_size);
                if (r < 0)
                        goto out;
                c.password = strdup(in->password ? in->password : "");
                r = c.password
                        ? check_value("password", c.password, strlen(c.password), err, err_size)
                        : -ENOMEM;
        } else {
                r = 0;
        }
        if (r < 0)
                goto out;
        r = take("identity_token", in->identity_token, &c.identity_token, err, err_size);
        if (r < 0)
                goto out;
        r = take("registry_token", in->registry_token, &c.registry_token, err, err_size);
        if (r < 0)
                goto out;
        *ret = c;
        return 0;
out:
        registry_creds_clear(&c);
        return r;
}

bool registry_creds_empty(const struct registry_creds *c)
{
        return !c || (!c->username && !c->password && !c->identity_token && !c->registry_token);
}

static void wipe(char **s)
{
        if (*s) {
                explicit_bzero(*s, strlen(*s));
                free(*s);
                *s = NULL;
        }
}

void registry_creds_clear(struct registry_creds *c)
{
        if (!c)
                return;
        wipe(&c->username);
        wipe(&c->password);
        wipe(&c->identity_token);
        wipe(&c->registry_token);
}
