/*
 * lease.c - fenced renewals and outcomes (see lease.h).
 *
 * Each outcome is one transaction: the fenced job UPDATE decides; only if it
 * matched does the video row and the attempt row follow, so the three never
 * disagree. A deadlock retries the whole transaction. Done outcomes that
 * land in one loop turn share a transaction (lease_done_batch) and one
 * COMMIT - with an instant service the per-job COMMIT (a redo log flush
 * each) was what bounded jobs/s - and their writes go JOB_SET jobs a
 * statement, each job still fenced by its own token: three statements per
 * sixteen jobs instead of three per job, which was the next bound (server
 * CPU per statement). If any fence fails to match, the batch is rolled back
 * and written again job by job, so a lost lease is decided for that job
 * alone.
 */
#include "lease.h"
#include "wmetrics.h"
#include "job.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_webhook.h"

#include <stdio.h>
#include <string.h>

#define TRIES 3

static const char renew_sql[] =
	"UPDATE jobs SET lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND "
	"WHERE id = ? AND lease_token = ? AND state = 'running'";

static const char done_job_sql[] =
	"UPDATE jobs SET state = 'done', finished_at = UTC_TIMESTAMP(6), last_http_status = ?, "
	"last_error = NULL, lease_expires_at = NULL, status_url = NULL, accepted_at = NULL "
	"WHERE id = ? AND lease_token = ? AND state = 'running'";
static const char done_video_sql[] =
	"UPDATE videos SET status = 'processed', result = ? WHERE id = ? AND status <> 'deleted'";

/* The same three writes for up to JOB_SET done jobs a statement (job.h):
 * each job still fenced by its own token. */
static const char done_jobs_set_sql[] =
	"UPDATE jobs SET state = 'done', finished_at = UTC_TIMESTAMP(6), "
	"last_http_status = CASE id" JOB_SET_WHEN
	" END, last_error = NULL, lease_expires_at = NULL, status_url = NULL, accepted_at = NULL "
	"WHERE id IN (" JOB_SET_IN ") AND lease_token = CASE id" JOB_SET_WHEN " END "
	"AND state = 'running'";
static const char done_videos_set_sql[] =
	"UPDATE videos SET status = 'processed', result = CASE id" JOB_SET_WHEN " END "
	"WHERE id IN (" JOB_SET_IN ") AND status <> 'deleted'";
/* video.processed for the set's videos whose owner has an endpoint (the
 * video rows just written: status processed, a deleted one excluded). */
static const char done_events_set_sql[] =
	VG_WEBHOOK_INSERT_SELECT "WHERE v.id IN (" JOB_SET_IN ") AND v.status = 'processed'";
static const char done_attempts_set_sql[] =
	"UPDATE job_attempts SET finished_at = UTC_TIMESTAMP(6), outcome = 'done', "
	"http_status = CASE job_id" JOB_SET_WHEN " END, error = NULL "
	"WHERE job_id IN (" JOB_SET_IN ") AND lease_token = CASE job_id" JOB_SET_WHEN " END";

static const char retry_job_sql[] =
	"UPDATE jobs SET state = 'ready', run_after = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, "
	"attempts = attempts - ?, last_http_status = ?, last_error = ?, lease_owner = NULL, "
	"lease_token = NULL, lease_expires_at = NULL, status_url = NULL, accepted_at = NULL "
	"WHERE id = ? AND lease_token = ? AND state = 'running'";
static const char retry_video_sql[] =
	"UPDATE videos SET status = 'queued' WHERE id = ? AND status = 'processing'";

static const char dead_job_sql[] =
	"UPDATE jobs SET state = 'dead', finished_at = UTC_TIMESTAMP(6), last_http_status = ?, "
	"last_error = ?, lease_expires_at = NULL, status_url = NULL, accepted_at = NULL "
	"WHERE id = ? AND lease_token = ? AND state = 'running'";
static const char dead_video_sql[] =
	"UPDATE videos SET status = 'failed' WHERE id = ? AND status <> 'deleted'";

