/* wire.c: owns the TLV schema of brig-monitor's channel: which tags each
 * request kind carries and what their values may be, and the layout of
 * every datagram the monitor sends (wire.h, channel.h). */
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/ctrspec.h"
#include "util.h"

#define REQ(t) (1u << (t))

/* One tag a request may carry, at most once. */
struct tag_spec {
        uint16_t tag;
        uint16_t type;
        uint32_t max_len;
        const char *name;
};

static const struct tag_spec tags[] = {
    {MON_TAG_SEQ, BRIG_TLV_U32, 4, "SEQ"},
    {MON_TAG_CTR_ID, BRIG_TLV_STRING, WIRE_CTR_ID_LEN + 1, "CTR_ID"},
    {MON_TAG_BUNDLE, BRIG_TLV_STRING, WIRE_PATH_MAX, "BUNDLE"},
    {MON_TAG_RUNTIME, BRIG_TLV_STRING, WIRE_PATH_MAX, "RUNTIME"},
    {MON_TAG_RUNTIME_ROOT, BRIG_TLV_STRING, WIRE_PATH_MAX, "RUNTIME_ROOT"},
    {MON_TAG_CTR_FLAGS, BRIG_TLV_U32, 4, "CTR_FLAGS"},
    {MON_TAG_LOG_FD, BRIG_TLV_FD, 4, "LOG_FD"},
    /* an argument is bounded by the datagram only */
    {MON_TAG_ARG, BRIG_TLV_STRING, BRIG_HELPER_MAX_PAYLOAD, "ARG"},
    {MON_TAG_TIMEOUT_MS, BRIG_TLV_U32, 4, "TIMEOUT_MS"},
};

/* Each request kind: the tags it must carry and those it may carry (all
 * others are refused). Every fd is referenced by its one FD tag. */
static const struct {
        uint32_t kind;
        uint32_t required;
        uint32_t optional;
} kinds[] = {
    /* LOG_FD is optional: a container without a CRI log_path has output
     * that is read and dropped. */
    {MON_KIND_CREATE,
     REQ(MON_TAG_SEQ) | REQ(MON_TAG_CTR_ID) | REQ(MON_TAG_BUNDLE) | REQ(MON_TAG_RUNTIME) |
         REQ(MON_TAG_RUNTIME_ROOT) | REQ(MON_TAG_CTR_FLAGS),
     REQ(MON_TAG_LOG_FD)},
    {MON_KIND_REOPEN_LOG, REQ(MON_TAG_SEQ) | REQ(MON_TAG_CTR_ID) | REQ(MON_TAG_LOG_FD), 0},
    {MON_KIND_FORGET, REQ(MON_TAG_SEQ) | REQ(MON_TAG_CTR_ID), 0},
    {MON_KIND_STATE, REQ(MON_TAG_SEQ), 0},
    {MON_KIND_SUBSCRIBE, REQ(MON_TAG_SEQ), 0},
    {MON_KIND_SHUTDOWN, REQ(MON_TAG_SEQ), 0},
    {MON_KIND_EXEC_SYNC,
     REQ(MON_TAG_SEQ) | REQ(MON_TAG_CTR_ID) | REQ(MON_TAG_BUNDLE) | REQ(MON_TAG_RUNTIME) |
         REQ(MON_TAG_RUNTIME_ROOT) | REQ(MON_TAG_ARG),
     REQ(MON_TAG_TIMEOUT_MS)},
};

const char *wire_kind_name(uint32_t kind)
{
        static const char *const names[] = {
            [MON_KIND_READY] = "READY",           [MON_KIND_CREATE] = "CREATE",
            [MON_KIND_REOPEN_LOG] = "REOPEN_LOG", [MON_KIND_FORGET] = "FORGET",
            [MON_KIND_STATE] = "STATE",           [MON_KIND_SUBSCRIBE] = "SUBSCRIBE",
            [MON_KIND_SHUTDOWN] = "SHUTDOWN",     [MON_KIND_EXITED] = "EXITED",
            [MON_KIND_REPLY] = "REPLY",           [MON_KIND_EXEC_SYNC] = "EXEC_SYNC",
        };
        return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "unknown";
}

__attribute__((format(printf, 4, 5))) static int refuse(char *err, size_t err_size, int r,
                                                        const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return r;
}

