/*
 * supervisor.c - the worker pool's coordinator (see supervisor.h).
 *
 * Shards (vg_shards.h): the supervisor keeps one connection a shard. Its
 * `workers` row is written to every shard that answers (a shard that is down
 * is caught up on the next beat), so any shard's `workers` shows the fleet;
 * the queue depth that sizes the pool is the sum over the shards that
 * answer; and the janitor runs shard by shard, each under that shard's own
 * lock, so one shard down stops only its own housekeeping.
 */
#include "supervisor.h"
#include "janitor.h"
#include "scoreboard.h"
#include "worker.h"
#include "wmetrics.h"
#include "vg_alloc.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_db.h"
#include "claim.h"
#include "vg_log.h"
#include "vg_notify.h"
#include "vg_prefork.h"
#include "vg_procctl.h"
#include "vg_proctitle.h"
#include "vg_retention.h"
#include "vg_shards.h"
#include "vg_store.h"
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

#define SLOTS	       1024 /* workers.max can never exceed this (config range) */
#define TICK_MS	       200
#define SCALE_EVERY_MS 500 /* the due count is bounded (see scale()), so it is cheap */
#define BEAT_EVERY_MS  5000
#define KILL_GRACE_MS  10000

struct supervisor {
	const char *config_path;
	struct vg_config *cfg;
	struct scoreboard_slot *board;
	struct vg_prefork pf; /* SLOTS slots; retiring: told to drain, not refilled */
	size_t target;
	int draining;
	struct vg_shards shards;
	struct shard_watch watch;
	struct vg_cache cache; /* the janitor invalidates cached statuses */
	struct vg_store store; /* the janitor removes orphaned uploads */
	int store_ok;
	long long row_id[VG_SHARDS_MAX];      /* our row in each shard's `workers`, 0: none yet */
	unsigned char janitor[VG_SHARDS_MAX]; /* 1: we hold that shard's janitor lock */
	int64_t next_scale_ms, next_janitor_ms, next_beat_ms, idle_since_ms;
	int64_t next_metrics_ms;
	char host[256];
};

/* The jobs the live workers hold, from the scoreboard. */
static long long jobs_held(const struct supervisor *s)
{
	long long n = 0;

	for (size_t i = 0; i < SLOTS; i++)
		if (s->pf.slots[i].pid > 0)
			n += atomic_load(&s->board[i].in_flight);
	return n;
}

static void spawn(struct supervisor *s, size_t i)
{
	int status;

	atomic_store(&s->board[i].heartbeat_ms, vg_mono_ms());
	atomic_store(&s->board[i].in_flight, 0);
	atomic_store(&s->board[i].state, WORKER_STARTING);
	/* The supervisor returns (as on a failed fork: logged, retried); the
	 * worker runs here and exits. */
	if (vg_prefork_spawn(&s->pf, i) != 0)
		return;
	vg_shards_forget(&s->shards); /* the parent's connections stay the parent's */
	s->cache.mc = NULL;	      /* likewise its memcached socket: not used, not closed */
	status = worker_main(s->cfg, &s->board[i], s->pf.parent);
	vg_config_free(s->cfg);
	free(s->cfg);
	exit(status);
}

static const char unregister_sql[] =
	"DELETE FROM workers WHERE host = ? AND pid = ? AND role = 'worker'";

static void reap(struct supervisor *s)
{
	struct vg_prefork_exit ex;

	while (vg_prefork_reap(&s->pf, &ex)) {
		if (ex.clean) {
			vg_info("msg=\"worker exited\" worker=%ld lived_ms=%lld", (long)ex.pid,
				(long long)ex.lived_ms);
			continue;
		}
		/* It could not remove its own rows (best effort: on a shard that
		 * is down the janitor removes it after an hour's silence). */
		for (unsigned k = 0; k < s->shards.n; k++) {
			struct vg_db_param p[] = {vg_p_str(s->host), vg_p_i64(ex.pid)};

			vg_db_exec(vg_shards_db(&s->shards, k), unregister_sql, p,
				   VG_DB_NPARAMS(p));
		}
		vg_error("msg=\"worker died; replacing\" worker=%ld %s=%d lived_ms=%lld "
			 "crashes=%d respawn_in_ms=%lld",
			 (long)ex.pid, WIFSIGNALED(ex.status) ? "signal" : "status",
			 WIFSIGNALED(ex.status) ? WTERMSIG(ex.status) : WEXITSTATUS(ex.status),
			 (long long)ex.lived_ms, ex.crashes, (long long)ex.delay_ms);
	}
}

/* A worker whose loop stopped turning (stuck in a syscall, SIGSTOPped, spinning
 * without reaching its heartbeat) is killed; reap() replaces it. */
