/* spdy.h: brig's SPDY/3.1 framing codec, what kubelet and the API server
 * speak to a runtime's streaming server for exec, attach and port-forward.
 *
 * It owns the frame layouts of SPDY/3 (draft-mbelshe-httpbis-spdy-00, with
 * the session-level WINDOW_UPDATE of SPDY/3.1), the zlib header compression
 * (one stream per direction for the whole connection, preset with the
 * protocol's dictionary) and the limits below. Streams, flow control and
 * I/O are the caller's: the codec turns bytes into frames and frames into
 * bytes, nothing else. docs/streaming.md says what it accepts and refuses.
 *
 * A session is used by one thread at a time. Header compression is
 * stateful, so frames must be parsed in the order they arrived and sent in
 * the order they were encoded.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPDY_VERSION     3
#define SPDY_HEADER_SIZE 8 /* the common header of every frame */

/* Limits on what the parser accepts from the peer, refused with the errno
 * named: a frame longer than its limit is refused from its first 8 bytes,
 * before the rest arrives. */
#define SPDY_MAX_CONTROL_LEN  (64 * 1024)   /* payload of a control frame: -EMSGSIZE */
#define SPDY_MAX_DATA_LEN     (1024 * 1024) /* payload of a DATA frame: -EMSGSIZE */
#define SPDY_MAX_HEADER_BLOCK (64 * 1024)   /* a header block decompressed: -E2BIG */
#define SPDY_MAX_HEADERS      128           /* name/value pairs in one block: -E2BIG */

#define SPDY_MAX_STREAM_ID 0x7fffffffu /* also the largest window delta */

enum spdy_type {
        SPDY_DATA = 0,
        SPDY_SYN_STREAM = 1,
        SPDY_SYN_REPLY = 2,
        SPDY_RST_STREAM = 3,
        SPDY_SETTINGS = 4,
        SPDY_PING = 6,
        SPDY_GOAWAY = 7,
        SPDY_HEADERS = 8,
        SPDY_WINDOW_UPDATE = 9,
        /* A control frame of a type SPDY/3.1 does not define (or no longer
         * does: NOOP, CREDENTIAL). The spec says to ignore it; the parser
         * consumes it and fills in only type and flags. Never encoded. */
        SPDY_UNKNOWN = 0x10000,
};

/* Frame flags. FIN is the same bit in DATA, SYN_STREAM, SYN_REPLY and
 * HEADERS; CLEAR_SETTINGS is the same bit of SETTINGS. */
#define SPDY_FLAG_FIN            0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02
#define SPDY_FLAG_CLEAR_SETTINGS 0x01

/* RST_STREAM status codes. */
enum {
        SPDY_RST_PROTOCOL_ERROR = 1,
        SPDY_RST_INVALID_STREAM = 2,
        SPDY_RST_REFUSED_STREAM = 3,
        SPDY_RST_UNSUPPORTED_VERSION = 4,
        SPDY_RST_CANCEL = 5,
        SPDY_RST_INTERNAL_ERROR = 6,
        SPDY_RST_FLOW_CONTROL_ERROR = 7,
        SPDY_RST_STREAM_IN_USE = 8,
        SPDY_RST_STREAM_ALREADY_CLOSED = 9,
        SPDY_RST_FRAME_TOO_LARGE = 11,
};

/* GOAWAY status codes. */
enum {
        SPDY_GOAWAY_OK = 0,
        SPDY_GOAWAY_PROTOCOL_ERROR = 1,
        SPDY_GOAWAY_INTERNAL_ERROR = 2,
};

/* SETTINGS ids (24 bits on the wire); the parser passes any id through. */
enum {
        SPDY_SETTINGS_UPLOAD_BANDWIDTH = 1,
        SPDY_SETTINGS_DOWNLOAD_BANDWIDTH = 2,
        SPDY_SETTINGS_ROUND_TRIP_TIME = 3,
        SPDY_SETTINGS_MAX_CONCURRENT_STREAMS = 4,
        SPDY_SETTINGS_CURRENT_CWND = 5,
        SPDY_SETTINGS_DOWNLOAD_RETRANS_RATE = 6,
        SPDY_SETTINGS_INITIAL_WINDOW_SIZE = 7,
        SPDY_SETTINGS_CLIENT_CERTIFICATE_VECTOR_SIZE = 8,
};

struct spdy_setting {
        uint8_t flags; /* 0x1 PERSIST_VALUE, 0x2 PERSISTED */
        uint32_t id;   /* at most 0xffffff */
        uint32_t value;
};

