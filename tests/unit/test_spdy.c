/* test_spdy.c: unit tests for daemon/spdy.h: every frame type survives
 * encoding and parsing and sits on the wire as SPDY/3 lays it out, frames
 * written by another implementation (the Go framer kubelet uses) parse,
 * header compression carries across frames, partial input waits, unknown
 * control types are skipped, and each limit and refusal holds, a zlib
 * bomb included. Frames the encoder would refuse to build are put together
 * here by hand, their header blocks compressed with zlib directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "daemon/spdy.h"

/* adler32 of SPDY/3's dictionary: zlib names the preset dictionary by it. */
#define SPDY3_DICT_ID 0xe3c6a7c2u

/* Written by the SPDY/3 framer of github.com/moby/spdystream (the one
 * kubelet and the API server use) as a client: SYN_STREAM 1 (priority 2;
 * port: 8080, streamtype: error, x-multi: a NUL bc), SYN_STREAM 3 with FIN
 * (port: 8080, streamtype: stdout), DATA "hello" with FIN on stream 1,
 * PING 7, SETTINGS {flags 1, INITIAL_WINDOW_SIZE, 65536}, RST_STREAM 3
 * CANCEL, GOAWAY 3 OK. */
static const uint8_t go_frames[] = {
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x02, 0x25, 0x3a, 0x70, 0x3a, 0x2b, 0x29, 0x4a,
    0x4d, 0xcc, 0x85, 0x16, 0x25, 0xac, 0xa9, 0xa0, 0x80, 0x86, 0x14, 0xcb, 0x45, 0xe0, 0x1c, 0x60,
    0x61, 0x60, 0x61, 0x00, 0x4a, 0xb6, 0x15, 0xba, 0xb9, 0xa5, 0x39, 0x25, 0x99, 0x20, 0xa1, 0x44,
    0x86, 0xa4, 0x64, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x80, 0x03, 0x00, 0x01, 0x01, 0x00, 0x00,
    0x1e, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xe5, 0x2d, 0x0c, 0xdd,
    0x6c, 0xc5, 0x25, 0x29, 0xf9, 0xe0, 0x62, 0x1c, 0x45, 0x3b, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00,
    0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x80, 0x03, 0x00, 0x06,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0c,
    0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x80, 0x03, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0x80, 0x03, 0x00, 0x07,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
};

#define H(n, v)                                                                                    \
        {                                                                                          \
                n, sizeof(n) - 1, v, sizeof(v) - 1                                                 \
        }

static struct spdy_session *session(bool server)
{
        struct spdy_session *s = NULL;

        assert_int_equal(spdy_session_new(server, &s), 0);
        assert_non_null(s);
        return s;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes a control frame header (version 3 unless told) for len payload bytes. */
static void control_header(uint8_t *p, uint16_t version, uint16_t type, uint8_t flags, uint32_t len)
{
        p[0] = (uint8_t)(0x80 | version >> 8);
        p[1] = (uint8_t)version;
        p[2] = (uint8_t)(type >> 8);
        p[3] = (uint8_t)type;
        put32(p + 4, len);
        p[4] = flags;
}

static uint8_t *encode(struct spdy_session *s, const struct spdy_frame *f, size_t *len)
{
        uint8_t *out = NULL;
        char err[256] = "";

        assert_int_equal(spdy_encode(s, f, &out, len, err, sizeof(err)), 0);
        assert_non_null(out);
        return out;
}

/* Parses exactly one frame of len bytes. */
static void parse_all(struct spdy_session *s, const uint8_t *buf, size_t len, struct spdy_frame *f)
{
        char err[256] = "";
        ssize_t r = spdy_parse(s, buf, len, f, err, sizeof(err));

        if (r < 0)
                fail_msg("refused: %s", err);
        assert_int_equal(r, (ssize_t)len);
}

/* Parses buf with a fresh session and expects the refusal want; returns
 * the message (static), which must be there. */
static const char *refused(bool server, const uint8_t *buf, size_t len, int want)
{
        static char err[256];
        struct spdy_session *s = session(server);
        struct spdy_frame f;

        err[0] = 0;
        ssize_t r = spdy_parse(s, buf, len, &f, err, sizeof(err));
        assert_int_equal(r, want);
        assert_true(strlen(err) > 0);
        assert_null(f.owned);
        spdy_session_free(s);
        return err;
}

static void assert_header(const struct spdy_frame *f, const char *name, const char *value,
                          size_t value_len)
{
        for (size_t i = 0; i < f->n_headers; i++)
                if (f->headers[i].name_len == strlen(name) &&
                    memcmp(f->headers[i].name, name, strlen(name)) == 0) {
                        assert_int_equal(f->headers[i].value_len, value_len);
                        assert_memory_equal(f->headers[i].value, value, value_len);
                        return;
                }
        fail_msg("no header %s", name);
}

static void assert_same(const struct spdy_frame *a, const struct spdy_frame *b)
{
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->flags, b->flags);
        assert_int_equal(a->stream_id, b->stream_id);
        assert_int_equal(a->assoc_stream_id, b->assoc_stream_id);
        assert_int_equal(a->priority, b->priority);
        assert_int_equal(a->slot, b->slot);
        assert_int_equal(a->status, b->status);
        assert_int_equal(a->last_good_stream_id, b->last_good_stream_id);
        assert_int_equal(a->ping_id, b->ping_id);
        assert_int_equal(a->window_delta, b->window_delta);
        assert_int_equal(a->n_settings, b->n_settings);
        for (size_t i = 0; i < a->n_settings; i++) {
                assert_int_equal(a->settings[i].flags, b->settings[i].flags);
                assert_int_equal(a->settings[i].id, b->settings[i].id);
                assert_int_equal(a->settings[i].value, b->settings[i].value);
        }
        assert_int_equal(a->n_headers, b->n_headers);
        for (size_t i = 0; i < a->n_headers; i++) {
                assert_int_equal(a->headers[i].name_len, b->headers[i].name_len);
                assert_memory_equal(a->headers[i].name, b->headers[i].name, a->headers[i].name_len);
                assert_int_equal(a->headers[i].value_len, b->headers[i].value_len);
                if (a->headers[i].value_len)
                        assert_memory_equal(a->headers[i].value, b->headers[i].value,
                                            a->headers[i].value_len);
        }
        assert_int_equal(a->data_len, b->data_len);
        if (a->data_len)
                assert_memory_equal(a->data, b->data, a->data_len);
}

