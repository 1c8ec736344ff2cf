/* Unit tests for brig-unpack's checks that need no root: entry name
 * normalisation (writer_clean_path), digests, media types and chain ids
 * (ids.c), the stream decoders' refusals (stream.c), and that the reply
 * brig-unpack sends passes the helper protocol's UNPACK reply schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#include "hproto.h"
#include "privhelper/unpack/ids.h"
#include "privhelper/unpack/stream.h"
#include "privhelper/unpack/writer.h"
#include "tlv.h"

#define D0 "sha256:0000000000000000000000000000000000000000000000000000000000000000"
/* sha256("") */
#define DE "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_clean_path(void **state)
{
        static const struct {
                const char *in, *out;
        } good[] = {
            {"a", "a"},
            {"./a/b/", "a/b"},
            {"a//b/./c", "a/b/c"},
            {".", ""},
            {"./", ""},
            {"", ""},
            {"a/..b/c..", "a/..b/c.."},
            {".wh..wh..opq", ".wh..wh..opq"},
        };
        static const struct {
                const char *in;
                int error;
        } bad[] = {
            {"/etc/passwd", -EINVAL}, {"..", -EINVAL},     {"a/../b", -EINVAL},
            {"./../x", -EINVAL},      {"a/b/..", -EINVAL}, {"//x", -EINVAL},
        };
        char out[PATH_MAX], longname[PATH_MAX + 8], comp[300];
        const char *why = NULL;
        (void)state;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                assert_int_equal(writer_clean_path(good[i].in, out, sizeof(out), &why), 0);
                assert_string_equal(out, good[i].out);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why = NULL;
                assert_int_equal(writer_clean_path(bad[i].in, out, sizeof(out), &why),
                                 bad[i].error);
                assert_non_null(why);
        }
        memset(comp, 'x', 256);
        comp[256] = '\0';
        assert_int_equal(writer_clean_path(comp, out, sizeof(out), &why), -ENAMETOOLONG);
        comp[255] = '\0';
        assert_int_equal(writer_clean_path(comp, out, sizeof(out), &why), 0);
        memset(longname, 'a', sizeof(longname) - 1);
        for (size_t i = 100; i < sizeof(longname) - 1; i += 100)
                longname[i] = '/';
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(writer_clean_path(longname, out, sizeof(out), &why), -ENAMETOOLONG);
}

