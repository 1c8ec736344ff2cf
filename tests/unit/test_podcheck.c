/* test_podcheck.c: unit tests for privhelper/podcheck.h: pod ids, hostnames,
 * sysctls, CNI_ARGS names, port mapping records and DNS lists, each accepted case with the path and
 * value it yields and each refusal with its errno and a reason that names what was refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "privhelper/podcheck.h"
#include "proto/helper.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NET   BRIG_POD_NS_NET
#define IPC   BRIG_POD_NS_IPC
#define UTS   BRIG_POD_NS_UTS
#define ALL   BRIG_POD_NS_ALL

/* A string of n copies of c, in one of a few static buffers. */
static const char *rep(char c, size_t n)
{
        static char bufs[4][1024];
        static unsigned next;
        char *b = bufs[next++ % 4];

        assert_true(n < sizeof(bufs[0]));
        memset(b, c, n);
        b[n] = '\0';
        return b;
}

/* ---- pod ids ---------------------------------------------------------- */

static void test_pod_id(void **state)
{
        char id[80];

        (void)state;
        assert_true(podcheck_pod_id(HEX64));
        assert_true(podcheck_pod_id(rep('0', 64)));
        assert_true(podcheck_pod_id(rep('f', 64)));

        assert_false(podcheck_pod_id(""));
        assert_false(podcheck_pod_id(rep('a', 63)));
        assert_false(podcheck_pod_id(rep('a', 65)));
        assert_false(podcheck_pod_id(rep('a', 128)));
        assert_false(podcheck_pod_id(HEX64 "0"));

        /* One bad byte anywhere: uppercase hex, a letter past 'f', others. */
        const char bad[] = {'A', 'F', 'g', 'z', 'G', ' ', '-', '.', '/', '\n', '\x80', '\xff'};
        for (size_t b = 0; b < sizeof(bad); b++)
                for (size_t at = 0; at < 64; at += 21) {
                        snprintf(id, sizeof(id), "%s", HEX64);
                        id[at] = bad[b];
                        if (podcheck_pod_id(id))
                                fail_msg("pod id with byte 0x%02x at %zu accepted",
                                         (unsigned char)bad[b], at);
                }
        snprintf(id, sizeof(id), "%s", HEX64);
        id[63] = 'A';
        assert_false(podcheck_pod_id(id));
        assert_false(
            podcheck_pod_id("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
}

/* ---- hostnames -------------------------------------------------------- */

static void hostname_ok(const char *name)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        int r = podcheck_hostname(name, reason, sizeof(reason));

        if (r != 0)
                fail_msg("hostname \"%s\" refused (%d): %s", name, r, reason);
}

static void hostname_refused(const char *name)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        int r = podcheck_hostname(name, reason, sizeof(reason));

        if (r == 0)
                fail_msg("hostname \"%s\" accepted", name);
        assert_int_equal(r, -EINVAL);
        assert_true(reason[0] != '\0');
        assert_non_null(strstr(reason, "hostname"));
}

static void test_hostname(void **state)
{
        char name[128];

        (void)state;
        hostname_ok("a");
        hostname_ok("0");
        hostname_ok("pod-a.example");
        hostname_ok("a-b-c");
        hostname_ok("a--b");
        hostname_ok("a.b.c.d");
        hostname_ok("0.1");
        hostname_ok("x1.y2-z3");
        hostname_ok(rep('a', 63));
        snprintf(name, sizeof(name), "a%sz", rep('-', 61));
        hostname_ok(name);

        hostname_refused("");
        hostname_refused(rep('a', 64));
        hostname_refused(rep('a', 200));
        hostname_refused("A");
        hostname_refused("Pod");
        hostname_refused("pod-A.example");
        hostname_refused("-a");
        hostname_refused("a-");
        hostname_refused("-");
        hostname_refused("a.-b");
        hostname_refused("a-.b");
        hostname_refused("a..b");
        hostname_refused(".a");
        hostname_refused("a.");
        hostname_refused(".");
        hostname_refused("..");
        hostname_refused("a_b");
        hostname_refused("a b");
        hostname_refused("a/b");
        hostname_refused("a\n");
        hostname_refused("a\nb");
        hostname_refused("\na");
        hostname_refused("a\tb");
        hostname_refused("caf\xc3\xa9");

        /* The length error gives the length; the character error quotes the name. */
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        assert_int_equal(podcheck_hostname(rep('a', 64), reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "64"));
        assert_int_equal(podcheck_hostname("a_b", reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "\"a_b\""));
}

