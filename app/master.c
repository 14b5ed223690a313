/*
 * master.c - prefork master: spawn, reap, respawn with back-off, drain, reload.
 */
#include "master.h"
#include "child.h"
#include "localcount.h"
#include "metrics.h"
#include "scoreboard.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_notify.h"
#include "vg_prefork.h"
#include "vg_procctl.h"
#include "vg_proctitle.h"
#include "vg_time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_GRACE_MS 5000 /* after SIGTERM, before SIGKILL */

enum master_state { MASTER_RUNNING, MASTER_DRAINING };

struct master {
	const char *config_path;
	struct vg_config *cfg;
	int listen_fd;
	enum master_state state;
	struct vg_prefork pf; /* one slot per child; pf.n >= wanted */
	size_t wanted;	      /* http.processes */
	unsigned generation;
};

static void spawn(struct master *m, size_t i)
{
	int status;

	/* The master returns (as on a failed fork: logged, retried); the child
	 * runs here and exits. */
	if (vg_prefork_spawn(&m->pf, i) != 0)
		return;
	status = child_main(m->cfg, m->listen_fd, (unsigned)i, m->pf.parent);
	vg_config_free(m->cfg);
	free(m->cfg);
	vg_prefork_free(&m->pf);
	exit(status);
}

static void reap(struct master *m)
{
	struct vg_prefork_exit ex;

	while (vg_prefork_reap(&m->pf, &ex)) {
		scoreboard_clear((unsigned)ex.slot);
		if (ex.clean)
			vg_info("msg=\"child exited\" child=%ld lived_ms=%lld", (long)ex.pid,
				(long long)ex.lived_ms);
		else if (WIFSIGNALED(ex.status))
			vg_error("msg=\"child killed by signal; replacing\" child=%ld signal=%d "
				 "lived_ms=%lld crashes=%d respawn_in_ms=%lld",
				 (long)ex.pid, WTERMSIG(ex.status), (long long)ex.lived_ms,
				 ex.crashes, (long long)ex.delay_ms);
		else
			vg_error("msg=\"child failed; replacing\" child=%ld status=%d "
				 "lived_ms=%lld crashes=%d respawn_in_ms=%lld",
				 (long)ex.pid, WEXITSTATUS(ex.status), (long long)ex.lived_ms,
				 ex.crashes, (long long)ex.delay_ms);
	}
}

static void begin_drain(struct master *m, int sig)
{
	if (m->state == MASTER_DRAINING)
		return;
	vg_info("msg=\"draining\" signal=%d children=%zu grace_s=%lld", sig,
		vg_prefork_alive(&m->pf), m->cfg->http.drain_seconds);
	m->state = MASTER_DRAINING;
	vg_prefork_stop(&m->pf, SIGQUIT);
}

static void reload(struct master *m)
{
	struct vg_config *fresh = calloc(1, sizeof(*fresh));
	char err[512];

	if (!fresh)
		abort();
	if (vg_config_load(fresh, m->config_path, err, sizeof(err)) < 0) {
		vg_error("msg=\"reload refused: bad configuration; keeping the running one\" "
			 "error=\"%s\"",
			 err);
		free(fresh);
		return;
	}
	if (strcmp(fresh->http.listen, m->cfg->http.listen) != 0)
		vg_warn("msg=\"http.listen changed; a restart is needed to move the socket\"");
	vg_prefork_grow(&m->pf, (size_t)fresh->http.processes);
	vg_config_free(m->cfg);
	free(m->cfg);
	m->cfg = fresh;
	m->wanted = (size_t)fresh->http.processes;
	m->generation++;
	vg_info("msg=\"configuration reloaded; rolling children\" processes=%zu generation=%u",
		m->wanted, m->generation);
	/* Graceful: each old child finishes its request, exits 0, and its slot
	 * is refilled with the new configuration. */
	vg_prefork_signal(&m->pf, SIGQUIT);
}

static void handle_signals(struct master *m)
{
	int sigs[64];
	size_t n = vg_sigpipe_read(sigs, 64);

	for (size_t i = 0; i < n; i++) {
		if (sigs[i] == SIGTERM || sigs[i] == SIGQUIT || sigs[i] == SIGINT) {
			if (m->state != MASTER_DRAINING)
				vg_notify("STOPPING=1");
			begin_drain(m, sigs[i]);
		} else if (sigs[i] == SIGHUP && m->state == MASTER_RUNNING) {
			vg_notify("RELOADING=1");
			reload(m);
			vg_notify("READY=1");
		}
	}
}

int master_run(const char *config_path, struct vg_config *cfg, int listen_fd, int argc, char **argv)
{
	struct master m;
	int status = 0, sigfd, sent;
	int64_t grace;

	memset(&m, 0, sizeof(m));
	/* cfg is heap-allocated and ours: reload replaces it. */
	m.config_path = config_path;
	m.cfg = cfg;
	m.listen_fd = listen_fd;
	vg_proctitle_init(argc, argv);
	m.wanted = (size_t)cfg->http.processes;
	vg_prefork_init(&m.pf, m.wanted, "vingest-fcgi", "child", "vg-fcgi-child");
	sigfd = vg_sigpipe_open();
	if (sigfd < 0) {
		vg_error("msg=\"cannot set up the master\" error=\"%s\"", strerror(errno));
		vg_prefork_free(&m.pf);
		return 1;
	}
	vg_proctitle_set("vingest-fcgi", "master", "vg-fcgi-master");
	metrics_open();	   /* before the first fork: every child shares the counters, */
	scoreboard_open(); /* the upload slots */
	localcount_open(); /* and the rate limits' fallback */
	vg_info("msg=\"master started\" listen=\"%s\" processes=%zu max_requests=%lld",
		cfg->http.listen, m.wanted, cfg->http.max_requests);
	/* The socket listens (connections wait in its backlog until the first
	 * children, forked on the next pass of the loop, accept them). */
	vg_notify("READY=1");

	for (;;) {
		struct pollfd pfd = {sigfd, POLLIN, 0};
		int64_t now;

		poll(&pfd, 1, 200);
		handle_signals(&m);
		reap(&m);
		now = vg_mono_ms();

		if (m.state == MASTER_RUNNING) {
			for (size_t i = 0; i < m.wanted; i++)
				if (vg_prefork_due(&m.pf, i, now))
					spawn(&m, i);
			continue;
		}

		/* draining: SIGQUIT sent; SIGTERM after the grace, SIGKILL 5 s later */
		if (vg_prefork_alive(&m.pf) == 0)
			break;
		grace = m.cfg->http.drain_seconds * 1000;
		sent = vg_prefork_escalate(&m.pf, now, grace, grace + KILL_GRACE_MS);
		if (sent == SIGTERM)
			vg_warn("msg=\"drain grace over; interrupting children\" children=%zu",
				vg_prefork_alive(&m.pf));
		else if (sent == SIGKILL)
			vg_error("msg=\"children did not stop; killing\" children=%zu",
				 vg_prefork_alive(&m.pf));
	}
	vg_info("msg=\"master stopped\"");
	vg_prefork_free(&m.pf);
	vg_sigpipe_close();
	vg_config_free(m.cfg);
	free(m.cfg);
	return status;
}
