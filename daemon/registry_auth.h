/* registry_auth.h: turns a CRI AuthConfig into registry credentials.
 *
 * kubelet sends an AuthConfig with a PullImage request (from an image pull
 * secret or a credential provider). Its fields, and how they are used here:
 *   auth            base64 of "user:password" (the Docker config.json form);
 *                   when set it wins over username/password
 *   username,
 *   password        HTTP Basic credentials, also sent to a Bearer token realm
 *   identity_token  an OAuth2 refresh token, exchanged at the token realm
 *                   with grant_type=refresh_token
 *   registry_token  a Bearer token sent to the registry as it is
 *   server_address  not used here: the caller picks the AuthConfig for a
 *                   registry before asking for credentials
 * Every value is checked so that it can go into an HTTP header or form
 * without changing its meaning: no control characters, bounded length, and
 * a username without ':'.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define REGISTRY_AUTH_MAX_FIELD 8192 /* bytes in one decoded value */

/* The CRI AuthConfig fields as plain strings; NULL and "" both mean unset. */
struct registry_auth_config {
        const char *username;
        const char *password;
        const char *auth;
        const char *server_address;
        const char *identity_token;
        const char *registry_token;
};

/* Owned, validated credentials; NULL fields are unset. */
struct registry_creds {
        char *username;
        char *password;
        char *identity_token;
        char *registry_token;
};

/* Fills *ret from in. Returns 0, -EINVAL with a message in err naming the
 * bad field (never its value: these are secrets), or -ENOMEM. A config with
 * nothing set gives empty credentials (anonymous pulls). On failure *ret
 * holds nothing that needs freeing. */
int registry_creds_from_auth_config(const struct registry_auth_config *in,
                                    struct registry_creds *ret, char *err, size_t err_size);

/* True when no credential is set: the pull is anonymous. */
bool registry_creds_empty(const struct registry_creds *c);

/* Overwrites the secrets with zeros, frees them and resets *c. NULL is a no-op. */
void registry_creds_clear(struct registry_creds *c);

/* Decodes standard base64 (RFC 4648 section 4, padding required, no
 * whitespace) of len bytes into a malloc'd NUL-terminated buffer; *ret_len
 * gets the decoded length. Returns 0, -EINVAL for invalid input or -ENOMEM. */
int registry_base64_decode(const char *s, size_t len, char **ret, size_t *ret_len);
