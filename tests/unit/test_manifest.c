/* test_manifest.c: unit tests for daemon/manifest.h: every manifest kind
 * (documents written from the OCI image-spec and Docker schema 2 examples),
 * each refusal with its message, platform normalization and selection, and
 * digest verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/manifest.h"

#define D(c)                                                                                       \
        "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
            c c c c c c c c c c c c c c c c c c c c c c c c
#define DA D("a")
#define DB D("b")
#define DC D("c")
#define DE D("e")

#define OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\",\"digest\":\"" DA "\",\"size\":7023},"
    "\"layers\":["
    "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"" DB "\",\"size\":32654},"
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" DC
    "\",\"size\":16724,\"urls\":[\"https://example.com/x\"]},"
    "{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar\",\"digest\":\"" DE
    "\",\"size\":73109,\"annotations\":{\"a\":\"b\"}}],"
    "\"annotations\":{\"com.example.key1\":\"value1\"}}";

static const char docker_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" MEDIA_DOCKER_CONFIG "\",\"size\":7023,\"digest\":\"" DA "\"},"
    "\"layers\":["
    "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":32654,"
    "\"digest\":\"" DB "\"},"
    "{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"size\":1,"
    "\"digest\":\"" DC "\",\"urls\":[\"https://mcr.microsoft.com/x\"]}]}";

#define ENTRY(mt, dg, plat)                                                                        \
        "{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":7143,\"platform\":{" plat "}}"

/* clang-format off */
static const char oci_index[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_INDEX "\",\"manifests\":["
    ENTRY(MEDIA_OCI_MANIFEST, DA, "\"architecture\":\"ppc64le\",\"os\":\"linux\"") ","
    ENTRY(MEDIA_OCI_MANIFEST, DB, "\"architecture\":\"amd64\",\"os\":\"linux\"") ","
    ENTRY(MEDIA_OCI_MANIFEST, DC, "\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"") ","
    ENTRY(MEDIA_OCI_MANIFEST, DE, "\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"") ","
    ENTRY(MEDIA_OCI_MANIFEST, D("f"), "\"architecture\":\"arm64\",\"os\":\"linux\"") ","
    ENTRY(MEDIA_OCI_MANIFEST, D("1"), "\"architecture\":\"unknown\",\"os\":\"unknown\"") ","
    ENTRY(MEDIA_OCI_INDEX, D("2"), "\"architecture\":\"s390x\",\"os\":\"linux\"")
    "]}";

static const char docker_list[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_LIST "\",\"manifests\":["
    ENTRY(MEDIA_DOCKER_MANIFEST, DA,
          "\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5329\"") ","
    ENTRY(MEDIA_DOCKER_MANIFEST, DB, "\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"")
    "]}";
/* clang-format on */

static struct manifest *parse_ok(const char *ct, const char *doc)
{
        struct manifest *m = NULL;
        char err[512] = "";
        int r = manifest_parse(ct, doc, strlen(doc), &m, err, sizeof(err));
        if (r < 0)
                fail_msg("refused (%d): %s", r, err);
        assert_non_null(m);
        return m;
}

static void parse_bad(const char *ct, const char *doc, size_t len, int expect, const char *why)
{
        struct manifest *m = (struct manifest *)1;
        char err[1024] = "";
        if (len == SIZE_MAX)
                len = strlen(doc);
        int r = manifest_parse(ct, doc, len, &m, err, sizeof(err));
        assert_null(m);
        if (r != expect)
                fail_msg("expected %d, got %d (%s)", expect, r, err);
        if (!strstr(err, why))
                fail_msg("message '%s' lacks '%s'", err, why);
}

static void test_oci_manifest(void **state)
{
        (void)state;
        struct manifest *m = parse_ok(MEDIA_OCI_MANIFEST, oci_manifest);
        enum layer_compression c;
        assert_int_equal(m->kind, MANIFEST_OCI_MANIFEST);
        assert_false(manifest_is_index(m));
        assert_string_equal(m->media_type, MEDIA_OCI_MANIFEST);
        assert_string_equal(m->config.digest, DA);
        assert_int_equal(m->config.size, 7023);
        assert_int_equal(m->n_layers, 3);
        assert_string_equal(m->layers[1].digest, DC);
        assert_int_equal(m->layers[2].size, 73109);
        assert_int_equal(manifest_layer_compression(m->layers[0].media_type, &c), 0);
        assert_int_equal(c, LAYER_GZIP);
        assert_int_equal(manifest_layer_compression(m->layers[1].media_type, &c), 0);
        assert_int_equal(c, LAYER_ZSTD);
        assert_int_equal(manifest_layer_compression(m->layers[2].media_type, &c), 0);
        assert_int_equal(c, LAYER_TAR);
        manifest_free(m);

        /* Content-Type parameters and generic types do not matter. */
        manifest_free(parse_ok(MEDIA_OCI_MANIFEST "; charset=utf-8", oci_manifest));
        manifest_free(parse_ok("application/json", oci_manifest));
        manifest_free(parse_ok(NULL, oci_manifest));
}

static void test_docker_manifest(void **state)
{
        (void)state;
        struct manifest *m = parse_ok(MEDIA_DOCKER_MANIFEST, docker_manifest);
        assert_int_equal(m->kind, MANIFEST_DOCKER_MANIFEST);
        assert_string_equal(m->config.media_type, MEDIA_DOCKER_CONFIG);
        assert_int_equal(m->n_layers, 2);
        assert_int_equal(manifest_layer_compression(m->layers[1].media_type, NULL), 0);
        manifest_free(m);
}

static void test_indexes(void **state)
{
        (void)state;
        struct manifest *m = parse_ok(MEDIA_OCI_INDEX, oci_index);
        assert_int_equal(m->kind, MANIFEST_OCI_INDEX);
        assert_true(manifest_is_index(m));
        assert_int_equal(m->n_manifests, 7);
        assert_true(m->manifests[2].has_platform);
        assert_string_equal(m->manifests[2].platform.variant, "v6");
        manifest_free(m);

        m = parse_ok(MEDIA_DOCKER_LIST, docker_list);
        assert_int_equal(m->kind, MANIFEST_DOCKER_LIST);
        assert_string_equal(m->manifests[0].platform.os_version, "10.0.17763.5329");
        assert_string_equal(m->manifests[0].platform.os, "windows");
        manifest_free(m);
}

static void test_oci_without_media_type(void **state)
{
        (void)state;
        const char *man = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
                          "\",\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}";
        struct manifest *m = parse_ok(NULL, man);
        assert_int_equal(m->kind, MANIFEST_OCI_MANIFEST);
        assert_int_equal(m->n_layers, 0);
        manifest_free(m);
        m = parse_ok(MEDIA_OCI_MANIFEST, man);
        assert_int_equal(m->kind, MANIFEST_OCI_MANIFEST);
        manifest_free(m);

        m = parse_ok("", "{\"schemaVersion\":2,\"manifests\":[]}");
        assert_int_equal(m->kind, MANIFEST_OCI_INDEX);
        assert_int_equal(m->n_manifests, 0);
        manifest_free(m);

        parse_bad(NULL, "{\"schemaVersion\":2}", 19, -EINVAL, "cannot tell an index");
        parse_bad(
            NULL,
            "{\"schemaVersion\":2,\"manifests\":[],\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
            "\",\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}",
            SIZE_MAX, -EINVAL, "cannot tell an index");
}

#define SCHEMA1_MSG "schema 1 manifests are not supported"

static void test_schema1_refused(void **state)
{
        (void)state;
        parse_bad("application/vnd.docker.distribution.manifest.v1+prettyjws", docker_manifest,
                  SIZE_MAX, -ENOTSUP, SCHEMA1_MSG);
        parse_bad("application/vnd.docker.distribution.manifest.v1+json", docker_manifest, SIZE_MAX,
                  -ENOTSUP, "re-push the image");
        parse_bad(NULL,
                  "{\"schemaVersion\":1,\"name\":\"library/busybox\",\"tag\":\"latest\","
                  "\"fsLayers\":[{\"blobSum\":\"" DA "\"}],\"signatures\":[]}",
                  SIZE_MAX, -ENOTSUP, SCHEMA1_MSG);
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"mediaType\":"
                  "\"application/vnd.docker.distribution.manifest.v1+json\"}",
                  SIZE_MAX, -ENOTSUP, SCHEMA1_MSG);
        parse_bad(NULL, "{\"schemaVersion\":3,\"manifests\":[]}", SIZE_MAX, -EINVAL,
                  "\"schemaVersion\" must be 2");
        parse_bad(NULL, "{\"schemaVersion\":\"2\",\"manifests\":[]}", SIZE_MAX, -EINVAL,
                  "\"schemaVersion\" must be 2");
        parse_bad(NULL, "{\"manifests\":[]}", SIZE_MAX, -EINVAL, "\"schemaVersion\" must be 2");
}

static void test_type_mismatch(void **state)
{
        (void)state;
        parse_bad(MEDIA_OCI_INDEX, oci_manifest, SIZE_MAX, -EINVAL,
                  "content type '" MEDIA_OCI_INDEX
                  "' but the document says mediaType '" MEDIA_OCI_MANIFEST);
        parse_bad(MEDIA_DOCKER_MANIFEST, oci_manifest, SIZE_MAX, -EINVAL, "but the document says");
        parse_bad("application/vnd.cncf.helm.config.v1+json", oci_manifest, SIZE_MAX, -ENOTSUP,
                  "content type 'application/vnd.cncf.helm.config.v1+json', which is not");
        parse_bad(NULL, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.foo+json\"}",
                  SIZE_MAX, -ENOTSUP, "'application/vnd.foo+json' is not an image manifest");
        /* Docker formats must say what they are. */
        parse_bad(MEDIA_DOCKER_MANIFEST,
                  "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_DOCKER_CONFIG
                  "\",\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}",
                  SIZE_MAX, -EINVAL, "Docker manifest without \"mediaType\"");
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_INDEX
                  "\",\"manifests\":[],\"layers\":[]}",
                  SIZE_MAX, -EINVAL, "must not have \"config/layers\"");
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST
                  "\",\"manifests\":[],\"config\":{}}",
                  SIZE_MAX, -EINVAL, "must not have \"manifests\"");
}

static void test_media_types_refused(void **state)
{
        (void)state;
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
                  "\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
                  "\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}",
                  SIZE_MAX, -ENOTSUP,
                  "config " DA " has media type 'application/vnd.cncf.helm.config.v1+json'");
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
                  "\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\",\"digest\":\"" DA
                  "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.wasm.content.layer."
                  "v1+wasm\",\"digest\":\"" DB "\",\"size\":5}]}",
                  SIZE_MAX, -ENOTSUP,
                  "layer 0 (" DB ") has media type 'application/vnd.wasm.content.layer.v1+wasm'");
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
                  "\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\",\"digest\":\"" DA
                  "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.dev.cosign."
                  "simplesigning.v1+json\",\"digest\":\"" DB "\",\"size\":5}]}",
                  SIZE_MAX, -ENOTSUP, "cosign");
        assert_int_equal(manifest_layer_compression("application/x-tar", NULL), -ENOTSUP);
}

