/* log.h: structured key=value logging to stderr for brigd and brig-helper.
 *
 * A line looks like this (one line, wrapped here):
 *   ts=2026-11-23T14:30:00.123Z level=info prog=brig-helper pid=12 msg="brigd started"
 *   brigd_pid=345
 * The message is always quoted; extra fields come from a printf format the
 * caller writes as key=value pairs. Control characters anywhere in the line
 * are escaped, so a value taken from a peer cannot forge a second line.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

enum log_level {
        LOG_LEVEL_ERROR = 0,
        LOG_LEVEL_WARN,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
};

/* Sets the program name shown as prog=; the string must outlive all logging. */
void log_set_program(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_from_string(const char *s, enum log_level *ret);
const char *log_level_to_string(enum log_level level);

/* Writes one line if level is enabled. err > 0 (an errno value) adds
 * err="<strerror>" errno=N. kv_fmt may be NULL. Returns -err, so callers can
 * write `return log_error_errno(r, ...)` with a negative r made positive. */
int log_write(enum log_level level, int err, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));
int log_writev(enum log_level level, int err, const char *msg, const char *kv_fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#define log_error(msg, ...) log_write(LOG_LEVEL_ERROR, 0, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_LEVEL_WARN, 0, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_write(LOG_LEVEL_INFO, 0, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_write(LOG_LEVEL_DEBUG, 0, msg, __VA_ARGS__)

/* r is a negative errno; the macros evaluate to r. */
#define log_error_errno(r, msg, ...) log_write(LOG_LEVEL_ERROR, -(r), msg, __VA_ARGS__)
#define log_warn_errno(r, msg, ...)  log_write(LOG_LEVEL_WARN, -(r), msg, __VA_ARGS__)
