/* stream_server.c: owns the streaming server's libmicrohttpd daemon, its
 * table of one-time tokens and the routing of a session's request to its
 * kind (stream_server.h). */
#include "stream_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "util.h"

#define TOKEN_BYTES 16
#define TOKEN_HEX   (2 * TOKEN_BYTES)

struct token {
        char hex[TOKEN_HEX + 1];
        int64_t made_ms; /* CLOCK_MONOTONIC */
        struct stream_request *req;
};

struct stream_server {
        struct MHD_Daemon *mhd;
        char endpoint[INET6_ADDRSTRLEN + 16];
        int64_t token_ttl_ms;
        pthread_mutex_t lock; /* the tokens */
        struct token tokens[STREAM_TOKENS_MAX];
        size_t n_tokens;
};

static const char *const kind_paths[] = {
    [STREAM_EXEC] = "exec",
    [STREAM_ATTACH] = "attach",
    [STREAM_PORT_FORWARD] = "portforward",
};

void stream_request_free(struct stream_request *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_cmd; i++)
                free(r->cmd[i]);
        free(r->cmd);
        free(r->ports);
        free(r);
}

static struct stream_request *request_copy(const struct stream_request *req)
{
        struct stream_request *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        *r = *req;
        r->cmd = NULL;
        r->n_cmd = 0;
        r->ports = NULL;
        r->cmd = calloc(req->n_cmd + 1, sizeof(*r->cmd));
        r->ports = calloc(req->n_ports + 1, sizeof(*r->ports));
        if (!r->cmd || !r->ports)
                goto oom;
        for (; r->n_cmd < req->n_cmd; r->n_cmd++)
                if (!(r->cmd[r->n_cmd] = strdup(req->cmd[r->n_cmd])))
                        goto oom;
        if (req->n_ports)
                memcpy(r->ports, req->ports, req->n_ports * sizeof(*r->ports));
        return r;
oom:
        stream_request_free(r);
        return NULL;
}

/* Drops expired tokens; called with the lock held. */
static void expire_locked(struct stream_server *s)
{
        int64_t now = clock_monotonic_ms();
        size_t kept = 0;

        for (size_t i = 0; i < s->n_tokens; i++) {
                if (now - s->tokens[i].made_ms >= s->token_ttl_ms) {
                        stream_request_free(s->tokens[i].req);
                        continue;
                }
                s->tokens[kept++] = s->tokens[i];
        }
        s->n_tokens = kept;
}

int stream_server_register(struct stream_server *s, const struct stream_request *req, char *url,
                           size_t url_size)
{
        uint8_t raw[TOKEN_BYTES];
        struct token t = {.made_ms = clock_monotonic_ms()};
        int r = 0;

        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return negative_errno();
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(t.hex + 2 * i, 3, "%02x", raw[i]);
        t.req = request_copy(req);
        if (!t.req)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        expire_locked(s);
        if (s->n_tokens == STREAM_TOKENS_MAX)
                r = -EBUSY;
        else
                s->tokens[s->n_tokens++] = t;
        pthread_mutex_unlock(&s->lock);
        if (r < 0) {
                stream_request_free(t.req);
                return r;
        }
        snprintf(url, url_size, "http://%s/%s/%s", s->endpoint, kind_paths[req->kind], t.hex);
        return 0;
}

int stream_server_take(struct stream_server *s, enum stream_kind kind, const char *token,
                       struct stream_request **ret)
{
        int r = -ENOENT;