static void test_digest_form(void **state)
{
        (void)state;
        assert_int_equal(ids_check_digest(D0), 0);
        assert_int_equal(ids_check_digest(DE), 0);
        assert_int_equal(ids_check_digest(NULL), -EINVAL);
        assert_int_equal(ids_check_digest("sha256:"), -EINVAL);
        assert_int_equal(ids_check_digest(D0 "0"), -EINVAL);
        assert_int_equal(
            ids_check_digest(
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
            -EINVAL);
        assert_int_equal(
            ids_check_digest(
                "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            -EINVAL);
        assert_int_equal(
            ids_check_digest(
                "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            -EINVAL);
}

static void test_media_types(void **state)
{
        enum stream_compression c;
        (void)state;

        assert_int_equal(ids_media_type("application/vnd.oci.image.layer.v1.tar", &c), 0);
        assert_int_equal(c, STREAM_PLAIN);
        assert_int_equal(ids_media_type("application/vnd.oci.image.layer.v1.tar+gzip", &c), 0);
        assert_int_equal(c, STREAM_GZIP);
        assert_int_equal(ids_media_type("application/vnd.oci.image.layer.v1.tar+zstd", &c), 0);
        assert_int_equal(c, STREAM_ZSTD);
        assert_int_equal(
            ids_media_type("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", &c), 0);
        assert_int_equal(c, STREAM_ZSTD);
        assert_int_equal(ids_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip", &c),
                         0);
        assert_int_equal(c, STREAM_GZIP);
        assert_int_equal(
            ids_media_type("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", &c), 0);
        assert_int_equal(ids_media_type("application/vnd.oci.image.layer.v1.tar+xz", &c), -EINVAL);
        assert_int_equal(ids_media_type("application/vnd.oci.image.layer.v1.tar ", &c), -EINVAL);
        assert_int_equal(ids_media_type("", &c), -EINVAL);
        assert_int_equal(ids_media_type(NULL, &c), -EINVAL);
}

static void test_chain_id(void **state)
{
        char err[512];
        /* sha256(D0 " " DE), computed independently with sha256sum */
        const char *chained =
            "sha256:9436e43d529726a350b85d9edc948fb460618a2fc68ab2b43ba41194929742c8";
        (void)state;

        assert_int_equal(ids_check_chain(DE, NULL, DE, err, sizeof(err)), 0);
        assert_int_equal(ids_check_chain(D0, NULL, DE, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "base layer"));
        assert_int_equal(ids_check_chain(DE, D0, DE, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "does not match"));
        assert_int_equal(ids_check_chain(chained, D0, DE, err, sizeof(err)), 0);
        /* the order is parent first */
        assert_int_equal(ids_check_chain(chained, DE, D0, err, sizeof(err)), -EINVAL);
        assert_int_equal(ids_check_chain(DE, "sha256:zz", DE, err, sizeof(err)), -EINVAL);
}

/* A memfd holding data, positioned at 0: a blob for stream tests. */
static int blob(const void *data, size_t len)
{
        int fd = memfd_create("blob", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static size_t gzip_of(const void *in, size_t len, uint8_t *out, size_t cap)
{
        z_stream z = {0};

        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                         Z_OK);
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        deflateEnd(&z);
        return cap - z.avail_out;
}

/* Reads the whole stream; returns the final status and the byte count. */
static int read_all(int fd, enum stream_compression c, uint64_t max, uint64_t *ret_bytes,
                    char *digest)
{
        struct stream *s;
        const void *p;
        ssize_t n;
        int r;

        assert_int_equal(stream_new(fd, c, max, &s), 0);
        r = stream_check_magic(s);
        while (r == 0 && (n = stream_read(s, &p)) != 0)
                if (n < 0)
                        r = (int)n;
        if (r < 0)
                assert_true(stream_error(s)[0] != '\0');
        else if (digest)
                assert_int_equal(stream_digest(s, digest, 72), 0);
        *ret_bytes = stream_bytes(s);
        stream_free(s);
        close(fd);
        return r;
}

static void test_stream(void **state)
{
        static uint8_t data[300000], gz[2 * sizeof(data)];
        char digest[72];
        uint64_t bytes;
        size_t n1, n2;
        (void)state;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)(i * 7 % 251);
        n1 = gzip_of(data, 1000, gz, sizeof(gz));
        n2 = gzip_of(data + 1000, sizeof(data) - 1000, gz + n1, sizeof(gz) - n1);

        /* two members make one stream */
        assert_int_equal(read_all(blob(gz, n1 + n2), STREAM_GZIP, UINT64_MAX, &bytes, digest), 0);
        assert_int_equal(bytes, sizeof(data));
        /* truncated anywhere inside a member */
        assert_int_equal(read_all(blob(gz, n1 + n2 / 2), STREAM_GZIP, UINT64_MAX, &bytes, NULL),
                         -EBADMSG);
        assert_int_equal(read_all(blob(gz, n1 - 1), STREAM_GZIP, UINT64_MAX, &bytes, NULL),
                         -EBADMSG);
        /* the limit counts uncompressed bytes */
        assert_int_equal(read_all(blob(gz, n1 + n2), STREAM_GZIP, 5000, &bytes, NULL), -EFBIG);
        assert_true(bytes <= 5000);
        /* magic must match the declared compression */
        assert_int_equal(read_all(blob(gz, n1), STREAM_PLAIN, UINT64_MAX, &bytes, NULL), -EBADMSG);
        assert_int_equal(read_all(blob(gz, n1), STREAM_ZSTD, UINT64_MAX, &bytes, NULL), -EBADMSG);
        assert_int_equal(read_all(blob(data, 100), STREAM_GZIP, UINT64_MAX, &bytes, NULL),
                         -EBADMSG);
        /* an empty blob is no layer */
        assert_int_equal(read_all(blob("", 0), STREAM_PLAIN, UINT64_MAX, &bytes, NULL), -EBADMSG);
        /* plain: the digest is sha256 of the bytes */
        assert_int_equal(read_all(blob("x", 1), STREAM_PLAIN, UINT64_MAX, &bytes, digest), 0);
        assert_string_equal(
            digest, "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
}

/* The reply main.c sends, built the same way, passes the UNPACK reply
 * schema with and without the opaque list fd. */
static void test_reply_schema(void **state)
{
        uint8_t buf[BRIG_HELPER_HDR_SIZE + 256];
        struct brig_hdr h = {
            .magic = BRIG_HELPER_MAGIC,
            .version = BRIG_HELPER_VERSION,
            .command = BRIG_CMD_UNPACK | BRIG_HELPER_REPLY_FLAG,
        };
        struct brig_msg msg;
        struct brig_msg_error e;
        struct tlv_writer w;
        size_t len;
        (void)state;

        for (int with_fd = 0; with_fd <= 1; with_fd++) {
                tlv_writer_init(&w, buf + BRIG_HELPER_HDR_SIZE, sizeof(buf) - BRIG_HELPER_HDR_SIZE);
                tlv_put_u64(&w, BRIG_TAG_LAYER_BYTES, 10240);
                tlv_put_u64(&w, BRIG_TAG_LAYER_ENTRIES, 3);
                tlv_put_u64(&w, BRIG_TAG_LAYER_SKIPPED, 1);
                if (with_fd)
                        tlv_put_fd(&w, BRIG_TAG_OPAQUE_DIRS_FD, 0);
                assert_int_equal(tlv_writer_finish(&w, &len), 0);
                h.payload_len = (uint32_t)len;
                brig_hdr_encode(&h, buf);
                assert_int_equal(brig_msg_decode(buf, BRIG_HELPER_HDR_SIZE + len, (size_t)with_fd,
                                                 BRIG_DIR_REPLY, &msg, &e),
                                 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clean_path),  cmocka_unit_test(test_digest_form),
            cmocka_unit_test(test_media_types), cmocka_unit_test(test_chain_id),
            cmocka_unit_test(test_stream),      cmocka_unit_test(test_reply_schema),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
