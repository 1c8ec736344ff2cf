/* ctrspec_encode.h: brigd's encoder of the container request
 * (common/ctrspec.h) into the TLV stream brig-helper decodes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ctrspec.h"

/* Encodes spec into a malloc'd buffer. Returns 0 with *ret and *ret_len, or
 * -EMSGSIZE when it would pass CTRSPEC_MAX_SIZE or a count or length limit
 * (err says which), -EINVAL when the result would break another rule
 * ctrspec_decode() enforces (a NULL string, no ARG, a flag or kind out of
 * range; err says which), -ENOMEM. */
int ctrspec_encode(const struct ctr_spec *spec, uint8_t **ret, size_t *ret_len, char *err,
                   size_t err_size);

/* ctrspec_encode() for an update of a running container's resources
 * (CTR_UPDATE): only the resource fields (CPU period, quota and shares,
 * memory limit and swap, cpusets, pids limit, hugepages, unified) are
 * encoded, and the decoder refuses any other tag; nothing is required. */
int ctrspec_encode_resources(const struct ctr_spec *spec, uint8_t **ret, size_t *ret_len, char *err,
                             size_t err_size);
