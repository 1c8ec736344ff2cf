/* netconf.h: brig-cni's CNI logic, with no I/O: network configuration files
 * and cache blobs parsed and checked, each plugin's stdin built, plugin
 * results and errors interpreted, cache blobs written. main.c moves the
 * bytes; the unit test and the fuzzer call this directly.
 *
 * Contract:
 * - Fallible functions return 0 or a negative errno and then leave a
 *   message for the user in msg (at most msg_size bytes, NUL-terminated,
 *   never longer than BRIG_HELPER_MAX_ERROR_MESSAGE - 1). Every byte in a
 *   message that came from a file or a plugin went through netconf_scrub().
 *   Outputs (ret*) are written only on success.
 * - Whatever a function allocated is released on every path; what it hands
 *   out is the caller's, to free with the function named beside it.
 * - Speaks CNI spec 1.0.0 and 0.4.0, and 0.3.1 and 0.3.0 (same result
 *   format as 0.4.0). docs/brig-cni.md describes the cache blob format.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "privhelper/cni/channel.h"
#include "proto/helper.h"

/* jansson (2.11+) provides json_decrefp() for its own json_auto_t. */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* The versions brig-cni speaks, as major * 10000 + minor * 100 + patch. */
#define NETCONF_V0_3_0 300
#define NETCONF_V0_3_1 301
#define NETCONF_V0_4_0 400
#define NETCONF_V1_0_0 10000

/* Longest configuration file name (no directory) brig-cni accepts. */
#define NETCONF_NAME_MAX 255
/* Longest network name: the spec sets no bound; plugins put it in paths. */
#define NETCONF_NETWORK_MAX 128

/* One network configuration: a ".conflist" list, or a ".conf"/".json"
 * single plugin configuration seen as a list of one. The pointers and
 * plugin objects live in root; netconf_release() frees it all. */
struct netconf {
        json_t *root;
        char file[NETCONF_NAME_MAX + 1];
        bool is_list;
        const char *version;
        unsigned version_num;
        const char *name;
        bool disable_check;
        size_t n_plugins;
        json_t *plugins[CNI_MAX_PLUGINS];
        const char *types[CNI_MAX_PLUGINS];
};

/* Parses the file conf_name (its name decides list or single) from len
 * bytes of data. Refusals name the file and the field, e.g.
 * `10-brig.conflist: plugins[1]: "type" is missing`. */
int netconf_parse(const char *conf_name, const void *data, size_t len, struct netconf *ret,
                  char *msg, size_t msg_size);
/* The same checks on an already parsed root, which *ret then holds a
 * reference to (the caller keeps its own). */
int netconf_from_json(const char *conf_name, json_t *root, struct netconf *ret, char *msg,
                      size_t msg_size);
/* Frees what *c holds and zeroes it; safe on a zeroed or released netconf. */
void netconf_release(struct netconf *c);

/* Which plugin runs at step (0 .. n_plugins - 1) of command: list order for
 * ADD and CHECK, reverse order for DEL. */
size_t netconf_plugin_at(const struct netconf *c, enum cni_command command, size_t step);
/* True when CHECK runs no plugin: a list below 0.4.0 (which has no CHECK)
 * or one with "disableCheck": true. */
bool netconf_check_skipped(const struct netconf *c);
/* True when DEL gives plugins the cached result as prevResult: from 0.4.0
 * on; 0.3.x defines no prevResult for DEL. */
bool netconf_del_has_prev_result(const struct netconf *c);

/* One host port mapping from a REQUEST's PORTS records (channel.h). */
struct cni_port {
        uint32_t protocol; /* 6 tcp, 17 udp, 132 sctp */
        uint16_t host_port;
        uint16_t container_port;
        uint8_t host_ip[16]; /* IPv6 or IPv4-mapped; all zero: any */
};

/* The capability arguments a REQUEST carries for ADD. NULL strings and
 * false flags are absent tags. */
struct cni_caps {
        size_t n_ports;
        struct cni_port ports[CNI_MAX_PORTS];
        bool has_ingress_rate, has_egress_rate;
        uint64_t ingress_rate, egress_rate;                   /* bits per second, 1..INT64_MAX */
        const char *dns_servers, *dns_searches, *dns_options; /* space-separated */
};