static void kill_stale(struct supervisor *s, int64_t now)
{
	int64_t limit = s->cfg->workers.heartbeat_timeout_seconds * 1000;

	for (size_t i = 0; i < SLOTS; i++) {
		struct vg_prefork_slot *w = &s->pf.slots[i];
		int64_t beat = atomic_load(&s->board[i].heartbeat_ms);

		if (w->pid <= 0 || now - beat <= limit)
			continue;
		vg_error("msg=\"worker heartbeat stale; killing it\" worker=%ld silent_ms=%lld",
			 (long)w->pid, (long long)(now - beat));
		kill(w->pid, SIGKILL);
		kill(w->pid, SIGCONT); /* a stopped process dies only once continued */
		atomic_store(&s->board[i].heartbeat_ms, now); /* one kill per timeout */
	}
}

/* Counts due jobs, but never more than the whole pool could hold at once
 * (the parameter: workers.max x workers.concurrency): past that the answer
 * changes nothing, and the count stays a short index range scan however
 * deep the queue is, so it can run every SCALE_EVERY_MS. Run on each shard
 * and summed; a shard that does not answer counts nothing (its jobs cannot
 * be claimed now anyway). */
static const char due_sql[] =
	"SELECT COUNT(*) FROM (SELECT 1 FROM jobs FORCE INDEX (ix_jobs_claim) "
	"WHERE state = 'ready' AND run_after <= UTC_TIMESTAMP(6) LIMIT ?) due";

static void scale(struct supervisor *s, int64_t now)
{
	struct vg_db_result res;
	long long due = -1, in_flight, want;
	long long conc = s->cfg->workers.concurrency;

	if (now < s->next_scale_ms)
		return;
	s->next_scale_ms = now + SCALE_EVERY_MS;
	for (unsigned k = 0; k < s->shards.n; k++) {
		struct vg_db *db = vg_shards_db(&s->shards, k);
		struct vg_db_param p[] = {vg_p_i64(s->cfg->workers.max * conc)};
		long long n = vg_db_query(db, due_sql, p, VG_DB_NPARAMS(p), &res);

		shard_watch_note(&s->watch, db, n >= 0, "supervisor");
		if (n == 1)
			due = (due < 0 ? 0 : due) + strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
		vg_db_result_free(&res);
	}
	if (due < 0)
		return; /* no database, no decision */
	in_flight = jobs_held(s);

	/* Straight to the size the work needs (bounded by workers.max), not
	 * one worker per tick: a burst of uploads is otherwise worked off by a
	 * pool still growing when the burst is over. */
	want = (in_flight + due + conc - 1) / conc;
	if (want > s->cfg->workers.max)
		want = s->cfg->workers.max;
	if (due > 0 && want > (long long)s->target) {
		s->target = (size_t)want;
		s->idle_since_ms = 0;
		vg_info("msg=\"scaling up\" workers=%zu due_jobs=%lld in_flight=%lld", s->target,
			due, in_flight);
		return;
	}
	if (due == 0 && in_flight <= (long long)(s->target - 1) * s->cfg->workers.concurrency / 2 &&
	    s->target > (size_t)s->cfg->workers.min) {
		if (!s->idle_since_ms)
			s->idle_since_ms = now;
		if (now - s->idle_since_ms >= s->cfg->workers.idle_seconds * 1000) {
			s->target--;
			s->idle_since_ms = now;
			vg_info("msg=\"scaling down\" workers=%zu in_flight=%lld", s->target,
				in_flight);
		}
	} else {
		s->idle_since_ms = 0;
	}
}

/* Workers in slots at or past the target are told to drain (and not refilled). */
static void retire_extra(struct supervisor *s)
{
	for (size_t i = s->target; i < SLOTS; i++) {
		struct vg_prefork_slot *w = &s->pf.slots[i];

		if (w->pid > 0 && !w->retiring) {
			kill(w->pid, SIGTERM);
			w->retiring = 1;
		}
	}
}

static void fill(struct supervisor *s, int64_t now)
{
	for (size_t i = 0; i < s->target; i++)
		if (vg_prefork_due(&s->pf, i, now))
			spawn(s, i);
}

static const char register_sql[] =
	"INSERT INTO workers (host, pid, role, started_at, heartbeat_at, state, jobs_in_flight) "
	"VALUES (?, ?, 'supervisor', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'running', ?)";
static const char beat_sql[] =
	"UPDATE workers SET heartbeat_at = UTC_TIMESTAMP(6), state = ?, jobs_in_flight = ? "
	"WHERE id = ?";
static const char last_id_sql[] = "SELECT LAST_INSERT_ID()";
static const char unregister_self_sql[] = "DELETE FROM workers WHERE id = ?";

/* Our row on shard k: inserted until that works, then refreshed; inserted
 * again if someone removed it. */
