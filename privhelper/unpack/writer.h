/* writer.h: writes tar entries into the layer directory, and nowhere else.
 *
 * Every path is resolved relative to the layer directory fd with openat2()
 * and RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so no
 * entry can name, or be written through, anything outside it or any
 * symlink; an existing final component is replaced, never followed. File
 * data goes through io_uring rings restricted to IORING_OP_WRITE, in
 * batches. Small regular files are created by worker threads, one lane per
 * parent directory (fileq.h); any other change waits for the pending files
 * at its path or in its directory, so the result is that of a serial
 * unpack in tar order.
 * Owner, mode (with setuid/setgid/sticky, set after the owner and after the
 * data, since both clear those bits), xattrs and mtime are set on each file
 * once its data is written; directory mtimes last of all.
 *
 * OCI whiteouts become 0:0 character devices; opaque markers are collected
 * into a list of NUL-terminated relative paths for the helper (who alone
 * may set trusted.overlay.opaque). Other device nodes are skipped.
 *
 * The process's umask must be 0 so created parents are exactly 0755.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct archive;
struct archive_entry;
struct writer;

#define WRITER_ERR_MAX 512

/* Takes nothing: root_fd (an O_DIRECTORY fd of the layer) must stay open
 * until writer_free(). Sets up the restricted rings and starts workers
 * file worker threads (fileq.h; 0: every file is written by the calling
 * thread), so call it after the thread's capabilities are final and before
 * a seccomp filter that forbids clone, io_uring_setup and
 * io_uring_register. Returns 0, or a negative errno with the reason in
 * err. */
int writer_new(int root_fd, uint64_t max_entries, unsigned workers, struct writer **ret, char *err,
               size_t err_size);
void writer_free(struct writer *w);

/* Writes entry e of archive a (reading its data from a). Returns 0 or a
 * negative errno with writer_error() naming the entry and why:
 *   -E2BIG         more entries than max_entries
 *   -EINVAL        absolute name, a ".." component, a bad whiteout name,
 *                  no name, a hardlink or file naming the layer root
 *   -ENAMETOOLONG  name of PATH_MAX bytes or more, component over 255
 *   -ELOOP         a parent or hardlink target path goes through a symlink
 *   -ENOTDIR       a parent is not a directory
 *   -ENOENT        hardlink target that is not an earlier entry
 *   other          the failing system call's errno, or libarchive's data
 *                  error (-EBADMSG) */
int writer_entry(struct writer *w, struct archive *a, struct archive_entry *e);

/* Completes pending writes and file metadata, then sets directory mtimes.
 * Returns 0 or a negative errno with writer_error() set. */
int writer_finish(struct writer *w);

/* Counters: entries written (whiteouts and opaque markers included) and
 * entries skipped (device nodes, sockets, reserved .wh..wh. names). */
uint64_t writer_entries(const struct writer *w);
uint64_t writer_skipped(const struct writer *w);

/* The opaque directories: NUL-terminated relative paths ("." for the layer
 * root), back to back; *ret_len is 0 when there are none. */
const char *writer_opaque_dirs(const struct writer *w, size_t *ret_len);

const char *writer_error(const struct writer *w);

/* Normalises a tar entry name into a relative path without "." or empty
 * components or a trailing slash ("" for the root). Returns 0, -EINVAL
 * (absolute, "..") or -ENAMETOOLONG, with a static reason in *why. */
int writer_clean_path(const char *name, char *out, size_t out_size, const char **why);
