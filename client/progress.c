/*
 * progress.c - messages and the progress display on stderr (see progress.h).
 *
 * On a terminal the progress is one line redrawn with \r - percent, bytes,
 * this run's rate and the time left - at most five times a second. Anything
 * else (a log file, a pipe) gets a plain line each time the acknowledged
 * bytes cross a 10% step, so a log shows how far the server got, not how far
 * the socket buffers did. Messages printed while a bar is drawn start on a
 * fresh line so the two never overwrite each other.
 */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_SECONDS 0.2

static struct {
	int quiet, verbose, tty;
	int active; /* between progress_begin and progress_end */
	int drawn;  /* a bar is on the terminal's current line */
	long long total, start;
	int next_step; /* lines mode: the next 10% step to print */
	double t0, last_draw;
} p;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_setup(int quiet, int verbose)
{
	memset(&p, 0, sizeof(p));
	p.quiet = quiet;
	p.verbose = verbose;
	p.tty = isatty(STDERR_FILENO);
}

/* Moves off a drawn bar before a message. */
static void break_line(void)
{
	if (p.drawn) {
		fputc('\n', stderr);
		p.drawn = 0;
	}
}

/* format(printf, 1, 0): the callers' formats are checked at their call
 * sites; this tells clang's -Wformat-nonliteral that fmt is one of them. */
__attribute__((format(printf, 1, 0))) static void emit(const char *fmt, va_list ap)
{
	break_line();
	fputs("vingest-upload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void progress_say(const char *fmt, ...)
{
	va_list ap;

	if (p.quiet)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void progress_complain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void progress_trace(const char *fmt, ...)
{
	va_list ap;

	if (!p.verbose)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

/* "12.3 MiB" into buf. */
static void human(char *buf, size_t n, double bytes)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f %s", bytes, units[u]);
	else
		snprintf(buf, n, "%.1f %s", bytes, units[u]);
}

static int percent(long long done)
{
	return p.total > 0 ? (int)(done * 100 / p.total) : 100;
}

static void draw(long long done, int force)
{
	char sdone[32], stotal[32], srate[32], eta[32], line[160];
	double t = now(), elapsed = t - p.t0, rate;

	if (!force && t - p.last_draw < REDRAW_SECONDS)
		return;
	p.last_draw = t;
	rate = elapsed > 0.5 ? (double)(done - p.start) / elapsed : 0;
	human(sdone, sizeof(sdone), (double)done);
	human(stotal, sizeof(stotal), (double)p.total);
	if (rate > 0)
		human(srate, sizeof(srate), rate);
	else
		snprintf(srate, sizeof(srate), "--");
	if (rate > 0 && done < p.total) {
		long s = (long)((double)(p.total - done) / rate + 0.5);

		snprintf(eta, sizeof(eta), "ETA %ld:%02ld", s / 60, s % 60);
	} else if (done >= p.total) {
		snprintf(eta, sizeof(eta), "done");
	} else {
		snprintf(eta, sizeof(eta), "ETA --:--");
	}
	snprintf(line, sizeof(line), "%3d%% %s / %s  %s/s  %s", percent(done), sdone, stotal, srate,
		 eta);
	/* Padded so a shorter line fully covers the one before it. */
	fprintf(stderr, "\r%-60s", line);
	fflush(stderr);
	p.drawn = 1;
}

void progress_begin(long long total, long long start)
{
	p.active = !p.quiet;
	p.total = total;
	p.start = start;
	p.t0 = now();
	p.last_draw = 0;
	p.next_step = percent(start) / 10 * 10 + 10;
	if (p.active && p.tty)
		draw(start, 1);
}

void progress_sending(long long done)
{
	if (p.active && p.tty)
		draw(done, 0);
}

void progress_confirmed(long long done)
{
	if (!p.active)
		return;
	if (p.tty) {
		draw(done, done >= p.total);
		return;
	}
	if (percent(done) < p.next_step)
		return;
	fprintf(stderr, "uploaded %d%% (%lld/%lld bytes)\n", percent(done), done, p.total);
	fflush(stderr);
	p.next_step = percent(done) / 10 * 10 + 10;
}

void progress_end(void)
{
	break_line();
	p.active = 0;
}
