/*
 * child.h - a prefork child: the libfcgi accept loop and what it owns.
 *
 * Each child serves one request at a time with its own persistent database
 * connections, one per shard (prepared statements survive across requests), and exits after
 * http.max_requests so slow leaks in any library cannot grow forever.
 *
 * Signals: SIGQUIT finishes the request in hand, then exits (graceful);
 * SIGTERM also interrupts a body being read (the upload is abandoned and
 * cleaned up), then exits. libfcgi's own SIGUSR1 handler is kept: it asks the
 * accept loop to stop, which is what the FastCGI spec wants it to mean.
 *
 * A child outlives no master: the kernel sends it SIGQUIT when the master
 * dies, however it died (PR_SET_PDEATHSIG), so a SIGKILLed master leaves no
 * child accepting on a socket its successor has replaced.
 */
#ifndef VG_APP_CHILD_H
#define VG_APP_CHILD_H

#include "vg_cache.h"
#include "vg_shards.h"
#include "vg_store.h"

#include <sys/types.h>

struct vg_config;

struct child {
	const struct vg_config *cfg; /* borrowed from the master's copy */
	struct vg_shards shards;     /* one connection per metadata shard */
	struct vg_store store;	     /* store.db follows the request's shard (router) */
	struct vg_cache cache;	     /* rate limits */
	int listen_fd;
	long long served;
};

/* Runs the accept loop until told to stop; returns the process exit status.
 * slot: the master's slot for this child (its place on the scoreboard);
 * master: the master's pid (gone already: the child exits at once). */
int child_main(const struct vg_config *cfg, int listen_fd, unsigned slot, pid_t master);

#endif