static char *manifest_with_layers(size_t n, const char *layer_json)
{
        size_t cap = 512 + n * (strlen(layer_json) + 1);
        char *doc = malloc(cap);
        assert_non_null(doc);
        size_t off = (size_t)snprintf(doc, cap,
                                      "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST
                                      "\",\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
                                      "\",\"digest\":\"" DA "\",\"size\":1},\"layers\":[");
        for (size_t i = 0; i < n; i++)
                off += (size_t)snprintf(doc + off, cap - off, "%s%s", i ? "," : "", layer_json);
        snprintf(doc + off, cap - off, "]}");
        return doc;
}

static void test_limits(void **state)
{
        (void)state;
        const char *layer = "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"" DB "\",\"size\":5}";
        char *doc = manifest_with_layers(MANIFEST_MAX_LAYERS, layer);
        struct manifest *m = parse_ok(NULL, doc);
        assert_int_equal(m->n_layers, MANIFEST_MAX_LAYERS);
        manifest_free(m);
        free(doc);
        doc = manifest_with_layers(MANIFEST_MAX_LAYERS + 1, layer);
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL,
                  "image has 129 layers, more than brig's limit of 128");
        free(doc);

        /* An index with too many entries. */
        const char *entry =
            ENTRY(MEDIA_OCI_MANIFEST, DA, "\"os\":\"linux\",\"architecture\":\"amd64\"");
        size_t cap = 100 + (MANIFEST_MAX_INDEX_ENTRIES + 1) * (strlen(entry) + 1);
        doc = malloc(cap);
        assert_non_null(doc);
        size_t off = (size_t)snprintf(doc, cap, "{\"schemaVersion\":2,\"manifests\":[");
        for (size_t i = 0; i <= MANIFEST_MAX_INDEX_ENTRIES; i++)
                off += (size_t)snprintf(doc + off, cap - off, "%s%s", i ? "," : "", entry);
        snprintf(doc + off, cap - off, "]}");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "1025 entries, more than the limit of 1024");
        free(doc);

        /* Too big is refused before parsing: the bytes need not be JSON. */
        char *big = calloc(1, MANIFEST_MAX_SIZE + 1);
        assert_non_null(big);
        parse_bad(NULL, big, MANIFEST_MAX_SIZE + 1, -EFBIG, "more than the limit of 4194304");
        free(big);
}

