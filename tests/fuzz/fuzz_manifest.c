/* fuzz_manifest.c: libFuzzer target for daemon/manifest.h. The first input
 * byte picks the Content-Type the "registry" sent; the rest is the
 * document. Besides memory errors it checks what callers rely on: a failure
 * always has a message, a parsed manifest obeys the limits and holds valid
 * digests, and platform selection on an index returns an entry of that
 * index or a message. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static const char *const content_types[] = {
    NULL,
    "",
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST "; charset=utf-8",
    "application/json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct manifest *m = NULL;
        char err[512];

        if (size < 1)
                return -1;
        const char *ct = content_types[data[0] % (sizeof(content_types) / sizeof(*content_types))];
        err[0] = '\0';
        int r = manifest_parse(ct, data + 1, size - 1, &m, err, sizeof(err));
        if (r < 0) {
                check(!m && err[0] && strlen(err) < sizeof(err));
                check(r == -EINVAL || r == -ENOTSUP || r == -EFBIG || r == -ENOMEM);
                return 0;
        }
        check(m != NULL);
        if (manifest_is_index(m)) {
                check(m->n_manifests <= MANIFEST_MAX_INDEX_ENTRIES);
                for (size_t i = 0; i < m->n_manifests; i++)
                        check(digest_valid(m->manifests[i].digest));
                static const char *const plats[][3] = {{"linux", "amd64", NULL},
                                                       {"linux", "arm", "v7"},
                                                       {"linux", "aarch64", ""},
                                                       {"windows", "amd64", NULL}};
                for (size_t p = 0; p < sizeof(plats) / sizeof(*plats); p++) {
                        const struct manifest_descriptor *d = NULL;
                        err[0] = '\0';
                        r = manifest_select(m, plats[p][0], plats[p][1], plats[p][2], &d, err,
                                            sizeof(err));
                        if (r == 0)
                                check(d >= m->manifests && d < m->manifests + m->n_manifests);
                        else
                                check(r == -ENOENT && !d && err[0]);
                }
        } else {
                check(m->n_layers <= MANIFEST_MAX_LAYERS);
                check(digest_valid(m->config.digest));
                for (size_t i = 0; i < m->n_layers; i++) {
                        check(digest_valid(m->layers[i].digest));
                        check(manifest_layer_compression(m->layers[i].media_type, NULL) == 0);
                }
        }
        manifest_free(m);
        return 0;
}
