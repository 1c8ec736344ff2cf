/* Unit tests for common/hproto.c: header layout, the schema table, every
 * refusal of the validator, and send/recv with fds over a real socketpair.
 * Every test checks that it leaves no fd open behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hproto.h"

#define REQ_ID 0x0a0b0c0du

/* ---- fd leak check: setup counts /proc/self/fd, teardown compares ---- */

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static int fds_setup(void **state)
{
        *state = (void *)(intptr_t)count_fds();
        return 0;
}

static int fds_teardown(void **state)
{
        int before = (int)(intptr_t)*state;
        int after = count_fds();
        if (before != after) {
                print_error("fd leak: %d open before, %d after\n", before, after);
                return -1;
        }
        return 0;
}

/* ---- message builders: raw, so tests can make anything malformed ---- */

static uint8_t pay[BRIG_HELPER_MAX_PAYLOAD + 64];
static size_t pay_len;
static uint8_t msg[BRIG_HELPER_RECV_SIZE + 256];

static void pay_reset(void)
{
        pay_len = 0;
}

static void pay_raw(uint16_t tag, uint16_t type, uint32_t len, const void *value)
{
        assert_true(pay_len + BRIG_TLV_HDR_SIZE + len <= sizeof(pay));
        tlv_le16_encode(pay + pay_len, tag);
        tlv_le16_encode(pay + pay_len + 2, type);
        tlv_le32_encode(pay + pay_len + 4, len);
        pay_len += BRIG_TLV_HDR_SIZE;
        if (len > 0)
                memcpy(pay + pay_len, value, len);
        pay_len += len;
}

static void pay_u32(uint16_t tag, uint32_t v)
{
        uint8_t b[4];
        tlv_le32_encode(b, v);
        pay_raw(tag, BRIG_TLV_U32, 4, b);
}

static void pay_fd(uint16_t tag, uint32_t index)
{
        uint8_t b[4];
        tlv_le32_encode(b, index);
        pay_raw(tag, BRIG_TLV_FD, 4, b);
}

static void pay_str(uint16_t tag, const char *s)
{
        pay_raw(tag, BRIG_TLV_STRING, (uint32_t)strlen(s) + 1, s);
}

static void pay_hello(void)
{
        pay_reset();
        pay_u32(BRIG_TAG_MIN_VERSION, 1);
        pay_u32(BRIG_TAG_MAX_VERSION, 1);
}

/* Header + current payload into msg[]; returns the datagram length. */
static size_t build(uint16_t command, int32_t status)
{
        struct brig_hdr h = {
            .magic = BRIG_HELPER_MAGIC,
            .version = BRIG_HELPER_VERSION,
            .command = command,
            .request_id = REQ_ID,
            .status = status,
            .payload_len = (uint32_t)pay_len,
        };
        brig_hdr_encode(&h, msg);
        memcpy(msg + BRIG_HELPER_HDR_SIZE, pay, pay_len);
        return BRIG_HELPER_HDR_SIZE + pay_len;
}

static void accepted(size_t len, size_t n_fds, enum brig_dir dir, struct brig_msg *ret)
{
        struct brig_msg_error e;
        int r = brig_msg_decode(msg, len, n_fds, dir, ret, &e);
        if (r != 0)
                fail_msg("refused (%d): %s", r, e.reason);
}

/* Asserts the refusal's errno and that its reason contains reason. */
static void refused_in(const struct brig_cmd_spec *table, size_t n_table, size_t len, size_t n_fds,
                       enum brig_dir dir, int error, const char *reason, struct brig_msg_error *ret)
{
        struct brig_msg m;
        struct brig_msg_error e;
        int r;

        if (table)
                r = brig_msg_decode_table(table, n_table, msg, len, n_fds, dir, &m, &e);
        else
                r = brig_msg_decode(msg, len, n_fds, dir, &m, &e);
        if (r != error)
                fail_msg("expected %d \"%s\", got %d \"%s\"", error, reason, r,
                         r < 0 ? e.reason : "");
        assert_int_equal(e.error, error);
        if (!strstr(e.reason, reason))
                fail_msg("reason \"%s\" lacks \"%s\"", e.reason, reason);
        if (ret)
                *ret = e;
}

static void refused(size_t len, size_t n_fds, enum brig_dir dir, int error, const char *reason)
{
        refused_in(NULL, 0, len, n_fds, dir, error, reason, NULL);
}

/* A table with a command that carries fds, to test the fd rules before any
 * real command does. */
#define CMD_PASSFD 50
#define TAG_FD     100
#define TAG_FD_OPT 101

static const struct brig_field_spec passfd_fields[] = {
    {TAG_FD, BRIG_TLV_FD, 1, 1, 4},
    {TAG_FD_OPT, BRIG_TLV_FD, 0, 2, 4},
};

static const struct brig_cmd_spec passfd_table[] = {
    {
        .command = CMD_PASSFD,
        .name = "PASSFD",
        .request_fields = passfd_fields,
        .n_request_fields = 2,
        .max_request_fds = 3,
    },
};

static int decode_passfd(const void *buf, size_t len, size_t n_fds, struct brig_msg *ret,
                         struct brig_msg_error *e)
{
        return brig_msg_decode_table(passfd_table, 1, buf, len, n_fds, BRIG_DIR_REQUEST, ret, e);
}

/* ---- header ---- */

static void test_hdr_layout(void **state)
{
        (void)state;
        static const uint8_t expect[BRIG_HELPER_HDR_SIZE] = {
            'B',  'R',  'I',  'G',  /* magic, LE */
            0x01, 0x00,             /* version */
            0x02, 0x80,             /* command PING | reply */
            0x04, 0x03, 0x02, 0x01, /* request_id */
            0xea, 0xff, 0xff, 0xff, /* status -22 */
            0x10, 0x00, 0x00, 0x00, /* payload_len */
            0x00, 0x00, 0x00, 0x00, /* reserved */
        };
        struct brig_hdr h = {
            .magic = BRIG_HELPER_MAGIC,
            .version = 1,
            .command = BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG,
            .request_id = 0x01020304,
            .status = -EINVAL,
            .payload_len = 16,
        };
        struct brig_hdr d;
        uint8_t out[BRIG_HELPER_HDR_SIZE];

        brig_hdr_encode(&h, out);
        assert_memory_equal(out, expect, sizeof(expect));
        brig_hdr_decode(out, &d);
        assert_memory_equal(&d, &h, sizeof(h));
}

