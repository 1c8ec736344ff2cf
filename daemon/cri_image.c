/* cri_image.c: the CRI ImageService RPCs (PullImage, ListImages,
 * StreamImages, ImageStatus, RemoveImage, ImageFsInfo): request checks,
 * the translation between CRI messages and the image service (images.h),
 * and the gRPC status of every failure. */
#include "cri.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "brigd.h"
#include "containers.h"
#include "images.h"
#include "log.h"
#include "util.h"

/* StreamImages sends the list in messages of at most this many images. */
#define STREAM_BATCH 256
#define ERR_SIZE     1024

/* One CRI Image and the sub-messages it points to. */
struct cri_image {
        Runtime__V1__Image image;
        Runtime__V1__Int64Value uid;
        Runtime__V1__ImageSpec spec;
};

static void fill_image(struct cri_image *out, const struct store_image *img, bool pinned)
{
        runtime__v1__image__init(&out->image);
        runtime__v1__int64_value__init(&out->uid);
        runtime__v1__image_spec__init(&out->spec);
        out->image.id = (char *)img->id;
        out->image.repo_tags = img->repo_tags;
        out->image.n_repo_tags = img->n_repo_tags;
        out->image.repo_digests = img->repo_digests;
        out->image.n_repo_digests = img->n_repo_digests;
        out->image.size = img->size;
        if (img->has_uid) {
                out->uid.value = img->uid;
                out->image.uid = &out->uid;
        } else if (img->username) {
                out->image.username = img->username;
        }
        out->spec.image = (char *)img->id;
        out->image.spec = &out->spec;
        out->image.pinned = pinned;
}

static struct brigd *app(struct rpc_call *call)
{
        return rpc_call_app(call);
}

static const char *spec_image(const Runtime__V1__ImageSpec *spec)
{
        return spec && spec->image && spec->image[0] ? spec->image : NULL;
}

static void fail_with(struct rpc_call *call, int r, const char *what, const char *err)
{
        log_warn("image request failed", "call=%" PRIu64 " method=%s errno=%d reason=\"%s\"",
                 rpc_call_id(call), rpc_call_method(call), -r, err);
        rpc_fail(call, images_grpc_code(r), "%s: %s", what, err[0] ? err : strerror(-r));
}

void cri_pull_image(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__PullImageRequest *req = (const void *)request;
        Runtime__V1__PullImageResponse resp = RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT;
        struct registry_auth_config auth = {0};
        char id[DIGEST_STRING_MAX + 1], err[ERR_SIZE] = "";
        const char *image = spec_image(req->image);
        int r;

        if (!image) {
                rpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "PullImage: image.image is empty");
                return;
        }
        if (req->auth) {
                auth = (struct registry_auth_config){
                    .username = req->auth->username,
                    .password = req->auth->password,
                    .auth = req->auth->auth,
                    .server_address = req->auth->server_address,
                    .identity_token = req->auth->identity_token,
                    .registry_token = req->auth->registry_token,
                };
        }
        r = images_pull(app(call)->images, image, req->auth ? &auth : NULL, rpc_call_id(call), id,
                        err, sizeof(err));
        if (r < 0) {
                fail_with(call, r, "PullImage", err);
                return;
        }
        resp.image_ref = id;
        rpc_reply(call, &resp.base);
}

/* The images a filter selects: all, or the one its image names. */
static int select_images(struct images *im, const Runtime__V1__ImageFilter *filter,
                         struct store_image ***ret, size_t *ret_n, char *err, size_t err_size)
{
        const char *image = filter ? spec_image(filter->image) : NULL;
        struct store_image *one = NULL;
        int r;

        if (!image)
                return images_list(im, ret, ret_n);
        *ret = NULL;
        *ret_n = 0;
        r = images_find(im, image, &one, err, err_size);
        if (r == -ENOENT || r == -EINVAL)
                return 0; /* a filter that matches nothing lists nothing */
        if (r < 0)
                return r;
        *ret = malloc(sizeof(**ret));
        if (!*ret) {
                store_image_free(one);
                return -ENOMEM;
        }
        one->pinned = images_is_pinned(im, one);
        (*ret)[0] = one;
        *ret_n = 1;
        return 0;
}

