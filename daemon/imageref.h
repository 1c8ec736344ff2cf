/* imageref.h: container image references (the Docker distribution/reference
 * grammar) parsed, normalized and formatted.
 *
 *   reference := [domain[:port]/]path-component(/path-component)*[:tag][@digest]
 *
 * A domain is a host name (letters, digits, '-' inside components, '.'
 * between them) or a bracketed IPv6 address ([fe80::1]), with an optional
 * port. The first component of a name is a domain when it contains '.' or
 * ':', is "localhost", or contains an uppercase letter (as distribution does:
 * a repository is never uppercase). Path components are lowercase letters
 * and digits joined by '.', '_', "__" or runs of '-'. A tag is
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest is sha256:<64 hex> or
 * sha512:<128 hex>, lowercase. The name (domain/path as written) is at most
 * 255 bytes.
 *
 * Normalization: no domain means docker.io (and a one-component path gets
 * "library/"); index.docker.io is docker.io; no tag and no digest means tag
 * "latest". A digest-only reference stays without a tag.
 *
 * struct imageref holds everything in fixed buffers: no allocation, copy it
 * freely.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define IMAGEREF_NAME_MAX   255 /* domain/path as the user wrote it */
#define IMAGEREF_TAG_MAX    128
#define IMAGEREF_DIGEST_MAX (7 + 128) /* "sha512:" and its hex */
/* Room for any formatted reference, normalized (docker.io/library/ added). */
#define IMAGEREF_STRING_MAX 560

struct imageref {
        /* "docker.io", "localhost:5000", "[fe80::1]:5000": as written,
         * except that index.docker.io becomes docker.io. */
        char domain[IMAGEREF_NAME_MAX + 1];
        /* Repository path on that domain, e.g. "library/busybox". */
        char path[IMAGEREF_NAME_MAX + 1 + 8];
        char tag[IMAGEREF_TAG_MAX + 1];       /* "" when there is none */
        char digest[IMAGEREF_DIGEST_MAX + 1]; /* "" or "sha256:<hex>" */
        bool has_domain;                      /* the user named the domain: not a short name */
        bool library_added;                   /* "library/" was prepended to path */
        bool tag_defaulted;                   /* tag is "latest" because the user gave none */
};

/* Parses and normalizes s into *ret. Returns 0, or -EINVAL with a one-line
 * message in err ("invalid image reference '<s>': <part>: <why>"); *ret is
 * then unspecified. err may be NULL when err_size is 0. */
int imageref_parse(const char *s, struct imageref *ret, char *err, size_t err_size);

/* Whether len bytes at s form a domain: host[:port] as in the grammar. */
bool imageref_valid_domain(const char *s, size_t len);

/* Whether a first name component of len bytes at s is read as a domain:
 * it holds '.' or ':', is "localhost", or holds an uppercase letter. */
bool imageref_is_domain(const char *s, size_t len);

/* Whether len bytes at s are path components joined by '/' (lowercase). */
bool imageref_valid_path(const char *s, size_t len);

/* The short name the user typed for a reference without a domain: path
 * without an added "library/". For a reference with a domain: path. */
const char *imageref_short_name(const struct imageref *ref);

/* The formatters write a NUL-terminated string into buf and return its
 * length, or -ENOBUFS if size is too small (IMAGEREF_STRING_MAX always
 * suffices). */

/* domain/path[:tag][@digest], e.g. docker.io/library/busybox:latest. */
int imageref_format(const struct imageref *ref, char *buf, size_t size);

/* The repository name, domain/path. */
int imageref_format_name(const struct imageref *ref, char *buf, size_t size);

/* domain/path:tag, as stored in repo_tags; -ENOENT if ref has no tag. */
int imageref_format_tagged(const struct imageref *ref, char *buf, size_t size);

/* domain/path@digest, as stored in repo_digests; -ENOENT if ref has no
 * digest. */
int imageref_format_digested(const struct imageref *ref, char *buf, size_t size);
