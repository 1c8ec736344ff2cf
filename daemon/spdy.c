/* spdy.c: owns the SPDY/3.1 frame codec of spdy.h: the wire layouts, the
 * per-direction zlib streams with SPDY/3's preset dictionary, the header
 * block format and the limits that bound what a peer can make brig hold. */
#define ZLIB_CONST
#include "spdy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "errbuf.h"
#include "util.h"

/* The zlib dictionary of SPDY/3 (section 2.6.10.1 of the draft): HTTP
 * names as length-prefixed strings, then common values. Both ends preset
 * it, so a byte of it is a byte of the protocol. */
static const char dictionary[] =
    "\000\000\000\007options\000\000\000\004head\000\000\000\004post"
    "\000\000\000\003put\000\000\000\006delete\000\000\000\005trace"
    "\000\000\000\006accept\000\000\000\016accept-charset"
    "\000\000\000\017accept-encoding\000\000\000\017accept-language"
    "\000\000\000\015accept-ranges\000\000\000\003age\000\000\000\005allow"
    "\000\000\000\015authorization\000\000\000\015cache-control"
    "\000\000\000\012connection\000\000\000\014content-base"
    "\000\000\000\020content-encoding\000\000\000\020content-language"
    "\000\000\000\016content-length\000\000\000\020content-location"
    "\000\000\000\013content-md5\000\000\000\015content-range"
    "\000\000\000\014content-type\000\000\000\004date\000\000\000\004etag"
    "\000\000\000\006expect\000\000\000\007expires\000\000\000\004from"
    "\000\000\000\004host\000\000\000\010if-match\000\000\000\021if-modified-since"
    "\000\000\000\015if-none-match\000\000\000\010if-range"
    "\000\000\000\023if-unmodified-since\000\000\000\015last-modified"
    "\000\000\000\010location\000\000\000\014max-forwards\000\000\000\006pragma"
    "\000\000\000\022proxy-authenticate\000\000\000\023proxy-authorization"
    "\000\000\000\005range\000\000\000\007referer\000\000\000\013retry-after"
    "\000\000\000\006server\000\000\000\002te\000\000\000\007trailer"
    "\000\000\000\021transfer-encoding\000\000\000\007upgrade"
    "\000\000\000\012user-agent\000\000\000\004vary\000\000\000\003via"
    "\000\000\000\007warning\000\000\000\020www-authenticate\000\000\000\006method"
    "\000\000\000\003get\000\000\000\006status\000\000\000\006200 OK"
    "\000\000\000\007version\000\000\000\010HTTP/1.1\000\000\000\003url"
    "\000\000\000\006public\000\000\000\012set-cookie\000\000\000\012keep-alive"
    "\000\000\000\006origin"
    "100101201202205206300302303304305306307402405406407408"
    "409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently"
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found"
    "500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,"
    "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
_Static_assert(sizeof(dictionary) - 1 == 1423, "the SPDY/3 dictionary is 1423 bytes");

/* Worst case of a sync flush beyond deflateBound(), which counts a
 * Z_FINISH: the empty stored block (up to 5 bytes) and slack. */
#define FLUSH_SLACK 16

#define SYN_STREAM_FIXED 10 /* stream id, associated id, priority, slot */
#define STREAM_ID_FIXED  4  /* SYN_REPLY and HEADERS: the stream id */

struct spdy_session {
        z_stream deflate; /* what we send */
        z_stream inflate; /* what the peer sends */
        bool server;
        int recv_error; /* sticky: the inflater may be out of step */
        int send_error; /* sticky: the deflater is out of step */
};

