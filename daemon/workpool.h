/* workpool.h: a growing pool of threads that run queued jobs.
 *
 * brigd's gRPC handlers may block (a pull, a helper round trip, a stream
 * waiting for events), so they never run on the completion-queue threads.
 * The pool starts a new thread whenever a job arrives and no thread is idle,
 * up to max_threads; idle threads above min_threads exit after a while.
 */
#pragma once

#include <stddef.h>

struct workpool;

typedef void (*workpool_fn)(void *arg);

/* Creates a pool with min_threads started at once. Returns 0 or -errno. */
int workpool_new(size_t min_threads, size_t max_threads, struct workpool **ret);

/* Queues fn(arg). Returns 0, -EAGAIN when max_threads are all busy and the
 * backlog is full, or -ESHUTDOWN after workpool_free began. */
int workpool_submit(struct workpool *pool, workpool_fn fn, void *arg);

/* Threads that currently run a job, for metrics and tests. */
size_t workpool_busy(struct workpool *pool);

/* Runs every queued job, joins all threads and frees the pool. */
void workpool_free(struct workpool *pool);
