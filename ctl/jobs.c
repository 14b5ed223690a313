/*
 * jobs.c - queue and fleet commands of vingestctl (see jobs.h).
 *
 * Everything here reads the views DBAs use (v_queue, v_dead_jobs, v_fleet)
 * and the requeue is the same single UPDATE docs/dba.md documents, so the
 * command line and plain SQL can never disagree about what a state means.
 * With several shards each runs the same query and the answers are summed
 * (counts) or put one after the other (lists); a job id names its shard
 * (vg_job_shard), so a retry by id touches that shard alone.
 */
#include "jobs.h"
#include "output.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_shards.h"
#include "vg_queue.h"
#include "vg_cache.h"
#include "vg_video_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char queue_sql[] =
	"SELECT state, jobs, oldest_ready_age_s, due, scheduled FROM v_queue";
static const char dead_sql[] =
	"SELECT job_id, video_id, user_name, attempts, last_http_status, last_error, finished_at "
	"FROM v_dead_jobs ORDER BY finished_at, job_id LIMIT 1000";
static const char fleet_sql[] =
	"SELECT host, pid, role, state, started_at, heartbeat_age_s, jobs_in_flight, alive "
	"FROM v_fleet ORDER BY host, role DESC, pid";
static const char explain_sql[] = "EXPLAIN FORMAT=JSON " VG_CLAIM_SQL;
static const char analyze_sql[] = "ANALYZE FORMAT=JSON " VG_CLAIM_SQL;
static const char retry_one_sql[] =
	"UPDATE jobs j JOIN videos v ON v.id = j.video_id "
	"SET j.state = 'ready', j.run_after = UTC_TIMESTAMP(6), j.max_attempts = j.attempts + ?, "
	"j.lease_owner = NULL, j.lease_token = NULL, j.lease_expires_at = NULL, "
	"j.finished_at = NULL, v.status = 'queued' "
	"WHERE j.id = ? AND j.state = 'dead' AND v.status <> 'deleted'";
static const char retry_all_sql[] =
	"UPDATE jobs j JOIN videos v ON v.id = j.video_id "
	"SET j.state = 'ready', j.run_after = UTC_TIMESTAMP(6), j.max_attempts = j.attempts + ?, "
	"j.lease_owner = NULL, j.lease_token = NULL, j.lease_expires_at = NULL, "
	"j.finished_at = NULL, v.status = 'queued' "
	"WHERE j.state = 'dead' AND v.status <> 'deleted'";

/* Adds cell (i, c) of r into the same cell of sum: integers add up, with
 * max the larger number stays. NULL counts as nothing. */
static void merge_cell(struct vg_db_result *sum, const struct vg_db_result *r, size_t i, unsigned c,
		       int max)
{
	char **into = &sum->cells[i * sum->nfields + c];
	const char *v = vg_db_cell(r, i, c);
	char buf[32];

	if (!v)
		return;
	if (!*into) {
		*into = vg_strdup(v);
		return;
	}
	if (max) {
		if (strtod(v, NULL) > strtod(*into, NULL)) {
			free(*into);
			*into = vg_strdup(v);
		}
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", strtoll(*into, NULL, 10) + strtoll(v, NULL, 10));
	free(*into);
	*into = vg_strdup(buf);
}

int jobs_summary(struct vg_shards *sh, int json)
{
	static const char *const names[] = {"state", "jobs", "oldest_ready_age_s", "due",
					    "scheduled"};
	static const char *const numeric[] = {"jobs", "oldest_ready_age_s", "due", "scheduled",
					      NULL};
	struct vg_db_result sum, r;
	int rc = 0, have = 0;
	char name[400];

	if (sh->n == 1)
		return output_list(vg_shards_db(sh, 0), queue_sql, NULL, 0, names, numeric, json);
	/* v_queue has the same rows in the same order on every shard. */
	memset(&sum, 0, sizeof(sum));
	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);

		if (vg_db_query(db, queue_sql, NULL, 0, &r) < 0) {
			fprintf(stderr, "vingestctl: %s: query failed: %s\n",
				output_shard_name(db, name, sizeof(name)), vg_db_error(db));
			rc = -1;
			continue;
		}
		if (!have) {
			sum = r;
			have = 1;
			continue;
		}
		for (size_t i = 0; i < r.nrows && i < sum.nrows; i++)
			if (strcmp(vg_db_cell(&r, i, 0), vg_db_cell(&sum, i, 0)) == 0)
				for (unsigned c = 1; c < r.nfields && c < sum.nfields; c++)
					merge_cell(&sum, &r, i, c, c == 2);
		vg_db_result_free(&r);
	}
	if (!have)
		return -1;
	output_rows(&sum, names, numeric, json);
	vg_db_result_free(&sum);
	return rc;
}

int jobs_dead(struct vg_shards *sh, int json)
{
	static const char *const names[] = {"job_id",	  "video_id",	      "user",
					    "attempts",	  "last_http_status", "last_error",
					    "finished_at"};
	static const char *const numeric[] = {"job_id", "attempts", "last_http_status", NULL};

	return output_list_shards(sh, dead_sql, names, numeric, json);
}

int jobs_workers(struct vg_shards *sh, int json)
{
	static const char *const names[] = {"host",	      "pid",	    "role",
					    "state",	      "started_at", "heartbeat_age_s",
					    "jobs_in_flight", "alive"};
	static const char *const numeric[] = {"pid", "heartbeat_age_s", "jobs_in_flight", "alive",
					      NULL};

	return output_list_shards(sh, fleet_sql, names, numeric, json);
}

static const char dead_videos_sql[] = "SELECT video_id FROM jobs WHERE state = 'dead'";
static const char job_video_sql[] = "SELECT video_id FROM jobs WHERE id = ? AND state = 'dead'";

