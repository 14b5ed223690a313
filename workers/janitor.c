/*
 * janitor.c - the lease reaper (see janitor.h).
 *
 * A job stays `running` only while its worker renews the lease. If the
 * worker died (kill -9, host lost) or stalled (SIGSTOP, a hung disk), the
 * lease runs out and the reaper makes the job ready again - with a new
 * lease_token at the next claim, so the stalled worker, should it wake up,
 * is fenced out of every write. The reap uses SKIP LOCKED on the lease
 * index so it never waits on a worker finishing the same job.
 *
 * Everything here but the staging sweep runs on one shard's connection, under
 * that shard's lock (supervisor.c loops over the shards): a job, its video,
 * its attempts and an upload's row all live on the one shard, so no step
 * needs another shard.
 *
 * The archive pass keeps jobs and job_attempts, the tables every claim and
 * outcome touches, down to what is recent: finished jobs past the horizon
 * move to the archive tables in short transactions, so years of history
 * never sit in the tables (and the buffer pool pages) the workers use.
 */
#include "janitor.h"
#include "vg_webhook.h"
#include "vg_config.h"
#include "vg_alloc.h"
#include "vg_db.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_shards.h"
#include "vg_store.h"
#include "vg_time.h"
#include "vg_video_cache.h"
#include "wmetrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REAP_BATCH 100

static const char held_sql[] = "SELECT IS_USED_LOCK('vingest.janitor') = CONNECTION_ID()";
static const char lock_sql[] = "SELECT GET_LOCK('vingest.janitor', 0)";
/* A job with a status_url was claimed to poll it, and it is the poll that
 * was lost, not the attempt: the service still has the job. So it goes back
 * to ready with its status_url (the next claim polls again), never dead, its
 * video stays processing and its attempt stays accepted. */
static const char expired_sql[] =
	"SELECT id, lease_token, attempts >= max_attempts AND status_url IS NULL, video_id, "
	"status_url IS NOT NULL FROM jobs "
	"WHERE state = 'running' AND lease_expires_at < UTC_TIMESTAMP(6) "
	"ORDER BY lease_expires_at, id LIMIT ? FOR UPDATE SKIP LOCKED";
static const char ready_sql[] =
	"UPDATE jobs SET state = 'ready', run_after = UTC_TIMESTAMP(6), lease_owner = NULL, "
	"lease_token = NULL, lease_expires_at = NULL, "
	"last_error = 'lease expired: the worker died or stalled' WHERE id = ? AND lease_token = ?";
static const char dead_sql[] =
	"UPDATE jobs SET state = 'dead', finished_at = UTC_TIMESTAMP(6), lease_expires_at = NULL, "
	"last_error = 'lease expired on the last attempt' WHERE id = ? AND lease_token = ?";
static const char video_ready_sql[] =
	"UPDATE videos v JOIN jobs j ON j.video_id = v.id SET v.status = 'queued' "
	"WHERE j.id = ? AND v.status = 'processing' AND j.status_url IS NULL";
static const char video_dead_sql[] =
	"UPDATE videos v JOIN jobs j ON j.video_id = v.id SET v.status = 'failed' "
	"WHERE j.id = ? AND v.status <> 'deleted'";
static const char attempt_sql[] =
	"UPDATE job_attempts SET finished_at = UTC_TIMESTAMP(6), outcome = 'lost', "
	"error = 'lease expired' WHERE job_id = ? AND lease_token = ?";
static const char attempt_poll_sql[] =
	"UPDATE job_attempts SET outcome = 'accepted', "
	"error = 'lease expired while polling' WHERE job_id = ? AND lease_token = ?";
/* Multipart rows live for one request: old ones are orphans. tus rows live
 * until they finish or expire (Upload-Expires); an expired one is kept for
 * the same grace, so a client coming back to it is told 410 (expired, start
 * again) rather than 404, and is removed after that. */
static const char orphans_sql[] =
	"SELECT id, object_key, kind FROM uploads WHERE (kind = 'multipart' "
	"AND created_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND) "
	"OR (kind = 'tus' AND expires_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND) "
	"ORDER BY created_at LIMIT 100";
