/* test_netconf.c: unit tests for brig-cni's CNI logic (privhelper/cni/
 * netconf.h) and its datagram schema (wire.h): configuration files and
 * every refusal with its exact message, each plugin's stdin, plugin order,
 * CHECK and DEL rules per version, result addresses, plugin errors turned
 * into messages, the scrubbing of what plugins and files say, and the
 * cache blob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privhelper/cni/netconf.h"
#include "privhelper/cni/wire.h"
#include "proto/helper.h"
#include "tlv.h"

#define POD    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MSGMAX BRIG_HELPER_MAX_ERROR_MESSAGE

/* The network of the integration tests and of docs/brig-cni.md. */
static const char conflist[] =
    "{\"cniVersion\":\"1.0.0\",\"name\":\"brig\",\"plugins\":["
    "{\"type\":\"bridge\",\"bridge\":\"brig0\",\"isGateway\":true,\"ipMasq\":true,"
    "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.88.0.0/16\"}]],"
    "\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}},"
    "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true,\"bandwidth\":false},"
    "\"runtimeConfig\":{\"stale\":1},\"prevResult\":{\"stale\":2},\"name\":\"other\"},"
    "{\"type\":\"bandwidth\",\"capabilities\":{\"bandwidth\":true,\"dns\":true}}]}";

static void parse_ok(const char *name, const char *text, struct netconf *c)
{
        char msg[MSGMAX] = "";
        int r = netconf_parse(name, text, strlen(text), c, msg, sizeof(msg));

        if (r != 0)
                fail_msg("%s refused (%d): %s", name, r, msg);
}

static void refused(const char *name, const char *text, int err, const char *want)
{
        char msg[MSGMAX] = "";
        struct netconf c;
        int r = netconf_parse(name, text, strlen(text), &c, msg, sizeof(msg));

        if (r == 0) {
                netconf_release(&c);
                fail_msg("%s accepted: %s", name, text);
        }
        assert_int_equal(r, err);
        if (strcmp(msg, want) != 0)
                fail_msg("message for %s\n  got:  %s\n  want: %s", text, msg, want);
}

/* Like refused(), for messages with a variable tail (jansson's text). */
static void refused_prefix(const char *name, const char *text, const char *want)
{
        char msg[MSGMAX] = "";
        struct netconf c;
        int r = netconf_parse(name, text, strlen(text), &c, msg, sizeof(msg));

        assert_int_equal(r, -EINVAL);
        if (strncmp(msg, want, strlen(want)) != 0)
                fail_msg("message for %s\n  got:  %s\n  want: %s...", text, msg, want);
}

/* ---- configuration files ----------------------------------------------- */

static void test_conflist(void **state)
{
        struct netconf c;

        (void)state;
        parse_ok("10-brig.conflist", conflist, &c);
        assert_true(c.is_list);
        assert_string_equal(c.file, "10-brig.conflist");
        assert_string_equal(c.name, "brig");
        assert_string_equal(c.version, "1.0.0");
        assert_int_equal(c.version_num, NETCONF_V1_0_0);
        assert_false(c.disable_check);
        assert_int_equal(c.n_plugins, 3);
        assert_string_equal(c.types[0], "bridge");
        assert_string_equal(c.types[1], "portmap");
        assert_string_equal(c.types[2], "bandwidth");
        netconf_release(&c);
        netconf_release(&c); /* twice is harmless */

        parse_ok("99-x.conflist",
                 "{\"cniVersion\":\"0.4.0\",\"name\":\"n_1.x-y\",\"disableCheck\":true,"
                 "\"plugins\":[{\"type\":\"a.b_c-D9\"}]}",
                 &c);
        assert_true(c.disable_check);
        assert_int_equal(c.version_num, NETCONF_V0_4_0);
        netconf_release(&c);
        parse_ok("x.conflist",
                 "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"disableCheck\":false,"
                 "\"plugins\":[{\"type\":\"a\",\"capabilities\":{}}]}",
                 &c);
        assert_false(c.disable_check);
        assert_int_equal(c.version_num, NETCONF_V0_3_1);
        netconf_release(&c);
        parse_ok("x.conflist",
                 "{\"cniVersion\":\"0.3.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}", &c);
        assert_int_equal(c.version_num, NETCONF_V0_3_0);
        netconf_release(&c);
}

static void test_single_conf(void **state)
{
        static const char text[] =
            "{\"cniVersion\":\"0.4.0\",\"name\":\"brig\",\"type\":\"bridge\","
            "\"disableCheck\":true,\"ipam\":{\"type\":\"host-local\"}}";
        struct netconf c;

        (void)state;
        parse_ok("10-brig.conf", text, &c);
        assert_false(c.is_list);
        assert_int_equal(c.n_plugins, 1);
        assert_string_equal(c.types[0], "bridge");
        /* disableCheck belongs to lists only */
        assert_false(c.disable_check);
        netconf_release(&c);
        parse_ok("10-brig.json", text, &c);
        assert_false(c.is_list);
        netconf_release(&c);
        /* A file name says what the content is: a list named .conf is a
         * plugin without a type. */
        refused("10-brig.conf", conflist, -EINVAL, "10-brig.conf: \"type\" is missing");
}

static void test_conf_refusals(void **state)
{
        char text[4096];
        size_t n;

        (void)state;
        refused("10-brig.yaml", "{}", -EINVAL,
                "CNI configuration file name \"10-brig.yaml\" does not end in .conflist, .conf or "
                ".json");
        refused("a/b.conflist", "{}", -EINVAL,
                "CNI configuration file name \"a/b.conflist\" does not end in .conflist, .conf or "
                ".json");
        refused(".conflist", "{}", -EINVAL,
                "CNI configuration file name \".conflist\" does not end in .conflist, .conf or "
                ".json");
        refused("x\n.conf", "{}", -EINVAL,
                "CNI configuration file name \"x?.conf\" does not end in .conflist, .conf or "
                ".json");
        refused_prefix("l.conflist", "{", "l.conflist: not valid JSON: ");
        refused_prefix("l.conflist", "", "l.conflist: not valid JSON: ");
        refused_prefix("l.conflist", "{} {}", "l.conflist: not valid JSON: ");
        refused_prefix("l.conflist", "{\"name\":\"a\",\"name\":\"b\"}",
                       "l.conflist: not valid JSON: duplicate object key");
        refused("l.conflist", "[]", -EINVAL, "l.conflist: not a JSON object");
        refused_prefix("l.conflist", "\"x\"", "l.conflist: not valid JSON: '[' or '{' expected");

        refused("l.conflist", "{\"name\":\"n\",\"plugins\":[]}", -EINVAL,
                "l.conflist: \"cniVersion\" is missing");
        refused("l.conflist", "{\"cniVersion\":1.0,\"name\":\"n\"}", -EINVAL,
                "l.conflist: \"cniVersion\" is not a string");
        refused("l.conflist", "{\"cniVersion\":\"0.2.0\",\"name\":\"n\"}", -EPROTONOSUPPORT,
                "l.conflist: \"cniVersion\" \"0.2.0\" is not supported (brig-cni speaks 1.0.0, "
                "0.4.0, 0.3.1 and 0.3.0)");
        refused("l.conflist", "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}", -EPROTONOSUPPORT,
                "l.conflist: \"cniVersion\" \"1.1.0\" is not supported (brig-cni speaks 1.0.0, "
                "0.4.0, 0.3.1 and 0.3.0)");
        refused("l.conflist", "{\"cniVersion\":\"1.0\",\"name\":\"n\"}", -EPROTONOSUPPORT,
                "l.conflist: \"cniVersion\" \"1.0\" is not supported (brig-cni speaks 1.0.0, "
                "0.4.0, 0.3.1 and 0.3.0)");

        refused("l.conflist", "{\"cniVersion\":\"1.0.0\"}", -EINVAL,
                "l.conflist: \"name\" is missing");
        refused("l.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":7}", -EINVAL,
                "l.conflist: \"name\" is not a string");
        static const char *const bad_names[] = {"", "../x", "-a", "a b", "a/b", "_a"};
        for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
                char want[512];

                snprintf(text, sizeof(text), "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\"}",
                         bad_names[i]);
                snprintf(want, sizeof(want),
                         "l.conflist: \"name\" \"%s\" is not a network name (a letter or digit, "
                         "then letters, digits, '_', '.' or '-'; at most 128 bytes)",
                         bad_names[i]);
                refused("l.conflist", text, -EINVAL, want);
        }

