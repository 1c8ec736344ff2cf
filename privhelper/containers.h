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
 *
 * The helper builds every path from validated ids; brigd never names one.
 * The runtime is runc (the only runtime handler so far), with its state
 * under <run_root>/runc.
 */
#pragma once

#include "config.h"
#include "dispatch.h"

/* Opens <root>/containers (created root 0700, or checked) and
 * pod_log_root, and the runtime. Returns 0 or a negative errno, logged. */
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
int ctr_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size);

/* Closes what containers_init() opened. */
void containers_free(void);
