/* ids.c: owns the argument checks done before any file is touched: digest
 * form, media type and chain id (see ids.h). */
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

int ids_check_digest(const char *s)
{
        if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return -EINVAL;
        for (const char *p = s + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return -EINVAL;
        return 0;
}

int ids_media_type(const char *media_type, enum stream_compression *ret)
{
        static const struct {
                const char *type;
                enum stream_compression comp;
        } types[] = {
            {"application/vnd.oci.image.layer.v1.tar", STREAM_PLAIN},
            {"application/vnd.oci.image.layer.v1.tar+gzip", STREAM_GZIP},
            {"application/vnd.oci.image.layer.v1.tar+zstd", STREAM_ZSTD},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar", STREAM_PLAIN},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", STREAM_GZIP},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", STREAM_ZSTD},
            {"application/vnd.docker.image.rootfs.diff.tar.gzip", STREAM_GZIP},
            {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", STREAM_GZIP},
        };

        for (size_t i = 0; media_type && i < ARRAY_SIZE(types); i++)
                if (strcmp(media_type, types[i].type) == 0) {
                        *ret = types[i].comp;
                        return 0;
                }
        return -EINVAL;
}

int ids_check_chain(const char *chain_id, const char *parent_chain_id, const char *diff_id,
                    char *err, size_t err_size)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        char input[2 * 71 + 2], want[72];
        unsigned int len = 0;

        if (ids_check_digest(chain_id) < 0 || ids_check_digest(diff_id) < 0 ||
            (parent_chain_id && ids_check_digest(parent_chain_id) < 0)) {
                snprintf(err, err_size, "ids must be \"sha256:\" followed by 64 lowercase hex");
                return -EINVAL;
        }
        if (!parent_chain_id) {
                if (strcmp(chain_id, diff_id) == 0)
                        return 0;
                snprintf(err, err_size, "chain id %s of a base layer is not its diff id %s",
                         chain_id, diff_id);
                return -EINVAL;
        }
        snprintf(input, sizeof(input), "%s %s", parent_chain_id, diff_id);
        if (EVP_Digest(input, strlen(input), md, &len, EVP_sha256(), NULL) != 1 || len != 32) {
                snprintf(err, err_size, "sha256 failed");
                return -EIO;
        }
        memcpy(want, "sha256:", 7);
        for (unsigned i = 0; i < len; i++)
                snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
        if (strcmp(chain_id, want) == 0)
                return 0;
        snprintf(err, err_size, "chain id %s does not match parent %s and diff id %s (want %s)",
                 chain_id, parent_chain_id, diff_id, want);
        return -EINVAL;
}
