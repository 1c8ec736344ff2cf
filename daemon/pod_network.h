/* pod_network.h: what a pod asks of the CNI network, read from its
 * PodSandboxConfig: host port mappings, bandwidth limits (the
 * kubernetes.io/ingress-bandwidth and egress-bandwidth annotations) and DNS,
 * in the form the helper's NET_ADD takes. */
#pragma once

#include <stdint.h>

#include "api.pb-c.h"
#include "helper_client.h"
#include "proto/helper.h"

#define POD_INGRESS_BANDWIDTH_ANNOTATION "kubernetes.io/ingress-bandwidth"
#define POD_EGRESS_BANDWIDTH_ANNOTATION  "kubernetes.io/egress-bandwidth"

/* A NET_ADD request, the DNS lists of the pod's resolv.conf, and the
 * storage they point into. */
struct pod_network {
        struct helper_net_request req;
        const char *files_dns[3]; /* servers, searches, options; NULL: none */
        uint8_t ports[BRIG_HELPER_MAX_PORT_MAPPINGS * BRIG_HELPER_PORT_MAPPING_SIZE];
        char dns_servers[BRIG_HELPER_MAX_DNS_LIST];
        char dns_searches[BRIG_HELPER_MAX_DNS_LIST];
        char dns_options[BRIG_HELPER_MAX_DNS_LIST];
};

/* Fills net from c (whose metadata, ports and DNS servers the caller
 * checked): mappings with a host port only, as kubelet means them.
 * Returns 0, or -EINVAL with err naming the field (a bandwidth that is not
 * a quantity from 1k to 1P, too many mappings, a DNS list too long). */
int pod_network_from_config(const Runtime__V1__PodSandboxConfig *c, struct pod_network *net,
                            char *err, size_t err_size);

/* For a pod whose config has no DNS: the node's resolver configuration
 * from path (resolv.conf(5): nameserver, search or domain, options) into
 * net's files_dns (not the CNI request: that carries the pod's own DNS
 * only), without loopback resolvers (they would be the pod's own loopback)
 * and without items the helper would refuse. A missing file means no DNS.
 * Returns 0 or a negative errno from reading. */
int pod_network_dns_from_host(struct pod_network *net, const char *path);

/* A Kubernetes quantity in bits per second ("10M", "1.5Gi", "100000"):
 * decimal digits with an optional fraction and an optional suffix k M G T P
 * E or Ki Mi Gi Ti Pi Ei. Returns 0 with the value rounded up, or -EINVAL. */
int pod_network_parse_bandwidth(const char *s, uint64_t *ret);
