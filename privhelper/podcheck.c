/* podcheck.c: owns the checks on the strings of POD_CREATE and NET_ADD
 * requests (see podcheck.h). Everything here is a whitelist: what is not described is
 * refused. */
#include "podcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/helper.h"

#define SYSCTL_NAME_MAX   127
#define SYSCTL_COMPONENTS 16
#define K8S_NAME_MAX      253
#define DNS_ITEM_MAX      253

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool podcheck_pod_id(const char *id)
{
        size_t n = 0;

        for (; id[n]; n++)
                if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
                        return false;
        return n == 64;
}

int podcheck_hostname(const char *name, char *reason, size_t reason_size)
{
        size_t n = strlen(name);

        if (n == 0 || n > 63) {
                snprintf(reason, reason_size, "hostname must be 1 to 63 bytes, not %zu", n);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool label_edge = i == 0 || i == n - 1 || name[i - 1] == '.' || name[i + 1] == '.';

                if (c == '.'     ? label_edge
                    : label_edge ? !is_lower_alnum(c)
                                 : !(is_lower_alnum(c) || c == '-')) {
                        snprintf(reason, reason_size,
                                 "hostname \"%.63s\" is not lowercase letters, digits, '-' and "
                                 "'.' with each label starting and ending alphanumeric",
                                 name);
                        return -EINVAL;
                }
        }
        return 0;
}

/* Which new namespace a sysctl needs, from its components; 0 when it is
 * not namespaced at all. */
static unsigned sysctl_namespace(char comps[][SYSCTL_NAME_MAX + 1], size_t n)
{
        if (strcmp(comps[0], "net") == 0 && n >= 2)
                return BRIG_POD_NS_NET;
        if (strcmp(comps[0], "kernel") == 0 && n == 2 &&
            (strncmp(comps[1], "shm", 3) == 0 || strncmp(comps[1], "msg", 3) == 0 ||
             strcmp(comps[1], "sem") == 0))
                return BRIG_POD_NS_IPC;
        if (strcmp(comps[0], "fs") == 0 && strcmp(comps[1], "mqueue") == 0 && n == 3)
                return BRIG_POD_NS_IPC;
        return 0;
}

static bool value_char(char c)
{
        return is_alnum(c) || c == ' ' || c == '\t' || strchr("._:,-", c) != NULL;
}

int podcheck_sysctl(const char *spec, unsigned new_ns, struct pod_sysctl *ret, char *reason,
                    size_t reason_size)
{
        char comps[SYSCTL_COMPONENTS][SYSCTL_NAME_MAX + 1];
        const char *eq = strchr(spec, '='), *value;
        size_t name_len, n = 0, value_len;
        char sep;
        unsigned needs;

        if (!eq) {
                snprintf(reason, reason_size, "sysctl \"%.128s\" is not name=value", spec);
                return -EINVAL;
        }
        name_len = (size_t)(eq - spec);
        value = eq + 1;
        value_len = strlen(value);
        if (name_len == 0 || name_len > SYSCTL_NAME_MAX) {
                snprintf(reason, reason_size, "sysctl name must be 1 to %d bytes", SYSCTL_NAME_MAX);
                return -EINVAL;
        }
        /* The slashed form lets a component hold a dot (an interface
         * name such as eth0.100); the dotted form cannot. */
        sep = memchr(spec, '/', name_len) ? '/' : '.';
        for (size_t i = 0; i < name_len;) {
                size_t len = 0;

                while (i + len < name_len && spec[i + len] != sep)
                        len++;
                if (n == SYSCTL_COMPONENTS || len == 0) {
                        snprintf(reason, reason_size,
                                 "sysctl name \"%.*s\" has an empty component or too many",
                                 (int)name_len, spec);
                        return -EINVAL;
                }
                memcpy(comps[n], spec + i, len);
                comps[n][len] = '\0';
                for (size_t k = 0; k < len; k++) {
                        char c = comps[n][k];

                        if (!(is_alnum(c) || c == '_' || c == '-' || (c == '.' && sep == '/'))) {
                                snprintf(reason, reason_size,
                                         "sysctl name \"%.*s\" has a character other than "
                                         "letters, digits, '_', '-' and separators",
                                         (int)name_len, spec);
                                return -EINVAL;
                        }
                }
                if (strcmp(comps[n], ".") == 0 || strcmp(comps[n], "..") == 0) {
                        snprintf(reason, reason_size, "sysctl name \"%.*s\" has a '%s' component",
                                 (int)name_len, spec, comps[n]);
                        return -EINVAL;
                }
                n++;
                i += len + 1;
        }
        if (spec[name_len - 1] == sep) {
                snprintf(reason, reason_size, "sysctl name \"%.*s\" ends with '%c'", (int)name_len,
                         spec, sep);
                return -EINVAL;
        }
        needs = n >= 2 ? sysctl_namespace(comps, n) : 0;
        if (!needs) {
                snprintf(reason, reason_size,
                         "sysctl %.*s is not namespaced (only net.*, kernel.shm*, kernel.msg*, "
                         "kernel.sem and fs.mqueue.* are)",
                         (int)name_len, spec);
                return -EPERM;
        }
        if (!(new_ns & needs)) {
                snprintf(reason, reason_size,
                         "sysctl %.*s would change the node: the pod uses the node's %s namespace",
                         (int)name_len, spec, needs == BRIG_POD_NS_NET ? "network" : "IPC");
                return -EPERM;
        }
        if (value_len == 0 || value_len >= PODCHECK_SYSCTL_VALUE_MAX) {
                snprintf(reason, reason_size, "sysctl %.*s: the value must be 1 to %d bytes",
                         (int)name_len, spec, PODCHECK_SYSCTL_VALUE_MAX - 1);
                return -EINVAL;
        }
        for (size_t i = 0; i < value_len; i++)
                if (!value_char(value[i])) {
                        snprintf(reason, reason_size,
                                 "sysctl %.*s: the value has a character other than letters, "
                                 "digits, space, tab and ._:,- (byte 0x%02x)",
                                 (int)name_len, spec, (unsigned char)value[i]);
                        return -EINVAL;
                }
        ret->path[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                size_t used = strlen(ret->path);

                snprintf(ret->path + used, sizeof(ret->path) - used, "%s%s", i ? "/" : "",
                         comps[i]);
        }
        memcpy(ret->value, value, value_len + 1);
        return 0;
}

