/* registries.c: owns registries.conf (see registries.h): reading the main
 * file and its drop-ins, checking every key against containers-registries.conf(5)
 * version 2, merging files in order, and answering the two questions brigd
 * asks of it: which fully qualified names a short name stands for, and
 * which hosts a repository is pulled from. */
#include "daemon/registries.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "toml.h"
#include "util.h"

static int errf(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t err_size, int r, const char *fmt, ...)
{
        va_list ap;

        if (err_size > 0) {
                va_start(ap, fmt);
                vsnprintf(err, err_size, fmt, ap);
                va_end(ap);
        }
        return r;
}

/* A value from a file made fit for a one-line message: control characters,
 * quotes and backslashes escaped, and cut at 100 bytes. */
struct shown {
        char s[128];
};

static struct shown show(const char *s)
{
        struct shown out;
        size_t n = 0;

        for (; *s && n + 8 < 108; s++) {
                unsigned char c = (unsigned char)*s;
                if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
                        n += (size_t)snprintf(out.s + n, sizeof(out.s) - n, "\\x%02x", c);
                else
                        out.s[n++] = (char)c;
        }
        snprintf(out.s + n, sizeof(out.s) - n, "%s", *s ? "..." : "");
        return out;
}

const char *short_name_mode_to_string(enum short_name_mode mode)
{
        switch (mode) {
        case SHORT_NAME_ENFORCING:
                return "enforcing";
        case SHORT_NAME_PERMISSIVE:
                return "permissive";
        case SHORT_NAME_DISABLED:
                return "disabled";
        }
        return "unknown";
}

static void registry_clear(struct registry *r)
{
        for (size_t i = 0; i < r->n_mirrors; i++)
                free(r->mirrors[i].location);
        free(r->mirrors);
        free(r->prefix);
        free(r->location);
        free(r->source);
        memset(r, 0, sizeof(*r));
}

