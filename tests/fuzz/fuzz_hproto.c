/* fuzz_hproto.c: libFuzzer target for the helper protocol's decoder.
 *
 * Input: one control byte, then the datagram.
 *   bits 0-3  number of fds that "came with" the datagram, modulo 10 (0..9)
 *   bit 6     validate against a test table whose command carries fds and
 *             U64 fields (no real command does yet), instead of the real one
 *   bit 7     validate as a reply instead of a request
 *
 * On refusal it checks the refusal is well formed. On acceptance it runs
 * every typed getter over the result, takes every fd, and re-encodes the
 * message, which must give back exactly the input bytes: the wire format
 * has one encoding per message, so anything else is a decoder bug.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hproto.h"

#define CMD_TEST   50
#define TAG_FD     100
#define TAG_FD_OPT 101
#define TAG_U64    102
#define TAG_STR    103
#define TAG_BYTES  104

static const struct brig_field_spec test_request[] = {
    {TAG_FD, BRIG_TLV_FD, 1, 1, 4},        /* required fd */
    {TAG_FD_OPT, BRIG_TLV_FD, 0, 2, 4},    /* repeatable fd */
    {TAG_U64, BRIG_TLV_U64, 0, 1, 8},      /* the only U64 anywhere */
    {TAG_STR, BRIG_TLV_STRING, 0, 3, 16},  /* repeatable string */
    {TAG_BYTES, BRIG_TLV_BYTES, 0, 1, 32}, /* bytes with a small limit */
};

static const struct brig_field_spec test_reply[] = {
    {TAG_U64, BRIG_TLV_U64, 1, 1, 8},
    {TAG_FD, BRIG_TLV_FD, 0, 2, 4},
};

static const struct brig_cmd_spec test_table[] = {
    {
        .command = CMD_TEST,
        .name = "TEST",
        .request_fields = test_request,
        .n_request_fields = sizeof(test_request) / sizeof(test_request[0]),
        .reply_fields = test_reply,
        .n_reply_fields = sizeof(test_reply) / sizeof(test_reply[0]),
        .max_request_fds = 3,
        .max_reply_fds = 2,
    },
};

static void check_refusal(const struct brig_msg_error *e, int r, size_t len)
{
        assert(r < 0 && e->error == r);
        size_t n = strnlen(e->reason, sizeof(e->reason));
        assert(n > 0 && n < sizeof(e->reason));
        /* reasons are built from numbers and table names only */
        for (size_t i = 0; i < n; i++)
                assert(e->reason[i] >= 0x20 && e->reason[i] < 0x7f);
        if (e->hdr_valid)
                assert(len >= BRIG_HELPER_HDR_SIZE && e->hdr.magic == BRIG_HELPER_MAGIC);
}

/* Calls every getter for tag, as the type the tag really has and as all the
 * others, checking what a getter promises. */
static void get_all(const struct brig_msg *m, uint16_t tag)
{
        uint32_t u32;
        uint64_t u64;
        const char *s;
        const void *p;
        size_t n;

        (void)tlv_get_u32(&m->fields, tag, &u32);
        (void)tlv_get_u64(&m->fields, tag, &u64);
        if (tlv_get_string(&m->fields, tag, &s) == 0)
                assert(strlen(s) < BRIG_HELPER_MAX_PAYLOAD);
        if (tlv_get_bytes(&m->fields, tag, &p, &n) == 0)
                assert(n <= BRIG_HELPER_MAX_PAYLOAD);
        if (tlv_get_fd_index(&m->fields, tag, &u32) == 0)
                assert(u32 < m->n_fds);
}

/* Re-encodes m with the writer; the result must equal the input. */
static void reencode(const struct brig_msg *m, const uint8_t *data, size_t len)
{
        static uint8_t out[BRIG_HELPER_HDR_SIZE + BRIG_HELPER_MAX_PAYLOAD];
        struct tlv_writer w;
        size_t plen;

        brig_hdr_encode(&m->hdr, out);
        tlv_writer_init(&w, out + BRIG_HELPER_HDR_SIZE, BRIG_HELPER_MAX_PAYLOAD);
        for (size_t i = 0; i < m->fields.n; i++) {
                const struct tlv_field *f = &m->fields.items[i];
                switch (f->type) {
                case BRIG_TLV_U32:
                        tlv_put_u32(&w, f->tag, tlv_le32_decode(f->value));
                        break;
                case BRIG_TLV_U64:
                        tlv_put_u64(&w, f->tag, tlv_le64_decode(f->value));
                        break;
                case BRIG_TLV_STRING:
                        tlv_put_string(&w, f->tag, (const char *)f->value);
                        break;
                case BRIG_TLV_BYTES:
                        tlv_put_bytes(&w, f->tag, f->value, f->len);
                        break;
                case BRIG_TLV_FD:
                        tlv_put_fd(&w, f->tag, tlv_le32_decode(f->value));
                        break;
                default:
                        assert(!"accepted an unknown type");
                }
        }
        assert(tlv_writer_finish(&w, &plen) == 0);
        assert(BRIG_HELPER_HDR_SIZE + plen == len);
        assert(memcmp(out, data, len) == 0);
}

static void check_accepted(const struct brig_msg *m, const uint8_t *data, size_t len, size_t n_fds)
{
        size_t n_err;
        const struct brig_field_spec *err = brig_error_reply_fields(&n_err);
        const struct brig_field_spec *f =
            m->dir == BRIG_DIR_REQUEST ? m->spec->request_fields : m->spec->reply_fields;
        size_t nf =
            m->dir == BRIG_DIR_REQUEST ? m->spec->n_request_fields : m->spec->n_reply_fields;

        assert(m->n_fds == n_fds && n_fds <= BRIG_HELPER_MAX_FDS);
        assert(m->fields.n <= BRIG_HELPER_MAX_FIELDS);
        assert(m->hdr.payload_len == len - BRIG_HELPER_HDR_SIZE);

        for (size_t i = 0; i < nf; i++)
                get_all(m, f[i].tag);
        for (size_t i = 0; i < n_err; i++)
                get_all(m, err[i].tag);
        get_all(m, 0);
        get_all(m, 0xffff);

        /* each fd is handed out at most once, and only a real one */
        int fds[BRIG_HELPER_MAX_FDS];
        for (size_t i = 0; i < BRIG_HELPER_MAX_FDS; i++)
                fds[i] = i < n_fds ? (int)(1000 + i) : -1;
        for (size_t i = 0; i < nf; i++) {
                int fd = -1;
                if (brig_msg_take_fd(m, fds, f[i].tag, &fd) == 0) {
                        assert(fd >= 1000 && (size_t)(fd - 1000) < n_fds);
                        assert(brig_msg_take_fd(m, fds, f[i].tag, &fd) == -EBADF);
                }
        }

        reencode(m, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct brig_msg m;
        struct brig_msg_error e;
        int r;

        if (size < 1)
                return 0;
        size_t n_fds = (data[0] & 0x0f) % 10;
        enum brig_dir dir = data[0] & 0x80 ? BRIG_DIR_REPLY : BRIG_DIR_REQUEST;
        const uint8_t *dgram = data + 1;
        size_t len = size - 1;

        if (data[0] & 0x40)
                r = brig_msg_decode_table(test_table, 1, dgram, len, n_fds, dir, &m, &e);
        else
                r = brig_msg_decode(dgram, len, n_fds, dir, &m, &e);

        if (r < 0)
                check_refusal(&e, r, len);
        else
                check_accepted(&m, dgram, len, n_fds);
        return 0;
}
