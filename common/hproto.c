/* hproto.c: owns the helper protocol's framing (header codec), its schema
 * table, the validator that turns a received datagram into a message or a
 * refusal, and sending and receiving one datagram with SCM_RIGHTS. */
#include "hproto.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

/* The schema. Adding a command means adding its field arrays and one row in
 * cmd_table; the validator has no per-command code. */

/* Columns: tag, type, min count, max count, max value length (with the NUL
 * for STRING). */
static const struct brig_field_spec hello_request[] = {
    {BRIG_TAG_MIN_VERSION, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_MAX_VERSION, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_PEER_NAME, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_NAME},
};

static const struct brig_field_spec hello_reply[] = {
    {BRIG_TAG_VERSION, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_HELPER_VERSION, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_NAME},
};

/* PING's request and reply have the same shape: the reply echoes. */
static const struct brig_field_spec ping_fields[] = {
    {BRIG_TAG_PING_DATA, BRIG_TLV_BYTES, 0, 1, BRIG_HELPER_MAX_PING_DATA},
};

static const struct brig_field_spec unpack_request[] = {
    {BRIG_TAG_CHAIN_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_DIGEST},
    {BRIG_TAG_PARENT_CHAIN_ID, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DIGEST},
    {BRIG_TAG_DIFF_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_DIGEST},
    {BRIG_TAG_MEDIA_TYPE, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_MEDIA_TYPE},
    {BRIG_TAG_BLOB_FD, BRIG_TLV_FD, 1, 1, 4},
};

/* brig-unpack sends the same reply (without LAYER_EXISTED) to the helper on
 * its result socket, validated against this schema too. */
static const struct brig_field_spec unpack_reply[] = {
    {BRIG_TAG_LAYER_BYTES, BRIG_TLV_U64, 0, 1, 8},
    {BRIG_TAG_LAYER_ENTRIES, BRIG_TLV_U64, 0, 1, 8},
    {BRIG_TAG_LAYER_SKIPPED, BRIG_TLV_U64, 0, 1, 8},
    {BRIG_TAG_LAYER_EXISTED, BRIG_TLV_U32, 0, 1, 4},
    {BRIG_TAG_OPAQUE_DIRS_FD, BRIG_TLV_FD, 0, 1, 4},
};

static const struct brig_field_spec remove_layer_request[] = {
    {BRIG_TAG_CHAIN_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_DIGEST},
};

static const struct brig_field_spec pod_create_request[] = {
    {BRIG_TAG_POD_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_NS_FLAGS, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_HOSTNAME, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_HOSTNAME},
    {BRIG_TAG_SYSCTL, BRIG_TLV_STRING, 0, BRIG_HELPER_MAX_SYSCTLS, BRIG_HELPER_MAX_SYSCTL},
    {BRIG_TAG_CGROUP_PARENT, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_CGROUP_PARENT},
};

