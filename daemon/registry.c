/* registry.c: owns the registry client of registry.h: URL building, one HTTP
 * round trip over a curl easy handle, redirects, retries, the 401 → token
 * dance with its cache, blob resumption and the error messages. Written
 * from the OCI distribution spec v1.1 (pull), the Docker token
 * authentication spec and RFC 6749 section 6 (refresh tokens). */
#include "registry.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "digest.h"
#include "log.h"
#include "util.h"
#include "www_auth.h"

#define MANIFEST_ACCEPT                                                                            \
        "application/vnd.oci.image.index.v1+json, "                                                \
        "application/vnd.oci.image.manifest.v1+json, "                                             \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                              \
        "application/vnd.docker.distribution.manifest.v2+json"

#define MAX_TOKEN_BODY  (1024 * 1024) /* a token answer is a few KiB */
#define MAX_ERROR_BODY  8192          /* kept of a non-2xx body, for the message */
#define MAX_HEADER      1024          /* stored header values other than WWW-Authenticate */
#define MAX_TOKENS      256           /* cached tokens per client */
#define MAX_TOKEN_LIFE  86400         /* seconds; longer expires_in values are clamped */
#define DEFAULT_EXPIRES 60            /* Docker token spec: expires_in defaults to 60 s */

/* What the client learnt about a host: which transport an insecure host
 * answers on, and its last challenge, so that later requests can send a
 * cached token at once instead of collecting a 401 first. */
struct host_state {
        char *host;
        bool use_http;
        bool basic;    /* last challenge was Basic */
        char *realm;   /* last Bearer challenge, NULL if none */
        char *service; /* may be NULL */
        struct host_state *next;
};

struct token_entry {
        char *key; /* realm \n service \n scope \n sha256(credentials) */
        char *authorization;
        struct timespec expires; /* CLOCK_MONOTONIC */
        struct token_entry *next;
};

struct registry_client {
        struct registry_options opts;
        char *user_agent;
        CURLSH *share;
        pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
        pthread_mutex_t lock; /* hosts and tokens */
        struct host_state *hosts;
        struct token_entry *tokens;
        size_t n_tokens;
};

/* TLS material for one registry host, from certs.d. */
struct tls_files {
        char **ca_files;
        size_t n_ca_files;
        char *client_cert;
        char *client_key;
};

/* State of one registry_get_* call. */
struct call {
        struct registry_client *client;
        const struct registry_endpoint *ep;
        const char *repo;
        const struct registry_creds *creds;
        char *err;
        size_t err_size;
        bool use_http;
        char *authorization; /* for the registry's own origin only */
        bool auth_fresh;     /* authorization was obtained during this call */
        struct tls_files tls;
};

enum body_mode {
        BODY_BUFFER, /* keep the body (manifest, token), refuse beyond limit */
        BODY_BLOB,   /* 2xx bodies go to the blob sink */
};

struct blob_state {
        const struct registry_blob_request *req;
        uint64_t pos; /* absolute offset of the next byte the sink expects */
};

/* One HTTP round trip's request and response. */
struct exchange {
        CURL *curl;
        enum body_mode mode;
        size_t limit;
        struct blob_state *blob;
        /* response headers */
        char *www_authenticate;
        char *content_type;
        char *digest;
        char *content_range;
        char *retry_after;
        bool bad_header;
        char bad_header_why[128];
        /* body */
        char *buf;
        size_t len;
        bool too_big;
        bool body_started;
        uint64_t resp_pos; /* absolute blob offset of the response's next byte */
        bool range_bad;
        int sink_err;
        char curl_err[CURL_ERROR_SIZE];
};

/* One request to send. */
struct hop {
        const char *url;
        const char *authorization; /* full header value, or NULL */
        const char *accept;
        uint64_t range_from; /* 0: no Range header */
        const char *post;    /* form body: POST instead of GET */
        const char *basic_user;
        const char *basic_password;
};

static int call_fail(struct call *call, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int call_fail(struct call *call, int r, const char *fmt, ...)
{
        char what[768];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (call->err && call->err_size)
                snprintf(call->err, call->err_size, "registry %s, repository %s: %s",
                         call->ep->host, call->repo, what);
        return r;
}

/* asprintf() that returns the string, or NULL when out of memory. */
static char *strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *strprintf(const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

void registry_options_default(struct registry_options *o)
{
        *o = (struct registry_options){
            .connect_timeout_ms = 30000,
            .low_speed_limit = 1024,
            .low_speed_time = 30,
            .attempts = 3,
            .backoff_ms = 250,
            .max_retry_after_ms = 10000,
            .max_blob_resumes = 10,
            .user_agent = NULL,
        };
}

int registry_global_init(void)
{
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

/* --- names ------------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* Distribution spec: <name> is path components of [a-z0-9]+ joined by
 * separators [._-]; components joined by '/'. */
bool registry_repo_valid(const char *repo)
{
        size_t len = repo ? strlen(repo) : 0;

        if (len == 0 || len > 255)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = repo[i];
                bool start = i == 0 || repo[i - 1] == '/';
                bool end = i + 1 == len || repo[i + 1] == '/';
                if (c == '/') {
                        if (start || end)
                                return false;
                } else if (!is_lower_alnum(c)) {
                        if (start || end || (c != '.' && c != '_' && c != '-'))
                                return false;
                }
        }
        return true;
}

bool registry_reference_valid(const char *reference)
{
        size_t len = reference ? strlen(reference) : 0;

        if (reference && strchr(reference, ':'))
                return digest_valid(reference);
        if (len == 0 || len > 128 || !(is_alnum(reference[0]) || reference[0] == '_'))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_alnum(reference[i]) && !strchr("_.-", reference[i]))
                        return false;
        return true;
}

/* host[:port] or [v6]:port; also a directory name under certs.d, so no '/'
 * and no leading '.'. */
static bool host_valid(const char *host)
{
        size_t len = host ? strlen(host) : 0;

        if (len == 0 || len > 255 || !(is_alnum(host[0]) || host[0] == '['))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_alnum(host[i]) && !strchr(".-:[]", host[i]))
                        return false;
        return true;
}

/* --- client ------------------------------------------------------------ */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
        struct registry_client *c = userptr;
        (void)h;
        (void)access;
        pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
        struct registry_client *c = userptr;
        (void)h;
        pthread_mutex_unlock(&c->share_locks[data]);
}

int registry_client_new(const struct registry_options *opts, struct registry_client **ret)
{
        struct registry_client *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        if (opts)
                c->opts = *opts;
        else
                registry_options_default(&c->opts);
        if (c->opts.attempts == 0)
                c->opts.attempts = 1;
        c->user_agent = strdup(c->opts.user_agent ? c->opts.user_agent : "brig/" BRIG_VERSION);
        c->opts.user_agent = c->user_agent;
        for (size_t i = 0; i < ARRAY_SIZE(c->share_locks); i++)
                pthread_mutex_init(&c->share_locks[i], NULL);
        pthread_mutex_init(&c->lock, NULL);
        c->share = curl_share_init();
        if (!c->user_agent || !c->share) {
                registry_client_free(c);
                return -ENOMEM;
        }
        if (curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
            curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
            curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
            curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
            curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
                CURLSHE_OK ||
            curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
                registry_client_free(c);
                return -EIO;
        }
        *ret = c;
        return 0;
}

