/* rmtree.h: removing a directory tree the helper owns, reached only from a
 * directory fd, never following a symlink and never crossing a mount. */
#pragma once

/* Removes dirfd/name and everything below it. name is one path component.
 * Symlinks are removed, not followed; a directory on another filesystem
 * than dirfd stops the removal with -EXDEV. A missing name is not an error.
 * Blocks for as long as the tree takes: run it in a job, not in the loop.
 * Returns 0 or a negative errno (logged with the entry). */
int rmtree_at(int dirfd, const char *name);