/* Waiting for the service (lease_wait): the job ready again at the next
 * poll with its status_url - a new one and accepted_at now for a call's
 * 202, the stored ones kept for a poll. The video stays processing: the
 * service is working on it. */
static const char wait_job_sql[] =
	"UPDATE jobs SET state = 'ready', run_after = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, "
	"accepted_at = IF(? IS NULL, accepted_at, UTC_TIMESTAMP(6)), "
	"status_url = IFNULL(?, status_url), last_http_status = ?, "
	"last_error = IFNULL(?, last_error), lease_owner = NULL, lease_token = NULL, "
	"lease_expires_at = NULL "
	"WHERE id = ? AND lease_token = ? AND state = 'running'";

static const char attempt_sql[] =
	"UPDATE job_attempts SET finished_at = UTC_TIMESTAMP(6), outcome = ?, http_status = ?, "
	"error = ? WHERE job_id = ? AND lease_token = ?";

int lease_renew(struct vg_db *db, const struct vg_config *cfg, const struct job *j)
{
	struct vg_db_param p[] = {vg_p_i64(cfg->jobs.lease_seconds), vg_p_i64(j->id),
				  vg_p_str(j->token)};
	long long n = vg_db_exec(db, renew_sql, p, VG_DB_NPARAMS(p));

	if (n < 0)
		return -1;
	/* MariaDB counts matched-but-unchanged rows as 0 only if nothing changed;
	 * the expiry always moves forward, so 0 means the fence did not match. */
	return n > 0;
}

static struct vg_db_param status_param(int http_status)
{
	return http_status > 0 ? vg_p_i64(http_status) : vg_p_str(NULL);
}

/* One outcome: the fenced job write, then its video's and attempt's. */
struct outcome {
	const struct job *j;
	const char *job_sql;
	const struct vg_db_param *jp;
	size_t njp;
	const char *video_sql;
	const struct vg_db_param *vp;
	size_t nvp;
	const char *attempt_outcome;
	int http_status;
	const char *error;
	const char *event;	  /* webhook event for the video, or NULL */
	const char *event_status; /* ... written if the video now has this status */
};

/* The outcome transaction's statements (vg_db_txn_retry runs BEGIN, COMMIT
 * and the retries). 1: commit; 0: the fence did not match (another worker
 * owns the job), roll back; -1: failed. */
static int outcome_body(struct vg_db *db, void *arg)
{
	const struct outcome *o = arg;
	struct vg_db_param ap[] = {vg_p_str(o->attempt_outcome), status_param(o->http_status),
				   vg_p_str(o->error), vg_p_i64(o->j->id), vg_p_str(o->j->token)};
	long long n = vg_db_exec(db, o->job_sql, o->jp, o->njp);

	if (n == 0)
		return 0;
	if (n != 1 || (o->video_sql && vg_db_exec(db, o->video_sql, o->vp, o->nvp) < 0) ||
	    (o->event && vg_webhook_emit(db, o->j->video_id, o->event, o->event_status) < 0) ||
	    vg_db_exec(db, attempt_sql, ap, VG_DB_NPARAMS(ap)) < 0)
		return -1;
	return 1;
}

/* Runs job_sql (fenced), then video_sql and the attempt update, in one
 * transaction. 1 written, 0 fenced out, -1 not written (a deadlock that
 * outlasted the tries is logged by vg_db_txn_retry: the lease runs out and
 * the job is retried, as after any failed write). */
static int outcome(struct vg_db *db, const struct job *j, const char *job_sql,
		   const struct vg_db_param *jp, size_t njp, const char *video_sql,
		   const struct vg_db_param *vp, size_t nvp, const char *attempt_outcome,
		   int http_status, const char *error)
{
	struct outcome o = {
		.j = j,
		.job_sql = job_sql,
		.jp = jp,
		.njp = njp,
		.video_sql = video_sql,
		.vp = vp,
		.nvp = nvp,
		.attempt_outcome = attempt_outcome,
		.http_status = http_status,
		.error = error,
	};
	int r;

	/* the outcomes a webhook reports, in the outcome's own transaction */
	if (strcmp(attempt_outcome, "done") == 0) {
		o.event = "video.processed";
		o.event_status = "processed";
	} else if (strcmp(attempt_outcome, "dead") == 0) {
		o.event = "video.failed";
		o.event_status = "failed";
	}
	r = vg_db_txn_retry(db, "outcome", TRIES, outcome_body, &o);

	if (r == 1)
		wmetrics_job(attempt_outcome);
	return r < 0 ? -1 : r;
}

