/* Unit tests for common/tlv.c: writer, reader, value rules and getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tlv.h"

/* Splits payload into fields with the reader; fails the test on error. */
static void parse(const void *payload, size_t len, struct tlv_fields *ret)
{
        struct tlv_reader r;
        struct tlv_field f;
        int k;

        ret->n = 0;
        tlv_reader_init(&r, payload, len);
        while ((k = tlv_reader_next(&r, &f)) == 1) {
                assert_true(ret->n < BRIG_HELPER_MAX_FIELDS);
                ret->items[ret->n++] = f;
        }
        assert_int_equal(k, 0);
}

/* Writes one raw element header (for inputs the writer would never make). */
static size_t raw(uint8_t *p, uint16_t tag, uint16_t type, uint32_t len)
{
        tlv_le16_encode(p, tag);
        tlv_le16_encode(p + 2, type);
        tlv_le32_encode(p + 4, len);
        return BRIG_TLV_HDR_SIZE;
}

static void test_le_layout(void **state)
{
        (void)state;
        uint8_t b[8];

        tlv_le16_encode(b, 0x0102);
        assert_memory_equal(b, "\x02\x01", 2);
        assert_int_equal(tlv_le16_decode(b), 0x0102);
        tlv_le32_encode(b, 0x01020304);
        assert_memory_equal(b, "\x04\x03\x02\x01", 4);
        assert_int_equal(tlv_le32_decode(b), 0x01020304);
        tlv_le64_encode(b, UINT64_C(0x0102030405060708));
        assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
        assert_true(tlv_le64_decode(b) == UINT64_C(0x0102030405060708));
        tlv_le32_encode(b, UINT32_MAX);
        assert_true(tlv_le32_decode(b) == UINT32_MAX);
}

static void test_writer_layout(void **state)
{
        (void)state;
        uint8_t buf[64];
        struct tlv_writer w;
        size_t len;

        tlv_writer_init(&w, buf, sizeof(buf));
        assert_int_equal(tlv_put_u32(&w, 0x0102, 0x0a0b0c0d), 0);
        assert_int_equal(tlv_put_string(&w, 7, "hi"), 0);
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(len, 12 + 11);
        assert_memory_equal(buf, "\x02\x01\x01\x00\x04\x00\x00\x00\x0d\x0c\x0b\x0a", 12);
        assert_memory_equal(buf + 12, "\x07\x00\x03\x00\x03\x00\x00\x00hi\0", 11);
}

static void test_roundtrip(void **state)
{
        (void)state;
        uint8_t buf[256];
        struct tlv_writer w;
        struct tlv_fields fs;
        size_t len;
        uint32_t u32;
        uint64_t u64;
        const char *s;
        const void *p;
        size_t plen;

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, 1, UINT32_MAX);
        tlv_put_u64(&w, 2, UINT64_MAX - 1);
        tlv_put_string(&w, 3, "brigd");
        tlv_put_string(&w, 4, "");
        tlv_put_bytes(&w, 5, "\0\1\2", 3);
        tlv_put_bytes(&w, 6, NULL, 0);
        tlv_put_fd(&w, 7, 5);
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        parse(buf, len, &fs);
        assert_int_equal(fs.n, 7);

        assert_int_equal(tlv_get_u32(&fs, 1, &u32), 0);
        assert_true(u32 == UINT32_MAX);
        assert_int_equal(tlv_get_u64(&fs, 2, &u64), 0);
        assert_true(u64 == UINT64_MAX - 1);
        assert_int_equal(tlv_get_string(&fs, 3, &s), 0);
        assert_string_equal(s, "brigd");
        assert_int_equal(tlv_get_string(&fs, 4, &s), 0);
        assert_string_equal(s, "");
        assert_int_equal(tlv_get_bytes(&fs, 5, &p, &plen), 0);
        assert_int_equal(plen, 3);
        assert_memory_equal(p, "\0\1\2", 3);
        assert_int_equal(tlv_get_bytes(&fs, 6, &p, &plen), 0);
        assert_int_equal(plen, 0);
        assert_int_equal(tlv_get_fd_index(&fs, 7, &u32), 0);
        assert_int_equal(u32, 5);
}

static void test_writer_overflow_sticky(void **state)
{
        (void)state;
        uint8_t buf[32];
        struct tlv_writer w;
        size_t len = 99;

        memset(buf, 0xaa, sizeof(buf));
        tlv_writer_init(&w, buf, 20);
        assert_int_equal(tlv_put_u32(&w, 1, 1), 0);
        /* 12 used, 8 left: a u32 element needs 12 */
        assert_int_equal(tlv_put_u32(&w, 2, 2), -EMSGSIZE);
        /* still 8 left, enough for an empty BYTES, but the error sticks */
        assert_int_equal(tlv_put_bytes(&w, 3, NULL, 0), -EMSGSIZE);
        assert_int_equal(tlv_put_string(&w, 4, ""), -EMSGSIZE);
        assert_int_equal(tlv_writer_finish(&w, &len), -EMSGSIZE);
        assert_int_equal(len, 99);
        assert_int_equal(w.len, 12);
        for (size_t i = 12; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0xaa);
}

