/*
 * vg_prefork.c - the process masters' child table (see vg_prefork.h).
 *
 * The table is scanned linearly: it holds at most a few hundred slots and is
 * looked at a few times a second, so a pid -> slot index would buy nothing.
 */
#include "vg_prefork.h"
#include "vg_alloc.h"
#include "vg_log.h"
#include "vg_procctl.h"
#include "vg_proctitle.h"
#include "vg_time.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORK_RETRY_MS 1000

void vg_prefork_init(struct vg_prefork *pf, size_t n, const char *prog, const char *role,
		     const char *comm)
{
	memset(pf, 0, sizeof(*pf));
	pf->slots = vg_calloc(n ? n : 1, sizeof(*pf->slots));
	pf->n = n;
	pf->parent = getpid();
	pf->prog = prog;
	pf->role = role;
	pf->comm = comm;
}

void vg_prefork_free(struct vg_prefork *pf)
{
	if (!pf)
		return;
	free(pf->slots);
	pf->slots = NULL;
	pf->n = 0;
}

void vg_prefork_grow(struct vg_prefork *pf, size_t n)
{
	if (n <= pf->n)
		return;
	pf->slots = vg_realloc(pf->slots, n * sizeof(*pf->slots));
	memset(pf->slots + pf->n, 0, (n - pf->n) * sizeof(*pf->slots));
	pf->n = n;
}

int vg_prefork_due(const struct vg_prefork *pf, size_t i, int64_t now)
{
	return i < pf->n && pf->slots[i].pid == 0 && now >= pf->slots[i].next_start_ms;
}

pid_t vg_prefork_spawn(struct vg_prefork *pf, size_t i)
{
	struct vg_prefork_slot *s = &pf->slots[i];
	pid_t pid = fork();

	if (pid < 0) {
		vg_error("msg=\"fork failed\" error=\"%s\"", strerror(errno));
		s->next_start_ms = vg_mono_ms() + FORK_RETRY_MS;
		return -1;
	}
	if (pid == 0) {
		vg_sigpipe_child();
		vg_proctitle_set(pf->prog, pf->role, pf->comm);
		return 0;
	}
	s->pid = pid;
	s->started_ms = vg_mono_ms();
	s->retiring = 0;
	return pid;
}

int vg_prefork_reap(struct vg_prefork *pf, struct vg_prefork_exit *ex)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int64_t now = vg_mono_ms();
		struct vg_prefork_slot *s = NULL;

		for (size_t i = 0; i < pf->n && !s; i++)
			if (pf->slots[i].pid == pid)
				s = &pf->slots[i];
		if (!s)
			continue;
		memset(ex, 0, sizeof(*ex));
		ex->slot = (size_t)(s - pf->slots);
		ex->pid = pid;
		ex->status = status;
		ex->clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		ex->lived_ms = now - s->started_ms;
		s->pid = 0;
		s->retiring = 0;
		if (ex->clean)
			s->crashes = 0;
		else
			s->crashes = ex->lived_ms < VG_CRASH_WINDOW_MS ? s->crashes + 1 : 1;
		ex->crashes = s->crashes;
		ex->delay_ms = ex->clean ? 0 : vg_respawn_delay_ms(s->crashes);
		s->next_start_ms = now + ex->delay_ms;
		return 1;
	}
	return 0;
}

size_t vg_prefork_alive(const struct vg_prefork *pf)
{
	size_t n = 0;

	for (size_t i = 0; i < pf->n; i++)
		n += pf->slots[i].pid > 0;
	return n;
}

void vg_prefork_signal(struct vg_prefork *pf, int sig)
{
	for (size_t i = 0; i < pf->n; i++) {
		if (pf->slots[i].pid <= 0)
			continue;
		kill(pf->slots[i].pid, sig);
		if (sig == SIGKILL)
			kill(pf->slots[i].pid, SIGCONT);
	}
}

void vg_prefork_stop(struct vg_prefork *pf, int sig)
{
	if (pf->stop_ms)
		return;
	pf->stop_ms = vg_mono_ms();
	vg_prefork_signal(pf, sig);
}

int vg_prefork_escalate(struct vg_prefork *pf, int64_t now, int64_t term_ms, int64_t kill_ms)
{
	int sent = 0;

	if (!pf->stop_ms)
		return 0;
	if (term_ms >= 0 && !pf->term_sent && now - pf->stop_ms > term_ms) {
		vg_prefork_signal(pf, SIGTERM);
		pf->term_sent = 1;
		sent = SIGTERM;
	}
	if (!pf->kill_sent && now - pf->stop_ms > kill_ms) {
		vg_prefork_signal(pf, SIGKILL);
		pf->kill_sent = 1;
		sent = SIGKILL;
	}
	return sent;
}
