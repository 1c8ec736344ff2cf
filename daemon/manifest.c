/* manifest.c: owns parsing and checking of image manifests and indexes
 * (OCI image-spec v1, Docker v2 schema 2) and platform selection. */
#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <jansson.h>

#include "errbuf.h"
#include "jsondoc.h"
#include "util.h"

#define MAX_JSON_SIZE_T (UINT64_C(1) << 53)

static const char *const schema1_types[] = {
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};

static const char *const generic_types[] = {
    "application/json",
    "application/octet-stream",
    "text/plain",
};

static const struct {
        const char *type;
        enum layer_compression compression;
} layer_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", LAYER_TAR},
    {"application/vnd.oci.image.layer.v1.tar+gzip", LAYER_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", LAYER_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", LAYER_TAR},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LAYER_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LAYER_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", LAYER_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LAYER_GZIP},
};

static const char *const schema1_msg =
    "schema 1 manifests are not supported (deprecated by Docker); re-push the image with a "
    "current client";

static bool in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

int manifest_layer_compression(const char *media_type, enum layer_compression *ret)
{
        for (size_t i = 0; i < ARRAY_SIZE(layer_types); i++)
                if (strcmp(media_type, layer_types[i].type) == 0) {
                        if (ret)
                                *ret = layer_types[i].compression;
                        return 0;
                }
        return -ENOTSUP;
}

static const char *kind_media_type(enum manifest_kind kind)
{
        switch (kind) {
        case MANIFEST_OCI_INDEX:
                return MEDIA_OCI_INDEX;
        case MANIFEST_DOCKER_LIST:
                return MEDIA_DOCKER_LIST;
        case MANIFEST_OCI_MANIFEST:
                return MEDIA_OCI_MANIFEST;
        case MANIFEST_DOCKER_MANIFEST:
                return MEDIA_DOCKER_MANIFEST;
        }
        return "";
}

/* Returns 0 with *ret set, 1 if s is no manifest type brig knows. */
static int kind_from_media_type(const char *s, enum manifest_kind *ret)
{
        static const enum manifest_kind kinds[] = {MANIFEST_OCI_INDEX, MANIFEST_DOCKER_LIST,
                                                   MANIFEST_OCI_MANIFEST, MANIFEST_DOCKER_MANIFEST};
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
                if (strcmp(s, kind_media_type(kinds[i])) == 0) {
                        *ret = kinds[i];
                        return 0;
                }
        return 1;
}

/* Copies a JSON string member into buf (size bytes with NUL). Missing is
 * allowed when !required. jansson refuses \u0000 without JSON_ALLOW_NUL. */
static int get_string(json_t *obj, const char *key, bool required, char *buf, size_t size,
                      const char *where, char *err, size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        buf[0] = '\0';
        if (!v) {
                if (required)
                        return errbuf_fail(err, err_size, -EINVAL, "%s: missing \"%s\"", where,
                                           key);
                return 0;
        }
        if (!json_is_string(v))
                return errbuf_fail(err, err_size, -EINVAL, "%s: \"%s\" is not a string", where,
                                   key);
        size_t len = json_string_length(v);
        if (len >= size)
                return errbuf_fail(err, err_size, -EINVAL, "%s: \"%s\" is longer than %zu bytes",
                                   where, key, size - 1);
        memcpy(buf, json_string_value(v), len + 1);
        return 0;
}

static int parse_platform(json_t *p, struct manifest_platform *ret, const char *where, char *err,
                          size_t err_size)
{
        char ewhere[96];
        int r;

        if (!json_is_object(p))
                return errbuf_fail(err, err_size, -EINVAL, "%s: \"platform\" is not an object",
                                   where);
        snprintf(ewhere, sizeof(ewhere), "%s platform", where);
        if ((r = get_string(p, "os", true, ret->os, sizeof(ret->os), ewhere, err, err_size)) < 0 ||
            (r = get_string(p, "architecture", true, ret->architecture, sizeof(ret->architecture),
                            ewhere, err, err_size)) < 0 ||
            (r = get_string(p, "variant", false, ret->variant, sizeof(ret->variant), ewhere, err,
                            err_size)) < 0 ||
            (r = get_string(p, "os.version", false, ret->os_version, sizeof(ret->os_version),
                            ewhere, err, err_size)) < 0)
                return r;
        return 0;
}

