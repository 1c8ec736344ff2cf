/* main.c: brig-monitor, the per-pod parent of the pod's containers. It
 * owns the start (arguments, session, subreaper, signals, the pause
 * process), the one poll loop, the connections of the channel (channel.h)
 * with the dispatch of their requests, and the reaping of every process
 * that ends under the monitor. ctr.c holds each container, exec.c each
 * EXEC_SYNC; wire.c the datagrams. See docs/brig-monitor.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hproto.h"
#include "log.h"
#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/ctr.h"
#include "privhelper/monitor/exec.h"
#include "privhelper/monitor/pause.h"
#include "privhelper/monitor/wire.h"
#include "util.h"

#define LISTEN_FD     3
#define FIRST_CONN_FD 4
#define MAX_CONNS     16
/* Exits of pids not known yet: an init or an exec's process can end, and
 * be reaped, before its runtime has exited and its pid file been read.
 * Room for every create and exec at once and orphans between them. */
#define MAX_EARLY_EXITS 128
/* The listening socket, the signalfd, the connections, per container
 * two streams and a console socket, and per exec two streams. */
#define MAX_POLL (2 + MAX_CONNS + 3 * MON_MAX_CONTAINERS + 2 * MON_MAX_EXECS)

struct conn {
        int fd;
        uint64_t id; /* never reused, so a late CREATE reply finds no stranger */
        bool subscribed;
};

struct early_exit {
        pid_t pid;
        int wait_status;
        uint64_t time;
        uint64_t serial; /* m.n_unknown when it was reaped */
};

enum owner_kind { OWN_LISTEN, OWN_SIGNAL, OWN_CONN, OWN_STREAM, OWN_CONSOLE, OWN_EXEC };

struct owner {
        enum owner_kind kind;
        unsigned index;
        int stream; /* enum ctr_stream or enum exec_stream */
};

static struct {
        const char *pod_id;
        int listen_fd;
        int signal_fd;
        pid_t pause_pid;
        uint64_t next_conn_id;
        struct conn conns[MAX_CONNS];
        struct ctr *ctrs[MON_MAX_CONTAINERS];
        struct early_exit early[MAX_EARLY_EXITS];
        unsigned n_early;
        /* unknown pids reaped so far: an init or an exec's process is
         * matched only with an exit reaped after its runtime started, never
         * with an older process (an exec's orphan, say) whose pid it
         * reuses */
        uint64_t n_unknown;
        struct exec *execs[MON_MAX_EXECS];
        unsigned n_execs_started; /* numbers the exec pid and log files */
} m;

static uint8_t recv_buf[BRIG_HELPER_RECV_SIZE];
static uint8_t send_buf[BRIG_HELPER_MAX_PAYLOAD];

static uint64_t clock_ns(clockid_t clock)
{
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
        return clock_ns(CLOCK_REALTIME);
}

static uint64_t mono_ns(void)
{
        return clock_ns(CLOCK_MONOTONIC);
}

static void conn_close(struct conn *cn, const char *why)
{
        if (cn->fd < 0)
                return;
        log_debug("connection closed", "conn=%llu why=\"%s\"", (unsigned long long)cn->id, why);
        cn->fd = safe_close(cn->fd);
        cn->subscribed = false;
}

/* A peer that does not take its datagrams (a full socket buffer) is
 * dropped rather than waited for: it finds the state again with STATE.
 * fds (at most 2) go with the datagram and stay the caller's. */
static void conn_send_fds(struct conn *cn, size_t len, const int *fds, size_t n_fds,
                          const char *what)
{
        int r = brig_payload_send(cn->fd, send_buf, len, fds, n_fds);

        if (r == 0)
                return;
        log_warn_errno(r, "sending failed; closing the connection", "conn=%llu what=%s",
                       (unsigned long long)cn->id, what);
        conn_close(cn, "send failed");
}

static void conn_send(struct conn *cn, size_t len, const char *what)
{
        conn_send_fds(cn, len, NULL, 0, what);
}

