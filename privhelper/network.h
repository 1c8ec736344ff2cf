/* network.h: the root side of pod networking, the NET_* commands.
 *
 * A pod is attached to the node's CNI network by a job child (the runner)
 * that reads the configuration from cni_conf_dir, runs the plugins from
 * cni_plugin_dirs and keeps what a later DEL needs in <root>/cni/<pod id>.
 * The runner parses no JSON: brig-cni, a confined program it spawns, builds
 * each plugin's input and reads each plugin's output (see
 * privhelper/cni/channel.h and docs/brig-cni.md).
 */
#pragma once

#include "config.h"
#include "dispatch.h"

/* Opens <root>/cni (created root:root 0700, or checked to be root's
 * alone) and brig-cni (the program's path; if it is missing NET_ADD, NET_DEL
 * and NET_CHECK fail, and the helper still starts). Keeps the CNI keys of
 * config. Returns 0 or a negative errno, logged. */
int network_init(const struct brig_config *config, const char *brig_cni);

/* The NET_ADD, NET_DEL and NET_CHECK handlers: deferred, a child runs the
 * plugins. */
int network_handle_add(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size);
int network_handle_del(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size);
int network_handle_check(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size);

/* The NET_STATUS handler: answered at once from one directory listing. */
int network_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                          struct tlv_writer *reply, char *reason, size_t reason_size);

/* Whether a NET_* child is running for pod id (POD_REMOVE waits for it). */
bool network_busy(const char *id);

/* POD_REMOVE of pod id: drops what NET_ADD kept for it if it is still
 * there (a DEL that failed while a pod that never became ready was undone),
 * logging it. */
void network_forget(const char *id);

/* Closes what network_init() opened. */
void network_free(void);
