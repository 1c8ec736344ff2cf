/* dirs.h: the directories brig-helper prepares before brigd starts. */
#pragma once

#include <sys/types.h>

#include "config.h"

/* Creates root (0711) and run_root (0755), both owned by root, and the
 * directory of the CRI socket, which brigd (group gid) must be able to
 * create its socket in: root:gid, mode 01770, so brigd can add entries but
 * cannot rename or remove anything root put there. The socket directory
 * must be run_root, not exist yet, or be one this function made before:
 * the helper never changes the mode of a directory that serves something
 * else. Returns 0 or -errno, logged with the directory. */
int dirs_prepare(const struct brig_config *config, gid_t gid);
