/* dirs.h: the directories brig-helper prepares before brigd starts. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* Creates root (0711) and run_root (0755) owned by root, or checks that the
 * existing ones are root's and writable by nobody else (they are never
 * re-moded). The directory of the CRI socket, which brigd (group gid) must
 * create its socket in, becomes root:gid 01770, so brigd can add entries
 * but cannot rename or remove anything root put there; it must be new,
 * one this function made before, or run_root (root's alone until then).
 * Returns 0 or -errno, logged with the directory. */
int dirs_prepare(const struct brig_config *config, uid_t uid, gid_t gid);

/* brigd's image store below root: uid:gid 0700, made by dirs_prepare(), or
 * checked to be exactly that if it exists. */
#define DIRS_IMAGES "images"
/* brigd's pod and container records below root, made the same way. */
#define DIRS_PODS "pods"

/* Checks, as uid/gid in a child process, that every directory in paths can
 * be reached (searched to the end). Blocks until the child is done: call it
 * before the loop. Returns 0, or -EACCES after logging the first directory
 * on the way that blocks. */
int dirs_check_reachable(const char *const *paths, size_t n, uid_t uid, gid_t gid);

/* Opens parent_fd's entry name (parent_path is for messages), creating it
 * root:root 0700 if missing, and checks that it is a real directory owned
 * by root and writable by nobody else: the directories of root-owned state
 * (layers, namespace pins) that brigd must not be able to change. Returns
 * the fd (O_DIRECTORY, reached with openat2 BENEATH|NO_SYMLINKS) or a
 * negative errno, logged with the directory. */
int dirs_open_private(int parent_fd, const char *parent_path, const char *name);