static uint32_t get16(const uint8_t *p)
{
        return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get24(const uint8_t *p)
{
        return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put16(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
        return p + 2;
}

static uint8_t *put24(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 16);
        return put16(p + 1, v);
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        return put24(p + 1, v);
}

const char *spdy_type_name(enum spdy_type type)
{
        switch (type) {
        case SPDY_DATA:
                return "DATA";
        case SPDY_SYN_STREAM:
                return "SYN_STREAM";
        case SPDY_SYN_REPLY:
                return "SYN_REPLY";
        case SPDY_RST_STREAM:
                return "RST_STREAM";
        case SPDY_SETTINGS:
                return "SETTINGS";
        case SPDY_PING:
                return "PING";
        case SPDY_GOAWAY:
                return "GOAWAY";
        case SPDY_HEADERS:
                return "HEADERS";
        case SPDY_WINDOW_UPDATE:
                return "WINDOW_UPDATE";
        case SPDY_UNKNOWN:
                break;
        }
        return "unknown";
}

static enum spdy_type control_type(uint32_t wire)
{
        switch (wire) {
        case SPDY_SYN_STREAM:
        case SPDY_SYN_REPLY:
        case SPDY_RST_STREAM:
        case SPDY_SETTINGS:
        case SPDY_PING:
        case SPDY_GOAWAY:
        case SPDY_HEADERS:
        case SPDY_WINDOW_UPDATE:
                return (enum spdy_type)wire;
        default:
                return SPDY_UNKNOWN;
        }
}

static bool has_headers(enum spdy_type type)
{
        return type == SPDY_SYN_STREAM || type == SPDY_SYN_REPLY || type == SPDY_HEADERS;
}

/* Stream ids are odd when a client opens the stream, even for a server. */
static bool opened_by_client(uint32_t stream_id)
{
        return stream_id & 1;
}

int spdy_session_new(bool server, struct spdy_session **ret)
{
        _cleanup_free_ struct spdy_session *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->server = server;
        if (deflateInit(&s->deflate, Z_DEFAULT_COMPRESSION) != Z_OK)
                return -ENOMEM;
        /* Only fails on a bad stream state, which deflateInit() just ruled out. */
        (void)deflateSetDictionary(&s->deflate, (const Bytef *)dictionary, sizeof(dictionary) - 1);
        if (inflateInit(&s->inflate) != Z_OK) {
                deflateEnd(&s->deflate);
                return -ENOMEM;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

void spdy_session_free(struct spdy_session *s)
{
        if (!s)
                return;
        deflateEnd(&s->deflate);
        inflateEnd(&s->inflate);
        free(s);
}

void spdy_frame_release(struct spdy_frame *f)
{
        if (!f)
                return;
        free(f->owned);
        *f = (struct spdy_frame){0};
}

/* Why the parser refuses this header name, or NULL. SPDY/3 names are
 * lower-case US-ASCII; anything else would reach HTTP-level code that
 * matches names byte for byte. */
static const char *bad_name(const char *name, size_t len)
{
        if (len == 0)
                return "an empty name";
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)name[i];
                if (c >= 'A' && c <= 'Z')
                        return "an upper-case letter in its name";
                if (c < 0x21 || c > 0x7e)
                        return "a byte outside printable ASCII in its name";
        }
        return NULL;
}

/* Finds a name given twice (SPDY joins repeated headers into one value
 * instead); *first and *second are their indexes. Quadratic, but n is at
 * most SPDY_MAX_HEADERS. */
static bool find_repeat(const struct spdy_header *h, size_t n, size_t *first, size_t *second)
{
        for (size_t j = 1; j < n; j++)
                for (size_t i = 0; i < j; i++)
                        if (h[i].name_len == h[j].name_len &&
                            memcmp(h[i].name, h[j].name, h[j].name_len) == 0) {
                                *first = i;
                                *second = j;
                                return true;
                        }
        return false;
}

/* Inflates one frame's header block with the session's decompressor into a
 * buffer that grows to SPDY_MAX_HEADER_BLOCK and no further: a block that
 * would inflate past it is refused as soon as one byte more comes out. */
static int inflate_block(struct spdy_session *s, const char *what, const uint8_t *in, size_t in_len,
                         uint8_t **ret, size_t *ret_len, char *err, size_t err_size)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t size = 0, used = 0;
        z_stream *z = &s->inflate;
        bool boundary = false;
        uint8_t probe;

        z->next_in = in;
        z->avail_in = (uInt)in_len;
        for (;;) {
                if (used == size && size < SPDY_MAX_HEADER_BLOCK) {
                        size_t n = size ? size * 2 : 1024;
                        if (n > SPDY_MAX_HEADER_BLOCK)
                                n = SPDY_MAX_HEADER_BLOCK;
                        uint8_t *p = realloc(out, n);
                        if (!p)
                                return errbuf_fail(err, err_size, -ENOMEM,
                                                   "out of memory inflating a %s header block",
                                                   what);
                        out = p;
                        size = n;
                }
                /* At the limit, one byte of room tells whether more would come. */
                bool full = used == size;
                z->next_out = full ? &probe : out + used;
                z->avail_out = full ? 1 : (uInt)(size - used);
                uInt in_before = z->avail_in, out_before = z->avail_out;
                int zr = inflate(z, Z_SYNC_FLUSH);
                /* A call that could not move reports no block boundary even
                 * when it stands on one, so only one that moved counts. */
                if (z->avail_in != in_before || z->avail_out != out_before)
                        boundary = z->data_type & 128;
                if (full && z->avail_out == 0)
                        return errbuf_fail(err, err_size, -E2BIG,
                                           "%s header block decompresses to more than %d bytes",
                                           what, SPDY_MAX_HEADER_BLOCK);
                if (!full)
                        used = size - z->avail_out;
                if (zr == Z_NEED_DICT) {
                        if (inflateSetDictionary(z, (const Bytef *)dictionary,
                                                 sizeof(dictionary) - 1) != Z_OK)
                                return errbuf_fail(err, err_size, -EBADMSG,
                                                   "%s header block is compressed with a "
                                                   "dictionary other than SPDY/3's",
                                                   what);
                        continue;
                }
                if (zr == Z_MEM_ERROR)
                        return errbuf_fail(err, err_size, -ENOMEM,
                                           "out of memory inflating a %s header block", what);
                if (zr == Z_STREAM_END)
                        return errbuf_fail(err, err_size, -EBADMSG,
                                           "%s header block ends the zlib stream, which SPDY "
                                           "keeps open for the whole session",
                                           what);
                if (zr != Z_OK && zr != Z_BUF_ERROR)
                        return errbuf_fail(err, err_size, -EBADMSG,
                                           "%s header block is not a valid zlib stream", what);
                /* Room left means inflate() stopped for want of input. */
                if (z->avail_out > 0)
                        break;
        }
        /* Each block ends with a sync flush, so all of it is out once the
         * frame's bytes are in; short of a block boundary, the frame was
         * cut short. */
        if (!boundary)
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "%s header block ends in the middle of a compressed block",
                                   what);
        *ret = TAKE_PTR(out);
        *ret_len = used;
        return 0;
}