/* Fills images[0..n) and the pointer array the response carries. */
static int cri_images(struct store_image **list, size_t n, struct cri_image **ret_images,
                      Runtime__V1__Image ***ret_ptrs)
{
        struct cri_image *imgs = calloc(n ? n : 1, sizeof(*imgs));
        Runtime__V1__Image **ptrs = calloc(n ? n : 1, sizeof(*ptrs));

        if (!imgs || !ptrs) {
                free(imgs);
                free(ptrs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                fill_image(&imgs[i], list[i], list[i]->pinned);
                ptrs[i] = &imgs[i].image;
        }
        *ret_images = imgs;
        *ret_ptrs = ptrs;
        return 0;
}

/* The images a List/Stream request selects, as CRI messages. On failure
 * the call is already answered. */
struct listing {
        struct store_image **list;
        size_t n;
        struct cri_image *imgs;
        Runtime__V1__Image **ptrs;
};

static void listing_done(struct listing *l)
{
        store_image_list_free(l->list, l->n);
        free(l->imgs);
        free(l->ptrs);
}

static int listing_make(struct rpc_call *call, const Runtime__V1__ImageFilter *filter,
                        const char *what, struct listing *ret)
{
        char err[ERR_SIZE] = "";
        int r = select_images(app(call)->images, filter, &ret->list, &ret->n, err, sizeof(err));

        if (r == 0)
                r = cri_images(ret->list, ret->n, &ret->imgs, &ret->ptrs);
        if (r < 0) {
                listing_done(ret);
                fail_with(call, r, what, err);
        }
        return r;
}

void cri_list_images(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ListImagesRequest *req = (const void *)request;
        Runtime__V1__ListImagesResponse resp = RUNTIME__V1__LIST_IMAGES_RESPONSE__INIT;
        struct listing l = {0};

        if (listing_make(call, req->filter, "ListImages", &l) < 0)
                return;
        resp.images = l.ptrs;
        resp.n_images = l.n;
        rpc_reply(call, &resp.base);
        listing_done(&l);
}

void cri_stream_images(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__StreamImagesRequest *req = (const void *)request;
        struct listing l = {0};

        if (listing_make(call, req->filter, "StreamImages", &l) < 0)
                return;
        for (size_t off = 0; off < l.n; off += STREAM_BATCH) {
                Runtime__V1__StreamImagesResponse msg = RUNTIME__V1__STREAM_IMAGES_RESPONSE__INIT;
                msg.images = l.ptrs + off;
                msg.n_images = l.n - off < STREAM_BATCH ? l.n - off : STREAM_BATCH;
                if (rpc_send(call, &msg.base) < 0)
                        break;
        }
        listing_done(&l);
        rpc_reply(call, NULL);
}

/* ImageStatus' verbose "info": the record and the image config as JSON. */
static char *verbose_info(struct images *im, const struct store_image *img)
{
        json_t *o = json_object(), *layers = json_array(), *tags = json_array(),
               *digests = json_array();
        char *text = NULL;

        if (!o || !layers || !tags || !digests)
                goto out;
        for (size_t i = 0; i < img->n_repo_tags; i++)
                json_array_append_new(tags, json_string(img->repo_tags[i]));
        for (size_t i = 0; i < img->n_repo_digests; i++)
                json_array_append_new(digests, json_string(img->repo_digests[i]));
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct store_layer *l = &img->layers[i];
                json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:s, s:s}", "digest",
                                                        l->digest, "mediaType", l->media_type,
                                                        "size", (json_int_t)l->size, "diffID",
                                                        l->diff_id, "chainID", l->chain_id));
        }
        json_object_set_new(o, "id", json_string(img->id));
        json_object_set(o, "repoTags", tags);
        json_object_set(o, "repoDigests", digests);
        json_object_set_new(o, "manifestDigest", json_string(img->manifest_digest));
        json_object_set_new(o, "manifestMediaType", json_string(img->manifest_media_type));
        json_object_set_new(o, "configDigest", json_string(img->config_digest));
        json_object_set_new(o, "size", json_integer((json_int_t)img->size));
        json_object_set_new(o, "pulledAt", json_integer(img->pulled_at));
        json_object_set(o, "layers", layers);
        {
                /* The config is a verified blob of our own store; shown as it is. */
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;
                char err[256];
                if (images_read_config(im, img, &buf, &len, err, sizeof(err)) == 0) {
                        json_t *cfg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
                        if (cfg)
                                json_object_set_new(o, "imageSpec", cfg);
                }
        }
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
        json_decref(layers);
        json_decref(tags);
        json_decref(digests);
        json_decref(o);
        return text;
}