static void test_hdr_status_sign(void **state)
{
        (void)state;
        static const int32_t values[] = {0, 1, -1, INT32_MAX, INT32_MIN, -4095, -4096};
        uint8_t out[BRIG_HELPER_HDR_SIZE];
        struct brig_hdr d;

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                brig_hdr_encode(&(struct brig_hdr){.status = values[i]}, out);
                brig_hdr_decode(out, &d);
                assert_int_equal(d.status, values[i]);
        }
        brig_hdr_encode(&(struct brig_hdr){.status = INT32_MIN}, out);
        assert_memory_equal(out + BRIG_HELPER_OFF_STATUS, "\x00\x00\x00\x80", 4);
}

static void test_hdr_peek(void **state)
{
        (void)state;
        struct brig_hdr h;

        pay_reset();
        size_t len = build(BRIG_CMD_PING, 0);
        assert_false(brig_hdr_peek(msg, BRIG_HELPER_HDR_SIZE - 1, &h));
        assert_true(brig_hdr_peek(msg, len, &h));
        assert_int_equal(h.request_id, REQ_ID);
        msg[0] ^= 1;
        assert_false(brig_hdr_peek(msg, len, &h));
}

/* ---- the schema table ---- */

static void check_fields(const struct brig_field_spec *f, size_t n, size_t *worst)
{
        size_t n_all;
        const struct brig_cmd_spec *all = brig_cmd_table(&n_all);

        for (size_t i = 0; i < n; i++) {
                assert_true(f[i].min_count <= f[i].max_count);
                assert_true(f[i].max_count >= 1);
                switch (f[i].type) {
                case BRIG_TLV_U32:
                case BRIG_TLV_FD:
                        assert_int_equal(f[i].max_len, 4);
                        break;
                case BRIG_TLV_U64:
                        assert_int_equal(f[i].max_len, 8);
                        break;
                case BRIG_TLV_STRING:
                        assert_true(f[i].max_len >= 1);
                        break;
                case BRIG_TLV_BYTES:
                        break;
                default:
                        fail_msg("tag %u has unknown type %u", f[i].tag, f[i].type);
                }
                for (size_t j = i + 1; j < n; j++)
                        assert_int_not_equal(f[i].tag, f[j].tag);
                *worst += f[i].max_count * (BRIG_TLV_HDR_SIZE + (size_t)f[i].max_len);

                /* one type per tag, across the whole protocol */
                for (size_t c = 0; c < n_all; c++) {
                        for (size_t k = 0; k < all[c].n_request_fields; k++)
                                if (all[c].request_fields[k].tag == f[i].tag)
                                        assert_int_equal(all[c].request_fields[k].type, f[i].type);
                        for (size_t k = 0; k < all[c].n_reply_fields; k++)
                                if (all[c].reply_fields[k].tag == f[i].tag)
                                        assert_int_equal(all[c].reply_fields[k].type, f[i].type);
                }
        }
}

static void test_table_sane(void **state)
{
        (void)state;
        size_t n, n_err;
        const struct brig_cmd_spec *t = brig_cmd_table(&n);
        const struct brig_field_spec *err = brig_error_reply_fields(&n_err);

        assert_int_equal(n, 23);
        assert_int_equal(t[0].command, BRIG_CMD_HELLO);
        assert_string_equal(t[0].name, "HELLO");
        assert_int_equal(t[1].command, BRIG_CMD_PING);
        assert_string_equal(t[1].name, "PING");
        assert_int_equal(t[2].command, BRIG_CMD_UNPACK);
        assert_string_equal(t[2].name, "UNPACK");
        assert_int_equal(t[2].max_request_fds, 1);
        assert_int_equal(t[2].max_reply_fds, 1);
        assert_int_equal(t[3].command, BRIG_CMD_READY);
        assert_string_equal(t[3].name, "READY");
        assert_int_equal(t[3].n_request_fields, 0);
        assert_int_equal(t[4].command, BRIG_CMD_REMOVE_LAYER);
        assert_string_equal(t[4].name, "REMOVE_LAYER");
        assert_int_equal(t[5].command, BRIG_CMD_POD_CREATE);
        assert_string_equal(t[5].name, "POD_CREATE");
        assert_int_equal(t[5].max_request_fds, 0);
        assert_int_equal(t[6].command, BRIG_CMD_POD_REMOVE);
        assert_string_equal(t[6].name, "POD_REMOVE");
        assert_int_equal(t[7].command, BRIG_CMD_POD_STATUS);
        assert_string_equal(t[7].name, "POD_STATUS");
        assert_int_equal(t[8].command, BRIG_CMD_NET_ADD);
        assert_string_equal(t[8].name, "NET_ADD");
        assert_int_equal(t[9].command, BRIG_CMD_NET_DEL);
        assert_string_equal(t[9].name, "NET_DEL");
        assert_int_equal(t[10].command, BRIG_CMD_NET_CHECK);
        assert_string_equal(t[10].name, "NET_CHECK");
        assert_int_equal(t[11].command, BRIG_CMD_NET_STATUS);
        assert_string_equal(t[11].name, "NET_STATUS");
        assert_int_equal(t[11].n_request_fields, 0);
        assert_int_equal(t[12].command, BRIG_CMD_POD_FILES);
        assert_string_equal(t[12].name, "POD_FILES");
        assert_int_equal(t[13].command, BRIG_CMD_CTR_CREATE);
        assert_string_equal(t[13].name, "CTR_CREATE");
        assert_int_equal(t[13].max_request_fds, 1);
        assert_int_equal(t[13].max_reply_fds, 0);
        assert_int_equal(t[14].command, BRIG_CMD_CTR_START);
        assert_string_equal(t[14].name, "CTR_START");
        assert_int_equal(t[15].command, BRIG_CMD_CTR_KILL);
        assert_string_equal(t[15].name, "CTR_KILL");
        assert_int_equal(t[16].command, BRIG_CMD_CTR_DELETE);
        assert_string_equal(t[16].name, "CTR_DELETE");
        assert_int_equal(t[17].command, BRIG_CMD_CTR_STATUS);
        assert_string_equal(t[17].name, "CTR_STATUS");
        assert_int_equal(t[18].command, BRIG_CMD_CTR_EXEC_SYNC);
        assert_string_equal(t[18].name, "CTR_EXEC_SYNC");
        assert_int_equal(t[18].max_reply_fds, 2);
        assert_int_equal(t[19].command, BRIG_CMD_CTR_REOPEN_LOG);
        assert_string_equal(t[19].name, "CTR_REOPEN_LOG");
        assert_int_equal(t[20].command, BRIG_CMD_CTR_UPDATE);
        assert_string_equal(t[20].name, "CTR_UPDATE");
        assert_int_equal(t[20].max_request_fds, 1);
        assert_int_equal(t[21].command, BRIG_CMD_CTR_EVENTS);
        assert_string_equal(t[21].name, "CTR_EVENTS");
        assert_int_equal(t[21].n_request_fields, 0);
        assert_int_equal(t[22].command, BRIG_CMD_CTR_SPEC);
        assert_string_equal(t[22].name, "CTR_SPEC");
        assert_int_equal(t[22].max_reply_fds, 1);
        assert_int_equal(n_err, 1);
        assert_int_equal(err[0].tag, BRIG_TAG_ERROR_MESSAGE);
        assert_int_equal(err[0].tag, 0x7fff);
        assert_int_equal(err[0].max_len, 512);

        size_t worst = 0;
        check_fields(err, n_err, &worst);
        for (size_t i = 0; i < n; i++) {
                assert_true(t[i].command != 0);
                assert_true(t[i].command < BRIG_HELPER_REPLY_FLAG);
                assert_non_null(t[i].name);
                assert_ptr_equal(brig_cmd_lookup(t[i].command), &t[i]);
                assert_null(brig_cmd_lookup(t[i].command | BRIG_HELPER_REPLY_FLAG));
                assert_true(t[i].max_request_fds <= BRIG_HELPER_MAX_FDS);
                assert_true(t[i].max_reply_fds <= BRIG_HELPER_MAX_FDS);
                for (size_t j = i + 1; j < n; j++)
                        assert_int_not_equal(t[i].command, t[j].command);

                /* the largest valid message of each kind fits the payload limit */
                size_t req = 0, rep = 0;
                check_fields(t[i].request_fields, t[i].n_request_fields, &req);
                check_fields(t[i].reply_fields, t[i].n_reply_fields, &rep);
                assert_true(req <= BRIG_HELPER_MAX_PAYLOAD);
                assert_true(rep + worst <= BRIG_HELPER_MAX_PAYLOAD);
                for (size_t k = 0; k < t[i].n_request_fields; k++)
                        assert_int_not_equal(t[i].request_fields[k].tag, BRIG_TAG_ERROR_MESSAGE);
                for (size_t k = 0; k < t[i].n_reply_fields; k++)
                        assert_int_not_equal(t[i].reply_fields[k].tag, BRIG_TAG_ERROR_MESSAGE);
        }
        assert_null(brig_cmd_lookup(0));
        assert_null(brig_cmd_lookup(99));
}

