/* rpc_server.c: owns the grpc C core server of rpc_server.h: the completion
 * queue and its poller threads, pre-posted call requests, each call's
 * reference-counted context, and the graceful shutdown sequence.
 *
 * Every call context is tagged three ways (NEW, OPS, CLOSE) so the poller
 * knows which phase completed. A context holds one reference per batch in
 * flight plus one for its handler; the last reference frees it. The server
 * counts live contexts itself because the core's shutdown tag does not wait
 * for application code still holding a call.
 */
#include "rpc_server.h"

#include <errno.h>
#include <inttypes.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "util.h"
#include "workpool.h"

/* Requests kept posted per method so bursts never wait for a re-arm. */
#define PREPOSTED_PER_METHOD 2
#define POLLER_THREADS       2

enum tag_kind {
        TAG_NEW,
        TAG_OPS,
        TAG_CLOSE,
};

struct call_tag {
        struct rpc_call *call;
        enum tag_kind kind;
};

struct rpc_call {
        struct rpc_server *srv;
        const struct rpc_method *method; /* NULL: a path nobody registered */
        size_t method_index;
        grpc_call *call;
        gpr_timespec deadline;
        grpc_metadata_array metadata;
        grpc_call_details details;
        grpc_byte_buffer *payload;
        struct call_tag tag_new, tag_ops, tag_close;
        atomic_int refs;
        uint64_t id;
        char *method_name; /* for unregistered paths */

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool closed;       /* RECV_CLOSE_ON_SERVER completed */
        int cancelled;     /* written by the core at close */
        bool send_pending; /* a SEND_MESSAGE batch is in flight */
        bool send_ok;      /* result of the last send batch */
        bool sent_metadata;
        bool finished; /* status sent */
        grpc_byte_buffer *send_bb;
        grpc_slice status_details;
        bool have_status_details;
};

struct rpc_server {
        grpc_server *server;
        grpc_completion_queue *cq;
        const struct rpc_method *methods;
        size_t n_methods;
        void **registered; /* grpc handle per method */
        struct workpool *pool;
        pthread_t pollers[POLLER_THREADS];
        size_t n_pollers;
        void *app;
        char *socket_path;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t live_calls;
        atomic_bool stopping;
        bool shutdown_done;
        struct call_tag shutdown_tag;
        atomic_uint_fast64_t next_id;
};

/* --- call contexts -------------------------------------------------------- */

static void call_ref(struct rpc_call *c)
{
        atomic_fetch_add(&c->refs, 1);
}

static void call_unref(struct rpc_call *c)
{
        if (atomic_fetch_sub(&c->refs, 1) != 1)
                return;

        struct rpc_server *srv = c->srv;
        if (c->call)
                grpc_call_unref(c->call);
        grpc_metadata_array_destroy(&c->metadata);
        grpc_call_details_destroy(&c->details);
        if (c->payload)
                grpc_byte_buffer_destroy(c->payload);
        if (c->send_bb)
                grpc_byte_buffer_destroy(c->send_bb);
        if (c->have_status_details)
                grpc_slice_unref(c->status_details);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c->method_name);
        free(c);

        pthread_mutex_lock(&srv->lock);
        srv->live_calls--;
        pthread_cond_broadcast(&srv->cond);
        pthread_mutex_unlock(&srv->lock);
}

/* Posts one request for method_index (n_methods means "any other path").
 * The new context's single reference belongs to the NEW tag. */
static int arm(struct rpc_server *srv, size_t method_index)
{
        struct rpc_call *c = calloc(1, sizeof(*c));
        grpc_call_error e;

        if (!c)
                return -ENOMEM;
        c->srv = srv;
        c->method_index = method_index;
        c->method = method_index < srv->n_methods ? &srv->methods[method_index] : NULL;
        c->tag_new = (struct call_tag){c, TAG_NEW};
        c->tag_ops = (struct call_tag){c, TAG_OPS};
        c->tag_close = (struct call_tag){c, TAG_CLOSE};
        atomic_init(&c->refs, 1);
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);
        grpc_metadata_array_init(&c->metadata);
        grpc_call_details_init(&c->details);

        pthread_mutex_lock(&srv->lock);
        srv->live_calls++;
        pthread_mutex_unlock(&srv->lock);

        if (c->method)
                e = grpc_server_request_registered_call(srv->server, srv->registered[method_index],
                                                        &c->call, &c->deadline, &c->metadata,
                                                        &c->payload, srv->cq, srv->cq, &c->tag_new);
        else
                e = grpc_server_request_call(srv->server, &c->call, &c->details, &c->metadata,
                                             srv->cq, srv->cq, &c->tag_new);
        if (e != GRPC_CALL_OK) {
                log_error("cannot post a call request", "error=%s", grpc_call_error_to_string(e));
                call_unref(c);
                return -EIO;
        }
        return 0;
}