/* POD_REMOVE and POD_STATUS: just the pod id. */
static const struct brig_field_spec pod_id_request[] = {
    {BRIG_TAG_POD_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
};

static const struct brig_field_spec pod_status_reply[] = {
    {BRIG_TAG_NS_FLAGS, BRIG_TLV_U32, 1, 1, 4},
};

static const struct brig_field_spec net_add_request[] = {
    {BRIG_TAG_POD_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_K8S_NAMESPACE, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_K8S_NAME},
    {BRIG_TAG_K8S_NAME, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_K8S_NAME},
    {BRIG_TAG_K8S_UID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_K8S_NAME},
    {BRIG_TAG_PORT_MAPPINGS, BRIG_TLV_BYTES, 0, 1,
     BRIG_HELPER_MAX_PORT_MAPPINGS *BRIG_HELPER_PORT_MAPPING_SIZE},
    {BRIG_TAG_INGRESS_RATE, BRIG_TLV_U64, 0, 1, 8},
    {BRIG_TAG_EGRESS_RATE, BRIG_TLV_U64, 0, 1, 8},
    {BRIG_TAG_DNS_SERVERS, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DNS_LIST},
    {BRIG_TAG_DNS_SEARCHES, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DNS_LIST},
    {BRIG_TAG_DNS_OPTIONS, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DNS_LIST},
};

static const struct brig_field_spec net_add_reply[] = {
    {BRIG_TAG_POD_IP, BRIG_TLV_STRING, 0, BRIG_HELPER_MAX_POD_IPS, BRIG_HELPER_MAX_POD_IP},
    {BRIG_TAG_CNI_CONF_NAME, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_FILE_NAME},
};

/* NET_DEL and NET_CHECK: the pod, and its names for CNI_ARGS when brigd
 * still has them. */
static const struct brig_field_spec net_pod_request[] = {
    {BRIG_TAG_POD_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_K8S_NAMESPACE, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_K8S_NAME},
    {BRIG_TAG_K8S_NAME, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_K8S_NAME},
    {BRIG_TAG_K8S_UID, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_K8S_NAME},
};

static const struct brig_field_spec net_status_reply[] = {
    {BRIG_TAG_CNI_CONF_NAME, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_FILE_NAME},
    {BRIG_TAG_CNI_PROBLEM, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_ERROR_MESSAGE},
};

static const struct brig_field_spec pod_files_request[] = {
    {BRIG_TAG_POD_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_HOSTNAME, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_HOSTNAME},
    {BRIG_TAG_DNS_SERVERS, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DNS_LIST},
    {BRIG_TAG_DNS_SEARCHES, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DNS_LIST},
    {BRIG_TAG_DNS_OPTIONS, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_DNS_LIST},
    {BRIG_TAG_POD_IP, BRIG_TLV_STRING, 0, BRIG_HELPER_MAX_POD_IPS, BRIG_HELPER_MAX_POD_IP},
};

static const struct brig_field_spec ctr_create_request[] = {
    {BRIG_TAG_POD_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_CTR_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_CTR_SPEC_FD, BRIG_TLV_FD, 1, 1, 4},
    {BRIG_TAG_RUNTIME_HANDLER, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_NAME},
};

static const struct brig_field_spec ctr_create_reply[] = {
    {BRIG_TAG_PID, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_UID, BRIG_TLV_U32, 0, 1, 4},
    {BRIG_TAG_GID, BRIG_TLV_U32, 0, 1, 4},
    {BRIG_TAG_GROUPS, BRIG_TLV_BYTES, 0, 1, BRIG_HELPER_MAX_GROUPS * 4},
};

static const struct brig_field_spec ctr_spec_reply[] = {
    {BRIG_TAG_SPEC_FD, BRIG_TLV_FD, 1, 1, 4},
};

static const struct brig_field_spec ctr_events_reply[] = {
    {BRIG_TAG_EVENTS, BRIG_TLV_BYTES, 0, 1, BRIG_HELPER_MAX_EVENTS *BRIG_HELPER_EVENT_SIZE},
    {BRIG_TAG_EVENTS_LOST, BRIG_TLV_U32, 0, 1, 4},
};

/* CTR_START, CTR_DELETE, CTR_STATUS, CTR_REOPEN_LOG and CTR_SPEC: just the
 * container id. */
static const struct brig_field_spec ctr_id_request[] = {
    {BRIG_TAG_CTR_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
};

static const struct brig_field_spec ctr_update_request[] = {
    {BRIG_TAG_CTR_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_CTR_SPEC_FD, BRIG_TLV_FD, 1, 1, 4},
};

static const struct brig_field_spec ctr_kill_request[] = {
    {BRIG_TAG_CTR_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_SIGNAL, BRIG_TLV_U32, 1, 1, 4},
};

static const struct brig_field_spec ctr_status_reply[] = {
    {BRIG_TAG_PID, BRIG_TLV_U32, 0, 1, 4},         {BRIG_TAG_RUNNING, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_WAIT_STATUS, BRIG_TLV_U32, 0, 1, 4}, {BRIG_TAG_EXIT_TIME, BRIG_TLV_U64, 0, 1, 8},
    {BRIG_TAG_OOM_KILLED, BRIG_TLV_U32, 0, 1, 4},  {BRIG_TAG_MONITOR, BRIG_TLV_U32, 0, 1, 4},
};

static const struct brig_field_spec ctr_exec_sync_request[] = {
    {BRIG_TAG_CTR_ID, BRIG_TLV_STRING, 1, 1, BRIG_HELPER_MAX_POD_ID},
    {BRIG_TAG_EXEC_ARGS, BRIG_TLV_BYTES, 1, 1, BRIG_HELPER_MAX_EXEC_ARGS_BYTES},
    {BRIG_TAG_TIMEOUT, BRIG_TLV_U32, 0, 1, 4},
};

static const struct brig_field_spec ctr_exec_sync_reply[] = {
    {BRIG_TAG_WAIT_STATUS, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_TIMED_OUT, BRIG_TLV_U32, 1, 1, 4},
    {BRIG_TAG_STDOUT_FD, BRIG_TLV_FD, 1, 1, 4},
    {BRIG_TAG_STDERR_FD, BRIG_TLV_FD, 1, 1, 4},
};

static const struct brig_field_spec error_reply_fields[] = {
    {BRIG_TAG_ERROR_MESSAGE, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_ERROR_MESSAGE},
};

static const struct brig_cmd_spec cmd_table[] = {
    {
        .command = BRIG_CMD_HELLO,
        .name = "HELLO",
        .request_fields = hello_request,
        .n_request_fields = ARRAY_SIZE(hello_request),
        .reply_fields = hello_reply,
        .n_reply_fields = ARRAY_SIZE(hello_reply),
    },
    {
        .command = BRIG_CMD_PING,
        .name = "PING",
        .request_fields = ping_fields,
        .n_request_fields = ARRAY_SIZE(ping_fields),
        .reply_fields = ping_fields,
        .n_reply_fields = ARRAY_SIZE(ping_fields),
    },
    {
        .command = BRIG_CMD_UNPACK,
        .name = "UNPACK",
        .request_fields = unpack_request,
        .n_request_fields = ARRAY_SIZE(unpack_request),
        .reply_fields = unpack_reply,
        .n_reply_fields = ARRAY_SIZE(unpack_reply),
        .max_request_fds = 1,
        .max_reply_fds = 1,
    },
    {
        .command = BRIG_CMD_READY,
        .name = "READY",
    },
    {
        .command = BRIG_CMD_REMOVE_LAYER,
        .name = "REMOVE_LAYER",
        .request_fields = remove_layer_request,
        .n_request_fields = ARRAY_SIZE(remove_layer_request),
    },
    {
        .command = BRIG_CMD_POD_CREATE,
        .name = "POD_CREATE",
        .request_fields = pod_create_request,
        .n_request_fields = ARRAY_SIZE(pod_create_request),
    },
    {
        .command = BRIG_CMD_POD_REMOVE,
        .name = "POD_REMOVE",
        .request_fields = pod_id_request,
        .n_request_fields = ARRAY_SIZE(pod_id_request),
    },
    {
        .command = BRIG_CMD_POD_STATUS,
        .name = "POD_STATUS",
        .request_fields = pod_id_request,
        .n_request_fields = ARRAY_SIZE(pod_id_request),
        .reply_fields = pod_status_reply,
        .n_reply_fields = ARRAY_SIZE(pod_status_reply),
    },
    {
        .command = BRIG_CMD_NET_ADD,
        .name = "NET_ADD",
        .request_fields = net_add_request,
        .n_request_fields = ARRAY_SIZE(net_add_request),
        .reply_fields = net_add_reply,
        .n_reply_fields = ARRAY_SIZE(net_add_reply),
    },
    {
        .command = BRIG_CMD_NET_DEL,
        .name = "NET_DEL",
        .request_fields = net_pod_request,
        .n_request_fields = ARRAY_SIZE(net_pod_request),
    },
    {
        .command = BRIG_CMD_NET_CHECK,
        .name = "NET_CHECK",
        .request_fields = net_pod_request,
        .n_request_fields = ARRAY_SIZE(net_pod_request),
    },
    {
        .command = BRIG_CMD_NET_STATUS,
        .name = "NET_STATUS",
        .reply_fields = net_status_reply,
        .n_reply_fields = ARRAY_SIZE(net_status_reply),
    },
    {
        .command = BRIG_CMD_POD_FILES,
        .name = "POD_FILES",
        .request_fields = pod_files_request,
        .n_request_fields = ARRAY_SIZE(pod_files_request),
    },
    {
        .command = BRIG_CMD_CTR_CREATE,
        .name = "CTR_CREATE",
        .request_fields = ctr_create_request,
        .n_request_fields = ARRAY_SIZE(ctr_create_request),
        .reply_fields = ctr_create_reply,
        .n_reply_fields = ARRAY_SIZE(ctr_create_reply),
        .max_request_fds = 1,
    },
    {
        .command = BRIG_CMD_CTR_START,
        .name = "CTR_START",
        .request_fields = ctr_id_request,
        .n_request_fields = ARRAY_SIZE(ctr_id_request),
    },
    {
        .command = BRIG_CMD_CTR_KILL,
        .name = "CTR_KILL",
        .request_fields = ctr_kill_request,
        .n_request_fields = ARRAY_SIZE(ctr_kill_request),
    },
    {
        .command = BRIG_CMD_CTR_DELETE,
        .name = "CTR_DELETE",
        .request_fields = ctr_id_request,
        .n_request_fields = ARRAY_SIZE(ctr_id_request),
    },
    {
        .command = BRIG_CMD_CTR_STATUS,
        .name = "CTR_STATUS",
        .request_fields = ctr_id_request,
        .n_request_fields = ARRAY_SIZE(ctr_id_request),
        .reply_fields = ctr_status_reply,
        .n_reply_fields = ARRAY_SIZE(ctr_status_reply),
    },
    {
        .command = BRIG_CMD_CTR_EXEC_SYNC,
        .name = "CTR_EXEC_SYNC",
        .request_fields = ctr_exec_sync_request,
        .n_request_fields = ARRAY_SIZE(ctr_exec_sync_request),
        .reply_fields = ctr_exec_sync_reply,
        .n_reply_fields = ARRAY_SIZE(ctr_exec_sync_reply),
        .max_reply_fds = 2,
    },
    {
        .command = BRIG_CMD_CTR_REOPEN_LOG,
        .name = "CTR_REOPEN_LOG",
        .request_fields = ctr_id_request,
        .n_request_fields = ARRAY_SIZE(ctr_id_request),
    },
    {
        .command = BRIG_CMD_CTR_UPDATE,
        .name = "CTR_UPDATE",
        .request_fields = ctr_update_request,
        .n_request_fields = ARRAY_SIZE(ctr_update_request),
        .max_request_fds = 1,
    },
    {
        .command = BRIG_CMD_CTR_EVENTS,
        .name = "CTR_EVENTS",
        .reply_fields = ctr_events_reply,
        .n_reply_fields = ARRAY_SIZE(ctr_events_reply),
    },
    {
        .command = BRIG_CMD_CTR_SPEC,
        .name = "CTR_SPEC",
        .request_fields = ctr_id_request,
        .n_request_fields = ARRAY_SIZE(ctr_id_request),
        .reply_fields = ctr_spec_reply,
        .n_reply_fields = ARRAY_SIZE(ctr_spec_reply),
        .max_reply_fds = 1,
    },
};

static const struct brig_cmd_spec *lookup(const struct brig_cmd_spec *table, size_t n,
                                          uint16_t command)
{
        for (size_t i = 0; i < n; i++)
                if (table[i].command == command)
                        return &table[i];
        return NULL;
}

const struct brig_cmd_spec *brig_cmd_lookup(uint16_t command)
{
        return lookup(cmd_table, ARRAY_SIZE(cmd_table), command);
}

const struct brig_cmd_spec *brig_cmd_table(size_t *ret_n)
{
        *ret_n = ARRAY_SIZE(cmd_table);
        return cmd_table;
}

const struct brig_field_spec *brig_error_reply_fields(size_t *ret_n)
{
        *ret_n = ARRAY_SIZE(error_reply_fields);
        return error_reply_fields;
}

void brig_hdr_encode(const struct brig_hdr *h, uint8_t out[static BRIG_HELPER_HDR_SIZE])
{
        tlv_le32_encode(out + BRIG_HELPER_OFF_MAGIC, h->magic);
        tlv_le16_encode(out + BRIG_HELPER_OFF_VERSION, h->version);
        tlv_le16_encode(out + BRIG_HELPER_OFF_COMMAND, h->command);
        tlv_le32_encode(out + BRIG_HELPER_OFF_REQUEST_ID, h->request_id);
        tlv_le32_encode(out + BRIG_HELPER_OFF_STATUS, (uint32_t)h->status);
        tlv_le32_encode(out + BRIG_HELPER_OFF_PAYLOAD_LEN, h->payload_len);
        tlv_le32_encode(out + BRIG_HELPER_OFF_RESERVED, h->reserved);
}

void brig_hdr_decode(const uint8_t in[static BRIG_HELPER_HDR_SIZE], struct brig_hdr *ret)
{
        uint32_t status = tlv_le32_decode(in + BRIG_HELPER_OFF_STATUS);

        *ret = (struct brig_hdr){
            .magic = tlv_le32_decode(in + BRIG_HELPER_OFF_MAGIC),
            .version = tlv_le16_decode(in + BRIG_HELPER_OFF_VERSION),
            .command = tlv_le16_decode(in + BRIG_HELPER_OFF_COMMAND),
            .request_id = tlv_le32_decode(in + BRIG_HELPER_OFF_REQUEST_ID),
            /* two's complement spelled out: converting an out-of-range
             * unsigned value to int32_t is implementation-defined */
            .status = status <= INT32_MAX ? (int32_t)status : -(int32_t)~status - 1,
            .payload_len = tlv_le32_decode(in + BRIG_HELPER_OFF_PAYLOAD_LEN),
            .reserved = tlv_le32_decode(in + BRIG_HELPER_OFF_RESERVED),
        };
}

bool brig_hdr_peek(const void *buf, size_t len, struct brig_hdr *ret)
{
        if (len < BRIG_HELPER_HDR_SIZE)
                return false;
        brig_hdr_decode(buf, ret);
        return ret->magic == BRIG_HELPER_MAGIC;
}

/* The fields one message may carry: the command's own list and, for
 * replies, the error fields every reply may add. */
struct schema {
        const struct brig_field_spec *lists[2];
        size_t lens[2];
        unsigned max_fds;
        /* "PING", "PING reply" or "PING error reply", for reasons */
        char where[48];
};

static void schema_for(const struct brig_cmd_spec *spec, enum brig_dir dir, int32_t status,
                       struct schema *ret)
{
        *ret = (struct schema){0};
        if (dir == BRIG_DIR_REQUEST) {
                ret->lists[0] = spec->request_fields;
                ret->lens[0] = spec->n_request_fields;
                ret->max_fds = spec->max_request_fds;
                snprintf(ret->where, sizeof(ret->where), "%s", spec->name);
        } else if (status == 0) {
                ret->lists[0] = spec->reply_fields;
                ret->lens[0] = spec->n_reply_fields;
                ret->lists[1] = error_reply_fields;
                ret->lens[1] = ARRAY_SIZE(error_reply_fields);
                ret->max_fds = spec->max_reply_fds;
                snprintf(ret->where, sizeof(ret->where), "%s reply", spec->name);
        } else {
                /* A failed request produced nothing but the reason. */
                ret->lists[0] = error_reply_fields;
                ret->lens[0] = ARRAY_SIZE(error_reply_fields);
                snprintf(ret->where, sizeof(ret->where), "%s error reply", spec->name);
        }
}

static const struct brig_field_spec *schema_find(const struct schema *s, uint16_t tag)
{
        for (size_t l = 0; l < ARRAY_SIZE(s->lists); l++)
                for (size_t i = 0; i < s->lens[l]; i++)
                        if (s->lists[l][i].tag == tag)
                                return &s->lists[l][i];
        return NULL;
}

/* Records the refusal in e and returns error, so checks read
 * `return fail(e, -EINVAL, ...);`. */
static int fail(struct brig_msg_error *e, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct brig_msg_error *e, int error, const char *fmt, ...)
{
        va_list ap;

        assert(error < 0);
        e->error = error;
        va_start(ap, fmt);
        vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
        va_end(ap);
        return error;
}

static int check_header(const struct brig_hdr *h, size_t len, enum brig_dir dir,
                        struct brig_msg_error *e)
{
        if (h->version != BRIG_HELPER_VERSION)
                return fail(e, -EPROTONOSUPPORT, "protocol version %u not supported, need %d",
                            h->version, BRIG_HELPER_VERSION);
        if (h->reserved != 0)
                return fail(e, -EBADMSG, "reserved header field is 0x%08" PRIx32 ", must be 0",
                            h->reserved);
        if (dir == BRIG_DIR_REQUEST) {
                if (h->command & BRIG_HELPER_REPLY_FLAG)
                        return fail(e, -EBADMSG, "request has the reply flag set");
                if (h->status != 0)
                        return fail(e, -EBADMSG, "request has nonzero status %" PRId32, h->status);
        } else {
                if (!(h->command & BRIG_HELPER_REPLY_FLAG))
                        return fail(e, -EBADMSG, "reply lacks the reply flag");
                if (h->status > 0 || h->status < -BRIG_HELPER_MAX_ERRNO)
                        return fail(e, -EBADMSG, "reply status %" PRId32 " is not 0 or -errno",
                                    h->status);
        }
        if (h->payload_len > BRIG_HELPER_MAX_PAYLOAD)
                return fail(e, -EMSGSIZE, "payload length %" PRIu32 " exceeds limit %d",
                            h->payload_len, BRIG_HELPER_MAX_PAYLOAD);
        if (h->payload_len != len - BRIG_HELPER_HDR_SIZE)
                return fail(e, -EBADMSG,
                            "payload length %" PRIu32 " does not match %zu bytes after the header",
                            h->payload_len, len - BRIG_HELPER_HDR_SIZE);
        return 0;
}

/* Checks one element against the schema; *fds_used tracks which fd indexes
 * are referenced so each is referenced at most once. */
static int check_field(const struct schema *s, const struct tlv_field *f, size_t n_fds,
                       uint32_t *fds_used, struct brig_msg_error *e)
{
        const struct brig_field_spec *spec = schema_find(s, f->tag);
        if (!spec)
                return fail(e, -EINVAL, "tag %u not allowed in %s", f->tag, s->where);
        if (f->type != spec->type)
                return fail(e, -EINVAL, "tag %u has type %u, expected %s", f->tag, f->type,
                            tlv_type_name(spec->type));

        const char *why;
        if (tlv_field_check(f, &why) < 0)
                return fail(e, -EINVAL, "tag %u: %s (length %" PRIu32 ")", f->tag, why, f->len);
        if (f->len > spec->max_len)
                return fail(e, -EMSGSIZE, "tag %u value is %" PRIu32 " bytes, limit %" PRIu32,
                            f->tag, f->len, spec->max_len);

        if (f->type == BRIG_TLV_FD) {
                uint32_t index = tlv_le32_decode(f->value);
                if (index >= n_fds)
                        return fail(e, -EINVAL,
                                    "tag %u fd index %" PRIu32 " out of range, %zu fds received",
                                    f->tag, index, n_fds);
                /* index < n_fds <= BRIG_HELPER_MAX_FDS <= 32: the shift is defined */
                if (*fds_used & (UINT32_C(1) << index))
                        return fail(e, -EINVAL, "tag %u fd index %" PRIu32 " referenced twice",
                                    f->tag, index);
                *fds_used |= UINT32_C(1) << index;
        }
        return 0;
}

static size_t count_tag(const struct tlv_fields *fs, uint16_t tag)
{
        size_t n = 0;
        for (size_t i = 0; i < fs->n; i++)
                if (fs->items[i].tag == tag)
                        n++;
        return n;
}

static int check_counts(const struct schema *s, const struct tlv_fields *fs,
                        struct brig_msg_error *e)
{
        for (size_t l = 0; l < ARRAY_SIZE(s->lists); l++)
                for (size_t i = 0; i < s->lens[l]; i++) {
                        const struct brig_field_spec *spec = &s->lists[l][i];
                        size_t n = count_tag(fs, spec->tag);
                        if (n < spec->min_count)
                                return fail(e, -EINVAL, "missing required tag %u in %s", spec->tag,
                                            s->where);
                        if (n > spec->max_count)
                                return fail(e, -EINVAL, "tag %u repeated in %s: %zu times, max %u",
                                            spec->tag, s->where, n, spec->max_count);
                }
        return 0;
}

/* Every element of a payload, each checked against s, then the counts. */
static int decode_fields(const struct schema *s, const uint8_t *payload, size_t len, size_t n_fds,
                         uint32_t *fds_used, struct tlv_fields *ret, struct brig_msg_error *e)
{
        struct tlv_reader rd;
        int r;

        ret->n = 0;
        tlv_reader_init(&rd, payload, len);
        for (;;) {
                struct tlv_field f;
                r = tlv_reader_next(&rd, &f);
                if (r == 0)
                        break;
                if (r < 0)
                        return fail(e, r, "%s at payload offset %zu", rd.error, rd.off);
                if (ret->n == BRIG_HELPER_MAX_FIELDS)
                        return fail(e, -E2BIG, "more than %d fields in %s", BRIG_HELPER_MAX_FIELDS,
                                    s->where);
                r = check_field(s, &f, n_fds, fds_used, e);
                if (r < 0)
                        return r;
                ret->items[ret->n++] = f;
        }
        return check_counts(s, ret, e);
}

int brig_fields_decode_fds(const void *payload, size_t len, size_t n_fds,
                           const struct brig_field_spec *fields, size_t n_fields, const char *where,
                           struct tlv_fields *ret, char *reason, size_t reason_size)
{
        struct schema s = {.lists = {fields}, .lens = {n_fields}};
        struct brig_msg_error e = {0};
        uint32_t fds_used = 0;
        int r;

        assert(payload || len == 0);
        snprintf(s.where, sizeof(s.where), "%s", where);
        if (n_fds > BRIG_HELPER_MAX_FDS)
                r = fail(&e, -EINVAL, "%s: %zu file descriptors, more than %d", s.where, n_fds,
                         BRIG_HELPER_MAX_FDS);
        else
                r = decode_fields(&s, payload, len, n_fds, &fds_used, ret, &e);
        if (r == 0 && (size_t)__builtin_popcount(fds_used) != n_fds)
                r = fail(&e, -EINVAL, "unreferenced file descriptor in %s: %zu received", s.where,
                         n_fds);
        if (r < 0)
                snprintf(reason, reason_size, "%s", e.reason);
        return r;
}

int brig_fields_decode(const void *payload, size_t len, const struct brig_field_spec *fields,
                       size_t n_fields, const char *where, struct tlv_fields *ret, char *reason,
                       size_t reason_size)
{
        return brig_fields_decode_fds(payload, len, 0, fields, n_fields, where, ret, reason,
                                      reason_size);
}

int brig_msg_decode_table(const struct brig_cmd_spec *table, size_t n_table, const void *buf,
                          size_t len, size_t n_fds, enum brig_dir dir, struct brig_msg *ret,
                          struct brig_msg_error *ret_error)
{
        struct brig_msg_error *e = ret_error;
        const uint8_t *p = buf;
        int r;

        assert(buf || len == 0);
        *e = (struct brig_msg_error){0};

        if (!brig_hdr_peek(buf, len, &e->hdr)) {
                if (len < BRIG_HELPER_HDR_SIZE)
                        return fail(e, -EBADMSG, "truncated header: %zu bytes, need %d", len,
                                    BRIG_HELPER_HDR_SIZE);
                return fail(e, -EBADMSG, "bad magic 0x%08" PRIx32, e->hdr.magic);
        }
        e->hdr_valid = true;
        const struct brig_hdr *h = &e->hdr;

        r = check_header(h, len, dir, e);
        if (r < 0)
                return r;

        uint16_t command = h->command & (uint16_t)~BRIG_HELPER_REPLY_FLAG;
        const struct brig_cmd_spec *spec = lookup(table, n_table, command);
        if (!spec)
                return fail(e, -EOPNOTSUPP, "unknown command %u", command);

        struct schema s;
        schema_for(spec, dir, h->status, &s);
        if (n_fds > s.max_fds) {
                if (s.max_fds == 0)
                        return fail(e, -EINVAL, "command %s takes no file descriptors, got %zu",
                                    s.where, n_fds);
                return fail(e, -EINVAL, "command %s takes at most %u file descriptors, got %zu",
                            s.where, s.max_fds, n_fds);
        }

        uint32_t fds_used = 0;

        r = decode_fields(&s, p + BRIG_HELPER_HDR_SIZE, h->payload_len, n_fds, &fds_used,
                          &ret->fields, e);
        if (r < 0)
                return r;
        /* each index is referenced at most once, so the bits count the fds used */
        size_t n_used = (size_t)__builtin_popcount(fds_used);
        if (n_used != n_fds)
                return fail(e, -EINVAL,
                            "unreferenced file descriptor: %zu received, %zu referenced", n_fds,
                            n_used);

        ret->hdr = *h;
        ret->dir = dir;
        ret->spec = spec;
        ret->n_fds = n_fds;
        return 0;
}

int brig_msg_decode(const void *buf, size_t len, size_t n_fds, enum brig_dir dir,
                    struct brig_msg *ret, struct brig_msg_error *ret_error)
{
        return brig_msg_decode_table(cmd_table, ARRAY_SIZE(cmd_table), buf, len, n_fds, dir, ret,
                                     ret_error);
}

int brig_msg_take_fd(const struct brig_msg *msg, int *fds, uint16_t tag, int *ret_fd)
{
        uint32_t index;
        int r = tlv_get_fd_index(&msg->fields, tag, &index);
        if (r < 0)
                return r;
        /* The validator guarantees this; re-checked because fds is indexed. */
        if (index >= msg->n_fds)
                return -EINVAL;
        if (fds[index] < 0)
                return -EBADF;
        *ret_fd = TAKE_FD(fds[index]);
        return 0;
}

/* Control buffer for up to BRIG_HELPER_MAX_FDS descriptors, aligned for
 * struct cmsghdr. Sized exactly, so the kernel flags more as MSG_CTRUNC. */
union fd_control {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * BRIG_HELPER_MAX_FDS)];
};

