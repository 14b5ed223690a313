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

#define KILL_GRACE_MS    5000 /* after SIGTERM, before SIGKILL */

enum master_state { MASTER_RUNNING, MASTER_DRAINING };

struct slot {
	pid_t pid;           /* 0: empty */
	int64_t started_ms;
	int64_t next_start_ms; /* back-off: not before this */
	int crashes;         /* consecutive early deaths */
	unsigned generation; /* config generation the child runs */
};

struct master {
	const char *config_path;
	struct vg_config *cfg;
	int listen_fd;
	enum master_state state;
	struct slot *slots;
	size_t nslots;  /* allocated */
	size_t wanted;  /* http.processes */
	unsigned generation;
	int64_t drain_started_ms;
	int term_sent, kill_sent;
};

static void spawn(struct master *m, struct slot *s)
{
	pid_t master = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		vg_error("msg=\"fork failed\" error=\"%s\"", strerror(errno));
		s->next_start_ms = vg_mono_ms() + 1000;
		return;
	}
	if (pid == 0) {
		int status;

		vg_sigpipe_child();
		vg_proctitle_set("vingest-fcgi", "child", "vg-fcgi-child");
		status = child_main(m->cfg, m->listen_fd, (unsigned)(s - m->slots), master);
		vg_config_free(m->cfg);
		free(m->cfg);
		free(m->slots);
		exit(status);
	}
	s->pid = pid;
	s->started_ms = vg_mono_ms();
	s->generation = m->generation;
}

static struct slot *find_slot(struct master *m, pid_t pid)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].pid == pid)
			return &m->slots[i];
	return NULL;
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct slot *s = find_slot(m, pid);
		int64_t now = vg_mono_ms(), lived;
		int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

		if (!s)
			continue;
		lived = now - s->started_ms;
		s->pid = 0;
		scoreboard_clear((unsigned)(s - m->slots));
		if (clean) {
			vg_info("msg=\"child exited\" child=%ld lived_ms=%lld", (long)pid,
				(long long)lived);
			s->crashes = 0;
			s->next_start_ms = now;
			continue;
		}
		s->crashes = lived < VG_CRASH_WINDOW_MS ? s->crashes + 1 : 1;
		{
			int64_t delay = vg_respawn_delay_ms(s->crashes);

			s->next_start_ms = now + delay;
			if (WIFSIGNALED(status))
				vg_error("msg=\"child killed by signal; replacing\" child=%ld signal=%d "
					 "lived_ms=%lld crashes=%d respawn_in_ms=%lld",
					 (long)pid, WTERMSIG(status), (long long)lived, s->crashes,
					 (long long)delay);
			else
				vg_error("msg=\"child failed; replacing\" child=%ld status=%d "
					 "lived_ms=%lld crashes=%d respawn_in_ms=%lld",
					 (long)pid, WEXITSTATUS(status), (long long)lived, s->crashes,
					 (long long)delay);
		}
	}
}

static size_t alive(const struct master *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nslots; i++)
		n += m->slots[i].pid > 0;
	return n;
}

static void signal_children(struct master *m, int sig)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].pid > 0)
			kill(m->slots[i].pid, sig);
}

static void begin_drain(struct master *m, int sig)
{
	if (m->state == MASTER_DRAINING)
		return;
	vg_info("msg=\"draining\" signal=%d children=%zu grace_s=%lld", sig, alive(m),
		m->cfg->http.drain_seconds);
	m->state = MASTER_DRAINING;
	m->drain_started_ms = vg_mono_ms();
	signal_children(m, SIGQUIT);
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
	if ((size_t)fresh->http.processes > m->nslots) {
		m->slots = realloc(m->slots, (size_t)fresh->http.processes * sizeof(*m->slots));
		if (!m->slots)
			abort();
		memset(m->slots + m->nslots, 0,
		       ((size_t)fresh->http.processes - m->nslots) * sizeof(*m->slots));
		m->nslots = (size_t)fresh->http.processes;
	}
	vg_config_free(m->cfg);
	free(m->cfg);
	m->cfg = fresh;
	m->wanted = (size_t)fresh->http.processes;
	m->generation++;
	vg_info("msg=\"configuration reloaded; rolling children\" processes=%zu generation=%u",
		m->wanted, m->generation);
	/* Graceful: each old child finishes its request, exits 0, and its slot
	 * is refilled with the new configuration. */
	signal_children(m, SIGQUIT);
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

int master_run(const char *config_path, struct vg_config *cfg, int listen_fd, int argc,
	       char **argv)
{
	struct master m;
	int status = 0, sigfd;

	memset(&m, 0, sizeof(m));
	/* cfg is heap-allocated and ours: reload replaces it. */
	m.config_path = config_path;
	m.cfg = cfg;
	m.listen_fd = listen_fd;
	vg_proctitle_init(argc, argv);
	m.wanted = (size_t)cfg->http.processes;
	m.nslots = m.wanted;
	m.slots = calloc(m.nslots, sizeof(*m.slots));
	sigfd = vg_sigpipe_open();
	if (!m.slots || sigfd < 0) {
		vg_error("msg=\"cannot set up the master\" error=\"%s\"", strerror(errno));
		return 1;
	}
	vg_proctitle_set("vingest-fcgi", "master", "vg-fcgi-master");
	metrics_open(); /* before the first fork: every child shares the counters, */
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
			for (size_t i = 0; i < m.nslots; i++) {
				struct slot *s = &m.slots[i];

				if (s->pid == 0 && i < m.wanted && now >= s->next_start_ms)
					spawn(&m, s);
			}
			continue;
		}

		/* draining */
		if (alive(&m) == 0)
			break;
		if (!m.term_sent && now - m.drain_started_ms > m.cfg->http.drain_seconds * 1000) {
			vg_warn("msg=\"drain grace over; interrupting children\" children=%zu",
				alive(&m));
			signal_children(&m, SIGTERM);
			m.term_sent = 1;
		}
		if (!m.kill_sent &&
		    now - m.drain_started_ms > m.cfg->http.drain_seconds * 1000 + KILL_GRACE_MS) {
			vg_error("msg=\"children did not stop; killing\" children=%zu", alive(&m));
			signal_children(&m, SIGKILL);
			m.kill_sent = 1;
		}
	}
	vg_info("msg=\"master stopped\"");
	free(m.slots);
	vg_sigpipe_close();
	vg_config_free(m.cfg);
	free(m.cfg);
	return status;
}
