/* jsondoc.h: loading an untrusted JSON document (a manifest, an image
 * config, a store record) with the checks every such document gets. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* Parses len bytes at buf into *ret (json_decref() it). Refuses, with a
 * message naming what ("manifest", "image config", ...):
 *   -EFBIG   more than max bytes, before parsing
 *   -EINVAL  not valid JSON, or an object with a duplicate key */
int jsondoc_load(const void *buf, size_t len, size_t max, const char *what, json_t **ret, char *err,
                 size_t err_size);
