/* fuzz_www_auth.c: libFuzzer target for the WWW-Authenticate parser
 * (daemon/www_auth.h). Besides memory errors it checks what the registry
 * client relies on: limits hold, names are lowercase tokens, no value holds
 * a control character, and errors carry a one-line message. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/www_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void check_name(const char *s)
{
        check(s && *s);
        for (; *s; s++)
                check((unsigned char)*s > 0x20 && *s != 0x7f && !(*s >= 'A' && *s <= 'Z'));
}

static void check_value(const char *s)
{
        for (; *s; s++)
                check(((unsigned char)*s >= 0x20 || *s == '\t') && *s != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct www_auth a;
        char err[256] = "";

        int r = www_auth_parse((const char *)data, size, &a, err, sizeof(err));
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM);
                check(a.n_challenges == 0);
                if (r == -EINVAL) {
                        check(strncmp(err, "malformed WWW-Authenticate header", 33) == 0);
                        check_value(err);
                }
                return 0;
        }
        check(a.n_challenges >= 1 && a.n_challenges <= WWW_AUTH_MAX_CHALLENGES);
        for (size_t i = 0; i < a.n_challenges; i++) {
                const struct www_auth_challenge *c = &a.challenges[i];
                check_name(c->scheme);
                check(www_auth_find(&a, c->scheme) <= c);
                check(c->n_params <= WWW_AUTH_MAX_PARAMS);
                check(!c->token68 || c->n_params == 0);
                for (size_t k = 0; k < c->n_params; k++) {
                        check_name(c->params[k].name);
                        check_value(c->params[k].value);
                        check(www_auth_param(c, c->params[k].name) == c->params[k].value);
                }
        }
        www_auth_free(&a);
        return 0;
}