/* Splits a decompressed block (which it takes) into f->headers, which point
 * into it: one allocation holds the block and, after it, the pair array. */
static int split_block(const char *what, uint8_t *block, size_t len, struct spdy_frame *f,
                       char *err, size_t err_size)
{
        _cleanup_free_ uint8_t *blk = block;
        const size_t align = _Alignof(struct spdy_header);

        if (len < 4)
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "%s header block of %zu bytes has no room for its pair count",
                                   what, len);
        uint32_t n = get32(blk);
        if (n > SPDY_MAX_HEADERS)
                return errbuf_fail(err, err_size, -E2BIG,
                                   "%s header block has %u pairs, more than %d", what, n,
                                   SPDY_MAX_HEADERS);

        size_t at = (len + align - 1) / align * align;
        uint8_t *p = realloc(blk, at + n * sizeof(struct spdy_header));
        if (!p)
                return errbuf_fail(err, err_size, -ENOMEM,
                                   "out of memory splitting a %s header block", what);
        blk = p;
        struct spdy_header *h = (struct spdy_header *)(void *)(blk + at);

        size_t pos = 4;
        for (size_t i = 0; i < n; i++) {
                const char *field[2];
                size_t field_len[2];
                for (int k = 0; k < 2; k++) {
                        if (len - pos < 4 || get32(blk + pos) > len - pos - 4)
                                return errbuf_fail(err, err_size, -EBADMSG,
                                                   "%s header block: the %s of pair %zu runs "
                                                   "past the end of the block",
                                                   what, k ? "value" : "name", i + 1);
                        field_len[k] = get32(blk + pos);
                        field[k] = (const char *)blk + pos + 4;
                        pos += 4 + field_len[k];
                }
                const char *why = bad_name(field[0], field_len[0]);
                if (why)
                        return errbuf_fail(err, err_size, -EPROTO,
                                           "%s header block: pair %zu has %s", what, i + 1, why);
                h[i] = (struct spdy_header){field[0], field_len[0], field[1], field_len[1]};
        }
        if (pos != len)
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "%s header block has %zu bytes after its last pair", what,
                                   len - pos);
        size_t first, second;
        if (find_repeat(h, n, &first, &second))
                return errbuf_fail(err, err_size, -EPROTO,
                                   "%s header block: pair %zu repeats the name of pair %zu", what,
                                   second + 1, first + 1);
        f->headers = h;
        f->n_headers = n;
        f->owned = TAKE_PTR(blk);
        return 0;
}

