/* wire.c: owns the TLV schema of the runner channel as brig-cni sees it:
 * which tags each received kind may carry and what their values may be,
 * and the layout of each kind brig-cni sends (see wire.h, channel.h). */
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tlv.h"
#include "util.h"

/* One tag a received kind may carry, at most once. */
struct tag_spec {
        uint16_t tag;
        uint16_t type;
        uint32_t max_len;
        const char *name;
};

static const struct tag_spec request_tags[] = {
    {CNI_TAG_COMMAND, BRIG_TLV_U32, 4, "COMMAND"},
    {CNI_TAG_CONTAINER_ID, BRIG_TLV_STRING, BRIG_HELPER_MAX_POD_ID, "CONTAINER_ID"},
    {CNI_TAG_IFNAME, BRIG_TLV_STRING, 16, "IFNAME"},
    {CNI_TAG_CONF_NAME, BRIG_TLV_STRING, NETCONF_NAME_MAX + 1, "CONF_NAME"},
    {CNI_TAG_CONF, BRIG_TLV_BYTES, BRIG_HELPER_MAX_PAYLOAD, "CONF"},
    {CNI_TAG_CACHE, BRIG_TLV_BYTES, BRIG_HELPER_MAX_PAYLOAD, "CACHE"},
    {CNI_TAG_PORTS, BRIG_TLV_BYTES, CNI_MAX_PORTS *CNI_PORT_RECORD_SIZE, "PORTS"},
    {CNI_TAG_INGRESS_RATE, BRIG_TLV_U64, 8, "INGRESS_RATE"},
    {CNI_TAG_EGRESS_RATE, BRIG_TLV_U64, 8, "EGRESS_RATE"},
    {CNI_TAG_DNS_SERVERS, BRIG_TLV_STRING, WIRE_MAX_DNS, "DNS_SERVERS"},
    {CNI_TAG_DNS_SEARCHES, BRIG_TLV_STRING, WIRE_MAX_DNS, "DNS_SEARCHES"},
    {CNI_TAG_DNS_OPTIONS, BRIG_TLV_STRING, WIRE_MAX_DNS, "DNS_OPTIONS"},
};

static const struct tag_spec result_tags[] = {
    {CNI_TAG_EXIT, BRIG_TLV_U32, 4, "EXIT"},
    {CNI_TAG_STDOUT, BRIG_TLV_BYTES, WIRE_MAX_STDOUT, "STDOUT"},
};

__attribute__((format(printf, 4, 5))) static int refuse(char *err, size_t err_size, int r,
                                                        const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return r;
}

int wire_peek_kind(const void *buf, size_t len, uint32_t *ret)
{
        struct tlv_reader r;
        struct tlv_field f;

        tlv_reader_init(&r, buf, len);
        if (tlv_reader_next(&r, &f) != 1 || f.tag != CNI_TAG_KIND || f.type != BRIG_TLV_U32 ||
            f.len != 4)
                return -EBADMSG;
        *ret = tlv_le32_decode(f.value);
        return 0;
}

/* Reads every element of a datagram of the given kind into fs, checking the
 * element rules of wire.h's contract. */
static int decode(const void *buf, size_t len, uint32_t kind, const char *kind_name,
                  const struct tag_spec *specs, size_t n_specs, struct tlv_fields *fs, char *err,
                  size_t err_size)
{
        bool seen[16] = {false};
        struct tlv_reader rd;
        struct tlv_field f;
        int r;

        if (n_specs > ARRAY_SIZE(seen))
                return refuse(err, err_size, -EINVAL, "internal: schema too large");
        fs->n = 0;
        tlv_reader_init(&rd, buf, len);
        while ((r = tlv_reader_next(&rd, &f)) == 1) {
                const char *reason = NULL;
                size_t i;

                if (fs->n == BRIG_HELPER_MAX_FIELDS)
                        return refuse(err, err_size, -E2BIG, "%s: more than %d elements", kind_name,
                                      BRIG_HELPER_MAX_FIELDS);
                if (tlv_field_check(&f, &reason) < 0)
                        return refuse(err, err_size, -EINVAL, "%s: element %zu (tag %u): %s",
                                      kind_name, fs->n, f.tag, reason ? reason : "bad value");
                if (fs->n == 0) {
                        if (f.tag != CNI_TAG_KIND || f.type != BRIG_TLV_U32 ||
                            tlv_le32_decode(f.value) != kind)
                                return refuse(err, err_size, -EBADMSG,
                                              "expected a %s (KIND %u first)", kind_name, kind);
                        fs->items[fs->n++] = f;
                        continue;
                }
                for (i = 0; i < n_specs && specs[i].tag != f.tag; i++)
                        ;
                if (i == n_specs)
                        return refuse(err, err_size, -EINVAL, "%s: tag %u is not allowed",
                                      kind_name, f.tag);
                if (f.type != specs[i].type)
                        return refuse(err, err_size, -EINVAL, "%s: %s is %s, not %s", kind_name,
                                      specs[i].name, tlv_type_name(f.type),
                                      tlv_type_name(specs[i].type));
                if (seen[i])
                        return refuse(err, err_size, -EINVAL, "%s: %s appears twice", kind_name,
                                      specs[i].name);
                if (f.len > specs[i].max_len)
                        return refuse(err, err_size, -EMSGSIZE, "%s: %s is %u bytes, more than %u",
                                      kind_name, specs[i].name, f.len, specs[i].max_len);
                seen[i] = true;
                fs->items[fs->n++] = f;
        }
        if (r < 0)
                return refuse(err, err_size, -EBADMSG, "%s: element %zu is cut short", kind_name,
                              fs->n);
        if (fs->n == 0)
                return refuse(err, err_size, -EBADMSG, "empty datagram");
        return 0;
}