static const char committed_sql[] = "SELECT 1 FROM videos WHERE id = ?";
static const char unmark_sql[] = "DELETE FROM uploads WHERE id = ?";
static const char upload_row_sql[] = "SELECT 1 FROM uploads WHERE id = ?";
static const char stale_workers_sql[] =
	"DELETE FROM workers WHERE heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL 1 HOUR";

int janitor_acquire(struct vg_db *db)
{
	struct vg_db_result res;
	int mine;

	/* Already ours? (GET_LOCK again would nest the lock, not just confirm it.) */
	if (vg_db_query(db, held_sql, NULL, 0, &res) != 1)
		return -1;
	mine = vg_db_cell(&res, 0, 0) && strcmp(vg_db_cell(&res, 0, 0), "1") == 0;
	vg_db_result_free(&res);
	if (mine)
		return 1;
	if (vg_db_query(db, lock_sql, NULL, 0, &res) != 1)
		return -1;
	mine = vg_db_cell(&res, 0, 0) && strcmp(vg_db_cell(&res, 0, 0), "1") == 0;
	vg_db_result_free(&res);
	if (mine)
		vg_info("msg=\"this supervisor is the fleet's janitor of this shard now\" shard=%u",
			vg_db_shard(db));
	return mine;
}

int janitor_reap(struct vg_db *db, const struct vg_config *cfg, struct vg_cache *cache)
{
	struct vg_db_result res;
	long long n;

	(void)cfg;
	if (vg_db_begin(db) < 0)
		return -1;
	{
		struct vg_db_param p[] = {vg_p_i64(REAP_BATCH)};

		n = vg_db_query(db, expired_sql, p, VG_DB_NPARAMS(p), &res);
	}
	if (n < 0)
		goto fail;
	for (long long i = 0; i < n; i++) {
		const char *id = vg_db_cell(&res, (size_t)i, 0);
		const char *token = vg_db_cell(&res, (size_t)i, 1);
		int used_up = strcmp(vg_db_cell(&res, (size_t)i, 2), "1") == 0;
		int polling = strcmp(vg_db_cell(&res, (size_t)i, 4), "1") == 0;
		long long jid = strtoll(id, NULL, 10);
		struct vg_db_param jp[] = {vg_p_i64(jid), vg_p_str(token)};
		struct vg_db_param vp[] = {vg_p_i64(jid)};

		if (vg_db_exec(db, used_up ? dead_sql : ready_sql, jp, VG_DB_NPARAMS(jp)) < 0 ||
		    vg_db_exec(db, used_up ? video_dead_sql : video_ready_sql, vp,
			       VG_DB_NPARAMS(vp)) < 0 ||
		    (used_up && vg_webhook_emit(db, vg_db_cell(&res, (size_t)i, 3), "video.failed",
						"failed") < 0) ||
		    vg_db_exec(db, polling ? attempt_poll_sql : attempt_sql, jp,
			       VG_DB_NPARAMS(jp)) < 0) {
			vg_db_result_free(&res);
			goto fail;
		}
		vg_warn("msg=\"lease expired; job %s\" job_id=%lld shard=%u",
			used_up	  ? "dead"
			: polling ? "ready to poll again"
				  : "ready again",
			jid, vg_db_shard(db));
	}
	if (vg_db_commit(db) < 0) {
		vg_db_result_free(&res);
		return -1;
	}
	for (long long i = 0; i < n; i++)
		vg_video_cache_invalidate(cache, vg_db_cell(&res, (size_t)i, 3));
	vg_db_result_free(&res);
	vg_db_exec(db, stale_workers_sql, NULL, 0);
	return (int)n;
fail:
	vg_db_rollback(db);
	return -1;
}