static struct conn *conn_by_id(uint64_t id)
{
        for (unsigned i = 0; i < MAX_CONNS; i++)
                if (m.conns[i].fd >= 0 && m.conns[i].id == id)
                        return &m.conns[i];
        return NULL;
}

static void send_reply(struct conn *cn, uint32_t seq, int r, const char *error, uint32_t pid)
{
        size_t len;

        if (!cn ||
            wire_encode_reply(send_buf, sizeof(send_buf), seq, (uint32_t)-r, error, pid, &len) < 0)
                return;
        conn_send(cn, len, "REPLY");
}

static int conn_add(int fd)
{
        size_t len;

        for (unsigned i = 0; i < MAX_CONNS; i++) {
                struct conn *cn = &m.conns[i];
                if (cn->fd >= 0)
                        continue;
                *cn = (struct conn){.fd = fd, .id = ++m.next_conn_id};
                if (wire_encode_ready(send_buf, sizeof(send_buf), (uint32_t)getpid(),
                                      (uint32_t)m.pause_pid, &len) == 0)
                        conn_send(cn, len, "READY");
                return 0;
        }
        return -EMFILE;
}

static void accept_conn(void)
{
        int fd = accept4(m.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warn_errno(negative_errno(), "accepting a connection failed", NULL);
                return;
        }
        if (conn_add(fd) < 0) {
                log_warn("too many connections; refusing one", "max=%d", MAX_CONNS);
                close(fd);
        }
}

static void broadcast_exited(const struct ctr *c)
{
        size_t len;

        if (wire_encode_exited(send_buf, sizeof(send_buf), c->id, (uint32_t)c->pid,
                               (uint32_t)c->wait_status, c->exit_time, &len) < 0)
                return;
        for (unsigned i = 0; i < MAX_CONNS; i++)
                if (m.conns[i].fd >= 0)
                        conn_send(&m.conns[i], len, "EXITED");
}

static struct ctr **ctr_slot(const char *id)
{
        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++)
                if (m.ctrs[i] && strcmp(m.ctrs[i]->id, id) == 0)
                        return &m.ctrs[i];
        return NULL;
}

static void init_exited(struct ctr *c, int wait_status, uint64_t time)
{
        ctr_exited(c, wait_status, time);
        broadcast_exited(c);
}

/* The exit of pid reaped after mark (an init's or exec's unknown_mark). */
static bool take_early_exit(pid_t pid, uint64_t mark, struct early_exit *ret)
{
        for (unsigned i = 0; i < m.n_early; i++) {
                if (m.early[i].pid != pid || m.early[i].serial <= mark)
                        continue;
                *ret = m.early[i];
                m.early[i] = m.early[--m.n_early];
                return true;
        }
        return false;
}

/* The oldest unknown_mark of a create or exec whose runtime still runs,
 * UINT64_MAX for none. */
static uint64_t oldest_mark(void)
{
        uint64_t mark = UINT64_MAX;

        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++)
                if (m.ctrs[i] && m.ctrs[i]->runtime_pid > 0 && m.ctrs[i]->unknown_mark < mark)
                        mark = m.ctrs[i]->unknown_mark;
        for (unsigned i = 0; i < MON_MAX_EXECS; i++)
                if (m.execs[i] && m.execs[i]->runtime_pid > 0 && m.execs[i]->unknown_mark < mark)
                        mark = m.execs[i]->unknown_mark;
        return mark;
}

static void remember_early_exit(pid_t pid, int wait_status, uint64_t time)
{
        uint64_t mark = oldest_mark();
        unsigned n = 0;

        /* An exit is looked for only when a runtime that started before it
         * ends, so it is kept only while one still runs. */
        m.n_unknown++;
        for (unsigned i = 0; i < m.n_early; i++)
                if (m.early[i].serial > mark)
                        m.early[n++] = m.early[i];
        m.n_early = n;
        if (m.n_unknown <= mark)
                return;
        if (m.n_early == MAX_EARLY_EXITS) {
                log_warn("too many unknown exits while runtimes run; forgetting the oldest",
                         "pid=%d", (int)m.early[0].pid);
                memmove(&m.early[0], &m.early[1], sizeof(m.early[0]) * (MAX_EARLY_EXITS - 1));
                m.n_early--;
        }
        m.early[m.n_early++] = (struct early_exit){pid, wait_status, time, m.n_unknown};
}

