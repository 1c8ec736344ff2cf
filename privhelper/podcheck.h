/* podcheck.h: the rules POD_CREATE applies to what brigd asks for in a
 * pod's namespaces: pod ids, hostnames and sysctls. Pure functions, so the
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
