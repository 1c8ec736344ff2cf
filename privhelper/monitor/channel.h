/* channel.h: the messages between brig-helper and brig-monitor, the one
 * process per pod that is the parent of the pod's containers
 * (docs/brig-monitor.md).
 *
 * Start. The helper executes brig-monitor (root, its own session, already
 * placed in the pod's cgroup by the helper) as
 *
 *     brig-monitor [--pause] <pod id>
 *
 * with fd 3 a listening SOCK_SEQPACKET unix socket (bound by the helper at
 * <run_root>/mon/<pod id>, a root 0700 directory) and fd 4 one end of a
 * connected SOCK_SEQPACKET socketpair, the helper's first connection.
 * stdin is /dev/null; stdout and stderr are the helper's log. The monitor
 * outlives the helper: a restarted helper connects to fd 3's path again.
 * With --pause the monitor first forks the pod's pause process: pid 1 of a
 * new PID namespace, which only reaps and waits for SIGTERM/SIGKILL; its
 * pid (as the monitor's own namespace sees it) is in the READY message.
 *
 * Datagrams. Each is one TLV payload (common/tlv.h encoding, at most
 * BRIG_HELPER_MAX_PAYLOAD bytes and BRIG_HELPER_MAX_FIELDS elements, fds by
 * SCM_RIGHTS, at most 2) whose first element is MON_TAG_KIND. Requests carry
 * MON_TAG_SEQ, which the reply repeats; a reply has MON_TAG_STATUS (0 or a
 * positive errno) and, on failure, MON_TAG_ERROR. The monitor answers
 * requests in any order (CREATE answers when the runtime is done) and
 * never blocks on one. A malformed datagram closes that connection only.
 *
 *   helper -> monitor                         monitor -> helper
 *   READY is sent by the monitor first on fd 4 and on every accepted
 *         connection: MON_TAG_PID (the monitor's pid), MON_TAG_PAUSE_PID
 *         when it runs a pause process.
 *   CREATE  CTR_ID BUNDLE RUNTIME RUNTIME_ROOT CTR_FLAGS, fd LOG_FD
 *                                             reply: PID of the container's
 *                                             init, or STATUS+ERROR (the
 *                                             runtime's own error line)
 *   REOPEN_LOG CTR_ID, fd LOG_FD              reply
 *   FORGET  CTR_ID                            reply (ENOENT if unknown);
 *                                             the container must have exited
 *   STATE                                     reply: one CTR_STATE per container
 *   SUBSCRIBE                                 reply; from then on the
 *                                             connection only receives EXITED
 *                                             events and may send nothing
 *   SHUTDOWN                                  reply, then the monitor exits
 *                                             (refused with EBUSY while a
 *                                             container of its runs)
 *   EXEC_SYNC CTR_ID BUNDLE RUNTIME RUNTIME_ROOT ARG... [TIMEOUT_MS]
 *                                             reply when the process ended:
 *                                             WAIT_STATUS, TIMED_OUT, fds
 *                                             STDOUT_FD and STDERR_FD
 *                                             EXITED (event, no SEQ) to every
 *                                             subscriber and control connection:
 *                                             CTR_ID PID WAIT_STATUS EXIT_TIME
 *
 * Exec. EXEC_SYNC runs, detached,
 *   <RUNTIME> --root <RUNTIME_ROOT> --log <bundle>/exec-<n>.log exec -d
 *       --pid-file <bundle>/exec-<n>.pid <CTR_ID> <ARG>...
 * (the container's own process settings: env, cwd, user, capabilities;
 * ARG replaces only the command) with stdin /dev/null and stdout and
 * stderr pipes that the runtime hands straight to the process. The runtime
 * exits once the process started (a failure to start is the reply's EIO
 * with the runtime's error line from its log); the process then belongs to
 * the monitor, its subreaper, so the monitor waits for it itself and its
 * pid cannot be reused before the monitor reaped it. Output goes into two
 * memfds, at most MON_EXEC_OUTPUT_MAX bytes each (the rest is read and
 * dropped). When TIMEOUT_MS (0 or absent: none) passes first, the process
 * is sent SIGKILL and the reply has TIMED_OUT 1. The reply, sent when the
 * process was reaped and both pipes are at EOF, or MON_EXEC_DRAIN_MS after
 * the process was reaped when something it left still holds them, carries
 * the process's own wait status and the memfds (sealed against writes,
 * offset 0); the pid and log files are removed. Whatever the process
 * leaves orphaned is reaped by the monitor too. At most MON_MAX_EXECS run
 * at once (EBUSY past it).
 *
 * Exit records. Before it sends EXITED, the monitor writes
 * <bundle>/exit (temporary file, fsync, rename) holding one line:
 *
 *     <pid> <wait status> <exit time, ns since the epoch>\n
 *
 * so that whoever restarts later still finds the exit.
 *
 * The runtime is run as
 *   <RUNTIME> --root <RUNTIME_ROOT> --log <bundle>/runtime.log create
 *       --bundle <BUNDLE> --pid-file <bundle>/pid [--console-socket <sock>] <CTR_ID>
 * with stdin a pipe (CTR_F_STDIN; the monitor keeps the write end) or
 * /dev/null, stdout and stderr pipes the monitor reads (without a tty), or
 * the pty master received on the console socket (with CTR_F_TTY; all output
 * is "stdout"). Output goes to LOG_FD in the CRI format:
 *     <RFC3339Nano UTC> <stdout|stderr> <P|F> <text>\n
 * lines cut at MON_LOG_LINE_MAX bytes with P (partial), F on the last part.
 */