/* Encodes every frame of in with from and parses them back with to. */
static void round_trip(struct spdy_session *from, struct spdy_session *to,
                       const struct spdy_frame *in, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct spdy_frame out;
                size_t len;
                uint8_t *buf = encode(from, &in[i], &len);

                parse_all(to, buf, len, &out);
                assert_same(&in[i], &out);
                spdy_frame_release(&out);
                assert_null(out.owned);
                free(buf);
        }
}

static void test_round_trip_every_type(void **state)
{
        static const struct spdy_header req[] = {H("streamtype", "stdin"), H("port", "8080")};
        static const struct spdy_header rep[] = {H(":status", "200")};
        static const struct spdy_setting set[] = {{1, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
                                                  {0, 0xffffff, 0xffffffff}};
        static const uint8_t bytes[] = {0, 1, 2, 0xff};
        const struct spdy_frame up[] = {
            {.type = SPDY_SYN_STREAM,
             .flags = SPDY_FLAG_UNIDIRECTIONAL,
             .stream_id = 1,
             .assoc_stream_id = 0x7fffffff,
             .priority = 7,
             .slot = 9,
             .headers = req,
             .n_headers = 2},
            {.type = SPDY_DATA, .stream_id = 1, .data = bytes, .data_len = sizeof(bytes)},
            {.type = SPDY_DATA, .flags = SPDY_FLAG_FIN, .stream_id = 0x7fffffff},
            {.type = SPDY_RST_STREAM, .stream_id = 3, .status = SPDY_RST_CANCEL},
            {.type = SPDY_SETTINGS,
             .flags = SPDY_FLAG_CLEAR_SETTINGS,
             .settings = set,
             .n_settings = 2},
            {.type = SPDY_SETTINGS},
            {.type = SPDY_PING, .ping_id = 0xffffffff},
            {.type = SPDY_GOAWAY, .last_good_stream_id = 0, .status = SPDY_GOAWAY_INTERNAL_ERROR},
            {.type = SPDY_HEADERS,
             .flags = SPDY_FLAG_FIN,
             .stream_id = 1,
             .headers = req,
             .n_headers = 1},
            {.type = SPDY_HEADERS, .stream_id = 1},
            {.type = SPDY_WINDOW_UPDATE, .stream_id = 5, .window_delta = 0x7fffffff},
        };
        const struct spdy_frame down[] = {
            {.type = SPDY_SYN_REPLY, .stream_id = 1, .headers = rep, .n_headers = 1},
            {.type = SPDY_SYN_STREAM,
             .stream_id = 2,
             .assoc_stream_id = 1,
             .headers = rep,
             .n_headers = 1},
            {.type = SPDY_DATA,
             .flags = SPDY_FLAG_FIN,
             .stream_id = 1,
             .data = bytes,
             .data_len = 1},
            {.type = SPDY_WINDOW_UPDATE, .stream_id = 0, .window_delta = 1},
            {.type = SPDY_PING, .ping_id = 2},
        };
        struct spdy_session *cli = session(false), *srv = session(true);

        (void)state;
        round_trip(cli, srv, up, sizeof(up) / sizeof(up[0]));
        round_trip(srv, cli, down, sizeof(down) / sizeof(down[0]));
        spdy_session_free(cli);
        spdy_session_free(srv);
}

/* The fixed frames byte for byte as the draft draws them. */
static void test_wire_layout(void **state)
{
        static const struct spdy_setting set = {2, 0x010203, 0x04050607};
        static const uint8_t d[] = {'h', 'i'};
        const struct {
                struct spdy_frame f;
                uint8_t want[24];
                size_t len;
        } cases[] = {
            {{.type = SPDY_DATA, .flags = 1, .stream_id = 0x01020304, .data = d, .data_len = 2},
             {1, 2, 3, 4, 1, 0, 0, 2, 'h', 'i'},
             10},
            {{.type = SPDY_RST_STREAM, .stream_id = 5, .status = 6},
             {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 6},
             16},
            {{.type = SPDY_SETTINGS, .flags = 1, .settings = &set, .n_settings = 1},
             {0x80, 3, 0, 4, 1, 0, 0, 12, 0, 0, 0, 1, 2, 1, 2, 3, 4, 5, 6, 7},
             20},
            {{.type = SPDY_PING, .ping_id = 0x0a0b0c0d},
             {0x80, 3, 0, 6, 0, 0, 0, 4, 0x0a, 0x0b, 0x0c, 0x0d},
             12},
            {{.type = SPDY_GOAWAY, .last_good_stream_id = 9, .status = 1},
             {0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 1},
             16},
            {{.type = SPDY_WINDOW_UPDATE, .stream_id = 0, .window_delta = 0x10000},
             {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 0, 0, 1, 0, 0},
             16},
        };
        struct spdy_session *s = session(true);

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t len;
                uint8_t *buf = encode(s, &cases[i].f, &len);
                assert_int_equal(len, cases[i].len);
                assert_memory_equal(buf, cases[i].want, len);
                free(buf);
        }
        spdy_session_free(s);
}