static void test_writer_exact_fit(void **state)
{
        (void)state;
        uint8_t buf[16];
        struct tlv_writer w;
        size_t len;

        tlv_writer_init(&w, buf, sizeof(buf));
        assert_int_equal(tlv_put_bytes(&w, 1, "12345678", 8), 0);
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(len, 16);
        assert_int_equal(tlv_put_bytes(&w, 2, NULL, 0), -EMSGSIZE);

        /* less room than an element header */
        tlv_writer_init(&w, buf, 7);
        assert_int_equal(tlv_put_bytes(&w, 1, NULL, 0), -EMSGSIZE);
        tlv_writer_init(&w, NULL, 0);
        assert_int_equal(tlv_put_u64(&w, 1, 0), -EMSGSIZE);
}

static void test_writer_huge_value(void **state)
{
        (void)state;
        static uint8_t buf[BRIG_HELPER_MAX_PAYLOAD + 64];
        static const uint8_t src[BRIG_HELPER_MAX_PAYLOAD];
        struct tlv_writer w;

        /* the capacity is clamped to the protocol's payload limit */
        tlv_writer_init(&w, buf, sizeof(buf));
        assert_int_equal(w.cap, BRIG_HELPER_MAX_PAYLOAD);
        assert_int_equal(tlv_put_bytes(&w, 1, src, BRIG_HELPER_MAX_PAYLOAD - 7), -EMSGSIZE);
        tlv_writer_init(&w, buf, sizeof(buf));
        assert_int_equal(tlv_put_bytes(&w, 1, src, BRIG_HELPER_MAX_PAYLOAD - 8), 0);
        assert_int_equal(w.len, BRIG_HELPER_MAX_PAYLOAD);
        /* a length that would wrap if added to the offset */
        tlv_writer_init(&w, buf, 64);
        assert_int_equal(tlv_put_bytes(&w, 1, src, SIZE_MAX - 4), -EMSGSIZE);
}

static void test_reader_empty(void **state)
{
        (void)state;
        struct tlv_reader r;
        struct tlv_field f;

        tlv_reader_init(&r, NULL, 0);
        assert_int_equal(tlv_reader_next(&r, &f), 0);
        assert_int_equal(tlv_reader_next(&r, &f), 0);
        assert_null(r.error);
}

static void test_reader_truncated_header(void **state)
{
        (void)state;
        uint8_t buf[BRIG_TLV_HDR_SIZE];
        struct tlv_reader r;
        struct tlv_field f;

        raw(buf, 1, BRIG_TLV_BYTES, 0);
        for (size_t len = 1; len < BRIG_TLV_HDR_SIZE; len++) {
                tlv_reader_init(&r, buf, len);
                assert_int_equal(tlv_reader_next(&r, &f), -EBADMSG);
                assert_string_equal(r.error, "truncated element header");
                assert_int_equal(r.off, 0);
                /* sticky */
                assert_int_equal(tlv_reader_next(&r, &f), -EBADMSG);
        }
        /* a whole empty element is fine */
        tlv_reader_init(&r, buf, sizeof(buf));
        assert_int_equal(tlv_reader_next(&r, &f), 1);
        assert_int_equal(f.len, 0);
        assert_int_equal(tlv_reader_next(&r, &f), 0);
}

static void test_reader_truncated_value(void **state)
{
        (void)state;
        uint8_t buf[32] = {0};
        struct tlv_reader r;
        struct tlv_field f;
        size_t n;

        n = raw(buf, 1, BRIG_TLV_U32, 4);
        n += 4;
        n += raw(buf + n, 2, BRIG_TLV_BYTES, 5);
        /* second element declares 5 value bytes, only 4 follow */
        tlv_reader_init(&r, buf, n + 4);
        assert_int_equal(tlv_reader_next(&r, &f), 1);
        assert_int_equal(f.tag, 1);
        assert_int_equal(tlv_reader_next(&r, &f), -EBADMSG);
        assert_string_equal(r.error, "truncated element value");
        assert_int_equal(r.off, 12);
        /* the bytes beyond the declared length are never looked at */
        tlv_reader_init(&r, buf, n + 5);
        assert_int_equal(tlv_reader_next(&r, &f), 1);
        assert_int_equal(tlv_reader_next(&r, &f), 1);
        assert_int_equal(f.len, 5);
        assert_ptr_equal(f.value, buf + 20);
        assert_int_equal(tlv_reader_next(&r, &f), 0);
}

