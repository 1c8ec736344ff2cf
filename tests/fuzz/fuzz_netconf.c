/* fuzz_netconf.c: libFuzzer target for brig-cni's CNI logic
 * (privhelper/cni/netconf.h) and its datagram decoder (wire.h).
 *
 * Every input is tried as all of these:
 *   - a configuration file named .conflist, then .conf;
 *   - a cache blob;
 *   - a plugin's ADD stdout (a result) and a failed plugin's stdout;
 *   - a REQUEST datagram and a RESULT datagram from the runner.
 * What parses goes on through everything after it: each plugin's stdin with
 * and without a prevResult, the capability arguments, the cache blob and
 * its parse back, the result's addresses.
 *
 * Besides memory errors it checks what main.c and the runner rely on; a
 * broken invariant aborts:
 *   - every message is NUL-terminated, shorter than
 *     BRIG_HELPER_MAX_ERROR_MESSAGE, strict UTF-8 and free of control
 *     characters, whatever the input;
 *   - a stdin is a JSON object carrying the list's name and version, no
 *     "capabilities", and runtimeConfig keys the plugin declared;
 *   - a cache blob parses back to the same plugins in the same order;
 *   - DEL runs the plugins in reverse order, ADD and CHECK in order;
 *   - an accepted address is "IP/prefix" that inet_pton takes. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privhelper/cni/netconf.h"
#include "privhelper/cni/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POD "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check(bool ok)
{
        if (!ok)
                abort();
}

/* Strict UTF-8 with no C0, DEL or C1 control character. */
static void check_text(const char *s, size_t max)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t len = strnlen(s, max);

        check(len < max);
        for (size_t i = 0; i < len;) {
                unsigned char c = p[i];
                size_t n = c < 0x80                 ? 1
                           : c >= 0xc2 && c <= 0xdf ? 2
                           : c >= 0xe0 && c <= 0xef ? 3
                           : c >= 0xf0 && c <= 0xf4 ? 4
                                                    : 0;

                check(n > 0 && i + n <= len);
                for (size_t k = 1; k < n; k++)
                        check((p[i + k] & 0xc0) == 0x80);
                check(c >= 0x20 && c != 0x7f);
                check(!(c == 0xc2 && p[i + 1] < 0xa0));
                i += n;
        }
}

static void check_msg(const char *msg)
{
        check_text(msg, BRIG_HELPER_MAX_ERROR_MESSAGE);
}

static struct cni_caps *fixed_caps(void)
{
        static struct cni_caps caps;

