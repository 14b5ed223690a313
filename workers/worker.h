/*
 * worker.h - one worker process: claim, call, renew, finish, repeat.
 *
 * Signals: SIGTERM (or SIGQUIT, SIGINT) drains: no new claims; calls in
 * flight get workers.drain_seconds to finish, then their jobs are released
 * (ready again at once, the attempt not counted) and the process exits 0.
 * A worker whose supervisor dies (even by SIGKILL) gets SIGTERM from the
 * kernel and drains the same way.
 */
#ifndef VG_WORKERS_WORKER_H
#define VG_WORKERS_WORKER_H

#include <sys/types.h>

struct vg_config;
struct scoreboard_slot;

/* Runs until drained; returns the exit status. supervisor: the pid of the
 * process that forked this one. */
int worker_main(const struct vg_config *cfg, struct scoreboard_slot *slot, pid_t supervisor);

#endif
