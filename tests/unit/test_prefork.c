/*
 * test_prefork.c - the process masters' child table: slots, reaping, crash
 * counting and respawn back-off, signalling, and the stop's escalation.
 *
 * The children are tiny forks of this test (they exit with a given status
 * or wait for a signal), so the real fork/waitpid/kill paths run.
 */
#include "tap.h"
#include "vg_prefork.h"
#include "vg_procctl.h"
#include "vg_time.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAUSE -1 /* the child waits for a signal */

/* Forks slot i's child: it exits with status, or waits for a signal. */
static pid_t start(struct vg_prefork *pf, size_t i, int status)
{
	pid_t pid = vg_prefork_spawn(pf, i);

	if (pid != 0)
		return pid;
	if (status == PAUSE)
		for (;;)
			pause();
	_exit(status);
}

/* Reaps the next exit of a table child, waiting up to 5 s for one. */
static int reap_wait(struct vg_prefork *pf, struct vg_prefork_exit *ex)
{
	struct timespec ms = {0, 1000000};

	for (int64_t end = vg_mono_ms() + 5000; vg_mono_ms() < end; nanosleep(&ms, NULL))
		if (vg_prefork_reap(pf, ex))
			return 1;
	return 0;
}

int main(void)
{
	struct vg_prefork pf;
	struct vg_prefork_exit ex;
	pid_t pid, stray;
	siginfo_t si;
	int64_t now, t0;

	/* ---- the table */
	vg_prefork_init(&pf, 2, "test", "child", "test-child");
	is_int(pf.n, 2, "init: the slots asked for");
	is_int(pf.parent, getpid(), "init: the parent is this process");
	is_int(vg_prefork_alive(&pf), 0, "init: no child alive");
	ok(vg_prefork_due(&pf, 0, vg_mono_ms()) && vg_prefork_due(&pf, 1, vg_mono_ms()),
	   "init: every slot is due at once");
	ok(!vg_prefork_due(&pf, 2, vg_mono_ms()), "a slot past the table is never due");
	pf.slots[1].crashes = 7;
	vg_prefork_grow(&pf, 4);
	is_int(pf.n, 4, "grow: to the new size");
	is_int(pf.slots[1].crashes, 7, "grow: the old slots are kept");
	ok(pf.slots[3].pid == 0 && pf.slots[3].crashes == 0 && pf.slots[3].next_start_ms == 0,
	   "grow: the new slots are empty");
	vg_prefork_grow(&pf, 1);
	is_int(pf.n, 4, "grow never shrinks");
	pf.slots[1].crashes = 0;

	/* ---- a clean exit */
	pf.slots[0].crashes = 3;
	pf.slots[0].retiring = 1;
	pid = start(&pf, 0, 0);
	ok(pid > 0 && pf.slots[0].pid == pid, "spawn fills the slot with the child's pid");
	is_int(pf.slots[0].retiring, 0, "spawn clears the retiring mark");
	ok(!vg_prefork_due(&pf, 0, vg_mono_ms()), "a slot with a child is not due");
	ok(reap_wait(&pf, &ex), "the child's exit is reaped");
	ok(ex.slot == 0 && ex.pid == pid, "reap: the slot and pid of the child");
	ok(ex.clean && WIFEXITED(ex.status) && WEXITSTATUS(ex.status) == 0, "reap: a clean exit");
	ok(ex.crashes == 0 && ex.delay_ms == 0, "a clean exit resets the crash count, no delay");
	ok(pf.slots[0].pid == 0 && vg_prefork_due(&pf, 0, vg_mono_ms()),
	   "the slot is empty and due again at once");
	ok(ex.lived_ms >= 0 && ex.lived_ms < 5000, "reap: how long it lived");
	is_int(vg_prefork_reap(&pf, &ex), 0, "nothing more to reap (and no blocking)");

	/* ---- a crash loop backs off */
	for (int k = 1; k <= 3; k++) {
		start(&pf, 1, 3);
		ok(reap_wait(&pf, &ex), "crash %d: reaped", k);
		now = vg_mono_ms();
		ok(!ex.clean && WIFEXITED(ex.status) && WEXITSTATUS(ex.status) == 3,
		   "crash %d: status 3 is not clean", k);
		is_int(ex.crashes, k, "crash %d: counted", k);
		is_int(ex.delay_ms, vg_respawn_delay_ms(k), "crash %d: the back-off delay", k);
		ok(pf.slots[1].next_start_ms <= now + ex.delay_ms &&
			   pf.slots[1].next_start_ms > now + ex.delay_ms - 1000,
		   "crash %d: the slot is due after the delay", k);
	}
	ok(!vg_prefork_due(&pf, 1, vg_mono_ms()), "third crash: not due before 200 ms");
	ok(vg_prefork_due(&pf, 1, pf.slots[1].next_start_ms), "due once the delay is over");
	start(&pf, 1, PAUSE);
	pf.slots[1].started_ms = vg_mono_ms() - VG_CRASH_WINDOW_MS - 1; /* as if it lived long */
	vg_prefork_signal(&pf, SIGKILL);
	ok(reap_wait(&pf, &ex), "a child killed by a signal is reaped");
	ok(WIFSIGNALED(ex.status) && WTERMSIG(ex.status) == SIGKILL, "reap: the signal it died of");
	is_int(ex.crashes, 1, "a death after the crash window starts the count again at 1");
	is_int(ex.delay_ms, 0, "and is replaced at once");

	/* ---- a child that is not the table's is reaped and skipped */
	stray = fork();
	if (stray == 0)
		_exit(0);
	ok(waitid(P_PID, (id_t)stray, &si, WEXITED | WNOWAIT) == 0, "a stray child exits");
	is_int(vg_prefork_reap(&pf, &ex), 0, "a stray child is not reported");
	ok(waitpid(stray, NULL, WNOHANG) < 0 && errno == ECHILD, "but it was reaped");

	/* ---- stop: the graceful signal, then SIGTERM, then SIGKILL */
	signal(SIGQUIT, SIG_IGN); /* inherited: the children ignore both */
	signal(SIGTERM, SIG_IGN);
	start(&pf, 0, PAUSE);
	start(&pf, 2, PAUSE);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	is_int(vg_prefork_alive(&pf), 2, "two children alive");
	is_int(vg_prefork_escalate(&pf, vg_mono_ms() + 100000, 1000, 2000), 0,
	       "no escalation before a stop");
	vg_prefork_stop(&pf, SIGQUIT);
	t0 = pf.stop_ms;
	ok(t0 > 0, "stop starts the clock");
	vg_prefork_stop(&pf, SIGQUIT);
	is_int(pf.stop_ms, t0, "a second stop does nothing");
	is_int(vg_prefork_escalate(&pf, t0 + 1000, 1000, 2000), 0, "nothing before term_ms");
	is_int(vg_prefork_escalate(&pf, t0 + 1001, 1000, 2000), SIGTERM, "SIGTERM after term_ms");
	is_int(vg_prefork_escalate(&pf, t0 + 1500, 1000, 2000), 0, "SIGTERM only once");
	is_int(vg_prefork_reap(&pf, &ex), 0, "children that ignore SIGQUIT and SIGTERM live on");
	is_int(vg_prefork_escalate(&pf, t0 + 2001, 1000, 2000), SIGKILL, "SIGKILL after kill_ms");
	ok(reap_wait(&pf, &ex) && WIFSIGNALED(ex.status) && WTERMSIG(ex.status) == SIGKILL,
	   "one child killed");
	ok(reap_wait(&pf, &ex) && WIFSIGNALED(ex.status) && WTERMSIG(ex.status) == SIGKILL,
	   "the other child killed");
	is_int(vg_prefork_alive(&pf), 0, "no child left");
	is_int(vg_prefork_escalate(&pf, t0 + 9000, 1000, 2000), 0, "SIGKILL only once");
	vg_prefork_free(&pf);
	ok(pf.slots == NULL && pf.n == 0, "free empties the table");
	vg_prefork_free(NULL);

	/* ---- escalation without SIGTERM (the supervisor's), and a late turn */
	vg_prefork_init(&pf, 1, "test", "child", "test-child");
	vg_prefork_stop(&pf, SIGTERM);
	t0 = pf.stop_ms;
	is_int(vg_prefork_escalate(&pf, t0 + 5000, -1, 10000), 0, "term_ms < 0: no SIGTERM");
	is_int(vg_prefork_escalate(&pf, t0 + 10001, -1, 10000), SIGKILL, "then SIGKILL");
	vg_prefork_free(&pf);
	vg_prefork_init(&pf, 1, "test", "child", "test-child");
	vg_prefork_stop(&pf, SIGQUIT);
	is_int(vg_prefork_escalate(&pf, pf.stop_ms + 60000, 1000, 2000), SIGKILL,
	       "a turn late past both: both sent, SIGKILL reported");
	ok(pf.term_sent && pf.kill_sent, "both marked sent");
	vg_prefork_free(&pf);
	return tap_done();
}
