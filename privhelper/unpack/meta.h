/* meta.h: a tar entry's node: replacing what is at its name, creating a
 * regular file there, and the order its metadata is applied in.
 *
 * Owner first, then mode (chown clears setuid/setgid), then xattrs (chown
 * clears security.capability), then times (the others change ctime only).
 * Shared by the writer (main thread) and the file workers, so both apply
 * exactly the same rules.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct archive_entry;

struct xattr {
        char *name;
        void *value;
        size_t size;
};

struct xattrs {
        struct xattr *items;
        size_t n;
};

struct node_meta {
        uid_t uid;
        gid_t gid;
        mode_t mode; /* permission bits with setuid/setgid/sticky */
        /* the node was created with this owner and mode already, which saves
         * two syscalls on most files of a layer */
        bool created_exact;
        struct timespec times[2];
        struct xattrs xattrs;
};

/* Removes what is at name in dirfd, never following it (an empty
 * directory too). Returns 0, also when nothing was there, or a negative
 * errno. */
int meta_remove_entry(int dirfd, const char *name);

/* Creates the regular file name in dirfd with mode's permission bits (the
 * umask must be 0; setuid/setgid/sticky wait for the data, since writes
 * clear them), replacing what is there, never following it. Returns the
 * fd, or a negative errno with *what naming the failing step. */
int meta_create_file(int dirfd, const char *name, mode_t mode, const char **what);

/* Fills m from e: owner, mode, times. xattrs stay empty. */
void meta_from_entry(struct archive_entry *e, struct node_meta *m);
void meta_entry_times(struct archive_entry *e, struct timespec ts[2]);

/* Copies the user.* and security.* xattrs of e into x (trusted.* belongs to
 * the overlay, system.* holds ACLs); the names of those not kept are passed
 * to skipped(name, xattr, data). Returns 0 or -ENOMEM. */
int meta_collect_xattrs(struct archive_entry *e, struct xattrs *x,
                        void (*skipped)(const char *xattr, void *data), void *data);
void meta_free_xattrs(struct xattrs *x);

/* Applies m to fd in the order above; times only when set_times. Returns 0
 * or a negative errno with *what naming the failing step ("chown", ...,
 * or the xattr's name in xattr_buf). */
int meta_apply(int fd, const struct node_meta *m, bool set_times, const char **what,
               char *xattr_buf, size_t xattr_buf_size);
