/* fuzz_registries.c: libFuzzer target for daemon/registries.h. Each input is
 * read as a registries.conf, merged twice (the second time exercises the
 * replace rules), and then asked for the candidates and pull sources of a
 * few fixed references. Besides memory errors it checks that messages are
 * one printable line, that a failed merge changes nothing, and that every
 * pull source is a valid host and repository path. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const refs[] = {
    "busybox",
    "library/busybox:1.36",
    "user/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "docker.io/library/alpine:3",
    "quay.io/ns/app:v1",
    "a.example.com:5000/x/y",
    "localhost/z",
    "[::1]:5000/ipv6",
};

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void check_message(const char *err)
{
        check(*err != '\0');
        for (const char *c = err; *c; c++)
                check((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void check_sources(const struct registries_conf *conf, const struct imageref *ref)
{
        struct pull_source *srcs = NULL;
        size_t n = 0;
        char err[1024] = "";

        int r = registries_pull_sources(conf, ref, &srcs, &n, err, sizeof(err));
        if (r < 0) {
                check(r == -EACCES || r == -EINVAL);
                check(!srcs);
                check_message(err);
                return;
        }
        check(n >= 1 && !srcs[n - 1].mirror);
        for (size_t i = 0; i < n; i++) {
                check(imageref_valid_domain(srcs[i].host, strlen(srcs[i].host)));
                check(imageref_valid_path(srcs[i].path, strlen(srcs[i].path)));
        }
        free(srcs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[1024] = "";
        struct registries_conf *conf = registries_new();
        if (!conf)
                return 0;

        int r = registries_merge(conf, (const char *)data, size, "fuzz", err, sizeof(err));
        if (r < 0) {
                check(r == -EINVAL);
                check(strncmp(err, "fuzz", 4) == 0);
                check_message(err);
                check(conf->n_registries == 0 && conf->n_aliases == 0 && conf->n_search == 0 &&
                      conf->n_warnings == 0 && *conf->files == '\0');
                registries_free(conf);
                return 0;
        }
        size_t n_registries = conf->n_registries, n_aliases = conf->n_aliases;
        check(registries_merge(conf, (const char *)data, size, "fuzz2", err, sizeof(err)) == 0);
        check(conf->n_registries == n_registries && conf->n_aliases == n_aliases);
        for (size_t i = 0; i < conf->n_warnings; i++)
                check_message(conf->warnings[i]);

        for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
                struct imageref ref, *cands = NULL;
                size_t n = 0;
                check(imageref_parse(refs[i], &ref, err, sizeof(err)) == 0);
                check_sources(conf, &ref);
                r = registries_resolve(conf, &ref, &cands, &n, err, sizeof(err));
                if (r < 0) {
                        check(r == -ENOENT || r == -EINVAL);
                        check(!cands);
                        check_message(err);
                        continue;
                }
                check(n >= 1);
                for (size_t j = 0; j < n; j++) {
                        check(cands[j].has_domain);
                        check_sources(conf, &cands[j]);
                }
                free(cands);
        }
        registries_free(conf);
        return 0;
}