static int parse_descriptor(json_t *d, struct manifest_descriptor *ret, bool platform,
                            const char *where, char *err, size_t err_size)
{
        char derr[200];
        int r;

        if (!json_is_object(d))
                return errbuf_fail(err, err_size, -EINVAL, "%s is not an object", where);
        r = get_string(d, "mediaType", true, ret->media_type, sizeof(ret->media_type), where, err,
                       err_size);
        if (r < 0)
                return r;
        json_t *dg = json_object_get(d, "digest");
        if (!json_is_string(dg))
                return errbuf_fail(err, err_size, -EINVAL, "%s: missing or non-string \"digest\"",
                                   where);
        if (digest_parse(json_string_value(dg), NULL, derr, sizeof(derr)) < 0)
                return errbuf_fail(err, err_size, -EINVAL, "%s: %s", where, derr);
        snprintf(ret->digest, sizeof(ret->digest), "%s", json_string_value(dg));
        json_t *sz = json_object_get(d, "size");
        if (!json_is_integer(sz))
                return errbuf_fail(err, err_size, -EINVAL, "%s: missing or non-integer \"size\"",
                                   where);
        json_int_t size = json_integer_value(sz);
        if (size < 0 || (uint64_t)size > MAX_JSON_SIZE_T)
                return errbuf_fail(err, err_size, -EINVAL, "%s: size %lld out of range (0..2^53)",
                                   where, (long long)size);
        ret->size = (uint64_t)size;
        ret->has_platform = false;
        memset(&ret->platform, 0, sizeof(ret->platform));
        json_t *p = json_object_get(d, "platform");
        if (platform && p) {
                r = parse_platform(p, &ret->platform, where, err, err_size);
                if (r < 0)
                        return r;
                ret->has_platform = true;
        }
        return 0;
}

static int parse_index(json_t *root, struct manifest *m, char *err, size_t err_size)
{
        json_t *list = json_object_get(root, "manifests");
        char where[64];

        if (!json_is_array(list))
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image index: \"manifests\" is not an array");
        size_t n = json_array_size(list);
        if (n > MANIFEST_MAX_INDEX_ENTRIES)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image index has %zu entries, more than the limit of %d", n,
                                   MANIFEST_MAX_INDEX_ENTRIES);
        m->manifests = calloc(n ? n : 1, sizeof(*m->manifests));
        if (!m->manifests)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory for %zu index entries",
                                   n);
        for (size_t i = 0; i < n; i++) {
                snprintf(where, sizeof(where), "index entry %zu", i);
                int r = parse_descriptor(json_array_get(list, i), &m->manifests[i], true, where,
                                         err, err_size);
                if (r < 0)
                        return r;
                m->n_manifests++;
        }
        return 0;
}

static int parse_image_manifest(json_t *root, struct manifest *m, char *err, size_t err_size)
{
        char where[64];
        int r;

        r = parse_descriptor(json_object_get(root, "config"), &m->config, false, "config", err,
                             err_size);
        if (r < 0)
                return r;
        if (strcmp(m->config.media_type, MEDIA_OCI_CONFIG) != 0 &&
            strcmp(m->config.media_type, MEDIA_DOCKER_CONFIG) != 0)
                return errbuf_fail(err, err_size, -ENOTSUP,
                                   "config %s has media type '%s', which is not a container image "
                                   "(expected %s or %s)",
                                   m->config.digest, m->config.media_type, MEDIA_OCI_CONFIG,
                                   MEDIA_DOCKER_CONFIG);
        json_t *layers = json_object_get(root, "layers");
        if (!json_is_array(layers))
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image manifest: \"layers\" is not an array");
        size_t n = json_array_size(layers);
        if (n > MANIFEST_MAX_LAYERS)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "image has %zu layers, more than brig's limit of %d", n,
                                   MANIFEST_MAX_LAYERS);
        m->layers = calloc(n ? n : 1, sizeof(*m->layers));
        if (!m->layers)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory for %zu layers", n);
        for (size_t i = 0; i < n; i++) {
                struct manifest_descriptor *l = &m->layers[i];
                snprintf(where, sizeof(where), "layer %zu", i);
                r = parse_descriptor(json_array_get(layers, i), l, false, where, err, err_size);
                if (r < 0)
                        return r;
                m->n_layers++;
                if (manifest_layer_compression(l->media_type, NULL) < 0)
                        return errbuf_fail(err, err_size, -ENOTSUP,
                                           "layer %zu (%s) has media type '%s', which is not a "
                                           "container filesystem layer",
                                           i, l->digest, l->media_type);
        }
        return 0;
}