static void beat_shard(struct supervisor *s, unsigned k, long long in_flight)
{
	struct vg_db *db = vg_shards_db(&s->shards, k);
	long long n;

	if (!s->row_id[k]) {
		struct vg_db_param p[] = {vg_p_str(s->host), vg_p_i64(getpid()),
					  vg_p_i64(in_flight)};
		struct vg_db_result res;

		n = vg_db_exec(db, register_sql, p, VG_DB_NPARAMS(p));
		shard_watch_note(&s->watch, db, n >= 0, "supervisor");
		if (n == 1 && vg_db_query(db, last_id_sql, NULL, 0, &res) == 1) {
			s->row_id[k] = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
			vg_db_result_free(&res);
		}
		return;
	}
	{
		struct vg_db_param p[] = {vg_p_str(s->draining ? "draining" : "running"),
					  vg_p_i64(in_flight), vg_p_i64(s->row_id[k])};

		n = vg_db_exec(db, beat_sql, p, VG_DB_NPARAMS(p));
	}
	shard_watch_note(&s->watch, db, n >= 0, "supervisor");
	if (n == 0)
		s->row_id[k] = 0; /* someone removed our row: insert it again */
}

/* Shard k's housekeeping, if we are (or become) its janitor. */
static void janitor_shard(struct supervisor *s, unsigned k)
{
	struct vg_db *db = vg_shards_db(&s->shards, k);
	int mine = janitor_acquire(db), n;

	shard_watch_note(&s->watch, db, mine >= 0, "supervisor");
	if (mine >= 0 && mine != s->janitor[k]) {
		if (!mine)
			vg_warn("msg=\"no longer the janitor\" shard=%u", k);
		s->janitor[k] = (unsigned char)mine;
	}
	if (mine != 1)
		return;
	/* Reap until a batch comes back short. */
	while ((n = janitor_reap(db, s->cfg, &s->cache)) >= 100)
		;
	/* Then a second at most of moving finished jobs to the archive. */
	janitor_archive(db, s->cfg, 1000);
	if (!s->store_ok)
		return;
	/* The db store keeps a video's bytes on the video's shard: its
	 * removals must go to this shard's connection. */
	s->store.db = db;
	while ((n = janitor_orphans(db, s->cfg, &s->store)) >= 100)
		;
	while ((n = vg_retention_pass(db, &s->store, &s->cache, 100, 0, NULL)) >= 100)
		;
	s->store.db = vg_shards_db(&s->shards, 0);
}

static void housekeeping(struct supervisor *s, int64_t now)
{
	long long in_flight = jobs_held(s);

	if (now >= s->next_beat_ms) {
		s->next_beat_ms = now + BEAT_EVERY_MS;
		for (unsigned k = 0; k < s->shards.n; k++)
			beat_shard(s, k, in_flight);
	}
	if (now >= s->next_janitor_ms && !s->draining) {
		s->next_janitor_ms = now + s->cfg->retention.janitor_interval_seconds * 1000;
		for (unsigned k = 0; k < s->shards.n; k++)
			janitor_shard(s, k);
		/* Staging is per host: every supervisor sweeps its own, janitor or not. */
		if (s->store_ok)
			janitor_staging(&s->shards, s->cfg, &s->store);
	}
}

static void reload(struct supervisor *s)
{
	struct vg_config *fresh = vg_calloc(1, sizeof(*fresh));
	char err[512];

	if (vg_config_load(fresh, s->config_path, err, sizeof(err)) < 0) {
		vg_error("msg=\"reload refused: bad configuration; keeping the running one\" "
			 "error=\"%s\"",
			 err);
		free(fresh);
		return;
	}
	/* The store borrows the configuration: reopen it on the fresh one
	 * before the old one is freed (s3 reads its settings on every request). */
	if (s->store_ok)
		vg_store_close(&s->store);
	vg_config_free(s->cfg);
	free(s->cfg);
	s->cfg = fresh;
	/* The old connections go (and the janitor locks and workers rows with
	 * them: the rows are inserted again on the next beat; the old ones
	 * are removed by the janitor after an hour's silence, as before). */
	vg_shards_close(&s->shards);
	vg_shards_init(&s->shards, s->cfg);
	memset(s->janitor, 0, sizeof(s->janitor));
	memset(s->row_id, 0, sizeof(s->row_id));
	memset(&s->watch, 0, sizeof(s->watch));
	s->store_ok = vg_store_open(&s->store, s->cfg, vg_shards_db(&s->shards, 0)) == 0;
	if (!s->store_ok)
		vg_warn("msg=\"store not usable here: orphaned uploads are not collected by this supervisor\"");
	if (s->target < (size_t)fresh->workers.min)
		s->target = (size_t)fresh->workers.min;
	if (s->target > (size_t)fresh->workers.max)
		s->target = (size_t)fresh->workers.max;
	vg_info("msg=\"configuration reloaded; rolling the pool\" workers=%zu", s->target);
	/* Each worker drains and exits 0; its slot is refilled with the new config. */
	vg_prefork_signal(&s->pf, SIGTERM);
	for (size_t i = 0; i < SLOTS; i++)
		s->pf.slots[i].retiring = s->pf.slots[i].pid > 0;
}

