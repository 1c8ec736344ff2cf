/* test_digest.c: unit tests for daemon/digest.h: digest syntax and each
 * refusal, hashing against known vectors (streamed and whole), and chain
 * ids per the OCI image spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "daemon/digest.h"

#define HEX64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64
#define D64    ("sha256:" HEX64)
/* sha256("abc") and sha512("abc") from FIPS 180-2. */
#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC                                                                                 \
        "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a8"  \
        "36ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_parse_ok(void **state)
{
        enum digest_algo algo;
        (void)state;
        assert_int_equal(digest_parse("sha256:" HEX64, &algo, NULL, 0), 0);
        assert_int_equal(algo, DIGEST_SHA256);
        assert_int_equal(digest_parse("sha512:" HEX128, &algo, NULL, 0), 0);
        assert_int_equal(algo, DIGEST_SHA512);
        assert_string_equal(digest_hex("sha256:" HEX64), HEX64);
        assert_string_equal(digest_algo_name(DIGEST_SHA512), "sha512");
}

static void check_bad(const char *s, const char *why)
{
        char err[256] = "";
        assert_int_equal(digest_parse(s, NULL, err, sizeof(err)), -EINVAL);
        if (!strstr(err, why))
                fail_msg("'%s': message '%s' lacks '%s'", s, err, why);
        assert_false(digest_valid(s));
}

static void test_parse_refusals(void **state)
{
        (void)state;
        check_bad("", "empty");
        check_bad(HEX64, "expected <algorithm>:<hex>");
        check_bad("md5:" HEX64, "unsupported algorithm");
        check_bad("sha384:" HEX64, "unsupported algorithm");
        check_bad("sha256+b64u:" HEX64, "unsupported algorithm");
        check_bad("SHA256:" HEX64, "unsupported algorithm");
        check_bad("sha256:" HEX64 "0", "64 hex");
        check_bad("sha256:abc", "64 hex");
        check_bad("sha512:" HEX64, "128 hex");
        check_bad("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                  "lowercase");
        check_bad("sha256:/123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                  "lowercase");
        assert_false(digest_valid(NULL));
}

static void test_hash_vectors(void **state)
{
        char out[DIGEST_STRING_MAX + 1];
        struct digest_hasher h = {0};
        (void)state;

        assert_int_equal(digest_buffer(DIGEST_SHA256, "abc", 3, out), 0);
        assert_string_equal(out, SHA256_ABC);
        assert_int_equal(digest_buffer(DIGEST_SHA512, "abc", 3, out), 0);
        assert_string_equal(out, SHA512_ABC);
        assert_int_equal(digest_buffer(DIGEST_SHA256, "", 0, out), 0);
        assert_string_equal(out, SHA256_EMPTY);

        assert_int_equal(digest_hasher_init(&h, DIGEST_SHA256), 0);
        assert_int_equal(digest_hasher_update(&h, "a", 1), 0);
        assert_int_equal(digest_hasher_update(&h, "", 0), 0);
        assert_int_equal(digest_hasher_update(&h, "bc", 2), 0);
        assert_int_equal(h.bytes, 3);
        assert_int_equal(digest_hasher_final(&h, out), 0);
        assert_true(digest_equal(out, SHA256_ABC));
        assert_false(digest_equal(out, SHA256_EMPTY));
        /* Finished: further use is refused rather than crashing. */
        assert_int_equal(digest_hasher_update(&h, "x", 1), -EINVAL);
        assert_int_equal(digest_hasher_final(&h, out), -EINVAL);
        digest_hasher_done(&h);
        digest_hasher_done(&h);
}

static void test_hex_round_trip(void **state)
{
        static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
        char hex[2 * sizeof(bytes) + 1];
        uint8_t *back = NULL;
        size_t len = 0;

        (void)state;
        digest_hex_encode(bytes, sizeof(bytes), hex);
        assert_string_equal(hex, "00017f80abff");
        assert_int_equal(digest_hex_decode(hex, &back, &len), 0);
        assert_int_equal(len, sizeof(bytes));
        assert_memory_equal(back, bytes, sizeof(bytes));
        free(back);
        assert_int_equal(digest_hex_decode("", &back, &len), 0);
        assert_int_equal(len, 0);
        free(back);
        assert_int_equal(digest_hex_decode("abc", &back, &len), -EINVAL);
        assert_int_equal(digest_hex_decode("AB", &back, &len), -EINVAL);
        assert_int_equal(digest_hex_decode("0g", &back, &len), -EINVAL);
}

static void test_chain_ids(void **state)
{
        const char *diffs[] = {D64, SHA256_ABC, SHA256_EMPTY};
        char chain[3][DIGEST_STRING_MAX + 1], expect[DIGEST_STRING_MAX + 1];
        char buf[300], err[256];
        (void)state;

        assert_int_equal(digest_chain_ids(diffs, 3, chain, err, sizeof(err)), 0);
        assert_string_equal(chain[0], diffs[0]);
        snprintf(buf, sizeof(buf), "%s %s", diffs[0], diffs[1]);
        digest_buffer(DIGEST_SHA256, buf, strlen(buf), expect);
        assert_string_equal(chain[1], expect);
        snprintf(buf, sizeof(buf), "%s %s", chain[1], diffs[2]);
        digest_buffer(DIGEST_SHA256, buf, strlen(buf), expect);
        assert_string_equal(chain[2], expect);
        assert_int_equal(digest_chain_ids(diffs, 0, chain, err, sizeof(err)), 0);

        const char *bad[] = {D64, "sha256:nothex"};
        assert_int_equal(digest_chain_ids(bad, 2, chain, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "sha256:nothex"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_ok),       cmocka_unit_test(test_parse_refusals),
            cmocka_unit_test(test_hash_vectors),   cmocka_unit_test(test_chain_ids),
            cmocka_unit_test(test_hex_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