bool wire_valid_id(const char *s)
{
        size_t i = 0;

        for (; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == WIRE_CTR_ID_LEN;
}

/* Absolute, no empty, "." or ".." component, no trailing '/'. */
static bool valid_path(const char *s)
{
        if (s[0] != '/' || strlen(s) >= WIRE_PATH_MAX)
                return false;
        if (s[1] == '\0')
                return true;
        for (const char *c = s + 1;;) {
                size_t n = strcspn(c, "/");
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (c[n] == '\0')
                        return true;
                c += n + 1;
        }
}

static const char *get_string(const struct tlv_fields *fs, uint16_t tag)
{
        const char *s = NULL;

        tlv_get_string(fs, tag, &s);
        return s;
}

static void check_values(struct mon_request *q)
{
        const struct {
                const char *value;
                const char *name;
        } paths[] = {
            {q->bundle, "BUNDLE"}, {q->runtime, "RUNTIME"}, {q->runtime_root, "RUNTIME_ROOT"}};

        if (q->ctr_id && !wire_valid_id(q->ctr_id)) {
                snprintf(q->reason, sizeof(q->reason), "%s: CTR_ID is not 64 lowercase hex",
                         wire_kind_name(q->kind));
                q->invalid = q->reason;
                return;
        }
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                if (paths[i].value && !valid_path(paths[i].value)) {
                        snprintf(q->reason, sizeof(q->reason),
                                 "%s: %s is not a clean absolute path", wire_kind_name(q->kind),
                                 paths[i].name);
                        q->invalid = q->reason;
                        return;
                }
        }
        if (q->flags & ~(CTR_F_TTY | CTR_F_STDIN | CTR_F_STDIN_ONCE)) {
                snprintf(q->reason, sizeof(q->reason), "%s: CTR_FLAGS 0x%x has unknown bits",
                         wire_kind_name(q->kind), q->flags);
                q->invalid = q->reason;
        }
}

int wire_decode_request(const void *buf, size_t len, size_t n_fds, struct mon_request *ret,
                        char *err, size_t err_size)
{
        struct tlv_fields fs = {0};
        struct tlv_reader rd;
        struct tlv_field f;
        uint32_t seen = 0;
        size_t k;
        int r;

        *ret = (struct mon_request){0};
        tlv_reader_init(&rd, buf, len);
        r = tlv_reader_next(&rd, &f);
        if (r < 0)
                return refuse(err, err_size, -EBADMSG, "first element cut short");
        if (r == 0)
                return refuse(err, err_size, -EBADMSG, "empty datagram");
        if (f.tag != MON_TAG_KIND || f.type != BRIG_TLV_U32 || f.len != 4)
                return refuse(err, err_size, -EBADMSG, "first element is not a U32 KIND");
        ret->kind = tlv_le32_decode(f.value);
        for (k = 0; k < ARRAY_SIZE(kinds) && kinds[k].kind != ret->kind; k++)
                ;
        if (k == ARRAY_SIZE(kinds))
                return refuse(err, err_size, -EOPNOTSUPP, "kind %u is no request", ret->kind);
        const char *kn = wire_kind_name(ret->kind);
        uint32_t allowed = kinds[k].required | kinds[k].optional;

        while ((r = tlv_reader_next(&rd, &f)) == 1) {
                const char *reason = NULL;
                size_t i;

                if (fs.n == ARRAY_SIZE(tags))
                        return refuse(err, err_size, -E2BIG, "%s: too many elements", kn);
                for (i = 0; i < ARRAY_SIZE(tags) && tags[i].tag != f.tag; i++)
                        ;
                if (i == ARRAY_SIZE(tags) || !(allowed & REQ(f.tag)))
                        return refuse(err, err_size, -EINVAL, "%s: tag %u is not allowed", kn,
                                      f.tag);
                if (f.type != tags[i].type)
                        return refuse(err, err_size, -EINVAL, "%s: %s is %s, not %s", kn,
                                      tags[i].name, tlv_type_name(f.type),
                                      tlv_type_name(tags[i].type));
                if (tlv_field_check(&f, &reason) < 0)
                        return refuse(err, err_size, -EINVAL, "%s: %s: %s", kn, tags[i].name,
                                      reason ? reason : "bad value");
                if (f.len > tags[i].max_len)
                        return refuse(err, err_size, -EMSGSIZE, "%s: %s is %u bytes, more than %u",
                                      kn, tags[i].name, f.len, tags[i].max_len);
                /* ARG is the one tag that repeats: its values are the
                 * command line, in order (STRING, so NUL-terminated). */
                if (f.tag == MON_TAG_ARG) {
                        if (ret->n_args == MON_MAX_EXEC_ARGS)
                                return refuse(err, err_size, -E2BIG, "%s: more than %d ARGs", kn,
                                              MON_MAX_EXEC_ARGS);
                        ret->args[ret->n_args++] = (const char *)f.value;
                } else if (seen & REQ(f.tag)) {
                        return refuse(err, err_size, -EINVAL, "%s: %s appears twice", kn,
                                      tags[i].name);
                } else {
                        fs.items[fs.n++] = f;
                }
                seen |= REQ(f.tag);
        }
        if (r < 0)
                return refuse(err, err_size, -EBADMSG, "%s: element %zu is cut short", kn,
                              fs.n + ret->n_args + 1);
        for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
                if ((kinds[k].required & REQ(tags[i].tag)) && !(seen & REQ(tags[i].tag)))
                        return refuse(err, err_size, -EINVAL, "%s: %s is missing", kn,
                                      tags[i].name);
        size_t want_fds = (seen & REQ(MON_TAG_LOG_FD)) ? 1 : 0;
        if (n_fds != want_fds)
                return refuse(err, err_size, -EINVAL, "%s: %zu fds came, %zu referenced", kn, n_fds,
                              want_fds);

        tlv_get_u32(&fs, MON_TAG_SEQ, &ret->seq);
        tlv_get_u32(&fs, MON_TAG_CTR_FLAGS, &ret->flags);
        tlv_get_u32(&fs, MON_TAG_TIMEOUT_MS, &ret->timeout_ms);
        ret->ctr_id = get_string(&fs, MON_TAG_CTR_ID);
        ret->bundle = get_string(&fs, MON_TAG_BUNDLE);
        ret->runtime = get_string(&fs, MON_TAG_RUNTIME);
        ret->runtime_root = get_string(&fs, MON_TAG_RUNTIME_ROOT);
        ret->has_log_fd = tlv_get_fd_index(&fs, MON_TAG_LOG_FD, &ret->log_fd_index) == 0;
        if (ret->has_log_fd && ret->log_fd_index >= n_fds)
                return refuse(err, err_size, -EINVAL, "%s: LOG_FD index %u out of range", kn,
                              ret->log_fd_index);
        check_values(ret);
        return 0;
}

