/* test_jsonw.c: unit tests for common/jsonw.h: the exact text written for
 * each kind of value and for the escapes, that jansson reads back what was
 * written, malformed UTF-8 refused with -EILSEQ, misuse refused with
 * -EINVAL, the depth limit, and that an error is sticky. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* The finished document, asserted to be exactly want. */
static void assert_doc(struct jsonw *w, const char *want)
{
        char *doc = NULL;
        size_t len = 0;

        assert_int_equal(jsonw_finish(w, &doc, &len), 0);
        assert_string_equal(doc, want);
        assert_int_equal(len, strlen(want));
        free(doc);
        jsonw_free(w);
}

/* The one string s as a document, read back by jansson. */
static void assert_roundtrip(const char *s)
{
        struct jsonw w;
        json_error_t jerr;
        char *doc = NULL;
        size_t len = 0;

        jsonw_init(&w);
        assert_int_equal(jsonw_string(&w, s), 0);
        assert_int_equal(jsonw_finish(&w, &doc, &len), 0);
        json_t *v = json_loadb(doc, len, JSON_DECODE_ANY, &jerr);
        if (!v)
                fail_msg("jansson refused %s: %s", doc, jerr.text);
        assert_true(json_is_string(v));
        assert_int_equal(json_string_length(v), strlen(s));
        assert_memory_equal(json_string_value(v), s, strlen(s));
        json_decref(v);
        free(doc);
}

static void test_values(void **state)
{
        struct jsonw w;

        (void)state;
        jsonw_init(&w);
        jsonw_begin_object(&w);
        jsonw_key(&w, "a");
        jsonw_int(&w, INT64_MIN);
        jsonw_key(&w, "b");
        jsonw_int(&w, INT64_MAX);
        jsonw_key(&w, "c");
        jsonw_uint(&w, UINT64_MAX);
        jsonw_key(&w, "d");
        jsonw_bool(&w, true);
        jsonw_key(&w, "e");
        jsonw_bool(&w, false);
        jsonw_key(&w, "f");
        jsonw_begin_array(&w);
        jsonw_int(&w, -1);
        jsonw_string(&w, "");
        jsonw_begin_object(&w);
        jsonw_end_object(&w);
        jsonw_begin_array(&w);
        jsonw_end_array(&w);
        jsonw_end_array(&w);
        jsonw_key(&w, "g");
        jsonw_uint(&w, 0);
        assert_int_equal(jsonw_end_object(&w), 0);
        assert_doc(&w, "{\"a\":-9223372036854775808,\"b\":9223372036854775807,"
                       "\"c\":18446744073709551615,\"d\":true,\"e\":false,"
                       "\"f\":[-1,\"\",{},[]],\"g\":0}");

        /* a scalar alone is a document too */
        jsonw_init(&w);
        jsonw_int(&w, 7);
        assert_doc(&w, "7");
}

static void test_escapes(void **state)
{
        struct jsonw w;

        (void)state;
        jsonw_init(&w);
        jsonw_begin_array(&w);
        jsonw_string(&w, "q\"b\\s/");
        jsonw_string(&w, "\x01\x08\t\n\x0c\r\x1f");
        jsonw_string(&w, "\x7f"); /* DEL needs no escape in JSON */
        jsonw_string(&w, "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
        jsonw_end_array(&w);
        assert_doc(&w, "[\"q\\\"b\\\\s/\",\"\\u0001\\u0008\\u0009\\u000a\\u000c\\u000d\\u001f\","
                       "\"\x7f\",\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"]");

        /* keys are escaped the same way */
        jsonw_init(&w);
        jsonw_begin_object(&w);
        jsonw_key(&w, "k\"\n");
        jsonw_bool(&w, true);
        jsonw_end_object(&w);
        assert_doc(&w, "{\"k\\\"\\u000a\":true}");

        /* every byte 0x01..0x7f, and non-ASCII, read back unchanged */
        char all[128];
        for (int i = 1; i < 128; i++)
                all[i - 1] = (char)i;
        all[127] = '\0';
        assert_roundtrip(all);
        assert_roundtrip("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf");
        assert_roundtrip("");
}

static void test_bad_utf8(void **state)
{
        static const char *const bad[] = {
            "\xff",             /* never valid */
            "a\x80",            /* lone continuation byte */
            "\xc3",             /* truncated */
            "\xc3(",            /* bad continuation */
            "\xc0\xaf",         /* overlong '/' */
            "\xe0\x80\xaf",     /* overlong */
            "\xed\xa0\x80",     /* surrogate U+D800 */
            "\xf4\x90\x80\x80", /* past U+10FFFF */
            "ok\xe6\x97",       /* truncated at the end */
        };
        struct jsonw w;
        char *doc = NULL;
        size_t len = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                jsonw_init(&w);
                jsonw_begin_array(&w);
                jsonw_string(&w, "fine");
                if (jsonw_string(&w, bad[i]) != -EILSEQ)
                        fail_msg("bad string %zu accepted", i);
                /* sticky: later calls do nothing and report it */
                assert_int_equal(jsonw_string(&w, "fine"), -EILSEQ);
                assert_int_equal(jsonw_end_array(&w), -EILSEQ);
                assert_int_equal(jsonw_finish(&w, &doc, &len), -EILSEQ);
                assert_null(doc);
                jsonw_free(&w);
        }
        /* in a key too */
        jsonw_init(&w);
        jsonw_begin_object(&w);
        assert_int_equal(jsonw_key(&w, "\xfe"), -EILSEQ);
        jsonw_free(&w);
}