static void test_malformed(void **state)
{
        (void)state;
        parse_bad(NULL, "{\"schemaVersion\":2", SIZE_MAX, -EINVAL, "not valid JSON");
        parse_bad(NULL, "[2]", SIZE_MAX, -EINVAL, "not a JSON object");
        parse_bad(NULL, "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", SIZE_MAX,
                  -EINVAL, "not valid JSON");
        const char *bad_digest =
            "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"sha256:abc\",\"size\":5}";
        char *doc = manifest_with_layers(1, bad_digest);
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "layer 0: invalid digest 'sha256:abc'");
        free(doc);
        doc = manifest_with_layers(1, "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"md5:"
                                      "d41d8cd98f00b204e9800998ecf8427e\",\"size\":5}");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "unsupported algorithm");
        free(doc);
        doc = manifest_with_layers(1, "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"" DB
                                      "\",\"size\":-1}");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "size -1 out of range");
        free(doc);
        doc = manifest_with_layers(1, "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"" DB
                                      "\",\"size\":9007199254740993}");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "out of range (0..2^53)");
        free(doc);
        doc = manifest_with_layers(1, "{\"mediaType\":\"" OCI_LAYER_GZ "\",\"digest\":\"" DB
                                      "\",\"size\":1.5}");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "non-integer \"size\"");
        free(doc);
        doc = manifest_with_layers(1, "{\"digest\":\"" DB "\",\"size\":1}");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "layer 0: missing \"mediaType\"");
        free(doc);
        doc = manifest_with_layers(1, "7");
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "layer 0 is not an object");
        free(doc);
        char longtype[400];
        memset(longtype, 'a', sizeof(longtype) - 1);
        longtype[sizeof(longtype) - 1] = '\0';
        char layer[600];
        snprintf(layer, sizeof(layer), "{\"mediaType\":\"%s\",\"digest\":\"" DB "\",\"size\":1}",
                 longtype);
        doc = manifest_with_layers(1, layer);
        parse_bad(NULL, doc, SIZE_MAX, -EINVAL, "longer than 255 bytes");
        free(doc);
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
                  "\",\"digest\":\"" DA "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
                  SIZE_MAX, -EINVAL, "index entry 0 platform: missing \"architecture\"");
        parse_bad(NULL,
                  "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
                  "\",\"digest\":\"" DA "\",\"size\":1,\"platform\":[]}]}",
                  SIZE_MAX, -EINVAL, "\"platform\" is not an object");
        parse_bad(NULL, "{\"schemaVersion\":2,\"manifests\":{}}", SIZE_MAX, -EINVAL,
                  "\"manifests\" is not an array");
}

