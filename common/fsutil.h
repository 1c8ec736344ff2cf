/* fsutil.h: opening paths below a directory fd without ever leaving it,
 * and reading a directory held as an fd. */
#pragma once

#include <dirent.h>
#include <sys/types.h>

/* openat2(2) of path below dirfd with RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS
 * and RESOLVE_NO_MAGICLINKS: no "..", absolute path or symlink anywhere on
 * the way can reach outside dirfd. O_CLOEXEC is always added. Returns the
 * fd or a negative errno (-EXDEV, -ELOOP when the path tried to escape). */
int openat_beneath(int dirfd, const char *path, int flags, mode_t mode);

/* A directory stream over the directory dirfd refers to, on an open file
 * description of its own: reading it never moves dirfd's position, which
 * other code (or a forked child) may share. dirfd stays the caller's.
 * Returns NULL with errno set on failure. */
DIR *opendir_at(int dirfd);
