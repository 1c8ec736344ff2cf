/* fsutil.h: opening paths below a directory fd without ever leaving it. */
#pragma once

#include <sys/types.h>

/* openat2(2) of path below dirfd with RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS
 * and RESOLVE_NO_MAGICLINKS: no "..", absolute path or symlink anywhere on
 * the way can reach outside dirfd. O_CLOEXEC is always added. Returns the
 * fd or a negative errno (-EXDEV, -ELOOP when the path tried to escape). */
int openat_beneath(int dirfd, const char *path, int flags, mode_t mode);
