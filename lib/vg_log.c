/*
 * vg_log.c - key=value log lines on stderr (see vg_log.h).
 *
 * Each line is formatted into a stack buffer and written with a single
 * write(2), so lines from prefork children sharing one stderr never interleave
 * (writes up to PIPE_BUF are atomic on pipes; O_APPEND files behave alike).
 */
#include "vg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "vingest";
static enum vg_log_level log_min = VG_LOG_INFO;

void vg_log_init(const char *prog, enum vg_log_level min)
{
	log_prog = prog;
	log_min = min;
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld] level=%s ", (long)tv.tv_usec / 1000,
		     log_prog, (long)getpid(), names[level]);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr is gone; nowhere left to say so */
	}
}