static void test_go_framer_frames(void **state)
{
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        char err[256] = "";
        size_t off = 0;
        ssize_t r;

        (void)state;
        r = spdy_parse(s, go_frames, sizeof(go_frames), &f, err, sizeof(err));
        assert_true(r > 0);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_SYN_STREAM);
        assert_int_equal(f.stream_id, 1);
        assert_int_equal(f.priority, 2);
        assert_int_equal(f.n_headers, 3);
        assert_header(&f, "port", "8080", 4);
        assert_header(&f, "streamtype", "error", 5);
        assert_header(&f, "x-multi", "a\0bc", 4);
        spdy_frame_release(&f);

        r = spdy_parse(s, go_frames + off, sizeof(go_frames) - off, &f, err, sizeof(err));
        assert_true(r > 0);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_SYN_STREAM);
        assert_int_equal(f.flags, SPDY_FLAG_FIN);
        assert_int_equal(f.stream_id, 3);
        assert_int_equal(f.n_headers, 2);
        assert_header(&f, "streamtype", "stdout", 6);
        spdy_frame_release(&f);

        r = spdy_parse(s, go_frames + off, sizeof(go_frames) - off, &f, err, sizeof(err));
        assert_int_equal(r, 13);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_DATA);
        assert_int_equal(f.flags, SPDY_FLAG_FIN);
        assert_int_equal(f.data_len, 5);
        assert_memory_equal(f.data, "hello", 5);

        r = spdy_parse(s, go_frames + off, sizeof(go_frames) - off, &f, err, sizeof(err));
        assert_int_equal(r, 12);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_PING);
        assert_int_equal(f.ping_id, 7);

        r = spdy_parse(s, go_frames + off, sizeof(go_frames) - off, &f, err, sizeof(err));
        assert_int_equal(r, 20);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_SETTINGS);
        assert_int_equal(f.n_settings, 1);
        assert_int_equal(f.settings[0].flags, 1);
        assert_int_equal(f.settings[0].id, SPDY_SETTINGS_INITIAL_WINDOW_SIZE);
        assert_int_equal(f.settings[0].value, 65536);
        spdy_frame_release(&f);

        r = spdy_parse(s, go_frames + off, sizeof(go_frames) - off, &f, err, sizeof(err));
        assert_int_equal(r, 16);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_RST_STREAM);
        assert_int_equal(f.stream_id, 3);
        assert_int_equal(f.status, SPDY_RST_CANCEL);

        r = spdy_parse(s, go_frames + off, sizeof(go_frames) - off, &f, err, sizeof(err));
        assert_int_equal(r, 16);
        off += (size_t)r;
        assert_int_equal(f.type, SPDY_GOAWAY);
        assert_int_equal(f.last_good_stream_id, 3);
        assert_int_equal(f.status, SPDY_GOAWAY_OK);
        assert_int_equal(off, sizeof(go_frames));
        assert_int_equal(spdy_parse(s, go_frames + off, 0, &f, err, sizeof(err)), 0);
        spdy_session_free(s);
}

static void test_several_pairs_nul_joined(void **state)
{
        static const struct spdy_header h[] = {
            H(":method", "POST"),
            H("accept", "text/plain\0application/json"),
            H("x-empty", ""),
            H("cookie", "a=1\0b=2\0c=3"),
        };
        const struct spdy_frame in = {
            .type = SPDY_SYN_STREAM, .stream_id = 1, .headers = h, .n_headers = 4};
        struct spdy_session *cli = session(false), *srv = session(true);
        struct spdy_frame out;
        size_t len;
        uint8_t *buf;

        (void)state;
        buf = encode(cli, &in, &len);
        parse_all(srv, buf, len, &out);
        assert_int_equal(out.n_headers, 4);
        assert_header(&out, "accept", "text/plain\0application/json", 27);
        assert_header(&out, "x-empty", "", 0);
        assert_header(&out, "cookie", "a=1\0b=2\0c=3", 11);
        assert_header(&out, ":method", "POST", 4);
        spdy_frame_release(&out);
        free(buf);
        spdy_session_free(cli);
        spdy_session_free(srv);
}

static void test_compression_state_carries(void **state)
{
        static const struct spdy_header h[] = {H("streamtype", "stdout"), H("port", "8080"),
                                               H("requestid", "0123456789")};
        struct spdy_frame in = {
            .type = SPDY_SYN_STREAM, .stream_id = 1, .headers = h, .n_headers = 3};
        struct spdy_session *cli = session(false), *srv = session(true), *fresh = session(true);
        struct spdy_frame out;
        size_t len1, len2;
        uint8_t *one, *two;
        char err[256];

        (void)state;
        one = encode(cli, &in, &len1);
        in.stream_id = 3;
        two = encode(cli, &in, &len2);
        assert_true(len2 < len1);
        /* The first block starts a zlib stream that names the dictionary. */
        assert_true(one[19] & 0x20);
        assert_int_equal(get32(one + 20), SPDY3_DICT_ID);

        parse_all(srv, one, len1, &out);
        spdy_frame_release(&out);
        parse_all(srv, two, len2, &out);
        assert_int_equal(out.stream_id, 3);
        assert_header(&out, "requestid", "0123456789", 10);
        spdy_frame_release(&out);
        /* Without the first block the second means nothing. */
        assert_int_equal(spdy_parse(fresh, two, len2, &out, err, sizeof(err)), -EBADMSG);
        free(one);
        free(two);
        spdy_session_free(cli);
        spdy_session_free(srv);
        spdy_session_free(fresh);
}