        if (caps.n_ports == 0) {
                caps.n_ports = 2;
                caps.ports[0] =
                    (struct cni_port){.protocol = 6, .host_port = 80, .container_port = 8080};
                caps.ports[1] =
                    (struct cni_port){.protocol = 17,
                                      .host_port = 53,
                                      .container_port = 53,
                                      .host_ip = {[10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1}};
                caps.has_ingress_rate = true;
                caps.ingress_rate = 1000;
                caps.dns_servers = "10.96.0.10";
                caps.dns_searches = "svc.cluster.local";
        }
        return &caps;
}

static void check_stdin(const struct netconf *c, size_t i, json_t *capargs, json_t *prev)
{
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        char *s = NULL;
        size_t len = 0;
        json_t *o, *rc, *caps, *v;
        json_error_t e;
        const char *key;

        msg[0] = '\0';
        if (netconf_plugin_stdin(c, i, capargs, prev, WIRE_MAX_STDIN, &s, &len, msg, sizeof(msg)) <
            0) {
                check_msg(msg);
                check(s == NULL);
                return;
        }
        check(strlen(s) == len && len <= WIRE_MAX_STDIN);
        o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
        if (!o) {
                /* A prevResult at jansson's nesting limit is one level too
                 * deep once inside a stdin; nothing else may fail here. */
                check(prev != NULL && strstr(e.text, "maximum parsing depth") != NULL);
                free(s);
                return;
        }
        check(json_is_object(o));
        check(strcmp(json_string_value(json_object_get(o, "cniVersion")), c->version) == 0);
        check(strcmp(json_string_value(json_object_get(o, "name")), c->name) == 0);
        check(strcmp(json_string_value(json_object_get(o, "type")), c->types[i]) == 0);
        check(json_object_get(o, "capabilities") == NULL);
        check((json_object_get(o, "prevResult") != NULL) == (prev != NULL));
        rc = json_object_get(o, "runtimeConfig");
        caps = json_object_get(c->plugins[i], "capabilities");
        json_object_foreach(rc, key, v)
        {
                check(json_is_true(json_object_get(caps, key)));
                check(json_equal(v, json_object_get(capargs, key)));
        }
        json_decref(o);
        free(s);
}

static void check_order(const struct netconf *c)
{
        for (size_t step = 0; step < c->n_plugins; step++) {
                check(netconf_plugin_at(c, CNI_CMD_ADD, step) == step);
                check(netconf_plugin_at(c, CNI_CMD_CHECK, step) == step);
                check(netconf_plugin_at(c, CNI_CMD_DEL, step) == c->n_plugins - 1 - step);
        }
}

static void check_ips(const struct netconf *c, json_t *result)
{
        char ips[CNI_MAX_IPS][NETCONF_IP_MAX], msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        size_t n = 999;

        msg[0] = '\0';
        if (netconf_result_ips(c, result, ips, &n, msg, sizeof(msg)) < 0) {
                check_msg(msg);
                check(n == 999);
                return;
        }
        check(n <= CNI_MAX_IPS);
        for (size_t i = 0; i < n; i++) {
                char addr[NETCONF_IP_MAX];
                unsigned char bin[16];
                char *slash;

                check(strnlen(ips[i], NETCONF_IP_MAX) < NETCONF_IP_MAX);
                memcpy(addr, ips[i], NETCONF_IP_MAX);
                slash = strchr(addr, '/');
                check(slash != NULL);
                *slash = '\0';
                check(inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, bin) == 1);
                check(atoi(slash + 1) <= (strchr(addr, ':') ? 128 : 32));
        }
}

/* A parsed configuration through everything ADD, DEL and CHECK do. */
static void exercise(const struct netconf *c, json_t *result)
{
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        json_t *capargs = NULL;
        struct netcache cache;
        char *blob = NULL;
        size_t len;

        check(c->n_plugins >= 1 && c->n_plugins <= CNI_MAX_PLUGINS);
        check_order(c);
        check(netconf_check_skipped(c) == (c->version_num < NETCONF_V0_4_0 || c->disable_check));
        msg[0] = '\0';
        check(netconf_capargs(fixed_caps(), &capargs, msg, sizeof(msg)) == 0);
        for (size_t i = 0; i < c->n_plugins; i++) {
                check_stdin(c, i, capargs, NULL);
                if (result)
                        check_stdin(c, i, capargs, result);
                netconf_plugin_label(c, i, CNI_CMD_DEL, msg, sizeof(msg));
                check_msg(msg);
        }
        if (netcache_blob(c, POD, "eth0", capargs, result, WIRE_MAX_CACHE, &blob, &len, msg,
                          sizeof(msg)) < 0) {
                check_msg(msg);
        } else {
                check(len <= WIRE_MAX_CACHE);
                msg[0] = '\0';
                if (netcache_parse(blob, len, &cache, msg, sizeof(msg)) != 0) {
                        /* jansson refuses what it wrote only past its nesting limit */
                        check_msg(msg);
                } else {
                        check(cache.conf.n_plugins == c->n_plugins);
                        for (size_t i = 0; i < c->n_plugins; i++)
                                check(strcmp(cache.conf.types[i], c->types[i]) == 0);
                        check(strcmp(cache.conf.name, c->name) == 0);
                        check((cache.result != NULL) == (result != NULL));
                        check(json_equal(cache.capargs, capargs));
                        netcache_release(&cache);
                }
                free(blob);
        }
        if (result)
                check_ips(c, result);
        json_decref(capargs);
}

