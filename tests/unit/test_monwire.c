/* test_monwire.c: unit tests for brig-monitor's datagrams
 * (privhelper/monitor/wire.h) and for what it reads from the runtime
 * (rtlog.h): every request kind accepted, every malformation refused with
 * its reason, value checks that leave the datagram well-formed, the
 * encoders' layouts, pid files and runc's error lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/ctrspec.h"
#include "privhelper/monitor/rtlog.h"
#include "privhelper/monitor/wire.h"
#include "tlv.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct msg {
        uint8_t buf[4096];
        struct tlv_writer w;
};

static void begin(struct msg *m, uint32_t kind)
{
        tlv_writer_init(&m->w, m->buf, sizeof(m->buf));
        tlv_put_u32(&m->w, MON_TAG_KIND, kind);
}

static size_t end(struct msg *m)
{
        size_t len;

        assert_int_equal(tlv_writer_finish(&m->w, &len), 0);
        return len;
}

static void create_msg(struct msg *m, const char *id, const char *bundle, uint32_t flags)
{
        begin(m, MON_KIND_CREATE);
        tlv_put_u32(&m->w, MON_TAG_SEQ, 7);
        tlv_put_string(&m->w, MON_TAG_CTR_ID, id);
        tlv_put_string(&m->w, MON_TAG_BUNDLE, bundle);
        tlv_put_string(&m->w, MON_TAG_RUNTIME, "/usr/sbin/runc");
        tlv_put_string(&m->w, MON_TAG_RUNTIME_ROOT, "/run/brig/runc");
        tlv_put_u32(&m->w, MON_TAG_CTR_FLAGS, flags);
        tlv_put_fd(&m->w, MON_TAG_LOG_FD, 0);
}

static void test_create_accepted(void **state)
{
        (void)state;
        struct mon_request q;
        struct msg m;
        char err[WIRE_REASON_MAX] = "";

        create_msg(&m, ID, "/run/brig/bundles/" ID, CTR_F_TTY | CTR_F_STDIN);
        assert_int_equal(wire_decode_request(m.buf, end(&m), 1, &q, err, sizeof(err)), 0);
        assert_int_equal(q.kind, MON_KIND_CREATE);
        assert_int_equal(q.seq, 7);
        assert_string_equal(q.ctr_id, ID);
        assert_string_equal(q.bundle, "/run/brig/bundles/" ID);
        assert_string_equal(q.runtime, "/usr/sbin/runc");
        assert_string_equal(q.runtime_root, "/run/brig/runc");
        assert_int_equal(q.flags, CTR_F_TTY | CTR_F_STDIN);
        assert_true(q.has_log_fd);
        assert_int_equal(q.log_fd_index, 0);
        assert_null(q.invalid);

        /* without a log */
        begin(&m, MON_KIND_CREATE);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 8);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        tlv_put_string(&m.w, MON_TAG_BUNDLE, "/b");
        tlv_put_string(&m.w, MON_TAG_RUNTIME, "/r");
        tlv_put_string(&m.w, MON_TAG_RUNTIME_ROOT, "/rr");
        tlv_put_u32(&m.w, MON_TAG_CTR_FLAGS, 0);
        assert_int_equal(wire_decode_request(m.buf, end(&m), 0, &q, err, sizeof(err)), 0);
        assert_false(q.has_log_fd);
        assert_null(q.invalid);
}

static void exec_msg(struct msg *m, const char *id, const char *bundle, size_t n_args)
{
        begin(m, MON_KIND_EXEC_SYNC);
        tlv_put_u32(&m->w, MON_TAG_SEQ, 9);
        tlv_put_string(&m->w, MON_TAG_CTR_ID, id);
        tlv_put_string(&m->w, MON_TAG_BUNDLE, bundle);
        tlv_put_string(&m->w, MON_TAG_RUNTIME, "/usr/sbin/runc");
        tlv_put_string(&m->w, MON_TAG_RUNTIME_ROOT, "/run/brig/runc");
        for (size_t i = 0; i < n_args; i++)
                tlv_put_string(&m->w, MON_TAG_ARG, i % 2 ? "-x" : "sh");
}