static void token_entry_free(struct token_entry *t)
{
        free(t->key);
        if (t->authorization) {
                explicit_bzero(t->authorization, strlen(t->authorization));
                free(t->authorization);
        }
        free(t);
}

void registry_client_free(struct registry_client *c)
{
        if (!c)
                return;
        if (c->share)
                curl_share_cleanup(c->share);
        for (size_t i = 0; i < ARRAY_SIZE(c->share_locks); i++)
                pthread_mutex_destroy(&c->share_locks[i]);
        pthread_mutex_destroy(&c->lock);
        while (c->hosts) {
                struct host_state *h = c->hosts;
                c->hosts = h->next;
                free(h->host);
                free(h->realm);
                free(h->service);
                free(h);
        }
        while (c->tokens) {
                struct token_entry *t = c->tokens;
                c->tokens = t->next;
                token_entry_free(t);
        }
        free(c->user_agent);
        free(c);
}

void registry_manifest_free(struct registry_manifest *m)
{
        free(m->body);
        free(m->media_type);
        free(m->digest);
        *m = (struct registry_manifest){0};
}

/* --- host state and token cache ---------------------------------------- */

static struct timespec monotonic_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts;
}

static bool expired(const struct timespec *t)
{
        struct timespec now = monotonic_now();
        return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Caller holds c->lock. */
static struct host_state *host_find(struct registry_client *c, const char *host)
{
        for (struct host_state *h = c->hosts; h; h = h->next)
                if (strcasecmp(h->host, host) == 0)
                        return h;
        return NULL;
}

/* Caller holds c->lock; NULL on allocation failure (the state is an
 * optimisation, so callers just carry on without it). */
static struct host_state *host_get(struct registry_client *c, const char *host)
{
        struct host_state *h = host_find(c, host);

        if (h)
                return h;
        h = calloc(1, sizeof(*h));
        if (!h)
                return NULL;
        h->host = strdup(host);
        if (!h->host) {
                free(h);
                return NULL;
        }
        h->next = c->hosts;
        c->hosts = h;
        return h;
}

static bool call_host_uses_http(struct call *call)
{
        struct registry_client *c = call->client;
        bool r;

        pthread_mutex_lock(&c->lock);
        struct host_state *h = host_find(c, call->ep->host);
        r = h && h->use_http;
        pthread_mutex_unlock(&c->lock);
        return r;
}

static void call_remember_http(struct call *call)
{
        struct registry_client *c = call->client;

        pthread_mutex_lock(&c->lock);
        struct host_state *h = host_get(c, call->ep->host);
        if (h)
                h->use_http = true;
        pthread_mutex_unlock(&c->lock);
}

static void call_remember_challenge(struct call *call, bool basic, const char *realm,
                                    const char *service)
{
        struct registry_client *c = call->client;

        pthread_mutex_lock(&c->lock);
        struct host_state *h = host_get(c, call->ep->host);
        if (h) {
                char *r = realm ? strdup(realm) : NULL;
                char *s = service ? strdup(service) : NULL;
                free(h->realm);
                free(h->service);
                h->basic = basic;
                h->realm = r;
                h->service = s;
        }
        pthread_mutex_unlock(&c->lock);
}

/* The credentials enter cache keys only as a digest. Lengths go in first,
 * so no two different sets of fields hash the same input. */
static int creds_fingerprint(const struct registry_creds *creds,
                             char out[static DIGEST_STRING_MAX + 1])
{
        const char *fields[4] = {NULL, NULL, NULL, NULL};
        struct digest_hasher h = {0};
        int r;

        if (creds) {
                fields[0] = creds->username;
                fields[1] = creds->password;
                fields[2] = creds->identity_token;
                fields[3] = creds->registry_token;
        }
        r = digest_hasher_init(&h, DIGEST_SHA256);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(fields); i++) {
                char len[32];
                int n = snprintf(len, sizeof(len), "%zu:", fields[i] ? strlen(fields[i]) + 1 : 0);
                r = digest_hasher_update(&h, len, (size_t)n);
                if (r == 0 && fields[i])
                        r = digest_hasher_update(&h, fields[i], strlen(fields[i]));
        }
        if (r == 0)
                r = digest_hasher_final(&h, out);
        digest_hasher_done(&h);
        return r;
}

static char *token_key(const char *realm, const char *service, const char *scope,
                       const struct registry_creds *creds)
{
        char fp[DIGEST_STRING_MAX + 1];

        if (creds_fingerprint(creds, fp) < 0)
                return NULL;
        return strprintf("%s\n%s\n%s\n%s", realm, service ? service : "", scope, fp);
}

/* A copy of the cached Authorization value for key, or NULL. */
static char *token_lookup(struct registry_client *c, const char *key)
{
        char *r = NULL;

        pthread_mutex_lock(&c->lock);
        for (struct token_entry *t = c->tokens; t; t = t->next) {
                if (strcmp(t->key, key) == 0) {
                        if (!expired(&t->expires))
                                r = strdup(t->authorization);
                        break;
                }
        }
        pthread_mutex_unlock(&c->lock);
        return r;
}

/* Caches authorization for lifetime seconds. Expired entries go first; at
 * MAX_TOKENS the oldest entry makes room. */
static void token_store(struct registry_client *c, const char *key, const char *authorization,
                        long lifetime)
{
        struct token_entry *e = calloc(1, sizeof(*e));

        if (!e)
                return;
        e->key = strdup(key);
        e->authorization = strdup(authorization);
        if (!e->key || !e->authorization) {
                token_entry_free(e);
                return;
        }
        e->expires = monotonic_now();
        e->expires.tv_sec += lifetime;

        pthread_mutex_lock(&c->lock);
        for (struct token_entry **p = &c->tokens; *p;) {
                struct token_entry *t = *p;
                if (strcmp(t->key, key) == 0 || expired(&t->expires)) {
                        *p = t->next;
                        token_entry_free(t);
                        c->n_tokens--;
                } else {
                        p = &t->next;
                }
        }
        if (c->n_tokens == MAX_TOKENS) {
                struct token_entry **p = &c->tokens;
                while ((*p)->next)
                        p = &(*p)->next;
                token_entry_free(*p);
                *p = NULL;
                c->n_tokens--;
        }
        e->next = c->tokens;
        c->tokens = e;
        c->n_tokens++;
        pthread_mutex_unlock(&c->lock);
}

static void token_forget(struct registry_client *c, const char *key)
{
        pthread_mutex_lock(&c->lock);
        for (struct token_entry **p = &c->tokens; *p; p = &(*p)->next) {
                if (strcmp((*p)->key, key) == 0) {
                        struct token_entry *t = *p;
                        *p = t->next;
                        token_entry_free(t);
                        c->n_tokens--;
                        break;
                }
        }
        pthread_mutex_unlock(&c->lock);
}

/* --- certs.d ------------------------------------------------------------ */