/* ---- valid messages ---- */

static void test_valid_hello(void **state)
{
        (void)state;
        struct brig_msg m;
        uint32_t v;
        const char *s;

        pay_hello();
        pay_str(BRIG_TAG_PEER_NAME, "brigd 0.1");
        accepted(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, &m);
        assert_string_equal(m.spec->name, "HELLO");
        assert_int_equal(m.hdr.request_id, REQ_ID);
        assert_int_equal(m.dir, BRIG_DIR_REQUEST);
        assert_int_equal(m.n_fds, 0);
        assert_int_equal(m.fields.n, 3);
        assert_int_equal(tlv_get_u32(&m.fields, BRIG_TAG_MIN_VERSION, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(tlv_get_u32(&m.fields, BRIG_TAG_MAX_VERSION, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(tlv_get_string(&m.fields, BRIG_TAG_PEER_NAME, &s), 0);
        assert_string_equal(s, "brigd 0.1");

        /* the name is optional, the order free; its limit includes the NUL */
        pay_reset();
        pay_u32(BRIG_TAG_MAX_VERSION, 1);
        pay_u32(BRIG_TAG_MIN_VERSION, 1);
        accepted(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, &m);
        assert_int_equal(tlv_get_string(&m.fields, BRIG_TAG_PEER_NAME, &s), -ENOENT);

        char name[64];
        memset(name, 'n', sizeof(name) - 1);
        name[63] = '\0';
        pay_hello();
        pay_str(BRIG_TAG_PEER_NAME, name);
        accepted(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, &m);
        pay_hello();
        pay_str(BRIG_TAG_PEER_NAME, "");
        accepted(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, &m);
}

static void test_valid_ping(void **state)
{
        (void)state;
        static uint8_t data[BRIG_HELPER_MAX_PING_DATA];
        struct brig_msg m;
        const void *p;
        size_t n;

        pay_reset();
        accepted(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, &m);
        assert_int_equal(m.fields.n, 0);
        assert_int_equal(tlv_get_bytes(&m.fields, BRIG_TAG_PING_DATA, &p, &n), -ENOENT);

        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 0, NULL);
        accepted(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, &m);
        assert_int_equal(tlv_get_bytes(&m.fields, BRIG_TAG_PING_DATA, &p, &n), 0);
        assert_int_equal(n, 0);

        memset(data, 0, sizeof(data));
        data[1023] = 0x7f;
        pay_reset();
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, sizeof(data), data);
        accepted(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, &m);
        assert_int_equal(tlv_get_bytes(&m.fields, BRIG_TAG_PING_DATA, &p, &n), 0);
        assert_int_equal(n, 1024);
        assert_ptr_equal(p, msg + BRIG_HELPER_HDR_SIZE + BRIG_TLV_HDR_SIZE);
}

/* ---- header refusals ---- */

static void test_truncated_header(void **state)
{
        (void)state;
        struct brig_msg_error e;

        pay_reset();
        build(BRIG_CMD_PING, 0);
        refused_in(NULL, 0, 0, 0, BRIG_DIR_REQUEST, -EBADMSG, "truncated header: 0 bytes", &e);
        assert_false(e.hdr_valid);
        refused(1, 0, BRIG_DIR_REQUEST, -EBADMSG, "truncated header: 1 bytes, need 24");
        refused(23, 0, BRIG_DIR_REQUEST, -EBADMSG, "truncated header: 23 bytes, need 24");
        refused(23, 0, BRIG_DIR_REPLY, -EBADMSG, "truncated header");
}

static void test_bad_magic(void **state)
{
        (void)state;
        struct brig_msg_error e;

        pay_reset();
        size_t len = build(BRIG_CMD_PING, 0);
        msg[3] = 'g';
        refused_in(NULL, 0, len, 0, BRIG_DIR_REQUEST, -EBADMSG, "bad magic 0x67495242", &e);
        assert_false(e.hdr_valid);
}

static void test_bad_version(void **state)
{
        (void)state;
        struct brig_msg_error e;

        pay_hello();
        size_t len = build(BRIG_CMD_HELLO, 0);
        for (uint16_t v = 0; v < 4; v++) {
                if (v == BRIG_HELPER_VERSION)
                        continue;
                tlv_le16_encode(msg + BRIG_HELPER_OFF_VERSION, v);
                refused_in(NULL, 0, len, 0, BRIG_DIR_REQUEST, -EPROTONOSUPPORT,
                           v == 0 ? "protocol version 0 not supported, need 1"
                                  : "not supported, need 1",
                           &e);
                /* the header is readable, so the caller can address a reply */
                assert_true(e.hdr_valid);
                assert_int_equal(e.hdr.request_id, REQ_ID);
                assert_int_equal(e.hdr.command, BRIG_CMD_HELLO);
        }
}

static void test_reserved(void **state)
{
        (void)state;
        pay_reset();
        size_t len = build(BRIG_CMD_PING, 0);
        msg[BRIG_HELPER_OFF_RESERVED + 3] = 0x80;
        refused(len, 0, BRIG_DIR_REQUEST, -EBADMSG,
                "reserved header field is 0x80000000, must be 0");
}

static void test_request_flag_and_status(void **state)
{
        (void)state;
        pay_reset();
        refused(build(BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG, 0), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "request has the reply flag set");
        refused(build(BRIG_CMD_PING, -EPERM), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "request has nonzero status -1");
        refused(build(BRIG_CMD_PING, 7), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "request has nonzero status 7");
}

static void test_payload_len(void **state)
{
        (void)state;
        pay_reset();
        size_t len = build(BRIG_CMD_PING, 0);

        tlv_le32_encode(msg + BRIG_HELPER_OFF_PAYLOAD_LEN, 65537);
        refused(len, 0, BRIG_DIR_REQUEST, -EMSGSIZE, "payload length 65537 exceeds limit 65536");
        tlv_le32_encode(msg + BRIG_HELPER_OFF_PAYLOAD_LEN, UINT32_MAX);
        refused(len, 0, BRIG_DIR_REQUEST, -EMSGSIZE,
                "payload length 4294967295 exceeds limit 65536");
        /* the limit holds even when the bytes are really there */
        memset(msg + BRIG_HELPER_HDR_SIZE, 0, 65537);
        tlv_le32_encode(msg + BRIG_HELPER_OFF_PAYLOAD_LEN, 65537);
        refused(BRIG_HELPER_HDR_SIZE + 65537, 0, BRIG_DIR_REQUEST, -EMSGSIZE,
                "exceeds limit 65536");

        tlv_le32_encode(msg + BRIG_HELPER_OFF_PAYLOAD_LEN, 8);
        refused(len, 0, BRIG_DIR_REQUEST, -EBADMSG,
                "payload length 8 does not match 0 bytes after the header");
        tlv_le32_encode(msg + BRIG_HELPER_OFF_PAYLOAD_LEN, 0);
        refused(len + 8, 0, BRIG_DIR_REQUEST, -EBADMSG,
                "payload length 0 does not match 8 bytes after the header");
}

static void test_unknown_command(void **state)
{
        (void)state;
        pay_reset();
        refused(build(0, 0), 0, BRIG_DIR_REQUEST, -EOPNOTSUPP, "unknown command 0");
        refused(build(99, 0), 0, BRIG_DIR_REQUEST, -EOPNOTSUPP, "unknown command 99");
        refused(build(0x7fff, 0), 0, BRIG_DIR_REQUEST, -EOPNOTSUPP, "unknown command 32767");
        refused(build(99 | BRIG_HELPER_REPLY_FLAG, 0), 0, BRIG_DIR_REPLY, -EOPNOTSUPP,
                "unknown command 99");
}

static void test_fds_not_allowed(void **state)
{
        (void)state;
        pay_reset();
        size_t len = build(BRIG_CMD_PING, 0);
        refused(len, 1, BRIG_DIR_REQUEST, -EINVAL, "command PING takes no file descriptors, got 1");
        refused(len, 9, BRIG_DIR_REQUEST, -EINVAL, "command PING takes no file descriptors");
        pay_hello();
        refused(build(BRIG_CMD_HELLO, 0), 8, BRIG_DIR_REQUEST, -EINVAL,
                "command HELLO takes no file descriptors, got 8");
        pay_reset();
        refused(build(BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG, 0), 1, BRIG_DIR_REPLY, -EINVAL,
                "command PING reply takes no file descriptors");
}

/* ---- element refusals ---- */

static void test_truncated_elements(void **state)
{
        (void)state;
        uint8_t half[4] = {BRIG_TAG_PING_DATA, 0, BRIG_TLV_BYTES, 0};

        pay_reset();
        memcpy(pay, half, sizeof(half));
        pay_len = sizeof(half);
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "truncated element header at payload offset 0");

        pay_hello();
        memcpy(pay + pay_len, half, sizeof(half));
        pay_len += sizeof(half);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "truncated element header at payload offset 24");

        pay_reset();
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 10, "0123456789");
        pay_len -= 1;
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "truncated element value at payload offset 0");

        pay_hello();
        pay_raw(BRIG_TAG_PEER_NAME, BRIG_TLV_STRING, 0, NULL);
        tlv_le32_encode(pay + pay_len - 4, UINT32_MAX);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EBADMSG,
                "truncated element value at payload offset 24");
}

