/*
 * scoreboard.h - shared memory between the supervisor and its workers.
 *
 * One slot per worker in an anonymous MAP_SHARED mapping made before fork:
 * the worker stores its heartbeat and load there every loop turn (a few
 * atomic stores, no system call), and the supervisor reads them to find hung
 * workers and to size the pool. Nothing here is durable; the database's
 * `workers` table is the fleet-wide view.
 */
#ifndef VG_WORKERS_SCOREBOARD_H
#define VG_WORKERS_SCOREBOARD_H

#include <stdatomic.h>
#include <stddef.h>

enum worker_state { WORKER_STARTING, WORKER_RUNNING, WORKER_DRAINING };

struct scoreboard_slot {
	atomic_llong heartbeat_ms; /* monotonic ms of the last loop turn */
	atomic_int in_flight;	   /* jobs held */
	atomic_int state;	   /* enum worker_state */
	atomic_llong done;	   /* jobs finished, for the supervisor's log */
};

/* Maps n zeroed slots shared with future children; NULL on failure. */
struct scoreboard_slot *scoreboard_new(size_t n);
void scoreboard_free(struct scoreboard_slot *s, size_t n);

#endif
