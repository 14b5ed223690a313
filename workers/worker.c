/*
 * worker.c - the worker loop (see worker.h).
 *
 * One turn: claim if there is room and the breaker allows, start calls the
 * rate cap allows, renew leases that are a third used, let libcurl run for
 * up to 200 ms, and act on every answer:
 *
 *   2xx with a JSON object      done: job done, video processed, result kept
 *                               as json-c writes it (answer.h)
 *   202 + status_url            if it is on processor.url's origin (status_url.h):
 *                               stored with the job, which goes back to ready until
 *                               its next poll (every 2 s or Retry-After); whoever
 *                               claims it then polls (GET) instead of calling, until
 *                               200/4xx/5xx or processor.async_deadline_seconds
 *                               from the first 202
 *   408, 429, 5xx, timeout,     back to ready after exponential back-off with
 *   connection error, a 2xx     full jitter (Retry-After honoured)
 *   that is not a result, a
 *   status_url off the origin
 *   other 4xx, 3xx              dead at once (a request the service will never take;
 *                               a redirect is never followed)
 *   attempts used up            dead
 *
 * What the service says reaches jobs.last_error and videos.result only
 * through answer.h: the worker's own words for an error (with a short,
 * cleaned excerpt of a JSON error's message), json-c's rendering of a result.
 *
 * A job the service accepted is held by no worker while it waits: no
 * lease, no concurrency slot, nothing in memory for a drain, reload or
 * crash to lose - the status_url and the first 202's time are in its row
 * (lease_wait), and a poll is one short claim, one GET under the same
 * processor.max_rps as a call, and the outcome. A poll is not an attempt.
 *
 * An attempt does not count when the call never reached the service
 * (connection refused, name not resolved), when the service throttles
 * (429), or when the breaker is open (the service is down, not the job
 * bad): "never burn jobs against a dependency that is down".
 *
 * Shards (vg_shards.h): one worker claims from every shard, one connection
 * each, and writes each job's lease, outcome and attempt on the shard it came
 * from. Each shard has its own next-claim time: a shard whose claim fails is
 * left alone for a second and one that had nothing waits
 * workers.idle_claim_ms, while the others are claimed from as before - a
 * shard that is down slows only its own jobs. A claim turn starts one shard
 * further in the rotation each time and offers each shard that is due an
 * equal share of the free room (at most jobs.batch), so one deep shard cannot
 * starve the rest. With one shard all of this is the old single loop.
 */
#include "worker.h"
#include "answer.h"
#include "async.h"
#include "backoff.h"
#include "breaker.h"
#include "call.h"
#include "claim.h"
#include "hooks.h"
#include "job.h"
#include "lease.h"
#include "scoreboard.h"
#include "status_url.h"
#include "vg_alloc.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_shards.h"
#include "vg_store.h"
#include "vg_time.h"
#include "vg_video_cache.h"
#include "vg_failpoint.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TURN_MS		200
#define DB_HEARTBEAT_MS 5000 /* workers.heartbeat_at refresh */

static volatile sig_atomic_t drain_requested;

static void on_drain(int sig)
{
	(void)sig;
	drain_requested = 1;
}

struct worker {
	const struct vg_config *cfg;
	struct scoreboard_slot *slot;
	struct vg_shards shards;
	struct shard_watch watch;
	struct vg_cache cache;
	struct caller caller;
	struct breaker breaker;
	struct hooks hooks;   /* webhook deliveries, between the jobs */
	struct job *jobs;     /* held: calling, polling or waiting to start */
	struct job *finished; /* held: answered 2xx, waiting for this turn's batch write */
	unsigned held;	      /* both lists */
	char owner[300];
	long long row_id[VG_SHARDS_MAX]; /* our row in each shard's `workers`, 0: none yet */
	int64_t next_claim_ms[VG_SHARDS_MAX];
	unsigned claim_start; /* the shard the next claim turn starts at */
	int64_t next_renew_ms;
	int64_t next_db_beat_ms;
	long long done;
};