/* ---- sysctls ---------------------------------------------------------- */

/* What a refusal must leave in ret: nothing written. */
#define SENTINEL "untouched"

static void sysctl_ok(const char *spec, unsigned new_ns, const char *path, const char *value)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        struct pod_sysctl s;

        memset(&s, 'X', sizeof(s));
        int r = podcheck_sysctl(spec, new_ns, &s, reason, sizeof(reason));
        if (r != 0)
                fail_msg("sysctl \"%s\" (ns 0x%x) refused (%d): %s", spec, new_ns, r, reason);
        assert_string_equal(s.path, path);
        assert_string_equal(s.value, value);
}

/* Refused with err, and a reason that names the sysctl: mention is the
 * part of the spec it must quote (NULL: it must say "sysctl"). */
static void sysctl_refused(const char *spec, unsigned new_ns, int err, const char *mention)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        struct pod_sysctl s;

        snprintf(s.path, sizeof(s.path), SENTINEL);
        snprintf(s.value, sizeof(s.value), SENTINEL);
        int r = podcheck_sysctl(spec, new_ns, &s, reason, sizeof(reason));
        if (r == 0)
                fail_msg("sysctl \"%s\" (ns 0x%x) accepted as %s=%s", spec, new_ns, s.path,
                         s.value);
        if (r != err)
                fail_msg("sysctl \"%s\" (ns 0x%x): %d, not %d: %s", spec, new_ns, r, err, reason);
        assert_true(reason[0] != '\0');
        assert_non_null(strstr(reason, "sysctl"));
        if (mention && !strstr(reason, mention))
                fail_msg("sysctl \"%s\": reason does not name \"%s\": %s", spec, mention, reason);
        assert_string_equal(s.path, SENTINEL);
        assert_string_equal(s.value, SENTINEL);
}

