/*
 * worker.c - the worker loop (see worker.h).
 *
 * One turn: claim if there is room and the breaker allows, start calls the
 * rate cap allows, renew leases that are a third used, let libcurl run for
 * up to 200 ms, and act on every answer:
 *
 *   2xx with a JSON body        done: job done, video processed, result kept
 *   202 + status_url            poll it (every 2 s or Retry-After) until 200/4xx/5xx
 *   408, 429, 5xx, timeout,     back to ready after exponential back-off with
 *   connection error, garbage   full jitter (Retry-After honoured)
 *   other 4xx                   dead at once (a request the service will never take)
 *   attempts used up            dead
 *
 * An attempt does not count when the call never reached the service
 * (connection refused, name not resolved), when the service throttles
 * (429), or when the breaker is open (the service is down, not the job
 * bad): "never burn jobs against a dependency that is down".
 */
#include "worker.h"
#include "backoff.h"
#include "breaker.h"
#include "call.h"
#include "claim.h"
#include "job.h"
#include "lease.h"
#include "scoreboard.h"
#include "vg_alloc.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_store.h"
#include "vg_time.h"
#include "vg_video_cache.h"
#include "vg_failpoint.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TURN_MS          200
#define DB_HEARTBEAT_MS  5000  /* workers.heartbeat_at refresh */
#define POLL_DEFAULT_S   2     /* 202 status polling interval */
#define ASYNC_FACTOR     30    /* a 202 job may take this many processor timeouts */

static volatile sig_atomic_t drain_requested;

static void on_drain(int sig)
{
	(void)sig;
	drain_requested = 1;
}

struct worker {
	const struct vg_config *cfg;
	struct scoreboard_slot *slot;
	struct vg_db db;
	struct vg_cache cache;
	struct caller caller;
	struct breaker breaker;
	struct job *jobs; /* held: calling, polling or waiting to start */
	struct job *finished; /* held: answered 2xx, waiting for this turn's batch write */
	unsigned held;       /* both lists */
	char owner[300];
	long long row_id; /* our row in `workers` */
	int64_t next_claim_ms;
	int64_t next_renew_ms;
	int64_t next_db_beat_ms;
	long long done;
};

/* ---- bookkeeping ---- */

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
		"video_id=%s during=%s",
		j->id, j->video_id, when);
	forget(w, j);
}

/* ---- outcomes ---- */

/* A 2xx: queued for flush_done(), which writes every done outcome of this
 * turn in one transaction. The job keeps its lease until then (a turn is at
 * most TURN_MS, the lease minutes). */
static void finish_done(struct worker *w, struct job *j, int status, const char *result)
{
	unlink_job(w, j);
	j->done_status = status;
	j->done_result = vg_strdup(result);
	j->next = w->finished;
	w->finished = j;
}

static void flush_done(struct worker *w)
{
	struct job **batch, *j;
	size_t n = 0, i;
	int *rc;

	for (j = w->finished; j; j = j->next)
		n++;
	if (n == 0)
		return;
	batch = vg_malloc(n * sizeof(*batch));
	rc = vg_malloc(n * sizeof(*rc));
	for (i = 0, j = w->finished; j; j = j->next)
		batch[i++] = j;
	w->finished = NULL;
	if (lease_done_batch(&w->db, batch, n, rc) < 0)
		/* The database is down: the leases run out and the jobs are
		 * retried; the service sees the same Idempotency-Key, so no
		 * double effect. */
		vg_error("msg=\"cannot record finished jobs; they will be retried\" jobs=%zu", n);
	for (i = 0; i < n; i++) {
		j = batch[i];
		if (rc[i] == 1) {
			vg_video_cache_invalidate(&w->cache, j->video_id);
			w->done++;
			vg_info("msg=\"job done\" job_id=%lld video_id=%s attempt=%u http_status=%d "
				"ms=%lld",
				j->id, j->video_id, j->attempt, j->done_status,
				(long long)(vg_mono_ms() - j->claimed_ms));
		} else if (rc[i] == 0) {
			vg_warn("msg=\"lease lost; another worker owns the job now, dropping it\" "
				"job_id=%lld video_id=%s during=finish",
				j->id, j->video_id);
		}
		job_free(j);
		w->held--;
	}
	free(batch);
	free(rc);
}