static void test_partial_input(void **state)
{
        static const struct spdy_header h[] = {H("streamtype", "stdin")};
        static const uint8_t d[] = "some bytes";
        const struct spdy_frame syn = {
            .type = SPDY_SYN_STREAM, .stream_id = 1, .headers = h, .n_headers = 1};
        const struct spdy_frame data = {
            .type = SPDY_DATA, .stream_id = 1, .data = d, .data_len = sizeof(d)};
        struct spdy_session *cli = session(false), *srv = session(true);
        struct spdy_frame out;
        size_t len1, len2;
        uint8_t *a, *b, *both;
        char err[256];

        (void)state;
        a = encode(cli, &syn, &len1);
        b = encode(cli, &data, &len2);
        both = malloc(len1 + len2);
        assert_non_null(both);
        memcpy(both, a, len1);
        memcpy(both + len1, b, len2);

        /* Asking again with more bytes must not have used up any state. */
        for (size_t n = 0; n < len1; n++)
                assert_int_equal(spdy_parse(srv, both, n, &out, err, sizeof(err)), 0);
        assert_int_equal(spdy_parse(srv, both, len1 + len2, &out, err, sizeof(err)), len1);
        assert_header(&out, "streamtype", "stdin", 5);
        spdy_frame_release(&out);
        for (size_t n = 0; n < len2; n++)
                assert_int_equal(spdy_parse(srv, both + len1, n, &out, err, sizeof(err)), 0);
        assert_int_equal(spdy_parse(srv, both + len1, len2, &out, err, sizeof(err)), len2);
        assert_int_equal(out.data_len, sizeof(d));
        assert_ptr_equal(out.data, both + len1 + 8);
        free(a);
        free(b);
        free(both);
        spdy_session_free(cli);
        spdy_session_free(srv);
}

static void test_unknown_control_skipped(void **state)
{
        uint8_t buf[64];
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        char err[256];
        size_t n = 0;

        (void)state;
        control_header(buf, 3, 5, 0, 4); /* SPDY/2's NOOP, with a payload */
        n = 12;
        control_header(buf + n, 3, 10, 0xff, 6); /* CREDENTIAL */
        n += 14;
        control_header(buf + n, 3, 0xffff, 0, 0);
        n += 8;
        control_header(buf + n, 3, 0, 0, 0);
        n += 8;
        control_header(buf + n, 3, SPDY_PING, 0, 4);
        put32(buf + n + 8, 42);

        assert_int_equal(spdy_parse(s, buf, sizeof(buf), &f, err, sizeof(err)), 12);
        assert_int_equal(f.type, SPDY_UNKNOWN);
        assert_int_equal(spdy_parse(s, buf + 12, sizeof(buf) - 12, &f, err, sizeof(err)), 14);
        assert_int_equal(f.type, SPDY_UNKNOWN);
        assert_int_equal(f.flags, 0xff);
        assert_int_equal(spdy_parse(s, buf + 26, sizeof(buf) - 26, &f, err, sizeof(err)), 8);
        assert_int_equal(f.type, SPDY_UNKNOWN);
        /* Control type 0 is no DATA frame. */
        assert_int_equal(spdy_parse(s, buf + 34, sizeof(buf) - 34, &f, err, sizeof(err)), 8);
        assert_int_equal(f.type, SPDY_UNKNOWN);
        assert_int_equal(spdy_parse(s, buf + 42, 12, &f, err, sizeof(err)), 12);
        assert_int_equal(f.type, SPDY_PING);
        assert_int_equal(f.ping_id, 42);
        assert_string_equal(spdy_type_name(SPDY_UNKNOWN), "unknown");
        assert_string_equal(spdy_type_name(SPDY_WINDOW_UPDATE), "WINDOW_UPDATE");

        /* Still bound by the size limit, and never encoded. */
        control_header(buf, 3, 10, 0, SPDY_MAX_CONTROL_LEN + 1);
        assert_non_null(strstr(refused(true, buf, 8, -EMSGSIZE), "type 10"));
        f = (struct spdy_frame){.type = SPDY_UNKNOWN};
        uint8_t *out = NULL;
        size_t len;
        assert_int_equal(spdy_encode(s, &f, &out, &len, err, sizeof(err)), -EINVAL);
        assert_null(out);
        spdy_session_free(s);
}

static void test_version_refused_and_sticky(void **state)
{
        uint8_t buf[20];
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        char err[256] = "";

        (void)state;
        control_header(buf, 2, SPDY_SYN_STREAM, 0, 12);
        assert_int_equal(spdy_parse(s, buf, 8, &f, err, sizeof(err)), -EPROTONOSUPPORT);
        assert_non_null(strstr(err, "version 2"));
        control_header(buf, 3, SPDY_PING, 0, 4);
        put32(buf + 8, 1);
        err[0] = 0;
        assert_int_equal(spdy_parse(s, buf, 12, &f, err, sizeof(err)), -EPROTONOSUPPORT);
        assert_true(strlen(err) > 0);
        spdy_session_free(s);

        control_header(buf, 4, 0xffff, 0, 0);
        refused(true, buf, 8, -EPROTONOSUPPORT);
}

static void test_frame_size_limits(void **state)
{
        uint8_t *buf = malloc(8 + SPDY_MAX_CONTROL_LEN);
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        char err[256];

        (void)state;
        assert_non_null(buf);
        /* Refused from the header alone: nothing waits for 16 MiB to arrive. */
        control_header(buf, 3, SPDY_SYN_STREAM, 0, SPDY_MAX_CONTROL_LEN + 1);
        assert_non_null(strstr(refused(true, buf, 8, -EMSGSIZE), "SYN_STREAM"));
        control_header(buf, 3, SPDY_PING, 0, 0xffffff);
        refused(true, buf, 8, -EMSGSIZE);
        put32(buf, 1);
        put32(buf + 4, SPDY_MAX_DATA_LEN + 1);
        assert_non_null(strstr(refused(true, buf, 8, -EMSGSIZE), "DATA"));

        /* At the limits, frames are waited for and taken. */
        put32(buf + 4, SPDY_MAX_DATA_LEN);
        assert_int_equal(spdy_parse(s, buf, 8, &f, err, sizeof(err)), 0);
        control_header(buf, 3, 0x1234, 0, SPDY_MAX_CONTROL_LEN);
        memset(buf + 8, 0xab, SPDY_MAX_CONTROL_LEN);
        assert_int_equal(spdy_parse(s, buf, 8 + SPDY_MAX_CONTROL_LEN - 1, &f, err, sizeof(err)), 0);
        assert_int_equal(spdy_parse(s, buf, 8 + SPDY_MAX_CONTROL_LEN, &f, err, sizeof(err)),
                         8 + SPDY_MAX_CONTROL_LEN);
        assert_int_equal(f.type, SPDY_UNKNOWN);
        free(buf);
        spdy_session_free(s);
}