static void test_sysctl_accepted(void **state)
{
        (void)state;
        sysctl_ok("net.ipv4.ip_forward=1", NET, "net/ipv4/ip_forward", "1");
        sysctl_ok("net/ipv4/ip_forward=1", NET, "net/ipv4/ip_forward", "1");
        /* The slashed form lets a component hold a dot: a VLAN interface. */
        sysctl_ok("net/ipv4/conf/eth0.100/forwarding=1", NET, "net/ipv4/conf/eth0.100/forwarding",
                  "1");
        sysctl_ok("kernel.shmmax=68719476736", IPC, "kernel/shmmax", "68719476736");
        sysctl_ok("kernel.shmall=18446744073692774399", IPC, "kernel/shmall",
                  "18446744073692774399");
        sysctl_ok("kernel.shm_rmid_forced=1", IPC, "kernel/shm_rmid_forced", "1");
        sysctl_ok("kernel.msgmax=8192", IPC, "kernel/msgmax", "8192");
        sysctl_ok("kernel.msg_next_id=-1", IPC, "kernel/msg_next_id", "-1");
        sysctl_ok("kernel.sem=250 32000 100 128", IPC, "kernel/sem", "250 32000 100 128");
        sysctl_ok("fs.mqueue.msg_max=20", IPC, "fs/mqueue/msg_max", "20");
        sysctl_ok("fs/mqueue/queues_max=256", IPC, "fs/mqueue/queues_max", "256");
        sysctl_ok("net.ipv4.ping_group_range=0\t2147483647", NET, "net/ipv4/ping_group_range",
                  "0\t2147483647");
        sysctl_ok("net.ipv4.ip_local_port_range=1024 65000", NET, "net/ipv4/ip_local_port_range",
                  "1024 65000");
        sysctl_ok("net.ipv4.tcp_congestion_control=bbr", NET, "net/ipv4/tcp_congestion_control",
                  "bbr");
        sysctl_ok("net.core.somaxconn=1024", NET, "net/core/somaxconn", "1024");
        sysctl_ok("net.ipv6.conf.all.disable_ipv6=1", NET, "net/ipv6/conf/all/disable_ipv6", "1");
        sysctl_ok("net/ipv6/conf/eth-0_a/disable_ipv6=0", NET, "net/ipv6/conf/eth-0_a/disable_ipv6",
                  "0");
        /* Every character the value allows. */
        sysctl_ok("net.x=aZ09 \t._:,-", NET, "net/x", "aZ09 \t._:,-");

        /* The other namespaces (and UTS) do not matter. */
        sysctl_ok("net.ipv4.ip_forward=1", ALL, "net/ipv4/ip_forward", "1");
        sysctl_ok("net.ipv4.ip_forward=1", NET | UTS, "net/ipv4/ip_forward", "1");
        sysctl_ok("kernel.sem=1 2 3 4", ALL, "kernel/sem", "1 2 3 4");
        sysctl_ok("kernel.sem=1 2 3 4", IPC | UTS, "kernel/sem", "1 2 3 4");

        /* kernel.shm* and kernel.msg* are prefixes, as in Kubernetes: a bare
         * "kernel.shm" passes the check (and would fail when written, no
         * such file). */
        sysctl_ok("kernel.shm=1", IPC, "kernel/shm", "1");
        sysctl_ok("kernel.msg=1", IPC, "kernel/msg", "1");

        /* A ".." inside a component is a name, not a step up: Linux allows
         * interface names such as "a..b" (only "." and ".." are not). */
        sysctl_ok("net/ipv4/conf/a..b/forwarding=1", NET, "net/ipv4/conf/a..b/forwarding", "1");
        sysctl_ok("net/ipv4/conf/.../forwarding=1", NET, "net/ipv4/conf/.../forwarding", "1");

        /* Limits: a 127-byte name, a 127-byte value, 16 components. */
        char spec[512], path[256];
        snprintf(spec, sizeof(spec), "net.%s=1", rep('a', 123));
        snprintf(path, sizeof(path), "net/%s", rep('a', 123));
        sysctl_ok(spec, NET, path, "1");
        snprintf(spec, sizeof(spec), "net.x=%s", rep('7', 127));
        sysctl_ok(spec, NET, "net/x", rep('7', 127));
        sysctl_ok("net.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o=1", NET, "net/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o",
                  "1");
}

