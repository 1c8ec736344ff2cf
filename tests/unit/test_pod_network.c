/* test_pod_network.c: unit tests for daemon/pod_network.h: bandwidth
 * quantities, and the NET_ADD request made from a PodSandboxConfig (port
 * mapping records, bandwidth annotations, DNS lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pod_network.h"

static uint64_t bw(const char *s)
{
        uint64_t v = 0;

        assert_int_equal(pod_network_parse_bandwidth(s, &v), 0);
        return v;
}

static void test_bandwidth_quantities(void **state)
{
        static const char *const bad[] = {"",    "M",    "-1M", "1 M",  "1m",  "1.M",
                                          ".5M", "1Mi2", "1MB", "0x10", "1e6", "20000000000E"};
        uint64_t v;
        (void)state;

        assert_int_equal(bw("1000"), 1000);
        assert_int_equal(bw("1k"), 1000);
        assert_int_equal(bw("10M"), 10000000);
        assert_int_equal(bw("1.5M"), 1500000);
        assert_int_equal(bw("1Ki"), 1024);
        assert_int_equal(bw("1Gi"), 1073741824);
        assert_int_equal(bw("1P"), 1000000000000000ULL);
        /* a fraction rounds up to a whole bit */
        assert_int_equal(bw("1.0001k"), 1001);
        assert_int_equal(bw("0.5"), 1);
        assert_int_equal(bw("1.5Ki"), 1536);
        assert_int_equal(bw("1.123456789123G"), 1123456789);
        assert_int_equal(bw("18E"), 18000000000000000000ULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(pod_network_parse_bandwidth(bad[i], &v), -EINVAL);
}

static Runtime__V1__PodSandboxConfig__AnnotationsEntry *annotation(const char *key,
                                                                   const char *value)
{
        static Runtime__V1__PodSandboxConfig__AnnotationsEntry entries[4];
        static unsigned n;
        Runtime__V1__PodSandboxConfig__AnnotationsEntry *e = &entries[n++ % 4];

        runtime__v1__pod_sandbox_config__annotations_entry__init(e);
        e->key = (char *)key;
        e->value = (char *)value;
        return e;
}

