/*
 * claim.c - the claim: SELECT ... FOR UPDATE SKIP LOCKED in one short transaction.
 *
 * One call claims from one shard: a transaction never spans shards, so a
 * shard that is down fails only its own claim (worker.c goes on to the
 * others). The claimed jobs remember that shard for every later write.
 *
 * The query and why it is shaped so: lib/vg_queue.h. The session is READ
 * COMMITTED (vg_db): under REPEATABLE READ gap locks would deadlock claimers
 * against inserting
 * uploads. Each claimed row is updated by primary key. The transaction holds
 * no lock across anything slow: the HTTP call happens after COMMIT.
 */
#include "claim.h"
#include "job.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_hash.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_queue.h"
#include "vg_shards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_TRIES 3
#define CLAIM_MAX   1000

static const char claim_select_sql[] = VG_CLAIM_SQL;
static const char claim_update_sql[] =
	"UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, "
	"lease_token = ?, lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND "
	"WHERE id = ?";
/* A released attempt (the call never reached the service) left its row;
 * the next attempt with the same number takes it over. */
static const char attempt_sql[] =
	"INSERT INTO job_attempts (job_id, attempt, worker, lease_token, started_at, outcome) "
	"VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), 'running') "
	"ON DUPLICATE KEY UPDATE worker = VALUES(worker), lease_token = VALUES(lease_token), "
	"started_at = VALUES(started_at), finished_at = NULL, outcome = 'running', "
	"http_status = NULL, error = NULL";
static const char video_sql[] =
	"UPDATE videos SET status = 'processing' WHERE id = ? AND status IN ('queued', 'failed')";
static const char details_sql[] =
	"SELECT size_bytes, sha256, content_type, container, duration_ms, object_key "
	"FROM videos WHERE id = ?";

static int warned_ids; /* the id range warning, once a process */

void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->content_type);
	free(j->container);
	free(j->request_body);
	free(j->response);
	free(j->status_url);
	free(j->done_result);
	free(j);
}