static int start_batch(struct rpc_call *c, const grpc_op *ops, size_t n, struct call_tag *tag)
{
        call_ref(c);
        grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
        if (e != GRPC_CALL_OK) {
                log_error("cannot start a batch on a call", "call=%" PRIu64 " error=%s", c->id,
                          grpc_call_error_to_string(e));
                call_unref(c);
                return -EIO;
        }
        return 0;
}

/* --- sending -------------------------------------------------------------- */

static int pack(const ProtobufCMessage *msg, grpc_byte_buffer **ret)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        grpc_slice slice = grpc_slice_malloc(len);

        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
        *ret = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        return *ret ? 0 : -ENOMEM;
}

static void log_status(struct rpc_call *c, grpc_status_code code, const char *details)
{
        const char *method = rpc_call_method(c);

        if (code == GRPC_STATUS_OK)
                log_debug("call finished", "call=%" PRIu64 " method=%s code=0", c->id, method);
        else
                log_info("call failed", "call=%" PRIu64 " method=%s code=%d details=\"%s\"", c->id,
                         method, (int)code, details);
}

/* Appends to ops what sending msg (NULL: no message) takes: the initial
 * metadata the first time, then the message, packed into c->send_bb, which
 * must outlive the batch. Called with c->lock held. */
static int add_send_ops(struct rpc_call *c, const ProtobufCMessage *msg, grpc_op *ops, size_t *n)
{
        if (msg) {
                if (c->send_bb)
                        grpc_byte_buffer_destroy(c->send_bb);
                c->send_bb = NULL;
                int r = pack(msg, &c->send_bb);
                if (r < 0)
                        return r;
        }
        if (!c->sent_metadata) {
                ops[(*n)++].op = GRPC_OP_SEND_INITIAL_METADATA;
                c->sent_metadata = true;
        }
        if (msg) {
                ops[*n].op = GRPC_OP_SEND_MESSAGE;
                ops[*n].data.send_message.send_message = c->send_bb;
                (*n)++;
        }
        return 0;
}

/* Sends the final status, with one last message when msg is not NULL. */
static int send_status(struct rpc_call *c, const ProtobufCMessage *msg, grpc_status_code code,
                       const char *details)
{
        grpc_op ops[3];
        size_t n = 0;
        int r = 0;

        pthread_mutex_lock(&c->lock);
        if (c->finished) {
                r = -EALREADY;
                goto out;
        }
        memset(ops, 0, sizeof(ops));
        r = add_send_ops(c, msg, ops, &n);
        if (r < 0)
                goto out;
        /* The core copies nothing it needs later, but keeping the slice for
         * the call's life costs nothing and avoids relying on that. */
        c->status_details = grpc_slice_from_copied_string(details ? details : "");
        c->have_status_details = true;
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = code;
        ops[n].data.send_status_from_server.status_details = &c->status_details;
        n++;
        c->finished = true;
        r = start_batch(c, ops, n, &c->tag_ops);
out:
        pthread_mutex_unlock(&c->lock);
        if (r == 0)
                log_status(c, code, details);
        return r;
}

int rpc_reply(struct rpc_call *call, const ProtobufCMessage *response)
{
        return send_status(call, response, GRPC_STATUS_OK, NULL);
}