/* One sendmsg() of iov with fds as SCM_RIGHTS (n_fds <= BRIG_HELPER_MAX_FDS),
 * EINTR retried. Returns the bytes sent or a negative errno. */
static ssize_t send_with_fds(int sock, struct iovec *iov, size_t n_iov, const int *fds,
                             size_t n_fds, int flags)
{
        union fd_control control;
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n_iov};
        ssize_t n;

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
        do
                n = sendmsg(sock, &mh, flags);
        while (n < 0 && errno == EINTR);
        return n < 0 ? negative_errno() : n;
}

int brig_msg_send(int sock, uint16_t command, uint32_t request_id, int32_t status,
                  const void *payload, size_t len, const int *fds, size_t n_fds)
{
        uint8_t hdr[BRIG_HELPER_HDR_SIZE];
        ssize_t n;

        assert(payload || len == 0);
        assert(fds || n_fds == 0);
        if (len > BRIG_HELPER_MAX_PAYLOAD)
                return -EMSGSIZE;
        if (n_fds > BRIG_HELPER_MAX_FDS)
                return -EINVAL;

        brig_hdr_encode(
            &(struct brig_hdr){
                .magic = BRIG_HELPER_MAGIC,
                .version = BRIG_HELPER_VERSION,
                .command = command,
                .request_id = request_id,
                .status = status,
                .payload_len = (uint32_t)len,
            },
            hdr);

        struct iovec iov[2] = {
            {.iov_base = hdr, .iov_len = sizeof(hdr)},
            {.iov_base = (void *)payload, .iov_len = len},
        };
        n = send_with_fds(sock, iov, len > 0 ? 2 : 1, fds, n_fds, MSG_NOSIGNAL);
        if (n < 0)
                return (int)n;
        /* A SOCK_SEQPACKET send is all or nothing; anything else is not the
         * socket type this protocol runs on. */
        if ((size_t)n != sizeof(hdr) + len)
                return -EIO;
        return 0;
}