static void test_tag_not_allowed(void **state)
{
        (void)state;
        pay_reset();
        pay_str(BRIG_TAG_PEER_NAME, "x");
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EINVAL, "tag 3 not allowed in PING");

        pay_hello();
        pay_str(BRIG_TAG_ERROR_MESSAGE, "x");
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 32767 not allowed in HELLO");

        pay_hello();
        pay_u32(999, 1);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 999 not allowed in HELLO");

        /* a reply-only tag in a request */
        pay_hello();
        pay_u32(BRIG_TAG_VERSION, 1);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 4 not allowed in HELLO");
}

static void test_wrong_type(void **state)
{
        (void)state;
        uint8_t eight[8] = {1};

        pay_reset();
        pay_raw(BRIG_TAG_MIN_VERSION, BRIG_TLV_U64, 8, eight);
        pay_u32(BRIG_TAG_MAX_VERSION, 1);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 1 has type 2, expected U32");

        pay_reset();
        pay_str(BRIG_TAG_PING_DATA, "abc");
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 6 has type 3, expected BYTES");

        pay_hello();
        pay_raw(BRIG_TAG_PEER_NAME, 0xffff, 2, "x");
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 3 has type 65535, expected STRING");
}

static void test_wrong_fixed_length(void **state)
{
        (void)state;
        uint32_t lens[] = {0, 3, 5, 8};

        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                char want[64];
                pay_reset();
                pay_u32(BRIG_TAG_MIN_VERSION, 1);
                pay_raw(BRIG_TAG_MAX_VERSION, BRIG_TLV_U32, lens[i], "\1\0\0\0\0\0\0\0");
                snprintf(want, sizeof(want), "tag 2: U32 value must be 4 bytes (length %u)",
                         lens[i]);
                refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL, want);
        }
}