int rpc_fail(struct rpc_call *call, grpc_status_code code, const char *fmt, ...)
{
        char details[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(details, sizeof(details), fmt, ap);
        va_end(ap);
        return send_status(call, NULL, code, details);
}

int rpc_send(struct rpc_call *c, const ProtobufCMessage *msg)
{
        grpc_op ops[2];
        size_t n = 0;
        int r;

        if (rpc_call_done(c))
                return -ECANCELED;
        pthread_mutex_lock(&c->lock);
        if (c->finished || c->send_pending) {
                r = -EALREADY;
                goto out;
        }
        memset(ops, 0, sizeof(ops));
        r = add_send_ops(c, msg, ops, &n);
        if (r < 0)
                goto out;
        c->send_pending = true;
        r = start_batch(c, ops, n, &c->tag_ops);
        if (r < 0) {
                c->send_pending = false;
                goto out;
        }
        /* Only one message may be in flight per call: wait for this one. */
        while (c->send_pending)
                pthread_cond_wait(&c->cond, &c->lock);
        r = c->send_ok ? 0 : -ECANCELED;
out:
        pthread_mutex_unlock(&c->lock);
        return r;
}

bool rpc_call_done(struct rpc_call *c)
{
        if (atomic_load(&c->srv->stopping))
                return true;
        pthread_mutex_lock(&c->lock);
        bool done = c->closed;
        pthread_mutex_unlock(&c->lock);
        return done;
}

int rpc_call_wait(struct rpc_call *c, unsigned ms)
{
        struct timespec end, now;

        end = clock_deadline_in_ms(ms);
        /* Sleep in short slices: a stopping server does not signal each call. */
        for (;;) {
                if (rpc_call_done(c))
                        return -ECANCELED;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long left_ms =
                    (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000L;
                if (left_ms <= 0)
                        return 0;
                struct timespec slice = {0, (left_ms < 50 ? left_ms : 50) * 1000000L};
                nanosleep(&slice, NULL);
        }
}

void *rpc_call_app(struct rpc_call *c)
{
        return c->srv->app;
}

const char *rpc_call_method(struct rpc_call *c)
{
        if (c->method)
                return c->method->path;
        return c->method_name ? c->method_name : "?";
}

uint64_t rpc_call_id(struct rpc_call *c)
{
        return c->id;
}

/* --- dispatch ------------------------------------------------------------- */

static void run_handler(void *arg)
{
        struct rpc_call *c = arg;
        const struct rpc_method *m = c->method;
        ProtobufCMessage *request = NULL;
        grpc_byte_buffer_reader reader;

        if (!c->payload) {
                rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s: the call carried no request message",
                         m->path);
        } else if (!grpc_byte_buffer_reader_init(&reader, c->payload)) {
                rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot read the request message",
                         m->path);
        } else {
                grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
                grpc_byte_buffer_reader_destroy(&reader);
                request = protobuf_c_message_unpack(m->request_type, NULL, GRPC_SLICE_LENGTH(all),
                                                    GRPC_SLICE_START_PTR(all));
                grpc_slice_unref(all);
                if (!request)
                        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
                                 "%s: request is not a valid %s protobuf message", m->path,
                                 m->request_type->name);
        }
        if (request) {
                m->handler(c, request);
                protobuf_c_message_free_unpacked(request, NULL);
                if (rpc_fail(c, GRPC_STATUS_INTERNAL, "%s: handler returned without a reply",
                             m->path) == 0)
                        log_error("handler returned without a reply", "method=%s", m->path);
        }
        call_unref(c);
}

static void on_new_call(struct rpc_server *srv, struct rpc_call *c, bool success)
{
        grpc_op close_op;

        if (!success) {
                call_unref(c); /* the server is shutting down */
                return;
        }
        if (!atomic_load(&srv->stopping) && arm(srv, c->method_index) < 0)
                log_error("cannot re-arm a method; it will stop answering", "method=%s",
                          rpc_call_method(c));
        c->id = atomic_fetch_add(&srv->next_id, 1) + 1;

        memset(&close_op, 0, sizeof(close_op));
        close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        close_op.data.recv_close_on_server.cancelled = &c->cancelled;
        if (start_batch(c, &close_op, 1, &c->tag_close) < 0) {
                call_unref(c);
                return;
        }

        if (!c->method) {
                c->method_name = grpc_slice_to_c_string(c->details.method);
                rpc_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method %s", c->method_name);
        } else if (!c->method->handler) {
                rpc_fail(c, GRPC_STATUS_UNIMPLEMENTED, "%s is not implemented by brig yet",
                         c->method->path);
        } else {
                int r = workpool_submit(srv->pool, run_handler, c);
                if (r == 0)
                        return; /* the handler owns the reference now */
                rpc_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         "%s: brigd is too busy to take the call (%s)", c->method->path,
                         strerror(-r));
        }
        call_unref(c);
}