int brig_payload_send(int sock, const void *payload, size_t len, const int *fds, size_t n_fds)
{
        struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
        ssize_t n;

        assert(payload || len == 0);
        assert(fds || n_fds == 0);
        if (len > BRIG_HELPER_MAX_PAYLOAD)
                return -EMSGSIZE;
        if (n_fds > BRIG_HELPER_MAX_FDS)
                return -EINVAL;
        n = send_with_fds(sock, &iov, 1, fds, n_fds, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
                return (int)n;
        return (size_t)n == len ? 0 : -EIO;
}

int brig_msg_send_error(int sock, uint16_t command, uint32_t request_id, int32_t status,
                        const char *message)
{
        char text[BRIG_HELPER_MAX_ERROR_MESSAGE];
        uint8_t payload[BRIG_TLV_HDR_SIZE + BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct tlv_writer w;
        size_t len;

        assert(status < 0 && status >= -BRIG_HELPER_MAX_ERRNO);
        assert(message);

        /* Cut, never refuse: the peer should learn at least the start of why. */
        size_t n = strnlen(message, sizeof(text) - 1);
        memcpy(text, message, n);
        text[n] = '\0';

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_string(&w, BRIG_TAG_ERROR_MESSAGE, text);
        int r = tlv_writer_finish(&w, &len);
        if (r < 0)
                return r;
        return brig_msg_send(sock, command | BRIG_HELPER_REPLY_FLAG, request_id, status, payload,
                             len, NULL, 0);
}

void brig_close_fds(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

/* recvmsg() returns 0 both for an empty datagram and after the peer closed
 * or shut down; only the latter leaves the socket hung up. */
static int peer_closed(int sock)
{
        struct pollfd p = {.fd = sock, .events = POLLRDHUP};
        int r;

        do
                r = poll(&p, 1, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return negative_errno();
        return (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

/* Copies the fds of every SCM_RIGHTS message into got[] (at most max) and
 * says whether any other kind of control message came along. */
static size_t collect_fds(struct msghdr *mh, int *got, size_t max, bool *ret_foreign)
{
        size_t n = 0;

        *ret_foreign = false;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                size_t room = mh->msg_controllen - (size_t)((char *)c - (char *)mh->msg_control);
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
                    c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > room) {
                        *ret_foreign = true;
                        continue;
                }
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k && n < max; i++)
                        memcpy(&got[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        return n;
}

/* Decides what one recvmsg() result is: 1 a message to hand over, 0 the
 * peer closed, or the refusal. */
static int classify(int sock, const struct msghdr *mh, ssize_t n, size_t n_got, bool foreign)
{
        if (mh->msg_flags & MSG_CTRUNC)
                return -EXFULL;
        if (foreign)
                return -EBADMSG;
        if (n_got > BRIG_HELPER_MAX_FDS)
                return -EXFULL;
        if (mh->msg_flags & MSG_TRUNC)
                return -EMSGSIZE;
        if (n > 0)
                return 1;
        if (n_got > 0)
                return -EBADMSG;
        int r = peer_closed(sock);
        if (r < 0)
                return r;
        return r ? 0 : -EBADMSG;
}

ssize_t brig_msg_recv(int sock, void *buf, size_t size, struct brig_recv *ret)
{
        union fd_control control;
        /* Room for every int the control buffer can hold, so no fd the
         * kernel installed can be missed (and so left open). */
        int got[sizeof(control.buf) / sizeof(int)];
        bool foreign;
        ssize_t n;
        int r;

        assert(buf && size >= BRIG_HELPER_HDR_SIZE);
        *ret = (struct brig_recv){0};
        for (size_t i = 0; i < ARRAY_SIZE(ret->fds); i++)
                ret->fds[i] = -1;

        struct iovec iov = {.iov_base = buf, .iov_len = size};
        struct msghdr mh = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof(control.buf),
        };
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        ret->len = (size_t)n;

        size_t n_got = collect_fds(&mh, got, ARRAY_SIZE(got), &foreign);
        r = classify(sock, &mh, n, n_got, foreign);
        if (r <= 0) {
                brig_close_fds(got, n_got);
                return r;
        }
        memcpy(ret->fds, got, n_got * sizeof(int));
        ret->n_fds = n_got;
        return n;
}
