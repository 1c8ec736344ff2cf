/* tlv.h: the TLV codec of the helper protocol (element layout in proto/helper.h).
 *
 * Contract:
 * - Every function returns 0 (or a count, where said) or a negative errno and
 *   writes its ret_* outputs only on success.
 * - The writer never writes past its capacity and never produces a payload
 *   larger than BRIG_HELPER_MAX_PAYLOAD. Its first error is sticky: later
 *   puts do nothing and return that error, so a caller can put every field
 *   and check once with tlv_writer_finish().
 * - The reader never reads past the length it was given, whatever the
 *   element lengths claim, and all offset arithmetic is done on the remaining
 *   byte count so it cannot overflow.
 * - Decoded fields point into the caller's buffer; they are valid only while
 *   that buffer is.
 * - The getters re-check the type and the type's rules (fixed lengths, the
 *   NUL rules of STRING) even when the schema validator already did, so a
 *   string returned by tlv_get_string() is always a NUL-terminated C string.
 *   Schema rules (which tags, how many, how long) belong to hproto.h.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto/helper.h"

/* Little-endian field access: wire integers are never read through a cast. */
static inline void tlv_le16_encode(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static inline void tlv_le32_encode(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static inline void tlv_le64_encode(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t tlv_le16_decode(const uint8_t *p)
{
        return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t tlv_le32_decode(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tlv_le64_decode(const uint8_t *p)
{
        return (uint64_t)tlv_le32_decode(p) | (uint64_t)tlv_le32_decode(p + 4) << 32;
}

/* One decoded element; value points into the decoded buffer. */
struct tlv_field {
        uint16_t tag;
        uint16_t type;
        uint32_t len;
        const uint8_t *value;
};

/* The elements of one message, in wire order. */
struct tlv_fields {
        size_t n;
        struct tlv_field items[BRIG_HELPER_MAX_FIELDS];
};

/* Writer over a caller-provided buffer. Fields are public for reading only;
 * use the functions to change them. */
struct tlv_writer {
        uint8_t *buf;
        size_t cap;
        size_t len;
        int error;
};

/* Starts an empty payload in buf. cap is clamped to BRIG_HELPER_MAX_PAYLOAD. */
void tlv_writer_init(struct tlv_writer *w, void *buf, size_t cap);

/* Append one element. On overflow: sticky -EMSGSIZE, nothing written. */
int tlv_put_u32(struct tlv_writer *w, uint16_t tag, uint32_t v);
int tlv_put_u64(struct tlv_writer *w, uint16_t tag, uint64_t v);
/* Writes s including its NUL, so the wire value obeys the STRING rules. */
int tlv_put_string(struct tlv_writer *w, uint16_t tag, const char *s);
int tlv_put_bytes(struct tlv_writer *w, uint16_t tag, const void *p, size_t len);
/* index is a position in the fd array passed to brig_msg_send(). */
int tlv_put_fd(struct tlv_writer *w, uint16_t tag, uint32_t index);

/* Returns the sticky error, or 0 and the payload length in *ret_len. */
int tlv_writer_finish(const struct tlv_writer *w, size_t *ret_len);

/* Iterator over a payload. error names the first failure (a static string)
 * and off then still points at the element that failed. */
struct tlv_reader {
        const uint8_t *buf;
        size_t len;
        size_t off;
        const char *error;
};

void tlv_reader_init(struct tlv_reader *r, const void *buf, size_t len);

/* Returns 1 and the next element in *ret, 0 at the end of the payload, or
 * -EBADMSG when the element header or value is cut short (sticky). */
int tlv_reader_next(struct tlv_reader *r, struct tlv_field *ret);

/* Checks the rules every value of f->type obeys: U32/FD exactly 4 bytes,
 * U64 exactly 8, STRING at least 1 byte ending in its only NUL, BYTES
 * anything; an unknown type fails. Returns 0 or -EINVAL with a static
 * reason in *ret_reason (which may be NULL). */
int tlv_field_check(const struct tlv_field *f, const char **ret_reason);

/* Name of a type ("U32", ...) or "unknown", for messages. */
const char *tlv_type_name(uint16_t type);

/* Getters by tag: they use the first element with that tag (the schema
 * decides whether a tag may repeat). -ENOENT if the tag is absent, -EINVAL
 * if its element has another type or breaks its type's rules. */
int tlv_get_u32(const struct tlv_fields *fs, uint16_t tag, uint32_t *ret);
int tlv_get_u64(const struct tlv_fields *fs, uint16_t tag, uint64_t *ret);
/* *ret is a NUL-terminated string inside the message buffer. */
int tlv_get_string(const struct tlv_fields *fs, uint16_t tag, const char **ret);
int tlv_get_bytes(const struct tlv_fields *fs, uint16_t tag, const void **ret, size_t *ret_len);
/* The fd's index in the message; hproto.h's brig_msg_take_fd() maps it. */
int tlv_get_fd_index(const struct tlv_fields *fs, uint16_t tag, uint32_t *ret);