static void tls_files_free(struct tls_files *t)
{
        for (size_t i = 0; i < t->n_ca_files; i++)
                free(t->ca_files[i]);
        free(t->ca_files);
        free(t->client_cert);
        free(t->client_key);
        *t = (struct tls_files){0};
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n > m && strcmp(s + n - m, suffix) == 0;
}

/* containers-certs.d(5): <dir>/<host[:port]>/ *.crt are CAs, *.cert with the
 * *.key of the same name a client certificate. A missing directory means
 * no extra material. */
static int load_tls_files(struct call *call)
{
        const char *base = call->ep->certs_dir ? call->ep->certs_dir : REGISTRY_CERTS_DIR;
        _cleanup_free_ char *dir = strprintf("%s/%s", base, call->ep->host);
        struct dirent **names = NULL;
        int n, r = 0;

        if (!dir)
                return -ENOMEM;
        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return call_fail(call, negative_errno(), "cannot read certificate directory %s: %m",
                                 dir);
        }
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                char *path;

                if (r < 0 || name[0] == '.')
                        continue;
                path = strprintf("%s/%s", dir, name);
                if (!path) {
                        r = -ENOMEM;
                        continue;
                }
                if (has_suffix(name, ".crt")) {
                        char **v = realloc(call->tls.ca_files,
                                           (call->tls.n_ca_files + 1) * sizeof(char *));
                        if (!v) {
                                free(path);
                                r = -ENOMEM;
                                continue;
                        }
                        call->tls.ca_files = v;
                        v[call->tls.n_ca_files++] = TAKE_PTR(path);
                } else if (has_suffix(name, ".cert") && !call->tls.client_cert) {
                        char *key = strprintf("%.*s.key", (int)(strlen(path) - 5), path);
                        if (!key) {
                                r = -ENOMEM;
                        } else if (access(key, R_OK) < 0) {
                                r = call_fail(call, -ENOENT,
                                              "client certificate %s has no readable key %s", path,
                                              key);
                                free(key);
                        } else {
                                call->tls.client_cert = TAKE_PTR(path);
                                call->tls.client_key = key;
                        }
                }
                free(path);
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

/* Adds the host's extra CAs to the store curl built from the system CAs. */
static CURLcode add_extra_cas(CURL *curl, void *sslctx, void *userdata)
{
        const struct tls_files *t = userdata;
        X509_STORE *store = SSL_CTX_get_cert_store(sslctx);
        (void)curl;

        for (size_t i = 0; i < t->n_ca_files; i++) {
                BIO *bio = BIO_new_file(t->ca_files[i], "r");
                size_t added = 0;
                X509 *x;

                if (!bio)
                        return CURLE_SSL_CACERT_BADFILE;
                while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
                        X509_STORE_add_cert(store, x);
                        X509_free(x);
                        added++;
                }
                BIO_free(bio);
                /* The loop ends on a "no start line" error: drop it, or curl reports it. */
                ERR_clear_error();
                if (added == 0)
                        return CURLE_SSL_CACERT_BADFILE;
        }
        return CURLE_OK;
}

/* --- one HTTP round trip ------------------------------------------------ */

static void exchange_reset_headers(struct exchange *x)
{
        free(x->www_authenticate);
        free(x->content_type);
        free(x->digest);
        free(x->content_range);
        free(x->retry_after);
        x->www_authenticate = x->content_type = x->digest = x->content_range = x->retry_after =
            NULL;
        x->bad_header = false;
}

static void exchange_free(struct exchange *x)
{
        exchange_reset_headers(x);
        free(x->buf);
        x->buf = NULL;
        x->len = 0;
        if (x->curl)
                curl_easy_cleanup(x->curl);
        x->curl = NULL;
}

static long response_status(const struct exchange *x)
{
        long status = 0;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
        return status;
}

static bool is_2xx(long status)
{
        return status >= 200 && status < 300;
}

static void bad_header(struct exchange *x, const char *name, const char *why)
{
        if (!x->bad_header)
                snprintf(x->bad_header_why, sizeof(x->bad_header_why), "header %s %s", name, why);
        x->bad_header = true;
}

/* Stores a header value; a repeated WWW-Authenticate is joined with ", "
 * (the list rule), any other repeated header is garbage. */
static void store_header(struct exchange *x, char **slot, const char *name, const char *v, size_t n,
                         size_t max, bool list)
{
        size_t old = *slot ? strlen(*slot) : 0;

        if (*slot && !list) {
                bad_header(x, name, "given twice");
                return;
        }
        if (old + n + 2 > max) {
                bad_header(x, name, "is too long");
                return;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)v[i] < 0x20 && v[i] != '\t') {
                        bad_header(x, name, "contains a control character");
                        return;
                }
        char *s = realloc(*slot, old + n + 3);
        if (!s) {
                bad_header(x, name, "cannot be stored: out of memory");
                return;
        }
        if (old) {
                memcpy(s + old, ", ", 2);
                old += 2;
        }
        memcpy(s + old, v, n);
        s[old + n] = '\0';
        *slot = s;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
        struct exchange *x = userdata;
        size_t len = size * nitems, n = len;
        const char *colon, *v;

        /* A new status line (after 1xx): forget the previous response's headers. */
        if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
                exchange_reset_headers(x);
                return len;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        colon = memchr(line, ':', n);
        if (!colon)
                return len;
        size_t name_len = (size_t)(colon - line);
        v = colon + 1;
        while (v < line + n && (*v == ' ' || *v == '\t'))
                v++;
        size_t vlen = (size_t)(line + n - v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;

#define IS(h) (name_len == strlen(h) && strncasecmp(line, h, name_len) == 0)
        if (IS("WWW-Authenticate"))
                store_header(x, &x->www_authenticate, "WWW-Authenticate", v, vlen,
                             WWW_AUTH_MAX_INPUT, true);
        else if (IS("Content-Type"))
                store_header(x, &x->content_type, "Content-Type", v, vlen, MAX_HEADER, false);
        else if (IS("Docker-Content-Digest"))
                store_header(x, &x->digest, "Docker-Content-Digest", v, vlen, MAX_HEADER, false);
        else if (IS("Content-Range"))
                store_header(x, &x->content_range, "Content-Range", v, vlen, MAX_HEADER, false);
        else if (IS("Retry-After"))
                store_header(x, &x->retry_after, "Retry-After", v, vlen, MAX_HEADER, false);
        else if (IS("Content-Length") && x->mode == BODY_BUFFER && is_2xx(response_status(x))) {
                /* Refuse an oversized body before it is sent. */
                char num[32];
                snprintf(num, sizeof(num), "%.*s", (int)(vlen < 31 ? vlen : 31), v);
                char *end;
                errno = 0;
                unsigned long long cl = strtoull(num, &end, 10);
                if (errno == 0 && end != num && !*end && cl > x->limit) {
                        x->too_big = true;
                        return 0;
                }
        }
#undef IS
        return len;
}

/* "bytes START-END/TOTAL" or "bytes START-END/ *": START, or -1 if malformed. */
static int64_t content_range_start(const char *v)
{
        unsigned long long start, end;
        int n = 0;

        if (!v || sscanf(v, "bytes %llu-%llu/%n", &start, &end, &n) != 2 || n == 0 || end < start ||
            start > INT64_MAX)
                return -1;
        return (int64_t)start;
}