int lease_done(struct vg_db *db, const struct job *j, int http_status, const char *result_json)
{
	struct vg_db_param jp[] = {status_param(http_status), vg_p_i64(j->id), vg_p_str(j->token)};
	struct vg_db_param vp[] = {vg_p_str(result_json), vg_p_str(j->video_id)};

	return outcome(db, j, done_job_sql, jp, VG_DB_NPARAMS(jp), done_video_sql, vp,
		       VG_DB_NPARAMS(vp), "done", http_status, NULL);
}

/* The three writes for up to JOB_SET done jobs (set[0..m-1]). Returns 1
 * when every job's fence matched and all is written, 0 when some lease was
 * lost (the caller rolls back and decides job by job), -1 on an error. */
static int done_set(struct vg_db *db, struct job *const *set, size_t m)
{
	struct vg_db_param p[5 * JOB_SET];
	size_t i, k;
	long long n;

#define J(i) set[(i) < m ? (i) : 0]
	k = 0;
	for (i = 0; i < JOB_SET; i++) {
		p[k++] = vg_p_i64(J(i)->id);
		p[k++] = status_param(J(i)->done_status);
	}
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_i64(J(i)->id);
	for (i = 0; i < JOB_SET; i++) {
		p[k++] = vg_p_i64(J(i)->id);
		p[k++] = vg_p_str(J(i)->token);
	}
	n = vg_db_exec(db, done_jobs_set_sql, p, k);
	if (n < 0)
		return -1;
	if (n != (long long)m)
		return 0;
	k = 0;
	for (i = 0; i < JOB_SET; i++) {
		p[k++] = vg_p_str(J(i)->video_id);
		p[k++] = vg_p_str(J(i)->done_result);
	}
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_str(J(i)->video_id);
	if (vg_db_exec(db, done_videos_set_sql, p, k) < 0)
		return -1;
	k = 0;
	p[k++] = vg_p_str("video.processed");
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_str(J(i)->video_id);
	if (vg_db_exec(db, done_events_set_sql, p, k) < 0)
		return -1;
	k = 0;
	for (i = 0; i < JOB_SET; i++) {
		p[k++] = vg_p_i64(J(i)->id);
		p[k++] = status_param(J(i)->done_status);
	}
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_i64(J(i)->id);
	for (i = 0; i < JOB_SET; i++) {
		p[k++] = vg_p_i64(J(i)->id);
		p[k++] = vg_p_str(J(i)->token);
	}
	if (vg_db_exec(db, done_attempts_set_sql, p, k) < 0)
		return -1;
#undef J
	return 1;
}

/* One done batch: the jobs, and (job by job) what became of each. */
struct done_batch {
	struct job *const *jobs;
	size_t n;
	int *rc;
};

/* The usual case, a transaction's statements: every lease held, JOB_SET
 * jobs a statement. 1: commit; 0: some lease was lost (roll back and go job
 * by job); -1: failed. */
static int done_sets_body(struct vg_db *db, void *arg)
{
	const struct done_batch *b = arg;

	for (size_t at = 0; at < b->n; at += JOB_SET) {
		int r = done_set(db, b->jobs + at, b->n - at < JOB_SET ? b->n - at : JOB_SET);

		if (r <= 0)
			return r;
	}
	return 1;
}

/* Job by job, in one transaction: each fenced UPDATE decides for its job
 * (b->rc[i] 1 or 0). 1: commit; -1: failed. */