static void test_exec_accepted(void **state)
{
        (void)state;
        struct mon_request q;
        struct msg m;
        char err[WIRE_REASON_MAX] = "";

        begin(&m, MON_KIND_EXEC_SYNC);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 9);
        tlv_put_string(&m.w, MON_TAG_ARG, "/bin/sh");
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        tlv_put_string(&m.w, MON_TAG_ARG, "-c");
        tlv_put_string(&m.w, MON_TAG_BUNDLE, "/run/brig/bundles/" ID);
        tlv_put_string(&m.w, MON_TAG_RUNTIME, "/usr/sbin/runc");
        tlv_put_string(&m.w, MON_TAG_RUNTIME_ROOT, "/run/brig/runc");
        tlv_put_u32(&m.w, MON_TAG_TIMEOUT_MS, 1500);
        tlv_put_string(&m.w, MON_TAG_ARG, "");
        assert_int_equal(wire_decode_request(m.buf, end(&m), 0, &q, err, sizeof(err)), 0);
        assert_int_equal(q.kind, MON_KIND_EXEC_SYNC);
        assert_int_equal(q.seq, 9);
        assert_string_equal(q.ctr_id, ID);
        assert_string_equal(q.bundle, "/run/brig/bundles/" ID);
        assert_string_equal(q.runtime, "/usr/sbin/runc");
        assert_string_equal(q.runtime_root, "/run/brig/runc");
        assert_int_equal(q.timeout_ms, 1500);
        /* in their order, wherever they are among the others */
        assert_int_equal(q.n_args, 3);
        assert_string_equal(q.args[0], "/bin/sh");
        assert_string_equal(q.args[1], "-c");
        assert_string_equal(q.args[2], "");
        assert_false(q.has_log_fd);
        assert_null(q.invalid);

        /* no timeout; the most arguments */
        exec_msg(&m, ID, "/b", MON_MAX_EXEC_ARGS);
        assert_int_equal(wire_decode_request(m.buf, end(&m), 0, &q, err, sizeof(err)), 0);
        assert_int_equal(q.timeout_ms, 0);
        assert_int_equal(q.n_args, MON_MAX_EXEC_ARGS);
        assert_string_equal(q.args[MON_MAX_EXEC_ARGS - 1], "-x");
        assert_null(q.invalid);
}

static void test_simple_kinds(void **state)
{
        (void)state;
        const uint32_t kinds[] = {MON_KIND_STATE, MON_KIND_SUBSCRIBE, MON_KIND_SHUTDOWN};
        struct mon_request q;
        struct msg m;
        char err[WIRE_REASON_MAX];

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                begin(&m, kinds[i]);
                tlv_put_u32(&m.w, MON_TAG_SEQ, 3);
                assert_int_equal(wire_decode_request(m.buf, end(&m), 0, &q, err, sizeof(err)), 0);
                assert_int_equal(q.kind, kinds[i]);
                assert_int_equal(q.seq, 3);
                assert_null(q.ctr_id);
        }
        begin(&m, MON_KIND_FORGET);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 3);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        assert_int_equal(wire_decode_request(m.buf, end(&m), 0, &q, err, sizeof(err)), 0);
        assert_string_equal(q.ctr_id, ID);
}

static void refused(struct msg *m, size_t n_fds, int error, const char *reason)
{
        struct mon_request q;
        char err[WIRE_REASON_MAX] = "";

        assert_int_equal(wire_decode_request(m->buf, end(m), n_fds, &q, err, sizeof(err)), error);
        assert_string_equal(err, reason);
}

