/* jsondoc.c: owns the bounded, duplicate-refusing load of untrusted JSON. */
#include "jsondoc.h"

#include <errno.h>

#include "errbuf.h"

int jsondoc_load(const void *buf, size_t len, size_t max, const char *what, json_t **ret, char *err,
                 size_t err_size)
{
        json_error_t jerr;

        *ret = NULL;
        if (len > max)
                return errbuf_fail(err, err_size, -EFBIG,
                                   "%s is %zu bytes, more than the limit of %zu", what, len, max);
        /* Duplicate keys could mean one thing to brig and another to the
         * tool that signed or checked the document. */
        *ret = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!*ret)
                return errbuf_fail(err, err_size, -EINVAL, "%s is not valid JSON: %s (line %d)",
                                   what, jerr.text, jerr.line);
        return 0;
}
