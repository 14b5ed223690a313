/*
 * master.h - the prefork master of vingest-fcgi (php-fpm's model).
 *
 * The master owns the listening socket and does nothing but keep
 * http.processes children alive: it forks them, reaps them, replaces one that
 * dies (with exponential back-off when children keep crashing, so a broken
 * deployment does not spin), and acts on signals through a self-pipe:
 *
 *   SIGTERM, SIGQUIT, SIGINT  drain: children finish the request in hand
 *                             (SIGQUIT), are told to stop reading bodies after
 *                             http.drain_seconds (SIGTERM), killed 5 s later
 *   SIGHUP                    reload: re-read the config (a bad one is
 *                             refused and the old one kept), then roll the
 *                             children over to it one graceful exit at a time
 *
 * States are explicit: running -> draining -> stopped.
 */
#ifndef VG_APP_MASTER_H
#define VG_APP_MASTER_H

struct vg_config;

/*
 * Runs the master until drained. cfg (heap-allocated, loaded from
 * config_path) is owned and freed by the master from here on; listen_fd is open. argv is used for
 * process titles. Returns the exit status.
 */
int master_run(const char *config_path, struct vg_config *cfg, int listen_fd, int argc,
	       char **argv);

#endif
