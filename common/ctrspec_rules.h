/* ctrspec_rules.h: the container request's table of tags, shared by the
 * decoder (common/ctrspec.c, linked into brig-helper) and brigd's encoder
 * (daemon/ctrspec_encode.c), so that both follow one set of rules while
 * the encoder stays out of the root side.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* What one tag of one level may be. */
struct ctrspec_rule {
        uint16_t tag;
        uint16_t type;
        uint32_t min, max;                  /* how many elements of this tag */
        uint32_t max_len;                   /* STRING: most bytes before the NUL */
        const struct ctrspec_level *record; /* BYTES: the level of its nested TLV */
        const char *name;
};

struct ctrspec_level {
        const char *name;
        const struct ctrspec_rule *rules;
        size_t n_rules;
};

/* The levels: the whole request, and the resources of an update. */
const struct ctrspec_level *ctrspec_level_top(void);
const struct ctrspec_level *ctrspec_level_resources(void);

/* The rule of tag in lv; tag must be one of lv's. */
const struct ctrspec_rule *ctrspec_rule(const struct ctrspec_level *lv, uint16_t tag);

/* The decoder's whole check of len bytes at buf as lv. Returns 0 or its
 * negative errno with err naming the element and the rule. */
int ctrspec_check(const struct ctrspec_level *lv, const uint8_t *buf, size_t len, char *err,
                  size_t err_size);