static void test_reader_length_overflow(void **state)
{
        (void)state;
        static const uint32_t lens[] = {
            UINT32_MAX, UINT32_MAX - 7, UINT32_MAX - 8, UINT32_MAX - 11, 0x80000000u, 9,
        };
        uint8_t buf[20] = {0};
        struct tlv_reader r;
        struct tlv_field f;

        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                raw(buf, 1, BRIG_TLV_BYTES, lens[i]);
                tlv_reader_init(&r, buf, 16);
                assert_int_equal(tlv_reader_next(&r, &f), -EBADMSG);
                assert_string_equal(r.error, "truncated element value");
                /* and as a second element, where off + length could wrap */
                raw(buf, 1, BRIG_TLV_BYTES, 0);
                raw(buf + 8, 2, BRIG_TLV_BYTES, lens[i]);
                tlv_reader_init(&r, buf, sizeof(buf));
                assert_int_equal(tlv_reader_next(&r, &f), 1);
                assert_int_equal(tlv_reader_next(&r, &f), -EBADMSG);
                assert_int_equal(r.off, 8);
        }
}

static void check_value(uint16_t type, const void *value, uint32_t len, int expect,
                        const char *reason)
{
        struct tlv_field f = {.tag = 1, .type = type, .len = len, .value = value};
        const char *why = NULL;

        assert_int_equal(tlv_field_check(&f, &why), expect);
        if (reason)
                assert_string_equal(why, reason);
        else
                assert_null(why);
        /* the reason pointer is optional */
        assert_int_equal(tlv_field_check(&f, NULL), expect);
}

static void test_check_fixed(void **state)
{
        (void)state;
        const uint8_t v[9] = {0};

        check_value(BRIG_TLV_U32, v, 4, 0, NULL);
        check_value(BRIG_TLV_U32, v, 0, -EINVAL, "U32 value must be 4 bytes");
        check_value(BRIG_TLV_U32, v, 3, -EINVAL, "U32 value must be 4 bytes");
        check_value(BRIG_TLV_U32, v, 5, -EINVAL, "U32 value must be 4 bytes");
        check_value(BRIG_TLV_U64, v, 8, 0, NULL);
        check_value(BRIG_TLV_U64, v, 4, -EINVAL, "U64 value must be 8 bytes");
        check_value(BRIG_TLV_U64, v, 9, -EINVAL, "U64 value must be 8 bytes");
        check_value(BRIG_TLV_FD, v, 4, 0, NULL);
        check_value(BRIG_TLV_FD, v, 8, -EINVAL, "FD value must be 4 bytes");
        check_value(BRIG_TLV_BYTES, v, 0, 0, NULL);
        check_value(BRIG_TLV_BYTES, v, 9, 0, NULL);
        check_value(0, v, 4, -EINVAL, "unknown value type");
        check_value(6, v, 4, -EINVAL, "unknown value type");
        check_value(0xffff, v, 4, -EINVAL, "unknown value type");
}

static void test_check_string(void **state)
{
        (void)state;

        check_value(BRIG_TLV_STRING, "", 1, 0, NULL);
        check_value(BRIG_TLV_STRING, "abc", 4, 0, NULL);
        check_value(BRIG_TLV_STRING, "", 0, -EINVAL, "STRING value is empty, lacks its NUL");
        check_value(BRIG_TLV_STRING, "abc", 3, -EINVAL, "STRING value lacks its final NUL");
        check_value(BRIG_TLV_STRING, "a\0b", 4, -EINVAL, "STRING value has an embedded NUL");
        check_value(BRIG_TLV_STRING, "\0\0", 2, -EINVAL, "STRING value has an embedded NUL");
        check_value(BRIG_TLV_STRING, "ab\0c", 4, -EINVAL, "STRING value lacks its final NUL");
}

static void test_type_names(void **state)
{
        (void)state;
        assert_string_equal(tlv_type_name(BRIG_TLV_U32), "U32");
        assert_string_equal(tlv_type_name(BRIG_TLV_U64), "U64");
        assert_string_equal(tlv_type_name(BRIG_TLV_STRING), "STRING");
        assert_string_equal(tlv_type_name(BRIG_TLV_BYTES), "BYTES");
        assert_string_equal(tlv_type_name(BRIG_TLV_FD), "FD");
        assert_string_equal(tlv_type_name(0), "unknown");
        assert_string_equal(tlv_type_name(99), "unknown");
}

