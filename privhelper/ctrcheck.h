/* ctrcheck.h: the checks CTR_CREATE applies to a decoded container request
 * (common/ctrspec.h) before anything is made from it: pure functions of the
 * request and the helper's fixed roots, so they are unit-tested and fuzzed
 * on their own. The node policy of issue 14 adds its keys here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ctrspec.h"

/* Host paths no CRI mount may be, or be below, whatever brigd asks: brig's
 * own state and configuration. Each an absolute, normalised path. */
struct ctrcheck_roots {
        const char *const *denied;
        size_t n_denied;
        /* pod_log_root: the request's log_directory must be below it */
        const char *log_root;
};

/* Checks every field of spec for what the helper relies on later. spec is
 * as ctrspec_decode() leaves it: its structural rules (counts, lengths,
 * flag bits, kinds, a source exactly on BIND mounts, pid_target exactly
 * with CTR_PID_TARGET, required strings present) are assumed, not checked
 * again. These are the rules of meaning, each on the fields that are set:
 *  - args: at least one, args[0] non-empty;
 *  - env: each "NAME=value" with a non-empty NAME (NAME ends at the first
 *    '=');
 *  - cwd, mount destinations, volume paths, device container paths:
 *    absolute and normalised (no "." or ".." component, no "//", no
 *    trailing '/' except "/" itself), at most CTRSPEC_MAX_PATH;
 *  - BIND mount sources: the same, and neither any roots->denied path nor
 *    below one (whole components: "/var/lib/brigx" is not below
 *    "/var/lib/brig"), nor "/" itself. The check is of the string: the
 *    mount must still not follow a symlink out of it. A proper ancestor
 *    of a denied path other than "/" (such as "/var") passes;
 *  - mount flags, every kind: the recursive read-only flag only with
 *    read-only; at most one propagation flag;
 *  - devices: host path normalised and below "/dev/", permissions a
 *    non-empty subset of "rwm" without repeats;
 *  - layers: "sha256:" + 64 lowercase hex each;
 *  - pid_target: 64 lowercase hex;
 *  - cgroup_parent: a normalised absolute path of [A-Za-z0-9._@:-] components
 *    (the systemd driver's "a-b.slice" names included), or a slice name
 *    "x.slice" (x non-empty, of the same bytes) for the systemd driver;
 *    either is accepted, whichever driver the node runs;
 *  - log_directory: absolute, normalised, strictly below roots->log_root;
 *    log_path: relative, normalised, no ".." component; both or neither;
 *  - hugepage sizes: digits then "KB", "MB" or "GB"; unified keys: a file
 *    name of [a-z0-9._] containing a '.' but not starting with one (so no
 *    '/', never "." or ".."), and no core "cgroup.*" file such as
 *    cgroup.procs; unified values: printable ASCII, no newline;
 *  - capabilities: "ALL", or [A-Z_]{1,32} with or without a "CAP_" prefix,
 *    both compared case-insensitively; the name is checked as given, not
 *    looked up or normalised;
 *  - cpuset lists: digits, ',' and '-' only;
 *  - CTR_F_STDIN_ONCE only with CTR_F_STDIN;
 *  - the integers below count as set when sent and not 0, CRI's "unset":
 *    memory_swap, when set with memory_limit, not below it (-1 allowed);
 *    cpu shares 2..262144 when set; cpu period 1000..1000000 us when set;
 *    oom_score_adj, when sent, within -1000..1000.
 * Returns 0 or -EINVAL with reason naming the field (and its index, from 0:
 * "mount 2: destination ..."), never more than the first 64 bytes of a
 * request value and never an env entry (values may be secrets); bytes
 * outside printable ASCII show as '?'. reason may be NULL with
 * reason_size 0. roots->log_root is set. */
int ctrcheck_spec(const struct ctr_spec *spec, const struct ctrcheck_roots *roots, char *reason,
                  size_t reason_size);

/* Whether path is absolute and normalised as above, at most
 * CTRSPEC_MAX_PATH bytes. */
bool ctrcheck_abs_path(const char *path);

/* Whether s is a cgroup parent as ctrcheck_spec() takes it. */
bool ctrcheck_cgroup_parent(const char *s);

/* Whether id is 64 lowercase hex (container and pod ids). */
bool ctrcheck_id(const char *id);
