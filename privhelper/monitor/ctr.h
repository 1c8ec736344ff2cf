/* ctr.h: one container of the pod as the monitor holds it: its bundle, its
 * output streams and log, its runtime create, its init and its exit record.
 *
 * Contract:
 * - A container goes CREATING (runtime_pid set) -> RUNNING (pid set) ->
 *   EXITED, or is freed when its create fails. ctr_free() writes what is
 *   left of a partial line, then releases every fd and the console
 *   socket's name, in any phase.
 * - Output is read without blocking; a stream is closed (its partial line
 *   flushed as an F record, crilog.h) at EOF or on a read error, whatever
 *   the phase: output keeps being read after the init has exited, for as
 *   long as any process holds the other end.
 * - ctr_exited() writes <bundle>/exit (temporary file, fsync, rename, fsync
 *   of the directory) before it returns, so the record exists before
 *   anyone is told.
 * - Every failure is logged with ctr=<id> where it happens.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "privhelper/monitor/crilog.h"
#include "privhelper/monitor/wire.h"

enum ctr_stream { CTR_STDOUT = 0, CTR_STDERR = 1, CTR_N_STREAMS };

struct ctr_output {
        int fd; /* the read end, or the pty master as CTR_STDOUT; -1 once closed */
        struct crilog_stream s;
};

struct ctr {
        char id[WIRE_CTR_ID_LEN + 1];
        char *bundle;
        int dir_fd;
        uint32_t flags;
        struct crilog_sink sink;
        struct ctr_output out[CTR_N_STREAMS];
        /* the write end of the stdin pipe, kept for attach; with a tty the
         * master (out[CTR_STDOUT].fd) is the container's stdin */
        int stdin_fd;
        int console_fd;   /* listening console socket while creating */
        int console_conn; /* the runtime's connection on it */

        pid_t runtime_pid; /* the create child while it runs */
        off_t log_start;
        uint64_t conn_id; /* the connection whose CREATE is answered at the end */
        uint32_t seq;
        uint64_t unknown_mark; /* main.c's count of unknown pids at the create */

        pid_t pid; /* the init, once the create succeeded */
        bool exited;
        int wait_status;
        uint64_t exit_time;
};

/* Starts the runtime's create for q (a checked CREATE). log_fd is taken in
 * every case. Returns 0 and the new container, or a negative errno and
 * the reason in err. */
int ctr_create(const struct mon_request *q, int log_fd, struct ctr **ret, char *err,
               size_t err_size);
void ctr_free(struct ctr *c);

/* The runtime's create child ended with wait_status. Returns 0 with c->pid
 * set, or a negative errno with the runtime's error in err. */
int ctr_runtime_done(struct ctr *c, int wait_status, char *err, size_t err_size);

/* The console socket or its connection is readable. */
void ctr_console_event(struct ctr *c);

/* Reads once from stream i. Returns 1 when it read something, 0 when
 * nothing is there now or the stream has ended (and is closed). */
int ctr_read_output(struct ctr *c, enum ctr_stream i);
/* Reads what the streams hold now, bounded, so the output the init wrote
 * before it exited is in the log before its exit is reported. */
void ctr_drain(struct ctr *c);

/* The init was reaped: records the exit and writes the exit file. */
int ctr_exited(struct ctr *c, int wait_status, uint64_t exit_time);

/* Replaces the log fd (taken). */
void ctr_reopen_log(struct ctr *c, int log_fd);

/* True while the create runs or the init has not exited. */
bool ctr_active(const struct ctr *c);
