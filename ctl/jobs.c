/*
 * jobs.c - queue and fleet commands of vingestctl (see jobs.h).
 *
 * Everything here reads the views DBAs use (v_queue, v_dead_jobs, v_fleet)
 * and the requeue is the same single UPDATE docs/dba.md documents, so the
 * command line and plain SQL can never disagree about what a state means.
 */
#include "jobs.h"
#include "output.h"
#include "vg_config.h"
#include "vg_db.h"
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

int jobs_summary(struct vg_db *db, int json)
{
	static const char *const names[] = {"state", "jobs", "oldest_ready_age_s", "due",
					    "scheduled"};
	static const char *const numeric[] = {"jobs", "oldest_ready_age_s", "due", "scheduled",
					      NULL};

	return output_list(db, queue_sql, NULL, 0, names, numeric, json);
}

int jobs_dead(struct vg_db *db, int json)
{
	static const char *const names[] = {"job_id", "video_id", "user", "attempts",
					    "last_http_status", "last_error", "finished_at"};
	static const char *const numeric[] = {"job_id", "attempts", "last_http_status", NULL};

	return output_list(db, dead_sql, NULL, 0, names, numeric, json);
}

int jobs_workers(struct vg_db *db, int json)
{
	static const char *const names[] = {"host", "pid", "role", "state", "started_at",
					    "heartbeat_age_s", "jobs_in_flight", "alive"};
	static const char *const numeric[] = {"pid", "heartbeat_age_s", "jobs_in_flight", "alive",
					      NULL};

	return output_list(db, fleet_sql, NULL, 0, names, numeric, json);
}

static const char dead_videos_sql[] = "SELECT video_id FROM jobs WHERE state = 'dead'";
static const char job_video_sql[] = "SELECT video_id FROM jobs WHERE id = ? AND state = 'dead'";

/* The requeued videos' cached status must go (their status changes). */
static void invalidate(const struct vg_config *cfg, const struct vg_db_result *videos)
{
	struct vg_cache cache;

	if (vg_cache_open(&cache, cfg->cache.servers) < 0)
		return;
	for (size_t i = 0; i < videos->nrows; i++)
		vg_video_cache_invalidate(&cache, vg_db_cell(videos, i, 0));
	vg_cache_close(&cache);
}

int jobs_retry(struct vg_db *db, const struct vg_config *cfg, const char *id_or_all)
{
	struct vg_db_result videos;
	long long n;

	if (strcmp(id_or_all, "--all-dead") == 0) {
		struct vg_db_param p[] = {vg_p_i64(cfg->jobs.max_attempts)};

		if (vg_db_query(db, dead_videos_sql, NULL, 0, &videos) < 0) {
			fprintf(stderr, "vingestctl: cannot list dead jobs: %s\n", db->last_error);
			return -1;
		}
		n = vg_db_exec(db, retry_all_sql, p, VG_DB_NPARAMS(p));
	} else {
		char *end;
		long long id = strtoll(id_or_all, &end, 10);
		struct vg_db_param p[] = {vg_p_i64(cfg->jobs.max_attempts), vg_p_i64(id)};

		struct vg_db_param vp[] = {vg_p_i64(id)};

		if (*id_or_all == '\0' || *end || id <= 0) {
			fprintf(stderr, "vingestctl: '%s' is not a job id (or use --all-dead)\n",
				id_or_all);
			return -1;
		}
		if (vg_db_query(db, job_video_sql, vp, VG_DB_NPARAMS(vp), &videos) < 0) {
			fprintf(stderr, "vingestctl: cannot read job %lld: %s\n", id, db->last_error);
			return -1;
		}
		n = vg_db_exec(db, retry_one_sql, p, VG_DB_NPARAMS(p));
		if (n == 0) {
			fprintf(stderr, "vingestctl: job %lld is not dead (or its video was deleted)\n",
				id);
			vg_db_result_free(&videos);
			return -1;
		}
	}
	if (n < 0) {
		fprintf(stderr, "vingestctl: requeue failed: %s\n", db->last_error);
		vg_db_result_free(&videos);
		return -1;
	}
	invalidate(cfg, &videos);
	vg_db_result_free(&videos);
	/* The multi-table UPDATE counts the job and its video: two rows per job. */
	printf("requeued %lld job%s\n", n / 2, n / 2 == 1 ? "" : "s");
	return 0;
}

int jobs_explain(struct vg_db *db, const struct vg_config *cfg, int analyze)
{
	struct vg_db_param p[] = {vg_p_i64(cfg->jobs.batch)};
	struct vg_db_result r;

	/* ANALYZE runs the claim for real (in autocommit: its locks go at once,
	 * and nothing is updated) and shows the rows it actually read. */
	if (vg_db_query(db, analyze ? analyze_sql : explain_sql, p, VG_DB_NPARAMS(p), &r) < 1) {
		fprintf(stderr, "vingestctl: cannot explain the claim: %s\n", db->last_error);
		vg_db_result_free(&r);
		return -1;
	}
	printf("%s\n", vg_db_cell(&r, 0, 0));
	vg_db_result_free(&r);
	return 0;
}