static int done_each_body(struct vg_db *db, void *arg)
{
	const struct done_batch *b = arg;
	size_t i;

	for (i = 0; i < b->n; i++)
		b->rc[i] = -1;
	for (i = 0; i < b->n; i++) {
		const struct job *j = b->jobs[i];
		struct vg_db_param jp[] = {status_param(j->done_status), vg_p_i64(j->id),
					   vg_p_str(j->token)};
		struct vg_db_param vp[] = {vg_p_str(j->done_result), vg_p_str(j->video_id)};
		struct vg_db_param ap[] = {vg_p_str("done"), status_param(j->done_status),
					   vg_p_str(NULL), vg_p_i64(j->id), vg_p_str(j->token)};
		long long m = vg_db_exec(db, done_job_sql, jp, VG_DB_NPARAMS(jp));

		if (m < 0)
			return -1;
		b->rc[i] = m == 1;
		if (m == 0)
			continue; /* fenced out: leave its rows to the new owner */
		if (vg_db_exec(db, done_video_sql, vp, VG_DB_NPARAMS(vp)) < 0 ||
		    vg_webhook_emit(db, j->video_id, "video.processed", "processed") < 0 ||
		    vg_db_exec(db, attempt_sql, ap, VG_DB_NPARAMS(ap)) < 0)
			return -1;
	}
	return 1;
}

int lease_done_batch(struct vg_db *db, struct job *const *jobs, size_t n, int *rc)
{
	struct done_batch b = {jobs, n, rc};
	int r = vg_db_txn_retry(db, "done_batch", TRIES, done_sets_body, &b);

	if (r == 1) {
		for (size_t i = 0; i < n; i++) {
			rc[i] = 1;
			wmetrics_job("done"); /* counted once committed, as outcome() does */
		}
		return 0;
	}
	if (r == 0) {
		vg_info("msg=\"a lease in the done batch was lost; writing it job by job\" "
			"shard=%u jobs=%zu",
			vg_db_shard(db), n);
		if (vg_db_txn_retry(db, "done_each", TRIES, done_each_body, &b) == 1) {
			for (size_t i = 0; i < n; i++)
				if (rc[i] == 1)
					wmetrics_job("done");
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		rc[i] = -1;
	return -1;
}

int lease_retry(struct vg_db *db, const struct job *j, int http_status, const char *error,
		double delay_s, int refund)
{
	struct vg_db_param jp[] = {vg_p_i64((long long)(delay_s * 1e6)),
				   vg_p_i64(refund ? 1 : 0),
				   status_param(http_status),
				   vg_p_str(error),
				   vg_p_i64(j->id),
				   vg_p_str(j->token)};
	struct vg_db_param vp[] = {vg_p_str(j->video_id)};

	return outcome(db, j, retry_job_sql, jp, VG_DB_NPARAMS(jp), retry_video_sql, vp,
		       VG_DB_NPARAMS(vp), refund ? "released" : "retry", http_status, error);
}

int lease_dead(struct vg_db *db, const struct job *j, int http_status, const char *error)
{
	struct vg_db_param jp[] = {status_param(http_status), vg_p_str(error), vg_p_i64(j->id),
				   vg_p_str(j->token)};
	struct vg_db_param vp[] = {vg_p_str(j->video_id)};

	return outcome(db, j, dead_job_sql, jp, VG_DB_NPARAMS(jp), dead_video_sql, vp,
		       VG_DB_NPARAMS(vp), "dead", http_status, error);
}

int lease_wait(struct vg_db *db, const struct job *j, const char *status_url, double delay_s,
	       int http_status, const char *error)
{
	struct vg_db_param jp[] = {vg_p_i64((long long)(delay_s * 1e6)),
				   vg_p_str(status_url),
				   vg_p_str(status_url),
				   status_param(http_status),
				   vg_p_str(error),
				   vg_p_i64(j->id),
				   vg_p_str(j->token)};

	return outcome(db, j, wait_job_sql, jp, VG_DB_NPARAMS(jp), NULL, NULL, 0, "accepted",
		       http_status, error);
}