/* Strips parameters and blanks from a Content-Type header value. */
static void clean_content_type(const char *in, char *out, size_t size)
{
        size_t n = 0;
        out[0] = '\0';
        if (!in)
                return;
        while (*in == ' ' || *in == '\t')
                in++;
        for (; *in && *in != ';' && *in != ' ' && *in != '\t' && n + 1 < size; in++)
                out[n++] = (char)tolower((unsigned char)*in);
        out[n] = '\0';
}

/* Decides the document kind from the Content-Type, the mediaType member
 * and the structure, refusing schema 1 and disagreements. */
static int decide_kind(const char *content_type, json_t *root, enum manifest_kind *ret, char *err,
                       size_t err_size)
{
        char ct[MANIFEST_MEDIA_TYPE_MAX + 1], mt[MANIFEST_MEDIA_TYPE_MAX + 1];
        enum manifest_kind ct_kind = MANIFEST_OCI_INDEX, mt_kind = MANIFEST_OCI_INDEX;
        bool have_ct = false, have_mt = false;
        int r;

        clean_content_type(content_type, ct, sizeof(ct));
        if (in_list(ct, schema1_types, ARRAY_SIZE(schema1_types)))
                return errbuf_fail(err, err_size, -ENOTSUP, "%s", schema1_msg);
        if (ct[0] && !in_list(ct, generic_types, ARRAY_SIZE(generic_types))) {
                if (kind_from_media_type(ct, &ct_kind) != 0)
                        return errbuf_fail(
                            err, err_size, -ENOTSUP,
                            "the registry sent content type '%s', which is not an image "
                            "manifest or index",
                            ct);
                have_ct = true;
        }

        json_t *sv = json_object_get(root, "schemaVersion");
        if (json_is_integer(sv) && json_integer_value(sv) == 1)
                return errbuf_fail(err, err_size, -ENOTSUP, "%s", schema1_msg);
        if (!json_is_integer(sv) || json_integer_value(sv) != 2)
                return errbuf_fail(err, err_size, -EINVAL, "manifest: \"schemaVersion\" must be 2");

        r = get_string(root, "mediaType", false, mt, sizeof(mt), "manifest", err, err_size);
        if (r < 0)
                return r;
        if (mt[0]) {
                if (in_list(mt, schema1_types, ARRAY_SIZE(schema1_types)))
                        return errbuf_fail(err, err_size, -ENOTSUP, "%s", schema1_msg);
                if (kind_from_media_type(mt, &mt_kind) != 0)
                        return errbuf_fail(
                            err, err_size, -ENOTSUP,
                            "manifest media type '%s' is not an image manifest or index", mt);
                have_mt = true;
        }
        if (have_ct && have_mt && ct_kind != mt_kind)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "the registry sent content type '%s' but the document says "
                                   "mediaType '%s'",
                                   ct, mt);

        bool has_manifests = json_object_get(root, "manifests") != NULL;
        bool has_image = json_object_get(root, "config") || json_object_get(root, "layers");
        enum manifest_kind kind;
        if (have_mt)
                kind = mt_kind;
        else if (have_ct)
                kind = ct_kind;
        else if (has_manifests && !has_image)
                kind = MANIFEST_OCI_INDEX;
        else if (has_image && !has_manifests)
                kind = MANIFEST_OCI_MANIFEST;
        else
                return errbuf_fail(err, err_size, -EINVAL,
                                   "manifest without mediaType has %s \"manifests\" and "
                                   "\"config\"/\"layers\": cannot tell an index from a manifest",
                                   has_manifests ? "both" : "neither");
        /* The Docker formats require mediaType in the document. */
        if (!have_mt && (kind == MANIFEST_DOCKER_LIST || kind == MANIFEST_DOCKER_MANIFEST))
                return errbuf_fail(err, err_size, -EINVAL, "Docker %s without \"mediaType\"",
                                   kind == MANIFEST_DOCKER_LIST ? "manifest list" : "manifest");
        bool is_index = kind == MANIFEST_OCI_INDEX || kind == MANIFEST_DOCKER_LIST;
        if (is_index ? has_image : has_manifests)
                return errbuf_fail(err, err_size, -EINVAL, "%s must not have \"%s\"",
                                   kind_media_type(kind), is_index ? "config/layers" : "manifests");
        *ret = kind;
        return 0;
}

