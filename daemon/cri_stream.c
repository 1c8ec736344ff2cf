/* cri_stream.c: the CRI streaming RPCs (Exec, Attach, PortForward): each
 * checks its request against the container or pod it names and answers
 * the one-time URL of brigd's streaming server (stream_server.h), where
 * kubelet then sends the session. */
#include "cri.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api.pb-c.h"
#include "brigd.h"
#include "containers.h"
#include "log.h"
#include "pods.h"
#include "stream_server.h"

#define ERR_SIZE 512

static void fail_with(struct rpc_call *call, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_with(struct rpc_call *call, grpc_status_code code, const char *fmt, ...)
{
        const char *method = strrchr(rpc_call_method(call), '/');
        char text[ERR_SIZE + 64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        log_warn("streaming request refused", "call=%" PRIu64 " method=%s reason=\"%s\"",
                 rpc_call_id(call), rpc_call_method(call), text);
        rpc_fail(call, code, "%s: %s", method ? method + 1 : rpc_call_method(call), text);
}

/* The container named for an exec or attach: it must exist and run.
 * Returns 0 with its full id in id, or -1 once the call failed. */
static int running_container(struct rpc_call *call, const char *ref, char id[static 65])
{
        struct brigd *d = rpc_call_app(call);
        struct container *ctr = NULL;
        struct ctr_status st;
        char err[ERR_SIZE] = "";
        int r;

        if (!ref[0]) {
                fail_with(call, GRPC_STATUS_INVALID_ARGUMENT, "container_id is empty");
                return -1;
        }
        r = containers_get(d->containers, ref, &ctr, err, sizeof(err));
        if (r < 0) {
                fail_with(call, containers_grpc_code(r), "%s", err);
                return -1;
        }
        containers_status(d->containers, rpc_call_id(call), ctr, &st);
        snprintf(id, 65, "%s", ctr->id);
        container_unref(d->containers, ctr);
        if (st.state != CTR_RUNNING) {
                fail_with(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s is not running", id);
                return -1;
        }
        return 0;
}

/* kubelet's own rules for a session's streams. */
static int check_streams(struct rpc_call *call, bool in, bool out, bool err, bool tty)
{
        if (!in && !out && !err) {
                fail_with(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "one of stdin, stdout and stderr must be set");
                return -1;
        }
        if (tty && err) {
                fail_with(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "tty and stderr cannot both be set: a terminal has one output");
                return -1;
        }
        return 0;
}

static void answer_url(struct rpc_call *call, const struct stream_request *req,
                       ProtobufCMessage *resp, char **url_field)
{
        struct brigd *d = rpc_call_app(call);
        char url[STREAM_URL_MAX];
        int r;

        if (!d->streams) {
                fail_with(call, GRPC_STATUS_UNAVAILABLE, "the streaming server is not running");
                return;
        }
        r = stream_server_register(d->streams, req, url, sizeof(url));
        if (r < 0) {
                fail_with(call, r == -EBUSY ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INTERNAL,
                          "cannot make a session URL: %s",
                          r == -EBUSY ? "too many are waiting to be used" : strerror(-r));
                return;
        }
        *url_field = url;
        rpc_reply(call, resp);
}

void cri_exec(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__ExecRequest *req = (const void *)request;
        Runtime__V1__ExecResponse resp = RUNTIME__V1__EXEC_RESPONSE__INIT;
        struct stream_request sr = {.kind = STREAM_EXEC,
                                    .cmd = req->cmd,
                                    .n_cmd = req->n_cmd,
                                    .tty = req->tty,
                                    .in = req->stdin,
                                    .out = req->stdout,
                                    .err = req->stderr};

        if (req->n_cmd == 0 || !req->cmd[0][0])
                return fail_with(call, GRPC_STATUS_INVALID_ARGUMENT, "cmd is empty");
        if (check_streams(call, req->stdin, req->stdout, req->stderr, req->tty) < 0 ||
            running_container(call, req->container_id, sr.target) < 0)
                return;
        answer_url(call, &sr, &resp.base, &resp.url);
}

void cri_attach(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__AttachRequest *req = (const void *)request;
        Runtime__V1__AttachResponse resp = RUNTIME__V1__ATTACH_RESPONSE__INIT;
        struct stream_request sr = {.kind = STREAM_ATTACH,
                                    .tty = req->tty,
                                    .in = req->stdin,
                                    .out = req->stdout,
                                    .err = req->stderr};

        if (check_streams(call, req->stdin, req->stdout, req->stderr, req->tty) < 0 ||
            running_container(call, req->container_id, sr.target) < 0)
                return;
        answer_url(call, &sr, &resp.base, &resp.url);
}

void cri_port_forward(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Runtime__V1__PortForwardRequest *req = (const void *)request;
        Runtime__V1__PortForwardResponse resp = RUNTIME__V1__PORT_FORWARD_RESPONSE__INIT;
        struct brigd *d = rpc_call_app(call);
        struct stream_request sr = {
            .kind = STREAM_PORT_FORWARD, .ports = req->port, .n_ports = req->n_port};
        struct pod *pod = NULL;
        char err[ERR_SIZE] = "";
        bool ready;
        int r;

        if (!req->pod_sandbox_id[0])
                return fail_with(call, GRPC_STATUS_INVALID_ARGUMENT, "pod_sandbox_id is empty");
        for (size_t i = 0; i < req->n_port; i++)
                if (req->port[i] < 1 || req->port[i] > 65535)
                        return fail_with(call, GRPC_STATUS_INVALID_ARGUMENT,
                                         "port %" PRId32 " is outside 1-65535", req->port[i]);
        r = pods_get(d->pods, req->pod_sandbox_id, &pod, err, sizeof(err));
        if (r < 0)
                return fail_with(call, pods_grpc_code(r), "%s", err);
        snprintf(sr.target, sizeof(sr.target), "%s", pod->id);
        ready = pod_state(d->pods, pod) == POD_READY;
        pod_unref(d->pods, pod);
        if (!ready)
                return fail_with(call, GRPC_STATUS_FAILED_PRECONDITION,
                                 "pod sandbox %s is not ready", sr.target);
        answer_url(call, &sr, &resp.base, &resp.url);
}