static void test_sysctl_malformed(void **state)
{
        char spec[512];

        (void)state;
        /* not name=value */
        sysctl_refused("", ALL, -EINVAL, NULL);
        sysctl_refused("net.ipv4.ip_forward", ALL, -EINVAL, "net.ipv4.ip_forward");
        sysctl_refused("net.ipv4.ip_forward 1", ALL, -EINVAL, "net.ipv4.ip_forward 1");
        /* the name's length */
        sysctl_refused("=1", ALL, -EINVAL, NULL);
        snprintf(spec, sizeof(spec), "net.%s=1", rep('a', 124));
        sysctl_refused(spec, ALL, -EINVAL, NULL);
        snprintf(spec, sizeof(spec), "net.%s=1", rep('a', 400));
        sysctl_refused(spec, ALL, -EINVAL, NULL);
        /* "." and ".." components */
        sysctl_refused("net/../kernel/core_pattern=x", ALL, -EINVAL, "net/../kernel/core_pattern");
        sysctl_refused("net/ipv4/..=1", ALL, -EINVAL, "net/ipv4/..");
        sysctl_refused("net/./ipv4/ip_forward=1", ALL, -EINVAL, "net/./ipv4/ip_forward");
        sysctl_refused("net/ipv4/conf/./forwarding=1", ALL, -EINVAL, "net/ipv4/conf/./forwarding");
        sysctl_refused("../net=1", ALL, -EINVAL, "../net");
        sysctl_refused("..=1", ALL, -EINVAL, NULL);
        sysctl_refused(".=1", ALL, -EINVAL, NULL);
        /* empty components, leading and trailing separators */
        sysctl_refused("net..ipv4.ip_forward=1", ALL, -EINVAL, "net..ipv4.ip_forward");
        sysctl_refused("net//ipv4/ip_forward=1", ALL, -EINVAL, "net//ipv4/ip_forward");
        sysctl_refused(".net.ipv4.ip_forward=1", ALL, -EINVAL, ".net.ipv4.ip_forward");
        sysctl_refused("/net/ipv4/ip_forward=1", ALL, -EINVAL, "/net/ipv4/ip_forward");
        sysctl_refused("/proc/sys/net/ipv4/ip_forward=1", ALL, -EINVAL, "/proc/sys/net");
        sysctl_refused("net.ipv4.ip_forward.=1", ALL, -EINVAL, "net.ipv4.ip_forward.");
        sysctl_refused("net/ipv4/ip_forward/=1", ALL, -EINVAL, "net/ipv4/ip_forward/");
        sysctl_refused("net.=1", ALL, -EINVAL, "net.");
        sysctl_refused("net/=1", ALL, -EINVAL, "net/");
        sysctl_refused("/=1", ALL, -EINVAL, NULL);
        /* more than 16 components */
        sysctl_refused("net.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p=1", ALL, -EINVAL,
                       "net.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p");
        /* characters a name may not have */
        sysctl_refused("net.ipv4.ip forward=1", ALL, -EINVAL, "net.ipv4.ip forward");
        sysctl_refused("net.ipv4.ip*forward=1", ALL, -EINVAL, "net.ipv4.ip*forward");
        sysctl_refused("net.ipv4.ip\nforward=1", ALL, -EINVAL, "net.ipv4.ip\nforward");
        sysctl_refused("net.ipv4.ip_forward\n=1", ALL, -EINVAL, "net.ipv4.ip_forward");
        sysctl_refused("net.ipv4.ip_forward\t=1", ALL, -EINVAL, "net.ipv4.ip_forward");
        sysctl_refused("net.ipv4:ip_forward=1", ALL, -EINVAL, "net.ipv4:ip_forward");
        sysctl_refused("net.ipv4.ip_forward;x=1", ALL, -EINVAL, "net.ipv4.ip_forward;x");
        sysctl_refused("net\\ipv4\\ip_forward=1", ALL, -EINVAL, "net\\ipv4");
        sysctl_refused("net.caf\xc3\xa9=1", ALL, -EINVAL, "net.caf");
        sysctl_refused("net.ipv4.ip~forward=1", ALL, -EINVAL, "net.ipv4.ip~forward");
}

static void test_sysctl_values(void **state)
{
        char spec[512];

        (void)state;
        sysctl_refused("net.ipv4.ip_forward=", NET, -EINVAL, "net.ipv4.ip_forward");
        snprintf(spec, sizeof(spec), "net.ipv4.ip_forward=%s", rep('1', 128));
        sysctl_refused(spec, NET, -EINVAL, "net.ipv4.ip_forward");
        snprintf(spec, sizeof(spec), "net.ipv4.ip_forward=%s", rep('1', 500));
        sysctl_refused(spec, NET, -EINVAL, "net.ipv4.ip_forward");

        /* nothing that could end the line or start another assignment */
        static const char *const values[] = {
            "1\n",         "1\nnet.ipv4.conf.all.forwarding=1",
            "\n",          "1\r",
            "1=2",         "=",
            "1+1",         "1;reboot",
            "1|x",         "a/b",
            "../../x",     "$(reboot)",
            "${HOME}",     "1`x`",
            "'1'",         "\"1\"",
            "1&",          "1>x",
            "1<x",         "1\\n",
            "1\x01",       "1\x7f",
            "caf\xc3\xa9", "*",
            "1#",          "1!",
            "1%n",         "1@x",
            "(1)",         "[1]",
            "{1}",         "1?",
            "~",           "1\v",
            "1\f",
        };
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                snprintf(spec, sizeof(spec), "net.ipv4.ip_forward=%s", values[i]);
                sysctl_refused(spec, NET, -EINVAL, "net.ipv4.ip_forward");
                snprintf(spec, sizeof(spec), "kernel.sem=%s", values[i]);
                sysctl_refused(spec, IPC, -EINVAL, "kernel.sem");
        }
        /* The byte refused is named. */
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        struct pod_sysctl s;
        assert_int_equal(podcheck_sysctl("net.x=1;2", NET, &s, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "0x3b"));
}

