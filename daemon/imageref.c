/* imageref.c: owns the image reference grammar (see imageref.h): splitting a
 * reference into domain, path, tag and digest, checking each part against
 * the distribution/reference grammar, normalizing short names to docker.io,
 * and formatting references back. Every rejection names the part at fault. */
#include "imageref.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN  "index.docker.io"
#define LIBRARY        "library/"
#define DEFAULT_TAG    "latest"

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(char c)
{
        return is_alnum(c) || c == '_';
}

static bool has_upper(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return true;
        return false;
}

/* Copies len bytes at s into out as printable ASCII, cut short with "...",
 * so a hostile reference cannot forge log lines or flood them. */
static void printable(const char *s, size_t len, char *out, size_t out_size)
{
        size_t n = 0, i = 0;

        for (; i < len && n + 8 < out_size; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
                        n += (size_t)snprintf(out + n, out_size - n, "\\x%02x", c);
                else
                        out[n++] = (char)c;
        }
        snprintf(out + n, out_size - n, "%s", i < len ? "..." : "");
}

/* Writes "invalid image reference '<s>': <why>". */
static int fail(char *err, size_t err_size, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, const char *s, const char *fmt, ...)
{
        char shown[160];
        va_list ap;

        if (err_size == 0)
                return -EINVAL;
        printable(s, strlen(s), shown, sizeof(shown));
        int w = snprintf(err, err_size, "invalid image reference '%s': ", shown);
        if (w >= 0 && (size_t)w < err_size) {
                va_start(ap, fmt);
                vsnprintf(err + w, err_size - (size_t)w, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* Why len bytes at s are not host[:port], or NULL if they are. */
static const char *domain_problem(const char *s, size_t len)
{
        size_t i = 0;

        if (len == 0)
                return "the domain is empty";
        if (s[0] == '[') {
                while (++i < len && s[i] != ']')
                        if (!is_hex(s[i]) && s[i] != ':')
                                return "an IPv6 address in brackets may only hold hex digits and "
                                       "':'";
                if (i == len)
                        return "missing ']' after the IPv6 address";
                if (i == 1)
                        return "the IPv6 address in brackets is empty";
                i++;
        } else {
                for (;;) {
                        size_t start = i;
                        while (i < len && (is_alnum(s[i]) || s[i] == '-'))
                                i++;
                        if (i == start)
                                return i < len && s[i] != '.' && s[i] != ':'
                                           ? "the domain may only hold letters, digits, '-', "
                                             "'.' and a ':port'"
                                           : "the domain has an empty component";
                        if (s[start] == '-' || s[i - 1] == '-')
                                return "a domain component cannot start or end with '-'";
                        if (i < len && s[i] == '.') {
                                i++;
                                continue;
                        }
                        break;
                }
        }
        if (i == len)
                return NULL;
        if (s[i] != ':')
                return "the domain may only hold letters, digits, '-', '.' and a ':port'";
        size_t digits = len - i - 1;
        if (digits == 0)
                return "the port after ':' is empty";
        unsigned port = 0;
        for (i++; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return "the port must be decimal digits";
                port = port * 10 + (unsigned)(s[i] - '0');
                if (port > 65535)
                        return "the port is larger than 65535";
        }
        return NULL;
}

bool imageref_valid_domain(const char *s, size_t len)
{
        return !domain_problem(s, len);
}

/* Why the component at s is not [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. */
static const char *component_problem(const char *s, size_t len)
{
        if (len == 0)
                return "has an empty path component";
        if (has_upper(s, len))
                return "must be lowercase";
        for (size_t i = 0; i < len;) {
                if (is_lower_alnum(s[i])) {
                        i++;
                        continue;
                }
                size_t start = i;
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i += i + 1 < len && s[i + 1] == '_' ? 2 : 1;
                } else if (s[i] == '-') {
                        while (i < len && s[i] == '-')
                                i++;
                } else {
                        return "may only hold lowercase letters, digits, '.', '_', '__', '-' and "
                               "'/'";
                }
                if (start == 0 || i == len)
                        return "path components must start and end with a letter or digit";
                if (!is_lower_alnum(s[i]))
                        return "separators ('.', '_', '__', '-') must stand alone between letters "
                               "or digits";
        }
        return NULL;
}

static const char *path_problem(const char *s, size_t len)
{
        for (size_t start = 0;;) {
                const char *slash = memchr(s + start, '/', len - start);
                size_t end = slash ? (size_t)(slash - s) : len;
                const char *why = component_problem(s + start, end - start);
                if (why)
                        return why;
                if (!slash)
                        return NULL;
                start = end + 1;
        }
}

bool imageref_valid_path(const char *s, size_t len)
{
        return !path_problem(s, len);
}

static int parse_tag(const char *s, const char *tag, size_t len, struct imageref *ret, char *err,
                     size_t err_size)
{
        if (len == 0)
                return fail(err, err_size, s, "the tag after ':' is empty");
        if (len > IMAGEREF_TAG_MAX)
                return fail(err, err_size, s, "the tag is %zu characters long, the limit is %d",
                            len, IMAGEREF_TAG_MAX);
        if (!is_word(tag[0]))
                return fail(err, err_size, s,
                            "the tag must start with a letter, digit or '_' (is the port or "
                            "the path wrong?)");
        for (size_t i = 1; i < len; i++)
                if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
                        return fail(err, err_size, s,
                                    "the tag may only hold letters, digits, '_', '.' and '-'");
        memcpy(ret->tag, tag, len);
        ret->tag[len] = '\0';
        return 0;
}

/* Whether the algorithm fits the general digest grammar, so an unknown
 * algorithm can be told apart from garbage. */
static bool algorithm_well_formed(const char *s, size_t len)
{
        bool need_letter = true;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                if (need_letter) {
                        if (!letter)
                                return false;
                        need_letter = false;
                } else if (c == '-' || c == '_' || c == '+' || c == '.') {
                        need_letter = true;
                } else if (!is_alnum(c)) {
                        return false;
                }
        }
        return len > 0 && !need_letter;
}

static int parse_digest(const char *s, const char *d, size_t len, struct imageref *ret, char *err,
                        size_t err_size)
{
        const char *colon = memchr(d, ':', len);
        if (!colon)
                return fail(err, err_size, s,
                            "the digest after '@' must be <algorithm>:<hex>, e.g. sha256:<64 hex "
                            "digits>");
        size_t alen = (size_t)(colon - d);
        const char *hex = colon + 1;
        size_t hlen = len - alen - 1;
        size_t want;

        if (alen == 6 && memcmp(d, "sha256", 6) == 0)
                want = 64;
        else if (alen == 6 && memcmp(d, "sha512", 6) == 0)
                want = 128;
        else if (algorithm_well_formed(d, alen) && alen <= 32)
                return fail(err, err_size, s,
                            "digest algorithm '%.*s' is not supported (use sha256 or sha512)",
                            (int)alen, d);
        else
                return fail(err, err_size, s, "the digest algorithm is malformed");
        for (size_t i = 0; i < hlen; i++) {
                if (!is_hex(hex[i]))
                        return fail(err, err_size, s,
                                    "the %.6s digest may only hold hex digits after ':'", d);
                if (hex[i] >= 'A' && hex[i] <= 'F')
                        return fail(err, err_size, s, "the %.6s digest must be lowercase hex", d);
        }
        if (hlen != want)
                return fail(err, err_size, s, "a %.6s digest has %zu hex digits, this one has %zu",
                            d, want, hlen);
        memcpy(ret->digest, d, len);
        ret->digest[len] = '\0';
        return 0;
}

bool imageref_is_domain(const char *s, size_t len)
{
        return memchr(s, '.', len) || memchr(s, ':', len) ||
               (len == 9 && memcmp(s, "localhost", 9) == 0) || has_upper(s, len);
}

int imageref_parse(const char *s, struct imageref *ret, char *err, size_t err_size)
{
        size_t len = strlen(s);
        int r;

        memset(ret, 0, sizeof(*ret));
        if (len == 0)
                return fail(err, err_size, s, "the reference is empty");

        const char *at = memchr(s, '@', len);
        size_t name_end = at ? (size_t)(at - s) : len;
        if (at) {
                r = parse_digest(s, at + 1, len - name_end - 1, ret, err, err_size);
                if (r < 0)
                        return r;
        }

        /* The tag's ':' is the last one after the last '/', so a port is
         * never mistaken for a tag. */
        const char *slash = memrchr(s, '/', name_end);
        size_t last = slash ? (size_t)(slash - s) + 1 : 0;
        const char *colon = memrchr(s + last, ':', name_end - last);
        size_t name_len = colon ? (size_t)(colon - s) : name_end;
        if (colon) {
                r = parse_tag(s, colon + 1, name_end - name_len - 1, ret, err, err_size);
                if (r < 0)
                        return r;
        }
        if (name_len == 0)
                return fail(err, err_size, s, "the repository name is empty");

        const char *first = memchr(s, '/', name_len);
        size_t dlen = first ? (size_t)(first - s) : 0;
        bool domain = first && imageref_is_domain(s, dlen);
        const char *path = domain ? s + dlen + 1 : s;
        size_t plen = domain ? name_len - dlen - 1 : name_len;

        if (domain) {
                const char *why = domain_problem(s, dlen);
                if (why) {
                        char shown[80];
                        printable(s, dlen, shown, sizeof(shown));
                        return fail(err, err_size, s, "domain '%s': %s", shown, why);
                }
        }
        const char *why = path_problem(path, plen);
        if (why)
                return fail(err, err_size, s, "repository name %s", why);
        if (!domain && plen == 64 && strspn(path, "0123456789abcdef") >= 64)
                return fail(err, err_size, s,
                            "the name looks like an image ID (64 hex digits); a repository name "
                            "cannot be one");

        const char *dom = domain ? s : DEFAULT_DOMAIN;
        if (!domain)
                dlen = strlen(DEFAULT_DOMAIN);
        else if (dlen == strlen(LEGACY_DOMAIN) && memcmp(s, LEGACY_DOMAIN, dlen) == 0)
                dom = DEFAULT_DOMAIN, dlen = strlen(DEFAULT_DOMAIN);
        bool library = dlen == strlen(DEFAULT_DOMAIN) && memcmp(dom, DEFAULT_DOMAIN, dlen) == 0 &&
                       !memchr(path, '/', plen);
        size_t total = dlen + 1 + (library ? strlen(LIBRARY) : 0) + plen;
        if (total > IMAGEREF_NAME_MAX)
                return fail(err, err_size, s,
                            "the repository name is %zu characters long when fully qualified, "
                            "the limit is %d",
                            total, IMAGEREF_NAME_MAX);

        memcpy(ret->domain, dom, dlen);
        ret->domain[dlen] = '\0';
        snprintf(ret->path, sizeof(ret->path), "%s%.*s", library ? LIBRARY : "", (int)plen, path);
        ret->has_domain = domain;
        ret->library_added = library;
        if (!colon && !at) {
                strcpy(ret->tag, DEFAULT_TAG);
                ret->tag_defaulted = true;
        }
        return 0;
}

const char *imageref_short_name(const struct imageref *ref)
{
        return ref->library_added ? ref->path + strlen(LIBRARY) : ref->path;
}

static int format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int format(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return n;
}

int imageref_format(const struct imageref *ref, char *buf, size_t size)
{
        return format(buf, size, "%s/%s%s%s%s%s", ref->domain, ref->path, *ref->tag ? ":" : "",
                      ref->tag, *ref->digest ? "@" : "", ref->digest);
}

int imageref_format_name(const struct imageref *ref, char *buf, size_t size)
{
        return format(buf, size, "%s/%s", ref->domain, ref->path);
}

int imageref_format_tagged(const struct imageref *ref, char *buf, size_t size)
{
        if (!*ref->tag)
                return -ENOENT;
        return format(buf, size, "%s/%s:%s", ref->domain, ref->path, ref->tag);
}

int imageref_format_digested(const struct imageref *ref, char *buf, size_t size)
{
        if (!*ref->digest)
                return -ENOENT;
        return format(buf, size, "%s/%s@%s", ref->domain, ref->path, ref->digest);
}
