/* stream_server.h: brigd's streaming server, the HTTP/1.1 endpoint that
 * kubelet proxies `kubectl exec`, `attach` and `port-forward` sessions to
 * (docs/streaming.md).
 *
 * The Exec, Attach and PortForward RPCs check their request and register
 * it here; kubelet gets back a one-time URL
 * http://<address>:<port>/<exec|attach|portforward>/<token> whose token is
 * 128 bits from getrandom(). A token is good for one request, for
 * STREAM_TOKEN_TTL_MS (30 s) after it was made; any other path, an unknown,
 * expired or used token, or a token of another kind answers 404 with
 * nothing about other sessions. The server runs on a thread of its own
 * (libmicrohttpd) and holds no lock while a session runs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a URL stays usable when nobody comes for it (the default of
 * stream_server_options.token_ttl_ms). */
#define STREAM_TOKEN_TTL_MS 30000
/* URLs handed out and not used yet, at most. */
#define STREAM_TOKENS_MAX 1024
/* Longest URL stream_server_register() writes. */
#define STREAM_URL_MAX 128

enum stream_kind {
        STREAM_EXEC,
        STREAM_ATTACH,
        STREAM_PORT_FORWARD,
};

/* What a session will do, as its RPC asked it. */
struct stream_request {
        enum stream_kind kind;
        char target[65]; /* the container id (exec, attach) or pod id (port-forward) */
        char **cmd;      /* exec: the command, NULL-terminated */
        size_t n_cmd;
        bool tty, in, out, err;
        int32_t *ports; /* port-forward: the ports asked for (may be none) */
        size_t n_ports;
};

struct stream_server;

struct stream_server_options {
        const char *address; /* an IPv4 or IPv6 address */
        unsigned port;       /* 0: any free one */
        unsigned idle_timeout_s;
        unsigned token_ttl_ms; /* 0: STREAM_TOKEN_TTL_MS */
};

/* Binds and starts serving. Returns 0 or a negative errno with err saying
 * why (the address, the port). */
int stream_server_start(const struct stream_server_options *o, struct stream_server **ret,
                        char *err, size_t err_size);

/* Stops serving (sessions end) and frees everything. NULL is a no-op. */
void stream_server_stop(struct stream_server *s);

/* "<address>:<port>" as bound ("[addr]:port" for IPv6). */
const char *stream_server_endpoint(const struct stream_server *s);

/* Registers a copy of req and writes its one-time URL into url. Returns 0,
 * -EBUSY when STREAM_TOKENS_MAX URLs wait already, -ENOMEM, or the errno
 * of getrandom(). */
int stream_server_register(struct stream_server *s, const struct stream_request *req, char *url,
                           size_t url_size);

/* Takes the request registered under token if it is of kind and not
 * expired: it is removed (a token serves once) and handed to the caller in
 * *ret (free with stream_request_free()). Returns 0 or -ENOENT. */
int stream_server_take(struct stream_server *s, enum stream_kind kind, const char *token,
                       struct stream_request **ret);

void stream_request_free(struct stream_request *r);
