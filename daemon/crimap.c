/* crimap.c: copying CRI string maps into responses and matching label
 * selectors on them (crimap.h), for the pod and the container RPCs. */
#include "crimap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int crimap_copy(struct crimap_copy *m, const ProtobufCMessageDescriptor *desc, void *const *src,
                size_t n)
{
        m->n = n;
        m->entries = calloc(n ? n : 1, sizeof(*m->entries));
        m->ptrs = calloc(n ? n : 1, sizeof(*m->ptrs));
        if (!m->entries || !m->ptrs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct crimap_entry *s = src[i];

                protobuf_c_message_init(desc, &m->entries[i]);
                m->entries[i].key = s->key;
                m->entries[i].value = s->value;
                m->ptrs[i] = &m->entries[i];
        }
        return 0;
}

void crimap_free(struct crimap_copy *m)
{
        free(m->entries);
        free(m->ptrs);
        m->entries = NULL;
        m->ptrs = NULL;
}

bool crimap_has(void *const *entries, size_t n, const char *key, const char *value)
{
        for (size_t i = 0; i < n; i++) {
                const struct crimap_entry *e = entries[i];

                if (strcmp(e->key, key) == 0 && strcmp(e->value, value) == 0)
                        return true;
        }
        return false;
}