/* Transient failure: retry later, or dead when attempts are used up. */
static void finish_retry(struct worker *w, struct job *j, int status, const char *error,
			 int refund)
{
	double delay;
	int rc;

	if (!refund && j->attempt >= j->max_attempts) {
		char why[600];

		snprintf(why, sizeof(why), "attempts used up (%u); last: %.500s", j->attempt, error);
		rc = lease_dead(&w->db, j, status, why);
		if (rc == 1)
			vg_warn("msg=\"job dead\" job_id=%lld video_id=%s attempts=%u error=\"%s\"",
				j->id, j->video_id, j->attempt, error);
	} else {
		delay = backoff_delay(refund ? 1 : j->attempt,
				      (double)w->cfg->jobs.backoff_base_seconds,
				      (double)w->cfg->jobs.backoff_max_seconds, j->retry_after_s);
		rc = lease_retry(&w->db, j, status, error, delay, refund);
		if (rc == 1)
			vg_info("msg=\"job retry\" job_id=%lld video_id=%s attempt=%u counted=%s "
				"http_status=%d delay_s=%.1f error=\"%s\"",
				j->id, j->video_id, j->attempt, refund ? "no" : "yes", status, delay,
				error);
	}
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
	int rc = lease_dead(&w->db, j, status, error);

	if (rc == 0) {
		lease_lost(w, j, "dead");
		return;
	}
	if (rc == 1) {
		vg_video_cache_invalidate(&w->cache, j->video_id);
		vg_warn("msg=\"job dead\" job_id=%lld video_id=%s http_status=%d error=\"%s\"", j->id,
			j->video_id, status, error);
	}
	forget(w, j);
}

/* A 2xx body must be a JSON object: anything else is the service misbehaving. */
static char *result_of(const struct job *j)
{
	struct json_tokener *tok;
	struct json_object *o;
	char *s = NULL;

	if (!j->response || j->response_len == 0)
		return vg_strdup("{}");
	tok = json_tokener_new_ex(32);
	if (!tok)
		abort();
	o = json_tokener_parse_ex(tok, j->response, (int)j->response_len);
	if (o && json_object_is_type(o, json_type_object))
		s = vg_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	json_tokener_free(tok);
	return s;
}

static void on_accepted(struct worker *w, struct job *j)
{
	struct json_object *o = j->response ? json_tokener_parse(j->response) : NULL;
	struct json_object *u = NULL;
	const char *url;

	if (o && json_object_object_get_ex(o, "status_url", &u) && json_object_is_type(u, json_type_string))
		url = json_object_get_string(u);
	else
		url = NULL;
	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    strlen(url) > 2048) {
		json_object_put(o);
		breaker_failure(&w->breaker);
		finish_retry(w, j, 202, "202 without a usable status_url", 0);
		return;
	}
	free(j->status_url);
	j->status_url = vg_strdup(url);
	json_object_put(o);
	j->poll_at_ms = vg_mono_ms() +
			1000 * (j->retry_after_s > 0 ? j->retry_after_s : POLL_DEFAULT_S);
}