#define LIST(rest) "{\"cniVersion\":\"1.0.0\",\"name\":\"brig\"" rest "}"
        refused("l.conflist", LIST(""), -EINVAL, "l.conflist: \"plugins\" is missing");
        refused("l.conflist", LIST(",\"plugins\":{}"), -EINVAL,
                "l.conflist: \"plugins\" is not an array");
        refused("l.conflist", LIST(",\"plugins\":[]"), -EINVAL, "l.conflist: \"plugins\" is empty");
        n = (size_t)snprintf(text, sizeof(text),
                             "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"plugins\":[");
        for (int i = 0; i < CNI_MAX_PLUGINS + 1; i++)
                n += (size_t)snprintf(text + n, sizeof(text) - n, "%s{\"type\":\"p\"}",
                                      i ? "," : "");
        snprintf(text + n, sizeof(text) - n, "]}");
        refused("l.conflist", text, -E2BIG,
                "l.conflist: \"plugins\" has 17 entries, more than the 16 brig-cni runs");
        refused("l.conflist", LIST(",\"plugins\":[{\"type\":\"a\"},3]"), -EINVAL,
                "l.conflist: plugins[1] is not an object");
        refused("10-brig.conflist", LIST(",\"plugins\":[{\"type\":\"bridge\"},{\"x\":1}]"), -EINVAL,
                "10-brig.conflist: plugins[1]: \"type\" is missing");
        refused("l.conflist", LIST(",\"plugins\":[{\"type\":[]}]"), -EINVAL,
                "l.conflist: plugins[0]: \"type\" is not a string");
        static const char *const bad_types[] = {"",    "../bridge", "..",        ".",
                                                "a/b", "a b",       "a\\u0000b", "caf\\u00e9"};
        for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
                char msg[MSGMAX];
                struct netconf c;

                snprintf(
                    text, sizeof(text),
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"plugins\":[{\"type\":\"%s\"}]}",
                    bad_types[i]);
                assert_int_equal(
                    netconf_parse("l.conflist", text, strlen(text), &c, msg, sizeof(msg)), -EINVAL);
                if (!strstr(msg, "is not a plugin name") && !strstr(msg, "not valid JSON"))
                        fail_msg("type %s: %s", bad_types[i], msg);
        }
        snprintf(text, sizeof(text),
                 "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"plugins\":[{\"type\":\"%065d\"}]}", 0);
        refused_prefix("l.conflist", text, "l.conflist: plugins[0]: \"type\" \"");
        refused("l.conflist", LIST(",\"plugins\":[{\"type\":\"a\",\"capabilities\":[]}]"), -EINVAL,
                "l.conflist: plugins[0]: \"capabilities\" is not an object");
        refused("l.conflist",
                LIST(",\"plugins\":[{\"type\":\"a\",\"capabilities\":{\"portMappings\":1}}]"),
                -EINVAL,
                "l.conflist: plugins[0]: \"capabilities\": \"portMappings\" is not true or false");
        refused("l.conflist", LIST(",\"disableCheck\":\"true\",\"plugins\":[{\"type\":\"a\"}]"),
                -EINVAL, "l.conflist: \"disableCheck\" is not true or false");
        refused("10-brig.conf", "{\"cniVersion\":\"0.4.0\",\"name\":\"brig\"}", -EINVAL,
                "10-brig.conf: \"type\" is missing");
#undef LIST
}

/* ---- stdin ------------------------------------------------------------- */

static json_t *stdin_of(const struct netconf *c, size_t index, json_t *capargs, json_t *prev)
{
        char msg[MSGMAX] = "";
        char *s = NULL;
        size_t len = 0;
        json_error_t e;
        json_t *o;

        if (netconf_plugin_stdin(c, index, capargs, prev, WIRE_MAX_STDIN, &s, &len, msg,
                                 sizeof(msg)) != 0)
                fail_msg("stdin of plugin %zu: %s", index, msg);
        assert_int_equal(strlen(s), len);
        o = json_loads(s, JSON_REJECT_DUPLICATES, &e);
        free(s);
        assert_non_null(o);
        return o;
}

static json_t *capargs_of(const struct cni_caps *caps)
{
        char msg[MSGMAX] = "";
        json_t *o = NULL;

        if (netconf_capargs(caps, &o, msg, sizeof(msg)) != 0)
                fail_msg("capargs: %s", msg);
        return o;
}

static void assert_json(json_t *o, const char *want)
{
        json_t *w = json_loads(want, 0, NULL);
        char *got = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

        assert_non_null(w);
        if (!json_equal(o, w))
                fail_msg("JSON differs\n  got:  %s\n  want: %s", got, want);
        free(got);
        json_decref(w);
}

static struct cni_caps *caps_new(void)
{
        struct cni_caps *caps = calloc(1, sizeof(*caps));

        assert_non_null(caps);
        return caps;
}

