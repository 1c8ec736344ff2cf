/* fuzz_podcheck.c: libFuzzer target for privhelper/podcheck.h. The first
 * byte is the pod's new namespaces (BRIG_POD_NS_* bits) and picks the DNS
 * list kind, the rest the string given to every string check and the bytes
 * given to the port mapping check. Besides memory errors it checks what
 * privhelper/pods.c relies on: an accepted sysctl is a relative path of
 * plain components below /proc/sys that only reaches a namespace the pod
 * gets new, and a value that cannot carry a second assignment or a line
 * break; an accepted hostname or pod id is what the header promises; a
 * refusal has a reason and writes nothing. A broken invariant aborts. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privhelper/podcheck.h"
#include "proto/helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static bool in(char c, const char *set)
{
        return c != '\0' && strchr(set, c) != NULL;
}

#define LOWER  "abcdefghijklmnopqrstuvwxyz"
#define UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

static void check_pod_id(const char *s)
{
        if (!podcheck_pod_id(s))
                return;
        check(strlen(s) == 64);
        for (const char *c = s; *c; c++)
                check(in(*c, DIGITS "abcdef"));
}

static void check_hostname(const char *s)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        size_t n = strlen(s);

        reason[0] = '\0';
        int r = podcheck_hostname(s, reason, sizeof(reason));
        if (r < 0) {
                check(r == -EINVAL);
                check(reason[0] != '\0');
                return;
        }
        check(r == 0);
        check(n >= 1 && n <= 63);
        for (size_t i = 0; i < n; i++) {
                bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';

                check(in(s[i], LOWER DIGITS ".-"));
                if (edge && s[i] != '.')
                        check(in(s[i], LOWER DIGITS));
        }
        check(s[0] != '.' && s[n - 1] != '.' && !strstr(s, ".."));
}

static void check_sysctl(const char *s, unsigned new_ns)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];
        struct pod_sysctl ret;

        reason[0] = '\0';
        memset(&ret, 0x5a, sizeof(ret));
        int r = podcheck_sysctl(s, new_ns, &ret, reason, sizeof(reason));
        if (r < 0) {
                check(r == -EINVAL || r == -EPERM);
                check(reason[0] != '\0');
                /* nothing written on a refusal */
                for (size_t i = 0; i < sizeof(ret); i++)
                        check(((const unsigned char *)&ret)[i] == 0x5a);
                return;
        }
        check(r == 0);

        /* the path: terminated, relative, no empty, "." or ".." component */
        size_t plen = strnlen(ret.path, sizeof(ret.path));
        check(plen > 0 && plen < sizeof(ret.path));
        check(ret.path[0] != '/' && ret.path[plen - 1] != '/');
        check(!strstr(ret.path, "//"));
        for (const char *c = ret.path; *c; c++)
                check(in(*c, LOWER UPPER DIGITS "_.-/"));
        for (const char *c = ret.path; *c;) {
                size_t len = strcspn(c, "/");

                check(len > 0);
                check(!(len == 1 && c[0] == '.'));
                check(!(len == 2 && c[0] == '.' && c[1] == '.'));
                c += len;
                if (*c == '/')
                        c++;
        }

        /* only a namespace the pod gets new */
        if (strncmp(ret.path, "net/", 4) == 0) {
                check(new_ns & BRIG_POD_NS_NET);
        } else {
                check(new_ns & BRIG_POD_NS_IPC);
                check(strncmp(ret.path, "kernel/shm", 10) == 0 ||
                      strncmp(ret.path, "kernel/msg", 10) == 0 ||
                      strcmp(ret.path, "kernel/sem") == 0 ||
                      strncmp(ret.path, "fs/mqueue/", 10) == 0);
                check(strchr(strchr(ret.path, '/') + 1, '/') == NULL ||
                      strncmp(ret.path, "fs/mqueue/", 10) == 0);
        }

        /* the value: what follows the first '=', of the allowed bytes only */
        size_t vlen = strnlen(ret.value, sizeof(ret.value));
        check(vlen > 0 && vlen < sizeof(ret.value));
        for (const char *c = ret.value; *c; c++)
                check(in(*c, LOWER UPPER DIGITS " \t._:,-"));
        check(strcmp(strchr(s, '=') + 1, ret.value) == 0);

        /* the path is the name with its separator turned into '/' */
        size_t name_len = (size_t)(strchr(s, '=') - s);
        check(name_len == plen);
        bool slashed = memchr(s, '/', name_len) != NULL;
        for (size_t i = 0; i < name_len; i++)
                check(ret.path[i] == (s[i] == '.' && !slashed ? '/' : s[i]));
}

static void check_k8s_name(const char *s)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];

        if (podcheck_k8s_name("K8S_NAME", s, reason, sizeof(reason)) < 0)
                return;
        check(strlen(s) >= 1 && strlen(s) <= 253);
        for (const char *c = s; *c; c++)
                check(in(*c, LOWER UPPER DIGITS "._-"));
}

static void check_dns_list(const char *s, enum podcheck_dns_list kind)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];

        reason[0] = '\0';
        if (podcheck_dns_list(kind, s, reason, sizeof(reason)) < 0) {
                check(reason[0] != '\0');
                for (const char *c = reason; *c; c++)
                        check((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
                return;
        }
        /* single spaces between items of plain bytes: no resolv.conf line
         * or keyword can be smuggled in */
        check(s[0] && s[0] != ' ' && s[strlen(s) - 1] != ' ' && !strstr(s, "  "));
        for (const char *c = s; *c; c++)
                check(in(*c, LOWER UPPER DIGITS " ._:-"));
}

static void check_ports(const uint8_t *data, size_t size)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];

        if (podcheck_port_mappings(data, size, reason, sizeof(reason)) < 0)
                return;
        check(size % BRIG_HELPER_PORT_MAPPING_SIZE == 0);
        for (size_t i = 0; i < size; i += BRIG_HELPER_PORT_MAPPING_SIZE) {
                uint32_t proto = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 |
                                 (uint32_t)data[i + 2] << 16 | (uint32_t)data[i + 3] << 24;
                check(proto == 6 || proto == 17 || proto == 132);
                check((data[i + 4] | data[i + 5]) && (data[i + 6] | data[i + 7]));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char s[4096];
        unsigned new_ns;

        if (size == 0 || size > sizeof(s))
                return -1;
        new_ns = data[0];
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';

        check_pod_id(s);
        check_hostname(s);
        check_sysctl(s, new_ns);
        check_k8s_name(s);
        check_dns_list(s, (enum podcheck_dns_list)(new_ns % 3));
        check_ports(data + 1, size - 1);
        return 0;
}