/* One name/value pair of a header block: byte strings with lengths, not
 * NUL-terminated. A name is non-empty printable ASCII without upper case;
 * a value may hold several values joined by NUL bytes, as SPDY sends a
 * header that has more than one. */
struct spdy_header {
        const char *name;
        size_t name_len;
        const char *value;
        size_t value_len;
};

/* One frame, as parsed or to be encoded. Fields a type does not use are 0.
 * Reserved bits are dropped by the parser and sent as 0. */
struct spdy_frame {
        enum spdy_type type;
        uint8_t flags;
        /* DATA, SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS: 1..2^31-1.
         * WINDOW_UPDATE: 0 for the session's window (SPDY/3.1). */
        uint32_t stream_id;
        uint32_t assoc_stream_id;            /* SYN_STREAM */
        uint8_t priority;                    /* SYN_STREAM: 0 (highest) to 7 */
        uint8_t slot;                        /* SYN_STREAM */
        uint32_t status;                     /* RST_STREAM, GOAWAY */
        uint32_t last_good_stream_id;        /* GOAWAY */
        uint32_t ping_id;                    /* PING */
        uint32_t window_delta;               /* WINDOW_UPDATE: 1..2^31-1 */
        const struct spdy_setting *settings; /* SETTINGS */
        size_t n_settings;
        const struct spdy_header *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
        size_t n_headers;
        const uint8_t *data; /* DATA: parsed, points into the caller's buffer */
        size_t data_len;
        void *owned; /* what spdy_frame_release() frees; NULL in a frame to encode */
};

struct spdy_session;

/* A session for one connection: server is true on brig's side (it expects
 * odd stream ids in the SYN_STREAMs it parses and sends even ones), false
 * for a client. Returns 0 or -ENOMEM. */
int spdy_session_new(bool server, struct spdy_session **ret);
/* NULL is a no-op. */
void spdy_session_free(struct spdy_session *s);

/* Parses the frame at the start of buf. Returns its length in bytes (> 0)
 * with the frame in *ret (release it with spdy_frame_release()), 0 when
 * buf holds less than a whole frame (call again with more bytes from the
 * same start), or a negative errno for a frame that must end the session,
 * with a message in err naming the frame type and what was wrong (never
 * the peer's bytes):
 *   -EPROTONOSUPPORT  a control frame of a version other than 3
 *   -EMSGSIZE         a frame over SPDY_MAX_CONTROL_LEN / SPDY_MAX_DATA_LEN
 *   -E2BIG            a header block over SPDY_MAX_HEADER_BLOCK decompressed,
 *                     or with more than SPDY_MAX_HEADERS pairs
 *   -EBADMSG          a bad length for the frame type, a truncated or
 *                     corrupt zlib stream, a header block whose lengths run
 *                     past its end or leave bytes after the last pair
 *   -EPROTO           stream id 0 where one is required, a SYN_STREAM id of
 *                     the wrong parity, a window delta of 0, a header name
 *                     that is empty, not printable ASCII, has an upper-case
 *                     letter or repeats an earlier name
 *   -ENOMEM
 * After a negative return the session's decompressor may be out of step
 * with the peer's, so every later spdy_parse() fails the same way. On 0 or
 * an error *ret holds nothing (releasing it is harmless). */
ssize_t spdy_parse(struct spdy_session *s, const uint8_t *buf, size_t len, struct spdy_frame *ret,
                   char *err, size_t err_size);

/* Frees what a parsed frame owns and zeroes it. NULL is a no-op. */
void spdy_frame_release(struct spdy_frame *f);

/* Encodes f into a new malloc'd buffer *ret of *ret_len bytes, compressing
 * a header block with the session's compressor. f->owned is ignored.
 * Refuses, with a message and nothing sent through the compressor, with
 * -EINVAL what the parser would refuse (an unknown type, a stream id,
 * priority, delta or setting id out of range, a header name the parser
 * refuses or a repeated one, a SYN_STREAM id of the wrong parity), with
 * -E2BIG a header block over the limits above and with -EMSGSIZE a frame
 * over its size limit (a header block that might not compress below
 * SPDY_MAX_CONTROL_LEN counts). -EIO means the compressor failed midway:
 * it no longer matches the peer's, and every later frame with headers is
 * refused the same way. Also -ENOMEM. */
int spdy_encode(struct spdy_session *s, const struct spdy_frame *f, uint8_t **ret, size_t *ret_len,
                char *err, size_t err_size);

/* "SYN_STREAM", "DATA", ...; "unknown" for anything else. */
const char *spdy_type_name(enum spdy_type type);