static void test_stdin_injection(void **state)
{
        struct cni_caps *caps = caps_new();
        json_t *capargs, *prev, *o;
        struct netconf c;

        (void)state;
        parse_ok("10-brig.conflist", conflist, &c);
        caps->n_ports = 1;
        caps->ports[0] = (struct cni_port){.protocol = 6, .host_port = 8080, .container_port = 80};
        caps->has_ingress_rate = true;
        caps->ingress_rate = 1000000;
        capargs = capargs_of(caps);
        prev = json_loads("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.88.0.5/16\"}]}", 0,
                          NULL);

        /* bridge: no capabilities, first plugin: no runtimeConfig, no prevResult */
        o = stdin_of(&c, 0, capargs, NULL);
        assert_json(
            o, "{\"cniVersion\":\"1.0.0\",\"name\":\"brig\",\"type\":\"bridge\","
               "\"bridge\":\"brig0\",\"isGateway\":true,\"ipMasq\":true,"
               "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.88.0.0/16\"}]],"
               "\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}}");
        /* the runtime's keys come first */
        assert_string_equal(json_object_iter_key(json_object_iter(o)), "cniVersion");
        json_decref(o);

        /* portmap: portMappings only (bandwidth is declared false), the
         * file's runtimeConfig, prevResult and name replaced, capabilities
         * removed */
        o = stdin_of(&c, 1, capargs, prev);
        assert_json(o, "{\"cniVersion\":\"1.0.0\",\"name\":\"brig\",\"type\":\"portmap\","
                       "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080,"
                       "\"containerPort\":80,\"protocol\":\"tcp\"}]},"
                       "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
                       "\"10.88.0.5/16\"}]}}");
        json_decref(o);

        /* without a prevResult the file's stale one is dropped too */
        o = stdin_of(&c, 1, capargs, NULL);
        assert_null(json_object_get(o, "prevResult"));
        json_decref(o);

        /* bandwidth: bandwidth yes, dns declared but no data: not sent */
        o = stdin_of(&c, 2, capargs, prev);
        assert_json(json_object_get(o, "runtimeConfig"),
                    "{\"bandwidth\":{\"ingressRate\":1000000,\"ingressBurst\":2147483647}}");
        assert_null(json_object_get(o, "capabilities"));
        json_decref(o);

        /* no capability data at all: no runtimeConfig anywhere */
        json_decref(capargs);
        memset(caps, 0, sizeof(*caps));
        capargs = capargs_of(caps);
        assert_json(capargs, "{}");
        for (size_t i = 0; i < c.n_plugins; i++) {
                o = stdin_of(&c, i, capargs, prev);
                assert_null(json_object_get(o, "runtimeConfig"));
                assert_null(json_object_get(o, "capabilities"));
                json_decref(o);
        }

        /* A single .conf keeps its own name and version. */
        netconf_release(&c);
        parse_ok("x.conf",
                 "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"bridge\",\"x\":[1,2.5,null]}",
                 &c);
        o = stdin_of(&c, 0, capargs, NULL);
        assert_json(o, "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"bridge\","
                       "\"x\":[1,2.5,null]}");
        json_decref(o);

        json_decref(capargs);
        json_decref(prev);
        netconf_release(&c);
        free(caps);
}

