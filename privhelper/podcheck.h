/* podcheck.h: the rules POD_CREATE and NET_ADD apply to what brigd asks
 * for a pod: pod ids, hostnames, sysctls, the names that go into CNI_ARGS,
 * port mappings and DNS lists. Pure functions, so the
 * unit tests and the fuzzer run them without privileges. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* "/proc/sys/" relative path: a 127-byte name plus NUL, with room to spare */
#define PODCHECK_SYSCTL_PATH_MAX  128
#define PODCHECK_SYSCTL_VALUE_MAX 128

struct pod_sysctl {
        char path[PODCHECK_SYSCTL_PATH_MAX];   /* below /proc/sys, '/'-separated */
        char value[PODCHECK_SYSCTL_VALUE_MAX]; /* written as is */
};

/* A pod id: exactly 64 lowercase hex digits. */
bool podcheck_pod_id(const char *id);

/* A hostname kubelet may send: 1..63 bytes of [a-z0-9.-], each dot-separated
 * label starting and ending with a letter or digit. Returns 0, or -EINVAL
 * with reason set. */
int podcheck_hostname(const char *name, char *reason, size_t reason_size);

/* Parses spec ("name=value", the name dotted or slashed) into ret and
 * checks it against the namespaces the pod gets new (BRIG_POD_NS_* bits in
 * new_ns). Only namespaced sysctls pass: net.* with a new network namespace;
 * kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.* with a new IPC one.
 * The value must be 1..127 bytes of letters, digits, space, tab and ._:,-
 * so it cannot carry a second assignment or a line break. Returns 0,
 * -EINVAL (malformed) or -EPERM (not namespaced, or the namespace is the
 * node's), with reason set. */
int podcheck_sysctl(const char *spec, unsigned new_ns, struct pod_sysctl *ret, char *reason,
                    size_t reason_size);

/* A Kubernetes namespace, name or UID as it goes into CNI_ARGS: 1..253 of
 * [A-Za-z0-9._-], so it can hold no ';' or '=' to add an argument. what
 * names the field in reason. Returns 0 or -EINVAL with reason set. */
int podcheck_k8s_name(const char *what, const char *value, char *reason, size_t reason_size);

/* Port mapping records (the layout of privhelper/cni/channel.h): len a
 * multiple of 24, at most 256 records, each with protocol 6, 17 or 132,
 * both ports 1..65535. Returns 0 or -EINVAL with reason set. */
int podcheck_port_mappings(const void *records, size_t len, char *reason, size_t reason_size);

enum podcheck_dns_list {
        PODCHECK_DNS_SERVERS,  /* IPv4 or IPv6 addresses */
        PODCHECK_DNS_SEARCHES, /* domains: [A-Za-z0-9._-], each 1..253 */
        PODCHECK_DNS_OPTIONS,  /* resolver options: [A-Za-z0-9._:-] */
};

/* A space-separated DNS list of the given kind: single spaces between
 * non-empty items, nothing that could start a new resolv.conf line or
 * keyword. Returns 0 or -EINVAL with reason set. */
int podcheck_dns_list(enum podcheck_dns_list kind, const char *list, char *reason,
                      size_t reason_size);

/* A pod address as CNI reports it, "10.88.0.5/16" or "fd00::5/64": an
 * IPv4 or IPv6 address and a prefix length in range. Writes the address
 * alone into addr (at least 46 bytes) when addr is not NULL. Returns true
 * when cidr is one. */
bool podcheck_pod_ip(const char *cidr, char *addr, size_t addr_size);