int janitor_orphans(struct vg_db *db, const struct vg_config *cfg, struct vg_store *store)
{
	struct vg_db_param p[] = {vg_p_i64(cfg->retention.orphan_grace_seconds),
				  vg_p_i64(cfg->retention.orphan_grace_seconds)};
	struct vg_db_result res;
	long long n = vg_db_query(db, orphans_sql, p, VG_DB_NPARAMS(p), &res);
	int removed = 0;

	if (n < 0)
		return -1;
	for (long long i = 0; i < n; i++) {
		const char *id = vg_db_cell(&res, (size_t)i, 0);
		const char *key = vg_db_cell(&res, (size_t)i, 1);
		struct vg_db_param ip[] = {vg_p_str(id)};
		struct vg_db_result v;
		long long committed = vg_db_query(db, committed_sql, ip, VG_DB_NPARAMS(ip), &v);

		vg_db_result_free(&v);
		if (committed < 0)
			break;
		/* The commit deletes the uploads row with it, so a row with a video
		 * cannot happen; if a DBA made one, the video's bytes stay. */
		if (committed == 0) {
			vg_store_remove_staged(store, id);
			if (vg_store_remove(store, key) != VG_STORE_OK)
				continue; /* keep the row: try again next pass */
		}
		if (vg_db_exec(db, unmark_sql, ip, VG_DB_NPARAMS(ip)) == 1) {
			removed++;
			if (strcmp(vg_db_cell(&res, (size_t)i, 2), "tus") == 0)
				vg_info("msg=\"expired tus upload removed\" upload_id=%s shard=%u",
					id, vg_db_shard(db));
			else
				vg_warn("msg=\"orphaned upload removed (its request never committed)\" "
					"upload_id=%s shard=%u object_key=%s",
					id, vg_db_shard(db), key);
		}
	}
	vg_db_result_free(&res);
	return removed;
}

struct stale {
	long long grace;
	size_t n;
	char names[STAGING_BATCH][256];
};

static int note_stale(void *arg, const char *name, long long age)
{
	struct stale *st = arg;

	if (age < st->grace)
		return 0;
	snprintf(st->names[st->n], sizeof(st->names[0]), "%s", name);
	return ++st->n == STAGING_BATCH ? -1 : 0;
}

/* Does shard k have a row (sql: SELECT 1 ... WHERE id = ?) for name? 1, 0,
 * or -1 (no answer; the shard is then skipped for the rest of this sweep). */
static int has_row(struct vg_shards *shards, unsigned k, unsigned char *failed, const char *sql,
		   const char *name)
{
	struct vg_db_param p[] = {vg_p_str(name)};
	struct vg_db_result res;
	long long n;

	if (failed[k])
		return -1;
	n = vg_db_query(vg_shards_db(shards, k), sql, p, VG_DB_NPARAMS(p), &res);
	vg_db_result_free(&res);
	if (n < 0)
		failed[k] = 1;
	return n < 0 ? -1 : n > 0;
}

/*
 * A staging file is an upload's mark (vg_store.h): while its uploads row
 * (tus) lives, it is that upload's bytes. Without one and older than the
 * grace, its request is over: if the id's video exists, the file is what
 * a commit left (its removal lost in a crash); if not, the request died
 * before COMMIT and may have published an object under the id's key, which
 * goes first.
 */