static void handle_signals(struct supervisor *s)
{
	int sigs[64];
	size_t n = vg_sigpipe_read(sigs, 64);

	for (size_t i = 0; i < n; i++) {
		int sig = sigs[i];

		if ((sig == SIGTERM || sig == SIGQUIT || sig == SIGINT) && !s->draining) {
			vg_info("msg=\"draining\" signal=%d workers=%zu", sig,
				vg_prefork_alive(&s->pf));
			vg_notify("STOPPING=1");
			s->draining = 1;
			vg_prefork_stop(&s->pf, SIGTERM);
		} else if (sig == SIGHUP && !s->draining) {
			vg_notify("RELOADING=1");
			reload(s);
			vg_notify("READY=1");
		}
	}
}

/* The counters file for /metrics, once a second (see wmetrics.h). */
static void publish_metrics(struct supervisor *s, int64_t now)
{
	if (now < s->next_metrics_ms)
		return;
	s->next_metrics_ms = now + 1000;
	wmetrics_publish(s->cfg->workers.metrics_file, vg_prefork_alive(&s->pf), jobs_held(s));
}

int supervisor_run(const char *config_path, struct vg_config *cfg, int argc, char **argv)
{
	struct supervisor *s = vg_calloc(1, sizeof(*s));
	int64_t grace;
	int sigfd;

	s->config_path = config_path;
	s->cfg = cfg;
	s->target = (size_t)(cfg->workers.min > 0 ? cfg->workers.min : 1);
	s->board = scoreboard_new(SLOTS);
	vg_prefork_init(&s->pf, SLOTS, "vingest-workers", "worker", "vg-worker");
	wmetrics_open(); /* before any fork: workers add to the supervisor's counters */
	gethostname(s->host, sizeof(s->host));
	s->host[sizeof(s->host) - 1] = '\0';
	sigfd = vg_sigpipe_open();
	if (!s->board || sigfd < 0) {
		vg_error("msg=\"cannot set up the supervisor\" error=\"%s\"", strerror(errno));
		return 1;
	}
	vg_shards_init(&s->shards, cfg);
	vg_cache_open(&s->cache, cfg);
	/* shard 0 for the db backend; janitor_shard() points it at each shard */
	s->store_ok = vg_store_open(&s->store, cfg, vg_shards_db(&s->shards, 0)) == 0;
	if (!s->store_ok)
		vg_warn("msg=\"store not usable here: orphaned uploads are not collected by this supervisor\"");
	vg_proctitle_init(argc, argv);
	vg_proctitle_set("vingest-workers", "supervisor", "vg-supervisor");
	vg_info("msg=\"supervisor started\" workers_min=%lld workers_max=%lld concurrency=%lld",
		cfg->workers.min, cfg->workers.max, cfg->workers.concurrency);
	vg_notify("READY=1");

	for (;;) {
		struct pollfd pfd = {sigfd, POLLIN, 0};
		int64_t now;

		poll(&pfd, 1, TICK_MS);
		handle_signals(s);
		reap(s);
		now = vg_mono_ms();
		if (!s->draining) {
			kill_stale(s, now);
			scale(s, now);
			retire_extra(s);
			fill(s, now);
			housekeeping(s, now);
			publish_metrics(s, now);
			continue;
		}
		/* draining: SIGTERM sent; SIGKILL after the grace */
		if (vg_prefork_alive(&s->pf) == 0)
			break;
		grace = s->cfg->workers.drain_seconds * 1000 + KILL_GRACE_MS;
		if (vg_prefork_escalate(&s->pf, now, -1, grace) == SIGKILL)
			vg_error("msg=\"workers did not drain in time; killing\" workers=%zu",
				 vg_prefork_alive(&s->pf));
	}
	for (unsigned k = 0; k < s->shards.n; k++) {
		struct vg_db_param p[] = {vg_p_i64(s->row_id[k])};

		if (s->row_id[k])
			vg_db_exec(vg_shards_db(&s->shards, k), unregister_self_sql, p,
				   VG_DB_NPARAMS(p));
	}
	vg_info("msg=\"supervisor stopped\"");
	vg_shards_close(&s->shards);
	vg_cache_close(&s->cache);
	vg_store_close(&s->store);
	scoreboard_free(s->board, SLOTS);
	vg_prefork_free(&s->pf);
	vg_sigpipe_close();
	vg_config_free(s->cfg);
	free(s->cfg);
	free(s);
	return 0;
}