static int parse_headers(struct spdy_session *s, const uint8_t *in, size_t in_len,
                         struct spdy_frame *f, char *err, size_t err_size)
{
        const char *what = spdy_type_name(f->type);
        uint8_t *block = NULL;
        size_t len = 0;
        int r = inflate_block(s, what, in, in_len, &block, &len, err, err_size);

        if (r < 0)
                return r;
        return split_block(what, block, len, f, err, err_size);
}

static int parse_settings(const uint8_t *p, uint32_t len, struct spdy_frame *f, char *err,
                          size_t err_size)
{
        if (len < 4)
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "SETTINGS frame of %u bytes has no room for its entry count",
                                   len);
        uint32_t n = get32(p);
        if ((len - 4) % 8 != 0 || (len - 4) / 8 != n)
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "SETTINGS frame of %u bytes does not hold the %u entries it "
                                   "announces",
                                   len, n);
        if (n == 0)
                return 0;
        struct spdy_setting *set = calloc(n, sizeof(*set));
        if (!set)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory for %u SETTINGS entries",
                                   n);
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = p + 4 + 8 * (size_t)i;
                set[i] = (struct spdy_setting){e[0], get24(e + 1), get32(e + 4)};
        }
        f->settings = set;
        f->n_settings = n;
        f->owned = set;
        return 0;
}

static int need_stream_id(const struct spdy_frame *f, char *err, size_t err_size)
{
        if (f->stream_id == 0)
                return errbuf_fail(err, err_size, -EPROTO, "%s frame for stream 0",
                                   spdy_type_name(f->type));
        return 0;
}

static int need_length(const char *what, uint32_t len, uint32_t want, char *err, size_t err_size)
{
        if (len != want)
                return errbuf_fail(err, err_size, -EBADMSG, "%s frame of %u bytes; it must be %u",
                                   what, len, want);
        return 0;
}

static int need_min_length(const char *what, uint32_t len, uint32_t want, char *err,
                           size_t err_size)
{
        if (len < want)
                return errbuf_fail(err, err_size, -EBADMSG,
                                   "%s frame of %u bytes is shorter than its %u fixed bytes", what,
                                   len, want);
        return 0;
}

/* The payload p of len bytes of a control frame whose type and flags are in f. */
static int parse_control(struct spdy_session *s, const uint8_t *p, uint32_t len,
                         struct spdy_frame *f, char *err, size_t err_size)
{
        const char *what = spdy_type_name(f->type);
        int r;