/* ---- bookkeeping ---- */

static struct vg_db *job_db(struct worker *w, const struct job *j)
{
	return vg_shards_db(&w->shards, j->shard);
}

/* After a write for j: notes whether its shard answered (shard_watch_note). */
static void note(struct worker *w, const struct job *j, int rc)
{
	shard_watch_note(&w->watch, job_db(w, j), rc >= 0, "worker");
}

/* Takes j out of the held list (it stays counted in held). */
static void unlink_job(struct worker *w, struct job *j)
{
	struct job **pp = &w->jobs;

	while (*pp && *pp != j)
		pp = &(*pp)->next;
	if (*pp)
		*pp = j->next;
	j->next = NULL;
}

static void forget(struct worker *w, struct job *j)
{
	unlink_job(w, j);
	call_abort(&w->caller, j);
	job_free(j);
	w->held--;
}

static void lease_lost(struct worker *w, struct job *j, const char *when)
{
	vg_warn("msg=\"lease lost; another worker owns the job now, dropping it\" job_id=%lld "
		"shard=%u video_id=%s during=%s",
		j->id, j->shard, j->video_id, when);
	forget(w, j);
}

/* ---- outcomes ---- */

/* A 2xx: queued for flush_done(), which writes every done outcome of this
 * turn in one transaction. The job keeps its lease until then (a turn is at
 * most TURN_MS, the lease minutes). result (answer_result()'s) is the job's now. */
static void finish_done(struct worker *w, struct job *j, int status, char *result)
{
	unlink_job(w, j);
	j->done_status = status;
	j->done_result = result; /* ours now */
	j->next = w->finished;
	w->finished = j;
}

/* One transaction a shard: a shard's done outcomes share its COMMIT; a shard
 * that is down fails only its own batch. */
static void flush_done(struct worker *w)
{
	struct job **batch, *j;
	size_t n = 0, i, m;
	int *rc;

	for (j = w->finished; j; j = j->next)
		n++;
	if (n == 0)
		return;
	batch = vg_malloc(n * sizeof(*batch));
	rc = vg_malloc(n * sizeof(*rc));
	for (unsigned k = 0; k < w->shards.n; k++) {
		struct vg_db *db = vg_shards_db(&w->shards, k);
		int brc;

		for (m = 0, j = w->finished; j; j = j->next)
			if (j->shard == k)
				batch[m++] = j;
		if (m == 0)
			continue;
		brc = lease_done_batch(db, batch, m, rc);
		shard_watch_note(&w->watch, db, brc == 0, "worker");
		if (brc < 0)
			/* The database is down: the leases run out and the jobs are
			 * retried; the service sees the same Idempotency-Key, so no
			 * double effect. */
			vg_error(
				"msg=\"cannot record finished jobs; they will be retried\" shard=%u "
				"jobs=%zu",
				k, m);
		for (i = 0; i < m; i++) {
			j = batch[i];
			if (rc[i] == 1) {
				vg_video_cache_invalidate(&w->cache, j->video_id);
				w->done++;
				vg_info("msg=\"job done\" job_id=%lld shard=%u video_id=%s attempt=%u "
					"http_status=%d ms=%lld",
					j->id, j->shard, j->video_id, j->attempt, j->done_status,
					(long long)(vg_mono_ms() - j->claimed_ms));
			} else if (rc[i] == 0) {
				vg_warn("msg=\"lease lost; another worker owns the job now, dropping "
					"it\" job_id=%lld shard=%u video_id=%s during=finish",
					j->id, j->shard, j->video_id);
			}
		}
	}
	/* Every job on the list has a shard below shards.n (it was claimed there). */
	while (w->finished) {
		j = w->finished;
		w->finished = j->next;
		job_free(j);
		w->held--;
	}
	free(batch);
	free(rc);
}

/* Seconds left before j's asynchronous deadline (it was claimed to poll). */
static double deadline_left_s(const struct job *j)
{
	return (double)(j->async_deadline_ms - vg_mono_ms()) / 1000.0;
}

