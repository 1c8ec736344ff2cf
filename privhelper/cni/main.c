/* main.c: brig-cni, the confined program that does all of brig's CNI JSON
 * work for brig-helper's CNI runner. It owns the order of start-up (seed,
 * confine, then read), the conversation on the channel (channel.h) and the
 * sequence of plugin runs of ADD, DEL and CHECK; netconf.c decides what
 * the JSON says and wire.c what the datagrams look like. See
 * docs/brig-cni.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "confine.h"
#include "log.h"
#include "netconf.h"
#include "util.h"
#include "wire.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
/* LeakSanitizer stops the world with clone() and reads /proc at exit, both
 * of which RLIMIT_NPROC and the seccomp filter forbid. A report's first
 * step is an isatty() ioctl for colours, which the filter forbids too:
 * without colours the report's headline (what, where, the pc) reaches the
 * log before the stack trace's read of /proc/self/maps ends the process. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
        return "detect_leaks=0:color=never";
}
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
        return "color=never";
}
#endif
#endif

/* The runner gives brig-cni its end of the channel here (channel.h). */
#define CHANNEL_FD 3

/* One byte more than the largest valid datagram, so a longer one is seen
 * as too long rather than cut to a valid size. The REQUEST has its own:
 * its decoded fields point into it for the whole run, while each RESULT
 * reuses result_buf. */
static uint8_t request_buf[BRIG_HELPER_MAX_PAYLOAD + 1];
static uint8_t result_buf[BRIG_HELPER_MAX_PAYLOAD + 1];
static uint8_t send_buf[BRIG_HELPER_MAX_PAYLOAD];

struct session {
        int fd;
        /* The channel failed or the runner broke the protocol: brig-cni
         * tries to say so with a FAIL and exits non-zero. */
        bool channel_failed;
        /* Why the operation failed, for the FAIL (or the log). */
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        const struct cni_request *req;
};

static const char *command_name(enum cni_command command)
{
        return command == CNI_CMD_ADD ? "ADD" : command == CNI_CMD_DEL ? "DEL" : "CHECK";
}

__attribute__((format(printf, 3, 4))) static int channel_failed(struct session *s, int r,
                                                                const char *fmt, ...)
{
        va_list ap;

        s->channel_failed = true;
        va_start(ap, fmt);
        vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
        va_end(ap);
        return r;
}

