/* pod_network.c: owns turning a PodSandboxConfig into the NET_ADD request
 * (see pod_network.h): port mapping records, bandwidth quantities, DNS
 * lists. */
#include "pod_network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "tlv.h"
#include "util.h"

/* kubelet's bounds on a pod's bandwidth, in bits per second. */
#define BANDWIDTH_MIN 1000ULL
#define BANDWIDTH_MAX 1000000000000000ULL

int pod_network_parse_bandwidth(const char *s, uint64_t *ret)
{
        static const struct {
                const char *suffix;
                uint64_t factor;
        } suffixes[] = {
            {"", 1},
            {"k", 1000ULL},
            {"M", 1000000ULL},
            {"G", 1000000000ULL},
            {"T", 1000000000000ULL},
            {"P", 1000000000000000ULL},
            {"E", 1000000000000000000ULL},
            {"Ki", 1ULL << 10},
            {"Mi", 1ULL << 20},
            {"Gi", 1ULL << 30},
            {"Ti", 1ULL << 40},
            {"Pi", 1ULL << 50},
            {"Ei", 1ULL << 60},
        };
        uint64_t whole = 0, frac = 0, frac_div = 1;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return -EINVAL;
                whole = whole * 10 + (uint64_t)(*p - '0');
        }
        if (*p == '.') {
                if (p[1] < '0' || p[1] > '9')
                        return -EINVAL;
                /* more than 9 fraction digits add nothing a rate needs */
                for (p++; *p >= '0' && *p <= '9'; p++)
                        if (frac_div < 1000000000ULL) {
                                frac = frac * 10 + (uint64_t)(*p - '0');
                                frac_div *= 10;
                        }
        }
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                uint64_t f = suffixes[i].factor, v;

                if (strcmp(p, suffixes[i].suffix) != 0)
                        continue;
                if (whole > UINT64_MAX / f)
                        return -EINVAL;
                v = whole * f;
                /* frac < frac_div <= 1e9: split f so that nothing overflows */
                if (frac) {
                        uint64_t part =
                            f / frac_div * frac + (f % frac_div * frac + frac_div - 1) / frac_div;
                        if (v > UINT64_MAX - part)
                                return -EINVAL;
                        v += part;
                }
                *ret = v;
                return 0;
        }
        return -EINVAL;
}

static int bandwidth_of(const Runtime__V1__PodSandboxConfig *c, const char *key, bool *has,
                        uint64_t *ret, char *err, size_t err_size)
{
        for (size_t i = 0; i < c->n_annotations; i++) {
                const char *v = c->annotations[i]->value;

                if (strcmp(c->annotations[i]->key, key) != 0)
                        continue;
                if (pod_network_parse_bandwidth(v, ret) < 0 || *ret < BANDWIDTH_MIN ||
                    *ret > BANDWIDTH_MAX)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: annotation %s is \"%.64s\": expected a "
                                           "quantity from 1k to 1P bits per second",
                                           key, v);
                *has = true;
                return 0;
        }
        return 0;
}

/* items joined by single spaces into buf. */
static int join(char *const *items, size_t n, char *buf, size_t size, const char *what, char *err,
                size_t err_size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(buf + len, size - len, "%s%s", i ? " " : "", items[i]);

                if (w < 0 || (size_t)w >= size - len)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: dns_config.%s is over %zu bytes", what,
                                           size - 1);
                len += (size_t)w;
        }
        return 0;
}

static uint32_t protocol_number(Runtime__V1__Protocol p)
{
        switch (p) {
        case RUNTIME__V1__PROTOCOL__UDP:
                return 17;
        case RUNTIME__V1__PROTOCOL__SCTP:
                return 132;
        default:
                return 6;
        }
}

