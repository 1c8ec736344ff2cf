/* fuzz_imageref.c: libFuzzer target for daemon/imageref.h. Besides memory
 * errors it checks what callers rely on: messages are one printable line, a
 * parsed reference formats to a string that parses back to the same parts,
 * and every part obeys the grammar's limits. A broken invariant aborts. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/imageref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char s[1024], err[512], buf[IMAGEREF_STRING_MAX], buf2[IMAGEREF_STRING_MAX];
        struct imageref ref, again;

        if (size >= sizeof(s))
                return -1;
        memcpy(s, data, size);
        s[size] = '\0';

        int r = imageref_parse(s, &ref, err, sizeof(err));
        if (r < 0) {
                check(r == -EINVAL);
                check(strncmp(err, "invalid image reference '", 25) == 0);
                for (const char *c = err; *c; c++)
                        check((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
                return 0;
        }
        check(strlen(ref.domain) + 1 + strlen(ref.path) <= IMAGEREF_NAME_MAX);
        check(*ref.tag || *ref.digest);
        check(imageref_valid_domain(ref.domain, strlen(ref.domain)));
        check(imageref_valid_path(ref.path, strlen(ref.path)));

        int n = imageref_format(&ref, buf, sizeof(buf));
        check(n > 0 && (size_t)n == strlen(buf));
        if (imageref_parse(buf, &again, err, sizeof(err)) < 0)
                abort();
        check(strcmp(again.domain, ref.domain) == 0);
        check(strcmp(again.path, ref.path) == 0);
        check(strcmp(again.tag, ref.tag) == 0);
        check(strcmp(again.digest, ref.digest) == 0);
        check(again.has_domain && !again.library_added && !again.tag_defaulted);
        check(imageref_format(&again, buf2, sizeof(buf2)) == n && strcmp(buf, buf2) == 0);

        check(imageref_format_name(&ref, buf, sizeof(buf)) > 0);
        check(imageref_format_tagged(&ref, buf, sizeof(buf)) ==
              (*ref.tag ? (int)strlen(buf) : -ENOENT));
        check(imageref_format_digested(&ref, buf, sizeof(buf)) ==
              (*ref.digest ? (int)strlen(buf) : -ENOENT));
        if (!ref.has_domain)
                check(strncmp(imageref_short_name(&ref), ref.path, 0) == 0 &&
                      strstr(s, imageref_short_name(&ref)) == s);
        return 0;
}
