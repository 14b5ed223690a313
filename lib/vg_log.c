/*
 * vg_log.c - one line per event on stderr or syslog, key=value or JSON (see vg_log.h).
 *
 * Each line is formatted into a stack buffer and written with a single
 * write(2), so lines from prefork children sharing one stderr never interleave
 * (writes up to PIPE_BUF are atomic on pipes; O_APPEND files behave alike).
 *
 * Callers always write key=value text. The JSON format converts that text,
 * pair by pair, into one object a line, so the two formats can never say
 * different things and no call site knows which one is in use. Values are
 * strings, except plain integers and decimals (when the key does not end in
 * "_id": ids stay strings even when they happen to be all digits).
 */
#include "vg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static const char *log_prog = "vingest";
static enum vg_log_level log_min = VG_LOG_INFO;
static int log_json;
static int log_syslog;

void vg_log_init(const char *prog, enum vg_log_level min)
{
	log_prog = prog;
	log_min = min;
}

void vg_log_configure(const char *format, const char *target)
{
	log_json = format && strcmp(format, "json") == 0;
	if (target && strcmp(target, "syslog") == 0 && !log_syslog) {
		/* Opened now, before any fork: children share the socket. */
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
	} else if ((!target || strcmp(target, "syslog") != 0) && log_syslog) {
		closelog();
		log_syslog = 0;
	}
}

/* Appends s[0..n) to out as JSON string content; returns the new length. */
static size_t json_escape(char *out, size_t len, size_t cap, const char *s, size_t n)
{
	for (size_t i = 0; i < n && len + 7 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[len++] = '\\';
			out[len++] = (char)c;
		} else if (c < 0x20) {
			len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
		} else {
			out[len++] = (char)c;
		}
	}
	return len;
}

static int is_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0' && i + 1 < n && s[i + 1] != '.')
		return 0; /* a leading zero is not a JSON number */
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (!digits || digits > 18)
		return 0;
	if (i < n && s[i] == '.') {
		size_t frac = 0;

		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			frac++;
		if (!frac)
			return 0;
	}
	return i == n;
}

static size_t json_pair(char *out, size_t len, size_t cap, const char *k, size_t kn, const char *v,
			size_t vn, int quoted)
{
	int id = kn >= 3 && memcmp(k + kn - 3, "_id", 3) == 0;

	if (len + kn + 8 >= cap)
		return len;
	out[len++] = ',';
	out[len++] = '"';
	len = json_escape(out, len, cap, k, kn);
	out[len++] = '"';
	out[len++] = ':';
	if (!quoted && !id && is_number(v, vn)) {
		if (len + vn < cap) {
			memcpy(out + len, v, vn);
			len += vn;
		}
		return len;
	}
	out[len++] = '"';
	len = json_escape(out, len, cap, v, vn);
	if (len < cap)
		out[len++] = '"';
	return len;
}

/*
 * Converts `key=value key="quoted value" ...` into `,"key":"value",...`
 * appended to out. Text that is not a pair (a caller's slip) goes under
 * "text", so nothing is lost.
 */
static size_t kv_to_json(char *out, size_t len, size_t cap, const char *s)
{
	while (*s) {
		const char *k, *v;
		size_t kn, vn;
		int quoted = 0;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		k = s;
		while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		       (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-')
			s++;
		kn = (size_t)(s - k);
		if (!kn || *s != '=')
			return json_pair(out, len, cap, "text", 4, k, strlen(k), 1);
		s++;
		if (*s == '"') {
			/* up to the closing quote that ends the value (then a space or the end) */
			v = ++s;
			while (*s && !(*s == '"' && (s[1] == ' ' || s[1] == '\0')))
				s++;
			vn = (size_t)(s - v);
			if (*s == '"')
				s++;
			quoted = 1;
		} else {
			v = s;
			while (*s && *s != ' ')
				s++;
			vn = (size_t)(s - v);
		}
		len = json_pair(out, len, cap, k, kn, v, vn, quoted);
	}
	return len;
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
	char body[LINE_MAX_BYTES], line[LINE_MAX_BYTES + 512];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	r = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (r < 0)
		body[0] = '\0';

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (log_json) {
		n = 0;
		if (!log_syslog) {
			n = strftime(line, sizeof(line), "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      ".%03ldZ\",\"prog\":\"%s\",\"pid\":%ld,",
					      (long)tv.tv_usec / 1000, log_prog, (long)getpid());
		} else {
			line[n++] = '{';
		}
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\"level\":\"%s\"", names[level]);
		n = kv_to_json(line, n, sizeof(line) - 3, body);
		line[n++] = '}';
	} else if (log_syslog) {
		r = snprintf(line, sizeof(line), "level=%s %s", names[level], body);
		n = r < 0 ? 0 : (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	} else {
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld] level=%s %s",
			     (long)tv.tv_usec / 1000, log_prog, (long)getpid(), names[level], body);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (log_syslog) {
		line[n] = '\0';
		syslog(prio[level], "%s", line); /* syslog stamps time, program and pid itself */
		return;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr is gone; nowhere left to say so */
	}
}