/* Only what a resolver's word list holds; a NUL cannot occur in a STRING. */
static bool printable_words(const char *s)
{
        for (; *s; s++)
                if (*s < ' ' || *s > '~')
                        return false;
        return true;
}

static int decode_ports(const struct tlv_fields *fs, struct cni_caps *caps, char *err,
                        size_t err_size)
{
        const uint8_t *p;
        const void *v;
        size_t len;

        if (tlv_get_bytes(fs, CNI_TAG_PORTS, &v, &len) < 0)
                return 0;
        if (len % CNI_PORT_RECORD_SIZE != 0)
                return refuse(err, err_size, -EINVAL,
                              "REQUEST: PORTS is %zu bytes, not a multiple of %d", len,
                              CNI_PORT_RECORD_SIZE);
        p = v;
        caps->n_ports = len / CNI_PORT_RECORD_SIZE;
        for (size_t i = 0; i < caps->n_ports; i++, p += CNI_PORT_RECORD_SIZE) {
                struct cni_port *port = &caps->ports[i];

                port->protocol = tlv_le32_decode(p);
                port->host_port = tlv_le16_decode(p + 4);
                port->container_port = tlv_le16_decode(p + 6);
                memcpy(port->host_ip, p + 8, 16);
                if ((port->protocol != 6 && port->protocol != 17 && port->protocol != 132) ||
                    port->host_port == 0 || port->container_port == 0)
                        return refuse(err, err_size, -EINVAL,
                                      "REQUEST: port record %zu: protocol %u, host port %u, "
                                      "container port %u",
                                      i, port->protocol, port->host_port, port->container_port);
        }
        return 0;
}

static int decode_rate(const struct tlv_fields *fs, uint16_t tag, const char *name, bool *ret_has,
                       uint64_t *ret, char *err, size_t err_size)
{
        uint64_t v;

        if (tlv_get_u64(fs, tag, &v) < 0)
                return 0;
        if (v == 0 || v > INT64_MAX)
                return refuse(err, err_size, -EINVAL, "REQUEST: %s is out of range", name);
        *ret_has = true;
        *ret = v;
        return 0;
}

static int decode_caps(const struct tlv_fields *fs, struct cni_caps *caps, char *err,
                       size_t err_size)
{
        const struct {
                uint16_t tag;
                const char *name;
                const char **dst;
        } lists[] = {
            {CNI_TAG_DNS_SERVERS, "DNS_SERVERS", &caps->dns_servers},
            {CNI_TAG_DNS_SEARCHES, "DNS_SEARCHES", &caps->dns_searches},
            {CNI_TAG_DNS_OPTIONS, "DNS_OPTIONS", &caps->dns_options},
        };
        int r = decode_ports(fs, caps, err, err_size);

        if (r == 0)
                r = decode_rate(fs, CNI_TAG_INGRESS_RATE, "INGRESS_RATE", &caps->has_ingress_rate,
                                &caps->ingress_rate, err, err_size);
        if (r == 0)
                r = decode_rate(fs, CNI_TAG_EGRESS_RATE, "EGRESS_RATE", &caps->has_egress_rate,
                                &caps->egress_rate, err, err_size);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(lists); i++) {
                const char *s;

                if (tlv_get_string(fs, lists[i].tag, &s) < 0)
                        continue;
                if (!printable_words(s))
                        return refuse(err, err_size, -EINVAL,
                                      "REQUEST: %s holds a byte that is not printable ASCII",
                                      lists[i].name);
                *lists[i].dst = s;
        }
        return r;
}