static void *poller(void *arg)
{
        struct rpc_server *srv = arg;

        for (;;) {
                grpc_event ev =
                    grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
                if (ev.type == GRPC_QUEUE_SHUTDOWN)
                        break;
                if (ev.type != GRPC_OP_COMPLETE)
                        continue;
                struct call_tag *tag = ev.tag;
                if (tag == &srv->shutdown_tag) {
                        pthread_mutex_lock(&srv->lock);
                        srv->shutdown_done = true;
                        pthread_cond_broadcast(&srv->cond);
                        pthread_mutex_unlock(&srv->lock);
                        continue;
                }
                struct rpc_call *c = tag->call;
                switch (tag->kind) {
                case TAG_NEW:
                        on_new_call(srv, c, ev.success);
                        break;
                case TAG_OPS:
                        pthread_mutex_lock(&c->lock);
                        c->send_pending = false;
                        c->send_ok = ev.success;
                        pthread_cond_broadcast(&c->cond);
                        pthread_mutex_unlock(&c->lock);
                        call_unref(c);
                        break;
                case TAG_CLOSE:
                        pthread_mutex_lock(&c->lock);
                        c->closed = true;
                        pthread_cond_broadcast(&c->cond);
                        pthread_mutex_unlock(&c->lock);
                        call_unref(c);
                        break;
                }
        }
        return NULL;
}

/* --- start and stop ------------------------------------------------------- */

/* grpc replaces whatever socket sits at the path, even a live one, so look
 * first: a second brigd must not steal the first one's socket. */