static void test_from_config(void **state)
{
        Runtime__V1__PodSandboxConfig c = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
        Runtime__V1__PortMapping m[3] = {RUNTIME__V1__PORT_MAPPING__INIT,
                                         RUNTIME__V1__PORT_MAPPING__INIT,
                                         RUNTIME__V1__PORT_MAPPING__INIT};
        Runtime__V1__PortMapping *mp[] = {&m[0], &m[1], &m[2]};
        Runtime__V1__DNSConfig dns = RUNTIME__V1__DNSCONFIG__INIT;
        char *servers[] = {"10.96.0.10", "fd00::a"}, *searches[] = {"a.svc", "svc"},
             *options[] = {"ndots:5"};
        Runtime__V1__PodSandboxConfig__AnnotationsEntry *ann[2];
        struct pod_network *net = malloc(sizeof(*net));
        char err[256];
        (void)state;

        assert_non_null(net);
        m[0].protocol = RUNTIME__V1__PROTOCOL__TCP;
        m[0].container_port = 80;
        m[0].host_port = 8080;
        m[0].host_ip = "127.0.0.1";
        m[1].container_port = 9090; /* no host port: not for CNI */
        m[1].host_ip = "";
        m[2].protocol = RUNTIME__V1__PROTOCOL__SCTP;
        m[2].container_port = 53;
        m[2].host_port = 5353;
        m[2].host_ip = "fd00::1";
        c.port_mappings = mp;
        c.n_port_mappings = 3;
        dns.servers = servers;
        dns.n_servers = 2;
        dns.searches = searches;
        dns.n_searches = 2;
        dns.options = options;
        dns.n_options = 1;
        c.dns_config = &dns;
        ann[0] = annotation(POD_INGRESS_BANDWIDTH_ANNOTATION, "10M");
        ann[1] = annotation("other", "x");
        c.annotations = ann;
        c.n_annotations = 2;

        assert_int_equal(pod_network_from_config(&c, net, err, sizeof(err)), 0);
        assert_int_equal(net->req.port_mappings_len, 2 * BRIG_HELPER_PORT_MAPPING_SIZE);
        static const uint8_t first[24] = {6, 0, 0, 0, 0x90, 0x1f, 80,   0,    0,   0, 0, 0,
                                          0, 0, 0, 0, 0,    0,    0xff, 0xff, 127, 0, 0, 1};
        assert_memory_equal(net->req.port_mappings, first, 24);
        const uint8_t *second = net->req.port_mappings + 24;
        assert_int_equal(second[0], 132);
        assert_int_equal(second[4] | second[5] << 8, 5353);
        assert_int_equal(second[8], 0xfd);
        assert_int_equal(second[23], 1);
        assert_true(net->req.has_ingress);
        assert_int_equal(net->req.ingress, 10000000);
        assert_false(net->req.has_egress);
        assert_string_equal(net->req.dns_servers, "10.96.0.10 fd00::a");
        assert_string_equal(net->req.dns_searches, "a.svc svc");
        assert_string_equal(net->req.dns_options, "ndots:5");

        /* no DNS config, no mappings: nothing to send */
        Runtime__V1__PodSandboxConfig empty = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
        assert_int_equal(pod_network_from_config(&empty, net, err, sizeof(err)), 0);
        assert_int_equal(net->req.port_mappings_len, 0);
        assert_null(net->req.dns_servers);
        assert_false(net->req.has_ingress);

        /* kubelet's bounds */
        ann[0] = annotation(POD_EGRESS_BANDWIDTH_ANNOTATION, "999");
        assert_int_equal(pod_network_from_config(&c, net, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "kubernetes.io/egress-bandwidth is \"999\""));
        ann[0] = annotation(POD_EGRESS_BANDWIDTH_ANNOTATION, "2P");
        assert_int_equal(pod_network_from_config(&c, net, err, sizeof(err)), -EINVAL);
        ann[0] = annotation(POD_EGRESS_BANDWIDTH_ANNOTATION, "fast");
        assert_int_equal(pod_network_from_config(&c, net, err, sizeof(err)), -EINVAL);
        ann[0] = annotation(POD_EGRESS_BANDWIDTH_ANNOTATION, "1P");
        assert_int_equal(pod_network_from_config(&c, net, err, sizeof(err)), 0);
        assert_true(net->req.has_egress);
        free(net);
}

static void test_dns_from_host(void **state)
{
        static const char text[] = "# written by a DHCP client\n"
                                   "nameserver 127.0.0.53\n"
                                   "nameserver 10.0.0.2 # the site's\n"
                                   "nameserver ::1\n"
                                   "nameserver not-an-ip\n"
                                   "nameserver fd00::53\n"
                                   "domain old.example\n"
                                   "search corp.example lab.example bad;item\n"
                                   "options ndots:2 edns0\n"
                                   "options rotate\n"
                                   "nameserver 10.0.0.3\n"
                                   "nameserver 10.0.0.4\n";
        struct pod_network *net = calloc(1, sizeof(*net));
        char path[] = "/tmp/brig-resolv-XXXXXX";
        int fd = mkstemp(path);
        (void)state;

        assert_non_null(net);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
        close(fd);
        assert_int_equal(pod_network_dns_from_host(net, path), 0);
        /* loopback resolvers dropped, three at most, as glibc reads them */
        assert_string_equal(net->files_dns[0], "10.0.0.2 fd00::53 10.0.0.3");
        /* the last search or domain line wins; bad items are left out */
        assert_string_equal(net->files_dns[1], "corp.example lab.example");
        assert_string_equal(net->files_dns[2], "ndots:2 edns0 rotate");
        /* the node's resolvers are for the pod's files, not for CNI */
        assert_null(net->req.dns_servers);
        unlink(path);

        memset(net, 0, sizeof(*net));
        assert_int_equal(pod_network_dns_from_host(net, "/nonexistent/resolv.conf"), 0);
        assert_null(net->files_dns[0]);
        free(net);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bandwidth_quantities),
            cmocka_unit_test(test_from_config),
            cmocka_unit_test(test_dns_from_host),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