static int channel_send(struct session *s, size_t len, const char *what)
{
        ssize_t n;

        do
                n = send(s->fd, send_buf, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return channel_failed(s, negative_errno(), "brig-cni: sending %s failed: %s", what,
                                      strerror(errno));
        if ((size_t)n != len)
                return channel_failed(s, -EIO, "brig-cni: sending %s was cut short", what);
        return 0;
}

/* Receives one datagram into buf (BRIG_HELPER_MAX_PAYLOAD + 1 bytes) and
 * returns its length. */
static ssize_t channel_recv(struct session *s, uint8_t *buf, const char *what)
{
        struct iovec iov = {buf, BRIG_HELPER_MAX_PAYLOAD + 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        do
                n = recvmsg(s->fd, &mh, MSG_TRUNC | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return channel_failed(s, negative_errno(), "brig-cni: receiving %s failed: %s",
                                      what, strerror(errno));
        if (n == 0)
                return channel_failed(s, -EPIPE,
                                      "brig-cni: the runner closed the channel "
                                      "before sending %s",
                                      what);
        if ((size_t)n > BRIG_HELPER_MAX_PAYLOAD || (mh.msg_flags & MSG_TRUNC))
                return channel_failed(s, -EMSGSIZE,
                                      "brig-cni: %s: a datagram of %zd bytes, more than %d", what,
                                      n, BRIG_HELPER_MAX_PAYLOAD);
        /* No control buffer was given: anything sent with the datagram
         * (fds) was dropped by the kernel, and the peer is off-protocol. */
        if (mh.msg_flags & MSG_CTRUNC)
                return channel_failed(s, -EBADMSG, "brig-cni: %s came with ancillary data", what);
        return n;
}

static int send_fail(struct session *s)
{
        size_t len;
        int r = wire_encode_fail(send_buf, sizeof(send_buf), s->msg, &len);

        if (r < 0)
                return channel_failed(s, r, "brig-cni: encoding FAIL failed");
        return channel_send(s, len, "FAIL");
}

static int send_cache(struct session *s, const struct netconf *c, json_t *capargs, json_t *result)
{
        _cleanup_free_ char *blob = NULL;
        size_t blob_len, len;
        int r;

        r = netcache_blob(c, s->req->container_id, s->req->ifname, capargs, result, WIRE_MAX_CACHE,
                          &blob, &blob_len, s->msg, sizeof(s->msg));
        if (r < 0)
                return r;
        r = wire_encode_cache(send_buf, sizeof(send_buf), blob, blob_len, &len);
        if (r < 0)
                return channel_failed(s, r, "brig-cni: encoding CACHE failed");
        return channel_send(s, len, "CACHE");
}

/* Runs the plugin at index with command: EXEC, then its RESULT. For ADD,
 * *ret_result is the plugin's result. A failed plugin is -EIO, one not
 * installed -ENOENT, with s->msg set. */
static int run_plugin(struct session *s, const struct netconf *c, size_t index,
                      enum cni_command command, json_t *capargs, json_t *prev_result,
                      json_t **ret_result)
{
        _cleanup_free_ char *in = NULL;
        struct cni_plugin_result res;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
        size_t in_len, len;
        ssize_t n;
        int r;

        r = netconf_plugin_stdin(c, index, capargs, prev_result, WIRE_MAX_STDIN, &in, &in_len,
                                 s->msg, sizeof(s->msg));
        if (r < 0)
                return r;
        r = wire_encode_exec(send_buf, sizeof(send_buf), command, c->types[index], in, in_len,
                             &len);
        if (r < 0)
                return channel_failed(s, r, "brig-cni: encoding EXEC failed");
        log_debug("running plugin", "plugin=%s command=%s network=%s", c->types[index],
                  command_name(command), c->name);
        r = channel_send(s, len, "EXEC");
        if (r < 0)
                return r;
        n = channel_recv(s, result_buf, "RESULT");
        if (n < 0)
                return (int)n;
        r = wire_decode_result(result_buf, (size_t)n, &res, err, sizeof(err));
        if (r < 0)
                return channel_failed(s, r, "brig-cni: bad RESULT from the runner: %s", err);
        if (res.exit != 0) {
                netconf_plugin_failure(c, index, command, res.exit, res.out, res.out_len, s->msg,
                                       sizeof(s->msg));
                return res.exit == CNI_EXIT_NOT_FOUND ? -ENOENT : -EIO;
        }
        if (command != CNI_CMD_ADD)
                return 0;
        r = netconf_parse_result(c, index, res.out, res.out_len, ret_result, s->msg,
                                 sizeof(s->msg));
        return r;
}

static int send_done(struct session *s, const char (*ips)[NETCONF_IP_MAX], size_t n_ips)
{
        size_t len;
        int r = wire_encode_done(send_buf, sizeof(send_buf), ips, n_ips, &len);

        if (r < 0)
                return channel_failed(s, r, "brig-cni: encoding DONE failed");
        return channel_send(s, len, "DONE");
}

/* ADD: the plugins in order, each one's result the next one's prevResult.
 * The cache goes out before the first plugin runs, so a crash part way
 * still leaves DEL what it needs; no rollback here, the caller runs DEL. */
static int run_add(struct session *s)
{
        const struct cni_request *q = s->req;
        _cleanup_json_ json_t *capargs = NULL, *result = NULL;
        char ips[CNI_MAX_IPS][NETCONF_IP_MAX];
        struct netconf c = {0};
        size_t n_ips = 0;
        int r;

        r = netconf_parse(q->conf_name, q->conf, q->conf_len, &c, s->msg, sizeof(s->msg));
        if (r == 0)
                r = netconf_capargs(&q->caps, &capargs, s->msg, sizeof(s->msg));
        if (r == 0)
                r = send_cache(s, &c, capargs, NULL);
        for (size_t step = 0; r == 0 && step < c.n_plugins; step++) {
                json_t *next = NULL;

                r = run_plugin(s, &c, netconf_plugin_at(&c, CNI_CMD_ADD, step), CNI_CMD_ADD,
                               capargs, result, &next);
                if (r == 0) {
                        json_decref(result);
                        result = next;
                }
        }
        if (r == 0)
                r = send_cache(s, &c, capargs, result);
        if (r == 0)
                r = netconf_result_ips(&c, result, ips, &n_ips, s->msg, sizeof(s->msg));
        if (r == 0)
                log_info("network added", "pod=%.12s network=%s ips=%zu", q->container_id, c.name,
                         n_ips);
        netconf_release(&c);
        return r < 0 ? r : send_done(s, ips, n_ips);
}

/* The cache a DEL or CHECK works from, which must be this attachment's. */
static int load_cache(struct session *s, struct netcache *ret)
{
        const struct cni_request *q = s->req;
        int r;

        if (!q->has_cache) {
                snprintf(s->msg, sizeof(s->msg),
                         "no cached CNI state for pod %.12s: the network was never added",
                         q->container_id);
                return -ENOENT;
        }
        r = netcache_parse(q->cache, q->cache_len, ret, s->msg, sizeof(s->msg));
        if (r < 0)
                return r;
        if (strcmp(ret->container_id, q->container_id) != 0 ||
            strcmp(ret->ifname, q->ifname) != 0) {
                snprintf(s->msg, sizeof(s->msg),
                         "cache: it is for pod %.12s interface %s, not pod %.12s interface %s",
                         ret->container_id, ret->ifname, q->container_id, q->ifname);
                netcache_release(ret);
                return -EINVAL;
        }
        return 0;
}

/* DEL: the plugins in reverse order, from the cached configuration, with
 * the capability arguments and (from 0.4.0) the result the ADD had. Every
 * plugin's DEL runs even after one failed, so that one broken plugin does
 * not keep the others from releasing what they hold (an address, NAT
 * rules); the first failure is the answer, and the runner keeps the cache
 * for a retry. A plugin that is not installed has nothing it could undo
 * now: it is logged and skipped, or a pod could never be stopped. */
static int run_del(struct session *s)
{
        char first[sizeof(s->msg)] = "";
        struct netcache cache = {0};
        int r, failed = 0;
        json_t *prev;

        r = load_cache(s, &cache);
        if (r < 0)
                return r;
        prev = netconf_del_has_prev_result(&cache.conf) ? cache.result : NULL;
        for (size_t step = 0; step < cache.conf.n_plugins && !s->channel_failed; step++) {
                r = run_plugin(s, &cache.conf, netconf_plugin_at(&cache.conf, CNI_CMD_DEL, step),
                               CNI_CMD_DEL, cache.capargs, prev, NULL);
                if (r == -ENOENT && !s->channel_failed)
                        log_warn("a CNI plugin is not installed; its DEL is skipped",
                                 "pod=%.12s "
                                 "reason=\"%s\"",
                                 s->req->container_id, s->msg);
                else if (r < 0 && !failed) {
                        failed = r;
                        snprintf(first, sizeof(first), "%s", s->msg);
                }
        }
        if (s->channel_failed) {
                netcache_release(&cache);
                return r;
        }
        r = failed;
        if (r < 0)
                snprintf(s->msg, sizeof(s->msg), "%s", first);
        if (r == 0)
                log_info("network deleted", "pod=%.12s network=%s", s->req->container_id,
                         cache.conf.name);
        netcache_release(&cache);
        return r < 0 ? r : send_done(s, NULL, 0);
}

/* CHECK: the plugins in order against the cached result; nothing to run
 * below 0.4.0 or with disableCheck. */
static int run_check(struct session *s)
{
        struct netcache cache = {0};
        int r;

        r = load_cache(s, &cache);
        if (r < 0)
                return r;
        if (!cache.result) {
                snprintf(s->msg, sizeof(s->msg),
                         "network %s of pod %.12s: no result to check (its ADD never finished)",
                         cache.conf.name, s->req->container_id);
                r = -ENOENT;
        }
        for (size_t step = 0;
             r == 0 && !netconf_check_skipped(&cache.conf) && step < cache.conf.n_plugins; step++)
                r = run_plugin(s, &cache.conf, netconf_plugin_at(&cache.conf, CNI_CMD_CHECK, step),
                               CNI_CMD_CHECK, cache.capargs, cache.result, NULL);
        netcache_release(&cache);
        return r < 0 ? r : send_done(s, NULL, 0);
}

static int serve(struct session *s)
{
        struct cni_request q;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
        ssize_t n;
        int r;

        n = channel_recv(s, request_buf, "REQUEST");
        if (n < 0)
                return (int)n;
        r = wire_decode_request(request_buf, (size_t)n, &q, err, sizeof(err));
        if (r < 0)
                return channel_failed(s, r, "brig-cni: bad REQUEST from the runner: %s", err);
        s->req = &q;
        log_debug("request", "command=%s pod=%.12s ifname=%s conf=%s", command_name(q.command),
                  q.container_id, q.ifname, q.conf_name ? q.conf_name : "-");
        switch (q.command) {
        case CNI_CMD_ADD:
                r = run_add(s);
                break;
        case CNI_CMD_DEL:
                r = run_del(s);
                break;
        case CNI_CMD_CHECK:
                r = run_check(s);
                break;
        }
        s->req = NULL;
        if (r < 0 && !s->channel_failed) {
                log_warn(s->msg, "command=%s pod=%.12s", command_name(q.command), q.container_id);
                r = send_fail(s);
        }
        return r;
}

int main(void)
{
        struct session s = {.fd = CHANNEL_FD};
        int r;

        log_set_program("brig-cni");
        /* Log timestamps are UTC; a POSIX TZ string keeps glibc from opening
         * /etc/localtime, which the filter forbids. */
        setenv("TZ", "UTC0", 1);
        tzset();
        /* jansson seeds its hash from /dev/urandom on first use: do it while
         * files can still be opened. */
        json_object_seed(0);

        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
        r = cni_confine(CHANNEL_FD, err, sizeof(err));
        if (r < 0) {
                channel_failed(&s, r, "brig-cni: %s", err);
        } else {
                r = serve(&s);
                if (r == 0)
                        return 0;
        }
        if (s.channel_failed) {
                log_error_errno(r, "brig-cni failed", "reason=\"%s\"", s.msg);
                /* Best effort: the runner may still read why. */
                size_t len;
                if (wire_encode_fail(send_buf, sizeof(send_buf), s.msg, &len) == 0)
                        (void)!send(s.fd, send_buf, len, MSG_NOSIGNAL);
                return 1;
        }
        return 0;
}