static void test_normalize(void **state)
{
        struct manifest_platform p;
        (void)state;
        assert_int_equal(manifest_platform_normalize("Linux", "x86_64", NULL, &p), 0);
        assert_string_equal(p.os, "linux");
        assert_string_equal(p.architecture, "amd64");
        assert_string_equal(p.variant, "");
        assert_int_equal(manifest_platform_normalize("linux", "amd64", "v1", &p), 0);
        assert_string_equal(p.variant, "");
        assert_int_equal(manifest_platform_normalize("linux", "aarch64", NULL, &p), 0);
        assert_string_equal(p.architecture, "arm64");
        assert_string_equal(p.variant, "v8");
        assert_int_equal(manifest_platform_normalize("linux", "arm64", "8", &p), 0);
        assert_string_equal(p.variant, "v8");
        assert_int_equal(manifest_platform_normalize("linux", "arm", "", &p), 0);
        assert_string_equal(p.variant, "v7");
        assert_int_equal(manifest_platform_normalize("linux", "armhf", NULL, &p), 0);
        assert_string_equal(p.architecture, "arm");
        assert_string_equal(p.variant, "v7");
        assert_int_equal(manifest_platform_normalize("linux", "armel", NULL, &p), 0);
        assert_string_equal(p.variant, "v6");
        assert_int_equal(manifest_platform_normalize("linux", "armv6l", NULL, &p), 0);
        assert_string_equal(p.architecture, "arm");
        assert_string_equal(p.variant, "v6");
        assert_int_equal(manifest_platform_normalize("linux", "i686", NULL, &p), 0);
        assert_string_equal(p.architecture, "386");
        assert_int_equal(manifest_platform_normalize("linux", "x86_64",
                                                     "0123456789012345678901234567890123", &p),
                         -EINVAL);

        assert_int_equal(manifest_host_platform(&p), 0);
        assert_string_equal(p.os, "linux");
        assert_true(p.architecture[0] != '\0');
}

