/* pods.h: the root side of pod sandboxes, <run_root>/ns.
 *
 * The helper creates (or verifies) that directory before brigd starts and
 * reaches it only through the directory fd it opened then. A pod's
 * namespaces are pinned by bind mounts of their nsfs files:
 *
 *   <run_root>/ns/<pod id>/net   network namespace (when the pod has its own)
 *   <run_root>/ns/<pod id>/ipc   IPC namespace
 *   <run_root>/ns/<pod id>/uts   UTS namespace
 *
 * and, beside them, the files POD_FILES writes for containers to bind:
 * resolv.conf, hostname and hosts, and, for a pod with an IPC namespace of
 * its own, shm/: a 64 MiB tmpfs its containers share as /dev/shm.
 *
 * The pod id is 64 lowercase hex, validated and turned into a name by the
 * helper: brigd never names a path.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

#include "dispatch.h"

/* Opens run_root (which dirs_prepare() made) and its ns directory,
 * creating ns root:root 0700 or checking that it is root's alone. Returns 0
 * or a negative errno, logged. */
int pods_init(const char *run_root);

/* The request's POD_ID (present once: the schema says so), checked: 64
 * lowercase hex. Returns 0 or -EINVAL with reason naming the command. */
int pods_id_of(const struct brig_msg *msg, const char **ret, char *reason, size_t reason_size);

/* The request's DNS_SERVERS, DNS_SEARCHES and DNS_OPTIONS into ret[0..2],
 * each checked with podcheck_dns_list(), NULL when absent. Returns 0 or
 * -EINVAL with reason set. */
int pods_dns_of(const struct brig_msg *msg, const char *ret[3], char *reason, size_t reason_size);

/* The POD_CREATE handler (see docs/helper-protocol.md): deferred, a child
 * makes the namespaces. */
int pods_handle_create(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size);

/* The POD_REMOVE handler. */
int pods_handle_remove(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size);

/* The POD_STATUS handler: which of the pod's pins hold a namespace. */
int pods_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size);

/* The POD_FILES handler: the pod's resolv.conf, hostname and hosts, written
 * at once (small files on run_root's tmpfs). */
int pods_handle_files(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size);

/* Writes the path of pod id's namespace pin name ("net", "ipc", "uts")
 * into buf if the pin holds a namespace; else returns -ENOENT and buf is
 * "". The path is for CNI plugins, which take CNI_NETNS as a path, and for
 * a container's config.json, which joins the pod's namespaces by path. */
int pods_ns_path(const char *id, const char *name, char *buf, size_t size);

/* Whether pod id has been created (its directory exists). */
bool pods_exists(const char *id);

/* The path of pod id's file name ("resolv.conf", "hostname", "hosts"), for
 * a container's bind mount; -EINVAL for another name. */
int pods_file_path(const char *id, const char *name, char *buf, size_t size);

/* The path of pod id's /dev/shm tmpfs, for a container's bind mount;
 * -ENOENT for a pod without one (the node's IPC namespace, or a pod
 * created before brig made one). */
int pods_shm_path(const char *id, char *buf, size_t size);

/* Writes "pod <id>: " and the message fmt makes into buf: how the
 * children that work on a pod word their failures. */
void pods_format_error(char *buf, size_t size, const char *id, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Closes what pods_init() opened. */
void pods_free(void);