/* A plain zlib compressor (no preset dictionary, which a SPDY inflater
 * must take too), standing in for a peer that sends what it likes. */
struct peer {
        z_stream z;
};

static void peer_init(struct peer *p)
{
        memset(p, 0, sizeof(*p));
        assert_int_equal(deflateInit(&p->z, Z_BEST_COMPRESSION), Z_OK);
}

/* Builds a SYN_STREAM (or SYN_REPLY/HEADERS) for stream_id carrying the
 * raw header block compressed with flush into a new buffer. */
static uint8_t *peer_frame(struct peer *p, uint16_t type, uint32_t stream_id, const uint8_t *raw,
                           size_t raw_len, int flush, size_t *ret_len)
{
        size_t fixed = type == SPDY_SYN_STREAM ? 10 : 4;
        size_t room = deflateBound(&p->z, raw_len) + 64;
        uint8_t *buf = calloc(1, 8 + fixed + room);

        assert_non_null(buf);
        put32(buf + 8, stream_id);
        p->z.next_in = (Bytef *)raw;
        p->z.avail_in = (uInt)raw_len;
        p->z.next_out = buf + 8 + fixed;
        p->z.avail_out = (uInt)room;
        int zr = deflate(&p->z, flush);
        assert_true(zr == Z_OK || zr == Z_STREAM_END);
        assert_int_equal(p->z.avail_in, 0);
        size_t plen = fixed + room - p->z.avail_out;
        control_header(buf, 3, type, 0, (uint32_t)plen);
        *ret_len = 8 + plen;
        return buf;
}

/* A raw header block, grown pair by pair. */
struct block {
        uint8_t *b;
        size_t n;
};

static void block_u32(struct block *k, uint32_t v)
{
        k->b = realloc(k->b, k->n + 4);
        assert_non_null(k->b);
        put32(k->b + k->n, v);
        k->n += 4;
}

static void block_bytes(struct block *k, const void *p, size_t n)
{
        k->b = realloc(k->b, k->n + n + 1);
        assert_non_null(k->b);
        memcpy(k->b + k->n, p, n);
        k->n += n;
}

static void block_pair(struct block *k, const char *name, const void *value, size_t value_len)
{
        block_u32(k, (uint32_t)strlen(name));
        block_bytes(k, name, strlen(name));
        block_u32(k, (uint32_t)value_len);
        block_bytes(k, value, value_len);
}

/* Parses one SYN_STREAM carrying raw with a fresh server session; returns
 * the errno (0 for taken) and leaves the message in err. */
static int parse_block(const struct block *k, char *err, size_t err_size)
{
        struct peer p;
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        size_t len;

        peer_init(&p);
        uint8_t *buf = peer_frame(&p, SPDY_SYN_STREAM, 1, k->b, k->n, Z_SYNC_FLUSH, &len);
        err[0] = 0;
        ssize_t r = spdy_parse(s, buf, len, &f, err, err_size);
        if (r > 0)
                assert_int_equal(r, (ssize_t)len);
        else
                assert_true(strlen(err) > 0);
        spdy_frame_release(&f);
        free(buf);
        deflateEnd(&p.z);
        spdy_session_free(s);
        return r > 0 ? 0 : (int)r;
}

static void test_zlib_bomb(void **state)
{
        size_t big = 8 * SPDY_MAX_HEADER_BLOCK;
        char *value = malloc(big);
        struct block k = {0};
        struct peer p;
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        char err[256];
        size_t len;

        (void)state;
        assert_non_null(value);
        memset(value, 'a', big);
        block_u32(&k, 1);
        block_pair(&k, "x", value, big);
        peer_init(&p);
        uint8_t *buf = peer_frame(&p, SPDY_SYN_STREAM, 1, k.b, k.n, Z_SYNC_FLUSH, &len);
        /* 512 KiB of header block in under 1 KiB on the wire. */
        assert_true(len < 1024);
        assert_int_equal(spdy_parse(s, buf, len, &f, err, sizeof(err)), -E2BIG);
        assert_non_null(strstr(err, "65536"));
        free(buf);
        deflateEnd(&p.z);
        spdy_session_free(s);

        /* The limit is on the block, not on one value: exactly at it is fine. */
        k.n = 0;
        block_u32(&k, 1);
        block_pair(&k, "x", value, SPDY_MAX_HEADER_BLOCK - 13);
        assert_int_equal(k.n, SPDY_MAX_HEADER_BLOCK);
        assert_int_equal(parse_block(&k, err, sizeof(err)), 0);
        k.n = 0;
        block_u32(&k, 1);
        block_pair(&k, "x", value, SPDY_MAX_HEADER_BLOCK - 12);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -E2BIG);
        free(k.b);
        free(value);
}

/* Blocks that fill the inflate buffer exactly as it grows, or fall one
 * byte short of it or past it, are whole blocks like any other. */
static void test_block_sizes_at_buffer_edges(void **state)
{
        char *value = calloc(1, SPDY_MAX_HEADER_BLOCK);
        struct block k = {0};
        char err[256];

        (void)state;
        assert_non_null(value);
        for (size_t size = 1024; size <= SPDY_MAX_HEADER_BLOCK; size *= 2)
                for (size_t n = size - 1; n <= size + 1 && n <= SPDY_MAX_HEADER_BLOCK; n++) {
                        k.n = 0;
                        block_u32(&k, 1);
                        block_pair(&k, "x", value, n - 13);
                        assert_int_equal(k.n, n);
                        if (parse_block(&k, err, sizeof(err)) != 0)
                                fail_msg("block of %zu bytes refused: %s", n, err);
                }
        free(k.b);
        free(value);
}