static void test_malformed(void **state)
{
        (void)state;
        struct msg m;
        struct mon_request q;
        char err[WIRE_REASON_MAX];

        assert_int_equal(wire_decode_request("", 0, 0, &q, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "empty datagram");
        assert_int_equal(wire_decode_request("\x01\x00\x01", 3, 0, &q, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "first element cut short");

        begin(&m, MON_KIND_REPLY);
        refused(&m, 0, -EOPNOTSUPP, "kind 9 is no request");
        begin(&m, 1000);
        refused(&m, 0, -EOPNOTSUPP, "kind 1000 is no request");
        tlv_writer_init(&m.w, m.buf, sizeof(m.buf));
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        refused(&m, 0, -EBADMSG, "first element is not a U32 KIND");

        begin(&m, MON_KIND_STATE);
        refused(&m, 0, -EINVAL, "STATE: SEQ is missing");
        begin(&m, MON_KIND_STATE);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        refused(&m, 1, -EINVAL, "STATE: 1 fds came, 0 referenced");
        begin(&m, MON_KIND_STATE);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 2);
        refused(&m, 0, -EINVAL, "STATE: SEQ appears twice");
        begin(&m, MON_KIND_STATE);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        refused(&m, 0, -EINVAL, "STATE: tag 5 is not allowed");
        begin(&m, MON_KIND_FORGET);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_bytes(&m.w, MON_TAG_CTR_ID, "x", 1);
        refused(&m, 0, -EINVAL, "FORGET: CTR_ID is BYTES, not STRING");
        begin(&m, MON_KIND_FORGET);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_bytes(&m.w, 99, "x", 1);
        refused(&m, 0, -EINVAL, "FORGET: tag 99 is not allowed");
        begin(&m, MON_KIND_FORGET);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID "0");
        refused(&m, 0, -EMSGSIZE, "FORGET: CTR_ID is 66 bytes, more than 65");
        begin(&m, MON_KIND_REOPEN_LOG);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        tlv_put_fd(&m.w, MON_TAG_LOG_FD, 1);
        refused(&m, 1, -EINVAL, "REOPEN_LOG: LOG_FD index 1 out of range");
        create_msg(&m, ID, "/b", 0);
        refused(&m, 0, -EINVAL, "CREATE: 0 fds came, 1 referenced");
        begin(&m, MON_KIND_REOPEN_LOG);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        refused(&m, 0, -EINVAL, "REOPEN_LOG: LOG_FD is missing");

        /* EXEC_SYNC */
        exec_msg(&m, ID, "/b", 0);
        refused(&m, 0, -EINVAL, "EXEC_SYNC: ARG is missing");
        exec_msg(&m, ID, "/b", MON_MAX_EXEC_ARGS + 1);
        refused(&m, 0, -E2BIG, "EXEC_SYNC: more than 48 ARGs");
        exec_msg(&m, ID, "/b", 1);
        tlv_put_bytes(&m.w, MON_TAG_ARG, "x", 1);
        refused(&m, 0, -EINVAL, "EXEC_SYNC: ARG is BYTES, not STRING");
        exec_msg(&m, ID, "/b", 1);
        size_t at = m.w.len;
        tlv_put_bytes(&m.w, MON_TAG_ARG, "a\0b", 4);
        /* the writer makes no such STRING: a BYTES element retyped */
        tlv_le16_encode(m.buf + at + 2, BRIG_TLV_STRING);
        refused(&m, 0, -EINVAL, "EXEC_SYNC: ARG: STRING value has an embedded NUL");
        exec_msg(&m, ID, "/b", 1);
        tlv_put_u32(&m.w, MON_TAG_TIMEOUT_MS, 1);
        tlv_put_u32(&m.w, MON_TAG_TIMEOUT_MS, 2);
        refused(&m, 0, -EINVAL, "EXEC_SYNC: TIMEOUT_MS appears twice");
        exec_msg(&m, ID, "/b", 1);
        tlv_put_u64(&m.w, MON_TAG_TIMEOUT_MS, 1);
        refused(&m, 0, -EINVAL, "EXEC_SYNC: TIMEOUT_MS is U64, not U32");
        exec_msg(&m, ID, "/b", 1);
        tlv_put_u32(&m.w, MON_TAG_CTR_FLAGS, 0);
        refused(&m, 0, -EINVAL, "EXEC_SYNC: tag 9 is not allowed");
        exec_msg(&m, ID, "/b", 1);
        tlv_put_fd(&m.w, MON_TAG_LOG_FD, 0);
        refused(&m, 1, -EINVAL, "EXEC_SYNC: tag 10 is not allowed");
        exec_msg(&m, ID, "/b", 1);
        refused(&m, 1, -EINVAL, "EXEC_SYNC: 1 fds came, 0 referenced");
        exec_msg(&m, ID, "/b", 1);
        tlv_put_fd(&m.w, MON_TAG_STDOUT_FD, 0);
        refused(&m, 1, -EINVAL, "EXEC_SYNC: tag 19 is not allowed");
        begin(&m, MON_KIND_EXEC_SYNC);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        tlv_put_string(&m.w, MON_TAG_ARG, "true");
        refused(&m, 0, -EINVAL, "EXEC_SYNC: BUNDLE is missing");
        begin(&m, MON_KIND_FORGET);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        tlv_put_string(&m.w, MON_TAG_CTR_ID, ID);
        tlv_put_string(&m.w, MON_TAG_ARG, "true");
        refused(&m, 0, -EINVAL, "FORGET: tag 16 is not allowed");
        create_msg(&m, ID, "/b", 0);
        tlv_put_u32(&m.w, MON_TAG_TIMEOUT_MS, 1);
        refused(&m, 1, -EINVAL, "CREATE: tag 17 is not allowed");
        /* elements are counted with the ARGs among them */
        exec_msg(&m, ID, "/b", 3);
        size_t exec_len = end(&m);
        assert_int_equal(wire_decode_request(m.buf, exec_len - 1, 0, &q, err, sizeof(err)),
                         -EBADMSG);
        assert_string_equal(err, "EXEC_SYNC: element 8 is cut short");

        /* an element cut short after a good one */
        begin(&m, MON_KIND_STATE);
        tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
        size_t len = end(&m);
        assert_int_equal(wire_decode_request(m.buf, len - 1, 0, &q, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "STATE: element 1 is cut short");
}

static void invalid(const char *id, const char *bundle, uint32_t flags, const char *reason)
{
        struct mon_request q;
        struct msg m;
        char err[WIRE_REASON_MAX];

        create_msg(&m, id, bundle, flags);
        assert_int_equal(wire_decode_request(m.buf, end(&m), 1, &q, err, sizeof(err)), 0);
        assert_non_null(q.invalid);
        assert_string_equal(q.invalid, reason);
}

static void test_values_checked(void **state)
{
        (void)state;
        const char *bad_paths[] = {"b", "", "/a/../b", "/a/./b", "/a//b", "/a/", "/..", "/a/.."};

        invalid("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "/b", 0,
                "CREATE: CTR_ID is not 64 lowercase hex");
        invalid("abc", "/b", 0, "CREATE: CTR_ID is not 64 lowercase hex");
        for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
                invalid(ID, bad_paths[i], 0, "CREATE: BUNDLE is not a clean absolute path");
        invalid(ID, "/b", CTR_F_READONLY_ROOTFS, "CREATE: CTR_FLAGS 0x8 has unknown bits");

        const struct {
                const char *id, *bundle, *runtime, *root, *reason;
        } execs[] = {
            {"abc", "/b", "/r", "/rr", "EXEC_SYNC: CTR_ID is not 64 lowercase hex"},
            {ID, "b", "/r", "/rr", "EXEC_SYNC: BUNDLE is not a clean absolute path"},
            {ID, "/b", "runc", "/rr", "EXEC_SYNC: RUNTIME is not a clean absolute path"},
            {ID, "/b", "/r", "/rr/../x", "EXEC_SYNC: RUNTIME_ROOT is not a clean absolute path"},
        };
        for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
                struct mon_request q;
                struct msg m;
                char err[WIRE_REASON_MAX];

                begin(&m, MON_KIND_EXEC_SYNC);
                tlv_put_u32(&m.w, MON_TAG_SEQ, 1);
                tlv_put_string(&m.w, MON_TAG_CTR_ID, execs[i].id);
                tlv_put_string(&m.w, MON_TAG_BUNDLE, execs[i].bundle);
                tlv_put_string(&m.w, MON_TAG_RUNTIME, execs[i].runtime);
                tlv_put_string(&m.w, MON_TAG_RUNTIME_ROOT, execs[i].root);
                tlv_put_string(&m.w, MON_TAG_ARG, "relative-is-fine");
                assert_int_equal(wire_decode_request(m.buf, end(&m), 0, &q, err, sizeof(err)), 0);
                assert_non_null(q.invalid);
                assert_string_equal(q.invalid, execs[i].reason);
        }
        assert_true(wire_valid_id(ID));
        assert_false(wire_valid_id(""));
}