static int check_socket_free(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path is too long", "path=%s", path);
        if (lstat(path, &st) < 0)
                return errno == ENOENT
                           ? 0
                           : log_error_errno(negative_errno(), "cannot inspect socket path",
                                             "path=%s", path);
        if (!S_ISSOCK(st.st_mode))
                return log_error_errno(-EEXIST, "socket path exists and is not a socket; remove it",
                                       "path=%s", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                return log_error_errno(-EADDRINUSE, "another server already answers on the socket",
                                       "path=%s", path);
        return 0;
}

static int make_parent_dir(const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return log_error_errno(negative_errno(), "cannot create the socket's directory",
                                       "dir=%s", dir);
        return 0;
}

static void server_free(struct rpc_server *srv)
{
        if (srv->server)
                grpc_server_destroy(srv->server);
        if (srv->cq) {
                grpc_completion_queue_shutdown(srv->cq);
                for (size_t i = 0; i < srv->n_pollers; i++)
                        pthread_join(srv->pollers[i], NULL);
                if (srv->n_pollers == 0) {
                        /* Nobody drained the queue: do it here. */
                        while (grpc_completion_queue_next(srv->cq,
                                                          gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                                   .type != GRPC_QUEUE_SHUTDOWN)
                                ;
                }
                grpc_completion_queue_destroy(srv->cq);
        }
        workpool_free(srv->pool);
        pthread_cond_destroy(&srv->cond);
        pthread_mutex_destroy(&srv->lock);
        free(srv->registered);
        free(srv->socket_path);
        free(srv);
        grpc_shutdown();
}

int rpc_server_start(const struct rpc_server_options *opts, const struct rpc_method *methods,
                     size_t n_methods, struct rpc_server **ret)
{
        static const char prefix[] = "unix://";
        struct rpc_server *srv;
        grpc_arg args[2];
        int r;

        if (strncmp(opts->listen, prefix, strlen(prefix)) != 0 ||
            opts->listen[strlen(prefix)] != '/')
                return log_error_errno(-EINVAL,
                                       "listen address must be unix:// and an absolute path",
                                       "listen=%s", opts->listen);

        srv = calloc(1, sizeof(*srv));
        if (!srv)
                return -ENOMEM;
        grpc_init();
        pthread_mutex_init(&srv->lock, NULL);
        pthread_cond_init(&srv->cond, NULL);
        srv->methods = methods;
        srv->n_methods = n_methods;
        srv->app = opts->app;
        srv->shutdown_tag = (struct call_tag){NULL, TAG_NEW};
        srv->socket_path = strdup(opts->listen + strlen(prefix));
        srv->registered = calloc(n_methods ? n_methods : 1, sizeof(void *));
        if (!srv->socket_path || !srv->registered) {
                r = -ENOMEM;
                goto fail;
        }

        r = check_socket_free(srv->socket_path);
        if (r < 0)
                goto fail;
        r = make_parent_dir(srv->socket_path);
        if (r < 0)
                goto fail;

        args[0] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                             .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                             .value.integer = (int)opts->max_message_bytes};
        args[1] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                             .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                             .value.integer = (int)opts->max_message_bytes};
        grpc_channel_args channel_args = {.num_args = ARRAY_SIZE(args), .args = args};

        srv->cq = grpc_completion_queue_create_for_next(NULL);
        srv->server = grpc_server_create(&channel_args, NULL);
        for (size_t i = 0; i < n_methods; i++) {
                srv->registered[i] =
                    grpc_server_register_method(srv->server, methods[i].path, NULL,
                                                GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
                if (!srv->registered[i]) {
                        r = log_error_errno(-EINVAL, "cannot register method", "method=%s",
                                            methods[i].path);
                        goto fail;
                }
        }
        grpc_server_register_completion_queue(srv->server, srv->cq, NULL);

        grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
        int port = grpc_server_add_http2_port(srv->server, opts->listen, creds);
        grpc_server_credentials_release(creds);
        if (port == 0) {
                r = log_error_errno(-EADDRNOTAVAIL, "cannot listen on the socket", "listen=%s",
                                    opts->listen);
                goto fail;
        }
        /* grpc creates the socket with the process umask; kubelet needs rw. */
        if (chmod(srv->socket_path, 0660) < 0) {
                r = log_error_errno(negative_errno(), "cannot set the socket's mode", "path=%s",
                                    srv->socket_path);
                goto fail;
        }

        r = workpool_new(opts->min_threads, opts->max_threads, &srv->pool);
        if (r < 0)
                goto fail;

        grpc_server_start(srv->server);
        for (size_t i = 0; i <= n_methods; i++) {
                for (int k = 0; k < PREPOSTED_PER_METHOD; k++) {
                        r = arm(srv, i);
                        if (r < 0)
                                goto fail_started;
                }
        }
        for (; srv->n_pollers < POLLER_THREADS; srv->n_pollers++) {
                r = -pthread_create(&srv->pollers[srv->n_pollers], NULL, poller, srv);
                if (r < 0)
                        goto fail_started;
        }
        log_info("serving CRI", "listen=%s methods=%zu", opts->listen, n_methods);
        *ret = srv;
        return 0;

fail_started:
        rpc_server_stop(srv, 0);
        return r;
fail:
        server_free(srv);
        return r;
}

static void wait_until(struct rpc_server *srv, bool *flag, const struct timespec *deadline)
{
        pthread_mutex_lock(&srv->lock);
        while (!*flag) {
                if (deadline) {
                        if (pthread_cond_timedwait(&srv->cond, &srv->lock, deadline) == ETIMEDOUT)
                                break;
                } else {
                        pthread_cond_wait(&srv->cond, &srv->lock);
                }
        }
        pthread_mutex_unlock(&srv->lock);
}

void rpc_server_stop(struct rpc_server *srv, unsigned grace_ms)
{
        struct timespec deadline;

        if (!srv)
                return;
        atomic_store(&srv->stopping, true);
        grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += grace_ms / 1000;
        deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        wait_until(srv, &srv->shutdown_done, &deadline);
        pthread_mutex_lock(&srv->lock);
        bool done = srv->shutdown_done;
        pthread_mutex_unlock(&srv->lock);
        if (!done) {
                log_warn("grace period over; cancelling the calls still running", "grace_ms=%u",
                         grace_ms);
                grpc_server_cancel_all_calls(srv->server);
                wait_until(srv, &srv->shutdown_done, NULL);
        }

        /* Handlers may still hold calls; the cq must outlive them. */
        pthread_mutex_lock(&srv->lock);
        while (srv->live_calls > 0)
                pthread_cond_wait(&srv->cond, &srv->lock);
        pthread_mutex_unlock(&srv->lock);
        log_info("CRI server stopped", NULL);
        server_free(srv);
}