static void test_capargs(void **state)
{
        struct cni_caps *caps = caps_new();
        char msg[MSGMAX];
        json_t *o;

        (void)state;
        caps->n_ports = 5;
        caps->ports[0] = (struct cni_port){.protocol = 6, .host_port = 80, .container_port = 8080};
        /* IPv4-mapped: printed as IPv4 */
        caps->ports[1] = (struct cni_port){
            .protocol = 17,
            .host_port = 53,
            .container_port = 53,
            .host_ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 10}};
        /* IPv6 */
        caps->ports[2] =
            (struct cni_port){.protocol = 132,
                              .host_port = 9,
                              .container_port = 9,
                              .host_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
        /* mapped 0.0.0.0 is "any" too */
        caps->ports[3] = (struct cni_port){.protocol = 6,
                                           .host_port = 1,
                                           .container_port = 65535,
                                           .host_ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}};
        /* ::1 stays IPv6 */
        caps->ports[4] = (struct cni_port){
            .protocol = 6, .host_port = 65535, .container_port = 1, .host_ip = {[15] = 1}};
        caps->has_egress_rate = true;
        caps->egress_rate = 5000;
        caps->dns_servers = " 10.96.0.10  fd00::10 ";
        caps->dns_searches = "ns.svc.cluster.local svc.cluster.local";
        caps->dns_options = "   ";
        o = capargs_of(caps);
        assert_json(
            o, "{\"portMappings\":["
               "{\"hostPort\":80,\"containerPort\":8080,\"protocol\":\"tcp\"},"
               "{\"hostPort\":53,\"containerPort\":53,\"protocol\":\"udp\",\"hostIP\":\"192.168.1."
               "10\"},"
               "{\"hostPort\":9,\"containerPort\":9,\"protocol\":\"sctp\",\"hostIP\":\"fd00::1\"},"
               "{\"hostPort\":1,\"containerPort\":65535,\"protocol\":\"tcp\"},"
               "{\"hostPort\":65535,\"containerPort\":1,\"protocol\":\"tcp\",\"hostIP\":\"::1\"}],"
               "\"bandwidth\":{\"egressRate\":5000,\"egressBurst\":2147483647},"
               "\"dns\":{\"servers\":[\"10.96.0.10\",\"fd00::10\"],"
               "\"searches\":[\"ns.svc.cluster.local\",\"svc.cluster.local\"]}}");
        json_decref(o);

        /* both rates */
        memset(caps, 0, sizeof(*caps));
        caps->has_ingress_rate = caps->has_egress_rate = true;
        caps->ingress_rate = 1;
        caps->egress_rate = INT64_MAX;
        o = capargs_of(caps);
        assert_json(o, "{\"bandwidth\":{\"ingressRate\":1,\"ingressBurst\":2147483647,"
                       "\"egressRate\":9223372036854775807,\"egressBurst\":2147483647}}");
        json_decref(o);

        /* refusals: bad records, rates, words */
        memset(caps, 0, sizeof(*caps));
        caps->n_ports = 1;
        caps->ports[0] = (struct cni_port){.protocol = 1, .host_port = 80, .container_port = 80};
        assert_int_equal(netconf_capargs(caps, &o, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "port mapping 0: protocol 1, host port 80, container port 80 is "
                                 "not a valid mapping");
        caps->ports[0].protocol = 6;
        caps->ports[0].host_port = 0;
        assert_int_equal(netconf_capargs(caps, &o, msg, sizeof(msg)), -EINVAL);
        caps->n_ports = CNI_MAX_PORTS + 1;
        assert_int_equal(netconf_capargs(caps, &o, msg, sizeof(msg)), -E2BIG);
        memset(caps, 0, sizeof(*caps));
        caps->has_ingress_rate = true;
        assert_int_equal(netconf_capargs(caps, &o, msg, sizeof(msg)), -EINVAL);
        caps->ingress_rate = (uint64_t)INT64_MAX + 1;
        assert_int_equal(netconf_capargs(caps, &o, msg, sizeof(msg)), -EINVAL);
        memset(caps, 0, sizeof(*caps));
        caps->dns_options = "ndots:5 \x01x";
        assert_int_equal(netconf_capargs(caps, &o, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "dns options: byte 0x01 is not printable ASCII");
        free(caps);
}

static void test_stdin_too_long(void **state)
{
        char msg[MSGMAX];
        struct netconf c;
        json_t *capargs = json_object();
        char *s = NULL;
        size_t len = 0;

        (void)state;
        parse_ok("10-brig.conflist", conflist, &c);
        assert_int_equal(netconf_plugin_stdin(&c, 0, capargs, NULL, 50, &s, &len, msg, sizeof(msg)),
                         -EMSGSIZE);
        assert_null(s);
        assert_non_null(strstr(msg, "10-brig.conflist: the configuration of plugin bridge with its "
                                    "prevResult is "));
        assert_non_null(strstr(msg, "more than the 50 a plugin's stdin may carry"));
        json_decref(capargs);
        netconf_release(&c);
}

/* ---- order and version rules ------------------------------------------- */

static void test_order_and_versions(void **state)
{
        struct netconf c;

        (void)state;
        parse_ok("10-brig.conflist", conflist, &c);
        for (size_t step = 0; step < 3; step++) {
                assert_int_equal(netconf_plugin_at(&c, CNI_CMD_ADD, step), step);
                assert_int_equal(netconf_plugin_at(&c, CNI_CMD_CHECK, step), step);
                assert_int_equal(netconf_plugin_at(&c, CNI_CMD_DEL, step), 2 - step);
        }
        assert_false(netconf_check_skipped(&c));
        assert_true(netconf_del_has_prev_result(&c));
        netconf_release(&c);

        static const struct {
                const char *version;
                const char *disable;
                bool skipped, del_prev;
        } cases[] = {
            {"1.0.0", "false", false, true}, {"1.0.0", "true", true, true},
            {"0.4.0", "false", false, true}, {"0.4.0", "true", true, true},
            {"0.3.1", "false", true, false}, {"0.3.0", "false", true, false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[256];

                snprintf(text, sizeof(text),
                         "{\"cniVersion\":\"%s\",\"name\":\"n\",\"disableCheck\":%s,"
                         "\"plugins\":[{\"type\":\"a\"}]}",
                         cases[i].version, cases[i].disable);
                parse_ok("x.conflist", text, &c);
                assert_int_equal(netconf_check_skipped(&c), cases[i].skipped);
                assert_int_equal(netconf_del_has_prev_result(&c), cases[i].del_prev);
                netconf_release(&c);
        }
}

/* ---- results ----------------------------------------------------------- */

static void ips_ok(const char *result, size_t n, const char *const *want)
{
        char ips[CNI_MAX_IPS][NETCONF_IP_MAX], msg[MSGMAX] = "";
        json_t *o = json_loads(result, 0, NULL);
        struct netconf c;
        size_t got = 99;

        parse_ok("10-brig.conflist", conflist, &c);
        assert_non_null(o);
        if (netconf_result_ips(&c, o, ips, &got, msg, sizeof(msg)) != 0)
                fail_msg("%s refused: %s", result, msg);
        assert_int_equal(got, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(ips[i], want[i]);
        json_decref(o);
        netconf_release(&c);
}

static void ips_refused(const char *result, int err, const char *want)
{
        char ips[CNI_MAX_IPS][NETCONF_IP_MAX], msg[MSGMAX] = "";
        json_t *o = json_loads(result, 0, NULL);
        struct netconf c;
        size_t got = 99;

        parse_ok("10-brig.conflist", conflist, &c);
        assert_non_null(o);
        assert_int_equal(netconf_result_ips(&c, o, ips, &got, msg, sizeof(msg)), err);
        assert_int_equal(got, 99);
        if (strcmp(msg, want) != 0)
                fail_msg("message for %s\n  got:  %s\n  want: %s", result, msg, want);
        json_decref(o);
        netconf_release(&c);
}

static void test_result_ips(void **state)
{
        (void)state;
        ips_ok("{\"cniVersion\":\"1.0.0\"}", 0, NULL);
        ips_ok("{\"ips\":[]}", 0, NULL);
        ips_ok("{\"ips\":[{\"address\":\"10.88.0.5/16\",\"gateway\":\"10.88.0.1\",\"interface\":2},"
               "{\"version\":\"6\",\"address\":\"FD00:0:0::5/64\"},{\"address\":\"0.0.0.0/0\"},"
               "{\"address\":\"::ffff:10.1.2.3/128\"}]}",
               4,
               (const char *const[]){"10.88.0.5/16", "fd00::5/64", "0.0.0.0/0",
                                     "::ffff:10.1.2.3/128"});

        ips_refused("{\"ips\":{}}", -EBADMSG,
                    "CNI result for network brig: \"ips\" is not an array");
        ips_refused("{\"ips\":[1,2,3,4,5,6,7,8,9]}", -E2BIG,
                    "CNI result for network brig: 9 addresses, more than the 8 brig takes");
        ips_refused("{\"ips\":[{\"address\":\"10.0.0.1/8\"},{\"gateway\":\"10.0.0.1\"}]}", -EBADMSG,
                    "CNI result for network brig: ips[1]: \"address\" is missing or not a string");
        ips_refused("{\"ips\":[3]}", -EBADMSG,
                    "CNI result for network brig: ips[0]: \"address\" is missing or not a string");
        static const char *const bad[] = {
            "10.0.0.1",      "10.0.0.1/33",  "/24",           "10.0.0.256/24",
            "fd00::1/129",   "10.0.0.1/024", "10.0.0.1/ 24",  "10.0.0.1/+24",
            "10.0.0.1/",     "010.0.0.1/24", "10.0.0/24",     "fd00::1::2/64",
            "10.0.0.1/24/1", "host/24",      "10.0.0.1/1000", "\xc3\xa9/1",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char result[128], want[256], q[80];

                snprintf(result, sizeof(result), "{\"ips\":[{\"address\":\"%s\"}]}", bad[i]);
                snprintf(want, sizeof(want),
                         "CNI result for network brig: ips[0]: \"%s\" is not an IP address with a "
                         "prefix length",
                         netconf_scrub(q, sizeof(q), bad[i], strlen(bad[i]), 64));
                ips_refused(result, -EBADMSG, want);
        }
        /* a control character in the address is scrubbed */
        ips_refused("{\"ips\":[{\"address\":\"10.0.0.1/8\\n\"}]}", -EBADMSG,
                    "CNI result for network brig: ips[0]: \"10.0.0.1/8?\" is not an IP address "
                    "with a prefix length");
}

static void test_parse_result(void **state)
{
        char msg[MSGMAX];
        struct netconf c;
        json_t *o = NULL;

        (void)state;
        parse_ok("10-brig.conflist", conflist, &c);
        assert_int_equal(netconf_parse_result(&c, 0, "{\"ips\":[]}\n", 11, &o, msg, sizeof(msg)),
                         0);
        assert_true(json_is_object(o));
        json_decref(o);
        o = NULL;
        assert_int_equal(netconf_parse_result(&c, 0, "", 0, &o, msg, sizeof(msg)), -EBADMSG);
        assert_string_equal(msg, "CNI plugin bridge (ADD) for network brig: succeeded but printed "
                                 "no result");
        assert_int_equal(netconf_parse_result(&c, 1, "[]", 2, &o, msg, sizeof(msg)), -EBADMSG);
        assert_string_equal(msg, "CNI plugin portmap (ADD) for network brig: its result is not a "
                                 "JSON object");
        assert_int_equal(netconf_parse_result(&c, 2, "{\"a\":", 5, &o, msg, sizeof(msg)), -EBADMSG);
        assert_non_null(strstr(msg, "CNI plugin bandwidth (ADD) for network brig: its result is "
                                    "not valid JSON: "));
        assert_null(o);
        netconf_release(&c);
}

/* ---- plugin failures --------------------------------------------------- */

static void failure_is(size_t index, enum cni_command cmd, uint32_t exit, const char *out,
                       const char *want)
{
        char msg[MSGMAX];
        struct netconf c;

        parse_ok("10-brig.conflist", conflist, &c);
        netconf_plugin_failure(&c, index, cmd, exit, out, out ? strlen(out) : 0, msg, sizeof(msg));
        if (strcmp(msg, want) != 0)
                fail_msg("failure message\n  got:  %s\n  want: %s", msg, want);
        netconf_release(&c);
}

static void test_plugin_failure(void **state)
{
        char out[2048], want[MSGMAX];

        (void)state;
        failure_is(
            0, CNI_CMD_ADD, 1,
            "{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"failed to allocate for range "
            "0: no IP addresses available in range set: 10.88.0.1-10.88.255.254\"}",
            "CNI plugin bridge (ADD) for network brig: failed to allocate for range 0: no IP "
            "addresses available in range set: 10.88.0.1-10.88.255.254 (code 999)");
        failure_is(1, CNI_CMD_DEL, 1,
                   "{\"code\":7,\"msg\":\"invalid config\",\"details\":\"no portMappings\"}",
                   "CNI plugin portmap (DEL) for network brig: invalid config: no portMappings "
                   "(code 7)");
        failure_is(2, CNI_CMD_CHECK, 2, "{\"code\":11}",
                   "CNI plugin bandwidth (CHECK) for network brig: try again later (code 11)");
        failure_is(2, CNI_CMD_CHECK, 2, "{\"code\":150}",
                   "CNI plugin bandwidth (CHECK) for network brig: error (code 150)");
        failure_is(0, CNI_CMD_ADD, 3, "{\"msg\":\"no code\"}",
                   "CNI plugin bridge (ADD) for network brig: no code");
        failure_is(0, CNI_CMD_ADD, 3, "{\"msg\":\"\",\"details\":\"d\"}",
                   "CNI plugin bridge (ADD) for network brig: exited with status 3");
        failure_is(0, CNI_CMD_ADD, 3, "panic: runtime error",
                   "CNI plugin bridge (ADD) for network brig: exited with status 3");
        failure_is(0, CNI_CMD_ADD, 255, NULL,
                   "CNI plugin bridge (ADD) for network brig: exited with status 255");
        failure_is(0, CNI_CMD_ADD, CNI_EXIT_SIGNAL + 9, "{\"msg\":\"ignored\"}",
                   "CNI plugin bridge (ADD) for network brig: killed by signal 9");
        failure_is(0, CNI_CMD_DEL, CNI_EXIT_TIMEOUT, NULL,
                   "CNI plugin bridge (DEL) for network brig: timed out");
        failure_is(0, CNI_CMD_ADD, CNI_EXIT_NOT_FOUND,
                   "no plugin \"bridge\" in /opt/cni/bin or /usr/lib/cni",
                   "CNI plugin bridge (ADD) for network brig: no plugin \"bridge\" in /opt/cni/bin "
                   "or /usr/lib/cni");
        failure_is(0, CNI_CMD_ADD, CNI_EXIT_NOT_FOUND, NULL,
                   "CNI plugin bridge (ADD) for network brig: plugin not found");
        failure_is(0, CNI_CMD_DEL, CNI_EXIT_NOT_RUN, NULL,
                   "CNI plugin bridge (DEL) for network brig: the runner could not run it");
        failure_is(0, CNI_CMD_ADD, 0x20000, NULL,
                   "CNI plugin bridge (ADD) for network brig: ended with unknown status 0x20000");

        /* a plugin cannot forge a log line or a terminal sequence */
        failure_is(0, CNI_CMD_ADD, 1,
                   "{\"code\":1,\"msg\":\"bad\\nts=2026 level=info msg=\\\"forged\\\"\","
                   "\"details\":\"\\u001b[31mred\\u0085\\u202eevil\\t\"}",
                   "CNI plugin bridge (ADD) for network brig: bad?ts=2026 level=info "
                   "msg=\"forged\": ?[31mred??evil? (code 1)");
        failure_is(0, CNI_CMD_ADD, CNI_EXIT_NOT_FOUND, "a\r\nb\x80\xff",
                   "CNI plugin bridge (ADD) for network brig: a??b??");

        /* a long message is cut and the whole fits a protocol error message */
        snprintf(out, sizeof(out), "{\"code\":1,\"msg\":\"%01000d\",\"details\":\"%01000d\"}", 1,
                 2);
        char msg[MSGMAX];
        struct netconf c;
        parse_ok("10-brig.conflist", conflist, &c);
        netconf_plugin_failure(&c, 0, CNI_CMD_ADD, 1, out, strlen(out), msg, sizeof(msg));
        assert_true(strlen(msg) < BRIG_HELPER_MAX_ERROR_MESSAGE);
        assert_non_null(strstr(msg, "...: "));
        assert_non_null(strstr(msg, "... (code 1)"));
        /* and a small buffer gets a cut, terminated message */
        memset(want, 'X', sizeof(want));
        netconf_plugin_failure(&c, 0, CNI_CMD_ADD, 1, out, strlen(out), want, 10);
        assert_string_equal(want, "CNI plugi");
        netconf_release(&c);
}

/* ---- scrubbing --------------------------------------------------------- */

static void scrub_is(const char *in, size_t len, size_t max, const char *want)
{
        char out[64];

        netconf_scrub(out, sizeof(out), in, len, max);
        if (strcmp(out, want) != 0)
                fail_msg("scrub\n  got:  %s\n  want: %s", out, want);
}

/* A literal's bytes, its NULs included. */
#define SCRUB_IS(lit, max, want) scrub_is(lit, sizeof(lit) - 1, max, want)

static void test_scrub(void **state)
{
        (void)state;
        SCRUB_IS("plain text", 60, "plain text");
        SCRUB_IS("a\nb\rc\td\x1b[0m\x7f", 60, "a?b?c?d?[0m?");
        SCRUB_IS("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 60,
                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
        /* C1 controls, line/paragraph separators, bidi overrides, BOM */
        SCRUB_IS(
            "\xc2\x85|\xc2\x9b|\xe2\x80\xa8|\xe2\x80\xa9|\xe2\x80\xae|\xe2\x81\xa6|\xef\xbb\xbf",
            60, "?|?|?|?|?|?|?");
        /* invalid UTF-8: lone continuation, overlong, surrogate, cut
         * sequence, past U+10FFFF */
        SCRUB_IS("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80", 60, "?|??|???|??|????");
        /* NUL ends the text */
        SCRUB_IS("ab\0cd", 60, "ab");
        /* cuts never split a character and are marked */
        SCRUB_IS("abcdef", 4, "abcd...");
        SCRUB_IS("ab\xc3\xa9z", 3, "ab...");
        SCRUB_IS("ab\xc3\xa9z", 4, "ab\xc3\xa9...");
        SCRUB_IS("abcd", 4, "abcd");
        /* the destination bounds the text whatever max says */
        char small[8];
        netconf_scrub(small, sizeof(small), "0123456789", 10, 100);
        assert_string_equal(small, "0123...");
}

/* ---- cache blob -------------------------------------------------------- */

static char *blob_of(const struct netconf *c, json_t *capargs, json_t *result, size_t *len)
{
        char msg[MSGMAX] = "";
        char *blob = NULL;

        if (netcache_blob(c, POD, "eth0", capargs, result, WIRE_MAX_CACHE, &blob, len, msg,
                          sizeof(msg)) != 0)
                fail_msg("blob: %s", msg);
        assert_int_equal(strlen(blob), *len);
        return blob;
}

static void test_cache_roundtrip(void **state)
{
        struct cni_caps *caps = caps_new();
        char msg[MSGMAX] = "";
        struct netcache cache;
        struct netconf c;
        json_t *capargs, *result, *o;
        char *blob;
        size_t len;

        (void)state;
        parse_ok("10-brig.conflist", conflist, &c);
        caps->n_ports = 1;
        caps->ports[0] = (struct cni_port){.protocol = 17, .host_port = 5353, .container_port = 53};
        caps->dns_servers = "10.96.0.10";
        capargs = capargs_of(caps);

        /* before the first plugin: no result */
        blob = blob_of(&c, capargs, NULL, &len);
        o = json_loads(blob, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "kind")), "brig-cni-cache");
        assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
        assert_string_equal(json_string_value(json_object_get(o, "containerId")), POD);
        assert_string_equal(json_string_value(json_object_get(o, "ifName")), "eth0");
        assert_string_equal(json_string_value(json_object_get(o, "confName")), "10-brig.conflist");
        assert_true(json_equal(json_object_get(o, "config"), c.root));
        assert_true(json_equal(json_object_get(o, "capabilityArgs"), capargs));
        assert_null(json_object_get(o, "result"));
        json_decref(o);
        assert_int_equal(netcache_parse(blob, len, &cache, msg, sizeof(msg)), 0);
        assert_string_equal(cache.container_id, POD);
        assert_string_equal(cache.ifname, "eth0");
        assert_int_equal(cache.conf.n_plugins, 3);
        assert_string_equal(cache.conf.types[2], "bandwidth");
        assert_true(json_equal(cache.capargs, capargs));
        assert_null(cache.result);
        netcache_release(&cache);
        netcache_release(&cache);
        free(blob);

        /* after the last: with the result; DEL's stdin is what ADD's was */
        result = json_loads("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.88.0.9/16\"}]}",
                            0, NULL);
        blob = blob_of(&c, capargs, result, &len);
        assert_int_equal(netcache_parse(blob, len, &cache, msg, sizeof(msg)), 0);
        assert_true(json_equal(cache.result, result));
        for (size_t i = 0; i < 3; i++) {
                json_t *a = stdin_of(&c, i, capargs, result);
                json_t *b = stdin_of(&cache.conf, i, cache.capargs, cache.result);

                assert_true(json_equal(a, b));
                json_decref(a);
                json_decref(b);
        }
        netcache_release(&cache);
        free(blob);

        /* too long for a CACHE datagram */
        char *s = NULL;
        assert_int_equal(
            netcache_blob(&c, POD, "eth0", capargs, result, 100, &s, &len, msg, sizeof(msg)),
            -EMSGSIZE);
        assert_null(s);
        assert_non_null(strstr(msg, "a cache blob may hold"));

        json_decref(result);
        json_decref(capargs);
        netconf_release(&c);
        free(caps);
}

static void cache_refused(const char *blob, const char *want)
{
        char msg[MSGMAX] = "";
        struct netcache cache;

        assert_true(netcache_parse(blob, strlen(blob), &cache, msg, sizeof(msg)) < 0);
        if (strncmp(msg, want, strlen(want)) != 0)
                fail_msg("cache message\n  got:  %s\n  want: %s", msg, want);
}

static void test_cache_refusals(void **state)
{
        char blob[2048];

#define HEAD "{\"kind\":\"brig-cni-cache\",\"version\":1,\"containerId\":\"" POD "\","
#define CONF "\"config\":{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}"
        (void)state;
        cache_refused("", "cache: not valid JSON: ");
        cache_refused("[]", "cache: not a JSON object");
        cache_refused("{\"kind\":\"x\"}", "cache: \"kind\" is not \"brig-cni-cache\"");
        cache_refused("{\"version\":1}", "cache: \"kind\" is missing or not a string");
        cache_refused("{\"kind\":\"brig-cni-cache\",\"version\":2}", "cache: \"version\" is not 1");
        cache_refused("{\"kind\":\"brig-cni-cache\",\"version\":1,\"extra\":1}",
                      "cache: unknown key \"extra\"");
        cache_refused("{\"kind\":\"brig-cni-cache\",\"version\":1,\"containerId\":\"abc\"}",
                      "cache: \"containerId\" is not a pod id");
        cache_refused(HEAD "\"ifName\":\"a/b\"}", "cache: \"ifName\" is not an interface name");
        cache_refused(HEAD "\"ifName\":\"eth0\"}",
                      "cache: \"confName\" is missing or not a string");
        cache_refused(HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conflist\"}",
                      "cache: \"capabilityArgs\" is not an object");
        cache_refused(HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conflist\","
                           "\"capabilityArgs\":{\"mac\":\"x\"}}",
                      "cache: \"capabilityArgs\": \"mac\" is unknown or of the wrong type");
        cache_refused(
            HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conflist\","
                 "\"capabilityArgs\":{\"portMappings\":{}}}",
            "cache: \"capabilityArgs\": \"portMappings\" is unknown or of the wrong type");
        cache_refused(HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conflist\","
                           "\"capabilityArgs\":{},\"result\":[]}",
                      "cache: \"result\" is not an object");
        cache_refused(HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conflist\",\"capabilityArgs\":{}}",
                      "cache: a.conflist: not a JSON object");
        cache_refused(HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conflist\",\"capabilityArgs\":{},"
                           "\"config\":{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{}]}}",
                      "cache: a.conflist: plugins[0]: \"type\" is missing");
        cache_refused(HEAD "\"ifName\":\"eth0\",\"confName\":\"a.txt\",\"capabilityArgs\":{}," CONF
                           "}",
                      "cache: CNI configuration file name \"a.txt\" does not end in");
        /* a .conf in the cache is read as a .conf */
        snprintf(blob, sizeof(blob),
                 HEAD "\"ifName\":\"eth0\",\"confName\":\"a.conf\",\"capabilityArgs\":{}," CONF
                      "}");
        cache_refused(blob, "cache: a.conf: \"type\" is missing");
#undef HEAD
#undef CONF
}

/* ---- the datagram schema ----------------------------------------------- */

struct msg {
        uint8_t buf[BRIG_HELPER_MAX_PAYLOAD];
        struct tlv_writer w;
};

static void msg_start(struct msg *m, uint32_t kind)
{
        tlv_writer_init(&m->w, m->buf, sizeof(m->buf));
        tlv_put_u32(&m->w, CNI_TAG_KIND, kind);
}

static size_t msg_len(struct msg *m)
{
        size_t len = 0;

        assert_int_equal(tlv_writer_finish(&m->w, &len), 0);
        return len;
}

static void request_base(struct msg *m, uint32_t command)
{
        msg_start(m, CNI_KIND_REQUEST);
        tlv_put_u32(&m->w, CNI_TAG_COMMAND, command);
        tlv_put_string(&m->w, CNI_TAG_CONTAINER_ID, POD);
        tlv_put_string(&m->w, CNI_TAG_IFNAME, "eth0");
}

static void request_refused(struct msg *m, int err, const char *want)
{
        struct cni_request q;
        char msg[MSGMAX] = "";

        assert_int_equal(wire_decode_request(m->buf, msg_len(m), &q, msg, sizeof(msg)), err);
        if (strcmp(msg, want) != 0)
                fail_msg("request refusal\n  got:  %s\n  want: %s", msg, want);
}

static void test_wire_request(void **state)
{
        static struct msg m;
        struct cni_request q;
        char msg[MSGMAX] = "";
        uint8_t ports[2 * CNI_PORT_RECORD_SIZE] = {0};

        (void)state;
        request_base(&m, CNI_CMD_ADD);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME, "10-brig.conflist");
        tlv_put_bytes(&m.w, CNI_TAG_CONF, conflist, strlen(conflist));
        tlv_le32_encode(ports, 6);
        tlv_le16_encode(ports + 4, 8080);
        tlv_le16_encode(ports + 6, 80);
        tlv_le32_encode(ports + 24, 17);
        tlv_le16_encode(ports + 28, 53);
        tlv_le16_encode(ports + 30, 5353);
        ports[24 + 8 + 10] = ports[24 + 8 + 11] = 0xff;
        ports[24 + 8 + 12] = 127;
        ports[24 + 8 + 15] = 1;
        tlv_put_bytes(&m.w, CNI_TAG_PORTS, ports, sizeof(ports));
        tlv_put_u64(&m.w, CNI_TAG_INGRESS_RATE, 1000);
        tlv_put_string(&m.w, CNI_TAG_DNS_SERVERS, "10.96.0.10");
        assert_int_equal(wire_decode_request(m.buf, msg_len(&m), &q, msg, sizeof(msg)), 0);
        assert_int_equal(q.command, CNI_CMD_ADD);
        assert_string_equal(q.container_id, POD);
        assert_string_equal(q.ifname, "eth0");
        assert_string_equal(q.conf_name, "10-brig.conflist");
        assert_int_equal(q.conf_len, strlen(conflist));
        assert_false(q.has_cache);
        assert_int_equal(q.caps.n_ports, 2);
        assert_int_equal(q.caps.ports[0].protocol, 6);
        assert_int_equal(q.caps.ports[0].host_port, 8080);
        assert_int_equal(q.caps.ports[0].container_port, 80);
        assert_int_equal(q.caps.ports[1].protocol, 17);
        assert_int_equal(q.caps.ports[1].host_ip[12], 127);
        assert_true(q.caps.has_ingress_rate);
        assert_false(q.caps.has_egress_rate);
        assert_int_equal(q.caps.ingress_rate, 1000);
        assert_string_equal(q.caps.dns_servers, "10.96.0.10");
        assert_null(q.caps.dns_searches);

        /* DEL with a cache, no conf name */
        request_base(&m, CNI_CMD_DEL);
        tlv_put_bytes(&m.w, CNI_TAG_CACHE, "{}", 2);
        assert_int_equal(wire_decode_request(m.buf, msg_len(&m), &q, msg, sizeof(msg)), 0);
        assert_true(q.has_cache);
        assert_int_equal(q.cache_len, 2);
        assert_null(q.conf_name);
        /* CHECK without one: decoded, refused later with a FAIL */
        request_base(&m, CNI_CMD_CHECK);
        assert_int_equal(wire_decode_request(m.buf, msg_len(&m), &q, msg, sizeof(msg)), 0);
        assert_false(q.has_cache);

        request_base(&m, 4);
        request_refused(&m, -EINVAL, "REQUEST: unknown COMMAND 4");
        request_base(&m, CNI_CMD_ADD);
        request_refused(&m, -EINVAL, "REQUEST: ADD needs CONF_NAME and CONF");
        request_base(&m, CNI_CMD_ADD);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME, "x.conflist");
        tlv_put_bytes(&m.w, CNI_TAG_CONF, "{}", 2);
        tlv_put_bytes(&m.w, CNI_TAG_CACHE, "{}", 2);
        request_refused(&m, -EINVAL, "REQUEST: ADD takes no CACHE");
        request_base(&m, CNI_CMD_ADD);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME, "x.conflist");
        tlv_put_bytes(&m.w, CNI_TAG_CONF, "{}", 2);
        tlv_put_bytes(&m.w, CNI_TAG_PORTS, ports, 25);
        request_refused(&m, -EINVAL, "REQUEST: PORTS is 25 bytes, not a multiple of 24");
        request_base(&m, CNI_CMD_ADD);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME, "x.conflist");
        tlv_put_bytes(&m.w, CNI_TAG_CONF, "{}", 2);
        ports[24] = 1;
        tlv_put_bytes(&m.w, CNI_TAG_PORTS, ports, sizeof(ports));
        request_refused(&m, -EINVAL,
                        "REQUEST: port record 1: protocol 1, host port 53, container port 5353");
        request_base(&m, CNI_CMD_ADD);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME, "x.conflist");
        tlv_put_bytes(&m.w, CNI_TAG_CONF, "{}", 2);
        tlv_put_u64(&m.w, CNI_TAG_EGRESS_RATE, 0);
        request_refused(&m, -EINVAL, "REQUEST: EGRESS_RATE is out of range");
        request_base(&m, CNI_CMD_ADD);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME, "x.conflist");
        tlv_put_bytes(&m.w, CNI_TAG_CONF, "{}", 2);
        tlv_put_string(&m.w, CNI_TAG_DNS_OPTIONS, "a\tb");
        request_refused(&m, -EINVAL,
                        "REQUEST: DNS_OPTIONS holds a byte that is not printable ASCII");

        msg_start(&m, CNI_KIND_REQUEST);
        tlv_put_u32(&m.w, CNI_TAG_COMMAND, CNI_CMD_DEL);
        tlv_put_string(&m.w, CNI_TAG_CONTAINER_ID, "ABC");
        tlv_put_string(&m.w, CNI_TAG_IFNAME, "eth0");
        request_refused(&m, -EINVAL, "REQUEST: CONTAINER_ID is missing or not 64 lowercase hex");
        msg_start(&m, CNI_KIND_REQUEST);
        tlv_put_u32(&m.w, CNI_TAG_COMMAND, CNI_CMD_DEL);
        tlv_put_string(&m.w, CNI_TAG_CONTAINER_ID, POD);
        tlv_put_string(&m.w, CNI_TAG_IFNAME, "..");
        request_refused(&m, -EINVAL, "REQUEST: IFNAME is missing or not an interface name");
        msg_start(&m, CNI_KIND_REQUEST);
        request_refused(&m, -EINVAL, "REQUEST: COMMAND is missing");
        msg_start(&m, CNI_KIND_RESULT);
        request_refused(&m, -EBADMSG, "expected a REQUEST (KIND 1 first)");
        tlv_writer_init(&m.w, m.buf, sizeof(m.buf));
        tlv_put_u32(&m.w, CNI_TAG_COMMAND, 1);
        request_refused(&m, -EBADMSG, "expected a REQUEST (KIND 1 first)");
        request_base(&m, CNI_CMD_DEL);
        tlv_put_u32(&m.w, CNI_TAG_COMMAND, 2);
        request_refused(&m, -EINVAL, "REQUEST: COMMAND appears twice");
        request_base(&m, CNI_CMD_DEL);
        tlv_put_u32(&m.w, CNI_TAG_KIND, CNI_KIND_REQUEST);
        request_refused(&m, -EINVAL, "REQUEST: tag 1 is not allowed");
        request_base(&m, CNI_CMD_DEL);
        tlv_put_u32(&m.w, CNI_TAG_EXIT, 0);
        request_refused(&m, -EINVAL, "REQUEST: tag 22 is not allowed");
        request_base(&m, CNI_CMD_DEL);
        tlv_put_u32(&m.w, CNI_TAG_CONF_NAME, 0);
        request_refused(&m, -EINVAL, "REQUEST: CONF_NAME is U32, not STRING");
        request_base(&m, CNI_CMD_DEL);
        tlv_put_bytes(&m.w, CNI_TAG_IFNAME, "eth0", 4);
        request_refused(&m, -EINVAL, "REQUEST: IFNAME is BYTES, not STRING");
        request_base(&m, CNI_CMD_DEL);
        tlv_put_string(&m.w, CNI_TAG_CONF_NAME,
                       "0123456789012345678901234567890123456789012345678901234567890123"
                       "0123456789012345678901234567890123456789012345678901234567890123"
                       "0123456789012345678901234567890123456789012345678901234567890123"
                       "0123456789012345678901234567890123456789012345678901234567890123");
        request_refused(&m, -EMSGSIZE, "REQUEST: CONF_NAME is 257 bytes, more than 256");
        request_base(&m, CNI_CMD_DEL);
        for (int i = 0; i < BRIG_HELPER_MAX_FIELDS; i++)
                tlv_put_u32(&m.w, 200, 0);
        request_refused(&m, -EINVAL, "REQUEST: tag 200 is not allowed");

        /* cut short */
        request_base(&m, CNI_CMD_DEL);
        assert_int_equal(wire_decode_request(m.buf, msg_len(&m) - 1, &q, msg, sizeof(msg)),
                         -EBADMSG);
        assert_string_equal(msg, "REQUEST: element 3 is cut short");
        assert_int_equal(wire_decode_request(m.buf, 0, &q, msg, sizeof(msg)), -EBADMSG);
        assert_string_equal(msg, "empty datagram");
}

