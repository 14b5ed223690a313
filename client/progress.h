/*
 * progress.h - everything vingest-upload writes to stderr: messages and the
 * upload's progress (a bar redrawn in place on a terminal, a plain line per
 * 10% otherwise).
 */
#ifndef VG_CLIENT_PROGRESS_H
#define VG_CLIENT_PROGRESS_H

/* quiet: progress_say() and the progress display say nothing
 * (progress_complain() still does); verbose: progress_trace() speaks. */
void progress_setup(int quiet, int verbose);

/* Each message is "vingest-upload: ..." on its own line of stderr, below a
 * drawn bar, never over it. */

/* What is going on (retries, resumes, the video's state); not with -q. */
void progress_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Why something failed; always, -q or not. */
void progress_complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v: one line per request, for people and tests reading logs. */
void progress_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A transfer of total bytes, of which start are already on the server. */
void progress_begin(long long total, long long start);
/* done bytes are on their way (sent, not yet acknowledged): the bar moves. */
void progress_sending(long long done);
/* done bytes are acknowledged by the server: the bar moves, and without a
 * terminal a line is printed for each 10% step crossed. */
void progress_confirmed(long long done);
/* Ends the bar's line (the transfer finished or stopped). */
void progress_end(void);

#endif