static void test_pair_count_limit(void **state)
{
        struct block k = {0};
        char err[256], name[16];

        (void)state;
        block_u32(&k, SPDY_MAX_HEADERS);
        for (int i = 0; i < SPDY_MAX_HEADERS; i++) {
                snprintf(name, sizeof(name), "h%d", i);
                block_pair(&k, name, "v", 1);
        }
        assert_int_equal(parse_block(&k, err, sizeof(err)), 0);
        put32(k.b, SPDY_MAX_HEADERS + 1);
        block_pair(&k, "last", "v", 1);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -E2BIG);
        assert_non_null(strstr(err, "129"));
        /* A count alone, far past the limit, is refused before any pair. */
        put32(k.b, 0xffffffff);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -E2BIG);
        free(k.b);
}

static void test_lengths_past_block(void **state)
{
        struct block k = {0};
        char err[256];

        (void)state;
        /* A name length past the end. */
        block_u32(&k, 1);
        block_u32(&k, 100);
        block_bytes(&k, "abc", 3);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "name of pair 1"));

        /* A value length past the end, even one that would wrap. */
        k.n = 0;
        block_u32(&k, 2);
        block_pair(&k, "a", "1", 1);
        block_u32(&k, 1);
        block_bytes(&k, "b", 1);
        block_u32(&k, 0xfffffffe);
        block_bytes(&k, "xy", 2);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "value of pair 2"));

        /* The value length itself missing. */
        k.n = 0;
        block_u32(&k, 1);
        block_u32(&k, 1);
        block_bytes(&k, "b", 1);
        block_bytes(&k, "\0\0", 2);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EBADMSG);

        /* More pairs announced than there are. */
        k.n = 0;
        block_u32(&k, 3);
        block_pair(&k, "a", "1", 1);
        block_pair(&k, "b", "2", 1);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "pair 3"));

        /* Bytes after the last pair. */
        k.n = 0;
        block_u32(&k, 1);
        block_pair(&k, "a", "1", 1);
        block_bytes(&k, "zz", 2);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EBADMSG);

        /* No room for the count. */
        k.n = 0;
        block_bytes(&k, "\0\0\0", 3);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EBADMSG);

        /* An empty block of zero pairs is well formed. */
        k.n = 0;
        block_u32(&k, 0);
        assert_int_equal(parse_block(&k, err, sizeof(err)), 0);
        free(k.b);
}

static void test_bad_names(void **state)
{
        const char *bad[] = {"", "X-Secret", "x secret", "x\x01secret", "x\xc3\xa9secret"};
        struct block k = {0};
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                k.n = 0;
                block_u32(&k, 2);
                block_pair(&k, "ok", "1", 1);
                block_pair(&k, bad[i], "1", 1);
                assert_int_equal(parse_block(&k, err, sizeof(err)), -EPROTO);
                assert_non_null(strstr(err, "pair 2"));
                assert_null(strstr(err, "ecret"));
        }

        /* A name twice: SPDY joins the values with NUL instead. */
        k.n = 0;
        block_u32(&k, 3);
        block_pair(&k, "x-secret", "1", 1);
        block_pair(&k, "other", "2", 1);
        block_pair(&k, "x-secret", "3", 1);
        assert_int_equal(parse_block(&k, err, sizeof(err)), -EPROTO);
        assert_non_null(strstr(err, "pair 3 repeats the name of pair 1"));
        assert_null(strstr(err, "ecret"));
        free(k.b);
}

static void test_bad_zlib(void **state)
{
        static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        struct block k = {0};
        struct peer p;
        uint8_t *buf;
        size_t len;

        (void)state;
        block_u32(&k, 1);
        block_pair(&k, "streamtype", "stdout", 6);

        /* Not zlib at all. */
        buf = malloc(8 + 10 + sizeof(garbage));
        assert_non_null(buf);
        control_header(buf, 3, SPDY_SYN_STREAM, 0, 10 + sizeof(garbage));
        put32(buf + 8, 1);
        put32(buf + 12, 0);
        buf[16] = buf[17] = 0;
        memcpy(buf + 18, garbage, sizeof(garbage));
        refused(true, buf, 8 + 10 + sizeof(garbage), -EBADMSG);
        free(buf);

        /* Cut before its sync flush: the block may hold all the pairs, but
         * the frame ends inside a compressed block. */
        peer_init(&p);
        buf = peer_frame(&p, SPDY_SYN_STREAM, 1, k.b, k.n, Z_SYNC_FLUSH, &len);
        assert_memory_equal(buf + len - 4, "\0\0\xff\xff", 4);
        control_header(buf, 3, SPDY_SYN_STREAM, 0, (uint32_t)(len - 8 - 4));
        assert_non_null(strstr(refused(true, buf, len - 4, -EBADMSG), "middle"));
        /* Cut in half. */
        size_t half = 18 + (len - 18) / 2;
        control_header(buf, 3, SPDY_SYN_STREAM, 0, (uint32_t)(half - 8));
        refused(true, buf, half, -EBADMSG);
        free(buf);
        deflateEnd(&p.z);

        /* A bad zlib header check, and a deflate block of the reserved type. */
        peer_init(&p);
        buf = peer_frame(&p, SPDY_SYN_STREAM, 1, k.b, k.n, Z_SYNC_FLUSH, &len);
        buf[19] ^= 1;
        refused(true, buf, len, -EBADMSG);
        buf[19] ^= 1;
        buf[20] |= 0x06;
        refused(true, buf, len, -EBADMSG);
        free(buf);
        deflateEnd(&p.z);

        /* The zlib stream finished, as SPDY never does. */
        peer_init(&p);
        buf = peer_frame(&p, SPDY_SYN_STREAM, 1, k.b, k.n, Z_FINISH, &len);
        assert_non_null(strstr(refused(true, buf, len, -EBADMSG), "ends the zlib stream"));
        free(buf);
        deflateEnd(&p.z);

        /* A preset dictionary that is not SPDY/3's. */
        peer_init(&p);
        assert_int_equal(deflateSetDictionary(&p.z, (const Bytef *)"streamtype", 10), Z_OK);
        buf = peer_frame(&p, SPDY_SYN_STREAM, 1, k.b, k.n, Z_SYNC_FLUSH, &len);
        assert_non_null(strstr(refused(true, buf, len, -EBADMSG), "dictionary"));
        free(buf);
        deflateEnd(&p.z);

        /* Nothing at all where the block should be. */
        uint8_t empty[18] = {0};
        control_header(empty, 3, SPDY_SYN_STREAM, 0, 10);
        empty[11] = 1;
        refused(true, empty, sizeof(empty), -EBADMSG);
        free(k.b);
}

