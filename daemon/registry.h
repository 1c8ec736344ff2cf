/* registry.h: the pull side of the OCI distribution spec v2 over libcurl.
 *
 * A registry_client holds what calls share: timeouts and retry policy, a
 * curl share handle (connections, DNS, TLS sessions), the Bearer token cache
 * and the transport each insecure host answered on. Every call uses its own
 * curl easy handle, so brigd may call the client from many threads at once
 * (layers of one image are fetched concurrently).
 *
 * curl_global_init() is not thread-safe: brigd's main() calls
 * registry_global_init() once, before it starts any thread.
 *
 * Transport (as containers-registries.conf(5) defines `insecure`): HTTPS
 * with verification against the system CAs plus every
 * <certs_dir>/<host[:port]>/ *.crt as an extra CA, and the first *.cert with
 * its matching *.key there as client certificate (containers-certs.d(5)).
 * An insecure endpoint is tried over HTTPS first without verifying the
 * certificate; when HTTPS does not work at all it falls back to plain HTTP,
 * and that choice is remembered for the host.
 *
 * Authentication: every request goes out anonymously first (or with a
 * cached token). On 401 the WWW-Authenticate challenge decides: Basic sends
 * the username and password; Bearer fetches a token from the realm (GET
 * with service and scope=repository:<repo>:pull and Basic credentials if
 * any, or an OAuth2 POST with grant_type=refresh_token when an
 * identity_token is set; a registry_token is used as the token itself).
 * Tokens are cached per (realm, service, scope, credentials) until they
 * expire.
 *
 * Redirects (blob storage) are followed up to REGISTRY_MAX_REDIRECTS; the
 * registry's Authorization header is only sent to the registry's own
 * scheme://host:port, and an HTTPS → HTTP redirect is refused unless the
 * endpoint is insecure.
 *
 * Errors: each function returns 0 or a negative errno and writes a message
 * naming the registry host, the repository and what happened (HTTP status,
 * the registry's error code, curl's error text) into err:
 *   -ENOENT        404: manifest or blob unknown (gRPC NOT_FOUND)
 *   -EACCES        401 or 403 after authenticating, or credentials needed
 *                  and none given (UNAUTHENTICATED / PERMISSION_DENIED)
 *   -EIO           5xx or 429 after every retry (UNAVAILABLE)
 *   -ETIMEDOUT     connect timeout or the low-speed limit (UNAVAILABLE)
 *   -ECONNREFUSED  cannot connect (UNAVAILABLE)
 *   -EHOSTUNREACH  host name does not resolve (UNAVAILABLE)
 *   -ECONNRESET    the connection broke and retries ran out (UNAVAILABLE)
 *   -EPROTO        garbage: bad status, headers, token JSON, TLS failure,
 *                  redirect loop or too many redirects (INTERNAL)
 *   -EFBIG         a manifest over REGISTRY_MAX_MANIFEST, or a blob longer
 *                  than its expected size (INTERNAL)
 *   -EINVAL        a bad argument from the caller (INVALID_ARGUMENT)
 *   -ENOMEM
 *   anything the blob sink returned, unchanged
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry_auth.h"

#define REGISTRY_MAX_MANIFEST  (4 * 1024 * 1024)
#define REGISTRY_MAX_REDIRECTS 5
#define REGISTRY_CERTS_DIR     "/etc/containers/certs.d"
/* expected_size of a blob whose size the caller does not know */
#define REGISTRY_SIZE_UNKNOWN UINT64_MAX

/* Limits and retry policy; registry_options_default() fills sane values. */
struct registry_options {
        long connect_timeout_ms;   /* default 30000 */
        long low_speed_limit;      /* bytes/s; slower than this for ... */
        long low_speed_time;       /* ... this many seconds aborts (1024, 30) */
        unsigned attempts;         /* tries per request on 5xx/429/network errors (3) */
        long backoff_ms;           /* first retry delay, doubled each time, with jitter (250) */
        long max_retry_after_ms;   /* cap on a 429/503 Retry-After (10000) */
        unsigned max_blob_resumes; /* resumes of one broken blob download (10) */
        const char *user_agent;    /* default "brig/<version>" */
};

void registry_options_default(struct registry_options *o);

/* Where a registry is and how to reach it. */
struct registry_endpoint {
        const char *host;      /* host[:port] as in the image reference */
        bool insecure;         /* plain HTTP and unverified TLS allowed */
        const char *certs_dir; /* NULL for REGISTRY_CERTS_DIR */
};

struct registry_client;

/* Initializes libcurl once per process. Call before starting threads.
 * Returns 0 or -EIO. */
int registry_global_init(void);

/* Creates a client; opts may be NULL for the defaults (strings are copied).
 * Returns 0 or -ENOMEM/-EIO. */
int registry_client_new(const struct registry_options *opts, struct registry_client **ret);
void registry_client_free(struct registry_client *c);

/* A manifest as the registry served it. */
struct registry_manifest {
        char *body; /* NUL-terminated for convenience; may contain NULs */
        size_t size;
        char *media_type; /* Content-Type without parameters, or NULL */
        char *digest;     /* Docker-Content-Digest (checked with digest_valid()), or NULL */
};

void registry_manifest_free(struct registry_manifest *m);

/* GET /v2/<repo>/manifests/<reference> (a tag or a digest) accepting OCI
 * index/manifest and Docker manifest list/schema 2. creds may be NULL. The
 * body is refused (-EFBIG) beyond REGISTRY_MAX_MANIFEST. The caller checks
 * the digest of what it asked for by digest. */
int registry_get_manifest(struct registry_client *c, const struct registry_endpoint *ep,
                          const char *repo, const char *reference,
                          const struct registry_creds *creds, struct registry_manifest *ret,
                          char *err, size_t err_size);

/* Receives the blob's bytes in order; returns 0, or a negative errno that
 * stops the download and is returned by registry_get_blob(). */
typedef int (*registry_sink_fn)(const void *buf, size_t len, void *userdata);
/* done and total count from byte 0 of the blob; total is
 * REGISTRY_SIZE_UNKNOWN when unknown. Called often: rate-limit logging. */
typedef void (*registry_progress_fn)(uint64_t done, uint64_t total, void *userdata);

struct registry_blob_request {
        const char *digest;     /* sha256:/sha512: hex, as digest.h accepts */
        uint64_t offset;        /* bytes the caller already holds; delivery starts here */
        uint64_t expected_size; /* from the descriptor, or REGISTRY_SIZE_UNKNOWN */
        registry_sink_fn sink;
        registry_progress_fn progress; /* may be NULL */
        void *userdata;
};

/* GET /v2/<repo>/blobs/<digest>, streaming bytes offset.. to the sink. A
 * broken transfer is resumed with a Range request from the last byte
 * delivered; a server that ignores Range is handled by skipping. More bytes
 * than expected_size, or fewer when the server says it is done, is an
 * error. The caller verifies the digest. */
int registry_get_blob(struct registry_client *c, const struct registry_endpoint *ep,
                      const char *repo, const struct registry_blob_request *req,
                      const struct registry_creds *creds, char *err, size_t err_size);

/* Check the syntax of a repository name and of a reference (a tag, or a
 * digest as digest.h accepts it) before they become part of a URL. Return
 * true when acceptable. */
bool registry_repo_valid(const char *repo);
bool registry_reference_valid(const char *reference);