/* Passes the bytes of a 2xx blob answer on; false stops the transfer. */
static bool deliver_blob(struct exchange *x, const char *p, size_t len)
{
        struct blob_state *b = x->blob;
        const struct registry_blob_request *req = b->req;

        if (!x->body_started) {
                x->body_started = true;
                x->resp_pos = 0;
                if (response_status(x) == 206) {
                        int64_t start = content_range_start(x->content_range);
                        if (start < 0 || (uint64_t)start > b->pos) {
                                x->range_bad = true;
                                return false;
                        }
                        x->resp_pos = (uint64_t)start;
                }
        }
        /* A 200 to a Range request (or a range starting early) repeats bytes we have. */
        if (x->resp_pos < b->pos) {
                uint64_t skip = b->pos - x->resp_pos;
                if (skip >= len) {
                        x->resp_pos += len;
                        return true;
                }
                p += skip;
                len -= (size_t)skip;
                x->resp_pos += skip;
        }
        if (req->expected_size != REGISTRY_SIZE_UNKNOWN &&
            (b->pos > req->expected_size || len > req->expected_size - b->pos)) {
                x->too_big = true;
                return false;
        }
        int r = req->sink(p, len, req->userdata);
        if (r < 0) {
                x->sink_err = r;
                return false;
        }
        b->pos += len;
        x->resp_pos += len;
        if (req->progress)
                req->progress(b->pos, req->expected_size, req->userdata);
        return true;
}

static size_t on_body(char *p, size_t size, size_t nitems, void *userdata)
{
        struct exchange *x = userdata;
        size_t len = size * nitems;
        bool ok = is_2xx(response_status(x));

        if (ok && x->mode == BODY_BLOB)
                return deliver_blob(x, p, len) ? len : 0;
        size_t limit = ok ? x->limit : MAX_ERROR_BODY;
        if (x->len + len > limit) {
                if (!ok) {
                        /* Error bodies only feed messages: keep their start. */
                        len = limit - x->len;
                        if (len == 0)
                                return size * nitems;
                } else {
                        x->too_big = true;
                        return 0;
                }
        }
        char *b = realloc(x->buf, x->len + len + 1);
        if (!b)
                return 0;
        memcpy(b + x->len, p, len);
        x->buf = b;
        x->len += len;
        b[x->len] = '\0';
        return size * nitems;
}

/* Sends one request; no retries, no redirects. The response is in x. */
static CURLcode perform(struct call *call, struct exchange *x, const struct hop *h)
{
        const struct registry_options *o = &call->client->opts;
        struct curl_slist *headers = NULL, *l;
        char line[64];
        CURLcode cc;

        exchange_free(x);
        x->too_big = x->body_started = x->range_bad = false;
        x->sink_err = 0;
        x->curl_err[0] = '\0';
        x->curl = curl_easy_init();
        if (!x->curl)
                return CURLE_OUT_OF_MEMORY;

        l = curl_slist_append(headers, "Expect:");
        headers = l ? l : headers;
        if (h->accept) {
                char *a = strprintf("Accept: %s", h->accept);
                if (a) {
                        l = curl_slist_append(headers, a);
                        headers = l ? l : headers;
                        free(a);
                }
        }
        if (h->authorization) {
                char *a = strprintf("Authorization: %s", h->authorization);
                if (a) {
                        l = curl_slist_append(headers, a);
                        headers = l ? l : headers;
                        explicit_bzero(a, strlen(a));
                        free(a);
                }
        }
        if (h->range_from > 0) {
                snprintf(line, sizeof(line), "Range: bytes=%" PRIu64 "-", h->range_from);
                l = curl_slist_append(headers, line);
                headers = l ? l : headers;
        }

        CURL *e = x->curl;
        curl_easy_setopt(e, CURLOPT_URL, h->url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_SHARE, call->client->share);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_err);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
        if (call->ep->insecure) {
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (call->tls.n_ca_files > 0) {
                curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, add_extra_cas);
                curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, &call->tls);
        }
        if (call->tls.client_cert) {
                curl_easy_setopt(e, CURLOPT_SSLCERT, call->tls.client_cert);
                curl_easy_setopt(e, CURLOPT_SSLKEY, call->tls.client_key);
        }
        if (h->post) {
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->post);
        }
        if (h->basic_user) {
                curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(e, CURLOPT_USERNAME, h->basic_user);
                curl_easy_setopt(e, CURLOPT_PASSWORD, h->basic_password ? h->basic_password : "");
        }
        cc = curl_easy_perform(e);
        curl_slist_free_all(headers);
        return cc;
}

/* --- errors and retries -------------------------------------------------- */

/* Printable ASCII of s, at most max bytes, for messages built from a
 * server's words. */
static void sanitize(char *out, size_t out_size, const char *s)
{
        size_t n = 0;

        for (; s && *s && n + 1 < out_size; s++)
                out[n++] = ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) ? *s : '?';
        out[n] = '\0';
}

/* " (CODE: message)" from an OCI error body, or "" when there is none. */
static void error_detail(const struct exchange *x, char *out, size_t out_size)
{
        json_t *root, *first, *code, *message;
        char c[64], m[200];

        out[0] = '\0';
        if (!x->buf || x->len == 0)
                return;
        root = json_loadb(x->buf, x->len, JSON_REJECT_DUPLICATES, NULL);
        first = json_array_get(json_object_get(root, "errors"), 0);
        code = json_object_get(first, "code");
        message = json_object_get(first, "message");
        if (json_is_string(code)) {
                sanitize(c, sizeof(c), json_string_value(code));
                sanitize(m, sizeof(m), json_is_string(message) ? json_string_value(message) : "");
                snprintf(out, out_size, " (%s%s%s)", c, *m ? ": " : "", m);
        }
        json_decref(root);
}

static bool curl_retryable(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

static int curl_error_to_errno(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -ECONNRESET;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EPROTO;
        }
}

static const char *curl_message(const struct exchange *x, CURLcode cc)
{
        return x->curl_err[0] ? x->curl_err : curl_easy_strerror(cc);
}

/* Delay before retry number `retry` (1-based): backoff doubled each time,
 * plus up to half again as jitter so that parallel layer downloads do not
 * retry in lockstep; a server's Retry-After (delta-seconds) wins, capped. */