static void test_misuse(void **state)
{
        struct jsonw w;
        char *doc = NULL;
        size_t len = 0;

        (void)state;
        /* a key outside an object */
        jsonw_init(&w);
        assert_int_equal(jsonw_key(&w, "k"), -EINVAL);
        jsonw_free(&w);
        jsonw_init(&w);
        jsonw_begin_array(&w);
        assert_int_equal(jsonw_key(&w, "k"), -EINVAL);
        jsonw_free(&w);
        /* a value in an object without its key, two keys in a row */
        jsonw_init(&w);
        jsonw_begin_object(&w);
        assert_int_equal(jsonw_int(&w, 1), -EINVAL);
        jsonw_free(&w);
        jsonw_init(&w);
        jsonw_begin_object(&w);
        jsonw_key(&w, "a");
        assert_int_equal(jsonw_key(&w, "b"), -EINVAL);
        jsonw_free(&w);
        /* an object closed after a key, without its value */
        jsonw_init(&w);
        jsonw_begin_object(&w);
        jsonw_key(&w, "a");
        assert_int_equal(jsonw_end_object(&w), -EINVAL);
        jsonw_free(&w);
        /* mismatched and extra ends */
        jsonw_init(&w);
        jsonw_begin_array(&w);
        assert_int_equal(jsonw_end_object(&w), -EINVAL);
        jsonw_free(&w);
        jsonw_init(&w);
        assert_int_equal(jsonw_end_array(&w), -EINVAL);
        jsonw_free(&w);
        /* a second top-level value */
        jsonw_init(&w);
        jsonw_begin_object(&w);
        jsonw_end_object(&w);
        assert_int_equal(jsonw_begin_object(&w), -EINVAL);
        jsonw_free(&w);
        /* finishing an incomplete or empty document */
        jsonw_init(&w);
        assert_int_equal(jsonw_finish(&w, &doc, &len), -EINVAL);
        jsonw_begin_array(&w);
        assert_int_equal(jsonw_finish(&w, &doc, &len), -EINVAL);
        assert_null(doc);
        jsonw_free(&w);
}

static void test_depth(void **state)
{
        struct jsonw w;
        char want[2 * JSONW_MAX_DEPTH + 1];

        (void)state;
        jsonw_init(&w);
        for (int i = 0; i < JSONW_MAX_DEPTH; i++)
                assert_int_equal(jsonw_begin_array(&w), 0);
        assert_int_equal(jsonw_begin_array(&w), -E2BIG);
        jsonw_free(&w);

        jsonw_init(&w);
        for (int i = 0; i < JSONW_MAX_DEPTH; i++)
                jsonw_begin_array(&w);
        for (int i = 0; i < JSONW_MAX_DEPTH; i++)
                jsonw_end_array(&w);
        memset(want, '[', JSONW_MAX_DEPTH);
        memset(want + JSONW_MAX_DEPTH, ']', JSONW_MAX_DEPTH);
        want[2 * JSONW_MAX_DEPTH] = '\0';
        assert_doc(&w, want);
}

/* Many items: the buffer grows, commas stay right, jansson agrees. */
static void test_large(void **state)
{
        struct jsonw w;
        json_error_t jerr;
        char *doc = NULL, key[32];
        size_t len = 0;

        (void)state;
        jsonw_init(&w);
        jsonw_begin_object(&w);
        for (int i = 0; i < 20000; i++) {
                snprintf(key, sizeof(key), "key%d", i);
                jsonw_key(&w, key);
                jsonw_begin_array(&w);
                jsonw_int(&w, i);
                jsonw_string(&w, key);
                jsonw_end_array(&w);
        }
        jsonw_end_object(&w);
        assert_int_equal(jsonw_finish(&w, &doc, &len), 0);
        assert_int_equal(strlen(doc), len);
        json_t *v = json_loadb(doc, len, 0, &jerr);
        if (!v)
                fail_msg("jansson refused the document: %s", jerr.text);
        assert_int_equal(json_object_size(v), 20000);
        json_t *item = json_object_get(v, "key12345");
        assert_int_equal(json_integer_value(json_array_get(item, 0)), 12345);
        assert_string_equal(json_string_value(json_array_get(item, 1)), "key12345");
        json_decref(v);
        free(doc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_values),   cmocka_unit_test(test_escapes),
            cmocka_unit_test(test_bad_utf8), cmocka_unit_test(test_misuse),
            cmocka_unit_test(test_depth),    cmocka_unit_test(test_large),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
