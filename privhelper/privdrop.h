/* privdrop.h: the unprivileged identity brigd runs under. */
#pragma once

#include <sys/types.h>

/* Looks up user name, creating it (and its group) with useradd when it is
 * missing: a system user with no home and no login shell. */
int brig_user_ensure(const char *name, uid_t *ret_uid, gid_t *ret_gid);

/* In a child about to exec brigd: become uid/gid with no supplementary
 * groups, clear every capability set (effective, permitted, inheritable,
 * ambient, bounding), set no_new_privs, and read all of it back. Returns 0
 * or -errno with *ret_what naming the step that failed. */
int privdrop_to(uid_t uid, gid_t gid, const char **ret_what);
