/*
 * vg_prefork.h - the child table both process masters keep: the vingest-fcgi
 * master (app/master.c) and the vingest-workers supervisor
 * (workers/supervisor.c).
 *
 * A table of slots, one per child the master may run. The module does the
 * mechanics every prefork master repeats (php-fpm's fpm_children.c): fork a
 * slot's child and set it up (self-pipe closed, process title), reap exited
 * children and map their pids back to slots, count consecutive early deaths
 * and schedule the respawn with back-off (vg_respawn_delay_ms), signal every
 * child, and escalate a stop to SIGTERM and SIGKILL on a timeout. The
 * policy stays with each master: how many slots to fill, health checks,
 * scaling, reload, what its log lines say. The module never logs a child's
 * exit itself: vg_prefork_reap() hands it to the caller, whose messages
 * operators grep for (docs/operations.md).
 *
 * Children set PR_SET_PDEATHSIG themselves (child_main, worker_main), after
 * their own signal handlers are in place, and compare getppid() with
 * vg_prefork.parent: a master killed outright leaves no child behind.
 */
#ifndef VG_PREFORK_H
#define VG_PREFORK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vg_prefork_slot {
	pid_t pid;	       /* 0: empty */
	int64_t started_ms;    /* vg_mono_ms() at the fork */
	int64_t next_start_ms; /* back-off: not respawned before this */
	int crashes;	       /* consecutive early deaths (VG_CRASH_WINDOW_MS) */
	int retiring;	       /* the caller's mark for "told to stop"; cleared
				  when the slot is reaped or refilled */
};

struct vg_prefork {
	struct vg_prefork_slot *slots;	/* owned */
	size_t n;			/* slots allocated */
	pid_t parent;			/* the master (getpid() at init) */
	const char *prog, *role, *comm; /* the children's title (borrowed) */
	int64_t stop_ms;		/* vg_prefork_stop() time, 0: not stopping */
	int term_sent, kill_sent;
};

/* One reaped child, as vg_prefork_reap() hands it over. */
struct vg_prefork_exit {
	size_t slot;
	pid_t pid;
	int status; /* as waitpid() gave it */
	int clean;  /* exited with status 0 */
	int64_t lived_ms;
	int crashes;	  /* the slot's count after this exit (0 when clean) */
	int64_t delay_ms; /* the slot is respawned no sooner than this from now */
};

/*
 * Sets up n empty slots (aborts on out of memory). prog, role and comm
 * (at most 15 chars) are the title each child gets (vg_proctitle_set) and
 * must outlive pf. Records getpid() as pf->parent.
 */
void vg_prefork_init(struct vg_prefork *pf, size_t n, const char *prog, const char *role,
		     const char *comm);

/* Frees the table (not the children: they are the caller's to stop).
 * NULL-safe. In a forked child, before exit, for leak checkers. */
void vg_prefork_free(struct vg_prefork *pf);

/* Grows the table to n slots (never shrinks it); new slots are empty. */
void vg_prefork_grow(struct vg_prefork *pf, size_t n);

/* 1 if slot i is empty and its back-off is over at now. */
int vg_prefork_due(const struct vg_prefork *pf, size_t i, int64_t now);

/*
 * Forks slot i's child. In the parent: returns the child's pid and fills the
 * slot, or -1 if fork failed (logged; the slot is not due again for 1 s).
 * In the child: returns 0 with the master's self-pipe closed, SIGCHLD and
 * SIGHUP back to their defaults (vg_sigpipe_child) and the title set; the
 * caller runs the child and exits, never returning to the master's loop.
 */
pid_t vg_prefork_spawn(struct vg_prefork *pf, size_t i);

/*
 * Reaps one exited child without blocking. A child of the table: its slot
 * is emptied, a clean exit resets the crash count and makes the slot due at
 * once, any other exit counts a crash if it lived less than
 * VG_CRASH_WINDOW_MS (else starts the count again at 1) and delays the
 * respawn by vg_respawn_delay_ms(); *ex describes it and 1 is returned.
 * Children not in the table are reaped and skipped. 0: nothing left to reap.
 */
int vg_prefork_reap(struct vg_prefork *pf, struct vg_prefork_exit *ex);

/* The children alive (retiring ones included). */
size_t vg_prefork_alive(const struct vg_prefork *pf);

/* Sends sig to every child; SIGKILL is followed by SIGCONT (a stopped
 * child is killed for sure). */
void vg_prefork_signal(struct vg_prefork *pf, int sig);

/* Begins a stop: sends sig (SIGQUIT or SIGTERM: the children's graceful
 * stop) to every child and starts the clock of vg_prefork_escalate().
 * A second call does nothing. */
void vg_prefork_stop(struct vg_prefork *pf, int sig);

/*
 * Called on each turn of a stopping master's loop: once term_ms have passed
 * since vg_prefork_stop() sends SIGTERM to every child (term_ms < 0: never),
 * once kill_ms have passed SIGKILL; each once. Returns the last signal it
 * sent in this call (for the caller to log), or 0.
 */
int vg_prefork_escalate(struct vg_prefork *pf, int64_t now, int64_t term_ms, int64_t kill_ms);

#endif