static void alias_clear(struct registry_alias *a)
{
        free(a->name);
        free(a->source);
        memset(a, 0, sizeof(*a));
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void registries_free(struct registries_conf *conf)
{
        if (!conf)
                return;
        strv_free(conf->search, conf->n_search);
        for (size_t i = 0; i < conf->n_aliases; i++)
                alias_clear(&conf->aliases[i]);
        free(conf->aliases);
        for (size_t i = 0; i < conf->n_registries; i++)
                registry_clear(&conf->registries[i]);
        free(conf->registries);
        strv_free(conf->warnings, conf->n_warnings);
        free(conf->files);
        free(conf);
}

struct registries_conf *registries_new(void)
{
        struct registries_conf *conf = calloc(1, sizeof(*conf));
        if (!conf)
                return NULL;
        conf->files = strdup("");
        if (!conf->files) {
                free(conf);
                return NULL;
        }
        conf->short_name_mode = SHORT_NAME_ENFORCING;
        return conf;
}

/* One document being read: what it sets, and where its errors go. */
struct doc {
        const char *source;
        struct registries_conf *c; /* the document's own settings */
        bool search_set;
        bool mode_set;
        char *err;
        size_t err_size;
};

static int key_error(struct doc *d, const struct toml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<source>:<line>: key '<path>': <message>", returning -EINVAL. */
static int key_error(struct doc *d, const struct toml_node *n, const char *fmt, ...)
{
        _cleanup_free_ char *path = NULL;
        char msg[512];
        va_list ap;

        if (toml_path(n, &path) < 0)
                return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return errf(d->err, d->err_size, -EINVAL, "%s:%u: key '%s': %s", d->source, n->line, path,
                    msg);
}

static int want_type(struct doc *d, const struct toml_node *n, enum toml_type type)
{
        if (n->type == type)
                return 0;
        return key_error(d, n, "must be %s %s, not %s %s", type == TOML_ARRAY ? "an" : "a",
                         toml_type_to_string(type),
                         n->type == TOML_ARRAY || n->type == TOML_INTEGER ? "an" : "a",
                         toml_type_to_string(n->type));
}

static int warn_unknown(struct doc *d, const struct toml_node *n)
{
        _cleanup_free_ char *path = NULL;
        char *w;

        if (toml_path(n, &path) < 0)
                return -ENOMEM;
        if (asprintf(&w, "%s:%u: unknown key '%s' ignored (not used by brig)", d->source, n->line,
                     path) < 0)
                return -ENOMEM;
        char **v = reallocarray(d->c->warnings, d->c->n_warnings + 1, sizeof(*v));
        if (!v) {
                free(w);
                return -ENOMEM;
        }
        d->c->warnings = v;
        v[d->c->n_warnings++] = w;
        return 0;
}

static int source_at(struct doc *d, unsigned line, char **ret)
{
        if (asprintf(ret, "%s:%u", d->source, line) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Why s is not host[:port][/path], or NULL. An empty s is not one either. */
static const char *location_problem(const char *s)
{
        const char *slash = strchr(s, '/');
        size_t dlen = slash ? (size_t)(slash - s) : strlen(s);

        if (!*s)
                return "is empty";
        if (!imageref_valid_domain(s, dlen))
                return "must start with a valid host[:port]";
        if (slash && !imageref_valid_path(slash + 1, strlen(slash + 1)))
                return "must have a lowercase repository path (components of [a-z0-9] joined by "
                       "'.', '_', '__' or '-') after the host";
        if (strlen(s) > IMAGEREF_NAME_MAX)
                return "is longer than 255 characters";
        return NULL;
}

static bool is_wildcard(const char *prefix)
{
        return prefix[0] == '*';
}

static const char *prefix_problem(const char *s)
{
        if (is_wildcard(s)) {
                if (s[1] != '.' || !imageref_valid_domain(s + 2, strlen(s + 2)) ||
                    strpbrk(s + 2, ":[*"))
                        return "a wildcard prefix must look like *.example.com (no port, path "
                               "or other '*')";
                return NULL;
        }
        const char *slash = strchr(s, '/');
        if (strchr(slash ? slash : s, '@') || (slash && strchr(slash, ':')))
                return "prefixes with a tag or digest are not supported by brig";
        return location_problem(s);
}

static int get_string(struct doc *d, const struct toml_node *n, char **ret)
{
        int r = want_type(d, n, TOML_STRING);
        if (r < 0)
                return r;
        char *s = strdup(n->string);
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

static int get_bool(struct doc *d, const struct toml_node *n, bool *ret)
{
        int r = want_type(d, n, TOML_BOOLEAN);
        if (r == 0)
                *ret = n->boolean;
        return r;
}

static int parse_mirror(struct doc *d, const struct toml_node *t, struct registry_mirror *m)
{
        int r = want_type(d, t, TOML_TABLE);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_items && r == 0; i++) {
                const struct toml_node *n = t->items[i];
                if (strcmp(n->key, "location") == 0) {
                        r = get_string(d, n, &m->location);
                        const char *why = r == 0 ? location_problem(m->location) : NULL;
                        if (why)
                                r = key_error(d, n, "mirror location '%s' %s", show(m->location).s,
                                              why);
                } else if (strcmp(n->key, "insecure") == 0) {
                        r = get_bool(d, n, &m->insecure);
                } else if (strcmp(n->key, "pull-from-mirror") == 0) {
                        r = want_type(d, n, TOML_STRING);
                        if (r < 0)
                                break;
                        if (strcmp(n->string, "all") == 0)
                                m->pull_from_mirror = PULL_FROM_MIRROR_ALL;
                        else if (strcmp(n->string, "digest-only") == 0)
                                m->pull_from_mirror = PULL_FROM_MIRROR_DIGEST_ONLY;
                        else if (strcmp(n->string, "tag-only") == 0)
                                m->pull_from_mirror = PULL_FROM_MIRROR_TAG_ONLY;
                        else
                                r = key_error(d, n,
                                              "must be \"all\", \"digest-only\" or \"tag-only\"");
                } else {
                        r = warn_unknown(d, n);
                }
        }
        if (r == 0 && !m->location)
                r = errf(d->err, d->err_size, -EINVAL,
                         "%s:%u: a [[registry.mirror]] needs a location", d->source, t->line);
        return r;
}

static int parse_registry(struct doc *d, const struct toml_node *t, struct registry *reg)
{
        const struct toml_node *mirrors = NULL;
        int r = want_type(d, t, TOML_TABLE);
        if (r < 0)
                return r;
        r = source_at(d, t->line, &reg->source);
        for (size_t i = 0; i < t->n_items && r == 0; i++) {
                const struct toml_node *n = t->items[i];
                if (strcmp(n->key, "prefix") == 0)
                        r = get_string(d, n, &reg->prefix);
                else if (strcmp(n->key, "location") == 0)
                        r = get_string(d, n, &reg->location);
                else if (strcmp(n->key, "insecure") == 0)
                        r = get_bool(d, n, &reg->insecure);
                else if (strcmp(n->key, "blocked") == 0)
                        r = get_bool(d, n, &reg->blocked);
                else if (strcmp(n->key, "mirror-by-digest-only") == 0)
                        r = get_bool(d, n, &reg->mirror_by_digest_only);
                else if (strcmp(n->key, "mirror") == 0)
                        r = want_type(d, mirrors = n, TOML_ARRAY);
                else
                        r = warn_unknown(d, n);
        }
        if (r < 0)
                return r;

        const char *why;
        if (!reg->prefix && !reg->location)
                return errf(d->err, d->err_size, -EINVAL,
                            "%s:%u: a [[registry]] needs a prefix or a location", d->source,
                            t->line);
        if (reg->prefix && (why = prefix_problem(reg->prefix)))
                return key_error(d, toml_get(t, "prefix"), "prefix '%s': %s", show(reg->prefix).s,
                                 why);
        if (reg->location && is_wildcard(reg->location))
                return key_error(d, toml_get(t, "location"),
                                 "a location cannot be a wildcard; put '%s' in prefix",
                                 show(reg->location).s);
        if (reg->prefix && is_wildcard(reg->prefix) && reg->location && *reg->location)
                return key_error(d, toml_get(t, "location"),
                                 "a [[registry]] with a wildcard prefix keeps the matched host: "
                                 "leave its location out (mirrors are allowed)");
        if (reg->location && *reg->location && (why = location_problem(reg->location)))
                return key_error(d, toml_get(t, "location"), "location '%s' %s",
                                 show(reg->location).s, why);
        if (reg->location && !*reg->location && !(reg->prefix && is_wildcard(reg->prefix)))
                return key_error(d, toml_get(t, "location"), "location is empty");
        char **fill = !reg->prefix ? &reg->prefix : !reg->location ? &reg->location : NULL;
        if (fill) {
                *fill = strdup(reg->prefix ? (is_wildcard(reg->prefix) ? "" : reg->prefix)
                                           : reg->location);
                if (!*fill)
                        return -ENOMEM;
        }

        if (!mirrors || mirrors->n_items == 0)
                return 0;
        reg->mirrors = calloc(mirrors->n_items, sizeof(*reg->mirrors));
        if (!reg->mirrors)
                return -ENOMEM;
        for (size_t i = 0; i < mirrors->n_items; i++) {
                reg->n_mirrors++;
                r = parse_mirror(d, mirrors->items[i], &reg->mirrors[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_registries(struct doc *d, const struct toml_node *n)
{
        if (n->type == TOML_TABLE)
                return key_error(d, n,
                                 "must be written [[registry]] (an array of tables), not "
                                 "[registry]");
        int r = want_type(d, n, TOML_ARRAY);
        if (r < 0)
                return r;
        if (n->n_items == 0)
                return 0;
        d->c->registries = calloc(n->n_items, sizeof(*d->c->registries));
        if (!d->c->registries)
                return -ENOMEM;
        for (size_t i = 0; i < n->n_items; i++) {
                struct registry *reg = &d->c->registries[d->c->n_registries++];
                r = parse_registry(d, n->items[i], reg);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(d->c->registries[j].prefix, reg->prefix) == 0)
                                return errf(d->err, d->err_size, -EINVAL,
                                            "%s: [[registry]] prefix '%s' is defined twice, "
                                            "at %s and line %u",
                                            d->source, reg->prefix, d->c->registries[j].source,
                                            n->items[i]->line);
        }
        return 0;
}

static int parse_search(struct doc *d, const struct toml_node *n)
{
        int r = want_type(d, n, TOML_ARRAY);
        if (r < 0)
                return r;
        d->search_set = true;
        if (n->n_items == 0)
                return 0;
        d->c->search = calloc(n->n_items, sizeof(char *));
        if (!d->c->search)
                return -ENOMEM;
        for (size_t i = 0; i < n->n_items; i++) {
                const struct toml_node *e = n->items[i];
                r = want_type(d, e, TOML_STRING);
                if (r < 0)
                        return r;
                if (!imageref_valid_domain(e->string, strlen(e->string)))
                        return key_error(d, e,
                                         "'%s' is not a registry host[:port] (no path, no "
                                         "scheme)",
                                         show(e->string).s);
                if (!imageref_is_domain(e->string, strlen(e->string)))
                        return key_error(d, e,
                                         "'%s' would not be read as a registry in an image "
                                         "name: it needs a '.' or a ':port', or must be "
                                         "localhost",
                                         show(e->string).s);
                d->c->search[i] = strdup(e->string);
                if (!d->c->search[i])
                        return -ENOMEM;
                d->c->n_search++;
        }
        return 0;
}

static int parse_mode(struct doc *d, const struct toml_node *n)
{
        int r = want_type(d, n, TOML_STRING);
        if (r < 0)
                return r;
        for (enum short_name_mode m = SHORT_NAME_ENFORCING; m <= SHORT_NAME_DISABLED; m++)
                if (strcmp(n->string, short_name_mode_to_string(m)) == 0) {
                        d->c->short_name_mode = m;
                        d->mode_set = true;
                        return 0;
                }
        return key_error(d, n, "must be \"enforcing\", \"permissive\" or \"disabled\"");
}

static int parse_aliases(struct doc *d, const struct toml_node *t)
{
        char why[512];
        struct imageref key;
        int r = want_type(d, t, TOML_TABLE);
        if (r < 0)
                return r;
        if (t->n_items == 0)
                return 0;
        d->c->aliases = calloc(t->n_items, sizeof(*d->c->aliases));
        if (!d->c->aliases)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_items; i++) {
                const struct toml_node *n = t->items[i];
                struct registry_alias *a = &d->c->aliases[d->c->n_aliases];
                r = want_type(d, n, TOML_STRING);
                if (r < 0)
                        return r;
                if (imageref_parse(n->key, &key, why, sizeof(why)) < 0)
                        return key_error(d, n, "the alias name is not a short name: %s", why);
                if (key.has_domain || !key.tag_defaulted)
                        return key_error(d, n,
                                         "an alias name is a short name without a registry, "
                                         "tag or digest");
                if (imageref_parse(n->string, &a->target, why, sizeof(why)) < 0)
                        return key_error(d, n, "%s", why);
                if (!a->target.has_domain || *a->target.digest)
                        return key_error(d, n,
                                         "an alias must be a fully qualified name with a "
                                         "registry, optionally with a tag, not '%s'",
                                         show(n->string).s);
                a->name = strdup(n->key);
                if (!a->name)
                        return -ENOMEM;
                d->c->n_aliases++;
                r = source_at(d, n->line, &a->source);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_document(struct doc *d, const struct toml_node *root)
{
        const struct toml_node *v1 = toml_get(root, "registries");
        int r = 0;

        if (v1)
                return errf(d->err, d->err_size, -EINVAL,
                            "%s:%u: this is a version 1 registries.conf ([registries.search], "
                            "[registries.insecure], ...); brig reads only version 2: use "
                            "unqualified-search-registries and [[registry]] tables (see "
                            "containers-registries.conf(5))",
                            d->source, v1->line);
        for (size_t i = 0; i < root->n_items && r == 0; i++) {
                const struct toml_node *n = root->items[i];
                if (strcmp(n->key, "unqualified-search-registries") == 0)
                        r = parse_search(d, n);
                else if (strcmp(n->key, "short-name-mode") == 0)
                        r = parse_mode(d, n);
                else if (strcmp(n->key, "aliases") == 0)
                        r = parse_aliases(d, n);
                else if (strcmp(n->key, "registry") == 0)
                        r = parse_registries(d, n);
                else
                        r = warn_unknown(d, n);
        }
        return r;
}

/* Moves what part sets into conf, the later file's settings winning. Needs
 * memory only before anything is moved, so a failure leaves conf as it was. */
static int merge_into(struct registries_conf *conf, struct doc *d)
{
        struct registries_conf *part = d->c;
        size_t n_files = strlen(conf->files);
        char *files = malloc(n_files + 2 + strlen(d->source) + 1);
        struct registry *regs = reallocarray(
            conf->registries, conf->n_registries + part->n_registries + 1, sizeof(*regs));
        if (regs)
                conf->registries = regs;
        struct registry_alias *aliases =
            reallocarray(conf->aliases, conf->n_aliases + part->n_aliases + 1, sizeof(*aliases));
        if (aliases)
                conf->aliases = aliases;
        char **warnings = reallocarray(conf->warnings, conf->n_warnings + part->n_warnings + 1,
                                       sizeof(*warnings));
        if (warnings)
                conf->warnings = warnings;
        if (!files || !regs || !aliases || !warnings) {
                free(files);
                return -ENOMEM;
        }

        sprintf(files, "%s%s%s", conf->files, n_files ? ", " : "", d->source);
        free(conf->files);
        conf->files = files;

        if (d->search_set) {
                strv_free(conf->search, conf->n_search);
                conf->search = TAKE_PTR(part->search);
                conf->n_search = part->n_search;
                part->n_search = 0;
        }
        if (d->mode_set)
                conf->short_name_mode = part->short_name_mode;

        for (size_t i = 0; i < part->n_registries; i++) {
                struct registry *reg = &part->registries[i];
                size_t j = 0;
                while (j < conf->n_registries && strcmp(conf->registries[j].prefix, reg->prefix))
                        j++;
                if (j < conf->n_registries)
                        registry_clear(&conf->registries[j]);
                else
                        conf->n_registries++;
                conf->registries[j] = *reg;
                memset(reg, 0, sizeof(*reg));
        }
        part->n_registries = 0;

        for (size_t i = 0; i < part->n_aliases; i++) {
                struct registry_alias *a = &part->aliases[i];
                size_t j = 0;
                while (j < conf->n_aliases && strcmp(conf->aliases[j].name, a->name))
                        j++;
                if (j < conf->n_aliases)
                        alias_clear(&conf->aliases[j]);
                else
                        conf->n_aliases++;
                conf->aliases[j] = *a;
                memset(a, 0, sizeof(*a));
        }
        part->n_aliases = 0;

        if (part->n_warnings > 0)
                memcpy(conf->warnings + conf->n_warnings, part->warnings,
                       part->n_warnings * sizeof(*warnings));
        conf->n_warnings += part->n_warnings;
        part->n_warnings = 0;
        return 0;
}

int registries_merge(struct registries_conf *conf, const char *buf, size_t len, const char *source,
                     char *err, size_t err_size)
{
        _cleanup_toml_ struct toml_node *root = NULL;
        _cleanup_registries_ struct registries_conf *part = registries_new();
        _cleanup_free_ char *toml_err = NULL;
        struct doc d = {
            .source = source,
            .c = part,
            .err = err,
            .err_size = err_size,
        };

        if (!part)
                return -ENOMEM;
        int r = toml_parse(buf, len, source, &root, &toml_err);
        if (r < 0)
                return toml_err ? errf(err, err_size, r, "%s", toml_err) : r;
        r = parse_document(&d, root);
        if (r < 0)
                return r;
        return merge_into(conf, &d);
}

/* Reads path whole into *ret; -ENOENT passes through for the caller. */
static int read_file(const char *path, char **ret, size_t *ret_len, char *err, size_t err_size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0) {
                int r = negative_errno();
                return r == -ENOENT
                           ? r
                           : errf(err, err_size, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return errf(err, err_size, negative_errno(), "%s: cannot stat: %m", path);
        if (!S_ISREG(st.st_mode))
                return errf(err, err_size, -EINVAL, "%s: not a regular file", path);
        buf = malloc(TOML_MAX_INPUT + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, TOML_MAX_INPUT + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errf(err, err_size, negative_errno(), "%s: cannot read: %m", path);
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > TOML_MAX_INPUT)
                        return errf(err, err_size, -EFBIG, "%s: larger than %d bytes", path,
                                    TOML_MAX_INPUT);
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int merge_file(struct registries_conf *conf, const char *path, char *err, size_t err_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        int r = read_file(path, &buf, &len, err, err_size);
        if (r < 0)
                return r;
        return registries_merge(conf, buf, len, path, err, err_size);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *name)
{
        size_t len = strlen(name);
        return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

static int merge_dropins(struct registries_conf *conf, const char *dir, char *err, size_t err_size)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        if (!d) {
                r = negative_errno();
                return r == -ENOENT ? 0
                                    : errf(err, err_size, r, "%s: cannot open directory: %s", dir,
                                           strerror(-r));
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno)
                                r = errf(err, err_size, negative_errno(),
                                         "%s: cannot read directory: %m", dir);
                        break;
                }
                if (!is_dropin_name(de->d_name) || de->d_type == DT_DIR)
                        continue;
                char **v = reallocarray(names, n + 1, sizeof(*v));
                if (!v) {
                        r = -ENOMEM;
                        break;
                }
                names = v;
                if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        if (r == 0 && n > 0)
                qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n && r == 0; i++) {
                r = merge_file(conf, names[i], err, err_size);
                if (r == -ENOENT)
                        r = 0; /* removed while we read the directory */
        }
        strv_free(names, n);
        return r;
}

int registries_load(const char *main_path, const char *dropin_dir, struct registries_conf **ret,
                    char *err, size_t err_size)
{
        _cleanup_registries_ struct registries_conf *conf = registries_new();
        if (!conf)
                return -ENOMEM;
        int r = merge_file(conf, main_path, err, err_size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (dropin_dir) {
                r = merge_dropins(conf, dropin_dir, err, err_size);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(conf);
        return 0;
}

/* How much of name ("domain/path") reg's prefix matches: 0 for none. */
static size_t match_length(const struct registry *reg, const char *name, size_t domain_len)
{
        const char *p = reg->prefix;
        size_t plen = strlen(p);

        if (is_wildcard(p)) {
                /* *.example.com: any host[:port] whose host ends in .example.com. */
                const char *colon = memchr(name, ':', domain_len);
                size_t hlen = colon ? (size_t)(colon - name) : domain_len;
                size_t slen = plen - 1;
                if (hlen > slen && memcmp(name + hlen - slen, p + 1, slen) == 0)
                        return domain_len;
                return 0;
        }
        if (strncmp(name, p, plen) != 0 || (name[plen] != '\0' && name[plen] != '/'))
                return 0;
        return plen;
}

/* The [[registry]] for name: longest match, an exact prefix before a
 * wildcard, a longer wildcard before a shorter one. */
static const struct registry *find_registry(const struct registries_conf *conf, const char *name,
                                            size_t domain_len, size_t *ret_len)
{
        const struct registry *best = NULL;
        size_t best_len = 0;

        for (size_t i = 0; i < conf->n_registries; i++) {
                const struct registry *reg = &conf->registries[i];
                size_t len = match_length(reg, name, domain_len);
                if (len == 0 || len < best_len)
                        continue;
                if (best && len == best_len) {
                        bool wild = is_wildcard(reg->prefix), best_wild = is_wildcard(best->prefix);
                        if (wild && !best_wild)
                                continue;
                        if (wild == best_wild && strlen(reg->prefix) <= strlen(best->prefix))
                                continue;
                }
                best = reg;
                best_len = len;
        }
        *ret_len = best_len;
        return best;
}

/* Fills src with location (host[:port][/path]) plus rest (a path or ""). */
static int make_source(struct pull_source *src, const char *location, const char *rest,
                       bool insecure, bool mirror, const struct registry *reg, char *err,
                       size_t err_size)
{
        const char *slash = strchr(location, '/');
        size_t hlen = slash ? (size_t)(slash - location) : strlen(location);
        const char *lpath = slash ? slash + 1 : "";

        snprintf(src->host, sizeof(src->host), "%.*s", (int)hlen, location);
        snprintf(src->path, sizeof(src->path), "%s%s%s", lpath, *lpath && *rest ? "/" : "", rest);
        if (!*src->path)
                return errf(err, err_size, -EINVAL,
                            "[[registry]] prefix '%s' at %s maps the whole repository name "
                            "to '%s', which has no repository path",
                            reg->prefix, reg->source, location);
        src->insecure = insecure;
        src->mirror = mirror;
        return 0;
}

int registries_pull_sources(const struct registries_conf *conf, const struct imageref *ref,
                            struct pull_source **ret, size_t *ret_n, char *err, size_t err_size)
{
        char name[IMAGEREF_STRING_MAX];
        size_t domain_len = strlen(ref->domain), matched;
        int r;

        r = imageref_format_name(ref, name, sizeof(name));
        if (r < 0)
                return r;
        const struct registry *reg = find_registry(conf, name, domain_len, &matched);
        if (reg && reg->blocked)
                return errf(err, err_size, -EACCES,
                            "pulling '%s' is blocked by [[registry]] prefix '%s' at %s", name,
                            reg->prefix, reg->source);

        _cleanup_free_ struct pull_source *srcs =
            calloc((reg ? reg->n_mirrors : 0) + 1, sizeof(*srcs));
        size_t n = 0;
        if (!srcs)
                return -ENOMEM;
        if (!reg) {
                snprintf(srcs[0].host, sizeof(srcs[0].host), "%s", ref->domain);
                snprintf(srcs[0].path, sizeof(srcs[0].path), "%s", ref->path);
                *ret = TAKE_PTR(srcs);
                *ret_n = 1;
                return 0;
        }

        /* What follows the prefix, without its '/'. */
        const char *rest = name + matched + (name[matched] == '/');
        bool by_digest = *ref->digest != '\0';
        for (size_t i = 0; i < reg->n_mirrors; i++) {
                const struct registry_mirror *m = &reg->mirrors[i];
                bool use = reg->mirror_by_digest_only                            ? by_digest
                           : m->pull_from_mirror == PULL_FROM_MIRROR_DIGEST_ONLY ? by_digest
                           : m->pull_from_mirror == PULL_FROM_MIRROR_TAG_ONLY    ? !by_digest
                                                                                 : true;
                if (!use)
                        continue;
                r = make_source(&srcs[n], m->location, rest, m->insecure, true, reg, err, err_size);
                if (r < 0)
                        return r;
                n++;
        }
        /* A wildcard without location keeps the name's own domain. */
        const char *location = *reg->location ? reg->location : ref->domain;
        r = make_source(&srcs[n], location, rest, reg->insecure, false, reg, err, err_size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(srcs);
        *ret_n = n + 1;
        return 0;
}

/* Copies the user's tag or digest, if they gave one, onto a candidate. */
static void apply_user_tag(struct imageref *cand, const struct imageref *ref)
{
        if (ref->tag_defaulted)
                return;
        snprintf(cand->tag, sizeof(cand->tag), "%s", ref->tag);
        snprintf(cand->digest, sizeof(cand->digest), "%s", ref->digest);
        cand->tag_defaulted = false;
}

int registries_resolve(const struct registries_conf *conf, const struct imageref *ref,
                       struct imageref **ret, size_t *ret_n, char *err, size_t err_size)
{
        const char *short_name = imageref_short_name(ref);
        char s[IMAGEREF_STRING_MAX], why[512];

        const struct imageref *only = ref->has_domain ? ref : NULL;
        for (size_t i = 0; !only && i < conf->n_aliases; i++)
                if (strcmp(conf->aliases[i].name, short_name) == 0)
                        only = &conf->aliases[i].target;
        if (only) {
                struct imageref *c = malloc(sizeof(*c));
                if (!c)
                        return -ENOMEM;
                *c = *only;
                if (only != ref)
                        apply_user_tag(c, ref);
                *ret = c;
                *ret_n = 1;
                return 0;
        }
        if (conf->n_search == 0)
                return errf(err, err_size, -ENOENT,
                            "short name '%s' has no alias and no unqualified-search-registries "
                            "are configured (in %s); use a fully qualified name such as "
                            "docker.io/%s",
                            short_name, *conf->files ? conf->files : "no file", ref->path);

        _cleanup_free_ struct imageref *cands = calloc(conf->n_search, sizeof(*cands));
        if (!cands)
                return -ENOMEM;
        for (size_t i = 0; i < conf->n_search; i++) {
                snprintf(s, sizeof(s), "%s/%s%s%s%s%s", conf->search[i], short_name,
                         *ref->tag ? ":" : "", ref->tag, *ref->digest ? "@" : "", ref->digest);
                if (imageref_parse(s, &cands[i], why, sizeof(why)) < 0)
                        return errf(err, err_size, -EINVAL,
                                    "short name '%s' with search registry '%s': %s", short_name,
                                    conf->search[i], why);
                cands[i].tag_defaulted = ref->tag_defaulted;
        }
        if (conf->n_search > 1 && conf->short_name_mode == SHORT_NAME_ENFORCING) {
                int w = snprintf(why, sizeof(why), "short name '%s' is ambiguous: it could be",
                                 short_name);
                for (size_t i = 0; i < conf->n_search && w >= 0 && (size_t)w < sizeof(why); i++) {
                        char name[IMAGEREF_STRING_MAX];
                        imageref_format_name(&cands[i], name, sizeof(name));
                        w += snprintf(why + w, sizeof(why) - (size_t)w, "%s %s",
                                      i == 0                    ? ""
                                      : i + 1 == conf->n_search ? " or"
                                                                : ",",
                                      name);
                }
                return errf(err, err_size, -EINVAL,
                            "%s; short-name-mode is enforcing, so use a fully qualified name or "
                            "add an [aliases] entry (in %s)",
                            why, *conf->files ? conf->files : "registries.conf");
        }
        *ret = TAKE_PTR(cands);
        *ret_n = conf->n_search;
        return 0;
}