static void test_getters_absent_and_mistyped(void **state)
{
        (void)state;
        uint8_t buf[64];
        struct tlv_writer w;
        struct tlv_fields fs;
        size_t len;
        uint32_t u32 = 42;
        uint64_t u64 = 42;
        const char *s = "untouched";
        const void *p = s;
        size_t plen = 42;

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, 1, 7);
        tlv_put_string(&w, 2, "x");
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        parse(buf, len, &fs);

        assert_int_equal(tlv_get_u32(&fs, 9, &u32), -ENOENT);
        assert_int_equal(tlv_get_u64(&fs, 9, &u64), -ENOENT);
        assert_int_equal(tlv_get_string(&fs, 9, &s), -ENOENT);
        assert_int_equal(tlv_get_bytes(&fs, 9, &p, &plen), -ENOENT);
        assert_int_equal(tlv_get_fd_index(&fs, 9, &u32), -ENOENT);

        assert_int_equal(tlv_get_u64(&fs, 1, &u64), -EINVAL);
        assert_int_equal(tlv_get_string(&fs, 1, &s), -EINVAL);
        assert_int_equal(tlv_get_bytes(&fs, 1, &p, &plen), -EINVAL);
        assert_int_equal(tlv_get_fd_index(&fs, 1, &u32), -EINVAL);
        assert_int_equal(tlv_get_u32(&fs, 2, &u32), -EINVAL);

        /* outputs are written only on success */
        assert_int_equal(u32, 42);
        assert_true(u64 == 42);
        assert_string_equal(s, "untouched");
        assert_ptr_equal(p, s);
        assert_int_equal(plen, 42);

        fs.n = 0;
        assert_int_equal(tlv_get_u32(&fs, 1, &u32), -ENOENT);
}

static void test_getters_recheck_values(void **state)
{
        (void)state;
        uint8_t buf[64] = {0};
        struct tlv_fields fs;
        size_t n = 0;
        uint32_t u32 = 42;
        uint64_t u64 = 42;
        const char *s = NULL;

        /* elements the reader accepts but whose values break type rules */
        n += raw(buf + n, 1, BRIG_TLV_U32, 3);
        n += 3;
        n += raw(buf + n, 2, BRIG_TLV_U64, 4);
        n += 4;
        n += raw(buf + n, 3, BRIG_TLV_STRING, 3);
        memcpy(buf + n, "abc", 3);
        n += 3;
        n += raw(buf + n, 4, BRIG_TLV_STRING, 3);
        memcpy(buf + n, "a\0\0", 3);
        n += 3;
        n += raw(buf + n, 5, BRIG_TLV_STRING, 0);
        n += raw(buf + n, 6, BRIG_TLV_FD, 2);
        n += 2;
        parse(buf, n, &fs);
        assert_int_equal(fs.n, 6);

        assert_int_equal(tlv_get_u32(&fs, 1, &u32), -EINVAL);
        assert_int_equal(tlv_get_u64(&fs, 2, &u64), -EINVAL);
        assert_int_equal(tlv_get_string(&fs, 3, &s), -EINVAL);
        assert_int_equal(tlv_get_string(&fs, 4, &s), -EINVAL);
        assert_int_equal(tlv_get_string(&fs, 5, &s), -EINVAL);
        assert_int_equal(tlv_get_fd_index(&fs, 6, &u32), -EINVAL);
        assert_null(s);
        assert_int_equal(u32, 42);
}

static void test_getters_first_wins(void **state)
{
        (void)state;
        uint8_t buf[64];
        struct tlv_writer w;
        struct tlv_fields fs;
        size_t len;
        uint32_t v;

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, 1, 10);
        tlv_put_u32(&w, 1, 20);
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        parse(buf, len, &fs);
        assert_int_equal(tlv_get_u32(&fs, 1, &v), 0);
        assert_int_equal(v, 10);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_le_layout),
            cmocka_unit_test(test_writer_layout),
            cmocka_unit_test(test_roundtrip),
            cmocka_unit_test(test_writer_overflow_sticky),
            cmocka_unit_test(test_writer_exact_fit),
            cmocka_unit_test(test_writer_huge_value),
            cmocka_unit_test(test_reader_empty),
            cmocka_unit_test(test_reader_truncated_header),
            cmocka_unit_test(test_reader_truncated_value),
            cmocka_unit_test(test_reader_length_overflow),
            cmocka_unit_test(test_check_fixed),
            cmocka_unit_test(test_check_string),
            cmocka_unit_test(test_type_names),
            cmocka_unit_test(test_getters_absent_and_mistyped),
            cmocka_unit_test(test_getters_recheck_values),
            cmocka_unit_test(test_getters_first_wins),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
