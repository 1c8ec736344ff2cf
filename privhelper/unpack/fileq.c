/* fileq.c: owns the file worker threads, their queues and rings, and the
 * create-write-metadata-close sequence of one small file (see fileq.h). */
#include "fileq.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include "fsutil.h"
#include "util.h"

/* Files per batch: one ring submission, and at most this many fds open per
 * lane (brig-unpack's RLIMIT_NOFILE is shared by every lane). */
#define BATCH 32

struct lane {
        struct fileq *q;
        pthread_t thread;
        bool started;
        struct io_uring ring;
        bool ring_init;
        pthread_cond_t wake;
        struct file_job *head, *tail;
        int fds[BATCH];
};

struct fileq {
        pthread_mutex_t lock;
        pthread_cond_t done_cond;
        bool stopping;
        unsigned running; /* lanes that have entered lane_main() */
        struct file_job *done;
        unsigned n_lanes;
        struct lane lanes[FILEQ_MAX_LANES];
};

static void job_fail(struct file_job *j, int error, const char *what)
{
        if (j->error)
                return;
        j->error = error;
        snprintf(j->err, sizeof(j->err), "%s: %s", what, strerror(-error));
}

/* The writer has already forgotten any cached fd of a directory that
 * this file replaces. */
static int create_file(struct file_job *j)
{
        const char *what = NULL;
        int fd = meta_create_file(j->dir_fd, j->base, j->meta.mode, &what);

        if (fd < 0)
                job_fail(j, fd, what);
        return fd;
}

/* Finishes a short write synchronously. */
static void write_rest(struct file_job *j, int fd, size_t done)
{
        while (done < j->size && !j->error) {
                ssize_t k = pwrite(fd, j->data + done, j->size - done, (off_t)done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        job_fail(j, k < 0 ? negative_errno() : -EIO, "writing data");
                else
                        done += (size_t)k;
        }
}

static void run_batch(struct lane *l, struct file_job **jobs, size_t n)
{
        unsigned queued = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                l->fds[i] = create_file(jobs[i]);
                if (l->fds[i] < 0 || jobs[i]->size == 0)
                        continue;
                /* BATCH <= the ring's entries, so there is always an sqe */
                struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

                io_uring_prep_write(sqe, l->fds[i], jobs[i]->data, (unsigned)jobs[i]->size, 0);
                io_uring_sqe_set_data64(sqe, i);
                queued++;
        }
        if (queued > 0) {
                r = io_uring_submit(&l->ring);
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                job_fail(jobs[i], r, "io_uring submit");
                        queued = 0;
                }
                for (unsigned got = 0; got < queued;) {
                        struct io_uring_cqe *cqe;

                        r = io_uring_wait_cqe(&l->ring, &cqe);
                        if (r == -EINTR)
                                continue;
                        if (r < 0) {
                                /* the ring is unusable: fail what is left */
                                for (size_t i = 0; i < n; i++)
                                        job_fail(jobs[i], r, "io_uring wait");
                                break;
                        }
                        struct file_job *j = jobs[cqe->user_data];
                        int res = cqe->res;

                        io_uring_cqe_seen(&l->ring, cqe);
                        got++;
                        if (res < 0)
                                job_fail(j, res, "writing data");
                        else
                                write_rest(j, l->fds[cqe->user_data], (size_t)res);
                }
        }
        for (size_t i = 0; i < n; i++) {
                struct file_job *j = jobs[i];
                const char *what = NULL;
                char buf[300];

                if (l->fds[i] < 0)
                        continue;
                if (!j->error) {
                        r = meta_apply(l->fds[i], &j->meta, true, &what, buf, sizeof(buf));
                        if (r < 0)
                                job_fail(j, r, what);
                }
                l->fds[i] = safe_close(l->fds[i]);
        }
}

