/*
 * worker.h - one worker process: claim, call, renew, finish, repeat.
 *
 * Signals: SIGTERM (or SIGQUIT, SIGINT) drains: no new claims; calls in
 * flight get workers.drain_seconds to finish, then their jobs are released
 * (ready again at once, the attempt not counted) and the process exits 0.
 */
#ifndef VG_WORKERS_WORKER_H
#define VG_WORKERS_WORKER_H

struct vg_config;
struct scoreboard_slot;

/* Runs until drained; returns the exit status. */
int worker_main(const struct vg_config *cfg, struct scoreboard_slot *slot);

#endif