static void test_encoders(void **state)
{
        (void)state;
        uint8_t buf[1024];
        struct tlv_fields fs = {0};
        struct tlv_reader rd;
        size_t len;
        uint32_t v;
        const char *s;

        assert_int_equal(wire_encode_reply(buf, sizeof(buf), 5, EBUSY, NULL, 0, &len), 0);
        tlv_reader_init(&rd, buf, len);
        while (tlv_reader_next(&rd, &fs.items[fs.n]) == 1)
                fs.n++;
        assert_int_equal(fs.n, 4);
        assert_int_equal(tlv_get_u32(&fs, MON_TAG_KIND, &v), 0);
        assert_int_equal(v, MON_KIND_REPLY);
        assert_int_equal(tlv_get_string(&fs, MON_TAG_ERROR, &s), 0);
        assert_string_equal(s, strerror(EBUSY));

        char long_error[2 * MON_MAX_ERROR];
        memset(long_error, 'x', sizeof(long_error) - 1);
        long_error[sizeof(long_error) - 1] = '\0';
        assert_int_equal(wire_encode_reply(buf, sizeof(buf), 5, EIO, long_error, 0, &len), 0);
        fs.n = 0;
        tlv_reader_init(&rd, buf, len);
        while (tlv_reader_next(&rd, &fs.items[fs.n]) == 1)
                fs.n++;
        assert_int_equal(tlv_get_string(&fs, MON_TAG_ERROR, &s), 0);
        assert_int_equal(strlen(s), MON_MAX_ERROR - 1);

        assert_int_equal(wire_encode_reply(buf, 16, 5, 0, NULL, 42, &len), -EMSGSIZE);

        struct wire_state w;
        wire_state_begin(&w, buf, sizeof(buf), 9);
        for (int i = 0; i < 3; i++)
                assert_int_equal(wire_state_add(&w, ID, 100 + (uint32_t)i, i == 1, 256, 77), 0);
        assert_int_equal(wire_state_finish(&w, &len), 0);
        /* KIND, SEQ, STATUS, then records of 3 or 5 elements */
        assert_int_equal(len, 3 * 12 + 3 * 8 + 2 * (8 + 65 + 12) + (8 + 65 + 12 + 12 + 16));

        fs.n = 0;
        assert_int_equal(wire_encode_exec_reply(buf, sizeof(buf), 11, 7 << 8, true, &len), 0);
        tlv_reader_init(&rd, buf, len);
        while (tlv_reader_next(&rd, &fs.items[fs.n]) == 1)
                fs.n++;
        assert_int_equal(fs.n, 7);
        assert_int_equal(tlv_get_u32(&fs, MON_TAG_KIND, &v), 0);
        assert_int_equal(v, MON_KIND_REPLY);
        assert_int_equal(tlv_get_u32(&fs, MON_TAG_SEQ, &v), 0);
        assert_int_equal(v, 11);
        assert_int_equal(tlv_get_u32(&fs, MON_TAG_STATUS, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(tlv_get_u32(&fs, MON_TAG_WAIT_STATUS, &v), 0);
        assert_int_equal(v, 7 << 8);
        assert_int_equal(tlv_get_u32(&fs, MON_TAG_TIMED_OUT, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(tlv_get_fd_index(&fs, MON_TAG_STDOUT_FD, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(tlv_get_fd_index(&fs, MON_TAG_STDERR_FD, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(wire_encode_exec_reply(buf, 40, 11, 0, false, &len), -EMSGSIZE);

        wire_state_begin(&w, buf, 100, 9);
        assert_int_equal(wire_state_add(&w, ID, 1, false, 0, 0), -EMSGSIZE);
        assert_int_equal(wire_state_finish(&w, &len), -EMSGSIZE);
}

/* The largest STATE reply fits one datagram and the field limit. */
static void test_state_fits(void **state)
{
        (void)state;
        static uint8_t buf[BRIG_HELPER_MAX_PAYLOAD];
        struct wire_state w;
        size_t len;

        wire_state_begin(&w, buf, sizeof(buf), 1);
        for (int i = 0; i < MON_MAX_CONTAINERS; i++)
                assert_int_equal(wire_state_add(&w, ID, UINT32_MAX, true, 0, UINT64_MAX), 0);
        assert_int_equal(wire_state_finish(&w, &len), 0);
        assert_true(3 + MON_MAX_CONTAINERS <= BRIG_HELPER_MAX_FIELDS);
}

static void test_pid_file(void **state)
{
        (void)state;
        pid_t pid = 0;

        assert_int_equal(rtlog_parse_pid("1234", 4, &pid), 0);
        assert_int_equal(pid, 1234);
        assert_int_equal(rtlog_parse_pid("2147483647\n", 11, &pid), 0);
        assert_int_equal(pid, 2147483647);
        assert_int_equal(rtlog_parse_pid("2147483648", 10, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("0", 1, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("012", 3, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("", 0, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("\n", 1, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("12 ", 3, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("-1", 2, &pid), -EINVAL);
        assert_int_equal(rtlog_parse_pid("1\n\n", 3, &pid), -EINVAL);
}

static void error_is(const char *log, const char *want)
{
        char out[MON_MAX_ERROR];

        assert_int_equal(rtlog_last_error(log, strlen(log), out, sizeof(out)), 0);
        assert_string_equal(out, want);
}

static void test_runtime_error_line(void **state)
{
        (void)state;
        char out[16];

        error_is("time=\"2026-11-25T00:44:00Z\" level=error msg=\"runc create failed: exec: "
                 "\\\"/x\\\": stat /x: no such file or directory\"\n",
                 "runc create failed: exec: '/x': stat /x: no such file or directory");
        /* the last error line wins; warnings after it do not count */
        error_is("level=error msg=first\nlevel=error msg=\"second one\"\n"
                 "level=warning msg=\"not this\"\n",
                 "second one");
        error_is("level=error msg=\"tab\\there\\nnew \\\\ \\u00e9 \x01\x7f\"",
                 "tab here new \\ ?00e9 ??");
        error_is("msg=\"before level\" level=error", "before level");
        const char *cut = "level=error msg=\"0123456789abcdefghij\"";
        assert_int_equal(rtlog_last_error(cut, strlen(cut), out, sizeof(out)), 0);
        assert_string_equal(out, "0123456789abcde");

        const char *none[] = {"",
                              "\n\n",
                              "level=info msg=x\n",
                              "level=error\n",
                              "level=error msg=\"unterminated\n",
                              "garbage without fields",
                              "level=errors msg=x"};
        for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
                assert_int_equal(rtlog_last_error(none[i], strlen(none[i]), out, sizeof(out)),
                                 -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_create_accepted),    cmocka_unit_test(test_exec_accepted),
            cmocka_unit_test(test_simple_kinds),       cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_values_checked),     cmocka_unit_test(test_encoders),
            cmocka_unit_test(test_state_fits),         cmocka_unit_test(test_pid_file),
            cmocka_unit_test(test_runtime_error_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