/*
 * The service has the job (a 202 to a call, status_url its new one; or to
 * a poll, or a poll that did not reach it, status_url NULL): back to ready
 * until the next poll, delay_s from now, and let go of it (lease_wait).
 */
static void finish_wait(struct worker *w, struct job *j, const char *status_url, int status,
			const char *error, double delay_s)
{
	int rc = lease_wait(job_db(w, j), j, status_url, delay_s, status, error);

	note(w, j, rc);
	if (rc == 0) {
		lease_lost(w, j, "wait");
		return;
	}
	if (rc == 1) {
		vg_video_cache_invalidate(&w->cache, j->video_id);
		if (status_url)
			vg_info("msg=\"job accepted; waiting for the service\" job_id=%lld shard=%u "
				"video_id=%s attempt=%u next_poll_s=%.1f",
				j->id, j->shard, j->video_id, j->attempt, delay_s);
		else if (error)
			vg_info("msg=\"status poll failed; polling again later\" job_id=%lld "
				"shard=%u video_id=%s attempt=%u http_status=%d next_poll_s=%.1f "
				"error=\"%s\"",
				j->id, j->shard, j->video_id, j->attempt, status, delay_s, error);
		else
			vg_debug("msg=\"job still processing at the service\" job_id=%lld "
				 "shard=%u video_id=%s next_poll_s=%.1f",
				 j->id, j->shard, j->video_id, delay_s);
	}
	forget(w, j);
}

/* Transient failure: retry later, or dead when attempts are used up. A job
 * claimed to poll whose failure does not count (the poll never reached the
 * service, 429, the breaker open) keeps its status_url and is polled again
 * after the back-off: the service still has it. */
static void finish_retry(struct worker *w, struct job *j, int status, const char *error, int refund)
{
	double delay;
	int rc;

	if (refund && j->stored_url) {
		delay = backoff_delay(1, (double)w->cfg->jobs.backoff_base_seconds,
				      (double)w->cfg->jobs.backoff_max_seconds, j->retry_after_s);
		if (delay > deadline_left_s(j))
			delay = deadline_left_s(j) > 0 ? deadline_left_s(j) : 0;
		finish_wait(w, j, NULL, status, error, delay);
		return;
	}
	if (!refund && j->attempt >= j->max_attempts) {
		char why[ANSWER_ERROR_SIZE + 64];

		/* error is at most ANSWER_ERROR_SIZE bytes: never cut here, where a
		 * cut could split a UTF-8 character the column would refuse */
		snprintf(why, sizeof(why), "attempts used up (%u); last: %s", j->attempt, error);
		rc = lease_dead(job_db(w, j), j, status, why);
		if (rc == 1)
			vg_warn("msg=\"job dead\" job_id=%lld shard=%u video_id=%s attempts=%u "
				"error=\"%s\"",
				j->id, j->shard, j->video_id, j->attempt, error);
	} else {
		delay = backoff_delay(refund ? 1 : j->attempt,
				      (double)w->cfg->jobs.backoff_base_seconds,
				      (double)w->cfg->jobs.backoff_max_seconds, j->retry_after_s);
		rc = lease_retry(job_db(w, j), j, status, error, delay, refund);
		if (rc == 1)
			vg_info("msg=\"job retry\" job_id=%lld shard=%u video_id=%s attempt=%u "
				"counted=%s http_status=%d delay_s=%.1f error=\"%s\"",
				j->id, j->shard, j->video_id, j->attempt, refund ? "no" : "yes",
				status, delay, error);
	}
	note(w, j, rc);
	if (rc == 0) {
		lease_lost(w, j, "retry");
		return;
	}
	if (rc == 1)
		vg_video_cache_invalidate(&w->cache, j->video_id);
	forget(w, j);
}

