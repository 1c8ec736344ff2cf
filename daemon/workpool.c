/* workpool.c: owns the job queue and the worker threads of workpool.h. */
#include "workpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

/* Jobs waiting while every allowed thread is busy; beyond it callers get
 * -EAGAIN (RESOURCE_EXHAUSTED to the client) instead of unbounded memory. */
#define WORKPOOL_BACKLOG      1024
#define WORKPOOL_IDLE_SECONDS 30

struct job {
        workpool_fn fn;
        void *arg;
        struct job *next;
};

struct workpool {
        pthread_mutex_t lock;
        pthread_cond_t work;  /* a job was queued, or the pool is stopping */
        pthread_cond_t drain; /* a thread exited */
        struct job *head, *tail;
        size_t queued;
        size_t threads, idle, busy;
        size_t min_threads, max_threads;
        bool stopping;
};

static void *worker(void *arg)
{
        struct workpool *pool = arg;

        pthread_mutex_lock(&pool->lock);
        for (;;) {
                while (!pool->head && !pool->stopping) {
                        struct timespec until;
                        clock_gettime(CLOCK_REALTIME, &until);
                        until.tv_sec += WORKPOOL_IDLE_SECONDS;
                        pool->idle++;
                        int r = pthread_cond_timedwait(&pool->work, &pool->lock, &until);
                        pool->idle--;
                        if (r == ETIMEDOUT && !pool->head && pool->threads > pool->min_threads)
                                goto out;
                }
                if (!pool->head)
                        break; /* stopping and drained */
                struct job *job = pool->head;
                pool->head = job->next;
                if (!pool->head)
                        pool->tail = NULL;
                pool->queued--;
                pool->busy++;
                pthread_mutex_unlock(&pool->lock);
                job->fn(job->arg);
                free(job);
                pthread_mutex_lock(&pool->lock);
                pool->busy--;
        }
out:
        pool->threads--;
        pthread_cond_broadcast(&pool->drain);
        pthread_mutex_unlock(&pool->lock);
        return NULL;
}

/* Called with the lock held. Threads are detached: workpool_free waits for
 * the thread count to reach zero instead of joining. */
static int start_thread(struct workpool *pool)
{
        pthread_attr_t attr;
        pthread_t tid;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&tid, &attr, worker, pool);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        pool->threads++;
        return 0;
}

int workpool_new(size_t min_threads, size_t max_threads, struct workpool **ret)
{
        struct workpool *pool;

        if (max_threads == 0 || min_threads > max_threads)
                return -EINVAL;
        pool = calloc(1, sizeof(*pool));
        if (!pool)
                return -ENOMEM;
        pthread_mutex_init(&pool->lock, NULL);
        pthread_cond_init(&pool->work, NULL);
        pthread_cond_init(&pool->drain, NULL);
        pool->min_threads = min_threads;
        pool->max_threads = max_threads;

        pthread_mutex_lock(&pool->lock);
        for (size_t i = 0; i < min_threads; i++) {
                int r = start_thread(pool);
                if (r < 0) {
                        pthread_mutex_unlock(&pool->lock);
                        workpool_free(pool);
                        return r;
                }
        }
        pthread_mutex_unlock(&pool->lock);
        *ret = pool;
        return 0;
}

int workpool_submit(struct workpool *pool, workpool_fn fn, void *arg)
{
        struct job *job = calloc(1, sizeof(*job));
        int r = 0;

        if (!job)
                return -ENOMEM;
        job->fn = fn;
        job->arg = arg;

        pthread_mutex_lock(&pool->lock);
        if (pool->stopping) {
                r = -ESHUTDOWN;
                goto out;
        }
        if (pool->idle <= pool->queued && pool->threads < pool->max_threads) {
                r = start_thread(pool);
                if (r < 0 && pool->threads == 0)
                        goto out;
                if (r < 0)
                        log_warn_errno(r, "cannot start another worker thread; job waits",
                                       "threads=%zu", pool->threads);
                r = 0;
        } else if (pool->idle <= pool->queued && pool->queued >= WORKPOOL_BACKLOG) {
                r = -EAGAIN;
                goto out;
        }
        if (pool->tail)
                pool->tail->next = job;
        else
                pool->head = job;
        pool->tail = job;
        pool->queued++;
        job = NULL;
        pthread_cond_signal(&pool->work);
out:
        pthread_mutex_unlock(&pool->lock);
        free(job);
        return r;
}

size_t workpool_busy(struct workpool *pool)
{
        pthread_mutex_lock(&pool->lock);
        size_t busy = pool->busy;
        pthread_mutex_unlock(&pool->lock);
        return busy;
}

void workpool_free(struct workpool *pool)
{
        if (!pool)
                return;
        pthread_mutex_lock(&pool->lock);
        pool->stopping = true;
        pthread_cond_broadcast(&pool->work);
        while (pool->threads > 0)
                pthread_cond_wait(&pool->drain, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
        pthread_cond_destroy(&pool->work);
        pthread_cond_destroy(&pool->drain);
        pthread_mutex_destroy(&pool->lock);
        free(pool);
}