static void test_over_max_len(void **state)
{
        (void)state;
        static uint8_t big[BRIG_HELPER_MAX_PING_DATA + 1];
        char name[65];

        memset(name, 'n', 64);
        name[64] = '\0';
        pay_hello();
        pay_str(BRIG_TAG_PEER_NAME, name);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EMSGSIZE,
                "tag 3 value is 65 bytes, limit 64");

        pay_reset();
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 1025, big);
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EMSGSIZE,
                "tag 6 value is 1025 bytes, limit 1024");

        memset(big, 'e', BRIG_HELPER_MAX_ERROR_MESSAGE);
        big[BRIG_HELPER_MAX_ERROR_MESSAGE] = '\0';
        pay_reset();
        pay_str(BRIG_TAG_ERROR_MESSAGE, (const char *)big);
        refused(build(BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG, -EIO), 0, BRIG_DIR_REPLY, -EMSGSIZE,
                "tag 32767 value is 513 bytes, limit 512");
}

static void test_bad_strings(void **state)
{
        (void)state;
        pay_hello();
        pay_raw(BRIG_TAG_PEER_NAME, BRIG_TLV_STRING, 3, "abc");
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 3: STRING value lacks its final NUL (length 3)");

        pay_hello();
        pay_raw(BRIG_TAG_PEER_NAME, BRIG_TLV_STRING, 4, "a\0b");
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 3: STRING value has an embedded NUL (length 4)");

        pay_hello();
        pay_raw(BRIG_TAG_PEER_NAME, BRIG_TLV_STRING, 0, NULL);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 3: STRING value is empty, lacks its NUL (length 0)");
}

static void test_too_many_fields(void **state)
{
        (void)state;
        pay_reset();
        for (int i = 0; i < BRIG_HELPER_MAX_FIELDS + 1; i++)
                pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 0, NULL);
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -E2BIG,
                "more than 64 fields in PING");

        /* exactly the limit decodes, and then fails on the repeat count */
        pay_len -= BRIG_TLV_HDR_SIZE;
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 6 repeated in PING: 64 times, max 1");
}

static void test_counts(void **state)
{
        (void)state;
        pay_reset();
        pay_u32(BRIG_TAG_MIN_VERSION, 1);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "missing required tag 2 in HELLO");
        pay_reset();
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "missing required tag 1 in HELLO");

        pay_hello();
        pay_u32(BRIG_TAG_MIN_VERSION, 1);
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 1 repeated in HELLO: 2 times, max 1");

        pay_reset();
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 1, "a");
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 1, "b");
        refused(build(BRIG_CMD_PING, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                "tag 6 repeated in PING: 2 times, max 1");
}

static void test_fd_rules(void **state)
{
        (void)state;
        struct brig_msg m;
        struct brig_msg_error e;
        int fds[3] = {10, 11, 12};
        int fd = -1;

        /* valid: every fd referenced once, in any order */
        pay_reset();
        pay_fd(TAG_FD, 2);
        pay_fd(TAG_FD_OPT, 0);
        pay_fd(TAG_FD_OPT, 1);
        size_t len = build(CMD_PASSFD, 0);
        assert_int_equal(decode_passfd(msg, len, 3, &m, &e), 0);
        assert_int_equal(brig_msg_take_fd(&m, fds, TAG_FD, &fd), 0);
        assert_int_equal(fd, 12);
        assert_int_equal(fds[2], -1);
        assert_int_equal(brig_msg_take_fd(&m, fds, TAG_FD, &fd), -EBADF);
        assert_int_equal(brig_msg_take_fd(&m, fds, 99, &fd), -ENOENT);
        assert_int_equal(fd, 12);

        refused_in(passfd_table, 1, len, 4, BRIG_DIR_REQUEST, -EINVAL,
                   "command PASSFD takes at most 3 file descriptors, got 4", NULL);

        pay_reset();
        pay_fd(TAG_FD, 1);
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 1, BRIG_DIR_REQUEST, -EINVAL,
                   "tag 100 fd index 1 out of range, 1 fds received", NULL);
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 0, BRIG_DIR_REQUEST, -EINVAL,
                   "tag 100 fd index 1 out of range, 0 fds received", NULL);
        pay_reset();
        pay_fd(TAG_FD, UINT32_MAX);
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 3, BRIG_DIR_REQUEST, -EINVAL,
                   "fd index 4294967295 out of range", NULL);

        pay_reset();
        pay_fd(TAG_FD, 0);
        pay_fd(TAG_FD_OPT, 0);
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 2, BRIG_DIR_REQUEST, -EINVAL,
                   "tag 101 fd index 0 referenced twice", NULL);

        pay_reset();
        pay_fd(TAG_FD, 1);
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 2, BRIG_DIR_REQUEST, -EINVAL,
                   "unreferenced file descriptor: 2 received, 1 referenced", NULL);

        pay_reset();
        pay_raw(TAG_FD, BRIG_TLV_FD, 2, "\0\0");
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 1, BRIG_DIR_REQUEST, -EINVAL,
                   "tag 100: FD value must be 4 bytes (length 2)", NULL);

        pay_reset();
        pay_fd(TAG_FD_OPT, 0);
        refused_in(passfd_table, 1, build(CMD_PASSFD, 0), 1, BRIG_DIR_REQUEST, -EINVAL,
                   "missing required tag 100 in PASSFD", NULL);
}

/* ---- replies ---- */

