/* ctr_request.h: a CreateContainer request (the CRI ContainerConfig, its
 * PodSandboxConfig, the image's config and layer chain) turned into the
 * container spec brigd sends to the helper (common/ctrspec.h), merged as
 * Kubernetes means it:
 *
 * - args: command + args when command is set; else the image Entrypoint +
 *   args when args are set; else Entrypoint + Cmd. None at all is refused.
 * - env: the image's Env in its order, each config env replacing the value
 *   of the same name in place or appended; then PATH (CTR_REQUEST_DEFAULT_PATH)
 *   when neither sets it and HOSTNAME=<pod hostname> when neither sets it.
 * - cwd: working_dir, else the image WorkingDir, else "/"; absolute.
 * - user, groups, capabilities (normalized to "CAP_X" or "ALL"), flags (tty,
 *   stdin, stdin_once, read-only rootfs, privileged; allow privilege
 *   escalation unless no_new_privs), the pid namespace mode (CONTAINER when
 *   the request has no namespace options), resources (each CRI field that
 *   is not 0; oom_score_adj whenever resources are sent), cgroup parent.
 * - mounts: the CRI mounts with their paths cleaned lexically, then the
 *   pod's /etc/hosts, /etc/resolv.conf, /etc/hostname and /dev/shm as
 *   CTR_MOUNT_POD_* kinds for each destination no CRI mount has. Those
 *   carry no flags: how the helper mounts its own files is its choice.
 *   Image volumes and ID-mapped mounts are refused (not supported). Whether
 *   a host path exists is the helper's to see: brigd may not see it.
 * - volumes: the image's VOLUMEs that no mount covers.
 * - devices: absolute paths, the host path under /dev, permissions of r, w
 *   and m (sent as a subset of "rwm" in that order). CDI devices are refused
 *   (not supported).
 * - log: log_directory + log_path when both are set, log_path relative with
 *   no empty, "." or ".." component.
 *
 * Limitation: protobuf-c unpacks a CRI string (a name, a path, an arg) into
 * a char * that ends at its first NUL byte, so brigd cannot see a NUL sent
 * inside one: such a string reaches the spec cut at the NUL. Env values are
 * bytes in the CRI and are checked: one with a NUL is refused.
 */
#pragma once

#include <stddef.h>

#include "api.pb-c.h"
#include "ctrspec.h"
#include "image_config.h"

#define CTR_REQUEST_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct ctr_request_chunk;

/* The spec and the storage of every string and array it points to: it
 * points into none of the build's inputs. */
struct ctr_request {
        struct ctr_spec spec;
        struct ctr_request_chunk *chunks;
};

/* Builds *ret from the container's config, its pod's config (log
 * directory, hostname, cgroup parent), the image's parsed config and the
 * image's layer chain ids (lowest first, 1..CTRSPEC_MAX_LAYERS). cfg, pod
 * and image must not be NULL. Returns 0 and a request to free with
 * ctr_request_free(), or -EINVAL with a message naming the container and
 * the field (for a gRPC INVALID_ARGUMENT), or -ENOMEM; on failure *ret
 * holds nothing to free. */
int ctr_request_build(const Runtime__V1__ContainerConfig *cfg,
                      const Runtime__V1__PodSandboxConfig *pod, const struct image_config *image,
                      const char *const *layer_chain_ids, size_t n_layers, struct ctr_request *ret,
                      char *err, size_t err_size);

/* Releases everything of req; the struct is zeroed. */
/* The resources alone of an UpdateContainerResources (res may be NULL:
 * nothing to change), for ctrspec_encode_resources(); the same checks as
 * ctr_request_build()'s, with messages naming container name. */
int ctr_request_resources(const Runtime__V1__LinuxContainerResources *res, const char *name,
                          struct ctr_request *ret, char *err, size_t err_size);

void ctr_request_free(struct ctr_request *req);