static void as_config(const char *name, const uint8_t *data, size_t size)
{
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct netconf c;

        msg[0] = '\0';
        if (netconf_parse(name, data, size, &c, msg, sizeof(msg)) < 0) {
                check_msg(msg);
                return;
        }
        exercise(&c, NULL);
        netconf_release(&c);
}

static void as_cache(const uint8_t *data, size_t size)
{
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct netcache cache;

        msg[0] = '\0';
        if (netcache_parse(data, size, &cache, msg, sizeof(msg)) < 0) {
                check_msg(msg);
                return;
        }
        check(netconf_valid_container_id(cache.container_id));
        check(netconf_valid_ifname(cache.ifname));
        exercise(&cache.conf, cache.result);
        netcache_release(&cache);
}

static void as_plugin_output(const uint8_t *data, size_t size)
{
        static const char conf[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"brig\",\"plugins\":["
                                   "{\"type\":\"bridge\"},{\"type\":\"portmap\",\"capabilities\":"
                                   "{\"portMappings\":true}}]}";
        static const uint32_t exits[] = {1, 255, CNI_EXIT_SIGNAL + 9, CNI_EXIT_TIMEOUT,
                                         CNI_EXIT_NOT_FOUND};
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        json_t *result = NULL;
        struct netconf c;

        check(netconf_parse("10-brig.conflist", conf, sizeof(conf) - 1, &c, msg, sizeof(msg)) == 0);
        for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
                msg[0] = 'X';
                netconf_plugin_failure(&c, 1, CNI_CMD_ADD, exits[i], data, size, msg, sizeof(msg));
                check_msg(msg);
        }
        msg[0] = '\0';
        if (netconf_parse_result(&c, 0, data, size, &result, msg, sizeof(msg)) < 0) {
                check_msg(msg);
                check(result == NULL);
        } else {
                check(json_is_object(result));
                exercise(&c, result);
                json_decref(result);
        }
        netconf_release(&c);
}

static void as_datagrams(const uint8_t *data, size_t size)
{
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct cni_plugin_result res;
        static struct cni_request q;

        if (size > BRIG_HELPER_MAX_PAYLOAD)
                return;
        err[0] = '\0';
        if (wire_decode_request(data, size, &q, err, sizeof(err)) < 0) {
                check_msg(err);
        } else {
                check(netconf_valid_container_id(q.container_id));
                check(netconf_valid_ifname(q.ifname));
                check(q.command == CNI_CMD_ADD || !q.conf);
                if (q.command == CNI_CMD_ADD) {
                        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
                        json_t *capargs = NULL;
                        struct netconf c;

                        check(q.conf_name && q.conf && !q.has_cache);
                        msg[0] = '\0';
                        check(netconf_capargs(&q.caps, &capargs, msg, sizeof(msg)) == 0);
                        json_decref(capargs);
                        if (netconf_parse(q.conf_name, q.conf, q.conf_len, &c, msg, sizeof(msg)) ==
                            0) {
                                exercise(&c, NULL);
                                netconf_release(&c);
                        } else {
                                check_msg(msg);
                        }
                }
        }
        err[0] = '\0';
        if (wire_decode_result(data, size, &res, err, sizeof(err)) < 0)
                check_msg(err);
        else
                check(res.out_len <= WIRE_MAX_STDOUT && (res.out_len == 0 || res.out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool seeded;
        char scrubbed[300];

        if (!seeded) {
                /* Reproducible runs: a fixed hash seed. */
                json_object_seed(1);
                seeded = true;
        }
        if (size > BRIG_HELPER_MAX_PAYLOAD + 64)
                return -1;
        netconf_scrub(scrubbed, sizeof(scrubbed), data, size, 200);
        check_text(scrubbed, sizeof(scrubbed));
        as_config("10-brig.conflist", data, size);
        as_config("10-brig.conf", data, size);
        as_cache(data, size);
        as_plugin_output(data, size);
        as_datagrams(data, size);
        return 0;
}