static void test_sysctl_not_namespaced(void **state)
{
        (void)state;
        /* not namespaced at all: refused whatever the pod gets new */
        static const char *const specs[] = {
            "kernel.core_pattern=x",
            "kernel/core_pattern=x",
            "kernel.hostname=x",
            "kernel.domainname=x",
            "kernel.modprobe=x",
            "kernel.sem_next_id=1",
            "kernel.semx=1",
            "kernel.shmmax.x=1",
            "kernel.msgmax.x=1",
            "kernel.sem.x=1",
            "kernel=1",
            "vm.swappiness=1",
            "vm.overcommit_memory=1",
            "fs.file-max=1",
            "fs.mqueue=1",
            "fs.mqueue.msg_max.x=1",
            "fs.mqueuex.msg_max=1",
            "fs.msg_max=1",
            "fs=1",
            "net=1",
            "Net.ipv4.ip_forward=1",
            "NET.ipv4.ip_forward=1",
            "Kernel.shmmax=1",
            "user.max_user_namespaces=0",
            "abi.vsyscall32=1",
            "dev.tty.ldisc_autoload=1",
            "debug.exception-trace=1",
            "sunrpc.nfs_debug=1",
            "a.b=1",
        };
        for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
                const char *eq = strchr(specs[i], '=');
                char name[128];

                snprintf(name, sizeof(name), "%.*s", (int)(eq - specs[i]), specs[i]);
                sysctl_refused(specs[i], ALL, -EPERM, name);
                sysctl_refused(specs[i], 0, -EPERM, name);
        }
        /* The namespace check comes before the value's. */
        sysctl_refused("vm.swappiness=", ALL, -EPERM, "vm.swappiness");
        sysctl_refused("vm.swappiness=1;x", ALL, -EPERM, "vm.swappiness");
}

static void test_sysctl_node_namespace(void **state)
{
        (void)state;
        /* net.* needs a new network namespace */
        sysctl_refused("net.ipv4.ip_forward=1", IPC | UTS, -EPERM, "net.ipv4.ip_forward");
        sysctl_refused("net.ipv4.ip_forward=1", IPC, -EPERM, "net.ipv4.ip_forward");
        sysctl_refused("net.ipv4.ip_forward=1", UTS, -EPERM, "net.ipv4.ip_forward");
        sysctl_refused("net.ipv4.ip_forward=1", 0, -EPERM, "net.ipv4.ip_forward");
        sysctl_refused("net/ipv4/conf/eth0.100/forwarding=1", IPC | UTS, -EPERM,
                       "net/ipv4/conf/eth0.100/forwarding");
        sysctl_refused("net.core.somaxconn=1024", IPC | UTS, -EPERM, "network");

        /* the IPC ones need a new IPC namespace */
        static const char *const ipc[] = {
            "kernel.shmmax=68719476736", "kernel.shmall=1",
            "kernel.shmmni=1",           "kernel.shm_rmid_forced=1",
            "kernel.msgmax=8192",        "kernel.msgmnb=1",
            "kernel.msgmni=1",           "kernel.sem=250 32000 100 128",
            "fs.mqueue.msg_max=20",      "fs/mqueue/queues_max=1",
        };
        for (size_t i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++) {
                const char *eq = strchr(ipc[i], '=');
                char name[128];

                snprintf(name, sizeof(name), "%.*s", (int)(eq - ipc[i]), ipc[i]);
                sysctl_refused(ipc[i], NET, -EPERM, name);
                sysctl_refused(ipc[i], NET | UTS, -EPERM, name);
                sysctl_refused(ipc[i], UTS, -EPERM, name);
                sysctl_refused(ipc[i], 0, -EPERM, "IPC");
        }
}