void cri_image_status(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ImageStatusRequest *req = (const void *)request;
        Runtime__V1__ImageStatusResponse resp = RUNTIME__V1__IMAGE_STATUS_RESPONSE__INIT;
        Runtime__V1__ImageStatusResponse__InfoEntry entry =
            RUNTIME__V1__IMAGE_STATUS_RESPONSE__INFO_ENTRY__INIT;
        Runtime__V1__ImageStatusResponse__InfoEntry *entries[1] = {&entry};
        struct images *im = app(call)->images;
        struct store_image *img = NULL;
        struct cri_image out;
        _cleanup_free_ char *info = NULL;
        char err[ERR_SIZE] = "";
        const char *image = spec_image(req->image);
        int r;

        if (!image) {
                rpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "ImageStatus: image.image is empty");
                return;
        }
        r = images_find(im, image, &img, err, sizeof(err));
        if (r == -ENOENT) {
                /* The CRI answers an absent image with no image, not an error. */
                rpc_reply(call, &resp.base);
                return;
        }
        if (r < 0) {
                fail_with(call, r, "ImageStatus", err);
                return;
        }
        fill_image(&out, img, images_is_pinned(im, img));
        resp.image = &out.image;
        if (req->verbose) {
                info = verbose_info(im, img);
                if (info) {
                        entry.key = "info";
                        entry.value = info;
                        resp.info = entries;
                        resp.n_info = 1;
                }
        }
        rpc_reply(call, &resp.base);
        store_image_free(img);
}

/* Removes the image unless a container uses it (-EBUSY naming one): by its
 * id, with creations held off, so the check and the removal see the same
 * image and no container starts using it in between. */
static int remove_unused(struct rpc_call *call, const char *image, char *err, size_t err_size)
{
        struct brigd *d = app(call);
        struct store_image *img = NULL;
        int r = images_find(d->images, image, &img, err, err_size);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = containers_image_lock(d->containers, img->id, err, err_size);
        if (r == 0) {
                r = images_remove(d->images, img->id, rpc_call_id(call), err, err_size);
                containers_image_unlock(d->containers);
        }
        store_image_free(img);
        return r;
}

void cri_remove_image(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__RemoveImageRequest *req = (const void *)request;
        Runtime__V1__RemoveImageResponse resp = RUNTIME__V1__REMOVE_IMAGE_RESPONSE__INIT;
        char err[ERR_SIZE] = "";
        const char *image = spec_image(req->image);
        int r;

        if (!image) {
                rpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "RemoveImage: image.image is empty");
                return;
        }
        r = remove_unused(call, image, err, sizeof(err));
        if (r < 0) {
                fail_with(call, r, "RemoveImage", err);
                return;
        }
        rpc_reply(call, &resp.base);
}

void cri_image_fs_info(struct rpc_call *call, const ProtobufCMessage *request)
{
        Runtime__V1__ImageFsInfoResponse resp = RUNTIME__V1__IMAGE_FS_INFO_RESPONSE__INIT;
        Runtime__V1__FilesystemUsage usage = RUNTIME__V1__FILESYSTEM_USAGE__INIT;
        Runtime__V1__FilesystemIdentifier fs_id = RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT;
        Runtime__V1__UInt64Value bytes = RUNTIME__V1__UINT64_VALUE__INIT;
        Runtime__V1__UInt64Value inodes = RUNTIME__V1__UINT64_VALUE__INIT;
        Runtime__V1__FilesystemUsage *list[1] = {&usage};
        struct images_usage u;
        struct timespec now;
        int r;

        (void)request;
        r = images_usage(app(call)->images, &u);
        if (r < 0) {
                fail_with(call, r, "ImageFsInfo", "cannot measure the image store");
                return;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        usage.timestamp = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        fs_id.mountpoint = u.mountpoint;
        usage.fs_id = &fs_id;
        bytes.value = u.bytes;
        inodes.value = u.inodes;
        usage.used_bytes = &bytes;
        usage.inodes_used = &inodes;
        /* Images and container layers share one filesystem (no split image
         * filesystem yet): both lists carry it, as kubelet then expects. */
        resp.image_filesystems = list;
        resp.n_image_filesystems = 1;
        resp.container_filesystems = list;
        resp.n_container_filesystems = 1;
        rpc_reply(call, &resp.base);
}