static void test_stream_id_zero(void **state)
{
        uint8_t buf[32] = {0};

        (void)state;
        control_header(buf, 3, SPDY_SYN_STREAM, 0, 10);
        assert_non_null(strstr(refused(true, buf, 18, -EPROTO), "SYN_STREAM frame for stream 0"));
        control_header(buf, 3, SPDY_SYN_REPLY, 0, 4);
        refused(false, buf, 12, -EPROTO);
        control_header(buf, 3, SPDY_HEADERS, 0, 4);
        refused(true, buf, 12, -EPROTO);
        control_header(buf, 3, SPDY_RST_STREAM, 0, 8);
        put32(buf + 12, SPDY_RST_CANCEL);
        refused(true, buf, 16, -EPROTO);
        /* The reserved bit does not make an id. */
        memset(buf, 0, sizeof(buf));
        buf[0] = 0x00;
        put32(buf + 4, 1);
        refused(true, buf, 8, -EPROTO);
        control_header(buf, 3, SPDY_RST_STREAM, 0, 8);
        put32(buf + 8, 0x80000000);
        refused(true, buf, 16, -EPROTO);

        /* Where 0 means something, it is taken. */
        struct spdy_session *s = session(true);
        struct spdy_frame f;
        char err[256];
        control_header(buf, 3, SPDY_WINDOW_UPDATE, 0, 8);
        put32(buf + 8, 0x80000000);
        put32(buf + 12, 0x80000001);
        assert_int_equal(spdy_parse(s, buf, 16, &f, err, sizeof(err)), 16);
        assert_int_equal(f.stream_id, 0);
        assert_int_equal(f.window_delta, 1);
        control_header(buf, 3, SPDY_GOAWAY, 0, 8);
        put32(buf + 8, 0);
        put32(buf + 12, 0);
        assert_int_equal(spdy_parse(s, buf, 16, &f, err, sizeof(err)), 16);
        assert_int_equal(f.last_good_stream_id, 0);
        spdy_session_free(s);

        /* A window delta of 0 is outside 1..2^31-1. */
        control_header(buf, 3, SPDY_WINDOW_UPDATE, 0, 8);
        put32(buf + 8, 1);
        put32(buf + 12, 0x80000000);
        refused(true, buf, 16, -EPROTO);
}

static void test_fixed_lengths(void **state)
{
        const struct {
                uint16_t type;
                uint32_t len;
        } bad[] = {
            {SPDY_RST_STREAM, 7}, {SPDY_RST_STREAM, 9},    {SPDY_PING, 0},
            {SPDY_PING, 3},       {SPDY_PING, 5},          {SPDY_GOAWAY, 4},
            {SPDY_GOAWAY, 12},    {SPDY_WINDOW_UPDATE, 4}, {SPDY_WINDOW_UPDATE, 9},
            {SPDY_SETTINGS, 0},   {SPDY_SETTINGS, 3},      {SPDY_SETTINGS, 11},
            {SPDY_SYN_STREAM, 9}, {SPDY_SYN_REPLY, 3},     {SPDY_HEADERS, 0},
        };
        uint8_t buf[64];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(buf, 0x01, sizeof(buf));
                control_header(buf, 3, bad[i].type, 0, bad[i].len);
                put32(buf + 8, 0); /* a SETTINGS count of 0 */
                const char *err = refused(true, buf, 8 + bad[i].len, -EBADMSG);
                assert_non_null(strstr(err, spdy_type_name(bad[i].type)));
        }

        /* A SETTINGS count that disagrees with the length. */
        control_header(buf, 3, SPDY_SETTINGS, 0, 12);
        put32(buf + 8, 2);
        refused(true, buf, 20, -EBADMSG);
        put32(buf + 8, 0x20000001); /* 8 * count wraps to 8 */
        refused(true, buf, 20, -EBADMSG);
}

static void test_stream_parity(void **state)
{
        static const struct spdy_header h[] = {H("streamtype", "data")};
        struct spdy_frame in = {
            .type = SPDY_SYN_STREAM, .stream_id = 2, .headers = h, .n_headers = 1};
        struct spdy_session *cli = session(false), *srv = session(true);
        uint8_t *buf = NULL;
        size_t len;
        char err[256];

        (void)state;
        /* Neither end opens a stream with the other's parity ... */
        assert_int_equal(spdy_encode(cli, &in, &buf, &len, err, sizeof(err)), -EINVAL);
        in.stream_id = 1;
        assert_int_equal(spdy_encode(srv, &in, &buf, &len, err, sizeof(err)), -EINVAL);
        assert_null(buf);
        /* ... nor takes one. */
        buf = encode(cli, &in, &len);
        assert_non_null(strstr(refused(false, buf, len, -EPROTO), "even"));
        free(buf);
        in.stream_id = 2;
        buf = encode(srv, &in, &len);
        assert_non_null(strstr(refused(true, buf, len, -EPROTO), "odd"));
        free(buf);
        spdy_session_free(cli);
        spdy_session_free(srv);
}

