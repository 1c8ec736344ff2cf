/* fuzz_store_record.c: libFuzzer target for the image record loader of
 * daemon/store.h. Besides memory errors it checks that a failure has a
 * message, and that an accepted record formats to JSON that parses back to
 * the same record (what a restart of brigd relies on). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct store_image *img = NULL, *again = NULL;
        char err[512], *json = NULL, *json2 = NULL;
        size_t len = 0, len2 = 0;

        err[0] = '\0';
        int r = store_record_parse(data, size, &img, err, sizeof(err));
        if (r < 0) {
                check(!img && err[0]);
                check(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
                return 0;
        }
        check(digest_valid(img->id) && digest_equal(img->id, img->config_digest));
        check(img->n_layers <= STORE_MAX_LAYERS && img->n_repo_tags <= STORE_MAX_NAMES);
        check(img->has_uid != (img->username != NULL));
        check(store_record_format(img, &json, &len) == 0);
        check(store_record_parse(json, len, &again, err, sizeof(err)) == 0);
        check(store_record_format(again, &json2, &len2) == 0);
        check(len == len2 && memcmp(json, json2, len) == 0);
        struct store_image *dup = store_image_dup(again);
        check(dup && dup->n_layers == img->n_layers);
        store_image_free(dup);
        free(json);
        free(json2);
        store_image_free(again);
        store_image_free(img);
        return 0;
}