static long retry_delay_ms(const struct registry_options *o, unsigned retry, const char *after)
{
        long d = o->backoff_ms;

        for (unsigned i = 1; i < retry && d < 60000; i++)
                d *= 2;
        if (d > 0)
                d += random() % (d / 2 + 1);
        if (after) {
                char *end;
                errno = 0;
                long s = strtol(after, &end, 10);
                if (errno == 0 && end != after && !*end && s >= 0) {
                        long ms =
                            s > o->max_retry_after_ms / 1000 ? o->max_retry_after_ms : s * 1000;
                        if (ms > d)
                                d = ms;
                }
        }
        return d;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* --- URLs and origins ---------------------------------------------------- */

struct origin {
        char scheme[8];
        char host[256];
        char port[8];
};

static int url_origin(const char *url, struct origin *o)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL;
        int r = -EPROTO;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
            strlen(scheme) < sizeof(o->scheme) && strlen(host) < sizeof(o->host) &&
            strlen(port) < sizeof(o->port)) {
                snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
                snprintf(o->host, sizeof(o->host), "%s", host);
                snprintf(o->port, sizeof(o->port), "%s", port);
                r = strcasecmp(o->scheme, "http") == 0 || strcasecmp(o->scheme, "https") == 0
                        ? 0
                        : -EPROTO;
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

static bool origin_equal(const struct origin *a, const struct origin *b)
{
        return strcasecmp(a->scheme, b->scheme) == 0 && strcasecmp(a->host, b->host) == 0 &&
               strcmp(a->port, b->port) == 0;
}

/* --- tokens -------------------------------------------------------------- */

/* RFC 3339 date-time (the token's issued_at) to seconds since the epoch. */
static int parse_rfc3339(const char *s, time_t *ret)
{
        struct tm tm = {0};
        int n = 0, oh, om;

        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
            n != 19)
                return -EINVAL;
        s += n;
        if (*s == '.') {
                s++;
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                while (*s >= '0' && *s <= '9')
                        s++;
        }
        long offset = 0;
        if ((*s == 'Z' || *s == 'z') && !s[1]) {
                offset = 0;
        } else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 &&
                   n == 5 && !s[6] && oh < 24 && om < 60) {
                offset = (*s == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        } else {
                return -EINVAL;
        }
        if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
            tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        *ret = timegm(&tm) - offset;
        return 0;
}

/* A token goes into a header as it is: visible ASCII only. */
static bool token_chars_valid(const char *t)
{
        if (!*t)
                return false;
        for (; *t; t++)
                if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
                        return false;
        return true;
}

/* The Docker token answer: {"token" or "access_token", "expires_in",
 * "issued_at"}. *ret_lifetime is how many seconds from now the token may
 * still be used. */
static int parse_token_answer(const char *body, size_t len, char **ret_token, long *ret_lifetime,
                              char *why, size_t why_size)
{
        json_error_t jerr;
        json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *tok, *exp, *iat;
        long lifetime = DEFAULT_EXPIRES;
        int r = -EPROTO;

        if (!root) {
                char t[160];
                sanitize(t, sizeof(t), jerr.text);
                snprintf(why, why_size, "is not JSON: %s", t);
                return -EPROTO;
        }
        if (!json_is_object(root)) {
                snprintf(why, why_size, "is not a JSON object");
                goto out;
        }
        tok = json_object_get(root, "token");
        if (!json_is_string(tok) || !*json_string_value(tok))
                tok = json_object_get(root, "access_token");
        if (!json_is_string(tok) || !*json_string_value(tok)) {
                snprintf(why, why_size, "has no \"token\" or \"access_token\" string");
                goto out;
        }
        if (!token_chars_valid(json_string_value(tok))) {
                snprintf(why, why_size, "has a token with characters not allowed in a header");
                goto out;
        }
        exp = json_object_get(root, "expires_in");
        if (exp) {
                if (!json_is_integer(exp) || json_integer_value(exp) < 0) {
                        snprintf(why, why_size,
                                 "has an expires_in that is not a whole number "
                                 "of seconds");
                        goto out;
                }
                json_int_t v = json_integer_value(exp);
                lifetime = v > MAX_TOKEN_LIFE ? MAX_TOKEN_LIFE : (long)v;
        }
        iat = json_object_get(root, "issued_at");
        if (iat) {
                time_t issued;
                if (!json_is_string(iat) || parse_rfc3339(json_string_value(iat), &issued) < 0) {
                        snprintf(why, why_size, "has an issued_at that is not an RFC 3339 time");
                        goto out;
                }
                /* Time the token already spent in transit or in a cache; a
                 * clock behind the server's is trusted no further. */
                time_t now = time(NULL);
                if (issued <= now)
                        lifetime -=
                            (long)(now - issued) > lifetime ? lifetime : (long)(now - issued);
        }
        *ret_token = strdup(json_string_value(tok));
        r = *ret_token ? 0 : -ENOMEM;
        *ret_lifetime = lifetime;
out:
        json_decref(root);
        return r;
}

static int make_basic(const char *user, const char *password, char **ret)
{
        _cleanup_free_ char *plain = strprintf("%s:%s", user, password ? password : "");
        if (!plain)
                return -ENOMEM;
        int n = (int)strlen(plain);
        char *out = malloc(6 + 4 * ((size_t)n / 3 + 1) + 1);
        if (!out) {
                explicit_bzero(plain, (size_t)n);
                return -ENOMEM;
        }
        memcpy(out, "Basic ", 6);
        EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, n);
        explicit_bzero(plain, (size_t)n);
        *ret = out;
        return 0;
}