static void finish_dead(struct worker *w, struct job *j, int status, const char *error)
{
	int rc = lease_dead(job_db(w, j), j, status, error);

	note(w, j, rc);
	if (rc == 0) {
		lease_lost(w, j, "dead");
		return;
	}
	if (rc == 1) {
		vg_video_cache_invalidate(&w->cache, j->video_id);
		vg_warn("msg=\"job dead\" job_id=%lld shard=%u video_id=%s http_status=%d "
			"error=\"%s\"",
			j->id, j->shard, j->video_id, status, error);
	}
	forget(w, j);
}

/*
 * A status_url the worker will not follow (a 202's, or a stored one that is
 * no longer on processor.url's origin when its poll starts): it is never
 * requested. The attempt fails, counted, so a service that keeps naming
 * other places dead-letters its jobs rather than parking them; and it is
 * not a breaker failure, since the service is up - it is wrong, and every
 * job it answers so shows why in last_error. last_error does not name the
 * host (users read it, and a host on the inside is none of theirs); the
 * log line, for operators, does.
 */
static void refuse_status_url(struct worker *w, struct job *j, enum status_url_verdict v,
			      const char *host)
{
	char err[ANSWER_ERROR_SIZE];

	vg_warn("msg=\"status_url refused: not on the processing service's origin\" "
		"job_id=%lld shard=%u video_id=%s host=%s reason=\"%s\"",
		j->id, j->shard, j->video_id, host, status_url_why(v));
	snprintf(err, sizeof(err),
		 "status_url refused: not on the processing service's origin (%s)",
		 status_url_why(v));
	finish_retry(w, j, 202, err, 0);
}

/*
 * A 202 to the POST: the job waits for its status_url, if it is one the
 * worker may follow (status_url.h; else refuse_status_url). It is stored
 * with the job as the service named it - checked here, and again when a
 * poll resolves it against processor.url, which may have changed
 * meanwhile; never as resolved, which would store processor.url's
 * credentials. A 202 is the service answering sensibly: a success for the
 * breaker (it settles a probe too).
 */
static void on_accepted(struct worker *w, struct job *j)
{
	struct json_object *o =
		answer_object(vg_buf_str(&j->response), vg_buf_len(&j->response), 8);
	struct json_object *u = NULL;
	enum status_url_verdict v;
	char host[256];
	char *url = NULL, *raw;

	if (!o || !json_object_object_get_ex(o, "status_url", &u) ||
	    !json_object_is_type(u, json_type_string)) {
		json_object_put(o);
		breaker_failure(&w->breaker, vg_mono_ms());
		finish_retry(w, j, 202, "202 without a usable status_url", 0);
		return;
	}
	v = status_url_check(w->cfg->processor.url, json_object_get_string(u), &url, host,
			     sizeof(host));
	raw = vg_strdup(json_object_get_string(u));
	json_object_put(o);
	if (v != STATUS_URL_OK) {
		free(raw);
		refuse_status_url(w, j, v, host);
		return;
	}
	free(url); /* resolved with processor.url's credentials: never stored */
	breaker_success(&w->breaker);
	finish_wait(w, j, raw, 202, NULL,
		    async_next_poll_s(j->retry_after_s,
				      (double)w->cfg->processor.async_deadline_seconds));
	free(raw);
}

/* A transfer that ended without a whole answer. */
static void on_transfer_failed(struct worker *w, struct job *j, int curl_code, int status)
{
	int unreached = curl_code == CURLE_COULDNT_CONNECT ||
			curl_code == CURLE_COULDNT_RESOLVE_HOST ||
			curl_code == CURLE_COULDNT_RESOLVE_PROXY;
	char err[ANSWER_ERROR_SIZE];
	int open;

	if (vg_buf_overflowed(&j->response))
		snprintf(err, sizeof(err), "processing service answered %d with a body over %d KiB",
			 status, ANSWER_BODY_MAX / 1024);
	else
		answer_transfer_error(err, sizeof(err), curl_code, j->call_ms);
	open = breaker_failure(&w->breaker, vg_mono_ms());
	finish_retry(w, j, vg_buf_overflowed(&j->response) ? status : 0, err, unreached || open);
}