        pthread_mutex_lock(&s->lock);
        expire_locked(s);
        for (size_t i = 0; i < s->n_tokens; i++) {
                if (strcmp(s->tokens[i].hex, token) != 0)
                        continue;
                /* A token of another kind is not found, but it is used up
                 * all the same: a URL is tried once. */
                if (s->tokens[i].req->kind == kind) {
                        *ret = s->tokens[i].req;
                        r = 0;
                } else {
                        stream_request_free(s->tokens[i].req);
                }
                s->tokens[i] = s->tokens[--s->n_tokens];
                break;
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *text)
{
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result r;

        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

/* The session's kind and token from its path, or -ENOENT. */
static int route(const char *url, enum stream_kind *kind, const char **token)
{
        for (size_t k = 0; k < sizeof(kind_paths) / sizeof(kind_paths[0]); k++) {
                size_t n = strlen(kind_paths[k]);

                if (url[0] != '/' || strncmp(url + 1, kind_paths[k], n) != 0 || url[1 + n] != '/')
                        continue;
                *token = url + 2 + n;
                if (strlen(*token) != TOKEN_HEX || strspn(*token, "0123456789abcdef") != TOKEN_HEX)
                        return -ENOENT;
                *kind = (enum stream_kind)k;
                return 0;
        }
        return -ENOENT;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
        static int seen;
        struct stream_server *s = cls;
        struct stream_request *req = NULL;
        enum stream_kind kind;
        const char *token;
        char text[160];

        (void)version, (void)upload;
        /* The first call only announces the request; it is answered on the
         * next, once its (empty) body has been read. */
        if (!*state) {
                *state = &seen;
                return MHD_YES;
        }
        if (*upload_size) {
                *upload_size = 0; /* a session request carries no body */
                return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
                return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and POST\n");
        if (route(url, &kind, &token) < 0 || stream_server_take(s, kind, token, &req) < 0)
                return answer(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
        log_info("streaming session refused: its protocols are not served yet", "kind=%s target=%s",
                 kind_paths[kind], req->target);
        snprintf(text, sizeof(text),
                 "this brig does not serve %s sessions yet (SPDY/3.1 and WebSocket come later)\n",
                 kind_paths[kind]);
        stream_request_free(req);
        return answer(conn, MHD_HTTP_NOT_IMPLEMENTED, text);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char text[512];

        (void)cls;
        vsnprintf(text, sizeof(text), fmt, ap);
        text[strcspn(text, "\n")] = '\0';
        log_warn("streaming server", "reason=\"%s\"", text);
}

int stream_server_start(const struct stream_server_options *o, struct stream_server **ret,
                        char *err, size_t err_size)
{
        struct stream_server *s = calloc(1, sizeof(*s));
        struct sockaddr_storage sa = {0};
        struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
        /* epoll: brigd's seccomp list has no select(2) */
        unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
        const union MHD_DaemonInfo *info;
        bool v6 = false;

        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        s->token_ttl_ms = o->token_ttl_ms ? o->token_ttl_ms : STREAM_TOKEN_TTL_MS;
        if (inet_pton(AF_INET, o->address, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t)o->port);
        } else if (inet_pton(AF_INET6, o->address, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t)o->port);
                flags |= MHD_USE_IPv6;
                v6 = true;
        } else {
                snprintf(err, err_size, "stream_address \"%s\" is not an IP address", o->address);
                stream_server_stop(s);
                return -EINVAL;
        }
        s->mhd = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->idle_timeout_s,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
        if (!s->mhd) {
                snprintf(err, err_size,
                         "cannot serve streams on %s port %u (is the port in use, or the "
                         "address not this node's?)",
                         o->address, o->port);
                stream_server_stop(s);
                return -EADDRNOTAVAIL;
        }
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
        snprintf(s->endpoint, sizeof(s->endpoint), v6 ? "[%s]:%u" : "%s:%u", o->address,
                 info ? (unsigned)info->port : o->port);
        log_info("streaming server listening", "endpoint=%s", s->endpoint);
        *ret = s;
        return 0;
}

void stream_server_stop(struct stream_server *s)
{
        if (!s)
                return;
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        for (size_t i = 0; i < s->n_tokens; i++)
                stream_request_free(s->tokens[i].req);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

const char *stream_server_endpoint(const struct stream_server *s)
{
        return s->endpoint;
}
