/* exec.h: one EXEC_SYNC as the monitor runs it: `<runtime> exec -d`, the
 * process it starts (the monitor's to reap), its output read into two
 * memfds, its timeout, and the state that decides when the reply is due
 * (channel.h, "Exec").
 *
 * Contract:
 * - An exec is STARTING while its runtime runs (runtime_pid set). When the
 *   runtime is reaped, exec_runtime_done() reads and removes the pid and
 *   log files: a failed runtime or a missing pid file ends the exec with an
 *   error; else it is RUNNING (pid set) until the process is reaped
 *   (exec_process_done()), then DRAINING until both pipes are at EOF or its
 *   deadline passes. exec_done() is then true and exec_finish() hands over
 *   the sealed memfds. exec_free() releases every fd, in any phase.
 * - The process is killed only while it is the monitor's unreaped child,
 *   so its pid cannot have been reused.
 * - Output is read without blocking, into the memfds up to
 *   MON_EXEC_OUTPUT_MAX bytes each, then read and dropped.
 * - exec_deadline() is when exec_expire() is due (CLOCK_MONOTONIC ns), 0
 *   for none: the timeout until then, a grace for the runtime after it, the
 *   end of the drain once the process was reaped.
 * - Every failure is logged with ctr=<id> where it happens.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "privhelper/monitor/wire.h"

enum exec_stream { EXEC_STDOUT = 0, EXEC_STDERR = 1, EXEC_N_STREAMS };

struct exec {
        char ctr_id[WIRE_CTR_ID_LEN + 1];
        unsigned n;               /* names the pid and log files */
        int dir_fd;               /* the bundle, for those files */
        int pipe[EXEC_N_STREAMS]; /* read ends, -1 once at EOF */
        int out[EXEC_N_STREAMS];  /* the memfds */
        size_t kept[EXEC_N_STREAMS];

        pid_t runtime_pid; /* while the runtime runs */
        pid_t pid;         /* the process, once its runtime is done */
        bool reaped;
        int wait_status; /* the process's, once reaped */
        bool timed_out;
        uint64_t deadline;
        uint64_t unknown_mark; /* main.c's count of unknown pids at the start */

        uint64_t conn_id; /* whose EXEC_SYNC is answered at the end */
        uint32_t seq;
};

/* Starts the runtime's exec for q (a checked EXEC_SYNC) as exec number n.
 * Returns 0 and the new exec, or a negative errno and the reason in err. */
int exec_start(const struct mon_request *q, unsigned n, uint64_t now, struct exec **ret, char *err,
               size_t err_size);
void exec_free(struct exec *e);

/* Reads once from stream i (and drops what is past the cap). */
void exec_read(struct exec *e, enum exec_stream i);

/* The runtime was reaped with wait_status. Returns 0 when the process is
 * the monitor's child, still to be reaped; -ECHILD when it is not any more
 * (it was reaped before its runtime, as an unknown pid: the caller gives
 * its exit to exec_process_done() or drops the exec); or another negative
 * errno with the reason in err. */
int exec_runtime_done(struct exec *e, int wait_status, char *err, size_t err_size);
/* The process was reaped with wait_status at now. */
void exec_process_done(struct exec *e, int wait_status, uint64_t now);

uint64_t exec_deadline(const struct exec *e);
/* The deadline has passed (now is CLOCK_MONOTONIC ns). */
void exec_expire(struct exec *e, uint64_t now);

/* True once the reply is due. */
bool exec_done(const struct exec *e);
/* Seals both memfds and moves them into fds (the caller's to close). */
int exec_finish(struct exec *e, int fds[EXEC_N_STREAMS]);
