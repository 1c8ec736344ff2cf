/* debug_service.c: brig.debug.v1.Debug, a test-only service that exercises
 * the server-streaming path of rpc_server.c and a slow unary call across a
 * graceful stop, and arms crash points (see proto/debug.proto). */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "crashpoint.h"
#include "cri.h"
#include "debug.pb-c.h"
#include "util.h"

#define TICKS_MAX_COUNT       1000
#define TICKS_MAX_INTERVAL_MS 10000

static void handle_ticks(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Brig__Debug__V1__TicksRequest *req = (const Brig__Debug__V1__TicksRequest *)request;

        if (req->count > TICKS_MAX_COUNT || req->interval_ms > TICKS_MAX_INTERVAL_MS) {
                rpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                         "Ticks: count must be at most %d and interval_ms at most %d (got %u, %u)",
                         TICKS_MAX_COUNT, TICKS_MAX_INTERVAL_MS, req->count, req->interval_ms);
                return;
        }
        for (uint32_t seq = 1; seq <= req->count; seq++) {
                Brig__Debug__V1__Tick tick = BRIG__DEBUG__V1__TICK__INIT;

                if (req->interval_ms && rpc_call_wait(call, req->interval_ms) < 0)
                        break;
                tick.seq = seq;
                if (rpc_send(call, &tick.base) < 0)
                        break;
        }
        if (rpc_call_done(call))
                rpc_fail(call, GRPC_STATUS_CANCELLED, "Ticks: cancelled");
        else
                rpc_reply(call, NULL);
}

#define SLEEP_MAX_MS 10000

static void handle_sleep(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Brig__Debug__V1__SleepRequest *req = (const Brig__Debug__V1__SleepRequest *)request;
        Brig__Debug__V1__SleepResponse resp = BRIG__DEBUG__V1__SLEEP_RESPONSE__INIT;
        struct timespec left;

        if (req->ms > SLEEP_MAX_MS) {
                rpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                         "Sleep: ms must be at most %d (got %u)", SLEEP_MAX_MS, req->ms);
                return;
        }
        left = (struct timespec){.tv_sec = req->ms / 1000,
                                 .tv_nsec = (long)(req->ms % 1000) * 1000000L};
        while (nanosleep(&left, &left) < 0 && errno == EINTR)
                ;
        resp.slept_ms = req->ms;
        rpc_reply(call, &resp.base);
}

static void handle_crash_at(struct rpc_call *call, const ProtobufCMessage *request)
{
        const Brig__Debug__V1__CrashAtRequest *req =
            (const Brig__Debug__V1__CrashAtRequest *)request;
        Brig__Debug__V1__CrashAtResponse resp = BRIG__DEBUG__V1__CRASH_AT_RESPONSE__INIT;

        if (crashpoint_arm(req->point) < 0) {
                rpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "CrashAt: unknown point \"%.64s\"",
                         req->point);
                return;
        }
        rpc_reply(call, &resp.base);
}

const struct rpc_method debug_methods[] = {
    {"/brig.debug.v1.Debug/Ticks", RPC_SERVER_STREAM, &brig__debug__v1__ticks_request__descriptor,
     handle_ticks},
    {"/brig.debug.v1.Debug/Sleep", RPC_UNARY, &brig__debug__v1__sleep_request__descriptor,
     handle_sleep},
    {"/brig.debug.v1.Debug/CrashAt", RPC_UNARY, &brig__debug__v1__crash_at_request__descriptor,
     handle_crash_at},
};

const size_t debug_n_methods = ARRAY_SIZE(debug_methods);
