/* tlv.c: owns the TLV element codec: the sticky-error writer, the
 * bounds-checked reader, the per-type value rules and the typed getters. */
#include "tlv.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void tlv_writer_init(struct tlv_writer *w, void *buf, size_t cap)
{
        assert(buf || cap == 0);
        *w = (struct tlv_writer){
            .buf = buf,
            .cap = cap < BRIG_HELPER_MAX_PAYLOAD ? cap : BRIG_HELPER_MAX_PAYLOAD,
        };
}

/* Appends one element, or records -EMSGSIZE if header plus value do not fit. */
static int put(struct tlv_writer *w, uint16_t tag, uint16_t type, const void *value, size_t len)
{
        if (w->error < 0)
                return w->error;

        size_t left = w->cap - w->len;
        if (left < BRIG_TLV_HDR_SIZE || len > left - BRIG_TLV_HDR_SIZE) {
                w->error = -EMSGSIZE;
                return w->error;
        }

        uint8_t *p = w->buf + w->len;
        tlv_le16_encode(p, tag);
        tlv_le16_encode(p + 2, type);
        tlv_le32_encode(p + 4, (uint32_t)len);
        if (len > 0)
                memcpy(p + BRIG_TLV_HDR_SIZE, value, len);
        w->len += BRIG_TLV_HDR_SIZE + len;
        return 0;
}

int tlv_put_u32(struct tlv_writer *w, uint16_t tag, uint32_t v)
{
        uint8_t b[4];
        tlv_le32_encode(b, v);
        return put(w, tag, BRIG_TLV_U32, b, sizeof(b));
}

int tlv_put_u64(struct tlv_writer *w, uint16_t tag, uint64_t v)
{
        uint8_t b[8];
        tlv_le64_encode(b, v);
        return put(w, tag, BRIG_TLV_U64, b, sizeof(b));
}

int tlv_put_string(struct tlv_writer *w, uint16_t tag, const char *s)
{
        assert(s);
        return put(w, tag, BRIG_TLV_STRING, s, strlen(s) + 1);
}

int tlv_put_bytes(struct tlv_writer *w, uint16_t tag, const void *p, size_t len)
{
        assert(p || len == 0);
        return put(w, tag, BRIG_TLV_BYTES, p, len);
}

int tlv_put_fd(struct tlv_writer *w, uint16_t tag, uint32_t index)
{
        uint8_t b[4];
        tlv_le32_encode(b, index);
        return put(w, tag, BRIG_TLV_FD, b, sizeof(b));
}

int tlv_writer_finish(const struct tlv_writer *w, size_t *ret_len)
{
        if (w->error < 0)
                return w->error;
        *ret_len = w->len;
        return 0;
}

void tlv_reader_init(struct tlv_reader *r, const void *buf, size_t len)
{
        assert(buf || len == 0);
        *r = (struct tlv_reader){.buf = buf, .len = len};
}

int tlv_reader_next(struct tlv_reader *r, struct tlv_field *ret)
{
        if (r->error)
                return -EBADMSG;

        /* Only the remaining count is compared against, never off + length,
         * so a length near UINT32_MAX cannot wrap the arithmetic. */
        size_t left = r->len - r->off;
        if (left == 0)
                return 0;
        if (left < BRIG_TLV_HDR_SIZE) {
                r->error = "truncated element header";
                return -EBADMSG;
        }

        const uint8_t *p = r->buf + r->off;
        uint32_t len = tlv_le32_decode(p + 4);
        if (len > left - BRIG_TLV_HDR_SIZE) {
                r->error = "truncated element value";
                return -EBADMSG;
        }

        *ret = (struct tlv_field){
            .tag = tlv_le16_decode(p),
            .type = tlv_le16_decode(p + 2),
            .len = len,
            .value = p + BRIG_TLV_HDR_SIZE,
        };
        r->off += BRIG_TLV_HDR_SIZE + (size_t)len;
        return 1;
}

static int check_fail(const char **ret_reason, const char *reason)
{
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
}

int tlv_field_check(const struct tlv_field *f, const char **ret_reason)
{
        switch (f->type) {
        case BRIG_TLV_U32:
                return f->len == 4 ? 0 : check_fail(ret_reason, "U32 value must be 4 bytes");
        case BRIG_TLV_U64:
                return f->len == 8 ? 0 : check_fail(ret_reason, "U64 value must be 8 bytes");
        case BRIG_TLV_FD:
                return f->len == 4 ? 0 : check_fail(ret_reason, "FD value must be 4 bytes");
        case BRIG_TLV_STRING:
                if (f->len == 0)
                        return check_fail(ret_reason, "STRING value is empty, lacks its NUL");
                if (f->value[f->len - 1] != '\0')
                        return check_fail(ret_reason, "STRING value lacks its final NUL");
                if (memchr(f->value, '\0', f->len - 1))
                        return check_fail(ret_reason, "STRING value has an embedded NUL");
                return 0;
        case BRIG_TLV_BYTES:
                return 0;
        default:
                return check_fail(ret_reason, "unknown value type");
        }
}

const char *tlv_type_name(uint16_t type)
{
        switch (type) {
        case BRIG_TLV_U32:
                return "U32";
        case BRIG_TLV_U64:
                return "U64";
        case BRIG_TLV_STRING:
                return "STRING";
        case BRIG_TLV_BYTES:
                return "BYTES";
        case BRIG_TLV_FD:
                return "FD";
        default:
                return "unknown";
        }
}

/* Finds the first element with tag and checks it is a well-formed value of
 * the expected type. */
static int get(const struct tlv_fields *fs, uint16_t tag, uint16_t type,
               const struct tlv_field **ret)
{
        assert(fs->n <= BRIG_HELPER_MAX_FIELDS);
        for (size_t i = 0; i < fs->n; i++) {
                const struct tlv_field *f = &fs->items[i];
                if (f->tag != tag)
                        continue;
                if (f->type != type)
                        return -EINVAL;
                int r = tlv_field_check(f, NULL);
                if (r < 0)
                        return r;
                *ret = f;
                return 0;
        }
        return -ENOENT;
}

int tlv_get_u32(const struct tlv_fields *fs, uint16_t tag, uint32_t *ret)
{
        const struct tlv_field *f;
        int r = get(fs, tag, BRIG_TLV_U32, &f);
        if (r < 0)
                return r;
        *ret = tlv_le32_decode(f->value);
        return 0;
}

int tlv_get_u64(const struct tlv_fields *fs, uint16_t tag, uint64_t *ret)
{
        const struct tlv_field *f;
        int r = get(fs, tag, BRIG_TLV_U64, &f);
        if (r < 0)
                return r;
        *ret = tlv_le64_decode(f->value);
        return 0;
}

int tlv_get_string(const struct tlv_fields *fs, uint16_t tag, const char **ret)
{
        const struct tlv_field *f;
        int r = get(fs, tag, BRIG_TLV_STRING, &f);
        if (r < 0)
                return r;
        *ret = (const char *)f->value;
        return 0;
}

int tlv_get_bytes(const struct tlv_fields *fs, uint16_t tag, const void **ret, size_t *ret_len)
{
        const struct tlv_field *f;
        int r = get(fs, tag, BRIG_TLV_BYTES, &f);
        if (r < 0)
                return r;
        *ret = f->value;
        *ret_len = f->len;
        return 0;
}

int tlv_get_fd_index(const struct tlv_fields *fs, uint16_t tag, uint32_t *ret)
{
        const struct tlv_field *f;
        int r = get(fs, tag, BRIG_TLV_FD, &f);
        if (r < 0)
                return r;
        *ret = tlv_le32_decode(f->value);
        return 0;
}