        switch (f->type) {
        case SPDY_SYN_STREAM:
                r = need_min_length(what, len, SYN_STREAM_FIXED, err, err_size);
                if (r < 0)
                        return r;
                f->stream_id = get32(p) & SPDY_MAX_STREAM_ID;
                f->assoc_stream_id = get32(p + 4) & SPDY_MAX_STREAM_ID;
                f->priority = p[8] >> 5;
                f->slot = p[9];
                r = need_stream_id(f, err, err_size);
                if (r < 0)
                        return r;
                if (opened_by_client(f->stream_id) != s->server)
                        return errbuf_fail(err, err_size, -EPROTO,
                                           "SYN_STREAM from the %s with stream id %u; its "
                                           "streams are %s",
                                           s->server ? "client" : "server", f->stream_id,
                                           s->server ? "odd" : "even");
                return parse_headers(s, p + SYN_STREAM_FIXED, len - SYN_STREAM_FIXED, f, err,
                                     err_size);
        case SPDY_SYN_REPLY:
        case SPDY_HEADERS:
                r = need_min_length(what, len, STREAM_ID_FIXED, err, err_size);
                if (r < 0)
                        return r;
                f->stream_id = get32(p) & SPDY_MAX_STREAM_ID;
                r = need_stream_id(f, err, err_size);
                if (r < 0)
                        return r;
                return parse_headers(s, p + STREAM_ID_FIXED, len - STREAM_ID_FIXED, f, err,
                                     err_size);
        case SPDY_RST_STREAM:
                r = need_length(what, len, 8, err, err_size);
                if (r < 0)
                        return r;
                f->stream_id = get32(p) & SPDY_MAX_STREAM_ID;
                f->status = get32(p + 4);
                return need_stream_id(f, err, err_size);
        case SPDY_SETTINGS:
                return parse_settings(p, len, f, err, err_size);
        case SPDY_PING:
                r = need_length(what, len, 4, err, err_size);
                if (r < 0)
                        return r;
                f->ping_id = get32(p);
                return 0;
        case SPDY_GOAWAY:
                r = need_length(what, len, 8, err, err_size);
                if (r < 0)
                        return r;
                f->last_good_stream_id = get32(p) & SPDY_MAX_STREAM_ID;
                f->status = get32(p + 4);
                return 0;
        case SPDY_WINDOW_UPDATE:
                r = need_length(what, len, 8, err, err_size);
                if (r < 0)
                        return r;
                f->stream_id = get32(p) & SPDY_MAX_STREAM_ID;
                f->window_delta = get32(p + 4) & SPDY_MAX_STREAM_ID;
                if (f->window_delta == 0)
                        return errbuf_fail(err, err_size, -EPROTO,
                                           "WINDOW_UPDATE of 0 bytes for stream %u", f->stream_id);
                return 0;
        case SPDY_DATA:
        case SPDY_UNKNOWN:
                break;
        }
        return 0;
}

static ssize_t parse_frame(struct spdy_session *s, const uint8_t *buf, size_t len,
                           struct spdy_frame *f, char *err, size_t err_size)
{
        if (len < SPDY_HEADER_SIZE)
                return 0;
        f->flags = buf[4];
        uint32_t plen = get24(buf + 5);

        if (!(buf[0] & 0x80)) {
                f->type = SPDY_DATA;
                f->stream_id = get32(buf) & SPDY_MAX_STREAM_ID;
                if (plen > SPDY_MAX_DATA_LEN)
                        return errbuf_fail(err, err_size, -EMSGSIZE,
                                           "DATA frame of %u bytes on stream %u is over the %d "
                                           "byte limit",
                                           plen, f->stream_id, SPDY_MAX_DATA_LEN);
                int r = need_stream_id(f, err, err_size);
                if (r < 0)
                        return r;
                if (len - SPDY_HEADER_SIZE < plen)
                        return 0;
                f->data = buf + SPDY_HEADER_SIZE;
                f->data_len = plen;
                return SPDY_HEADER_SIZE + plen;
        }

