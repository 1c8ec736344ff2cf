/* registries.h: containers-registries.conf(5), version 2, as brigd uses it
 * to decide where an image is pulled from.
 *
 * A configuration is a main file plus drop-ins (registries.conf.d/ *.conf,
 * read in byte order of their names), merged as the man page says: a
 * [[registry]] with the prefix of an earlier one replaces it; a later
 * unqualified-search-registries or short-name-mode replaces the earlier
 * value; [aliases] merge key by key, the later file winning.
 *
 * Read keys: unqualified-search-registries, short-name-mode, [aliases],
 * [[registry]] (prefix, location, insecure, blocked, mirror-by-digest-only)
 * and its [[registry.mirror]] (location, insecure, pull-from-mirror). Other
 * keys are kept as warnings for the caller to log. Version 1 files
 * ([registries.search] ...) are refused.
 *
 * Prefixes are host[:port][/path] or *.domain (any host[:port] whose host
 * ends in .domain). A prefix matches a repository name when it equals the
 * name or is followed in it by '/', so example.com/foo never matches
 * example.com/foobar; the longest match wins, an exact prefix before a
 * wildcard of the same length. brig does not support prefixes with a tag or
 * digest.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/imageref.h"

#define REGISTRIES_CONF_PATH   "/etc/containers/registries.conf"
#define REGISTRIES_DROPIN_PATH "/etc/containers/registries.conf.d"

enum short_name_mode {
        SHORT_NAME_ENFORCING, /* the default: more than one candidate is an error */
        SHORT_NAME_PERMISSIVE,
        SHORT_NAME_DISABLED,
};

enum pull_from_mirror {
        PULL_FROM_MIRROR_ALL,
        PULL_FROM_MIRROR_DIGEST_ONLY,
        PULL_FROM_MIRROR_TAG_ONLY,
};

struct registry_mirror {
        char *location; /* host[:port][/path] */
        bool insecure;
        enum pull_from_mirror pull_from_mirror;
};

struct registry {
        char *prefix;   /* host[:port][/path] or *.domain */
        char *location; /* host[:port][/path]; "" for a wildcard: the name's own domain */
        bool insecure;
        bool blocked;
        bool mirror_by_digest_only;
        struct registry_mirror *mirrors;
        size_t n_mirrors;
        char *source; /* "<file>:<line>" of its [[registry]] */
};

struct registry_alias {
        char *name;             /* short name, e.g. "busybox" */
        struct imageref target; /* fully qualified; tag_defaulted if it had no tag */
        char *source;
};

/* Everything is owned by the structure and released by registries_free(). */
struct registries_conf {
        char **search; /* unqualified-search-registries, host[:port] each */
        size_t n_search;
        enum short_name_mode short_name_mode;
        struct registry_alias *aliases;
        size_t n_aliases;
        struct registry *registries;
        size_t n_registries;
        char **warnings; /* "<file>:<line>: ..." for ignored keys */
        size_t n_warnings;
        char *files; /* the files read, ", "-separated, for messages; "" if none */
};

/* An empty configuration (enforcing, no registries); NULL without memory. */
struct registries_conf *registries_new(void);

void registries_free(struct registries_conf *conf);

static inline void registries_freep(struct registries_conf **conf)
{
        registries_free(*conf);
}
#define _cleanup_registries_ __attribute__((cleanup(registries_freep)))

/* Parses one document (len bytes at buf; source names it in messages) and
 * merges it into conf, as the next file in order. Returns 0, -EINVAL with a
 * message naming source and line in err (conf is then unchanged), or
 * -ENOMEM. */
int registries_merge(struct registries_conf *conf, const char *buf, size_t len, const char *source,
                     char *err, size_t err_size);

/* Loads main_path (a missing file is an empty one) and then every *.conf in
 * dropin_dir (which may be missing; NULL skips it). Returns 0 and a new
 * configuration in *ret, or a negative errno with a message in err. */
int registries_load(const char *main_path, const char *dropin_dir, struct registries_conf **ret,
                    char *err, size_t err_size);

/* One place to try pulling a reference from. */
struct pull_source {
        char host[IMAGEREF_NAME_MAX + 1];     /* host[:port] to connect to */
        char path[2 * IMAGEREF_NAME_MAX + 2]; /* repository path on that host */
        bool insecure;                        /* plain HTTP or unverified TLS allowed */
        bool mirror;
};

/* The places to pull ref (fully qualified) from, in order: the usable
 * mirrors of the matching [[registry]], then its location. With no match,
 * the reference's own domain, secure. Returns 0 with a malloc'd array in
 * *ret (free() it) and its length in *ret_n; -EACCES if the registry is
 * blocked, -EINVAL if rewriting leaves no repository path, both with a
 * message in err; or -ENOMEM. */
int registries_pull_sources(const struct registries_conf *conf, const struct imageref *ref,
                            struct pull_source **ret, size_t *ret_n, char *err, size_t err_size);

/* The fully qualified candidates for ref. A reference that names its
 * domain is its own single candidate. For a short name: its alias if there
 * is one (the user's tag or digest, if given, replaces the alias's tag);
 * otherwise each unqualified-search-registry + name, in order (docker.io
 * adds library/ to one-component names). In enforcing mode more than one
 * candidate is an error listing them. Returns 0 with a malloc'd array in
 * *ret (free() it) and its length (at least 1) in *ret_n, -ENOENT when
 * there is nowhere to look, -EINVAL when ambiguous or a candidate is not a
 * valid name (message in err), or -ENOMEM. */
int registries_resolve(const struct registries_conf *conf, const struct imageref *ref,
                       struct imageref **ret, size_t *ret_n, char *err, size_t err_size);

const char *short_name_mode_to_string(enum short_name_mode mode);