static void test_encode_refusals(void **state)
{
        static const struct spdy_header upper[] = {H("Host", "x")};
        static const struct spdy_header empty[] = {H("", "x")};
        static const struct spdy_header twice[] = {H("a", "1"), H("b", "2"), H("a", "3")};
        static const struct spdy_setting wide = {0, 0x1000000, 1};
        static const uint8_t byte = 0;
        struct spdy_header many[SPDY_MAX_HEADERS + 1];
        char names[SPDY_MAX_HEADERS + 1][8];
        char *value = calloc(1, SPDY_MAX_HEADER_BLOCK);
        struct spdy_header big = {"x", 1, value, SPDY_MAX_HEADER_BLOCK - 13};
        struct spdy_header huge = {"x", 1, value, SIZE_MAX - 2};
        struct spdy_header near = {"x", 1, value, SPDY_MAX_HEADER_BLOCK - 200};
        const struct {
                struct spdy_frame f;
                int want;
        } cases[] = {
            {{.type = SPDY_UNKNOWN}, -EINVAL},
            {{.type = 5}, -EINVAL},
            {{.type = SPDY_DATA, .stream_id = 0}, -EINVAL},
            {{.type = SPDY_DATA, .stream_id = 0x80000001}, -EINVAL},
            {{.type = SPDY_DATA, .stream_id = 1, .data = &byte, .data_len = SPDY_MAX_DATA_LEN + 1},
             -EMSGSIZE},
            {{.type = SPDY_SYN_STREAM, .stream_id = 0}, -EINVAL},
            {{.type = SPDY_SYN_STREAM, .stream_id = 1, .priority = 8}, -EINVAL},
            {{.type = SPDY_SYN_STREAM, .stream_id = 1, .assoc_stream_id = 0x80000000}, -EINVAL},
            {{.type = SPDY_SYN_REPLY, .stream_id = 0}, -EINVAL},
            {{.type = SPDY_HEADERS, .stream_id = 0x80000000}, -EINVAL},
            {{.type = SPDY_RST_STREAM, .stream_id = 0}, -EINVAL},
            {{.type = SPDY_WINDOW_UPDATE, .stream_id = 1, .window_delta = 0}, -EINVAL},
            {{.type = SPDY_WINDOW_UPDATE, .stream_id = 1, .window_delta = 0x80000000}, -EINVAL},
            {{.type = SPDY_WINDOW_UPDATE, .stream_id = 0x80000000, .window_delta = 1}, -EINVAL},
            {{.type = SPDY_GOAWAY, .last_good_stream_id = 0x80000000}, -EINVAL},
            {{.type = SPDY_SETTINGS, .settings = &wide, .n_settings = 1}, -EINVAL},
            {{.type = SPDY_SETTINGS, .settings = &wide, .n_settings = 8192}, -EMSGSIZE},
            {{.type = SPDY_SYN_REPLY, .stream_id = 1, .headers = upper, .n_headers = 1}, -EINVAL},
            {{.type = SPDY_SYN_REPLY, .stream_id = 1, .headers = empty, .n_headers = 1}, -EINVAL},
            {{.type = SPDY_SYN_REPLY, .stream_id = 1, .headers = twice, .n_headers = 3}, -EINVAL},
            {{.type = SPDY_HEADERS, .stream_id = 1, .headers = many, .n_headers = 129}, -E2BIG},
            {{.type = SPDY_HEADERS, .stream_id = 1, .headers = &big, .n_headers = 1}, -EMSGSIZE},
            {{.type = SPDY_HEADERS, .stream_id = 1, .headers = &huge, .n_headers = 1}, -E2BIG},
        };
        struct spdy_session *srv = session(true), *cli = session(false);

        (void)state;
        assert_non_null(value);
        for (size_t i = 0; i <= SPDY_MAX_HEADERS; i++) {
                snprintf(names[i], sizeof(names[i]), "h%zu", i);
                many[i] = (struct spdy_header){names[i], strlen(names[i]), "v", 1};
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t *buf = NULL;
                size_t len = 0;
                char err[256] = "";
                assert_int_equal(spdy_encode(srv, &cases[i].f, &buf, &len, err, sizeof(err)),
                                 cases[i].want);
                assert_null(buf);
                assert_true(strlen(err) > 0);
        }

        /* None of that touched the compressor: the peer still follows. */
        const struct spdy_frame ok[] = {
            {.type = SPDY_SYN_REPLY, .stream_id = 1, .headers = twice, .n_headers = 2},
            {.type = SPDY_HEADERS, .stream_id = 1, .headers = many, .n_headers = 128},
            {.type = SPDY_HEADERS, .stream_id = 1, .headers = &near, .n_headers = 1},
        };
        round_trip(srv, cli, ok, sizeof(ok) / sizeof(ok[0]));
        free(value);
        spdy_session_free(srv);
        spdy_session_free(cli);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip_every_type),
            cmocka_unit_test(test_wire_layout),
            cmocka_unit_test(test_go_framer_frames),
            cmocka_unit_test(test_several_pairs_nul_joined),
            cmocka_unit_test(test_compression_state_carries),
            cmocka_unit_test(test_partial_input),
            cmocka_unit_test(test_unknown_control_skipped),
            cmocka_unit_test(test_version_refused_and_sticky),
            cmocka_unit_test(test_frame_size_limits),
            cmocka_unit_test(test_zlib_bomb),
            cmocka_unit_test(test_block_sizes_at_buffer_edges),
            cmocka_unit_test(test_pair_count_limit),
            cmocka_unit_test(test_lengths_past_block),
            cmocka_unit_test(test_bad_names),
            cmocka_unit_test(test_bad_zlib),
            cmocka_unit_test(test_stream_id_zero),
            cmocka_unit_test(test_fixed_lengths),
            cmocka_unit_test(test_stream_parity),
            cmocka_unit_test(test_encode_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