static void *lane_main(void *arg)
{
        struct lane *l = arg;
        struct fileq *q = l->q;
        struct file_job *jobs[BATCH];

        pthread_mutex_lock(&q->lock);
        q->running++;
        pthread_cond_broadcast(&q->done_cond);
        for (;;) {
                size_t n = 0;

                while (!l->head && !q->stopping)
                        pthread_cond_wait(&l->wake, &q->lock);
                if (q->stopping)
                        break;
                while (l->head && n < BATCH) {
                        jobs[n++] = l->head;
                        l->head = l->head->next;
                }
                if (!l->head)
                        l->tail = NULL;
                pthread_mutex_unlock(&q->lock);
                run_batch(l, jobs, n);
                pthread_mutex_lock(&q->lock);
                for (size_t i = 0; i < n; i++) {
                        jobs[i]->next = q->done;
                        q->done = jobs[i];
                }
                pthread_cond_signal(&q->done_cond);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

int fileq_ring_init(struct io_uring *ring, unsigned entries, unsigned kernel_workers, char *err,
                    size_t err_size)
{
        struct io_uring_restriction res[] = {
            {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITE},
            {.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = 0},
        };
        unsigned limits[2] = {kernel_workers, kernel_workers}; /* bounded, unbounded */
        int r = io_uring_queue_init(entries, ring, IORING_SETUP_R_DISABLED);

        if (r < 0) {
                snprintf(err, err_size, "io_uring setup failed: %s", strerror(-r));
                return r;
        }
        if (kernel_workers > 0)
                r = io_uring_register_iowq_max_workers(ring, limits);
        /* Raw register calls: Debian's liburing 2.3 declares but does not
         * export io_uring_register_restrictions() and
         * io_uring_enable_rings(). */
        if (r == 0 && syscall(SYS_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS,
                              res, ARRAY_SIZE(res)) < 0)
                r = negative_errno();
        if (r == 0 && syscall(SYS_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
                              NULL, 0) < 0)
                r = negative_errno();
        if (r < 0) {
                snprintf(err, err_size, "io_uring registration failed: %s", strerror(-r));
                io_uring_queue_exit(ring);
        }
        return r;
}

int fileq_new(unsigned lanes, struct fileq **ret, char *err, size_t err_size)
{
        struct fileq *q;
        int r;

        if (lanes < 1 || lanes > FILEQ_MAX_LANES) {
                snprintf(err, err_size, "file workers: %u lanes is out of range", lanes);
                return -EINVAL;
        }
        q = calloc(1, sizeof(*q));
        if (!q) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->done_cond, NULL);
        for (unsigned i = 0; i < lanes; i++) {
                struct lane *l = &q->lanes[i];

                l->q = q;
                pthread_cond_init(&l->wake, NULL);
                q->n_lanes++;
                /* ext4 cannot take a buffered write without blocking, so
                 * io_uring hands each to a kernel worker: one per lane copies
                 * a batch's data without more threads than CPUs to switch
                 * between. */
                r = fileq_ring_init(&l->ring, BATCH, 1, err, err_size);
                if (r < 0)
                        goto fail;
                l->ring_init = true;
                r = -pthread_create(&l->thread, NULL, lane_main, l);
                if (r < 0) {
                        snprintf(err, err_size, "starting a file worker failed: %s", strerror(-r));
                        goto fail;
                }
                l->started = true;
        }
        /* A new thread registers rseq and its robust list before it runs
         * lane_main(): wait for that, since the seccomp filter that follows
         * forbids both. */
        pthread_mutex_lock(&q->lock);
        while (q->running < lanes)
                pthread_cond_wait(&q->done_cond, &q->lock);
        pthread_mutex_unlock(&q->lock);
        *ret = q;
        return 0;
fail:
        fileq_free(q);
        return r;
}

unsigned fileq_lanes(const struct fileq *q)
{
        return q->n_lanes;
}

void fileq_push(struct fileq *q, unsigned lane, struct file_job *first, struct file_job *last)
{
        struct lane *l = &q->lanes[lane];

        last->next = NULL;
        pthread_mutex_lock(&q->lock);
        if (l->tail)
                l->tail->next = first;
        else
                l->head = first;
        l->tail = last;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&q->lock);
}

struct file_job *fileq_take_done(struct fileq *q, bool wait)
{
        struct file_job *done;

        pthread_mutex_lock(&q->lock);
        while (wait && !q->done)
                pthread_cond_wait(&q->done_cond, &q->lock);
        done = q->done;
        q->done = NULL;
        pthread_mutex_unlock(&q->lock);
        return done;
}

struct file_job *fileq_stop(struct fileq *q)
{
        struct file_job *left;

        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        for (unsigned i = 0; i < q->n_lanes; i++)
                pthread_cond_signal(&q->lanes[i].wake);
        pthread_mutex_unlock(&q->lock);
        for (unsigned i = 0; i < q->n_lanes; i++) {
                if (q->lanes[i].started)
                        pthread_join(q->lanes[i].thread, NULL);
                q->lanes[i].started = false;
        }
        left = q->done;
        q->done = NULL;
        for (unsigned i = 0; i < q->n_lanes; i++) {
                struct lane *l = &q->lanes[i];

                if (l->tail) {
                        l->tail->next = left;
                        left = l->head;
                }
                l->head = l->tail = NULL;
        }
        return left;
}

void fileq_free(struct fileq *q)
{
        if (!q)
                return;
        fileq_stop(q);
        for (unsigned i = 0; i < q->n_lanes; i++) {
                if (q->lanes[i].ring_init)
                        io_uring_queue_exit(&q->lanes[i].ring);
                pthread_cond_destroy(&q->lanes[i].wake);
        }
        pthread_cond_destroy(&q->done_cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
}