static int new_token(char out[JOB_TOKEN_LEN + 1])
{
	unsigned char raw[JOB_TOKEN_LEN / 2];

	if (vg_random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	vg_hex(raw, sizeof(raw), out);
	return 0;
}

/* One try of the claim transaction. Returns the count, or -1 (rolled back). */
static int claim_once(struct vg_db *db, const struct vg_config *cfg, const char *owner,
		      unsigned max, struct job **claimed)
{
	struct vg_db_result res;
	long long n;

	*claimed = NULL;
	if (vg_db_begin(db) < 0)
		return -1;
	{
		struct vg_db_param p[] = {vg_p_i64(max)};

		n = vg_db_query(db, claim_select_sql, p, VG_DB_NPARAMS(p), &res);
	}
	if (n < 0)
		goto fail;
	for (long long i = 0; i < n; i++) {
		struct job *j = vg_calloc(1, sizeof(*j));

		j->id = strtoll(vg_db_cell(&res, (size_t)i, 0), NULL, 10);
		j->shard = db->shard;
		snprintf(j->video_id, sizeof(j->video_id), "%s", vg_db_cell(&res, (size_t)i, 1));
		j->attempt = (unsigned)strtoul(vg_db_cell(&res, (size_t)i, 2), NULL, 10) + 1;
		j->max_attempts = (unsigned)strtoul(vg_db_cell(&res, (size_t)i, 3), NULL, 10);
		j->retry_after_s = -1;
		j->duration_ms = -1;
		j->next = *claimed;
		*claimed = j;
		if (new_token(j->token) < 0)
			goto fail_free;
		{
			struct vg_db_param p[] = {vg_p_str(owner), vg_p_str(j->token),
						  vg_p_i64(cfg->jobs.lease_seconds), vg_p_i64(j->id)};

			if (vg_db_exec(db, claim_update_sql, p, VG_DB_NPARAMS(p)) != 1)
				goto fail_free;
		}
		{
			struct vg_db_param p[] = {vg_p_i64(j->id), vg_p_i64(j->attempt),
						  vg_p_str(owner), vg_p_str(j->token)};

			if (vg_db_exec(db, attempt_sql, p, VG_DB_NPARAMS(p)) < 1)
				goto fail_free;
		}
		{
			struct vg_db_param p[] = {vg_p_str(j->video_id)};

			if (vg_db_exec(db, video_sql, p, VG_DB_NPARAMS(p)) < 0)
				goto fail_free;
		}
	}
	vg_db_result_free(&res);
	if (vg_db_commit(db) < 0)
		goto fail; /* lost commit: the janitor reaps the leases if it landed */
	return (int)n;
fail_free:
	vg_db_result_free(&res);
fail:
	vg_db_rollback(db);
	while (*claimed) {
		struct job *next = (*claimed)->next;

		job_free(*claimed);
		*claimed = next;
	}
	return -1;
}

static void load_details(struct vg_db *db, struct job *j)
{
	struct vg_db_param p[] = {vg_p_str(j->video_id)};
	struct vg_db_result res;

	if (vg_db_query(db, details_sql, p, VG_DB_NPARAMS(p), &res) == 1) {
		j->size = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
		snprintf(j->sha256, sizeof(j->sha256), "%s", vg_db_cell(&res, 0, 1));
		if (vg_db_cell(&res, 0, 2))
			j->content_type = vg_strdup(vg_db_cell(&res, 0, 2));
		if (vg_db_cell(&res, 0, 3))
			j->container = vg_strdup(vg_db_cell(&res, 0, 3));
		if (vg_db_cell(&res, 0, 4))
			j->duration_ms = strtoll(vg_db_cell(&res, 0, 4), NULL, 10);
		snprintf(j->object_key, sizeof(j->object_key), "%s", vg_db_cell(&res, 0, 5));
	}
	vg_db_result_free(&res);
}

int claim_jobs(struct vg_db *db, const struct vg_config *cfg, const char *owner, unsigned max,
	       struct job **list)
{
	struct job *claimed = NULL;
	int n = -1;

	if (max == 0)
		return 0;
	if (max > CLAIM_MAX)
		max = CLAIM_MAX;
	for (int tries = 0; tries < CLAIM_TRIES; tries++) {
		n = claim_once(db, cfg, owner, max, &claimed);
		if (n >= 0)
			break;
		/* A deadlock or lock timeout rolls the whole transaction back: retry it whole. */
		if (db->last_errno != VG_DB_ER_LOCK_DEADLOCK &&
		    db->last_errno != VG_DB_ER_LOCK_WAIT_TIMEOUT)
			break;
		vg_info("msg=\"claim deadlocked; retrying\" shard=%u try=%d", db->shard, tries + 1);
	}
	if (n <= 0)
		return n;
	if (claimed && vg_job_shard(claimed->id) != db->shard && !warned_ids) {
		/* Job ids are the service's Idempotency-Key: two shards numbering
		 * from 1 would hand it the same key for different videos. */
		vg_warn("msg=\"job id outside its shard's range; run vingestctl migrate on every "
			"shard\" job_id=%lld shard=%u",
			claimed->id, db->shard);
		warned_ids = 1;
	}
	while (claimed) {
		struct job *j = claimed;

		claimed = j->next;
		load_details(db, j);
		j->next = *list;
		*list = j;
		vg_info("msg=\"job claimed\" job_id=%lld shard=%u video_id=%s attempt=%u", j->id,
			j->shard, j->video_id, j->attempt);
	}
	return n;
}

void shard_watch_note(struct shard_watch *w, const struct vg_db *db, int ok, const char *who)
{
	char server[300];
	unsigned k = db->shard;

	if (k >= VG_SHARDS_MAX)
		return;
	if (ok) {
		if (w->down[k])
			vg_info("msg=\"shard back\" shard=%u server=\"%s\" process=%s", k,
				vg_db_server(db, server, sizeof(server)), who);
		w->down[k] = 0;
		return;
	}
	if (!vg_db_down(db) || w->down[k])
		return;
	w->down[k] = 1;
	vg_warn("msg=\"shard down; its jobs wait, the other shards go on\" shard=%u server=\"%s\" "
		"process=%s error=\"%s\"",
		k, vg_db_server(db, server, sizeof(server)), who, db->last_error);
}