int janitor_staging(struct vg_shards *shards, const struct vg_config *cfg, struct vg_store *store)
{
	struct stale *st = vg_calloc(1, sizeof(*st));
	unsigned char failed[VG_SHARDS_MAX] = {0};
	int removed = 0;

	st->grace = cfg->retention.orphan_grace_seconds;
	if (vg_store_staging_list(store, note_stale, st) < 0) {
		free(st);
		return -1;
	}
	for (size_t i = 0; i < st->n; i++) {
		const char *name = st->names[i];
		char key[VG_STORE_KEY_MAX] = "";
		int keep = 0, video = 0;

		/* An upload id's rows live on the shard the id names; a name that
		 * is no id could only be matched by some shard's row, if at all. */
		if (vg_id_valid(name) && vg_shards_of_id(shards, name) >= 0) {
			unsigned k = (unsigned)vg_shards_of_id(shards, name);

			keep = has_row(shards, k, failed, upload_row_sql, name) != 0;
			if (!keep) {
				video = has_row(shards, k, failed, committed_sql, name);
				keep = video < 0;
			}
			if (!keep && video == 0) {
				vg_store_key(name, key);
				if (vg_store_remove(store, key) != VG_STORE_OK)
					continue; /* keep the mark: try again next sweep */
			}
		} else {
			for (unsigned k = 0; k < shards->n && !keep; k++)
				keep = has_row(shards, k, failed, upload_row_sql, name) != 0;
		}
		if (keep)
			continue;
		vg_store_staging_remove(store, name);
		if (video > 0)
			vg_info("msg=\"staging file of a committed video removed\" name=%s", name);
		else if (key[0])
			vg_warn("msg=\"staging file without an uploads row removed, with any object "
				"under its key (the request never committed)\" name=%s object_key=%s",
				name, key);
		else
			vg_warn("msg=\"staging file without an uploads row removed\" name=%s",
				name);
		removed++;
	}
	free(st);
	return removed;
}

/*
 * The archive pass. One batch, one transaction:
 *   1. lock the batch: the oldest `archive_batch` finished jobs past the
 *      horizon, in ix_jobs_finished order, FOR UPDATE. The last one, (f, i),
 *      bounds the batch: it is exactly the finished jobs with
 *      (finished_at, id) <= (f, i), every one of them locked by step 1.
 *   2. copy those jobs, then their attempts, into the archive;
 *   3. delete the attempts, then the jobs.
 * All four statements name the batch by the same bound, so they agree on
 * which rows they touch; the copies and the deletes must count the same
 * jobs or the batch rolls back. Every statement reads jobs by
 * ix_jobs_finished and the attempts by their job (STRAIGHT_JOIN): left to
 * statistics, the optimizer may scan all of job_attempts, or every done job
 * through ix_jobs_claim, once per batch. Without the lock in step 1, a DBA requeueing
 * a dead job (finished_at back to NULL) between the copy and the delete
 * would leave the job live and archived at once. Plain FOR UPDATE, not SKIP
 * LOCKED: a skipped row inside the bound would be copied unlocked. Finished
 * jobs are written by nobody but a requeue, so the wait is rare and short.
 */
#define JOB_COLS                                                                                   \
	"id, video_id, kind, state, priority, run_after, attempts, max_attempts, lease_owner, "    \
	"lease_token, lease_expires_at, last_error, last_http_status, status_url, accepted_at, "   \
	"created_at, updated_at, finished_at"
#define ATTEMPT_COLS                                                                                \
	"id, job_id, attempt, worker, lease_token, started_at, finished_at, outcome, http_status, " \
	"error"
#define A_ATTEMPT_COLS                                                                             \
	"a.id, a.job_id, a.attempt, a.worker, a.lease_token, a.started_at, a.finished_at, "        \
	"a.outcome, a.http_status, a.error"
#define IN_BATCH(t)                                                                                \
	t "state IN ('done', 'dead', 'cancelled') AND (" t "finished_at < ? OR (" t                \
	  "finished_at = ? AND " t "id <= ?))"

static const char archive_lock_sql[] =
	"SELECT finished_at, id FROM jobs FORCE INDEX (ix_jobs_finished) "
	"WHERE finished_at < UTC_TIMESTAMP(6) - INTERVAL ? DAY "
	"AND state IN ('done', 'dead', 'cancelled') ORDER BY finished_at, id LIMIT ? FOR UPDATE";
static const char archive_jobs_sql[] =
	"INSERT INTO jobs_archive (" JOB_COLS ", archived_at) "
	"SELECT " JOB_COLS ", UTC_TIMESTAMP(6) FROM jobs FORCE INDEX (ix_jobs_finished) "
	"WHERE " IN_BATCH("");
static const char archive_attempts_sql[] =
	"INSERT INTO job_attempts_archive (" ATTEMPT_COLS ", archived_at) "
	"SELECT " A_ATTEMPT_COLS ", UTC_TIMESTAMP(6) FROM jobs j FORCE INDEX (ix_jobs_finished) "
	"STRAIGHT_JOIN job_attempts a ON a.job_id = j.id WHERE " IN_BATCH("j.");