/* A short reason buffer gets a cut, terminated reason and no overflow. */
static void test_reason_size(void **state)
{
        char reason[8];
        struct pod_sysctl s;

        (void)state;
        memset(reason, 'X', sizeof(reason));
        assert_int_equal(podcheck_sysctl("vm.swappiness=1", ALL, &s, reason, sizeof(reason)),
                         -EPERM);
        assert_int_equal(strlen(reason), sizeof(reason) - 1);
        memset(reason, 'X', sizeof(reason));
        assert_int_equal(podcheck_hostname("A", reason, sizeof(reason)), -EINVAL);
        assert_int_equal(strlen(reason), sizeof(reason) - 1);
        assert_int_equal(podcheck_sysctl("x", ALL, &s, NULL, 0), -EINVAL);
        assert_int_equal(podcheck_hostname("", NULL, 0), -EINVAL);
}

/* ---- NET_ADD's fields --------------------------------------------------- */

static void test_k8s_name(void **state)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        (void)state;

        assert_int_equal(podcheck_k8s_name("K8S_NAME", "web-0", reason, sizeof(reason)), 0);
        assert_int_equal(podcheck_k8s_name("K8S_UID", "0b5c1a3e-9f8d-4c2b-a1e0-123456789abc",
                                           reason, sizeof(reason)),
                         0);
        assert_int_equal(podcheck_k8s_name("K8S_NAME", "Mixed.Case_ok", reason, sizeof(reason)), 0);
        assert_int_equal(podcheck_k8s_name("K8S_NAME", rep('a', 253), reason, sizeof(reason)), 0);
        assert_int_equal(podcheck_k8s_name("K8S_NAME", rep('a', 254), reason, sizeof(reason)),
                         -EINVAL);
        assert_non_null(strstr(reason, "K8S_NAME must be 1 to 253 bytes"));
        assert_int_equal(podcheck_k8s_name("K8S_NAME", "", reason, sizeof(reason)), -EINVAL);
        /* what would add a CNI_ARGS argument, or a second line */
        assert_int_equal(
            podcheck_k8s_name("K8S_NAMESPACE", "ns;K8S_POD_UID=evil", reason, sizeof(reason)),
            -EINVAL);
        assert_non_null(strstr(reason, "K8S_NAMESPACE holds a byte (0x3b)"));
        assert_int_equal(podcheck_k8s_name("K8S_NAME", "a=b", reason, sizeof(reason)), -EINVAL);
        assert_int_equal(podcheck_k8s_name("K8S_NAME", "a b", reason, sizeof(reason)), -EINVAL);
        assert_int_equal(podcheck_k8s_name("K8S_NAME", "a\nb", reason, sizeof(reason)), -EINVAL);
        assert_int_equal(podcheck_k8s_name("K8S_NAME", "a/b", reason, sizeof(reason)), -EINVAL);
}

static void put_port(uint8_t *rec, uint32_t proto, unsigned host, unsigned container)
{
        memset(rec, 0, BRIG_HELPER_PORT_MAPPING_SIZE);
        rec[0] = (uint8_t)proto;
        rec[1] = (uint8_t)(proto >> 8);
        rec[4] = (uint8_t)host;
        rec[5] = (uint8_t)(host >> 8);
        rec[6] = (uint8_t)container;
        rec[7] = (uint8_t)(container >> 8);
}