static void on_answer(void *ud, struct job *j, int curl_code, long http_status)
{
	struct worker *w = ud;
	char what[128], err[ANSWER_ERROR_SIZE];
	int status = (int)http_status;

	if (VG_FAILPOINT("worker.after_call") < 0) {
		finish_retry(w, j, 0, "failpoint worker.after_call", 0);
		return;
	}
	if (curl_code != CURLE_OK) {
		on_transfer_failed(w, j, curl_code, status);
		return;
	}
	if (status == 202 && j->stored_url) {
		/* a poll: still processing; ask again later (its body, a new
		 * status_url included, is not read: the first one stands) */
		breaker_success(&w->breaker);
		finish_wait(w, j, NULL, 202, NULL,
			    async_next_poll_s(j->retry_after_s, deadline_left_s(j)));
		return;
	}
	if (status == 202) {
		on_accepted(w, j);
		return;
	}
	if (j->stored_url && status == 404) {
		/* the service forgot an accepted job: call again (same Idempotency-Key) */
		answer_error(err, sizeof(err), "status_url answered 404", vg_buf_str(&j->response),
			     vg_buf_len(&j->response));
		finish_retry(w, j, status, err, 0);
		return;
	}
	if (status >= 200 && status < 300) {
		char *result = NULL;
		enum answer_result rc =
			answer_result(vg_buf_str(&j->response), vg_buf_len(&j->response), &result);

		if (rc != ANSWER_RESULT_OK) {
			/* Not taken as done: the worker cannot tell a proxy's page or a
			 * cut-off answer from the service's own, and "done" would record
			 * an effect that may not have happened. So it counts as a 5xx
			 * does: the retry is harmless (same Idempotency-Key), a job
			 * answered so every time is dead-lettered with this reason, and
			 * a service answering every job so opens the breaker. */
			snprintf(err, sizeof(err), "processing service answered %d with %s", status,
				 answer_result_why(rc));
			finish_retry(w, j, status, err, breaker_failure(&w->breaker, vg_mono_ms()));
			return;
		}
		breaker_success(&w->breaker);
		finish_done(w, j, status, result);
		return;
	}
	snprintf(what, sizeof(what), "processing service answered %d", status);
	answer_error(err, sizeof(err), what, vg_buf_str(&j->response), vg_buf_len(&j->response));
	if (status == 429) {
		/* Throttled: the service is fine and the job is fine; wait as told. */
		finish_retry(w, j, status, err, 1);
	} else if (status == 408 || status >= 500) {
		finish_retry(w, j, status, err, breaker_failure(&w->breaker, vg_mono_ms()));
	} else {
		breaker_success(&w->breaker); /* it answered sensibly */
		finish_dead(w, j, status, err);
	}
}

/* ---- the loop ---- */

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_drain;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static const char register_sql[] =
	"INSERT INTO workers (host, pid, role, started_at, heartbeat_at, state, jobs_in_flight) "
	"VALUES (?, ?, 'worker', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'running', 0)";
static const char beat_sql[] =
	"UPDATE workers SET heartbeat_at = UTC_TIMESTAMP(6), state = ?, jobs_in_flight = ? "
	"WHERE id = ?";
static const char last_id_sql[] = "SELECT LAST_INSERT_ID()";
static const char unregister_sql[] = "DELETE FROM workers WHERE id = ?";

/* Our row on shard k: inserted until that works, then refreshed. A shard
 * that is down is skipped and caught up on the next beat; a row that has
 * gone (that shard's janitor removed it while we could not reach it) is
 * inserted again, so every reachable shard's `workers` shows the fleet. */
