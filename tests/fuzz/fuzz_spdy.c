/* fuzz_spdy.c: libFuzzer target for brig's SPDY/3.1 codec (daemon/spdy.h).
 *
 * Input: the bytes a client sends on one connection. A server-side session
 * parses them frame by frame, each first from half of what is left (which
 * must give 0, a refusal, or a frame that fits in the half) and then from
 * all of it, until a frame is refused or the bytes run out.
 *
 * A refusal must carry a one-line printable message and stick. A frame
 * must keep the promises of spdy.h (limits, header names) and survive a
 * round trip: encoded by a client session and parsed by a second server
 * session, it comes back field for field. The encoder may refuse only a
 * header block so close to the control frame limit that compression could
 * push it over.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/spdy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *err)
{
        size_t n = strlen(err);

        assert(n > 0);
        for (size_t i = 0; i < n; i++)
                assert(err[i] >= 0x20 && err[i] < 0x7f);
}

static bool same_bytes(const char *a, size_t a_len, const char *b, size_t b_len)
{
        return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* What spdy.h promises of an accepted frame; returns its header block's
 * uncompressed size. */
static size_t check_frame(const struct spdy_frame *f, const uint8_t *buf, size_t len)
{
        size_t block = 4;

        assert(len >= SPDY_HEADER_SIZE);
        assert(f->stream_id <= SPDY_MAX_STREAM_ID);
        assert(f->assoc_stream_id <= SPDY_MAX_STREAM_ID);
        assert(f->last_good_stream_id <= SPDY_MAX_STREAM_ID);
        assert(f->window_delta <= SPDY_MAX_STREAM_ID);
        assert(f->priority <= 7);
        if (f->type == SPDY_DATA) {
                assert(f->stream_id > 0);
                assert(f->data == buf + SPDY_HEADER_SIZE);
                assert(f->data_len == len - SPDY_HEADER_SIZE);
                assert(f->data_len <= SPDY_MAX_DATA_LEN);
        } else {
                assert(len - SPDY_HEADER_SIZE <= SPDY_MAX_CONTROL_LEN);
        }
        if (f->type == SPDY_SYN_STREAM)
                assert(f->stream_id & 1);
        if (f->type == SPDY_WINDOW_UPDATE)
                assert(f->window_delta > 0);
        for (size_t i = 0; i < f->n_settings; i++)
                assert(f->settings[i].id <= 0xffffff);
        assert(f->n_headers <= SPDY_MAX_HEADERS);
        for (size_t i = 0; i < f->n_headers; i++) {
                const struct spdy_header *h = &f->headers[i];
                assert(h->name_len > 0);
                for (size_t k = 0; k < h->name_len; k++)
                        assert(h->name[k] > 0x20 && h->name[k] < 0x7f &&
                               !(h->name[k] >= 'A' && h->name[k] <= 'Z'));
                for (size_t j = 0; j < i; j++)
                        assert(!same_bytes(h->name, h->name_len, f->headers[j].name,
                                           f->headers[j].name_len));
                block += 8 + h->name_len + h->value_len;
        }
        assert(block <= SPDY_MAX_HEADER_BLOCK);
        return block;
}

static void check_same(const struct spdy_frame *a, const struct spdy_frame *b)
{
        assert(a->type == b->type && a->flags == b->flags && a->stream_id == b->stream_id);
        assert(a->assoc_stream_id == b->assoc_stream_id && a->priority == b->priority);
        assert(a->slot == b->slot && a->status == b->status);
        assert(a->last_good_stream_id == b->last_good_stream_id && a->ping_id == b->ping_id);
        assert(a->window_delta == b->window_delta);
        assert(a->n_settings == b->n_settings);
        for (size_t i = 0; i < a->n_settings; i++)
                assert(a->settings[i].flags == b->settings[i].flags &&
                       a->settings[i].id == b->settings[i].id &&
                       a->settings[i].value == b->settings[i].value);
        assert(a->n_headers == b->n_headers);
        for (size_t i = 0; i < a->n_headers; i++) {
                const struct spdy_header *x = &a->headers[i], *y = &b->headers[i];
                assert(same_bytes(x->name, x->name_len, y->name, y->name_len));
                assert(same_bytes(x->value, x->value_len, y->value, y->value_len));
        }
        assert(same_bytes((const char *)a->data, a->data_len, (const char *)b->data, b->data_len));
}

static void round_trip(struct spdy_session *cli, struct spdy_session *srv2,
                       const struct spdy_frame *f, size_t block)
{
        uint8_t *out = NULL;
        size_t len = 0;
        char err[256] = "";
        int r = spdy_encode(cli, f, &out, &len, err, sizeof(err));

        if (r == -EMSGSIZE && block > SPDY_MAX_CONTROL_LEN - 1024) {
                check_message(err);
                return;
        }
        assert(r == 0);

        struct spdy_frame back;
        ssize_t n = spdy_parse(srv2, out, len, &back, err, sizeof(err));
        assert(n > 0 && (size_t)n == len);
        check_same(f, &back);
        spdy_frame_release(&back);
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct spdy_session *srv = NULL, *cli = NULL, *srv2 = NULL;
        size_t off = 0;

        if (spdy_session_new(true, &srv) < 0 || spdy_session_new(false, &cli) < 0 ||
            spdy_session_new(true, &srv2) < 0)
                abort();

        while (off < size) {
                struct spdy_frame f;
                char err[256] = "";
                size_t left = size - off, half = left / 2;
                ssize_t r = spdy_parse(srv, data + off, half, &f, err, sizeof(err));

                assert(r <= (ssize_t)half);
                if (r == 0)
                        r = spdy_parse(srv, data + off, left, &f, err, sizeof(err));
                if (r == 0)
                        break;
                if (r < 0) {
                        assert(r == -EPROTONOSUPPORT || r == -EMSGSIZE || r == -E2BIG ||
                               r == -EBADMSG || r == -EPROTO || r == -ENOMEM);
                        check_message(err);
                        assert(f.owned == NULL);
                        err[0] = 0;
                        assert(spdy_parse(srv, data + off, left, &f, err, sizeof(err)) == r);
                        check_message(err);
                        break;
                }
                size_t block = check_frame(&f, data + off, (size_t)r);
                if (f.type != SPDY_UNKNOWN)
                        round_trip(cli, srv2, &f, block);
                spdy_frame_release(&f);
                off += (size_t)r;
        }
        spdy_session_free(srv);
        spdy_session_free(cli);
        spdy_session_free(srv2);
        return 0;
}