/* The requeued videos' cached status must go (their status changes). */
static void invalidate(const struct vg_config *cfg, const struct vg_db_result *videos)
{
	struct vg_cache cache;

	if (vg_cache_open(&cache, cfg) < 0)
		return;
	for (size_t i = 0; i < videos->nrows; i++)
		vg_video_cache_invalidate(&cache, vg_db_cell(videos, i, 0));
	vg_cache_close(&cache);
}

/* Requeues every dead job of one shard; the number of jobs, or -1 (printed). */
static long long retry_all(struct vg_db *db, const struct vg_config *cfg, int many)
{
	struct vg_db_param p[] = {vg_p_i64(cfg->jobs.max_attempts)};
	struct vg_db_result videos;
	char name[400];
	long long n;

	if (vg_db_query(db, dead_videos_sql, NULL, 0, &videos) < 0) {
		fprintf(stderr, "vingestctl: %s%scannot list dead jobs: %s\n",
			many ? output_shard_name(db, name, sizeof(name)) : "", many ? ": " : "",
			vg_db_error(db));
		return -1;
	}
	n = vg_db_exec(db, retry_all_sql, p, VG_DB_NPARAMS(p));
	if (n < 0) {
		fprintf(stderr, "vingestctl: %s%srequeue failed: %s\n",
			many ? output_shard_name(db, name, sizeof(name)) : "", many ? ": " : "",
			vg_db_error(db));
		vg_db_result_free(&videos);
		return -1;
	}
	invalidate(cfg, &videos);
	vg_db_result_free(&videos);
	/* The multi-table UPDATE counts the job and its video: two rows per job. */
	return n / 2;
}

static const char archived_sql[] = "SELECT 1 FROM jobs_archive WHERE id = ?";

/* Has the janitor moved job id to jobs_archive? (No answer counts as no.) */
static int archived(struct vg_db *db, long long id)
{
	struct vg_db_param p[] = {vg_p_i64(id)};
	struct vg_db_result r;
	long long n = vg_db_query(db, archived_sql, p, VG_DB_NPARAMS(p), &r);

	vg_db_result_free(&r);
	return n > 0;
}

/* Requeues dead job id on the shard that numbered it; 1, or -1 (printed). */
static long long retry_one(struct vg_shards *sh, const struct vg_config *cfg, long long id)
{
	struct vg_db_param p[] = {vg_p_i64(cfg->jobs.max_attempts), vg_p_i64(id)};
	struct vg_db_param vp[] = {vg_p_i64(id)};
	struct vg_db *db = vg_shards_db(sh, vg_job_shard(id));
	struct vg_db_result videos;
	long long n;

	if (!db) {
		fprintf(stderr,
			"vingestctl: job %lld was numbered by shard %u, which [db] shards "
			"does not list (%u shard%s)\n",
			id, vg_job_shard(id), sh->n, sh->n == 1 ? "" : "s");
		return -1;
	}
	if (vg_db_query(db, job_video_sql, vp, VG_DB_NPARAMS(vp), &videos) < 0) {
		fprintf(stderr, "vingestctl: cannot read job %lld: %s\n", id, vg_db_error(db));
		return -1;
	}
	n = vg_db_exec(db, retry_one_sql, p, VG_DB_NPARAMS(p));
	if (n == 0 && archived(db, id))
		fprintf(stderr,
			"vingestctl: job %lld is archived (finished more than "
			"retention.archive_after_days ago, now in jobs_archive): move it back to "
			"jobs first (docs/dba.md, \"The archive\")\n",
			id);
	else if (n == 0)
		fprintf(stderr, "vingestctl: job %lld is not dead (or its video was deleted)\n",
			id);
	else if (n < 0)
		fprintf(stderr, "vingestctl: requeue failed: %s\n", vg_db_error(db));
	else
		invalidate(cfg, &videos);
	vg_db_result_free(&videos);
	return n > 0 ? 1 : -1;
}

int jobs_retry(struct vg_shards *sh, const struct vg_config *cfg, const char *id_or_all)
{
	long long n = 0;
	int rc = 0;

	if (strcmp(id_or_all, "--all-dead") == 0) {
		for (unsigned k = 0; k < sh->n; k++) {
			long long m = retry_all(vg_shards_db(sh, k), cfg, sh->n > 1);

			if (m < 0)
				rc = -1;
			else
				n += m;
		}
	} else {
		char *end;
		long long id = strtoll(id_or_all, &end, 10);

		if (*id_or_all == '\0' || *end || id <= 0) {
			fprintf(stderr, "vingestctl: '%s' is not a job id (or use --all-dead)\n",
				id_or_all);
			return -1;
		}
		n = retry_one(sh, cfg, id);
		if (n < 0)
			return -1;
	}
	if (rc == 0 || n > 0)
		printf("requeued %lld job%s\n", n, n == 1 ? "" : "s");
	return rc;
}

int jobs_explain(struct vg_shards *sh, const struct vg_config *cfg, int analyze)
{
	struct vg_db *db = vg_shards_db(sh, 0);
	struct vg_db_param p[] = {vg_p_i64(cfg->jobs.batch)};
	struct vg_db_result r;

	/* ANALYZE runs the claim for real (in autocommit: its locks go at once,
	 * and nothing is updated) and shows the rows it actually read. */
	if (vg_db_query(db, analyze ? analyze_sql : explain_sql, p, VG_DB_NPARAMS(p), &r) < 1) {
		fprintf(stderr, "vingestctl: cannot explain the claim: %s\n", vg_db_error(db));
		vg_db_result_free(&r);
		return -1;
	}
	printf("%s\n", vg_db_cell(&r, 0, 0));
	vg_db_result_free(&r);
	return 0;
}
