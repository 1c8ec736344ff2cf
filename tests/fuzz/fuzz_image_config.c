/* fuzz_image_config.c: libFuzzer target for daemon/image_config.h. Besides
 * memory errors it checks that a failure has a message, that a parsed
 * config has only valid diff ids within the limits, and that the User rule
 * gives exactly one of uid and username. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/digest.h"
#include "daemon/image_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct image_config *c = NULL;
        char err[512], username[256];
        bool has_uid;
        int64_t uid;

        err[0] = '\0';
        int r = image_config_parse(data, size, &c, err, sizeof(err));
        if (r < 0) {
                check(!c && err[0]);
                check(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
                return 0;
        }
        check(c->n_diff_ids <= IMAGE_CONFIG_MAX_LAYERS);
        for (size_t i = 0; i < c->n_diff_ids; i++)
                check(digest_valid(c->diff_ids[i]));
        check(c->n_env <= IMAGE_CONFIG_MAX_ITEMS && c->n_labels <= IMAGE_CONFIG_MAX_ITEMS);
        check(image_config_check_layers(c, c->n_diff_ids, err, sizeof(err)) == 0);
        check(image_config_check_layers(c, c->n_diff_ids + 1, err, sizeof(err)) == -EINVAL);
        image_config_user(c->user, &has_uid, &uid, username, sizeof(username));
        check(has_uid ? (username[0] == '\0' && uid >= 0 && uid < UINT32_MAX)
                      : (username[0] != '\0' && uid == 0));
        image_config_free(c);
        return 0;
}