static void runtime_done(struct ctr **slot, int wait_status)
{
        struct ctr *c = *slot;
        char err[MON_MAX_ERROR];
        struct early_exit e;
        int r = ctr_runtime_done(c, wait_status, err, sizeof(err));

        send_reply(conn_by_id(c->conn_id), c->seq, r, err, r == 0 ? (uint32_t)c->pid : 0);
        if (r < 0) {
                ctr_free(c);
                *slot = NULL;
                return;
        }
        if (take_early_exit(c->pid, c->unknown_mark, &e))
                init_exited(c, e.wait_status, e.time);
}

/* Sends the EXEC_SYNC reply (dropped when its connection has gone) and
 * drops the exec. */
static void exec_complete(struct exec **slot)
{
        struct exec *e = *slot;
        int fds[EXEC_N_STREAMS] = {-1, -1};
        struct conn *cn = conn_by_id(e->conn_id);
        size_t len;
        int r = exec_finish(e, fds);

        log_info("exec finished",
                 "ctr=%s exec=%u wait_status=0x%x timed_out=%d stdout=%zu stderr=%zu", e->ctr_id,
                 e->n, e->wait_status, e->timed_out, e->kept[EXEC_STDOUT], e->kept[EXEC_STDERR]);
        if (r < 0)
                send_reply(cn, e->seq, -EIO, "sealing the exec's output failed", 0);
        else if (cn && wire_encode_exec_reply(send_buf, sizeof(send_buf), e->seq,
                                              (uint32_t)e->wait_status, e->timed_out, &len) == 0)
                conn_send_fds(cn, len, fds, EXEC_N_STREAMS, "EXEC_SYNC reply");
        for (int i = 0; i < EXEC_N_STREAMS; i++)
                safe_close(fds[i]);
        exec_free(e);
        *slot = NULL;
}

static void exec_check(struct exec **slot)
{
        if (exec_done(*slot))
                exec_complete(slot);
}

/* An exec's runtime was reaped: the exec goes on with its process, or
 * ends with an error reply. */
static void exec_runtime_ended(struct exec **slot, int wait_status)
{
        struct exec *e = *slot;
        char err[MON_MAX_ERROR];
        struct early_exit x;
        int r = exec_runtime_done(e, wait_status, err, sizeof(err));

        if (r == -ECHILD) {
                /* The process ended before its runtime did, and was reaped
                 * as an unknown pid. */
                if (take_early_exit(e->pid, e->unknown_mark, &x)) {
                        exec_process_done(e, x.wait_status, mono_ns());
                        r = 0;
                } else {
                        snprintf(err, sizeof(err), "the exec's process %d ended unseen",
                                 (int)e->pid);
                        log_warn("exec's process lost", "ctr=%s exec=%u pid=%d", e->ctr_id, e->n,
                                 (int)e->pid);
                        r = -EIO;
                }
        }
        if (r < 0) {
                send_reply(conn_by_id(e->conn_id), e->seq, r, err, 0);
                exec_free(e);
                *slot = NULL;
                return;
        }
        exec_check(slot);
}

static void child_ended(pid_t pid, int wait_status)
{
        uint64_t time = now_ns();

        for (unsigned i = 0; i < MON_MAX_EXECS; i++) {
                struct exec *e = m.execs[i];
                if (e && e->runtime_pid == pid) {
                        exec_runtime_ended(&m.execs[i], wait_status);
                        return;
                }
                if (e && e->pid == pid && !e->reaped) {
                        exec_process_done(e, wait_status, mono_ns());
                        exec_check(&m.execs[i]);
                        return;
                }
        }
        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++) {
                struct ctr *c = m.ctrs[i];
                if (!c)
                        continue;
                if (c->runtime_pid == pid) {
                        runtime_done(&m.ctrs[i], wait_status);
                        return;
                }
                if (c->pid == pid && !c->exited) {
                        init_exited(c, wait_status, time);
                        return;
                }
        }
        if (pid == m.pause_pid) {
                log_warn("the pause process ended", "pid=%d wait_status=0x%x", (int)pid,
                         wait_status);
                m.pause_pid = 0;
                return;
        }
        log_debug("reaped a process", "pid=%d wait_status=0x%x", (int)pid, wait_status);
        remember_early_exit(pid, wait_status, time);
}

