/* layers.h: the root side of the layer store, <root>/layers.
 *
 * The helper creates (or verifies) that directory before brigd starts and
 * reaches it only through the directory fd it opened then. Layer
 * directories are named by the hex of their chain id, which the helper
 * validates and turns into a name itself: brigd never names a path.
 *
 *   <root>/layers/<chain hex>/diff     a published layer
 *   <root>/layers/.tmp-<pid>-<n>/diff  an unpack in progress (brig-unpack's
 *                                      whole world); renamed into place
 *                                      only once brig-unpack verified it
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "dispatch.h"

/* Opens root (which dirs_prepare() made) and its layers directory,
 * creating layers root:root 0700 or checking that it is root's alone, and
 * opens the brig-unpack program at unpack_path (O_PATH, executed by fd).
 * A missing brig-unpack is logged and makes UNPACK fail, not the helper.
 * Returns 0 or a negative errno, logged. */
int layers_init(const char *root, const char *unpack_path);

/* Starts a job removing what interrupted unpacks of earlier runs left
 * behind. Called once the loop can watch jobs. */
void layers_cleanup_leftovers(void);

/* The UNPACK handler (see docs/helper-protocol.md). */
int layers_handle_unpack(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size);

/* The REMOVE_LAYER handler. */
int layers_handle_remove(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size);

/* Closes what layers_init() opened. */
/* The directory fd of <root>/layers: layer <hex>'s tree is <hex>/diff
 * below it. -1 before layers_init(). */
int layers_dir_fd(void);

/* Whether layer chain_id ("sha256:" + 64 hex) is unpacked. */
bool layers_present(const char *chain_id);

void layers_free(void);