static void test_wire_result_and_encoders(void **state)
{
        static struct msg m;
        struct cni_plugin_result res;
        char msg[MSGMAX] = "";
        static uint8_t buf[BRIG_HELPER_MAX_PAYLOAD];
        size_t len;
        uint32_t kind;

        (void)state;
        static const uint32_t good[] = {0,
                                        1,
                                        255,
                                        CNI_EXIT_SIGNAL + 1,
                                        CNI_EXIT_SIGNAL + 255,
                                        CNI_EXIT_TIMEOUT,
                                        CNI_EXIT_NOT_FOUND,
                                        CNI_EXIT_NOT_RUN};
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                msg_start(&m, CNI_KIND_RESULT);
                tlv_put_u32(&m.w, CNI_TAG_EXIT, good[i]);
                tlv_put_bytes(&m.w, CNI_TAG_STDOUT, "{}", 2);
                assert_int_equal(wire_decode_result(m.buf, msg_len(&m), &res, msg, sizeof(msg)), 0);
                assert_int_equal(res.exit, good[i]);
                assert_int_equal(res.out_len, 2);
        }
        static const uint32_t bad[] = {256, CNI_EXIT_SIGNAL, CNI_EXIT_SIGNAL + 256,
                                       CNI_EXIT_NOT_RUN + 1, UINT32_MAX};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                msg_start(&m, CNI_KIND_RESULT);
                tlv_put_u32(&m.w, CNI_TAG_EXIT, bad[i]);
                assert_int_equal(wire_decode_result(m.buf, msg_len(&m), &res, msg, sizeof(msg)),
                                 -EINVAL);
        }
        msg_start(&m, CNI_KIND_RESULT);
        tlv_put_u32(&m.w, CNI_TAG_EXIT, 0);
        assert_int_equal(wire_decode_result(m.buf, msg_len(&m), &res, msg, sizeof(msg)), 0);
        assert_int_equal(res.out_len, 0);
        msg_start(&m, CNI_KIND_RESULT);
        assert_int_equal(wire_decode_result(m.buf, msg_len(&m), &res, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "RESULT: EXIT is missing");
        msg_start(&m, CNI_KIND_RESULT);
        tlv_put_u32(&m.w, CNI_TAG_EXIT, 1);
        tlv_put_bytes(&m.w, CNI_TAG_STDOUT, buf, WIRE_MAX_STDOUT + 1);
        assert_int_equal(wire_decode_result(m.buf, msg_len(&m), &res, msg, sizeof(msg)), -EMSGSIZE);

        /* encoders: each kind first, sizes at their limits */
        static char big[BRIG_HELPER_MAX_PAYLOAD];
        memset(big, 'x', sizeof(big));
        assert_int_equal(
            wire_encode_exec(buf, sizeof(buf), CNI_CMD_ADD,
                             "0123456789012345678901234567890123456789012345678901234567890123",
                             big, WIRE_MAX_STDIN, &len),
            0);
        assert_int_equal(len, BRIG_HELPER_MAX_PAYLOAD);
        assert_int_equal(wire_peek_kind(buf, len, &kind), 0);
        assert_int_equal(kind, CNI_KIND_EXEC);
        assert_int_equal(
            wire_encode_exec(buf, sizeof(buf), CNI_CMD_ADD,
                             "0123456789012345678901234567890123456789012345678901234567890123",
                             big, WIRE_MAX_STDIN + 1, &len),
            -EMSGSIZE);
        assert_int_equal(wire_encode_cache(buf, sizeof(buf), big, WIRE_MAX_CACHE, &len), 0);
        assert_int_equal(wire_peek_kind(buf, len, &kind), 0);
        assert_int_equal(kind, CNI_KIND_CACHE);
        /* the largest blob comes back in a DEL with every other field at
         * its largest */
        {
                char conf_name[NETCONF_NAME_MAX + 1];
                struct cni_request q;

                memset(conf_name, 'c', NETCONF_NAME_MAX);
                conf_name[NETCONF_NAME_MAX] = '\0';
                msg_start(&m, CNI_KIND_REQUEST);
                tlv_put_u32(&m.w, CNI_TAG_COMMAND, CNI_CMD_DEL);
                tlv_put_string(&m.w, CNI_TAG_CONTAINER_ID, POD);
                tlv_put_string(&m.w, CNI_TAG_IFNAME, "eth012345678901");
                tlv_put_string(&m.w, CNI_TAG_CONF_NAME, conf_name);
                tlv_put_bytes(&m.w, CNI_TAG_CACHE, big, WIRE_MAX_CACHE);
                assert_int_equal(msg_len(&m), BRIG_HELPER_MAX_PAYLOAD);
                assert_int_equal(
                    wire_decode_request(m.buf, BRIG_HELPER_MAX_PAYLOAD, &q, msg, sizeof(msg)), 0);
                assert_int_equal(q.cache_len, WIRE_MAX_CACHE);
        }
        const char ips[2][NETCONF_IP_MAX] = {"10.88.0.5/16", "fd00::5/64"};
        assert_int_equal(wire_encode_done(buf, sizeof(buf), ips, 2, &len), 0);
        assert_int_equal(len, 12 + 8 + 13 + 8 + 11);
        assert_int_equal(wire_encode_done(buf, sizeof(buf), ips, CNI_MAX_IPS + 1, &len), -E2BIG);
        char long_msg[2000];
        memset(long_msg, 'm', sizeof(long_msg) - 1);
        long_msg[sizeof(long_msg) - 1] = '\0';
        assert_int_equal(wire_encode_fail(buf, sizeof(buf), long_msg, &len), 0);
        assert_int_equal(len, 12 + 8 + BRIG_HELPER_MAX_ERROR_MESSAGE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_conflist),
            cmocka_unit_test(test_single_conf),
            cmocka_unit_test(test_conf_refusals),
            cmocka_unit_test(test_stdin_injection),
            cmocka_unit_test(test_capargs),
            cmocka_unit_test(test_stdin_too_long),
            cmocka_unit_test(test_order_and_versions),
            cmocka_unit_test(test_result_ips),
            cmocka_unit_test(test_parse_result),
            cmocka_unit_test(test_plugin_failure),
            cmocka_unit_test(test_scrub),
            cmocka_unit_test(test_cache_roundtrip),
            cmocka_unit_test(test_cache_refusals),
            cmocka_unit_test(test_wire_request),
            cmocka_unit_test(test_wire_result_and_encoders),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
