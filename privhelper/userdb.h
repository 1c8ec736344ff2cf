/* userdb.h: resolves the user a container's process runs as, the way runc
 * and containerd do, against the container's OWN etc/passwd and etc/group
 * (never the node's), so brig-helper can write numeric ids into config.json
 * and check run_as_non_root on the result.
 *
 * Which spelling counts: CRI run_as_user, else CRI run_as_username, else the
 * image's User ("user", "uid", "user:group", "uid:gid", "user:gid",
 * "uid:group"), else uid 0. The image's group part counts only when the
 * image's user does; CRI run_as_group overrides the group in every case.
 * A name must be in the files; a number need not (a uid not in etc/passwd
 * gets gid 0 unless a group is given). The primary gid is the passwd
 * entry's.
 *
 * Numbers are decimal digits only (leading zeros allowed: "007" is 7) and
 * must be below 4294967295, which the kernel reserves as (uid_t)-1: values
 * are parsed whole and compared, never truncated, so 4294967296 cannot
 * become uid 0 and slip past run_as_non_root, which the caller checks on
 * the resolved uid (userdb_check_non_root). A spelling that starts with '+'
 * or '-' is refused; anything else that is not all digits is a name.
 *
 * Additional gids are the primary gid first (as initgroups(3) and
 * containerd since CVE-2023-25173 do: a primary group missing from the
 * supplementary list lets a process shed it and escape a deny-by-group
 * permission), then, ascending and without duplicates, every group of
 * etc/group that lists the user's name as a member and every
 * supplemental_groups value.
 *
 * The files are parsed as passwd(5) and group(5) say; a line that does not
 * parse (wrong field count, a number that is not one, an empty name, a '+'
 * or '-' NIS entry, a NUL byte) is skipped as glibc skips it, as are empty
 * lines and '#' comments; the first matching entry wins. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrspec.h"

/* The most either file may hold; a larger one is refused unread. */
#define USERDB_MAX_FILE (4u * 1024 * 1024)
/* The kernel's NGROUPS_MAX: more additional gids cannot be set. */
#define USERDB_MAX_GROUPS 65536
/* Room for how the user was spelled, e.g. `image user "nginx:www"`. */
#define USERDB_SPELLED_MAX 128

struct resolved_user {
        uint32_t uid, gid;
        uint32_t *additional_gids; /* malloc'd; [0] is gid */
        size_t n_additional_gids;
        /* for messages: which field named the user and how, printable ASCII */
        char spelled[USERDB_SPELLED_MAX];
};

/* Reads etc/passwd and etc/group below rootfd (the container's mounted
 * root) and resolves spec's user into *ret (free with userdb_user_free()).
 * Each file is opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
 * so a symlink, absolute or "../.." alike, resolves inside the container's
 * root; it must be a regular file (checked on an O_PATH handle before it is
 * opened for reading, so a FIFO or a device node is never opened) of at
 * most USERDB_MAX_FILE bytes. An absent file counts as empty.
 * Returns 0, or -ENOENT (a name not found), -ERANGE (a number out of
 * range), -EINVAL (a malformed spelling; a file that is not a regular
 * file), -EFBIG (a file too large), -E2BIG (too many groups), -ENOMEM, or
 * the errno of opening or reading a file, with err saying which. */
int userdb_resolve(int rootfd, const struct ctr_spec *spec, struct resolved_user *ret, char *err,
                   size_t err_size);

/* The resolution alone, on file contents already read (NULL: the file is
 * absent). Same returns as userdb_resolve(); *ret is written only on
 * success. */
int userdb_resolve_from(const char *passwd, size_t passwd_len, const char *group, size_t group_len,
                        const struct ctr_spec *spec, struct resolved_user *ret, char *err,
                        size_t err_size);

void userdb_user_free(struct resolved_user *u);

/* Refuses uid 0 when run_as_non_root is set: returns 0, or -EPERM with err
 * naming the spelling, e.g. `image user "root" resolves to uid 0`. */
int userdb_check_non_root(const struct resolved_user *u, bool run_as_non_root, char *err,
                          size_t err_size);