int pod_network_from_config(const Runtime__V1__PodSandboxConfig *c, struct pod_network *net,
                            char *err, size_t err_size)
{
        const Runtime__V1__DNSConfig *dns = c->dns_config;
        size_t n = 0;
        int r;

        *net = (struct pod_network){0};
        for (size_t i = 0; i < c->n_port_mappings; i++) {
                const Runtime__V1__PortMapping *m = c->port_mappings[i];
                uint8_t *rec = net->ports + n * BRIG_HELPER_PORT_MAPPING_SIZE;
                struct in_addr v4;

                if (m->host_port <= 0)
                        continue;
                if (n == BRIG_HELPER_MAX_PORT_MAPPINGS)
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: more than %d host port mappings",
                                           BRIG_HELPER_MAX_PORT_MAPPINGS);
                tlv_le32_encode(rec, protocol_number(m->protocol));
                tlv_le16_encode(rec + 4, (uint16_t)m->host_port);
                tlv_le16_encode(rec + 6, (uint16_t)m->container_port);
                if (inet_pton(AF_INET, m->host_ip, &v4) == 1) {
                        rec[18] = rec[19] = 0xff;
                        memcpy(rec + 20, &v4, 4);
                } else if (m->host_ip[0] && inet_pton(AF_INET6, m->host_ip, rec + 8) != 1) {
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "RunPodSandbox: port mapping host_ip \"%.64s\" is not "
                                           "an IP address",
                                           m->host_ip);
                }
                n++;
        }
        net->req.port_mappings = net->ports;
        net->req.port_mappings_len = n * BRIG_HELPER_PORT_MAPPING_SIZE;
        r = bandwidth_of(c, POD_INGRESS_BANDWIDTH_ANNOTATION, &net->req.has_ingress,
                         &net->req.ingress, err, err_size);
        if (r == 0)
                r = bandwidth_of(c, POD_EGRESS_BANDWIDTH_ANNOTATION, &net->req.has_egress,
                                 &net->req.egress, err, err_size);
        if (r == 0 && dns)
                r = join(dns->servers, dns->n_servers, net->dns_servers, sizeof(net->dns_servers),
                         "servers", err, err_size);
        if (r == 0 && dns)
                r = join(dns->searches, dns->n_searches, net->dns_searches,
                         sizeof(net->dns_searches), "searches", err, err_size);
        if (r == 0 && dns)
                r = join(dns->options, dns->n_options, net->dns_options, sizeof(net->dns_options),
                         "options", err, err_size);
        if (r < 0)
                return r;
        net->req.dns_servers = net->files_dns[0] = net->dns_servers[0] ? net->dns_servers : NULL;
        net->req.dns_searches = net->files_dns[1] = net->dns_searches[0] ? net->dns_searches : NULL;
        net->req.dns_options = net->files_dns[2] = net->dns_options[0] ? net->dns_options : NULL;
        return 0;
}

static bool plain_item(const char *s, const char *extra)
{
        size_t n = 0;

        for (; s[n]; n++)
                if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
                      (s[n] >= '0' && s[n] <= '9') || strchr(extra, s[n])))
                        return false;
        return n > 0 && n <= 253;
}

static bool loopback_resolver(const char *s)
{
        struct in_addr v4;
        struct in6_addr v6;

        if (inet_pton(AF_INET, s, &v4) == 1)
                return (ntohl(v4.s_addr) >> 24) == 127;
        return inet_pton(AF_INET6, s, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* Appends item to the space-separated list in buf, if it fits. */
static void append(char *buf, size_t size, const char *item)
{
        size_t len = strlen(buf), n = strlen(item);

        if (len + (len > 0) + n + 1 > size)
                return;
        if (len)
                buf[len++] = ' ';
        memcpy(buf + len, item, n + 1);
}

int pod_network_dns_from_host(struct pod_network *net, const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[1024];
        unsigned servers = 0;

        if (!f)
                return errno == ENOENT ? 0 : negative_errno();
        net->dns_servers[0] = net->dns_searches[0] = net->dns_options[0] = '\0';
        while (fgets(line, sizeof(line), f)) {
                char *save = NULL, *key = strtok_r(line, " \t\r\n", &save), *v;
                bool search = key && (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0);

                if (!key || key[0] == '#' || key[0] == ';')
                        continue;
                if (search) /* the last search or domain line wins */
                        net->dns_searches[0] = '\0';
                while ((v = strtok_r(NULL, " \t\r\n", &save)) && v[0] != '#' && v[0] != ';') {
                        if (strcmp(key, "nameserver") == 0) {
                                struct in6_addr a;
                                /* glibc reads three */
                                if (servers < 3 && !loopback_resolver(v) &&
                                    (inet_pton(AF_INET, v, &a) == 1 ||
                                     inet_pton(AF_INET6, v, &a) == 1)) {
                                        append(net->dns_servers, sizeof(net->dns_servers), v);
                                        servers++;
                                }
                                break;
                        }
                        if (search && plain_item(v, "._-"))
                                append(net->dns_searches, sizeof(net->dns_searches), v);
                        else if (strcmp(key, "options") == 0 && plain_item(v, "._:-"))
                                append(net->dns_options, sizeof(net->dns_options), v);
                }
        }
        net->files_dns[0] = net->dns_servers[0] ? net->dns_servers : NULL;
        net->files_dns[1] = net->dns_searches[0] ? net->dns_searches : NULL;
        net->files_dns[2] = net->dns_options[0] ? net->dns_options : NULL;
        return 0;
}