int manifest_parse(const char *content_type, const void *buf, size_t len, struct manifest **ret,
                   char *err, size_t err_size)
{
        json_t *root;
        int r;

        *ret = NULL;
        r = jsondoc_load(buf, len, MANIFEST_MAX_SIZE, "manifest", &root, err, err_size);
        if (r < 0)
                return r;
        struct manifest *m = calloc(1, sizeof(*m));
        if (!m) {
                json_decref(root);
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        }
        if (!json_is_object(root))
                r = errbuf_fail(err, err_size, -EINVAL, "manifest is not a JSON object");
        else
                r = decide_kind(content_type, root, &m->kind, err, err_size);
        if (r == 0) {
                m->media_type = kind_media_type(m->kind);
                if (manifest_is_index(m))
                        r = parse_index(root, m, err, err_size);
                else
                        r = parse_image_manifest(root, m, err, err_size);
        }
        json_decref(root);
        if (r < 0) {
                manifest_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

void manifest_free(struct manifest *m)
{
        if (!m)
                return;
        free(m->layers);
        free(m->manifests);
        free(m);
}

static int copy_lower(char *dst, size_t size, const char *src)
{
        size_t n = src ? strlen(src) : 0;
        if (n >= size)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                dst[i] = (char)tolower((unsigned char)src[i]);
        dst[n] = '\0';
        return 0;
}

int manifest_platform_normalize(const char *os, const char *arch, const char *variant,
                                struct manifest_platform *ret)
{
        static const struct {
                const char *from, *arch, *variant;
        } arch_aliases[] = {
            {"x86_64", "amd64", NULL},    {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
            {"armhf", "arm", "v7"},       {"armel", "arm", "v6"},    {"armv7l", "arm", "v7"},
            {"armv7", "arm", "v7"},       {"armv6l", "arm", "v6"},   {"armv6", "arm", "v6"},
            {"armv5tel", "arm", "v5"},    {"armv8l", "arm", "v8"},   {"i386", "386", NULL},
            {"i486", "386", NULL},        {"i586", "386", NULL},     {"i686", "386", NULL},
            {"ppc64el", "ppc64le", NULL},
        };
        struct manifest_platform p = {0};

        if (copy_lower(p.os, sizeof(p.os), os) < 0 ||
            copy_lower(p.architecture, sizeof(p.architecture), arch) < 0 ||
            copy_lower(p.variant, sizeof(p.variant), variant) < 0)
                return -EINVAL;
        for (size_t i = 0; i < ARRAY_SIZE(arch_aliases); i++)
                if (strcmp(p.architecture, arch_aliases[i].from) == 0) {
                        snprintf(p.architecture, sizeof(p.architecture), "%s",
                                 arch_aliases[i].arch);
                        if (arch_aliases[i].variant && !p.variant[0])
                                snprintf(p.variant, sizeof(p.variant), "%s",
                                         arch_aliases[i].variant);
                        break;
                }
        if (p.variant[0] >= '0' && p.variant[0] <= '9') {
                if (strlen(p.variant) + 1 >= sizeof(p.variant))
                        return -EINVAL;
                memmove(p.variant + 1, p.variant, strlen(p.variant) + 1);
                p.variant[0] = 'v';
        }
        if (strcmp(p.architecture, "arm64") == 0 && !p.variant[0])
                snprintf(p.variant, sizeof(p.variant), "v8");
        else if (strcmp(p.architecture, "arm") == 0 && !p.variant[0])
                snprintf(p.variant, sizeof(p.variant), "v7");
        else if (strcmp(p.architecture, "amd64") == 0 && strcmp(p.variant, "v1") == 0)
                p.variant[0] = '\0';
        *ret = p;
        return 0;
}

int manifest_host_platform(struct manifest_platform *ret)
{
        struct utsname u;

        if (uname(&u) < 0)
                return negative_errno();
        return manifest_platform_normalize("linux", u.machine, NULL, ret);
}

static bool is_image_manifest_type(const char *t)
{
        return strcmp(t, MEDIA_OCI_MANIFEST) == 0 || strcmp(t, MEDIA_DOCKER_MANIFEST) == 0;
}

/* The number of an arm variant "vN", or -1. */
static int arm_level(const char *variant)
{
        if (variant[0] != 'v' || variant[1] < '1' || variant[1] > '9' || variant[2])
                return -1;
        return variant[1] - '0';
}

static void format_platform(const struct manifest_platform *p, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s%s%s", p->os, p->architecture, p->variant[0] ? "/" : "",
                 p->variant);
}

int manifest_select(const struct manifest *index, const char *os, const char *arch,
                    const char *variant, const struct manifest_descriptor **ret, char *err,
                    size_t err_size)
{
        struct manifest_platform want;
        const struct manifest_descriptor *best = NULL;
        int best_level = -1;

        *ret = NULL;
        if (!manifest_is_index(index))
                return errbuf_fail(err, err_size, -EINVAL,
                                   "platform selection needs an image index");
        if (manifest_platform_normalize(os, arch, variant, &want) < 0)
                return errbuf_fail(err, err_size, -EINVAL, "requested platform is too long");
        int want_level = strcmp(want.architecture, "arm") == 0 ? arm_level(want.variant) : -1;

        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct manifest_descriptor *d = &index->manifests[i];
                struct manifest_platform p;
                if (!d->has_platform || !is_image_manifest_type(d->media_type))
                        continue;
                if (manifest_platform_normalize(d->platform.os, d->platform.architecture,
                                                d->platform.variant, &p) < 0)
                        continue;
                if (strcmp(p.os, want.os) != 0 || strcmp(p.architecture, want.architecture) != 0)
                        continue;
                if (strcmp(p.variant, want.variant) == 0) {
                        *ret = d;
                        return 0;
                }
                int level = want_level > 0 ? arm_level(p.variant) : -1;
                if (level > 0 && level < want_level && level > best_level) {
                        best = d;
                        best_level = level;
                }
        }
        if (best) {
                *ret = best;
                return 0;
        }

        if (err_size > 0) {
                char wbuf[128], pbuf[128];
                format_platform(&want, wbuf, sizeof(wbuf));
                int n =
                    snprintf(err, err_size, "no image for platform %s in the index; it has:", wbuf);
                size_t listed = 0;
                for (size_t i = 0; i < index->n_manifests && n >= 0 && (size_t)n < err_size; i++) {
                        const struct manifest_descriptor *d = &index->manifests[i];
                        if (!d->has_platform || !is_image_manifest_type(d->media_type) ||
                            strcmp(d->platform.os, "unknown") == 0)
                                continue;
                        format_platform(&d->platform, pbuf, sizeof(pbuf));
                        n += snprintf(err + n, err_size - (size_t)n, "%s %s", listed ? "," : "",
                                      pbuf);
                        listed++;
                }
                if (!listed && n >= 0 && (size_t)n < err_size)
                        snprintf(err + n, err_size - (size_t)n, " no platforms");
        }
        return -ENOENT;
}

int manifest_verify_digest(const void *buf, size_t len, const char *expected, char *err,
                           size_t err_size)
{
        char got[DIGEST_STRING_MAX + 1];
        enum digest_algo algo;

        int r = digest_parse(expected, &algo, err, err_size);
        if (r < 0)
                return r;
        r = digest_buffer(algo, buf, len, got);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "hashing the manifest failed");
        if (!digest_equal(got, expected))
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "manifest digest mismatch: expected %s, the registry sent %s",
                                   expected, got);
        return 0;
}