        uint32_t version = get16(buf) & 0x7fff, wire_type = get16(buf + 2);
        f->type = control_type(wire_type);
        if (version != SPDY_VERSION)
                return errbuf_fail(err, err_size, -EPROTONOSUPPORT,
                                   "%s control frame (type %u) of SPDY version %u; only version "
                                   "%d is spoken",
                                   spdy_type_name(f->type), wire_type, version, SPDY_VERSION);
        if (plen > SPDY_MAX_CONTROL_LEN)
                return errbuf_fail(err, err_size, -EMSGSIZE,
                                   "%s control frame (type %u) of %u bytes is over the %d byte "
                                   "limit",
                                   spdy_type_name(f->type), wire_type, plen, SPDY_MAX_CONTROL_LEN);
        if (len - SPDY_HEADER_SIZE < plen)
                return 0;
        int r = parse_control(s, buf + SPDY_HEADER_SIZE, plen, f, err, err_size);
        if (r < 0)
                return r;
        return SPDY_HEADER_SIZE + plen;
}

ssize_t spdy_parse(struct spdy_session *s, const uint8_t *buf, size_t len, struct spdy_frame *ret,
                   char *err, size_t err_size)
{
        *ret = (struct spdy_frame){0};
        if (s->recv_error < 0)
                return errbuf_fail(err, err_size, s->recv_error,
                                   "the SPDY session already failed on an earlier frame");

        ssize_t r = parse_frame(s, buf, len, ret, err, err_size);
        if (r < 0) {
                spdy_frame_release(ret);
                s->recv_error = (int)r;
        }
        return r;
}

/* --- encoding --- */

static int check_stream_id(const struct spdy_frame *f, bool zero_ok, char *err, size_t err_size)
{
        if ((!zero_ok && f->stream_id == 0) || f->stream_id > SPDY_MAX_STREAM_ID)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "%s frame needs a stream id from %d to 2^31-1, not %u",
                                   spdy_type_name(f->type), zero_ok ? 0 : 1, f->stream_id);
        return 0;
}

/* Checks f against what the parser accepts and returns the payload length
 * of everything but a header block. */
static int check_frame(const struct spdy_session *s, const struct spdy_frame *f, size_t *fixed,
                       char *err, size_t err_size)
{
        const char *what = spdy_type_name(f->type);
        int r;

        switch (f->type) {
        case SPDY_DATA:
                if (f->data_len > SPDY_MAX_DATA_LEN)
                        return errbuf_fail(err, err_size, -EMSGSIZE,
                                           "DATA frame of %zu bytes is over the %d byte limit",
                                           f->data_len, SPDY_MAX_DATA_LEN);
                *fixed = f->data_len;
                return check_stream_id(f, false, err, err_size);
        case SPDY_SYN_STREAM:
                r = check_stream_id(f, false, err, err_size);
                if (r < 0)
                        return r;
                if (f->priority > 7)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "SYN_STREAM priority %u; it must be 0 to 7",
                                           f->priority);
                if (f->assoc_stream_id > SPDY_MAX_STREAM_ID)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "SYN_STREAM associated stream id %u is over 2^31-1",
                                           f->assoc_stream_id);
                if (opened_by_client(f->stream_id) == s->server)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "SYN_STREAM with stream id %u from the %s; its streams "
                                           "are %s",
                                           f->stream_id, s->server ? "server" : "client",
                                           s->server ? "even" : "odd");
                *fixed = SYN_STREAM_FIXED;
                return 0;
        case SPDY_SYN_REPLY:
        case SPDY_HEADERS:
                *fixed = STREAM_ID_FIXED;
                return check_stream_id(f, false, err, err_size);
        case SPDY_RST_STREAM:
                *fixed = 8;
                return check_stream_id(f, false, err, err_size);
        case SPDY_SETTINGS:
                if (f->n_settings > (SPDY_MAX_CONTROL_LEN - 4) / 8)
                        return errbuf_fail(err, err_size, -EMSGSIZE,
                                           "SETTINGS frame of %zu entries is over the %d byte "
                                           "limit",
                                           f->n_settings, SPDY_MAX_CONTROL_LEN);
                for (size_t i = 0; i < f->n_settings; i++)
                        if (f->settings[i].id > 0xffffff)
                                return errbuf_fail(err, err_size, -EINVAL,
                                                   "SETTINGS id %u is over 24 bits",
                                                   f->settings[i].id);
                *fixed = 4 + 8 * f->n_settings;
                return 0;
        case SPDY_PING:
                *fixed = 4;
                return 0;
        case SPDY_GOAWAY:
                if (f->last_good_stream_id > SPDY_MAX_STREAM_ID)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "GOAWAY last good stream id %u is over 2^31-1",
                                           f->last_good_stream_id);
                *fixed = 8;
                return 0;
        case SPDY_WINDOW_UPDATE:
                if (f->window_delta == 0 || f->window_delta > SPDY_MAX_STREAM_ID)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "WINDOW_UPDATE delta %u; it must be 1 to 2^31-1",
                                           f->window_delta);
                *fixed = 8;
                return check_stream_id(f, true, err, err_size);
        case SPDY_UNKNOWN:
                break;
        }
        return errbuf_fail(err, err_size, -EINVAL, "cannot encode a frame of type %s (%d)", what,
                           (int)f->type);
}