static void db_beat_shard(struct worker *w, unsigned k)
{
	struct vg_db *db = vg_shards_db(&w->shards, k);
	long long n;

	if (!w->row_id[k]) {
		char host[256];
		struct vg_db_result res;

		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = '\0';
		{
			struct vg_db_param p[] = {vg_p_str(host), vg_p_i64(getpid())};

			n = vg_db_exec(db, register_sql, p, VG_DB_NPARAMS(p));
		}
		shard_watch_note(&w->watch, db, n >= 0, "worker");
		if (n != 1)
			return;
		if (vg_db_query(db, last_id_sql, NULL, 0, &res) == 1)
			w->row_id[k] = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
		vg_db_result_free(&res);
		return;
	}
	{
		struct vg_db_param p[] = {vg_p_str(drain_requested ? "draining" : "running"),
					  vg_p_i64(w->held), vg_p_i64(w->row_id[k])};

		n = vg_db_exec(db, beat_sql, p, VG_DB_NPARAMS(p));
	}
	shard_watch_note(&w->watch, db, n >= 0, "worker");
	if (n == 0)
		w->row_id[k] = 0; /* the row is gone: insert it again next beat */
}

static void db_heartbeat(struct worker *w, int64_t now)
{
	if (now < w->next_db_beat_ms)
		return;
	w->next_db_beat_ms = now + DB_HEARTBEAT_MS;
	for (unsigned k = 0; k < w->shards.n; k++)
		db_beat_shard(w, k);
}

static void renew_leases(struct worker *w, int64_t now)
{
	struct job *j, *next;

	if (now < w->next_renew_ms)
		return;
	/* Renew when a third of the lease is used: two more chances before it runs out. */
	w->next_renew_ms = now + w->cfg->jobs.lease_seconds * 1000 / 3;
	for (j = w->jobs; j; j = next) {
		next = j->next;
		int rc;

		if (VG_FAILPOINT("lease.renew") < 0)
			continue; /* as if the database did not answer: the lease runs on */
		rc = lease_renew(job_db(w, j), w->cfg, j);
		note(w, j, rc);
		if (rc == 0)
			lease_lost(w, j, "renewal");
	}
}

/* Claims up to max jobs from shard k. Returns the number claimed, or -1. */
static int claim_from(struct worker *w, unsigned k, unsigned max, int64_t now)
{
	struct vg_db *db = vg_shards_db(&w->shards, k);
	long long deadline_s = w->cfg->processor.async_deadline_seconds;
	int n = claim_jobs(db, w->cfg, w->owner, max, &w->jobs);

	shard_watch_note(&w->watch, db, n >= 0, "worker");
	if (n < 0) {
		/* Down or in trouble: leave this shard alone a little, the
		 * others go on. */
		w->next_claim_ms[k] = now + 1000;
		return -1;
	}
	w->held += (unsigned)n;
	{
		struct job *j = w->jobs; /* the claimed ones are at the head */

		for (int i = 0; j && i < n; j = j->next, i++) {
			vg_video_cache_invalidate(&w->cache, j->video_id); /* now processing */
			j->claimed_ms = now;
			if (j->stored_url)
				j->async_deadline_ms =
					now +
					(int64_t)(1000 * async_time_left_s(deadline_s,
									   j->accepted_age_ms));
		}
	}
	/* A full batch says there is more: come back at once. */
	if ((unsigned)n < max)
		w->next_claim_ms[k] = now + w->cfg->workers.idle_claim_ms;
	return n;
}