int wire_decode_request(const void *buf, size_t len, struct cni_request *ret, char *err,
                        size_t err_size)
{
        struct tlv_fields fs;
        struct cni_request q;
        uint32_t command;
        const void *v;
        int r;

        r = decode(buf, len, CNI_KIND_REQUEST, "REQUEST", request_tags, ARRAY_SIZE(request_tags),
                   &fs, err, err_size);
        if (r < 0)
                return r;
        memset(&q, 0, sizeof(q));
        if (tlv_get_u32(&fs, CNI_TAG_COMMAND, &command) < 0)
                return refuse(err, err_size, -EINVAL, "REQUEST: COMMAND is missing");
        if (command != CNI_CMD_ADD && command != CNI_CMD_DEL && command != CNI_CMD_CHECK)
                return refuse(err, err_size, -EINVAL, "REQUEST: unknown COMMAND %u", command);
        q.command = (enum cni_command)command;
        if (tlv_get_string(&fs, CNI_TAG_CONTAINER_ID, &q.container_id) < 0 ||
            !netconf_valid_container_id(q.container_id))
                return refuse(err, err_size, -EINVAL,
                              "REQUEST: CONTAINER_ID is missing or not 64 lowercase hex");
        if (tlv_get_string(&fs, CNI_TAG_IFNAME, &q.ifname) < 0 || !netconf_valid_ifname(q.ifname))
                return refuse(err, err_size, -EINVAL,
                              "REQUEST: IFNAME is missing or not an interface name");
        if (tlv_get_string(&fs, CNI_TAG_CONF_NAME, &q.conf_name) < 0)
                q.conf_name = NULL;
        if (q.command == CNI_CMD_ADD) {
                if (!q.conf_name || tlv_get_bytes(&fs, CNI_TAG_CONF, &v, &q.conf_len) < 0)
                        return refuse(err, err_size, -EINVAL,
                                      "REQUEST: ADD needs CONF_NAME and CONF");
                q.conf = v;
                if (tlv_get_bytes(&fs, CNI_TAG_CACHE, &v, &q.cache_len) == 0)
                        return refuse(err, err_size, -EINVAL, "REQUEST: ADD takes no CACHE");
                r = decode_caps(&fs, &q.caps, err, err_size);
                if (r < 0)
                        return r;
        } else if (tlv_get_bytes(&fs, CNI_TAG_CACHE, &v, &q.cache_len) == 0) {
                q.has_cache = true;
                q.cache = v;
        } else {
                q.cache_len = 0;
        }
        *ret = q;
        return 0;
}

int wire_decode_result(const void *buf, size_t len, struct cni_plugin_result *ret, char *err,
                       size_t err_size)
{
        struct tlv_fields fs;
        uint32_t e;
        const void *v;
        int r;

        r = decode(buf, len, CNI_KIND_RESULT, "RESULT", result_tags, ARRAY_SIZE(result_tags), &fs,
                   err, err_size);
        if (r < 0)
                return r;
        if (tlv_get_u32(&fs, CNI_TAG_EXIT, &e) < 0)
                return refuse(err, err_size, -EINVAL, "RESULT: EXIT is missing");
        if (!(e <= 255 || (e > CNI_EXIT_SIGNAL && e < CNI_EXIT_SIGNAL + 256) ||
              e == CNI_EXIT_TIMEOUT || e == CNI_EXIT_NOT_FOUND || e == CNI_EXIT_NOT_RUN))
                return refuse(err, err_size, -EINVAL, "RESULT: EXIT 0x%x is not a known status", e);
        ret->exit = e;
        if (tlv_get_bytes(&fs, CNI_TAG_STDOUT, &v, &ret->out_len) == 0) {
                ret->out = v;
        } else {
                ret->out = NULL;
                ret->out_len = 0;
        }
        return 0;
}

int wire_encode_cache(void *buf, size_t cap, const void *blob, size_t blob_len, size_t *ret_len)
{
        struct tlv_writer w;

        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, CNI_TAG_KIND, CNI_KIND_CACHE);
        tlv_put_bytes(&w, CNI_TAG_CACHE, blob, blob_len);
        return tlv_writer_finish(&w, ret_len);
}

int wire_encode_exec(void *buf, size_t cap, enum cni_command command, const char *plugin,
                     const void *stdin_json, size_t stdin_len, size_t *ret_len)
{
        struct tlv_writer w;

        if (strlen(plugin) > CNI_PLUGIN_NAME_MAX)
                return -EINVAL;
        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, CNI_TAG_KIND, CNI_KIND_EXEC);
        tlv_put_u32(&w, CNI_TAG_COMMAND, command);
        tlv_put_string(&w, CNI_TAG_PLUGIN, plugin);
        tlv_put_bytes(&w, CNI_TAG_STDIN, stdin_json, stdin_len);
        return tlv_writer_finish(&w, ret_len);
}

int wire_encode_done(void *buf, size_t cap, const char (*ips)[NETCONF_IP_MAX], size_t n_ips,
                     size_t *ret_len)
{
        struct tlv_writer w;

        if (n_ips > CNI_MAX_IPS)
                return -E2BIG;
        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, CNI_TAG_KIND, CNI_KIND_DONE);
        for (size_t i = 0; i < n_ips; i++)
                tlv_put_string(&w, CNI_TAG_IP, ips[i]);
        return tlv_writer_finish(&w, ret_len);
}

int wire_encode_fail(void *buf, size_t cap, const char *message, size_t *ret_len)
{
        char cut[BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct tlv_writer w;

        netconf_scrub(cut, sizeof(cut), message, strlen(message), sizeof(cut) - 4);
        tlv_writer_init(&w, buf, cap);
        tlv_put_u32(&w, CNI_TAG_KIND, CNI_KIND_FAIL);
        tlv_put_string(&w, CNI_TAG_MESSAGE, cut);
        return tlv_writer_finish(&w, ret_len);
}