/* Fetches a token from realm; *ret_auth is "Bearer <token>". */
static int fetch_token(struct call *call, const char *realm, const char *service, const char *scope,
                       char **ret_auth, long *ret_lifetime)
{
        const struct registry_options *o = &call->client->opts;
        const struct registry_creds *cr = call->creds;
        struct exchange x = {.mode = BODY_BUFFER, .limit = MAX_TOKEN_BODY};
        _cleanup_free_ char *url = NULL, *form = NULL;
        char shown[256], why[256], detail[300];
        struct origin ro;
        CURL *esc_handle = NULL;
        int r;

        sanitize(shown, sizeof(shown), realm);
        if (url_origin(realm, &ro) < 0)
                return call_fail(call, -EPROTO, "token realm \"%s\" is not an http(s) URL", shown);
        if (strcasecmp(ro.scheme, "http") == 0 && !call->ep->insecure)
                return call_fail(call, -EPROTO,
                                 "token realm %s uses plain HTTP and the registry is not marked "
                                 "insecure",
                                 shown);
        esc_handle = curl_easy_init();
        if (!esc_handle)
                return -ENOMEM;
        char *e_scope = curl_easy_escape(esc_handle, scope, 0);
        char *e_service = service ? curl_easy_escape(esc_handle, service, 0) : NULL;
        char *e_refresh =
            cr && cr->identity_token ? curl_easy_escape(esc_handle, cr->identity_token, 0) : NULL;
        if (!e_scope || (service && !e_service) || (cr && cr->identity_token && !e_refresh)) {
                r = -ENOMEM;
                goto out;
        }
        if (e_refresh) {
                /* RFC 6749 section 6, as the Docker token spec's OAuth2 flow uses it. */
                form = strprintf("grant_type=refresh_token&refresh_token=%s&client_id=brig"
                                 "&scope=%s%s%s",
                                 e_refresh, e_scope, e_service ? "&service=" : "",
                                 e_service ? e_service : "");
                url = strdup(realm);
                if (!form || !url) {
                        r = -ENOMEM;
                        goto out;
                }
        } else {
                url = strprintf("%s%sscope=%s%s%s", realm, strchr(realm, '?') ? "&" : "?", e_scope,
                                e_service ? "&service=" : "", e_service ? e_service : "");
                if (!url) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        struct hop h = {.url = url, .post = form};
        if (!e_refresh && cr && cr->username) {
                h.basic_user = cr->username;
                h.basic_password = cr->password;
        }
        for (unsigned attempt = 1;; attempt++) {
                bool last = attempt >= o->attempts;
                CURLcode cc = perform(call, &x, &h);
                long status = cc == CURLE_OK ? response_status(&x) : 0;

                if (cc != CURLE_OK) {
                        if (x.too_big) {
                                r = call_fail(call, -EPROTO,
                                              "token server %s sent more than %d bytes", shown,
                                              MAX_TOKEN_BODY);
                                goto out;
                        }
                        r = call_fail(call, curl_error_to_errno(cc), "token server %s: %s", shown,
                                      curl_message(&x, cc));
                        if (!curl_retryable(cc) || last)
                                goto out;
                } else if (is_2xx(status)) {
                        _cleanup_free_ char *token = NULL;
                        r = parse_token_answer(x.buf, x.len, &token, ret_lifetime, why,
                                               sizeof(why));
                        if (r == -EPROTO)
                                call_fail(call, r, "answer of token server %s %s", shown, why);
                        if (r < 0)
                                goto out;
                        *ret_auth = strprintf("Bearer %s", token);
                        if (!*ret_auth)
                                r = -ENOMEM;
                        explicit_bzero(token, strlen(token));
                        goto out;
                } else if (status == 401 || status == 403) {
                        error_detail(&x, detail, sizeof(detail));
                        r = call_fail(
                            call, -EACCES, "token server %s refused %s (HTTP %ld%s)", shown,
                            registry_creds_empty(cr) ? "anonymous access" : "the credentials",
                            status, detail);
                        goto out;
                } else if (status == 429 || status >= 500) {
                        error_detail(&x, detail, sizeof(detail));
                        r = call_fail(call, -EIO, "token server %s answered HTTP %ld%s", shown,
                                      status, detail);
                        if (last)
                                goto out;
                } else {
                        r = call_fail(call, -EPROTO, "token server %s answered HTTP %ld", shown,
                                      status);
                        goto out;
                }
                sleep_ms(retry_delay_ms(o, attempt, x.retry_after));
        }
out:
        curl_free(e_scope);
        curl_free(e_service);
        if (e_refresh) {
                explicit_bzero(e_refresh, strlen(e_refresh));
                curl_free(e_refresh);
        }
        if (form)
                explicit_bzero(form, strlen(form));
        curl_easy_cleanup(esc_handle);
        exchange_free(&x);
        return r;
}

/* --- authentication ------------------------------------------------------ */

static void call_set_authorization(struct call *call, char *authorization, bool fresh)
{
        if (call->authorization) {
                explicit_bzero(call->authorization, strlen(call->authorization));
                free(call->authorization);
        }
        call->authorization = authorization;
        call->auth_fresh = fresh;
}

static int scope_for(struct call *call, char **ret)
{
        *ret = strprintf("repository:%s:pull", call->repo);
        return *ret ? 0 : -ENOMEM;
}

/* Bearer authorization for realm/service: the registry_token as it is, a
 * cached token unless refresh, or a new one from the realm. */
static int bearer_authorization(struct call *call, const char *realm, const char *service,
                                bool refresh)
{
        _cleanup_free_ char *scope = NULL, *key = NULL;
        char *auth = NULL;
        long lifetime = 0;
        int r;

        if (call->creds && call->creds->registry_token) {
                auth = strprintf("Bearer %s", call->creds->registry_token);
                if (!auth)
                        return -ENOMEM;
                call_set_authorization(call, auth, true);
                return 0;
        }
        r = scope_for(call, &scope);
        if (r < 0)
                return r;
        key = token_key(realm, service, scope, call->creds);
        if (!key)
                return -ENOMEM;
        if (refresh) {
                token_forget(call->client, key);
        } else {
                auth = token_lookup(call->client, key);
                if (auth) {
                        call_set_authorization(call, auth, false);
                        return 0;
                }
        }
        r = fetch_token(call, realm, service, scope, &auth, &lifetime);
        if (r < 0)
                return r;
        /* Renew a little before the server's expiry, so a token does not
         * run out between the cache lookup and the registry's check. */
        long margin = lifetime > 20 ? 10 : lifetime / 2;
        if (lifetime - margin > 0)
                token_store(call->client, key, auth, lifetime - margin);
        call_set_authorization(call, auth, true);
        return 0;
}

/* Answers a 401 from the registry: parses the challenge and sets
 * call->authorization for the next try. */
static int authenticate(struct call *call, const struct exchange *x, const char *what)
{
        const struct www_auth_challenge *bearer, *basic;
        struct www_auth a;
        char why[256];
        int r;

        if (!x->www_authenticate)
                return call_fail(call, -EPROTO, "%s: HTTP 401 without a WWW-Authenticate header",
                                 what);
        r = www_auth_parse(x->www_authenticate, strlen(x->www_authenticate), &a, why, sizeof(why));
        if (r == -EINVAL)
                return call_fail(call, -EPROTO, "%s: %s", what, why);
        if (r < 0)
                return r;
        bearer = www_auth_find(&a, "bearer");
        basic = www_auth_find(&a, "basic");
        if (bearer) {
                const char *realm = www_auth_param(bearer, "realm");
                const char *service = www_auth_param(bearer, "service");
                if (!realm) {
                        r = call_fail(call, -EPROTO, "%s: Bearer challenge without a realm", what);
                } else {
                        call_remember_challenge(call, false, realm, service);
                        r = bearer_authorization(call, realm, service, call->authorization != NULL);
                }
        } else if (basic) {
                call_remember_challenge(call, true, NULL, NULL);
                if (!call->creds || !call->creds->username) {
                        r = call_fail(call, -EACCES,
                                      "%s: the registry requires a username and password "
                                      "(Basic authentication) and none were given",
                                      what);
                } else {
                        char *auth = NULL;
                        r = make_basic(call->creds->username, call->creds->password, &auth);
                        if (r == 0)
                                call_set_authorization(call, auth, true);
                }
        } else {
                char scheme[64];
                sanitize(scheme, sizeof(scheme), a.challenges[0].scheme);
                r = call_fail(call, -EACCES, "%s: unsupported authentication scheme \"%s\"", what,
                              scheme);
        }
        www_auth_free(&a);
        return r;
}

/* Before the first request: what this host asked for last time, so that a
 * cached token (or Basic credentials) go out at once. */
static void preauthorize(struct call *call)
{
        struct registry_client *c = call->client;
        char *realm = NULL, *service = NULL;
        bool basic = false;

        pthread_mutex_lock(&c->lock);
        struct host_state *h = host_find(c, call->ep->host);
        if (h) {
                basic = h->basic;
                realm = h->realm ? strdup(h->realm) : NULL;
                service = h->service ? strdup(h->service) : NULL;
        }
        pthread_mutex_unlock(&c->lock);

        if (realm) {
                _cleanup_free_ char *scope = NULL, *key = NULL;
                if (call->creds && call->creds->registry_token) {
                        char *auth = strprintf("Bearer %s", call->creds->registry_token);
                        if (auth)
                                call_set_authorization(call, auth, true);
                } else if (scope_for(call, &scope) == 0 &&
                           (key = token_key(realm, service, scope, call->creds))) {
                        char *auth = token_lookup(c, key);
                        if (auth)
                                call_set_authorization(call, auth, false);
                }
        } else if (basic && call->creds && call->creds->username) {
                char *auth = NULL;
                if (make_basic(call->creds->username, call->creds->password, &auth) == 0)
                        call_set_authorization(call, auth, true);
        }
        free(realm);
        free(service);
}

/* --- requests ------------------------------------------------------------ */

#define RETRY 1 /* one_attempt(): try again after a delay */

struct request {
        const char *path; /* after /v2/ */
        const char *what; /* "manifest <ref>", "blob <digest>": for messages */
        const char *accept;
        enum body_mode mode;
        size_t limit;
        struct blob_state *blob;
};

static bool is_redirect(long status)
{
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Whether an insecure endpoint's HTTPS failure means "try plain HTTP": the
 * TLS handshake failed before any HTTP answer, as it does when a plain HTTP
 * server reads a ClientHello. Connect errors and timeouts would repeat on
 * the same port, so they do not switch. */
static bool https_failed(const struct call *call, CURLcode cc, long status)
{
        if (!call->ep->insecure || call->use_http || status != 0)
                return false;
        return cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR ||
               cc == CURLE_WEIRD_SERVER_REPLY;
}

static int follow_redirect(struct call *call, const struct exchange *x, const struct request *rq,
                           char **url, char **visited, size_t *n_visited)
{
        char *target = NULL, shown[256];
        struct origin from, to;

        curl_easy_getinfo(x->curl, CURLINFO_REDIRECT_URL, &target);
        if (!target)
                return call_fail(call, -EPROTO, "%s: redirect without a usable Location", rq->what);
        sanitize(shown, sizeof(shown), target);
        if (url_origin(*url, &from) < 0 || url_origin(target, &to) < 0)
                return call_fail(call, -EPROTO, "%s: redirect to %s, which is not http(s)",
                                 rq->what, shown);
        if (strcasecmp(from.scheme, "https") == 0 && strcasecmp(to.scheme, "http") == 0 &&
            !call->ep->insecure)
                return call_fail(call, -EPROTO,
                                 "%s: redirect from HTTPS to plain HTTP (%s) refused", rq->what,
                                 shown);
        for (size_t i = 0; i < *n_visited; i++)
                if (strcmp(visited[i], target) == 0)
                        return call_fail(call, -EPROTO, "%s: redirect loop at %s", rq->what, shown);
        if (*n_visited > REGISTRY_MAX_REDIRECTS)
                return call_fail(call, -EPROTO, "%s: more than %d redirects (last to %s)", rq->what,
                                 REGISTRY_MAX_REDIRECTS, shown);
        char *next = strdup(target);
        if (!next)
                return -ENOMEM;
        visited[(*n_visited)++] = next;
        *url = next;
        return 0;
}

/* One try: the request, its redirects and authentication. Returns 0, a
 * final negative errno, or RETRY with *ret_err set; the message for either
 * error is in call->err. */
static int one_attempt(struct call *call, const struct request *rq, struct exchange *x,
                       int *ret_err)
{
        char *visited[REGISTRY_MAX_REDIRECTS + 2] = {NULL};
        size_t n_visited = 0;
        char detail[300];
        struct origin registry, here;
        int r;

        visited[0] =
            strprintf("%s://%s/v2/%s", call->use_http ? "http" : "https", call->ep->host, rq->path);
        if (!visited[0])
                return -ENOMEM;
        n_visited = 1;
        char *url = visited[0];
        r = url_origin(url, &registry);
        if (r < 0) {
                r = call_fail(call, r, "cannot form a URL for %s", rq->what);
                goto out;
        }
        for (;;) {
                r = url_origin(url, &here);
                if (r < 0)
                        goto out;
                bool same = origin_equal(&here, &registry);
                struct hop h = {
                    .url = url,
                    .authorization = same ? call->authorization : NULL,
                    .accept = rq->accept,
                    .range_from = rq->blob ? rq->blob->pos : 0,
                };
                CURLcode cc = perform(call, x, &h);
                long status = response_status(x);

                if (cc != CURLE_OK) {
                        if (x->sink_err) {
                                r = call_fail(call, x->sink_err, "%s: storing the data failed: %s",
                                              rq->what, strerror(-x->sink_err));
                        } else if (x->too_big && rq->blob) {
                                r = call_fail(
                                    call, -EFBIG,
                                    "%s: the registry sent more than the expected %" PRIu64
                                    " bytes",
                                    rq->what, rq->blob->req->expected_size);
                        } else if (x->too_big) {
                                r = call_fail(call, -EFBIG, "%s is larger than %zu bytes", rq->what,
                                              rq->limit);
                        } else if (x->range_bad) {
                                char cr[64];
                                sanitize(cr, sizeof(cr), x->content_range);
                                r = call_fail(call, -EPROTO,
                                              "%s: bad Content-Range \"%s\" for a request from "
                                              "byte %" PRIu64,
                                              rq->what, cr, rq->blob->pos);
                        } else if (same && https_failed(call, cc, status)) {
                                log_info("registry does not speak HTTPS, using plain HTTP",
                                         "host=%s curl_error=\"%s\"", call->ep->host,
                                         curl_message(x, cc));
                                call->use_http = true;
                                call_remember_http(call);
                                *ret_err = 0;
                                r = RETRY;
                        } else {
                                r = call_fail(call, curl_error_to_errno(cc), "%s: %s", rq->what,
                                              curl_message(x, cc));
                                if (curl_retryable(cc)) {
                                        *ret_err = r;
                                        r = RETRY;
                                }
                        }
                        goto out;
                }
                if (x->bad_header) {
                        r = call_fail(call, -EPROTO, "%s: bad answer (HTTP %ld): %s", rq->what,
                                      status, x->bad_header_why);
                        goto out;
                }
                error_detail(x, detail, sizeof(detail));
                if (is_redirect(status)) {
                        r = follow_redirect(call, x, rq, &url, visited, &n_visited);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (status == 401 && same) {
                        if (call->auth_fresh) {
                                r = call_fail(call, -EACCES,
                                              "%s: the registry refused the %s (HTTP 401%s)",
                                              rq->what,
                                              registry_creds_empty(call->creds) ? "anonymous token"
                                                                                : "credentials",
                                              detail);
                                goto out;
                        }
                        r = authenticate(call, x, rq->what);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (status == 401 || status == 403) {
                        r = call_fail(call, -EACCES, "%s: access denied by %s (HTTP %ld%s)",
                                      rq->what, here.host, status, detail);
                        goto out;
                }
                if (status == 404) {
                        r = call_fail(call, -ENOENT, "%s not found (HTTP 404%s)", rq->what, detail);
                        goto out;
                }
                if (status == 429 || status >= 500) {
                        *ret_err = call_fail(call, -EIO, "%s: HTTP %ld%s from %s", rq->what, status,
                                             detail, here.host);
                        r = RETRY;
                        goto out;
                }
                if (!is_2xx(status)) {
                        r = call_fail(call, -EPROTO, "%s: unexpected HTTP %ld%s", rq->what, status,
                                      detail);
                        goto out;
                }
                if (rq->blob && rq->blob->req->expected_size != REGISTRY_SIZE_UNKNOWN &&
                    rq->blob->pos < rq->blob->req->expected_size) {
                        *ret_err =
                            call_fail(call, -ECONNRESET,
                                      "%s: transfer ended after %" PRIu64 " of %" PRIu64 " bytes",
                                      rq->what, rq->blob->pos, rq->blob->req->expected_size);
                        r = RETRY;
                        goto out;
                }
                r = 0;
                goto out;
        }
out:
        for (size_t i = 0; i < n_visited; i++)
                free(visited[i]);
        return r;
}

static void append_err(struct call *call, const char *suffix)
{
        size_t n = call->err ? strnlen(call->err, call->err_size) : 0;
        if (call->err && n + 1 < call->err_size)
                snprintf(call->err + n, call->err_size - n, "%s", suffix);
}

/* Runs rq with retries (and, for blobs, resumption). */
static int run_request(struct call *call, const struct request *rq, struct exchange *x)
{
        const struct registry_options *o = &call->client->opts;
        unsigned attempt = 1, resumes = 0;

        for (;;) {
                uint64_t before = rq->blob ? rq->blob->pos : 0;
                int err = 0;
                int r = one_attempt(call, rq, x, &err);
                if (r != RETRY)
                        return r;
                if (err == 0)
                        continue; /* switched to plain HTTP: not a failure */
                if (rq->blob && rq->blob->pos > before) {
                        /* Progress was made: resume from where it broke. */
                        if (++resumes > o->max_blob_resumes) {
                                char s[64];
                                snprintf(s, sizeof(s), " (gave up after %u resumptions)",
                                         resumes - 1);
                                append_err(call, s);
                                return err;
                        }
                        attempt = 1;
                        log_warn("blob download broke, resuming",
                                 "host=%s repo=%s offset=%" PRIu64 " error=\"%s\"", call->ep->host,
                                 call->repo, rq->blob->pos, call->err ? call->err : "");
                        continue;
                }
                if (attempt >= o->attempts) {
                        char s[64];
                        snprintf(s, sizeof(s), " (gave up after %u attempts)", attempt);
                        append_err(call, s);
                        return err;
                }
                long delay = retry_delay_ms(o, attempt, x->retry_after);
                log_warn("registry request failed, retrying",
                         "host=%s repo=%s attempt=%u delay_ms=%ld error=\"%s\"", call->ep->host,
                         call->repo, attempt, delay, call->err ? call->err : "");
                sleep_ms(delay);
                attempt++;
        }
}

static int call_init(struct call *call, struct registry_client *c,
                     const struct registry_endpoint *ep, const char *repo,
                     const struct registry_creds *creds, char *err, size_t err_size)
{
        *call = (struct call){
            .client = c, .ep = ep, .repo = repo, .creds = creds, .err = err, .err_size = err_size};
        if (err && err_size)
                err[0] = '\0';
        if (!host_valid(ep->host))
                return call_fail(call, -EINVAL, "invalid registry host name");
        if (!registry_repo_valid(repo))
                return call_fail(call, -EINVAL, "invalid repository name");
        call->use_http = ep->insecure && call_host_uses_http(call);
        int r = load_tls_files(call);
        if (r < 0)
                return r;
        preauthorize(call);
        return 0;
}

static void call_done(struct call *call)
{
        call_set_authorization(call, NULL, false);
        tls_files_free(&call->tls);
}

int registry_get_manifest(struct registry_client *c, const struct registry_endpoint *ep,
                          const char *repo, const char *reference,
                          const struct registry_creds *creds, struct registry_manifest *ret,
                          char *err, size_t err_size)
{
        struct exchange x = {0};
        struct call call;
        _cleanup_free_ char *path = NULL, *what = NULL;
        int r;

        r = call_init(&call, c, ep, repo, creds, err, err_size);
        if (r < 0)
                goto out;
        if (!registry_reference_valid(reference)) {
                r = call_fail(&call, -EINVAL, "invalid tag or digest");
                goto out;
        }
        path = strprintf("%s/manifests/%s", repo, reference);
        what = strprintf("manifest %s", reference);
        if (!path || !what) {
                r = -ENOMEM;
                goto out;
        }
        struct request rq = {.path = path,
                             .what = what,
                             .accept = MANIFEST_ACCEPT,
                             .mode = BODY_BUFFER,
                             .limit = REGISTRY_MAX_MANIFEST};
        x.mode = rq.mode;
        x.limit = rq.limit;
        r = run_request(&call, &rq, &x);
        if (r < 0)
                goto out;
        if (x.digest && !digest_valid(x.digest)) {
                r = call_fail(&call, -EPROTO, "%s: malformed Docker-Content-Digest header", what);
                goto out;
        }
        struct registry_manifest m = {0};
        m.body = x.buf ? TAKE_PTR(x.buf) : strdup("");
        m.size = x.len;
        m.digest = TAKE_PTR(x.digest);
        if (x.content_type) {
                size_t n = strcspn(x.content_type, ";");
                while (n > 0 && (x.content_type[n - 1] == ' ' || x.content_type[n - 1] == '\t'))
                        n--;
                m.media_type = strndup(x.content_type, n);
        }
        if (!m.body || (x.content_type && !m.media_type)) {
                registry_manifest_free(&m);
                r = -ENOMEM;
                goto out;
        }
        *ret = m;
out:
        exchange_free(&x);
        call_done(&call);
        return r;
}

int registry_get_blob(struct registry_client *c, const struct registry_endpoint *ep,
                      const char *repo, const struct registry_blob_request *req,
                      const struct registry_creds *creds, char *err, size_t err_size)
{
        struct exchange x = {0};
        struct blob_state b = {.req = req, .pos = req->offset};
        struct call call;
        _cleanup_free_ char *path = NULL, *what = NULL;
        int r;

        r = call_init(&call, c, ep, repo, creds, err, err_size);
        if (r < 0)
                goto out;
        if (!digest_valid(req->digest) || !req->sink) {
                r = call_fail(&call, -EINVAL, "invalid blob digest or no sink");
                goto out;
        }
        if (req->expected_size != REGISTRY_SIZE_UNKNOWN && req->offset >= req->expected_size) {
                r = req->offset == req->expected_size
                        ? 0
                        : call_fail(&call, -EINVAL,
                                    "blob %s: offset %" PRIu64 " is beyond its size %" PRIu64,
                                    req->digest, req->offset, req->expected_size);
                goto out;
        }
        path = strprintf("%s/blobs/%s", repo, req->digest);
        what = strprintf("blob %s", req->digest);
        if (!path || !what) {
                r = -ENOMEM;
                goto out;
        }
        struct request rq = {.path = path, .what = what, .mode = BODY_BLOB, .blob = &b};
        x.mode = rq.mode;
        x.blob = &b;
        r = run_request(&call, &rq, &x);
out:
        exchange_free(&x);
        call_done(&call);
        return r;
}