static void claim_more(struct worker *w, int64_t now)
{
	unsigned room, share, due = 0, start, nshards = w->shards.n;
	unsigned batch = (unsigned)w->cfg->jobs.batch;
	int allow, claimed = 0;

	if (drain_requested)
		return;
	room = (unsigned)w->cfg->workers.concurrency - w->held;
	if (room == 0)
		return;
	for (unsigned k = 0; k < nshards; k++)
		due += now >= w->next_claim_ms[k];
	if (due == 0)
		return;
	allow = breaker_allow(&w->breaker, now);
	if (allow == 0) {
		for (unsigned k = 0; k < nshards; k++)
			if (w->next_claim_ms[k] < now + 1000)
				w->next_claim_ms[k] = now + 1000;
		return;
	}
	/* The probe is one job in all; otherwise each due shard is offered an
	 * equal share of the room (rounded up), at most a batch. */
	share = allow == 2 ? 1 : (room + due - 1) / due;
	if (share > batch)
		share = batch;
	start = w->claim_start % nshards;
	w->claim_start = (start + 1) % nshards;
	for (unsigned i = 0; i < nshards && room > 0; i++) {
		unsigned k = (start + i) % nshards;
		int n;

		if (now < w->next_claim_ms[k])
			continue;
		if (allow == 2 && claimed > 0)
			break;
		n = claim_from(w, k, share < room ? share : room, now);
		if (n > 0) {
			claimed += n;
			room -= (unsigned)n;
		}
	}
	/* No shard had a job for the probe: give it back (breaker.h). */
	if (allow == 2 && claimed == 0)
		breaker_probe_release(&w->breaker);
}

/* Resolves j's stored status_url against processor.url - it may have
 * changed since the 202 - and polls it; one no longer on its origin is
 * refused as on_accepted refuses it. */
static void start_poll(struct worker *w, struct job *j)
{
	enum status_url_verdict v;
	char host[256];

	free(j->status_url);
	v = status_url_check(w->cfg->processor.url, j->stored_url, &j->status_url, host,
			     sizeof(host));
	if (v != STATUS_URL_OK) {
		refuse_status_url(w, j, v, host);
		return;
	}
	if (call_start_poll(&w->caller, j) < 0)
		finish_retry(w, j, 0, "cannot start a status poll", 1);
}

/* Starts calls and polls that are due and within the rate cap. */
static void start_calls(struct worker *w, int64_t now)
{
	struct job *j, *next;

	for (j = w->jobs; j; j = next) {
		next = j->next;
		if (j->easy)
			continue;
		if (j->stored_url) {
			/* Claimed to poll. Past the deadline (from the first
			 * 202): the attempt fails and counts, and the job is
			 * called again or, its attempts used up, dead. */
			if (now >= j->async_deadline_ms) {
				finish_retry(w, j, 0, "asynchronous processing took too long", 0);
				continue;
			}
			/* A poll is a request to the service like a call:
			 * it takes its token from processor.max_rps. */
			if (!breaker_rate_take(&w->breaker, time(NULL)))
				break;
			start_poll(w, j);
			continue;
		}
		if (drain_requested)
			continue;
		if (!breaker_rate_take(&w->breaker, time(NULL)))
			break; /* over processor.max_rps this second */
		if (VG_FAILPOINT("worker.after_claim") < 0) {
			finish_retry(w, j, 0, "failpoint worker.after_claim", 0);
			continue;
		}
		{
			char *url = vg_store_object_url(w->cfg, j->object_key);
			int rc = call_start_post(&w->caller, j, url);

			free(url);
			if (rc < 0)
				finish_retry(w, j, 0, "cannot start the call", 1);
			else
				(void)VG_FAILPOINT(
					"worker.during_call"); /* crash or stall mid-call */
		}
	}
}

/* How long this turn may wait for answers: TURN_MS, or less when a claim is
 * due sooner (an idle worker must look for work every workers.idle_claim_ms,
 * not every TURN_MS). */
static int turn_ms(const struct worker *w, int64_t now)
{
	int64_t wait = TURN_MS, next = INT64_MAX;

	for (unsigned k = 0; k < w->shards.n; k++)
		if (w->next_claim_ms[k] < next)
			next = w->next_claim_ms[k];
	if (!drain_requested && w->held < (unsigned)w->cfg->workers.concurrency &&
	    next - now < wait)
		wait = next > now ? next - now : 0;
	/* webhook calls progress between turns (their own multi handle) */
	if (hooks_in_flight(&w->hooks) && wait > 50)
		wait = 50;
	return (int)wait;
}

