/* crimap.h: CRI string maps (labels, annotations) as protobuf-c gives
 * them: every generated map entry type has the same layout (a message
 * header, key, value) and only its descriptor differs, so one piece of code
 * copies any of them into a response and matches a label selector on any
 * of them. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* The layout every CRI map entry message has. */
struct crimap_entry {
        ProtobufCMessage base;
        char *key;
        char *value;
};

/* A response's map pointing at the strings of a request's: entries of the
 * response's descriptor, and the pointer array the response takes. */
struct crimap_copy {
        struct crimap_entry *entries;
        struct crimap_entry **ptrs;
        size_t n;
};

/* Fills m with n entries of descriptor desc pointing at src's strings
 * (which must outlive m). Returns 0 or -ENOMEM; free m with crimap_free()
 * on both paths. */
int crimap_copy(struct crimap_copy *m, const ProtobufCMessageDescriptor *desc, void *const *src,
                size_t n);
void crimap_free(struct crimap_copy *m);

/* Whether the map entries[0..n) hold key with exactly value: one term of
 * a CRI label selector. */
bool crimap_has(void *const *entries, size_t n, const char *key, const char *value);
