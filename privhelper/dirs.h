/* dirs.h: the directories brig-helper prepares before brigd starts. */
#pragma once

#include <sys/types.h>

#include "config.h"

/* Creates root (0711) and run_root (0755) owned by root, or checks that the
 * existing ones are root's and writable by nobody else (they are never
 * re-moded). The directory of the CRI socket, which brigd (group gid) must
 * create its socket in, becomes root:gid 01770, so brigd can add entries
 * but cannot rename or remove anything root put there; it must be new,
 * one this function made before, or run_root (root's alone until then).
 * Returns 0 or -errno, logged with the directory. */
int dirs_prepare(const struct brig_config *config, gid_t gid);