/* Drain deadline passed: give every held job back, ready at once, attempt not counted. */
static void release_all(struct worker *w)
{
	while (w->jobs) {
		struct job *j = w->jobs;

		call_abort(&w->caller, j);
		/* one claimed to poll keeps its status_url: poll it again at once */
		if ((j->stored_url ? lease_wait(job_db(w, j), j, NULL, 0.0, 0,
						"released by a draining worker")
				   : lease_retry(job_db(w, j), j, 0,
						 "released by a draining worker", 0.0, 1)) == 1) {
			vg_video_cache_invalidate(&w->cache, j->video_id);
			vg_info("msg=\"job released\" job_id=%lld shard=%u video_id=%s", j->id,
				j->shard, j->video_id);
		}
		forget(w, j);
	}
}

int worker_main(const struct vg_config *cfg, struct scoreboard_slot *slot, pid_t supervisor)
{
	/* On the heap: a connection slot for each possible shard is ~100 KiB. */
	struct worker *w = vg_calloc(1, sizeof(*w));
	char host[256];
	int64_t drain_deadline = 0;

	w->cfg = cfg;
	w->slot = slot;
	install_signals();
	/* A supervisor killed outright (SIGKILL, OOM) must not leave its workers
	 * running unwatched - no hang detection, no drain on reload, and a new
	 * supervisor's fleet beside them: the kernel sends SIGTERM when it goes,
	 * and the worker drains as on any SIGTERM. If it went before this line,
	 * getppid() is no longer it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != supervisor)
		drain_requested = 1;
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(w->owner, sizeof(w->owner), "%s:%ld", host, (long)getpid());
	vg_shards_init(&w->shards, cfg);
	vg_cache_open(&w->cache, cfg);
	breaker_init(&w->breaker, &w->cache, cfg);
	if (call_init(&w->caller, cfg) < 0 || hooks_init(&w->hooks, cfg, &w->shards) < 0) {
		vg_error("msg=\"cannot initialise libcurl\"");
		return 1;
	}
	atomic_store(&slot->state, WORKER_RUNNING);
	vg_info("msg=\"worker started\" owner=%s concurrency=%lld shards=%u", w->owner,
		cfg->workers.concurrency, w->shards.n);
	if (!cfg->store.url_secret[0] && strcmp(cfg->store.backend, "s3") != 0)
		vg_warn("msg=\"store.url_secret is empty: the processing service gets no object_url\"");

	for (;;) {
		int64_t now = vg_mono_ms();

		atomic_store(&slot->heartbeat_ms, now);
		atomic_store(&slot->in_flight, (int)w->held);
		atomic_store(&slot->done, w->done);
		if (drain_requested) {
			if (!drain_deadline) {
				drain_deadline = now + cfg->workers.drain_seconds * 1000;
				atomic_store(&slot->state, WORKER_DRAINING);
				vg_info("msg=\"worker draining\" held=%u%s", w->held,
					getppid() != supervisor ? " reason=\"supervisor gone\""
								: "");
			}
			if (w->held == 0)
				break;
			if (now >= drain_deadline) {
				release_all(w);
				break;
			}
		}
		db_heartbeat(w, now);
		claim_more(w, now);
		start_calls(w, now);
		renew_leases(w, now);
		call_perform(&w->caller, turn_ms(w, vg_mono_ms()), on_answer, w);
		flush_done(w);
		breaker_flush(&w->breaker);
		hooks_turn(&w->hooks, !drain_requested);
	}

	breaker_flush(&w->breaker);
	for (unsigned k = 0; k < w->shards.n; k++) {
		struct vg_db_param p[] = {vg_p_i64(w->row_id[k])};

		if (w->row_id[k])
			vg_db_exec(vg_shards_db(&w->shards, k), unregister_sql, p,
				   VG_DB_NPARAMS(p));
	}
	vg_info("msg=\"worker stopped\" jobs_done=%lld", w->done);
	hooks_free(&w->hooks);
	call_free(&w->caller);
	vg_cache_close(&w->cache);
	vg_shards_close(&w->shards);
	curl_global_cleanup();
	free(w);
	return 0;
}
