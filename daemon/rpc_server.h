/* rpc_server.h: brigd's gRPC server on the grpc C core, with protobuf-c messages.
 *
 * The server owns the completion queue, the listening socket and the call
 * life cycle. Services describe their methods as a table (path, kind,
 * request type, handler); handlers run on a worker pool, never on the
 * completion-queue threads, so a slow call never holds up another.
 *
 * A unary handler finishes its call with exactly one rpc_reply() or
 * rpc_fail(). A server-streaming handler calls rpc_send() any number of times
 * and finishes the same way: rpc_reply(call, NULL) for OK, or rpc_fail(). A
 * handler that returns without finishing gets INTERNAL sent on its behalf.
 * Requests that do not decode get INVALID_ARGUMENT and never reach the
 * handler; methods with no handler and paths nobody registered get
 * UNIMPLEMENTED naming the method.
 */
#pragma once

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rpc_server;
struct rpc_call;

enum rpc_kind {
        RPC_UNARY,
        RPC_SERVER_STREAM,
};

typedef void (*rpc_handler)(struct rpc_call *call, const ProtobufCMessage *request);

struct rpc_method {
        const char *path; /* "/runtime.v1.RuntimeService/Version" */
        enum rpc_kind kind;
        const ProtobufCMessageDescriptor *request_type;
        rpc_handler handler; /* NULL: UNIMPLEMENTED until its capability lands */
};

struct rpc_server_options {
        const char *listen;       /* "unix:///abs/path" */
        size_t max_message_bytes; /* both directions */
        size_t min_threads;       /* worker threads kept ready */
        size_t max_threads;       /* handlers running at once */
        void *app;                /* handed to handlers through rpc_call_app() */
};

/* Binds the socket (mode 0660, parent directory created), registers every
 * method and starts serving. Fails with -EADDRINUSE if a live server already
 * answers on the socket path. */
int rpc_server_start(const struct rpc_server_options *opts, const struct rpc_method *methods,
                     size_t n_methods, struct rpc_server **ret);

/* Stops accepting calls, lets in-flight calls finish for up to grace_ms,
 * then cancels the rest, waits for every handler to return and frees the
 * server. Streaming handlers see rpc_call_done() turn true at once. */
void rpc_server_stop(struct rpc_server *srv, unsigned grace_ms);

/* Unary and streaming: send the final status, OK with response (NULL: no
 * further message), or code with a message for the client. */
int rpc_reply(struct rpc_call *call, const ProtobufCMessage *response);
int rpc_fail(struct rpc_call *call, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Streaming: sends one message and waits until the transport took it.
 * Returns 0, or -ECANCELED when the client went away or the server stops. */
int rpc_send(struct rpc_call *call, const ProtobufCMessage *msg);

/* True once the client cancelled or closed, or the server is stopping. */
bool rpc_call_done(struct rpc_call *call);

/* Sleeps up to ms, returning early (with -ECANCELED) when the call is done. */
int rpc_call_wait(struct rpc_call *call, unsigned ms);

void *rpc_call_app(struct rpc_call *call);
const char *rpc_call_method(struct rpc_call *call);
/* A process-unique id that log lines and helper requests carry. */
uint64_t rpc_call_id(struct rpc_call *call);