static void on_answer(void *ud, struct job *j, int curl_code, long http_status)
{
	struct worker *w = ud;
	char err[300];
	int status = (int)http_status;

	if (VG_FAILPOINT("worker.after_call") < 0) {
		finish_retry(w, j, 0, "failpoint worker.after_call", 0);
		return;
	}
	if (curl_code != CURLE_OK) {
		int unreached = curl_code == CURLE_COULDNT_CONNECT ||
				curl_code == CURLE_COULDNT_RESOLVE_HOST ||
				curl_code == CURLE_COULDNT_RESOLVE_PROXY;
		int open;

		snprintf(err, sizeof(err), "%s%s", curl_easy_strerror((CURLcode)curl_code),
			 j->response_truncated ? " (response over 1 MiB)" : "");
		open = breaker_failure(&w->breaker);
		finish_retry(w, j, 0, err, unreached || open);
		return;
	}
	if (status == 202 && j->status_url) {
		/* a poll: still processing; ask again later */
		j->poll_at_ms = vg_mono_ms() +
				1000 * (j->retry_after_s > 0 ? j->retry_after_s : POLL_DEFAULT_S);
		return;
	}
	if (status == 202) {
		on_accepted(w, j);
		return;
	}
	if (j->status_url && status == 404) {
		/* the service forgot an accepted job: call again (same Idempotency-Key) */
		finish_retry(w, j, status, "status_url answered 404", 0);
		return;
	}
	if (status >= 200 && status < 300) {
		char *result = result_of(j);

		if (!result) {
			snprintf(err, sizeof(err), "%d with a body that is not a JSON object", status);
			finish_retry(w, j, status, err, breaker_failure(&w->breaker));
			return;
		}
		breaker_success(&w->breaker);
		finish_done(w, j, status, result);
		free(result);
		return;
	}
	snprintf(err, sizeof(err), "processing service answered %d%s%.200s", status,
		 j->response_len ? ": " : "", j->response ? j->response : "");
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (status == 429) {
		/* Throttled: the service is fine and the job is fine; wait as told. */
		finish_retry(w, j, status, err, 1);
	} else if (status == 408 || status >= 500) {
		finish_retry(w, j, status, err, breaker_failure(&w->breaker));
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

static void db_heartbeat(struct worker *w, int64_t now)
{
	if (now < w->next_db_beat_ms)
		return;
	w->next_db_beat_ms = now + DB_HEARTBEAT_MS;
	if (!w->row_id) {
		char host[256];
		struct vg_db_result res;

		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = '\0';
		{
			struct vg_db_param p[] = {vg_p_str(host), vg_p_i64(getpid())};

			if (vg_db_exec(&w->db, register_sql, p, VG_DB_NPARAMS(p)) != 1)
				return;
		}
		if (vg_db_query(&w->db, last_id_sql, NULL, 0, &res) == 1)
			w->row_id = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
		vg_db_result_free(&res);
		return;
	}
	{
		struct vg_db_param p[] = {vg_p_str(drain_requested ? "draining" : "running"),
					  vg_p_i64(w->held), vg_p_i64(w->row_id)};

		vg_db_exec(&w->db, beat_sql, p, VG_DB_NPARAMS(p));
	}
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
		if (VG_FAILPOINT("lease.renew") < 0)
			continue; /* as if the database did not answer: the lease runs on */
		if (lease_renew(&w->db, w->cfg, j) == 0)
			lease_lost(w, j, "renewal");
	}
}

static void claim_more(struct worker *w, int64_t now)
{
	unsigned room, max;
	int allow, n;

	if (drain_requested || now < w->next_claim_ms)
		return;
	room = (unsigned)w->cfg->workers.concurrency - w->held;
	if (room == 0)
		return;
	allow = breaker_allow(&w->breaker);
	if (allow == 0) {
		w->next_claim_ms = now + 1000;
		return;
	}
	max = allow == 2 ? 1 : (room < (unsigned)w->cfg->jobs.batch ? room : (unsigned)w->cfg->jobs.batch);
	n = claim_jobs(&w->db, w->cfg, w->owner, max, &w->jobs);
	if (allow == 2 && n <= 0)
		breaker_probe_release(&w->breaker);
	if (n < 0) {
		w->next_claim_ms = now + 1000; /* database trouble: back off a little */
		return;
	}
	w->held += (unsigned)n;
	{
		struct job *j = w->jobs; /* the claimed ones are at the head */

		for (int k = 0; j && k < n; j = j->next, k++) {
			vg_video_cache_invalidate(&w->cache, j->video_id); /* now processing */
			j->claimed_ms = now;
			j->call_deadline_ms =
				now + ASYNC_FACTOR * 1000 * w->cfg->processor.timeout_seconds;
		}
	}
	/* A full batch says there is more: come back at once. */
	if ((unsigned)n < max)
		w->next_claim_ms = now + w->cfg->workers.idle_claim_ms;
}

/* Starts calls and polls that are due and within the rate cap. */
static void start_calls(struct worker *w, int64_t now)
{
	struct job *j, *next;

	for (j = w->jobs; j; j = next) {
		next = j->next;
		if (j->easy)
			continue;
		if (j->status_url) {
			if (now >= j->call_deadline_ms) {
				finish_retry(w, j, 0, "asynchronous processing took too long", 0);
				continue;
			}
			if (j->poll_at_ms && now >= j->poll_at_ms && call_start_poll(&w->caller, j) < 0)
				finish_retry(w, j, 0, "cannot start a status poll", 1);
			continue;
		}
		if (drain_requested)
			continue;
		if (!breaker_rate_take(&w->breaker))
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
				(void)VG_FAILPOINT("worker.during_call"); /* crash or stall mid-call */
		}
	}
}