int podcheck_k8s_name(const char *what, const char *value, char *reason, size_t reason_size)
{
        size_t n = 0;

        for (; value[n]; n++)
                if (!is_alnum(value[n]) && !strchr("._-", value[n])) {
                        snprintf(reason, reason_size,
                                 "%s holds a byte (0x%02x) other than letters, digits and ._-",
                                 what, (unsigned char)value[n]);
                        return -EINVAL;
                }
        if (n == 0 || n > K8S_NAME_MAX) {
                snprintf(reason, reason_size, "%s must be 1 to %d bytes, not %zu", what,
                         K8S_NAME_MAX, n);
                return -EINVAL;
        }
        return 0;
}

int podcheck_port_mappings(const void *records, size_t len, char *reason, size_t reason_size)
{
        const uint8_t *p = records;

        if (len % BRIG_HELPER_PORT_MAPPING_SIZE ||
            len / BRIG_HELPER_PORT_MAPPING_SIZE > BRIG_HELPER_MAX_PORT_MAPPINGS) {
                snprintf(reason, reason_size,
                         "port mappings must be at most %d records of %d bytes, not %zu bytes",
                         BRIG_HELPER_MAX_PORT_MAPPINGS, BRIG_HELPER_PORT_MAPPING_SIZE, len);
                return -EINVAL;
        }
        for (size_t i = 0; i < len / BRIG_HELPER_PORT_MAPPING_SIZE;
             i++, p += BRIG_HELPER_PORT_MAPPING_SIZE) {
                uint32_t proto = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                 (uint32_t)p[3] << 24;
                unsigned host = (unsigned)(p[4] | p[5] << 8),
                         container = (unsigned)(p[6] | p[7] << 8);

                if (proto != 6 && proto != 17 && proto != 132) {
                        snprintf(reason, reason_size,
                                 "port mapping %zu: protocol %u is not tcp (6), udp (17) or "
                                 "sctp (132)",
                                 i, (unsigned)proto);
                        return -EINVAL;
                }
                if (host == 0 || container == 0) {
                        snprintf(reason, reason_size,
                                 "port mapping %zu: ports must be 1 to 65535 (host %u, "
                                 "container %u)",
                                 i, host, container);
                        return -EINVAL;
                }
        }
        return 0;
}

static bool dns_item_ok(enum podcheck_dns_list kind, const char *item, size_t n)
{
        char buf[INET6_ADDRSTRLEN];
        unsigned char addr[16];

        if (n == 0 || n > DNS_ITEM_MAX)
                return false;
        if (kind == PODCHECK_DNS_SERVERS) {
                if (n >= sizeof(buf))
                        return false;
                memcpy(buf, item, n);
                buf[n] = '\0';
                return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
        }
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(item[i]) &&
                    !strchr(kind == PODCHECK_DNS_OPTIONS ? "._:-" : "._-", item[i]))
                        return false;
        return true;
}

int podcheck_dns_list(enum podcheck_dns_list kind, const char *list, char *reason,
                      size_t reason_size)
{
        static const char *const names[] = {
            [PODCHECK_DNS_SERVERS] = "DNS server",
            [PODCHECK_DNS_SEARCHES] = "DNS search domain",
            [PODCHECK_DNS_OPTIONS] = "DNS option",
        };

        for (const char *p = list;;) {
                size_t n = strcspn(p, " ");

                if (!dns_item_ok(kind, p, n)) {
                        snprintf(reason, reason_size,
                                 "%s \"%.*s\" is not valid (or the list has an empty item)",
                                 names[kind], (int)(n > 64 ? 64 : n), p);
                        /* the item may hold what was wrong: a byte that
                         * is not plain text is shown as '?' */
                        for (char *c = reason; reason_size && *c; c++)
                                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                                        *c = '?';
                        return -EINVAL;
                }
                if (!p[n])
                        return 0;
                p += n + 1;
        }
}

bool podcheck_pod_ip(const char *cidr, char *addr, size_t addr_size)
{
        char a[INET6_ADDRSTRLEN];
        unsigned char bin[16];
        const char *slash = strchr(cidr, '/');
        unsigned long prefix = 0;
        size_t n;
        int family;

        if (!slash || (size_t)(slash - cidr) >= sizeof(a))
                return false;
        memcpy(a, cidr, (size_t)(slash - cidr));
        a[slash - cidr] = '\0';
        family = strchr(a, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(family, a, bin) != 1)
                return false;
        n = strlen(slash + 1);
        if (n == 0 || n > 3)
                return false;
        for (const char *c = slash + 1; *c; c++) {
                if (*c < '0' || *c > '9')
                        return false;
                prefix = prefix * 10 + (unsigned long)(*c - '0');
        }
        if (prefix > (family == AF_INET ? 32u : 128u))
                return false;
        if (addr)
                snprintf(addr, addr_size, "%s", a);
        return true;
}