static void reap(void)
{
        struct signalfd_siginfo si;

        while (read(m.signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
        for (;;) {
                int st;
                pid_t pid = waitpid(-1, &st, WNOHANG);
                if (pid < 0 && errno == EINTR)
                        continue;
                if (pid <= 0)
                        return;
                child_ended(pid, st);
        }
}

static int count_ctrs(void)
{
        int n = 0;

        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++)
                n += m.ctrs[i] != NULL;
        return n;
}

static void do_create(struct conn *cn, const struct mon_request *q, int log_fd)
{
        char err[MON_MAX_ERROR];
        struct ctr *c;
        int r;

        if (q->invalid) {
                safe_close(log_fd);
                send_reply(cn, q->seq, -EINVAL, q->invalid, 0);
                return;
        }
        if (ctr_slot(q->ctr_id)) {
                safe_close(log_fd);
                send_reply(cn, q->seq, -EEXIST, "the container exists", 0);
                return;
        }
        if (count_ctrs() == MON_MAX_CONTAINERS) {
                safe_close(log_fd);
                send_reply(cn, q->seq, -EBUSY, "the monitor holds its most containers", 0);
                return;
        }
        r = ctr_create(q, log_fd, &c, err, sizeof(err));
        if (r < 0) {
                send_reply(cn, q->seq, r, err, 0);
                return;
        }
        c->conn_id = cn->id;
        c->seq = q->seq;
        c->unknown_mark = m.n_unknown;
        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++) {
                if (!m.ctrs[i]) {
                        m.ctrs[i] = c;
                        break;
                }
        }
}

static int count_execs(const char *ctr_id)
{
        int n = 0;

        for (unsigned i = 0; i < MON_MAX_EXECS; i++)
                n += m.execs[i] && (!ctr_id || strcmp(m.execs[i]->ctr_id, ctr_id) == 0);
        return n;
}

static void do_exec(struct conn *cn, const struct mon_request *q)
{
        char err[MON_MAX_ERROR];
        struct ctr **slot;
        struct exec *e;
        int r;

        if (q->invalid) {
                send_reply(cn, q->seq, -EINVAL, q->invalid, 0);
                return;
        }
        slot = ctr_slot(q->ctr_id);
        if (!slot) {
                send_reply(cn, q->seq, -ENOENT, "no such container", 0);
                return;
        }
        if ((*slot)->pid == 0 || (*slot)->exited) {
                send_reply(cn, q->seq, -ENOENT, "the container's init is not running", 0);
                return;
        }
        if (count_execs(NULL) == MON_MAX_EXECS) {
                send_reply(cn, q->seq, -EBUSY, "the monitor runs its most execs", 0);
                return;
        }
        r = exec_start(q, ++m.n_execs_started, mono_ns(), &e, err, sizeof(err));
        if (r < 0) {
                send_reply(cn, q->seq, r, err, 0);
                return;
        }
        e->conn_id = cn->id;
        e->seq = q->seq;
        e->unknown_mark = m.n_unknown;
        for (unsigned i = 0; i < MON_MAX_EXECS; i++) {
                if (!m.execs[i]) {
                        m.execs[i] = e;
                        break;
                }
        }
}

/* Finds the container of a REOPEN_LOG or FORGET, or replies why not. */
static struct ctr **known_ctr(struct conn *cn, const struct mon_request *q)
{
        struct ctr **slot;

        if (q->invalid) {
                send_reply(cn, q->seq, -EINVAL, q->invalid, 0);
                return NULL;
        }
        slot = ctr_slot(q->ctr_id);
        if (!slot)
                send_reply(cn, q->seq, -ENOENT, "no such container", 0);
        return slot;
}