/* The burst kubelet pairs with every rate it sets: the largest int32. */
#define NETCONF_BANDWIDTH_BURST 2147483647

/* Builds the capability arguments object: "portMappings", "bandwidth" and
 * "dns", each only when caps has data for it (an empty object when none).
 * Free *ret with json_decref(). */
int netconf_capargs(const struct cni_caps *caps, json_t **ret, char *msg, size_t msg_size);

/* Builds the stdin of the plugin at index: its own object without
 * "capabilities", with "cniVersion" and "name" of the list, "prevResult"
 * when prev_result is not NULL, and "runtimeConfig" holding the capargs
 * entries the plugin declares with true (omitted when none). Any
 * "runtimeConfig" or "prevResult" already in the file is replaced or
 * dropped: the runtime owns them. Fails when the JSON is longer than
 * max_len. *ret is NUL-terminated, *ret_len excludes the NUL; free(). */
int netconf_plugin_stdin(const struct netconf *c, size_t index, json_t *capargs,
                         json_t *prev_result, size_t max_len, char **ret, size_t *ret_len,
                         char *msg, size_t msg_size);

/* The message prefix naming a plugin run:
 * `CNI plugin bridge (ADD) for network brig`. */
void netconf_plugin_label(const struct netconf *c, size_t index, enum cni_command command,
                          char *buf, size_t size);

/* Parses a successful ADD's stdout, which must be a JSON object (a Result).
 * Free *ret with json_decref(). */
int netconf_parse_result(const struct netconf *c, size_t index, const void *out, size_t len,
                         json_t **ret, char *msg, size_t msg_size);

/* The FAIL message for a plugin run that ended with exit (channel.h's
 * CNI_TAG_EXIT, not 0) and printed out: from the plugin's error JSON
 * ({"code","msg","details"}) when it parses, else from the exit itself;
 * for CNI_EXIT_NOT_FOUND out is the runner's message. Always fills msg. */
void netconf_plugin_failure(const struct netconf *c, size_t index, enum cni_command command,
                            uint32_t exit, const void *out, size_t len, char *msg, size_t msg_size);

/* Longest canonical "address/prefix" string plus NUL. */
#define NETCONF_IP_MAX 50

/* The "address" of every entry of the result's "ips", in order, checked
 * (IPv4 or IPv6 with inet_pton, a prefix within the family's range) and
 * written canonically. No "ips": zero addresses. More than CNI_MAX_IPS,
 * or any bad entry, is refused. */
int netconf_result_ips(const struct netconf *c, const json_t *result, char ips[][NETCONF_IP_MAX],
                       size_t *ret_n, char *msg, size_t msg_size);

/* What a cache blob holds; netcache_release() frees it. */
struct netcache {
        struct netconf conf;
        char container_id[BRIG_HELPER_MAX_POD_ID];
        char ifname[16];
        json_t *capargs; /* never NULL once parsed */
        json_t *result;  /* NULL: the ADD never finished */
};

/* Writes the cache blob for an attachment: the configuration as parsed,
 * the capability arguments as sent, and result (NULL: not yet). Fails when
 * it is longer than max_len. *ret is NUL-terminated; free(). */
int netcache_blob(const struct netconf *c, const char *container_id, const char *ifname,
                  json_t *capargs, json_t *result, size_t max_len, char **ret, size_t *ret_len,
                  char *msg, size_t msg_size);
/* Parses and checks a cache blob written by netcache_blob(). */
int netcache_parse(const void *blob, size_t len, struct netcache *ret, char *msg, size_t msg_size);
void netcache_release(struct netcache *c);

/* CNI_CONTAINERID as brig sends it: a pod id, 64 lowercase hex. */
bool netconf_valid_container_id(const char *s);
/* CNI_IFNAME: 1-15 printable ASCII bytes, none of '/', ':' or space, and
 * not "." or "..". */
bool netconf_valid_ifname(const char *s);

/* Copies at most max bytes of src[0..len) into dst as text that cannot
 * forge a log line or a terminal sequence: valid UTF-8 is kept except
 * control characters (C0, DEL, C1), which become '?', as does every byte
 * that is not valid UTF-8; a NUL ends the text; "..." marks a cut. Always
 * NUL-terminates dst (dst_size >= 4). Returns dst. */
char *netconf_scrub(char *dst, size_t dst_size, const void *src, size_t len, size_t max);