static const struct manifest_descriptor *select_ok(const struct manifest *m, const char *os,
                                                   const char *arch, const char *variant)
{
        const struct manifest_descriptor *d = NULL;
        char err[512] = "";
        int r = manifest_select(m, os, arch, variant, &d, err, sizeof(err));
        if (r < 0)
                fail_msg("%s/%s/%s not selected: %s", os, arch, variant ? variant : "", err);
        return d;
}

static void test_select(void **state)
{
        (void)state;
        struct manifest *m = parse_ok(NULL, oci_index);
        const struct manifest_descriptor *d;
        char err[512] = "";

        assert_string_equal(select_ok(m, "linux", "amd64", NULL)->digest, DB);
        assert_string_equal(select_ok(m, "linux", "x86_64", "")->digest, DB);
        /* The arm64 entry has no variant: both sides default to v8. */
        assert_string_equal(select_ok(m, "linux", "aarch64", NULL)->digest, D("f"));
        assert_string_equal(select_ok(m, "linux", "arm64", "v8")->digest, D("f"));
        /* Exact variant wins over the v6 listed first. */
        assert_string_equal(select_ok(m, "linux", "arm", "v7")->digest, DE);
        assert_string_equal(select_ok(m, "linux", "arm", NULL)->digest, DE);
        assert_string_equal(select_ok(m, "linux", "armv6l", NULL)->digest, DC);
        /* A v8 32-bit machine takes the highest lower variant. */
        assert_string_equal(select_ok(m, "linux", "arm", "v8")->digest, DE);

        /* Nested indexes are not image manifests; arm v5 cannot run v6. */
        assert_int_equal(manifest_select(m, "linux", "s390x", NULL, &d, err, sizeof(err)), -ENOENT);
        assert_null(d);
        assert_string_equal(err, "no image for platform linux/s390x in the index; it has: "
                                 "linux/ppc64le, linux/amd64, linux/arm/v6, linux/arm/v7, "
                                 "linux/arm64");
        assert_int_equal(manifest_select(m, "linux", "arm", "v5", &d, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "linux/arm/v5"));
        assert_int_equal(manifest_select(m, "windows", "amd64", NULL, &d, err, sizeof(err)),
                         -ENOENT);
        manifest_free(m);

        m = parse_ok(MEDIA_DOCKER_LIST, docker_list);
        assert_string_equal(select_ok(m, "linux", "arm64", NULL)->digest, DB);
        assert_string_equal(select_ok(m, "windows", "amd64", NULL)->digest, DA);
        assert_int_equal(manifest_select(m, "linux", "amd64", NULL, &d, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "windows/amd64, linux/arm64/v8"));
        manifest_free(m);

        m = parse_ok(NULL, "{\"schemaVersion\":2,\"manifests\":[]}");
        assert_int_equal(manifest_select(m, "linux", "amd64", NULL, &d, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "no platforms"));
        manifest_free(m);

        m = parse_ok(NULL, oci_manifest);
        assert_int_equal(manifest_select(m, "linux", "amd64", NULL, &d, err, sizeof(err)), -EINVAL);
        manifest_free(m);
}

static void test_verify_digest(void **state)
{
        (void)state;
        char want[DIGEST_STRING_MAX + 1], err[512] = "";
        assert_int_equal(digest_buffer(DIGEST_SHA256, oci_manifest, strlen(oci_manifest), want), 0);
        assert_int_equal(
            manifest_verify_digest(oci_manifest, strlen(oci_manifest), want, err, sizeof(err)), 0);
        assert_int_equal(digest_buffer(DIGEST_SHA512, oci_manifest, strlen(oci_manifest), want), 0);
        assert_int_equal(
            manifest_verify_digest(oci_manifest, strlen(oci_manifest), want, err, sizeof(err)), 0);
        assert_int_equal(
            manifest_verify_digest(oci_manifest, strlen(oci_manifest) - 1, want, err, sizeof(err)),
            -EBADMSG);
        assert_non_null(strstr(err, "manifest digest mismatch: expected sha512:"));
        assert_int_equal(manifest_verify_digest("x", 1, "sha256:abc", err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "invalid digest"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_oci_manifest),
            cmocka_unit_test(test_docker_manifest),
            cmocka_unit_test(test_indexes),
            cmocka_unit_test(test_oci_without_media_type),
            cmocka_unit_test(test_schema1_refused),
            cmocka_unit_test(test_type_mismatch),
            cmocka_unit_test(test_media_types_refused),
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_normalize),
            cmocka_unit_test(test_select),
            cmocka_unit_test(test_verify_digest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