static void test_reply_validation(void **state)
{
        (void)state;
        struct brig_msg m;
        uint32_t v;
        const char *s;
        const uint16_t hello_reply = BRIG_CMD_HELLO | BRIG_HELPER_REPLY_FLAG;

        pay_reset();
        pay_u32(BRIG_TAG_VERSION, 1);
        pay_str(BRIG_TAG_HELPER_VERSION, "brig-helper 0.1");
        accepted(build(hello_reply, 0), 0, BRIG_DIR_REPLY, &m);
        assert_int_equal(m.dir, BRIG_DIR_REPLY);
        assert_string_equal(m.spec->name, "HELLO");
        assert_int_equal(m.hdr.command, hello_reply);
        assert_int_equal(tlv_get_u32(&m.fields, BRIG_TAG_VERSION, &v), 0);
        assert_int_equal(v, 1);
        /* the same bytes are not a valid request */
        refused(build(hello_reply, 0), 0, BRIG_DIR_REQUEST, -EBADMSG, "reply flag");
        refused(build(BRIG_CMD_HELLO, 0), 0, BRIG_DIR_REPLY, -EBADMSG,
                "reply lacks the reply flag");

        /* a success reply may add an error message, once */
        pay_str(BRIG_TAG_ERROR_MESSAGE, "note");
        accepted(build(hello_reply, 0), 0, BRIG_DIR_REPLY, &m);
        pay_str(BRIG_TAG_ERROR_MESSAGE, "again");
        refused(build(hello_reply, 0), 0, BRIG_DIR_REPLY, -EINVAL,
                "tag 32767 repeated in HELLO reply: 2 times, max 1");

        pay_reset();
        pay_u32(BRIG_TAG_VERSION, 1);
        refused(build(hello_reply, 0), 0, BRIG_DIR_REPLY, -EINVAL,
                "missing required tag 5 in HELLO reply");
        pay_u32(BRIG_TAG_MIN_VERSION, 1);
        refused(build(hello_reply, 0), 0, BRIG_DIR_REPLY, -EINVAL,
                "tag 1 not allowed in HELLO reply");

        /* an error reply carries only its reason, and need not */
        pay_reset();
        pay_str(BRIG_TAG_ERROR_MESSAGE, "unsupported versions");
        accepted(build(hello_reply, -EPROTONOSUPPORT), 0, BRIG_DIR_REPLY, &m);
        assert_int_equal(m.hdr.status, -EPROTONOSUPPORT);
        assert_int_equal(tlv_get_string(&m.fields, BRIG_TAG_ERROR_MESSAGE, &s), 0);
        assert_string_equal(s, "unsupported versions");
        pay_reset();
        accepted(build(hello_reply, -BRIG_HELPER_MAX_ERRNO), 0, BRIG_DIR_REPLY, &m);
        pay_u32(BRIG_TAG_VERSION, 1);
        refused(build(hello_reply, -EPERM), 0, BRIG_DIR_REPLY, -EINVAL,
                "tag 4 not allowed in HELLO error reply");

        pay_reset();
        refused(build(hello_reply, 1), 0, BRIG_DIR_REPLY, -EBADMSG,
                "reply status 1 is not 0 or -errno");
        refused(build(hello_reply, -4096), 0, BRIG_DIR_REPLY, -EBADMSG,
                "reply status -4096 is not 0 or -errno");
        refused(build(hello_reply, INT32_MIN), 0, BRIG_DIR_REPLY, -EBADMSG,
                "reply status -2147483648");
        refused(build(hello_reply, -EPERM), 1, BRIG_DIR_REPLY, -EINVAL,
                "command HELLO error reply takes no file descriptors, got 1");

        /* PING echoes */
        pay_reset();
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 3, "abc");
        accepted(build(BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG, 0), 0, BRIG_DIR_REPLY, &m);
        assert_string_equal(m.spec->name, "PING");
}

/* ---- send and receive ---- */

static void pair(int sv[2])
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void close_pair(int sv[2])
{
        close(sv[0]);
        close(sv[1]);
}

/* sendmsg() with any number of fds, bypassing brig_msg_send()'s limit. */
static void send_raw(int sock, const void *data, size_t len, const int *fds, size_t n_fds)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        assert_true(n_fds <= 16);
        if (n_fds > 0) {
                memset(&control, 0, sizeof(control));
                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static uint8_t rbuf[BRIG_HELPER_RECV_SIZE];

static void assert_no_fds(const struct brig_recv *rv)
{
        assert_int_equal(rv->n_fds, 0);
        for (size_t i = 0; i < BRIG_HELPER_MAX_FDS; i++)
                assert_int_equal(rv->fds[i], -1);
}

static void test_send_recv_ping(void **state)
{
        (void)state;
        int sv[2];
        struct brig_recv rv;
        struct brig_msg m;
        struct brig_msg_error e;
        const void *p;
        size_t n;

        pair(sv);
        pay_reset();
        pay_raw(BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 5, "hello");
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 42, 0, pay, pay_len, NULL, 0), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 24 + 13);
        assert_int_equal(rv.len, 24 + 13);
        assert_no_fds(&rv);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REQUEST, &m, &e), 0);
        assert_int_equal(m.hdr.request_id, 42);
        assert_int_equal(tlv_get_bytes(&m.fields, BRIG_TAG_PING_DATA, &p, &n), 0);
        assert_memory_equal(p, "hello", 5);

        /* empty payload: one iovec */
        assert_int_equal(
            brig_msg_send(sv[1], BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG, 42, 0, NULL, 0, NULL, 0),
            0);
        assert_int_equal(brig_msg_recv(sv[0], rbuf, sizeof(rbuf), &rv), 24);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REPLY, &m, &e), 0);
        close_pair(sv);
}

static void test_send_limits(void **state)
{
        (void)state;
        int sv[2];
        int fds[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};

        pair(sv);
        assert_int_equal(
            brig_msg_send(sv[0], BRIG_CMD_PING, 1, 0, pay, BRIG_HELPER_MAX_PAYLOAD + 1, NULL, 0),
            -EMSGSIZE);
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 1, 0, NULL, 0, fds, 9), -EINVAL);
        close(sv[1]);
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 1, 0, NULL, 0, NULL, 0), -EPIPE);
        close(sv[0]);
}

