/*
 * vg_log.h - one log line per event, key=value or JSON, to stderr or syslog.
 *
 * Lines look like `2026-11-28T05:49:58.123Z vingest-fcgi[123] level=error msg="..."`
 * so journald, a log file and grep all work; `log.format = json` writes the
 * same pairs as one JSON object a line, `log.target = syslog` sends them to
 * syslog (facility daemon) instead of stderr. Log a failure once, where it is
 * first understood, with what an operator needs to act on it.
 */
#ifndef VG_LOG_H
#define VG_LOG_H

enum vg_log_level { VG_LOG_DEBUG, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR };

/* Sets the lowest level written (default INFO) and the program name in each line. */
void vg_log_init(const char *prog, enum vg_log_level min);

/* Applies [log] format ("kv" | "json") and target ("stderr" | "syslog").
 * Call it before forking: a syslog connection is opened here and shared. */
void vg_log_configure(const char *format, const char *target);

/* msg is a printf format; the whole line is written with one write(2). */
void vg_log(enum vg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)
#define vg_info(...)  vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_warn(...)  vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)

#endif
