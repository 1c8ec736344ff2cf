/* log.c: owns the process-wide log level and the line format of log.h. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *program = "brig";
static enum log_level current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_program(const char *name)
{
        program = name;
}

void log_set_level(enum log_level level)
{
        current_level = level;
}

enum log_level log_get_level(void)
{
        return current_level;
}

int log_level_from_string(const char *s, enum log_level *ret)
{
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcmp(s, level_names[i]) == 0) {
                        *ret = (enum log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *log_level_to_string(enum log_level level)
{
        if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
                return "unknown";
        return level_names[level];
}

/* Appends s to buf, escaping quotes (when quoted) and every control byte. */
static size_t append_escaped(char *buf, size_t pos, size_t size, const char *s, int quoted)
{
        for (; *s && pos + 5 < size; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '\n') {
                        buf[pos++] = '\\';
                        buf[pos++] = 'n';
                } else if (c < 0x20 || c == 0x7f) {
                        pos += (size_t)snprintf(buf + pos, size - pos, "\\x%02x", c);
                } else if (quoted && (c == '"' || c == '\\')) {
                        buf[pos++] = '\\';
                        buf[pos++] = (char)c;
                } else {
                        buf[pos++] = (char)c;
                }
        }
        buf[pos] = '\0';
        return pos;
}

int log_writev(enum log_level level, int err, const char *msg, const char *kv_fmt, va_list ap)
{
        if (level > current_level)
                return -err;

        int saved_errno = errno;
        char line[4096];
        char extra[2048] = "";
        struct timespec now;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        size_t pos = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
                                ".%03ldZ level=%s prog=%s pid=%d msg=\"", now.tv_nsec / 1000000,
                                level_names[level], program, (int)getpid());
        pos = append_escaped(line, pos, sizeof(line), msg, 1);
        if (pos + 2 < sizeof(line))
                line[pos++] = '"';
        line[pos] = '\0';
        if (kv_fmt && *kv_fmt) {
                vsnprintf(extra, sizeof(extra), kv_fmt, ap);
                if (pos + 2 < sizeof(line))
                        line[pos++] = ' ';
                pos = append_escaped(line, pos, sizeof(line), extra, 0);
        }
        if (err > 0) {
                char errbuf[128];
                const char *text = strerror_r(err, errbuf, sizeof(errbuf));
                pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " err=\"%s\" errno=%d",
                                        text, err);
                if (pos >= sizeof(line))
                        pos = sizeof(line) - 1;
        }
        if (pos + 1 < sizeof(line))
                line[pos++] = '\n';
        else
                line[sizeof(line) - 2] = '\n', pos = sizeof(line) - 1;
        /* One write per line so lines from several threads never interleave. */
        ssize_t n = write(STDERR_FILENO, line, pos);
        (void)n;
        errno = saved_errno;
        return -err;
}

int log_write(enum log_level level, int err, const char *msg, const char *kv_fmt, ...)
{
        va_list ap;
        va_start(ap, kv_fmt);
        int r = log_writev(level, err, msg, kv_fmt, ap);
        va_end(ap);
        return r;
}
