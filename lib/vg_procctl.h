/*
 * vg_procctl.h - what both process masters share: the vingest-fcgi master and
 * the vingest-workers supervisor.
 *
 * Signals reach the master's loop through a self-pipe: the handler writes
 * the signal number as one byte and does nothing else (async-signal-safe),
 * the loop polls the pipe's read end and acts. Children that keep dying are
 * respawned after a growing delay, never in a spin.
 */
#ifndef VG_PROCCTL_H
#define VG_PROCCTL_H

#include <stddef.h>
#include <stdint.h>

/* Routes SIGTERM, SIGQUIT, SIGINT, SIGHUP and SIGCHLD to the self-pipe and
 * ignores SIGPIPE. Returns the pipe's read end to poll, or -1. */
int vg_sigpipe_open(void);

/* Reads the signals that arrived (up to max) without blocking; returns the count. */
size_t vg_sigpipe_read(int *sigs, size_t max);

/* In a freshly forked child: closes the pipe and puts SIGCHLD and SIGHUP
 * back to their defaults (the child installs its own handlers). */
void vg_sigpipe_child(void);

/* Closes the pipe (master exit). */
void vg_sigpipe_close(void);

/* Children dying younger than this count as a crash loop. */
#define VG_CRASH_WINDOW_MS 10000

/*
 * The delay before respawning a child after its crashes-th consecutive early
 * death: 0 for the first (one death is an accident), then 100 ms, 200 ms, ...
 * up to 30 s.
 */
int64_t vg_respawn_delay_ms(int crashes);

#endif