static const char delete_attempts_sql[] =
	"DELETE a FROM jobs j FORCE INDEX (ix_jobs_finished) "
	"STRAIGHT_JOIN job_attempts a ON a.job_id = j.id WHERE " IN_BATCH("j.");
static const char delete_jobs_sql[] =
	"DELETE j FROM jobs j FORCE INDEX (ix_jobs_finished) WHERE " IN_BATCH("j.");

/* Moves one batch; the number of jobs moved (attempts added to *attempts),
 * or -1 (logged, rolled back). */
static long long archive_batch(struct vg_db *db, const struct vg_config *cfg, long long *attempts)
{
	struct vg_db_param lp[] = {vg_p_i64(cfg->retention.archive_after_days),
				   vg_p_i64(cfg->retention.archive_batch)};
	struct vg_db_result res;
	long long n, copied, acopied, adeleted, deleted;
	char last_at[32], last_id[24];

	if (vg_db_begin(db) < 0)
		return -1;
	n = vg_db_query(db, archive_lock_sql, lp, VG_DB_NPARAMS(lp), &res);
	if (n <= 0) {
		vg_db_result_free(&res);
		goto out;
	}
	snprintf(last_at, sizeof(last_at), "%s", vg_db_cell(&res, (size_t)n - 1, 0));
	snprintf(last_id, sizeof(last_id), "%s", vg_db_cell(&res, (size_t)n - 1, 1));
	vg_db_result_free(&res);
	{
		struct vg_db_param bp[] = {vg_p_str(last_at), vg_p_str(last_at),
					   vg_p_i64(strtoll(last_id, NULL, 10))};
		size_t nb = VG_DB_NPARAMS(bp);

		copied = vg_db_exec(db, archive_jobs_sql, bp, nb);
		acopied = copied < 0 ? -1 : vg_db_exec(db, archive_attempts_sql, bp, nb);
		adeleted = acopied < 0 ? -1 : vg_db_exec(db, delete_attempts_sql, bp, nb);
		deleted = adeleted < 0 ? -1 : vg_db_exec(db, delete_jobs_sql, bp, nb);
	}
	if (deleted < 0) {
		vg_error("msg=\"archive batch failed; rolled back\" shard=%u error=\"%s\"",
			 vg_db_shard(db), vg_db_error(db));
		n = -1;
		goto out;
	}
	if (copied != n || deleted != n || acopied != adeleted) {
		vg_error("msg=\"archive batch disagrees with itself; rolled back\" shard=%u "
			 "locked=%lld copied=%lld deleted=%lld attempts_copied=%lld "
			 "attempts_deleted=%lld",
			 vg_db_shard(db), n, copied, deleted, acopied, adeleted);
		n = -1;
		goto out;
	}
	if (vg_db_commit(db) < 0)
		return -1;
	*attempts += acopied;
	return n;
out:
	vg_db_rollback(db);
	return n;
}

long long janitor_archive(struct vg_db *db, const struct vg_config *cfg, long long budget_ms)
{
	int64_t start = vg_mono_ms();
	long long moved = 0, attempts = 0, n = 0;
	unsigned batches = 0;

	if (cfg->retention.archive_after_days <= 0)
		return 0;
	do {
		n = archive_batch(db, cfg, &attempts);
		if (n > 0) {
			moved += n;
			batches++;
		}
	} while (n == cfg->retention.archive_batch && vg_mono_ms() - start < budget_ms);
	if (moved > 0) {
		wmetrics_archived(moved);
		vg_info("msg=\"finished jobs archived\" shard=%u jobs=%lld attempts=%lld "
			"batches=%u ms=%lld more=%s",
			vg_db_shard(db), moved, attempts, batches,
			(long long)(vg_mono_ms() - start),
			n == cfg->retention.archive_batch ? "yes" : "no");
	}
	return n < 0 ? -1 : moved;
}