static void test_fd_passing(void **state)
{
        (void)state;
        int sv[2], p[2];
        struct brig_recv rv;
        struct brig_msg m;
        struct brig_msg_error e;
        int fd = -1;
        char c = 0;

        pair(sv);
        assert_int_equal(pipe(p), 0);
        pay_reset();
        pay_fd(TAG_FD, 0);
        assert_int_equal(brig_msg_send(sv[0], CMD_PASSFD, 7, 0, pay, pay_len, &p[1], 1), 0);
        close(p[1]);

        assert_true(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv) > 0);
        assert_int_equal(rv.n_fds, 1);
        assert_true(rv.fds[0] >= 0);
        assert_int_equal(rv.fds[1], -1);
        assert_true(fcntl(rv.fds[0], F_GETFD) & FD_CLOEXEC);
        assert_int_equal(decode_passfd(rbuf, rv.len, rv.n_fds, &m, &e), 0);
        assert_int_equal(brig_msg_take_fd(&m, rv.fds, TAG_FD, &fd), 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        assert_int_equal(read(p[0], &c, 1), 1);
        assert_int_equal(c, 'x');
        /* the write end is closed everywhere now */
        assert_int_equal(read(p[0], &c, 1), 0);
        brig_close_fds(rv.fds, rv.n_fds);
        close(p[0]);
        close_pair(sv);
}

static void test_max_fds_then_refused(void **state)
{
        (void)state;
        int sv[2], p[2];
        int fds[BRIG_HELPER_MAX_FDS];
        struct brig_recv rv;
        struct brig_msg m;
        struct brig_msg_error e;

        pair(sv);
        assert_int_equal(pipe(p), 0);
        for (size_t i = 0; i < BRIG_HELPER_MAX_FDS; i++)
                fds[i] = p[i % 2];
        pay_reset();
        assert_int_equal(
            brig_msg_send(sv[0], BRIG_CMD_PING, 1, 0, NULL, 0, fds, BRIG_HELPER_MAX_FDS), 0);
        close(p[0]);
        close(p[1]);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 24);
        assert_int_equal(rv.n_fds, BRIG_HELPER_MAX_FDS);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REQUEST, &m, &e),
                         -EINVAL);
        assert_string_equal(e.reason, "command PING takes no file descriptors, got 8");
        /* the dispatcher's duty after a refusal; the teardown checks it */
        brig_close_fds(rv.fds, rv.n_fds);
        for (size_t i = 0; i < BRIG_HELPER_MAX_FDS; i++)
                assert_int_equal(rv.fds[i], -1);
        close_pair(sv);
}

static void test_too_many_fds(void **state)
{
        (void)state;
        int sv[2], p[2][2];
        int fds[BRIG_HELPER_MAX_FDS + 1];
        struct brig_recv rv;

        pair(sv);
        assert_int_equal(pipe(p[0]), 0);
        assert_int_equal(pipe(p[1]), 0);
        for (size_t i = 0; i < BRIG_HELPER_MAX_FDS + 1; i++)
                fds[i] = p[i % 2][i % 3 == 0];
        pay_reset();
        size_t len = build(BRIG_CMD_PING, 0);
        send_raw(sv[0], msg, len, fds, BRIG_HELPER_MAX_FDS + 1);
        close(p[0][0]);
        close(p[0][1]);
        close(p[1][0]);
        close(p[1][1]);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EXFULL);
        assert_no_fds(&rv);
        /* the header is still there to address a reply */
        struct brig_hdr h;
        assert_int_equal(rv.len, len);
        assert_true(brig_hdr_peek(rbuf, rv.len, &h));
        assert_int_equal(h.request_id, REQ_ID);

        /* the connection keeps working */
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 2, 0, NULL, 0, NULL, 0), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 24);
        close_pair(sv);
}

static void test_oversize(void **state)
{
        (void)state;
        int sv[2], p[2];
        struct brig_recv rv;
        struct brig_msg m;
        struct brig_msg_error e;
        struct brig_hdr h;

        pair(sv);
        assert_int_equal(pipe(p), 0);
        memset(pay, 0, sizeof(pay));
        pay_len = BRIG_HELPER_MAX_PAYLOAD + 50;
        size_t len = build(BRIG_CMD_PING, 0);
        send_raw(sv[0], msg, len, p, 2);
        close(p[0]);
        close(p[1]);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EMSGSIZE);
        assert_no_fds(&rv);
        assert_int_equal(rv.len, sizeof(rbuf));
        assert_true(brig_hdr_peek(rbuf, rv.len, &h));
        assert_int_equal(h.request_id, REQ_ID);
        assert_int_equal(h.command, BRIG_CMD_PING);

        /* one byte over the largest valid message fits the buffer: the
         * decoder refuses it, nothing is silently cut */
        pay_len = BRIG_HELPER_MAX_PAYLOAD + 1;
        len = build(BRIG_CMD_PING, 0);
        assert_int_equal(len, BRIG_HELPER_RECV_SIZE);
        send_raw(sv[0], msg, len, NULL, 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), (ssize_t)len);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REQUEST, &m, &e),
                         -EMSGSIZE);
        assert_string_equal(e.reason, "payload length 65537 exceeds limit 65536");

        /* a smaller buffer is a caller's choice: same refusal */
        pay_len = 100;
        len = build(BRIG_CMD_PING, 0);
        send_raw(sv[0], msg, len, NULL, 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, 50, &rv), -EMSGSIZE);
        assert_int_equal(rv.len, 50);
        close_pair(sv);
}

static void test_peer_close(void **state)
{
        (void)state;
        int sv[2];
        struct brig_recv rv;

        pair(sv);
        /* queued messages are still delivered before the close */
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 1, 0, NULL, 0, NULL, 0), 0);
        close(sv[0]);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 24);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 0);
        assert_int_equal(rv.len, 0);
        assert_no_fds(&rv);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 0);
        close(sv[1]);

        pair(sv);
        assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 0);
        close_pair(sv);

        pair(sv);
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EAGAIN);
        assert_int_equal(rv.len, 0);
        close_pair(sv);
}

static void test_empty_datagram(void **state)
{
        (void)state;
        int sv[2], p[2];
        struct brig_recv rv;

        pair(sv);
        assert_int_equal(send(sv[0], "", 0, 0), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EBADMSG);
        assert_int_equal(rv.len, 0);

        /* with fds attached: refused, fds closed */
        assert_int_equal(pipe(p), 0);
        send_raw(sv[0], "", 0, p, 2);
        close(p[0]);
        close(p[1]);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EBADMSG);
        assert_no_fds(&rv);

        /* not a close: the peer is still there */
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 3, 0, NULL, 0, NULL, 0), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), 24);
        close_pair(sv);
}