/* Lays out f's header block uncompressed, after checking it as the parser
 * would, into a new buffer. */
static int build_block(const struct spdy_frame *f, uint8_t **ret, size_t *ret_len, char *err,
                       size_t err_size)
{
        const char *what = spdy_type_name(f->type);
        size_t len = 4;

        if (f->n_headers > SPDY_MAX_HEADERS)
                return errbuf_fail(err, err_size, -E2BIG, "%s with %zu headers, more than %d", what,
                                   f->n_headers, SPDY_MAX_HEADERS);
        for (size_t i = 0; i < f->n_headers; i++) {
                const struct spdy_header *h = &f->headers[i];
                const char *why = bad_name(h->name, h->name_len);
                if (why)
                        return errbuf_fail(err, err_size, -EINVAL, "%s header %zu has %s", what,
                                           i + 1, why);
                /* Each term is checked before it is added, so len never wraps. */
                if (h->name_len > SPDY_MAX_HEADER_BLOCK || h->value_len > SPDY_MAX_HEADER_BLOCK ||
                    (len += 8 + h->name_len + h->value_len) > SPDY_MAX_HEADER_BLOCK)
                        return errbuf_fail(err, err_size, -E2BIG,
                                           "%s header block is over %d bytes", what,
                                           SPDY_MAX_HEADER_BLOCK);
        }
        size_t first, second;
        if (find_repeat(f->headers, f->n_headers, &first, &second))
                return errbuf_fail(err, err_size, -EINVAL,
                                   "%s header %zu repeats the name of header %zu; join the "
                                   "values with NUL bytes instead",
                                   what, second + 1, first + 1);

        uint8_t *blk = malloc(len);
        if (!blk)
                return errbuf_fail(err, err_size, -ENOMEM,
                                   "out of memory for a %s header block of %zu bytes", what, len);
        uint8_t *p = put32(blk, (uint32_t)f->n_headers);
        for (size_t i = 0; i < f->n_headers; i++) {
                const struct spdy_header *h = &f->headers[i];
                p = put32(p, (uint32_t)h->name_len);
                memcpy(p, h->name, h->name_len);
                p = put32(p + h->name_len, (uint32_t)h->value_len);
                if (h->value_len > 0)
                        memcpy(p, h->value, h->value_len);
                p += h->value_len;
        }
        *ret = blk;
        *ret_len = len;
        return 0;
}

