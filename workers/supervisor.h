/*
 * supervisor.h - vingest-workers' coordinator: a pool of worker processes.
 *
 * Keeps between workers.min and workers.max workers alive; replaces one that
 * dies (with back-off when they crash-loop) and kills and replaces one whose
 * heartbeat in the scoreboard is older than workers.heartbeat_timeout_seconds;
 * grows the pool by one while ready jobs wait and every worker is busy, and
 * shrinks it by one after workers.idle_seconds with nothing to do. It is also
 * the janitor when it holds the fleet's lock.
 *
 * SIGTERM/SIGQUIT/SIGINT: drain (workers stop claiming, finish or release
 * their jobs within workers.drain_seconds), then exit. SIGHUP: re-read the
 * configuration and roll every worker over to it.
 */
#ifndef VG_WORKERS_SUPERVISOR_H
#define VG_WORKERS_SUPERVISOR_H

struct vg_config;

/* cfg is heap-allocated and owned by the supervisor from here on. */
int supervisor_run(const char *config_path, struct vg_config *cfg, int argc, char **argv);

#endif
