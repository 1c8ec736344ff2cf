/* containers.h: the root side of containers, the CTR_* commands.
 *
 * A container's state lives in <root>/containers/<ctr id>/ (root 0700),
 * which is also its OCI bundle:
 *
 *   pod          the pod's id, written first
 *   config.json  written by the helper from the checked request
 *   rootfs/      the overlay of the image's layers (upper/ and work/ beside)
 *   pid          the container's init, written by the runtime
 *   exit         its exit, written by the pod's monitor
 *   log          its log below pod_log_root, relative, written at create
 *   runtime      the name of its runtime ([runtimes.<name>])
 *
 * The helper builds every path from validated ids; brigd never names one.
 * The runtime is the pod's runtime handler's ([runtimes.<name>] in the
 * configuration; "" the default_runtime), its state under its configured
 * root (<run_root>/runtimes/<name> by default).
 */
#pragma once

#include "config.h"
#include "dispatch.h"

/* Opens <root>/containers (created root 0700, or checked), pod_log_root
 * and every configured runtime (one not installed is logged; its pods
 * fail). config must outlive the helper's use of containers. Returns 0 or
 * a negative errno, logged. */
int containers_init(const struct brig_config *config);

int ctr_handle_create(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_start(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                     struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_kill(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                    struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_delete(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_exec_sync(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_reopen_log(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                          struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_update(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_spec(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                    struct tlv_writer *reply, char *reason, size_t reason_size);
int ctr_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size);

/* Closes what containers_init() opened. */
void containers_free(void);