static void put_fixed(const struct spdy_frame *f, uint8_t *p)
{
        switch (f->type) {
        case SPDY_DATA:
                if (f->data_len > 0)
                        memcpy(p, f->data, f->data_len);
                break;
        case SPDY_SYN_STREAM:
                p = put32(p, f->stream_id);
                p = put32(p, f->assoc_stream_id);
                p[0] = (uint8_t)(f->priority << 5);
                p[1] = f->slot;
                break;
        case SPDY_SYN_REPLY:
        case SPDY_HEADERS:
                put32(p, f->stream_id);
                break;
        case SPDY_RST_STREAM:
                put32(put32(p, f->stream_id), f->status);
                break;
        case SPDY_SETTINGS:
                p = put32(p, (uint32_t)f->n_settings);
                for (size_t i = 0; i < f->n_settings; i++) {
                        *p++ = f->settings[i].flags;
                        p = put32(put24(p, f->settings[i].id), f->settings[i].value);
                }
                break;
        case SPDY_PING:
                put32(p, f->ping_id);
                break;
        case SPDY_GOAWAY:
                put32(put32(p, f->last_good_stream_id), f->status);
                break;
        case SPDY_WINDOW_UPDATE:
                put32(put32(p, f->stream_id), f->window_delta);
                break;
        case SPDY_UNKNOWN:
                break;
        }
}

int spdy_encode(struct spdy_session *s, const struct spdy_frame *f, uint8_t **ret, size_t *ret_len,
                char *err, size_t err_size)
{
        const char *what = spdy_type_name(f->type);
        _cleanup_free_ uint8_t *raw = NULL;
        size_t fixed = 0, raw_len = 0, room = 0;
        int r;

        r = check_frame(s, f, &fixed, err, err_size);
        if (r < 0)
                return r;
        bool headers = has_headers(f->type);
        if (headers) {
                if (s->send_error < 0)
                        return errbuf_fail(err, err_size, s->send_error,
                                           "the header compressor failed on an earlier frame");
                r = build_block(f, &raw, &raw_len, err, err_size);
                if (r < 0)
                        return r;
                /* Sized up front so that the compressor, once fed, cannot
                 * fail for want of room or memory. */
                room = deflateBound(&s->deflate, raw_len) + FLUSH_SLACK;
                if (fixed + room > SPDY_MAX_CONTROL_LEN)
                        return errbuf_fail(err, err_size, -EMSGSIZE,
                                           "%s header block of %zu bytes might not compress "
                                           "below the %d byte limit of a control frame",
                                           what, raw_len, SPDY_MAX_CONTROL_LEN);
        }

        _cleanup_free_ uint8_t *out = malloc(SPDY_HEADER_SIZE + fixed + room);
        if (!out)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory for a %s frame", what);
        put_fixed(f, out + SPDY_HEADER_SIZE);
        size_t plen = fixed;
        if (headers) {
                z_stream *z = &s->deflate;
                z->next_in = raw;
                z->avail_in = (uInt)raw_len;
                z->next_out = out + SPDY_HEADER_SIZE + fixed;
                z->avail_out = (uInt)room;
                int zr = deflate(z, Z_SYNC_FLUSH);
                /* Out of room means the flush may be incomplete. */
                if (zr != Z_OK || z->avail_in > 0 || z->avail_out == 0) {
                        s->send_error = -EIO;
                        return errbuf_fail(err, err_size, -EIO,
                                           "compressing a %s header block failed (zlib %d); "
                                           "the session cannot send headers any more",
                                           what, zr);
                }
                plen += room - z->avail_out;
        }

        if (f->type == SPDY_DATA) {
                put32(out, f->stream_id);
        } else {
                put16(out, 0x8000 | SPDY_VERSION);
                put16(out + 2, (uint32_t)f->type);
        }
        out[4] = f->flags;
        put24(out + 5, (uint32_t)plen);
        *ret = TAKE_PTR(out);
        *ret_len = SPDY_HEADER_SIZE + plen;
        return 0;
}