static void test_port_mappings(void **state)
{
        static uint8_t recs[(BRIG_HELPER_MAX_PORT_MAPPINGS + 1) * BRIG_HELPER_PORT_MAPPING_SIZE];
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        (void)state;

        put_port(recs, 6, 8080, 80);
        put_port(recs + 24, 17, 53, 53);
        put_port(recs + 48, 132, 65535, 1);
        assert_int_equal(podcheck_port_mappings(recs, 72, reason, sizeof(reason)), 0);
        assert_int_equal(podcheck_port_mappings(recs, 0, reason, sizeof(reason)), 0);
        assert_int_equal(podcheck_port_mappings(recs, 71, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "not 71 bytes"));
        for (size_t i = 0; i <= BRIG_HELPER_MAX_PORT_MAPPINGS; i++)
                put_port(recs + i * 24, 6, 1000 + (unsigned)i, 80);
        assert_int_equal(podcheck_port_mappings(recs, BRIG_HELPER_MAX_PORT_MAPPINGS * 24, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(podcheck_port_mappings(recs, sizeof(recs), reason, sizeof(reason)),
                         -EINVAL);
        put_port(recs + 24, 1, 80, 80);
        assert_int_equal(podcheck_port_mappings(recs, 48, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "port mapping 1: protocol 1"));
        put_port(recs + 24, 6, 0, 80);
        assert_int_equal(podcheck_port_mappings(recs, 48, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "port mapping 1: ports must be 1 to 65535"));
        put_port(recs + 24, 6, 80, 0);
        assert_int_equal(podcheck_port_mappings(recs, 48, reason, sizeof(reason)), -EINVAL);
}

static void test_dns_lists(void **state)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        (void)state;

        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SERVERS, "10.96.0.10 fd00::a 1.1.1.1",
                                           reason, sizeof(reason)),
                         0);
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SEARCHES,
                                           "default.svc.cluster.local svc.cluster.local", reason,
                                           sizeof(reason)),
                         0);
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_OPTIONS, "ndots:5 edns0 timeout:2", reason,
                                           sizeof(reason)),
                         0);
        assert_int_equal(
            podcheck_dns_list(PODCHECK_DNS_SERVERS, "10.0.0.300", reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "DNS server \"10.0.0.300\""));
        assert_int_equal(
            podcheck_dns_list(PODCHECK_DNS_SERVERS, "example.com", reason, sizeof(reason)),
            -EINVAL);
        /* a second resolv.conf line, keyword or empty item */
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SEARCHES, "a\nnameserver 6.6.6.6", reason,
                                           sizeof(reason)),
                         -EINVAL);
        assert_null(strchr(reason, '\n'));
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SEARCHES, "a  b", reason, sizeof(reason)),
                         -EINVAL);
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SEARCHES, "a ", reason, sizeof(reason)),
                         -EINVAL);
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SEARCHES, "", reason, sizeof(reason)),
                         -EINVAL);
        assert_int_equal(
            podcheck_dns_list(PODCHECK_DNS_SEARCHES, "ndots:5", reason, sizeof(reason)), -EINVAL);
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_OPTIONS, "a;b", reason, sizeof(reason)),
                         -EINVAL);
        assert_int_equal(
            podcheck_dns_list(PODCHECK_DNS_SEARCHES, rep('a', 254), reason, sizeof(reason)),
            -EINVAL);
        assert_int_equal(podcheck_dns_list(PODCHECK_DNS_SEARCHES, "x\t", NULL, 0), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pod_id),
            cmocka_unit_test(test_hostname),
            cmocka_unit_test(test_sysctl_accepted),
            cmocka_unit_test(test_sysctl_malformed),
            cmocka_unit_test(test_sysctl_values),
            cmocka_unit_test(test_sysctl_not_namespaced),
            cmocka_unit_test(test_sysctl_node_namespace),
            cmocka_unit_test(test_reason_size),
            cmocka_unit_test(test_k8s_name),
            cmocka_unit_test(test_port_mappings),
            cmocka_unit_test(test_dns_lists),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