static void do_state(struct conn *cn, uint32_t seq)
{
        struct wire_state w;
        size_t len;
        int r = 0;

        wire_state_begin(&w, send_buf, sizeof(send_buf), seq);
        for (unsigned i = 0; r == 0 && i < MON_MAX_CONTAINERS; i++) {
                const struct ctr *c = m.ctrs[i];
                if (c)
                        r = wire_state_add(&w, c->id, (uint32_t)c->pid, c->exited,
                                           (uint32_t)c->wait_status, c->exit_time);
        }
        if (r == 0)
                r = wire_state_finish(&w, &len);
        if (r < 0) {
                log_warn_errno(r, "encoding the STATE reply failed", NULL);
                send_reply(cn, seq, r, "encoding the state failed", 0);
                return;
        }
        conn_send(cn, len, "STATE");
}

static __attribute__((noreturn)) void shutdown_monitor(void)
{
        if (m.pause_pid > 0) {
                kill(m.pause_pid, SIGKILL);
                while (waitpid(m.pause_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++)
                ctr_free(m.ctrs[i]);
        for (unsigned i = 0; i < MAX_CONNS; i++)
                safe_close(m.conns[i].fd);
        log_info("monitor shut down", "pod=%s", m.pod_id);
        exit(0);
}

static void do_shutdown(struct conn *cn, uint32_t seq)
{
        if (count_execs(NULL) > 0) {
                send_reply(cn, seq, -EBUSY, "an exec still runs", 0);
                return;
        }
        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++) {
                if (m.ctrs[i] && ctr_active(m.ctrs[i])) {
                        send_reply(cn, seq, -EBUSY, "a container still runs", 0);
                        return;
                }
        }
        send_reply(cn, seq, 0, NULL, 0);
        shutdown_monitor();
}

static void dispatch(struct conn *cn, const struct mon_request *q, int *fds)
{
        struct ctr **slot;
        int log_fd = -1;

        if (q->has_log_fd)
                log_fd = TAKE_FD(fds[q->log_fd_index]);
        switch (q->kind) {
        case MON_KIND_CREATE:
                do_create(cn, q, log_fd);
                return;
        case MON_KIND_REOPEN_LOG:
                slot = known_ctr(cn, q);
                if (!slot) {
                        close(log_fd);
                        return;
                }
                ctr_reopen_log(*slot, log_fd);
                send_reply(cn, q->seq, 0, NULL, 0);
                return;
        case MON_KIND_FORGET:
                slot = known_ctr(cn, q);
                if (!slot)
                        return;
                if (ctr_active(*slot)) {
                        send_reply(cn, q->seq, -EBUSY, "the container has not exited", 0);
                        return;
                }
                if (count_execs((*slot)->id) > 0) {
                        send_reply(cn, q->seq, -EBUSY, "an exec in the container still runs", 0);
                        return;
                }
                log_info("container forgotten", "ctr=%s", (*slot)->id);
                ctr_free(*slot);
                *slot = NULL;
                send_reply(cn, q->seq, 0, NULL, 0);
                return;
        case MON_KIND_STATE:
                do_state(cn, q->seq);
                return;
        case MON_KIND_SUBSCRIBE:
                send_reply(cn, q->seq, 0, NULL, 0);
                cn->subscribed = true;
                return;
        case MON_KIND_SHUTDOWN:
                do_shutdown(cn, q->seq);
                return;
        case MON_KIND_EXEC_SYNC:
                do_exec(cn, q);
                return;
        }
}

static void conn_event(struct conn *cn)
{
        struct mon_request q;
        struct brig_recv rv;
        char err[WIRE_REASON_MAX];
        ssize_t n = brig_msg_recv(cn->fd, recv_buf, sizeof(recv_buf), &rv);

        if (n == -EAGAIN)
                return;
        if (n == 0) {
                conn_close(cn, "peer closed");
                return;
        }
        if (n < 0) {
                log_warn_errno((int)n, "receiving failed; closing the connection", "conn=%llu",
                               (unsigned long long)cn->id);
                conn_close(cn, "receive failed");
                return;
        }
        if (cn->subscribed) {
                log_warn("a subscriber sent a datagram; closing its connection", "conn=%llu",
                         (unsigned long long)cn->id);
                brig_close_fds(rv.fds, rv.n_fds);
                conn_close(cn, "subscriber sent");
                return;
        }
        int r = wire_decode_request(recv_buf, (size_t)n, rv.n_fds, &q, err, sizeof(err));
        if (r < 0) {
                log_warn_errno(r, "malformed datagram; closing the connection",
                               "conn=%llu reason=\"%s\"", (unsigned long long)cn->id, err);
                brig_close_fds(rv.fds, rv.n_fds);
                conn_close(cn, "malformed");
                return;
        }
        log_debug("request", "conn=%llu kind=%s seq=%u", (unsigned long long)cn->id,
                  wire_kind_name(q.kind), q.seq);
        dispatch(cn, &q, rv.fds);
        brig_close_fds(rv.fds, rv.n_fds);
}

static void add_poll(struct pollfd *pfd, struct owner *own, unsigned *n, int fd, struct owner o)
{
        pfd[*n] = (struct pollfd){.fd = fd, .events = POLLIN};
        own[*n] = o;
        (*n)++;
}

/* Containers and execs first, the connections last: a request may free a
 * container, start an exec in a freed slot or (the listener) fill a
 * connection slot, and must not do so under an entry still to be handled
 * in the same round. */
static unsigned build_poll(struct pollfd *pfd, struct owner *own)
{
        unsigned n = 0;

        for (unsigned i = 0; i < MON_MAX_CONTAINERS; i++) {
                const struct ctr *c = m.ctrs[i];
                if (!c)
                        continue;
                for (int s = 0; s < CTR_N_STREAMS; s++)
                        if (c->out[s].fd >= 0)
                                add_poll(pfd, own, &n, c->out[s].fd,
                                         (struct owner){OWN_STREAM, i, s});
                if (c->console_conn >= 0 || c->console_fd >= 0)
                        add_poll(pfd, own, &n,
                                 c->console_conn >= 0 ? c->console_conn : c->console_fd,
                                 (struct owner){OWN_CONSOLE, i, 0});
        }
        for (unsigned i = 0; i < MON_MAX_EXECS; i++) {
                const struct exec *e = m.execs[i];
                for (int s = 0; e && s < EXEC_N_STREAMS; s++)
                        if (e->pipe[s] >= 0)
                                add_poll(pfd, own, &n, e->pipe[s], (struct owner){OWN_EXEC, i, s});
        }
        add_poll(pfd, own, &n, m.signal_fd, (struct owner){OWN_SIGNAL, 0, 0});
        for (unsigned i = 0; i < MAX_CONNS; i++)
                if (m.conns[i].fd >= 0)
                        add_poll(pfd, own, &n, m.conns[i].fd, (struct owner){OWN_CONN, i, 0});
        add_poll(pfd, own, &n, m.listen_fd, (struct owner){OWN_LISTEN, 0, 0});
        return n;
}

static void handle(const struct pollfd *p, const struct owner *o)
{
        struct ctr *c = o->kind == OWN_STREAM || o->kind == OWN_CONSOLE ? m.ctrs[o->index] : NULL;

        switch (o->kind) {
        case OWN_STREAM:
                if (c && c->out[o->stream].fd == p->fd)
                        ctr_read_output(c, (enum ctr_stream)o->stream);
                return;
        case OWN_EXEC:
                if (m.execs[o->index] && m.execs[o->index]->pipe[o->stream] == p->fd) {
                        exec_read(m.execs[o->index], (enum exec_stream)o->stream);
                        exec_check(&m.execs[o->index]);
                }
                return;
        case OWN_CONSOLE:
                if (c)
                        ctr_console_event(c);
                return;
        case OWN_SIGNAL:
                reap();
                return;
        case OWN_CONN:
                if (m.conns[o->index].fd == p->fd)
                        conn_event(&m.conns[o->index]);
                return;
        case OWN_LISTEN:
                accept_conn();
                return;
        }
}

/* Milliseconds to the first exec deadline (rounded up, so it has passed
 * when poll returns), or -1 for none. */
static int poll_timeout(void)
{
        uint64_t first = UINT64_MAX, now = mono_ns();

        for (unsigned i = 0; i < MON_MAX_EXECS; i++) {
                uint64_t d = m.execs[i] ? exec_deadline(m.execs[i]) : 0;
                if (d && d < first)
                        first = d;
        }
        if (first == UINT64_MAX)
                return -1;
        if (first <= now)
                return 0;
        uint64_t ms = (first - now + 999999) / 1000000;
        return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void expire_execs(void)
{
        uint64_t now = mono_ns();

        for (unsigned i = 0; i < MON_MAX_EXECS; i++) {
                struct exec *e = m.execs[i];
                uint64_t d = e ? exec_deadline(e) : 0;
                if (!d || d > now)
                        continue;
                exec_expire(e, now);
                exec_check(&m.execs[i]);
        }
}

static __attribute__((noreturn)) void loop(void)
{
        static struct pollfd pfd[MAX_POLL];
        static struct owner own[MAX_POLL];

        for (;;) {
                unsigned n = build_poll(pfd, own);
                int r = poll(pfd, n, poll_timeout());
                if (r < 0 && errno != EINTR)
                        log_warn_errno(negative_errno(), "poll failed", NULL);
                for (unsigned i = 0; r > 0 && i < n; i++)
                        if (pfd[i].revents)
                                handle(&pfd[i], &own[i]);
                expire_execs();
        }
}

static int check_socket(int fd, bool listening)
{
        struct stat st;
        int accepting = 0;
        socklen_t len = sizeof(accepting);
        int flags;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
                return negative_errno();
        if (!!accepting != listening)
                return -EINVAL;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return negative_errno();
        return 0;
}

static int setup_process(void)
{
        sigset_t chld;

        if (getsid(0) != getpid() && setsid() < 0)
                return log_error_errno(negative_errno(), "setsid failed", NULL);
        /* The monitor outlives the helper that started it; every process
         * that ends under it is its to reap. */
        if (prctl(PR_SET_PDEATHSIG, 0) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(negative_errno(), "prctl failed", NULL);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
                return log_error_errno(negative_errno(), "blocking SIGCHLD failed", NULL);
        m.signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
        if (m.signal_fd < 0)
                return log_error_errno(negative_errno(), "signalfd failed", NULL);
        return 0;
}

static void usage(void)
{
        fprintf(stderr, "usage: brig-monitor [--pause] <pod id>\n"
                        "  fd 3: the listening socket, fd 4: the helper's connection\n");
}

int main(int argc, char **argv)
{
        bool pause = false;
        int r;

        log_set_program("brig-monitor");
        if (argc == 3 && strcmp(argv[1], "--pause") == 0)
                pause = true;
        else if (argc != 2) {
                usage();
                return 2;
        }
        m.pod_id = argv[argc - 1];
        if (!wire_valid_id(m.pod_id)) {
                log_error("the pod id is not 64 lowercase hex", NULL);
                return 2;
        }
        for (unsigned i = 0; i < MAX_CONNS; i++)
                m.conns[i].fd = -1;
        m.listen_fd = LISTEN_FD;
        r = check_socket(LISTEN_FD, true);
        if (r < 0) {
                log_error_errno(r, "fd 3 is not a listening socket", NULL);
                return 1;
        }
        r = check_socket(FIRST_CONN_FD, false);
        if (r < 0) {
                log_error_errno(r, "fd 4 is not a connected socket", NULL);
                return 1;
        }
        if (setup_process() < 0)
                return 1;
        if (pause) {
                r = pause_start(&m.pause_pid);
                if (r < 0) {
                        log_error_errno(r, "starting the pause process failed", "pod=%s", m.pod_id);
                        return 1;
                }
        }
        conn_add(FIRST_CONN_FD);
        log_info("monitor started", "pod=%s pause_pid=%d", m.pod_id, (int)m.pause_pid);
        loop();
}
