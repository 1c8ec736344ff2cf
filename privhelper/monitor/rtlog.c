/* rtlog.c: owns the parsing of the runtime's pid file and of its text log's
 * key=value lines (rtlog.h). */
#include "rtlog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int rtlog_parse_pid(const char *buf, size_t len, pid_t *ret)
{
        int64_t v = 0;
        size_t i = 0;

        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (len == 0 || len > 10 || buf[0] == '0')
                return -EINVAL;
        for (; i < len; i++) {
                if (buf[i] < '0' || buf[i] > '9')
                        return -EINVAL;
                v = v * 10 + (buf[i] - '0');
        }
        if (v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t)v;
        return 0;
}

/* One key=value field of a line. A quoted value keeps its escapes here;
 * value points after the opening quote. */
struct field {
        const char *key;
        size_t key_len;
        const char *value;
        size_t value_len;
        bool quoted;
};

/* Reads the field at *p (before end) and moves *p past it. Returns false
 * at the end of the line or on text that is no field. */
static bool next_field(const char **p, const char *end, struct field *f)
{
        const char *s = *p;

        while (s < end && *s == ' ')
                s++;
        if (s == end)
                return false;
        f->key = s;
        while (s < end && *s != '=' && *s != ' ')
                s++;
        if (s == end || *s != '=' || s == f->key)
                return false;
        f->key_len = (size_t)(s - f->key);
        s++;
        f->quoted = s < end && *s == '"';
        if (f->quoted) {
                f->value = ++s;
                while (s < end && *s != '"')
                        s += (*s == '\\' && s + 1 < end) ? 2 : 1;
                if (s >= end)
                        return false;
                f->value_len = (size_t)(s - f->value);
                s++;
        } else {
                f->value = s;
                while (s < end && *s != ' ')
                        s++;
                f->value_len = (size_t)(s - f->value);
        }
        *p = s;
        return true;
}

static bool field_is(const struct field *f, const char *key)
{
        return f->key_len == strlen(key) && memcmp(f->key, key, f->key_len) == 0;
}

/* A double quote becomes a single one, so the text can sit in a quoted
 * field of the monitor's own log line. */
static char printable(char c)
{
        if (c == '"')
                return '\'';
        return (c >= ' ' && c <= '~') ? c : '?';
}

static void copy_msg(const struct field *f, char *out, size_t out_size)
{
        size_t o = 0;

        for (size_t i = 0; i < f->value_len && o + 1 < out_size; i++) {
                char c = f->value[i];
                if (f->quoted && c == '\\' && i + 1 < f->value_len) {
                        c = f->value[++i];
                        if (c == 'n' || c == 't')
                                c = ' ';
                        else if (c != '"' && c != '\\')
                                c = '?';
                }
                out[o++] = printable(c);
        }
        out[o] = '\0';
}

/* Whether the line [s, end) is an error line with a msg; then *ret is it. */
static bool error_line(const char *s, const char *end, struct field *ret)
{
        struct field f;
        bool error = false, msg = false;

        while (next_field(&s, end, &f)) {
                if (field_is(&f, "level"))
                        error = f.value_len == 5 && memcmp(f.value, "error", 5) == 0;
                else if (field_is(&f, "msg")) {
                        *ret = f;
                        msg = true;
                }
        }
        return error && msg;
}

int rtlog_last_error(const char *buf, size_t len, char *out, size_t out_size)
{
        const char *end = buf + len;
        struct field msg = {0};

        if (out_size == 0)
                return -EINVAL;
        while (end > buf) {
                const char *line_end = end;
                if (line_end[-1] == '\n')
                        line_end--;
                const char *start = line_end;
                while (start > buf && start[-1] != '\n')
                        start--;
                if (error_line(start, line_end, &msg)) {
                        copy_msg(&msg, out, out_size);
                        return 0;
                }
                end = start;
        }
        return -ENOENT;
}