static void test_foreign_cmsg(void **state)
{
        (void)state;
        int sv[2], p[2];
        int one = 1;
        struct brig_recv rv;

        pair(sv);
        /* SO_PASSCRED makes the kernel add SCM_CREDENTIALS to every message */
        assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 1, 0, NULL, 0, NULL, 0), 0);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EBADMSG);
        assert_int_equal(rv.len, 24);

        /* credentials plus fds: the kernel puts the credentials first, they
         * leave too little room for the fds, which arrive truncated */
        assert_int_equal(pipe(p), 0);
        assert_int_equal(brig_msg_send(sv[0], BRIG_CMD_PING, 2, 0, NULL, 0, p, 1), 0);
        close(p[0]);
        close(p[1]);
        assert_int_equal(brig_msg_recv(sv[1], rbuf, sizeof(rbuf), &rv), -EXFULL);
        assert_no_fds(&rv);
        close_pair(sv);
}

static void test_send_error(void **state)
{
        (void)state;
        int sv[2];
        struct brig_recv rv;
        struct brig_msg m;
        struct brig_msg_error e;
        const char *s;
        char longmsg[1000];

        pair(sv);
        assert_int_equal(brig_msg_send_error(sv[1], BRIG_CMD_HELLO, 9, -EPERM, "not permitted"), 0);
        assert_true(brig_msg_recv(sv[0], rbuf, sizeof(rbuf), &rv) > 0);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REPLY, &m, &e), 0);
        assert_int_equal(m.hdr.command, BRIG_CMD_HELLO | BRIG_HELPER_REPLY_FLAG);
        assert_int_equal(m.hdr.request_id, 9);
        assert_int_equal(m.hdr.status, -EPERM);
        assert_int_equal(tlv_get_string(&m.fields, BRIG_TAG_ERROR_MESSAGE, &s), 0);
        assert_string_equal(s, "not permitted");

        /* cut to the limit, still a valid reply; the flag is not doubled */
        memset(longmsg, 'a', sizeof(longmsg) - 1);
        longmsg[sizeof(longmsg) - 1] = '\0';
        assert_int_equal(brig_msg_send_error(sv[1], BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG, 10,
                                             -EBADMSG, longmsg),
                         0);
        assert_true(brig_msg_recv(sv[0], rbuf, sizeof(rbuf), &rv) > 0);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REPLY, &m, &e), 0);
        assert_int_equal(m.hdr.command, BRIG_CMD_PING | BRIG_HELPER_REPLY_FLAG);
        assert_int_equal(tlv_get_string(&m.fields, BRIG_TAG_ERROR_MESSAGE, &s), 0);
        assert_int_equal(strlen(s), BRIG_HELPER_MAX_ERROR_MESSAGE - 1);

        /* a refusal of an unknown command still reaches brigd, as a reply
         * brigd's own validator refuses as unknown */
        assert_int_equal(brig_msg_send_error(sv[1], 77, 11, -EOPNOTSUPP, "unknown command 77"), 0);
        assert_true(brig_msg_recv(sv[0], rbuf, sizeof(rbuf), &rv) > 0);
        assert_int_equal(brig_msg_decode(rbuf, rv.len, rv.n_fds, BRIG_DIR_REPLY, &m, &e),
                         -EOPNOTSUPP);
        assert_true(e.hdr_valid);
        assert_int_equal(e.hdr.request_id, 11);
        close_pair(sv);
}

/* A bare payload (the helper's channels to the programs it spawns): the
 * same element and count rules, no header, no fds. */
static void test_fields_decode(void **state)
{
        static const struct brig_field_spec specs[] = {
            {1, BRIG_TLV_U32, 1, 1, 4},
            {2, BRIG_TLV_STRING, 0, 2, 8},
        };
        uint8_t buf[256];
        struct tlv_writer w;
        struct tlv_fields fs;
        char why[BRIG_MSG_REASON_MAX];
        size_t len;
        (void)state;

#define DECODE() brig_fields_decode(buf, len, specs, 2, "the test's message", &fs, why, sizeof(why))
        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, 1, 7);
        tlv_put_string(&w, 2, "abc");
        tlv_put_string(&w, 2, "de");
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(DECODE(), 0);
        assert_int_equal(fs.n, 3);
        assert_int_equal(fs.items[2].tag, 2);

        tlv_put_string(&w, 2, "f"); /* a third: over max_count */
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(DECODE(), -EINVAL);
        assert_string_equal(why, "tag 2 repeated in the test's message: 3 times, max 2");

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_string(&w, 2, "abc");
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(DECODE(), -EINVAL);
        assert_string_equal(why, "missing required tag 1 in the test's message");

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, 1, 7);
        tlv_put_string(&w, 2, "12345678");
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(DECODE(), -EMSGSIZE);

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, 1, 7);
        tlv_put_u32(&w, 3, 1);
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(DECODE(), -EINVAL);
        assert_string_equal(why, "tag 3 not allowed in the test's message");

        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u64(&w, 1, 7);
        assert_int_equal(tlv_writer_finish(&w, &len), 0);
        assert_int_equal(DECODE(), -EINVAL);

        len -= 1; /* cut short */
        assert_int_equal(DECODE(), -EBADMSG);
#undef DECODE
}

#define T(f) cmocka_unit_test_setup_teardown(f, fds_setup, fds_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
            T(test_hdr_layout),
            T(test_hdr_status_sign),
            T(test_hdr_peek),
            T(test_table_sane),
            T(test_valid_hello),
            T(test_valid_ping),
            T(test_truncated_header),
            T(test_bad_magic),
            T(test_bad_version),
            T(test_reserved),
            T(test_request_flag_and_status),
            T(test_payload_len),
            T(test_unknown_command),
            T(test_fds_not_allowed),
            T(test_truncated_elements),
            T(test_tag_not_allowed),
            T(test_wrong_type),
            T(test_wrong_fixed_length),
            T(test_over_max_len),
            T(test_bad_strings),
            T(test_too_many_fields),
            T(test_counts),
            T(test_fd_rules),
            T(test_reply_validation),
            T(test_send_recv_ping),
            T(test_send_limits),
            T(test_fd_passing),
            T(test_max_fds_then_refused),
            T(test_too_many_fds),
            T(test_oversize),
            T(test_peer_close),
            T(test_empty_datagram),
            T(test_foreign_cmsg),
            T(test_send_error),
            T(test_fields_decode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
