/* fileq.h: worker threads that create the layer's small regular files.
 *
 * Creating files in one directory serialises on that directory's inode
 * lock, so the speed-up of several threads comes only from working in
 * different directories at once. The writer therefore gives each file to
 * the lane its parent directory maps to: one directory's files are created
 * in order by one thread, while other directories proceed on the others.
 * Each lane writes file data through its own io_uring, restricted to
 * IORING_OP_WRITE, one submission per batch of files.
 *
 * A job carries everything its file needs (the parent's fd, name, data and
 * metadata); the lane only creates, writes, applies metadata and closes.
 * The writer embeds jobs in its own records.
 * All bookkeeping (what is pending, errors, fds) stays with the writer,
 * which takes finished jobs back with fileq_take_done().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct io_uring;

#define FILEQ_MAX_LANES 4

struct file_job {
        struct file_job *next;
        int dir_fd;       /* the parent, kept open by the writer until done */
        const char *base; /* the name in dir_fd */
        const char *name; /* the tar entry's name, for messages */
        struct node_meta meta;
        const uint8_t *data;
        size_t size;
        int error; /* 0, or the negative errno the lane met */
        char err[320];
};

struct fileq;

/* Starts lanes threads (1..FILEQ_MAX_LANES), each with its restricted ring.
 * Call before seccomp forbids clone and io_uring_setup, after the thread's
 * capabilities are final (threads inherit them). Returns 0 or a negative
 * errno with err. */
int fileq_new(unsigned lanes, struct fileq **ret, char *err, size_t err_size);

unsigned fileq_lanes(const struct fileq *q);

/* Sets up ring with entries entries, allowing IORING_OP_WRITE and nothing
 * else: io_uring operations bypass seccomp, so this list is what bounds
 * them. It is created disabled, so the restriction is in place before the
 * first submission. kernel_workers > 0 caps the kernel threads that run
 * its blocking writes. Used by the lanes and the writer's own ring.
 * Returns 0 or a negative errno with err. */
int fileq_ring_init(struct io_uring *ring, unsigned entries, unsigned kernel_workers, char *err,
                    size_t err_size);

/* Queues the jobs first..last (linked by next) on lane; jobs of one lane
 * run in the order pushed. */
void fileq_push(struct fileq *q, unsigned lane, struct file_job *first, struct file_job *last);

/* The finished jobs, as a list in no particular order; NULL if none. With
 * wait, blocks until at least one is finished (the caller must have jobs
 * outstanding). */
struct file_job *fileq_take_done(struct fileq *q, bool wait);

/* Stops every lane (queued jobs are not run), joins the threads and
 * returns every job not yet taken back, for the caller to free. */
struct file_job *fileq_stop(struct fileq *q);

/* Stops if still running, then frees q. */
void fileq_free(struct fileq *q);
