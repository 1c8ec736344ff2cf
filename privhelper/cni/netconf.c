/* netconf.c: owns brig-cni's reading and writing of CNI JSON: network
 * configuration files and cache blobs, plugin stdin, results and error
 * objects, and the scrubbing of every string a message takes from them.
 * No I/O happens here (see netconf.h). */
#include "netconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

#define CACHE_KIND    "brig-cni-cache"
#define CACHE_VERSION 1

/* How much of a string from a file or a plugin goes into a message: enough
 * to recognise it, too little to crowd out the rest. */
#define QUOTE_SHORT 64
#define QUOTE_MSG   200
#define QUOTE_LONG  120

/* ---- messages ---------------------------------------------------------- */

/* Code points that move the cursor, break lines or reorder text: a message
 * carrying one could pass for another line or hide its tail. */
static bool forbidden_cp(uint32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
               (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

char *netconf_scrub(char *dst, size_t dst_size, const void *src, size_t len, size_t max)
{
        const unsigned char *s = src;
        size_t limit = dst_size - 4 < max ? dst_size - 4 : max;
        size_t in = 0, out = 0;
        bool cut = false;

        while (in < len && s[in] != '\0') {
                uint32_t cp = 0;
                size_t n = utf8_decode(s + in, len - in, &cp);
                size_t need = n == 0 || forbidden_cp(cp) ? 1 : n;

                if (out + need > limit) {
                        cut = true;
                        break;
                }
                if (need == 1 && (n != 1 || forbidden_cp(cp))) {
                        dst[out++] = '?';
                        in += n ? n : 1;
                        continue;
                }
                memcpy(dst + out, s + in, n);
                out += n;
                in += n;
        }
        if (cut) {
                memcpy(dst + out, "...", 3);
                out += 3;
        }
        dst[out] = '\0';
        return dst;
}

/* Drops a UTF-8 sequence that a size-bounded snprintf cut in two. */
static void trim_cut_utf8(char *s)
{
        size_t len = strlen(s), lead = len;
        uint32_t cp;

        for (size_t back = 0; back < 4 && lead > 0; back++) {
                lead--;
                if (((unsigned char)s[lead] & 0xc0) != 0x80)
                        break;
        }
        if (lead < len && (unsigned char)s[lead] >= 0x80 &&
            utf8_decode((const unsigned char *)s + lead, len - lead, &cp) != len - lead)
                s[lead] = '\0';
}

static int failv(char *msg, size_t msg_size, int r, const char *fmt, va_list ap)
{
        size_t size =
            msg_size < BRIG_HELPER_MAX_ERROR_MESSAGE ? msg_size : BRIG_HELPER_MAX_ERROR_MESSAGE;

        if (size == 0)
                return r;
        vsnprintf(msg, size, fmt, ap);
        trim_cut_utf8(msg);
        return r;
}

__attribute__((format(printf, 4, 5))) static int fail(char *msg, size_t msg_size, int r,
                                                      const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        failv(msg, msg_size, r, fmt, ap);
        va_end(ap);
        return r;
}

/* A JSON string value quoted for a message. */
#define QUOTED(buf, s, max) netconf_scrub(buf, sizeof(buf), s, strlen(s), max)

static const char *command_name(enum cni_command command)
{
        switch (command) {
        case CNI_CMD_ADD:
                return "ADD";
        case CNI_CMD_DEL:
                return "DEL";
        case CNI_CMD_CHECK:
                return "CHECK";
        }
        return "?";
}

/* ---- names ------------------------------------------------------------- */

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool netconf_valid_container_id(const char *s)
{
        size_t n = 0;

        for (; s[n]; n++)
                if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                        return false;
        return n == 64;
}

bool netconf_valid_ifname(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~' || s[i] == '/' || s[i] == ':')
                        return false;
        return true;
}

/* A plugin type is an executable's name the runner looks up in its plugin
 * directories: never a path, never "." or "..". */
static bool valid_plugin_type(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > CNI_PLUGIN_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

/* The spec's rule for a network name; plugins build state paths from it
 * (host-local: /var/lib/cni/networks/<name>). */
static bool valid_network_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NETCONF_NETWORK_MAX || !is_alnum(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n > m && strcmp(s + n - m, suffix) == 0;
}

/* 1: a list, 0: a single plugin configuration, -EINVAL: neither. */
static int conf_name_kind(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NETCONF_NAME_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
                        return -EINVAL;
        if (ends_with(s, ".conflist"))
                return 1;
        if (ends_with(s, ".conf") || ends_with(s, ".json"))
                return 0;
        return -EINVAL;
}

static int parse_version(const char *s, unsigned *ret)
{
        static const struct {
                const char *text;
                unsigned num;
        } known[] = {
            {"1.0.0", NETCONF_V1_0_0},
            {"0.4.0", NETCONF_V0_4_0},
            {"0.3.1", NETCONF_V0_3_1},
            {"0.3.0", NETCONF_V0_3_0},
        };

        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
                if (strcmp(s, known[i].text) == 0) {
                        *ret = known[i].num;
                        return 0;
                }
        return -EINVAL;
}

/* ---- configuration ----------------------------------------------------- */

/* Checks one plugin configuration object; where is "plugins[i]: " or "". */
static int check_plugin(const char *file, const char *where, json_t *p, const char **ret_type,
                        char *msg, size_t msg_size)
{
        char q[QUOTE_SHORT + 4];
        json_t *type = json_object_get(p, "type");
        json_t *caps = json_object_get(p, "capabilities");
        const char *key;
        json_t *v;

        if (!type)
                return fail(msg, msg_size, -EINVAL, "%s: %s\"type\" is missing", file, where);
        if (!json_is_string(type))
                return fail(msg, msg_size, -EINVAL, "%s: %s\"type\" is not a string", file, where);
        if (!valid_plugin_type(json_string_value(type)))
                return fail(msg, msg_size, -EINVAL,
                            "%s: %s\"type\" \"%s\" is not a plugin name "
                            "([A-Za-z0-9._-], 1-%d bytes, not . or ..)",
                            file, where, QUOTED(q, json_string_value(type), QUOTE_SHORT),
                            CNI_PLUGIN_NAME_MAX);
        if (caps && !json_is_object(caps))
                return fail(msg, msg_size, -EINVAL, "%s: %s\"capabilities\" is not an object", file,
                            where);
        json_object_foreach(caps, key, v)
        {
                if (!json_is_boolean(v))
                        return fail(msg, msg_size, -EINVAL,
                                    "%s: %s\"capabilities\": \"%s\" is not true or false", file,
                                    where, QUOTED(q, key, QUOTE_SHORT));
        }
        *ret_type = json_string_value(type);
        return 0;
}

/* A string member that must be there. */
static int get_string(const char *file, json_t *o, const char *key, const char **ret, char *msg,
                      size_t msg_size)
{
        json_t *v = json_object_get(o, key);

        if (!v)
                return fail(msg, msg_size, -EINVAL, "%s: \"%s\" is missing", file, key);
        if (!json_is_string(v))
                return fail(msg, msg_size, -EINVAL, "%s: \"%s\" is not a string", file, key);
        *ret = json_string_value(v);
        return 0;
}

static int check_list(struct netconf *c, char *msg, size_t msg_size)
{
        json_t *plugins = json_object_get(c->root, "plugins");
        json_t *disable = json_object_get(c->root, "disableCheck");
        char where[32];
        size_t n;

        if (disable && !json_is_boolean(disable))
                return fail(msg, msg_size, -EINVAL, "%s: \"disableCheck\" is not true or false",
                            c->file);
        c->disable_check = json_is_true(disable);
        if (!plugins)
                return fail(msg, msg_size, -EINVAL, "%s: \"plugins\" is missing", c->file);
        if (!json_is_array(plugins))
                return fail(msg, msg_size, -EINVAL, "%s: \"plugins\" is not an array", c->file);
        n = json_array_size(plugins);
        if (n == 0)
                return fail(msg, msg_size, -EINVAL, "%s: \"plugins\" is empty", c->file);
        if (n > CNI_MAX_PLUGINS)
                return fail(msg, msg_size, -E2BIG,
                            "%s: \"plugins\" has %zu entries, more than the %d brig-cni runs",
                            c->file, n, CNI_MAX_PLUGINS);
        for (size_t i = 0; i < n; i++) {
                json_t *p = json_array_get(plugins, i);
                int r;

                snprintf(where, sizeof(where), "plugins[%zu]: ", i);
                if (!json_is_object(p))
                        return fail(msg, msg_size, -EINVAL, "%s: plugins[%zu] is not an object",
                                    c->file, i);
                r = check_plugin(c->file, where, p, &c->types[i], msg, msg_size);
                if (r < 0)
                        return r;
                c->plugins[i] = p;
        }
        c->n_plugins = n;
        return 0;
}

int netconf_from_json(const char *conf_name, json_t *root, struct netconf *ret, char *msg,
                      size_t msg_size)
{
        struct netconf c = {0};
        char q[QUOTE_SHORT + 4];
        int kind = conf_name_kind(conf_name);
        int r;

        if (kind < 0)
                return fail(msg, msg_size, -EINVAL,
                            "CNI configuration file name \"%s\" does not end in .conflist, "
                            ".conf or .json",
                            QUOTED(q, conf_name, QUOTE_SHORT));
        snprintf(c.file, sizeof(c.file), "%s", conf_name);
        c.is_list = kind == 1;
        if (!json_is_object(root))
                return fail(msg, msg_size, -EINVAL, "%s: not a JSON object", c.file);
        c.root = json_incref(root);

        r = get_string(c.file, root, "cniVersion", &c.version, msg, msg_size);
        if (r == 0 && parse_version(c.version, &c.version_num) < 0)
                r = fail(msg, msg_size, -EPROTONOSUPPORT,
                         "%s: \"cniVersion\" \"%s\" is not supported "
                         "(brig-cni speaks 1.0.0, 0.4.0, 0.3.1 and 0.3.0)",
                         c.file, QUOTED(q, c.version, QUOTE_SHORT));
        if (r == 0)
                r = get_string(c.file, root, "name", &c.name, msg, msg_size);
        if (r == 0 && !valid_network_name(c.name))
                r = fail(msg, msg_size, -EINVAL,
                         "%s: \"name\" \"%s\" is not a network name (a letter or digit, then "
                         "letters, digits, '_', '.' or '-'; at most %d bytes)",
                         c.file, QUOTED(q, c.name, QUOTE_SHORT), NETCONF_NETWORK_MAX);
        if (r == 0 && c.is_list)
                r = check_list(&c, msg, msg_size);
        if (r == 0 && !c.is_list) {
                r = check_plugin(c.file, "", root, &c.types[0], msg, msg_size);
                c.plugins[0] = root;
                c.n_plugins = 1;
        }
        if (r < 0) {
                netconf_release(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int netconf_parse(const char *conf_name, const void *data, size_t len, struct netconf *ret,
                  char *msg, size_t msg_size)
{
        char q[QUOTE_SHORT + 4], text[QUOTE_LONG + 4];
        _cleanup_json_ json_t *root = NULL;
        json_error_t e;

        if (conf_name_kind(conf_name) < 0)
                return fail(msg, msg_size, -EINVAL,
                            "CNI configuration file name \"%s\" does not end in .conflist, "
                            ".conf or .json",
                            QUOTED(q, conf_name, QUOTE_SHORT));
        root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
        if (!root)
                return fail(msg, msg_size, -EINVAL, "%s: not valid JSON: %s (line %d, column %d)",
                            conf_name, QUOTED(text, e.text, QUOTE_LONG), e.line, e.column);
        return netconf_from_json(conf_name, root, ret, msg, msg_size);
}

void netconf_release(struct netconf *c)
{
        json_decref(c->root);
        *c = (struct netconf){0};
}

size_t netconf_plugin_at(const struct netconf *c, enum cni_command command, size_t step)
{
        return command == CNI_CMD_DEL ? c->n_plugins - 1 - step : step;
}

bool netconf_check_skipped(const struct netconf *c)
{
        return c->version_num < NETCONF_V0_4_0 || c->disable_check;
}

bool netconf_del_has_prev_result(const struct netconf *c)
{
        return c->version_num >= NETCONF_V0_4_0;
}

/* ---- capability arguments ---------------------------------------------- */

static int set_new(json_t *o, const char *key, json_t *v)
{
        return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static int append_new(json_t *a, json_t *v)
{
        return v && json_array_append_new(a, v) == 0 ? 0 : -ENOMEM;
}

static const char *protocol_name(uint32_t protocol)
{
        switch (protocol) {
        case 6:
                return "tcp";
        case 17:
                return "udp";
        case 132:
                return "sctp";
        }
        return NULL;
}

/* The host address as portmap wants it: IPv4-mapped ones as IPv4. NULL
 * for "any" (all zero, or the mapped 0.0.0.0), which portmap spells by
 * leaving hostIP out. */
static const char *host_ip_text(const uint8_t ip[16], char *buf, size_t size)
{
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t zero[16] = {0};

        if (memcmp(ip, zero, 16) == 0)
                return NULL;
        if (memcmp(ip, mapped, 12) == 0) {
                if (memcmp(ip + 12, zero, 4) == 0)
                        return NULL;
                return inet_ntop(AF_INET, ip + 12, buf, (socklen_t)size);
        }
        return inet_ntop(AF_INET6, ip, buf, (socklen_t)size);
}

static int port_mappings(const struct cni_caps *caps, json_t **ret, char *msg, size_t msg_size)
{
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < caps->n_ports; i++) {
                const struct cni_port *p = &caps->ports[i];
                const char *proto = protocol_name(p->protocol);
                char ipbuf[INET6_ADDRSTRLEN];
                const char *ip = host_ip_text(p->host_ip, ipbuf, sizeof(ipbuf));
                json_t *m;
                int r;

                if (!proto || p->host_port == 0 || p->container_port == 0)
                        return fail(msg, msg_size, -EINVAL,
                                    "port mapping %zu: protocol %u, host port %u, container "
                                    "port %u is not a valid mapping",
                                    i, p->protocol, p->host_port, p->container_port);
                m = json_object();
                r = append_new(a, m);
                if (r == 0)
                        r = set_new(m, "hostPort", json_integer(p->host_port));
                if (r == 0)
                        r = set_new(m, "containerPort", json_integer(p->container_port));
                if (r == 0)
                        r = set_new(m, "protocol", json_string(proto));
                if (r == 0 && ip)
                        r = set_new(m, "hostIP", json_string(ip));
                if (r < 0)
                        return fail(msg, msg_size, r, "out of memory building port mappings");
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int bandwidth(const struct cni_caps *caps, json_t **ret, char *msg, size_t msg_size)
{
        _cleanup_json_ json_t *b = json_object();
        int r = b ? 0 : -ENOMEM;

        if ((caps->has_ingress_rate &&
             (caps->ingress_rate == 0 || caps->ingress_rate > INT64_MAX)) ||
            (caps->has_egress_rate && (caps->egress_rate == 0 || caps->egress_rate > INT64_MAX)))
                return fail(msg, msg_size, -EINVAL, "a bandwidth rate is out of range");
        if (r == 0 && caps->has_ingress_rate) {
                r = set_new(b, "ingressRate", json_integer((json_int_t)caps->ingress_rate));
                if (r == 0)
                        r = set_new(b, "ingressBurst", json_integer(NETCONF_BANDWIDTH_BURST));
        }
        if (r == 0 && caps->has_egress_rate) {
                r = set_new(b, "egressRate", json_integer((json_int_t)caps->egress_rate));
                if (r == 0)
                        r = set_new(b, "egressBurst", json_integer(NETCONF_BANDWIDTH_BURST));
        }
        if (r < 0)
                return fail(msg, msg_size, r, "out of memory building bandwidth limits");
        *ret = TAKE_PTR(b);
        return 0;
}

/* Splits a space-separated list into a JSON array of its non-empty words,
 * each printable ASCII. */
static int word_list(const char *what, const char *s, json_t **ret, char *msg, size_t msg_size)
{
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return -ENOMEM;
        while (s && *s) {
                size_t n = strcspn(s, " ");

                for (size_t i = 0; i < n; i++)
                        if (s[i] < '!' || s[i] > '~')
                                return fail(msg, msg_size, -EINVAL,
                                            "dns %s: byte 0x%02x is not printable ASCII", what,
                                            (unsigned char)s[i]);
                if (n > 0 && append_new(a, json_stringn(s, n)) < 0)
                        return fail(msg, msg_size, -ENOMEM, "out of memory building dns %s", what);
                s += n;
                s += strspn(s, " ");
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int dns(const struct cni_caps *caps, json_t **ret, char *msg, size_t msg_size)
{
        const struct {
                const char *key;
                const char *value;
        } lists[] = {
            {"servers", caps->dns_servers},
            {"searches", caps->dns_searches},
            {"options", caps->dns_options},
        };
        _cleanup_json_ json_t *d = json_object();

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
                json_t *a = NULL;
                int r = word_list(lists[i].key, lists[i].value, &a, msg, msg_size);

                if (r < 0)
                        return r;
                if (json_array_size(a) == 0) {
                        json_decref(a);
                        continue;
                }
                if (set_new(d, lists[i].key, a) < 0)
                        return fail(msg, msg_size, -ENOMEM, "out of memory building dns");
        }
        *ret = TAKE_PTR(d);
        return 0;
}

int netconf_capargs(const struct cni_caps *caps, json_t **ret, char *msg, size_t msg_size)
{
        _cleanup_json_ json_t *o = json_object();
        json_t *v = NULL;
        int r;

        if (!o)
                return fail(msg, msg_size, -ENOMEM, "out of memory");
        if (caps->n_ports > CNI_MAX_PORTS)
                return fail(msg, msg_size, -E2BIG, "%zu port mappings, more than %d", caps->n_ports,
                            CNI_MAX_PORTS);
        if (caps->n_ports > 0) {
                r = port_mappings(caps, &v, msg, msg_size);
                if (r == 0)
                        r = set_new(o, "portMappings", v);
                if (r < 0)
                        return r;
        }
        if (caps->has_ingress_rate || caps->has_egress_rate) {
                r = bandwidth(caps, &v, msg, msg_size);
                if (r == 0)
                        r = set_new(o, "bandwidth", v);
                if (r < 0)
                        return r;
        }
        r = dns(caps, &v, msg, msg_size);
        if (r < 0)
                return r;
        if (json_object_size(v) > 0)
                r = set_new(o, "dns", v);
        else
                json_decref(v);
        if (r < 0)
                return fail(msg, msg_size, r, "out of memory");
        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- plugin runs ------------------------------------------------------- */

void netconf_plugin_label(const struct netconf *c, size_t index, enum cni_command command,
                          char *buf, size_t size)
{
        char type[CNI_PLUGIN_NAME_MAX + 4], name[NETCONF_NETWORK_MAX + 4];

        snprintf(buf, size, "CNI plugin %s (%s) for network %s",
                 QUOTED(type, c->types[index], CNI_PLUGIN_NAME_MAX), command_name(command),
                 QUOTED(name, c->name, NETCONF_NETWORK_MAX));
}

/* The plugin's execution configuration (spec 1.0.0 section 3, "Deriving
 * execution configuration"), without serialising it. */
static json_t *execution_config(const struct netconf *c, size_t index, json_t *capargs,
                                json_t *prev_result)
{
        static const char *const owned[] = {"cniVersion", "name", "capabilities", "runtimeConfig",
                                            "prevResult"};
        json_t *p = c->plugins[index];
        json_t *caps = json_object_get(p, "capabilities");
        _cleanup_json_ json_t *o = json_object();
        _cleanup_json_ json_t *rc = json_object();
        const char *key;
        json_t *v;

        if (!o || !rc || set_new(o, "cniVersion", json_string(c->version)) < 0 ||
            set_new(o, "name", json_string(c->name)) < 0)
                return NULL;
        json_object_foreach(p, key, v)
        {
                bool skip = false;

                for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
                        skip = skip || strcmp(key, owned[i]) == 0;
                if (!skip && json_object_set(o, key, v) < 0)
                        return NULL;
        }
        json_object_foreach(caps, key, v)
        {
                json_t *arg = json_object_get(capargs, key);

                if (json_is_true(v) && arg && json_object_set(rc, key, arg) < 0)
                        return NULL;
        }
        if (json_object_size(rc) > 0 && json_object_set(o, "runtimeConfig", rc) < 0)
                return NULL;
        if (prev_result && json_object_set(o, "prevResult", prev_result) < 0)
                return NULL;
        return TAKE_PTR(o);
}

int netconf_plugin_stdin(const struct netconf *c, size_t index, json_t *capargs,
                         json_t *prev_result, size_t max_len, char **ret, size_t *ret_len,
                         char *msg, size_t msg_size)
{
        _cleanup_json_ json_t *o = NULL;
        _cleanup_free_ char *s = NULL;
        size_t len;

        o = execution_config(c, index, capargs, prev_result);
        if (o)
                s = json_dumps(o, JSON_COMPACT);
        if (!s)
                return fail(msg, msg_size, -ENOMEM, "out of memory building the stdin of %s",
                            c->types[index]);
        len = strlen(s);
        if (len > max_len)
                return fail(msg, msg_size, -EMSGSIZE,
                            "%s: the configuration of plugin %s with its prevResult is %zu bytes, "
                            "more than the %zu a plugin's stdin may carry",
                            c->file, c->types[index], len, max_len);
        *ret_len = len;
        *ret = TAKE_PTR(s);
        return 0;
}

int netconf_parse_result(const struct netconf *c, size_t index, const void *out, size_t len,
                         json_t **ret, char *msg, size_t msg_size)
{
        char label[256], text[QUOTE_LONG + 4];
        json_error_t e;
        json_t *root;

        netconf_plugin_label(c, index, CNI_CMD_ADD, label, sizeof(label));
        if (len == 0)
                return fail(msg, msg_size, -EBADMSG, "%s: succeeded but printed no result", label);
        root = json_loadb(out, len, JSON_REJECT_DUPLICATES, &e);
        if (!root)
                return fail(msg, msg_size, -EBADMSG,
                            "%s: its result is not valid JSON: %s (line %d, column %d)", label,
                            QUOTED(text, e.text, QUOTE_LONG), e.line, e.column);
        if (!json_is_object(root)) {
                json_decref(root);
                return fail(msg, msg_size, -EBADMSG, "%s: its result is not a JSON object", label);
        }
        *ret = root;
        return 0;
}

/* The spec's well-known error codes (1.0.0 section "Error"). */
static const char *well_known_error(json_int_t code)
{
        switch (code) {
        case 1:
                return "incompatible CNI version";
        case 2:
                return "unsupported field in network configuration";
        case 3:
                return "container unknown or does not exist";
        case 4:
                return "invalid necessary environment variables";
        case 5:
                return "I/O failure";
        case 6:
                return "failed to decode content";
        case 7:
                return "invalid network config";
        case 11:
                return "try again later";
        }
        return "error";
}

/* The plugin's own account from its error object, or false when it gave
 * none that parses. */
static bool error_object(const char *label, const void *out, size_t len, char *msg, size_t msg_size)
{
        char m[QUOTE_MSG + 4], d[QUOTE_LONG + 4], code_text[40] = "";
        _cleanup_json_ json_t *root = NULL;
        json_t *jmsg, *jdetails, *jcode;

        if (len == 0)
                return false;
        root = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(root))
                return false;
        jmsg = json_object_get(root, "msg");
        jdetails = json_object_get(root, "details");
        jcode = json_object_get(root, "code");
        if (json_is_integer(jcode))
                snprintf(code_text, sizeof(code_text), " (code %" JSON_INTEGER_FORMAT ")",
                         json_integer_value(jcode));
        if (json_is_string(jmsg) && json_string_length(jmsg) > 0)
                QUOTED(m, json_string_value(jmsg), QUOTE_MSG);
        else if (json_is_integer(jcode))
                snprintf(m, sizeof(m), "%s", well_known_error(json_integer_value(jcode)));
        else
                return false;
        if (json_is_string(jdetails) && json_string_length(jdetails) > 0)
                fail(msg, msg_size, 0, "%s: %s: %s%s", label, m,
                     QUOTED(d, json_string_value(jdetails), QUOTE_LONG), code_text);
        else
                fail(msg, msg_size, 0, "%s: %s%s", label, m, code_text);
        return true;
}

void netconf_plugin_failure(const struct netconf *c, size_t index, enum cni_command command,
                            uint32_t exit, const void *out, size_t len, char *msg, size_t msg_size)
{
        char label[256], text[QUOTE_MSG + 4];

        netconf_plugin_label(c, index, command, label, sizeof(label));
        if (exit == CNI_EXIT_NOT_FOUND || exit == CNI_EXIT_NOT_RUN)
                fail(msg, msg_size, 0, "%s: %s", label,
                     len > 0 ? netconf_scrub(text, sizeof(text), out, len, QUOTE_MSG)
                     : exit == CNI_EXIT_NOT_FOUND ? "plugin not found"
                                                  : "the runner could not run it");
        else if (exit == CNI_EXIT_TIMEOUT)
                fail(msg, msg_size, 0, "%s: timed out", label);
        else if (exit > CNI_EXIT_SIGNAL && exit < CNI_EXIT_SIGNAL + 256)
                fail(msg, msg_size, 0, "%s: killed by signal %u", label, exit - CNI_EXIT_SIGNAL);
        else if (exit >= 1 && exit <= 255) {
                if (!error_object(label, out, len, msg, msg_size))
                        fail(msg, msg_size, 0, "%s: exited with status %u", label, exit);
        } else
                fail(msg, msg_size, 0, "%s: ended with unknown status 0x%x", label, exit);
}

/* ---- result addresses -------------------------------------------------- */

/* "address/prefix" checked and written canonically into out. */
static int cidr(const char *s, char out[NETCONF_IP_MAX])
{
        char addr[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        unsigned char bin[16];
        unsigned prefix = 0, max;
        size_t alen, plen;
        int af;

        if (!slash)
                return -EINVAL;
        alen = (size_t)(slash - s);
        plen = strlen(slash + 1);
        if (alen == 0 || alen >= sizeof(addr) || plen == 0 || plen > 3 ||
            (plen > 1 && slash[1] == '0'))
                return -EINVAL;
        for (size_t i = 1; i <= plen; i++) {
                if (slash[i] < '0' || slash[i] > '9')
                        return -EINVAL;
                prefix = prefix * 10 + (unsigned)(slash[i] - '0');
        }
        memcpy(addr, s, alen);
        addr[alen] = '\0';
        af = strchr(addr, ':') ? AF_INET6 : AF_INET;
        max = af == AF_INET6 ? 128 : 32;
        if (prefix > max || inet_pton(af, addr, bin) != 1 ||
            !inet_ntop(af, bin, canon, sizeof(canon)))
                return -EINVAL;
        snprintf(out, NETCONF_IP_MAX, "%s/%u", canon, prefix);
        return 0;
}

int netconf_result_ips(const struct netconf *c, const json_t *result, char ips[][NETCONF_IP_MAX],
                       size_t *ret_n, char *msg, size_t msg_size)
{
        char name[NETCONF_NETWORK_MAX + 4], q[QUOTE_SHORT + 4];
        json_t *a = json_object_get(result, "ips");
        size_t n;

        QUOTED(name, c->name, NETCONF_NETWORK_MAX);
        if (!a) {
                *ret_n = 0;
                return 0;
        }
        if (!json_is_array(a))
                return fail(msg, msg_size, -EBADMSG,
                            "CNI result for network %s: \"ips\" is not an array", name);
        n = json_array_size(a);
        if (n > CNI_MAX_IPS)
                return fail(msg, msg_size, -E2BIG,
                            "CNI result for network %s: %zu addresses, more than the %d brig "
                            "takes",
                            name, n, CNI_MAX_IPS);
        for (size_t i = 0; i < n; i++) {
                json_t *address = json_object_get(json_array_get(a, i), "address");

                if (!json_is_string(address))
                        return fail(msg, msg_size, -EBADMSG,
                                    "CNI result for network %s: ips[%zu]: \"address\" is missing "
                                    "or not a string",
                                    name, i);
                if (cidr(json_string_value(address), ips[i]) < 0)
                        return fail(msg, msg_size, -EBADMSG,
                                    "CNI result for network %s: ips[%zu]: \"%s\" is not an IP "
                                    "address with a prefix length",
                                    name, i, QUOTED(q, json_string_value(address), QUOTE_SHORT));
        }
        *ret_n = n;
        return 0;
}

/* ---- the cache blob ---------------------------------------------------- */

int netcache_blob(const struct netconf *c, const char *container_id, const char *ifname,
                  json_t *capargs, json_t *result, size_t max_len, char **ret, size_t *ret_len,
                  char *msg, size_t msg_size)
{
        _cleanup_json_ json_t *o = json_object();
        _cleanup_free_ char *s = NULL;
        size_t len;
        int r = o ? 0 : -ENOMEM;

        if (r == 0)
                r = set_new(o, "kind", json_string(CACHE_KIND));
        if (r == 0)
                r = set_new(o, "version", json_integer(CACHE_VERSION));
        if (r == 0)
                r = set_new(o, "containerId", json_string(container_id));
        if (r == 0)
                r = set_new(o, "ifName", json_string(ifname));
        if (r == 0)
                r = set_new(o, "confName", json_string(c->file));
        if (r == 0)
                r = json_object_set(o, "config", c->root) == 0 ? 0 : -ENOMEM;
        if (r == 0)
                r = json_object_set(o, "capabilityArgs", capargs) == 0 ? 0 : -ENOMEM;
        if (r == 0 && result)
                r = json_object_set(o, "result", result) == 0 ? 0 : -ENOMEM;
        if (r == 0)
                s = json_dumps(o, JSON_COMPACT);
        if (!s)
                return fail(msg, msg_size, -ENOMEM, "out of memory building the cache blob");
        len = strlen(s);
        if (len > max_len)
                return fail(msg, msg_size, -EMSGSIZE,
                            "%s: the cached state of network %s is %zu bytes, more than the %zu "
                            "a cache blob may hold",
                            c->file, c->name, len, max_len);
        *ret_len = len;
        *ret = TAKE_PTR(s);
        return 0;
}

/* The capability arguments as netconf_capargs() writes them: the known
 * keys, each of its JSON type. */
static int check_capargs(json_t *o, char *msg, size_t msg_size)
{
        char q[QUOTE_SHORT + 4];
        const char *key;
        json_t *v;

        if (!json_is_object(o))
                return fail(msg, msg_size, -EINVAL, "cache: \"capabilityArgs\" is not an object");
        json_object_foreach(o, key, v)
        {
                bool ok = (strcmp(key, "portMappings") == 0 && json_is_array(v)) ||
                          (strcmp(key, "bandwidth") == 0 && json_is_object(v)) ||
                          (strcmp(key, "dns") == 0 && json_is_object(v));

                if (!ok)
                        return fail(msg, msg_size, -EINVAL,
                                    "cache: \"capabilityArgs\": \"%s\" is unknown or of the "
                                    "wrong type",
                                    QUOTED(q, key, QUOTE_SHORT));
        }
        return 0;
}

static int cache_string(json_t *root, const char *key, const char **ret, char *msg, size_t msg_size)
{
        json_t *v = json_object_get(root, key);

        if (!json_is_string(v))
                return fail(msg, msg_size, -EINVAL, "cache: \"%s\" is missing or not a string",
                            key);
        *ret = json_string_value(v);
        return 0;
}

static int check_cache_keys(json_t *root, char *msg, size_t msg_size)
{
        static const char *const keys[] = {"kind",     "version", "containerId", "ifName",
                                           "confName", "config",  "result",      "capabilityArgs"};
        char q[QUOTE_SHORT + 4];
        const char *key;
        json_t *v;

        json_object_foreach(root, key, v)
        {
                bool known = false;

                for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                        known = known || strcmp(key, keys[i]) == 0;
                if (!known)
                        return fail(msg, msg_size, -EINVAL, "cache: unknown key \"%s\"",
                                    QUOTED(q, key, QUOTE_SHORT));
        }
        return 0;
}

int netcache_parse(const void *blob, size_t len, struct netcache *ret, char *msg, size_t msg_size)
{
        char text[QUOTE_LONG + 4], inner[BRIG_HELPER_MAX_ERROR_MESSAGE];
        _cleanup_json_ json_t *root = NULL;
        struct netcache c = {0};
        const char *kind = NULL, *id = NULL, *ifname = NULL, *conf_name = NULL;
        json_t *version, *result;
        json_error_t e;
        int r;

        root = json_loadb(blob, len, JSON_REJECT_DUPLICATES, &e);
        if (!root)
                return fail(msg, msg_size, -EINVAL,
                            "cache: not valid JSON: %s (line %d, column %d)",
                            QUOTED(text, e.text, QUOTE_LONG), e.line, e.column);
        if (!json_is_object(root))
                return fail(msg, msg_size, -EINVAL, "cache: not a JSON object");
        r = check_cache_keys(root, msg, msg_size);
        if (r == 0)
                r = cache_string(root, "kind", &kind, msg, msg_size);
        if (r == 0 && strcmp(kind, CACHE_KIND) != 0)
                r = fail(msg, msg_size, -EINVAL, "cache: \"kind\" is not \"" CACHE_KIND "\"");
        version = json_object_get(root, "version");
        if (r == 0 && (!json_is_integer(version) || json_integer_value(version) != CACHE_VERSION))
                r = fail(msg, msg_size, -EPROTONOSUPPORT, "cache: \"version\" is not %d",
                         CACHE_VERSION);
        if (r == 0)
                r = cache_string(root, "containerId", &id, msg, msg_size);
        if (r == 0 && !netconf_valid_container_id(id))
                r = fail(msg, msg_size, -EINVAL, "cache: \"containerId\" is not a pod id");
        if (r == 0)
                r = cache_string(root, "ifName", &ifname, msg, msg_size);
        if (r == 0 && !netconf_valid_ifname(ifname))
                r = fail(msg, msg_size, -EINVAL, "cache: \"ifName\" is not an interface name");
        if (r == 0)
                r = cache_string(root, "confName", &conf_name, msg, msg_size);
        if (r == 0)
                r = check_capargs(json_object_get(root, "capabilityArgs"), msg, msg_size);
        result = json_object_get(root, "result");
        if (r == 0 && result && !json_is_object(result))
                r = fail(msg, msg_size, -EINVAL, "cache: \"result\" is not an object");
        if (r < 0)
                return r;
        r = netconf_from_json(conf_name, json_object_get(root, "config"), &c.conf, inner,
                              sizeof(inner));
        if (r < 0)
                return fail(msg, msg_size, r, "cache: %s", inner);
        snprintf(c.container_id, sizeof(c.container_id), "%s", id);
        snprintf(c.ifname, sizeof(c.ifname), "%s", ifname);
        c.capargs = json_incref(json_object_get(root, "capabilityArgs"));
        c.result = json_incref(result);
        *ret = c;
        return 0;
}

void netcache_release(struct netcache *c)
{
        netconf_release(&c->conf);
        json_decref(c->capargs);
        json_decref(c->result);
        *c = (struct netcache){0};
}