#pragma once

#include <stdint.h>

#include "proto/helper.h"

#define MON_LOG_LINE_MAX (16 * 1024)
/* Most containers one monitor holds: the STATE reply lists them all in one
 * datagram (KIND, SEQ, STATUS and one CTR_STATE each, within
 * BRIG_HELPER_MAX_FIELDS). CREATE past it is refused with EBUSY. */
#define MON_MAX_CONTAINERS 60
/* EXEC_SYNC: output kept per stream, execs at once, args per request
 * (each datagram holds at most BRIG_HELPER_MAX_FIELDS elements), and how
 * long the pipes are drained after the process exited. */
#define MON_EXEC_OUTPUT_MAX BRIG_HELPER_EXEC_OUTPUT_MAX
#define MON_MAX_EXECS       32
#define MON_MAX_EXEC_ARGS   48
#define MON_EXEC_DRAIN_MS   200

/* Longest error text in a reply (including NUL). */
#define MON_MAX_ERROR 512

enum mon_kind {
        MON_KIND_READY = 1,
        MON_KIND_CREATE = 2,
        MON_KIND_REOPEN_LOG = 3,
        MON_KIND_FORGET = 4,
        MON_KIND_STATE = 5,
        MON_KIND_SUBSCRIBE = 6,
        MON_KIND_SHUTDOWN = 7,
        MON_KIND_EXITED = 8,
        MON_KIND_REPLY = 9,
        MON_KIND_EXEC_SYNC = 10,
};

enum mon_tag {
        MON_TAG_KIND = 1,         /* U32 mon_kind, first in every datagram */
        MON_TAG_SEQ = 2,          /* U32, requests and their reply */
        MON_TAG_STATUS = 3,       /* U32 errno, replies: 0 is success */
        MON_TAG_ERROR = 4,        /* STRING, failed replies, < MON_MAX_ERROR */
        MON_TAG_CTR_ID = 5,       /* STRING, 64 lowercase hex */
        MON_TAG_BUNDLE = 6,       /* STRING, absolute path of the bundle dir */
        MON_TAG_RUNTIME = 7,      /* STRING, absolute path of the OCI runtime */
        MON_TAG_RUNTIME_ROOT = 8, /* STRING, absolute path for its --root */
        MON_TAG_CTR_FLAGS = 9,    /* U32, CTR_F_TTY | CTR_F_STDIN | CTR_F_STDIN_ONCE */
        /* FD, the container's log, opened O_WRONLY|O_APPEND; optional in
         * CREATE (no log: output is read and dropped), required in
         * REOPEN_LOG */
        MON_TAG_LOG_FD = 10,
        MON_TAG_PID = 11,         /* U32 */
        MON_TAG_PAUSE_PID = 12,   /* U32 */
        MON_TAG_WAIT_STATUS = 13, /* U32, as waitpid() gives it */
        MON_TAG_EXIT_TIME = 14,   /* U64, ns since the epoch */
        /* BYTES, STATE reply, repeated: nested MON_TAG_CTR_ID, MON_TAG_PID and,
         * once exited, MON_TAG_WAIT_STATUS and MON_TAG_EXIT_TIME */
        MON_TAG_CTR_STATE = 15,
        MON_TAG_ARG = 16,        /* STRING, EXEC_SYNC, 1..MON_MAX_EXEC_ARGS, in order */
        MON_TAG_TIMEOUT_MS = 17, /* U32, EXEC_SYNC, optional; 0 is none */
        MON_TAG_TIMED_OUT = 18,  /* U32, EXEC_SYNC reply: 1 when killed at the timeout */
        MON_TAG_STDOUT_FD = 19,  /* FD, EXEC_SYNC reply */
        MON_TAG_STDERR_FD = 20,  /* FD, EXEC_SYNC reply */
};