/* How long this turn may wait for answers: TURN_MS, or less when a claim is
 * due sooner (an idle worker must look for work every workers.idle_claim_ms,
 * not every TURN_MS). */
static int turn_ms(const struct worker *w, int64_t now)
{
	int64_t wait = TURN_MS;

	if (!drain_requested && w->held < (unsigned)w->cfg->workers.concurrency &&
	    w->next_claim_ms - now < wait)
		wait = w->next_claim_ms > now ? w->next_claim_ms - now : 0;
	return (int)wait;
}

/* Drain deadline passed: give every held job back, ready at once, attempt not counted. */
static void release_all(struct worker *w)
{
	while (w->jobs) {
		struct job *j = w->jobs;

		call_abort(&w->caller, j);
		if (lease_retry(&w->db, j, 0, "released by a draining worker", 0.0, 1) == 1) {
			vg_video_cache_invalidate(&w->cache, j->video_id);
			vg_info("msg=\"job released\" job_id=%lld video_id=%s", j->id, j->video_id);
		}
		forget(w, j);
	}
}

int worker_main(const struct vg_config *cfg, struct scoreboard_slot *slot)
{
	struct worker w;
	char host[256];
	int64_t drain_deadline = 0;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.slot = slot;
	install_signals();
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(w.owner, sizeof(w.owner), "%s:%ld", host, (long)getpid());
	vg_db_init(&w.db, cfg);
	vg_cache_open(&w.cache, cfg->cache.servers);
	breaker_init(&w.breaker, &w.cache, cfg);
	if (call_init(&w.caller, cfg) < 0) {
		vg_error("msg=\"cannot initialise libcurl\"");
		return 1;
	}
	atomic_store(&slot->state, WORKER_RUNNING);
	vg_info("msg=\"worker started\" owner=%s concurrency=%lld", w.owner, cfg->workers.concurrency);
	if (!cfg->store.url_secret[0] && strcmp(cfg->store.backend, "s3") != 0)
		vg_warn("msg=\"store.url_secret is empty: the processing service gets no object_url\"");

	for (;;) {
		int64_t now = vg_mono_ms();

		atomic_store(&slot->heartbeat_ms, now);
		atomic_store(&slot->in_flight, (int)w.held);
		atomic_store(&slot->done, w.done);
		if (drain_requested) {
			if (!drain_deadline) {
				drain_deadline = now + cfg->workers.drain_seconds * 1000;
				atomic_store(&slot->state, WORKER_DRAINING);
				vg_info("msg=\"worker draining\" held=%u", w.held);
			}
			if (w.held == 0)
				break;
			if (now >= drain_deadline) {
				release_all(&w);
				break;
			}
		}
		db_heartbeat(&w, now);
		claim_more(&w, now);
		start_calls(&w, now);
		renew_leases(&w, now);
		call_perform(&w.caller, turn_ms(&w, vg_mono_ms()), on_answer, &w);
		flush_done(&w);
	}

	if (w.row_id) {
		struct vg_db_param p[] = {vg_p_i64(w.row_id)};

		vg_db_exec(&w.db, unregister_sql, p, VG_DB_NPARAMS(p));
	}
	vg_info("msg=\"worker stopped\" jobs_done=%lld", w.done);
	call_free(&w.caller);
	vg_cache_close(&w.cache);
	vg_db_close(&w.db);
	curl_global_cleanup();
	return 0;
}