int wire_encode_ready(void *buf, size_t cap, uint32_t pid, uint32_t pause_pid, size_t *ret_len)
{
        struct tlv_writer w;

        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, MON_TAG_KIND, MON_KIND_READY);
        tlv_put_u32(&w, MON_TAG_PID, pid);
        if (pause_pid)
                tlv_put_u32(&w, MON_TAG_PAUSE_PID, pause_pid);
        return tlv_writer_finish(&w, ret_len);
}

int wire_encode_reply(void *buf, size_t cap, uint32_t seq, uint32_t status, const char *error,
                      uint32_t pid, size_t *ret_len)
{
        char text[MON_MAX_ERROR];
        struct tlv_writer w;

        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, MON_TAG_KIND, MON_KIND_REPLY);
        tlv_put_u32(&w, MON_TAG_SEQ, seq);
        tlv_put_u32(&w, MON_TAG_STATUS, status);
        if (status != 0) {
                snprintf(text, sizeof(text), "%s", error ? error : strerror((int)status));
                tlv_put_string(&w, MON_TAG_ERROR, text);
        }
        if (pid)
                tlv_put_u32(&w, MON_TAG_PID, pid);
        return tlv_writer_finish(&w, ret_len);
}

int wire_encode_exec_reply(void *buf, size_t cap, uint32_t seq, uint32_t wait_status,
                           bool timed_out, size_t *ret_len)
{
        struct tlv_writer w;

        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, MON_TAG_KIND, MON_KIND_REPLY);
        tlv_put_u32(&w, MON_TAG_SEQ, seq);
        tlv_put_u32(&w, MON_TAG_STATUS, 0);
        tlv_put_u32(&w, MON_TAG_WAIT_STATUS, wait_status);
        tlv_put_u32(&w, MON_TAG_TIMED_OUT, timed_out);
        tlv_put_fd(&w, MON_TAG_STDOUT_FD, 0);
        tlv_put_fd(&w, MON_TAG_STDERR_FD, 1);
        return tlv_writer_finish(&w, ret_len);
}

int wire_encode_exited(void *buf, size_t cap, const char *ctr_id, uint32_t pid,
                       uint32_t wait_status, uint64_t exit_time, size_t *ret_len)
{
        struct tlv_writer w;

        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, MON_TAG_KIND, MON_KIND_EXITED);
        tlv_put_string(&w, MON_TAG_CTR_ID, ctr_id);
        tlv_put_u32(&w, MON_TAG_PID, pid);
        tlv_put_u32(&w, MON_TAG_WAIT_STATUS, wait_status);
        tlv_put_u64(&w, MON_TAG_EXIT_TIME, exit_time);
        return tlv_writer_finish(&w, ret_len);
}

void wire_state_begin(struct wire_state *s, void *buf, size_t cap, uint32_t seq)
{
        tlv_writer_init(&s->w, buf, cap);
        tlv_put_u32(&s->w, MON_TAG_KIND, MON_KIND_REPLY);
        tlv_put_u32(&s->w, MON_TAG_SEQ, seq);
        tlv_put_u32(&s->w, MON_TAG_STATUS, 0);
}

int wire_state_add(struct wire_state *s, const char *ctr_id, uint32_t pid, bool exited,
                   uint32_t wait_status, uint64_t exit_time)
{
        uint8_t rec[4 * BRIG_TLV_HDR_SIZE + WIRE_CTR_ID_LEN + 1 + 4 + 4 + 8];
        struct tlv_writer w;
        size_t len;

        tlv_writer_init(&w, rec, sizeof(rec));
        tlv_put_string(&w, MON_TAG_CTR_ID, ctr_id);
        tlv_put_u32(&w, MON_TAG_PID, pid);
        if (exited) {
                tlv_put_u32(&w, MON_TAG_WAIT_STATUS, wait_status);
                tlv_put_u64(&w, MON_TAG_EXIT_TIME, exit_time);
        }
        int r = tlv_writer_finish(&w, &len);
        if (r < 0)
                return r;
        return tlv_put_bytes(&s->w, MON_TAG_CTR_STATE, rec, len);
}

int wire_state_finish(const struct wire_state *s, size_t *ret_len)
{
        return tlv_writer_finish(&s->w, ret_len);
}
