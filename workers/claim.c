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
/* Each claimed row is updated by primary key, JOB_SET jobs a statement
 * (job.h): its own fresh lease_token, and the attempt and video rows that go
 * with it. */
static const char claim_update_sql[] =
	"UPDATE jobs SET state = 'running', attempts = attempts + (status_url IS NULL OR attempts = 0), "
	"lease_owner = ?, "
	"lease_token = CASE id" JOB_SET_WHEN " END, "
	"lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND "
	"WHERE id IN (" JOB_SET_IN ")";
/* A released attempt (the call never reached the service) left its row;
 * the next attempt with the same number takes it over. So does a claim that
 * polls: the attempt it polls for is the 'accepted' row, which keeps its
 * worker and start (assignments run left to right: outcome changes last)
 * and takes the new lease_token, which fences the poll's outcome. */
static const char attempt_sql[] =
	"INSERT INTO job_attempts (job_id, attempt, worker, lease_token, started_at, outcome) "
	"SELECT id, attempts, ?, lease_token, UTC_TIMESTAMP(6), 'running' FROM jobs "
	"WHERE id IN (" JOB_SET_IN ") "
	"ON DUPLICATE KEY UPDATE worker = IF(outcome = 'accepted', worker, VALUES(worker)), "
	"lease_token = VALUES(lease_token), "
	"started_at = IF(outcome = 'accepted', started_at, VALUES(started_at)), "
	"finished_at = NULL, outcome = 'running', http_status = NULL, error = NULL";
/* Jobs the service accepted with a 202: this claim polls them. Read before
 * claim_update_sql, which counts an attempt only for the others. */
static const char polls_sql[] =
	"SELECT id, status_url, "
	"IFNULL(TIMESTAMPDIFF(MICROSECOND, accepted_at, UTC_TIMESTAMP(6)) DIV 1000, 0) "
	"FROM jobs WHERE id IN (" JOB_SET_IN ") AND status_url IS NOT NULL AND attempts > 0";
static const char video_sql[] = "UPDATE videos SET status = 'processing' "
				"WHERE id IN (" JOB_SET_IN ") AND status IN ('queued', 'failed')";
static const char details_sql[] =
	"SELECT id, size_bytes, sha256, content_type, container, duration_ms, object_key "
	"FROM videos WHERE id IN (" JOB_SET_IN ")";

static int warned_ids; /* the id range warning, once a process */

void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->content_type);
	free(j->container);
	free(j->request_body);
	vg_buf_free(&j->response);
	free(j->status_url);
	free(j->stored_url);
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

/* The writes of one claim for up to JOB_SET jobs (set[0..m-1], distinct
 * ids): the jobs running under their new tokens, their attempt rows, their
 * videos processing. -1 on a database error. */
static int claim_set(struct vg_db *db, const struct vg_config *cfg, const char *owner,
		     struct job *const *set, size_t m)
{
	struct vg_db_param p[2 + 3 * JOB_SET];
	struct vg_db_result res;
	long long rows;
	size_t i, k;

	for (i = 0; i < JOB_SET; i++)
		p[i] = vg_p_i64(set[i < m ? i : 0]->id);
	rows = vg_db_query(db, polls_sql, p, JOB_SET, &res);
	if (rows < 0)
		return -1;
	for (long long r = 0; r < rows; r++) {
		long long id = strtoll(vg_db_cell(&res, (size_t)r, 0), NULL, 10);

		for (i = 0; i < m; i++) {
			struct job *j = set[i];

			if (j->id != id || j->stored_url)
				continue;
			j->stored_url = vg_strdup(vg_db_cell(&res, (size_t)r, 1));
			j->accepted_age_ms = strtoll(vg_db_cell(&res, (size_t)r, 2), NULL, 10);
			j->attempt--; /* the accepted attempt's number: a poll is not an attempt */
		}
	}
	vg_db_result_free(&res);
	k = 0;
	p[k++] = vg_p_str(owner);
	for (i = 0; i < JOB_SET; i++) {
		const struct job *j = set[i < m ? i : 0];

		p[k++] = vg_p_i64(j->id);
		p[k++] = vg_p_str(j->token);
	}
	p[k++] = vg_p_i64(cfg->jobs.lease_seconds);
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_i64(set[i < m ? i : 0]->id);
	/* Every row is locked by this transaction's SELECT: each one changes. */
	if (vg_db_exec(db, claim_update_sql, p, k) != (long long)m)
		return -1;
	k = 0;
	p[k++] = vg_p_str(owner);
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_i64(set[i < m ? i : 0]->id);
	if (vg_db_exec(db, attempt_sql, p, k) < (long long)m)
		return -1;
	k = 0;
	for (i = 0; i < JOB_SET; i++)
		p[k++] = vg_p_str(set[i < m ? i : 0]->video_id);
	if (vg_db_exec(db, video_sql, p, k) < 0)
		return -1;
	return 0;
}

static void free_list(struct job **list)
{
	while (*list) {
		struct job *next = (*list)->next;

		job_free(*list);
		*list = next;
	}
}

/* One claim: what the transaction needs, and the jobs it took. */
struct claim {
	const struct vg_config *cfg;
	const char *owner;
	unsigned max;
	struct job *claimed;
};

/* The claim transaction's statements (vg_db_txn_retry runs BEGIN, COMMIT,
 * and the retries). Returns the count (> 0: commit), 0 (nothing ready), or
 * -1 with nothing kept. */
static int claim_body(struct vg_db *db, void *arg)
{
	struct claim *c = arg;
	struct vg_db_result res;
	long long n;
	int rc = -1;

	free_list(&c->claimed); /* a try that COMMIT refused: start over */
	{
		struct vg_db_param p[] = {vg_p_i64(c->max)};

		n = vg_db_query(db, claim_select_sql, p, VG_DB_NPARAMS(p), &res);
	}
	if (n < 0)
		return -1;
	for (long long i = 0; i < n; i++) {
		struct job *j = vg_calloc(1, sizeof(*j));

		j->id = strtoll(vg_db_cell(&res, (size_t)i, 0), NULL, 10);
		j->shard = vg_db_shard(db);
		snprintf(j->video_id, sizeof(j->video_id), "%s", vg_db_cell(&res, (size_t)i, 1));
		j->attempt = (unsigned)strtoul(vg_db_cell(&res, (size_t)i, 2), NULL, 10) + 1;
		j->max_attempts = (unsigned)strtoul(vg_db_cell(&res, (size_t)i, 3), NULL, 10);
		j->retry_after_s = -1;
		j->duration_ms = -1;
		j->next = c->claimed;
		c->claimed = j;
		if (new_token(j->token) < 0)
			goto out;
	}
	for (struct job *first = c->claimed; first;) {
		struct job *set[JOB_SET];
		size_t m = 0;

		while (first && m < JOB_SET) {
			set[m++] = first;
			first = first->next;
		}
		if (claim_set(db, c->cfg, c->owner, set, m) < 0)
			goto out;
	}
	rc = (int)n;
out:
	vg_db_result_free(&res);
	if (rc < 0)
		free_list(&c->claimed);
	return rc;
}

/* What the processing service is told about each video: one query for up
 * to JOB_SET jobs (set[0..m-1]). A video that is gone leaves its job's
 * details empty; the call then fails its object check. */
static void load_details(struct vg_db *db, struct job *const *set, size_t m)
{
	struct vg_db_param p[JOB_SET];
	struct vg_db_result res;
	long long rows;

	for (size_t i = 0; i < JOB_SET; i++)
		p[i] = vg_p_str(set[i < m ? i : 0]->video_id);
	rows = vg_db_query(db, details_sql, p, JOB_SET, &res);
	for (long long r = 0; r < rows; r++) {
		const char *vid = vg_db_cell(&res, (size_t)r, 0);

		for (size_t i = 0; i < m; i++) {
			struct job *j = set[i];

			if (strcmp(j->video_id, vid) != 0)
				continue;
			j->size = strtoll(vg_db_cell(&res, (size_t)r, 1), NULL, 10);
			snprintf(j->sha256, sizeof(j->sha256), "%s",
				 vg_db_cell(&res, (size_t)r, 2));
			if (vg_db_cell(&res, (size_t)r, 3))
				j->content_type = vg_strdup(vg_db_cell(&res, (size_t)r, 3));
			if (vg_db_cell(&res, (size_t)r, 4))
				j->container = vg_strdup(vg_db_cell(&res, (size_t)r, 4));
			if (vg_db_cell(&res, (size_t)r, 5))
				j->duration_ms = strtoll(vg_db_cell(&res, (size_t)r, 5), NULL, 10);
			snprintf(j->object_key, sizeof(j->object_key), "%s",
				 vg_db_cell(&res, (size_t)r, 6));
		}
	}
	vg_db_result_free(&res);
}

int claim_jobs(struct vg_db *db, const struct vg_config *cfg, const char *owner, unsigned max,
	       struct job **list)
{
	struct claim c = {cfg, owner, max, NULL};
	struct job *claimed;
	int n;

	if (max == 0)
		return 0;
	if (max > CLAIM_MAX)
		c.max = CLAIM_MAX;
	/* A deadlock or lock timeout rolls the whole transaction back: it is
	 * run again whole. One that outlasts the tries is logged there; nothing
	 * is claimed from this shard this turn, and the next turn tries again. */
	n = vg_db_txn_retry(db, "claim", CLAIM_TRIES, claim_body, &c);
	if (n < 0) {
		/* (a lost COMMIT: the janitor reaps the leases if it landed) */
		free_list(&c.claimed);
		return -1;
	}
	claimed = c.claimed;
	if (n <= 0)
		return n;
	if (claimed && vg_job_shard(claimed->id) != vg_db_shard(db) && !warned_ids) {
		/* Job ids are the service's Idempotency-Key: two shards numbering
		 * from 1 would hand it the same key for different videos. */
		vg_warn("msg=\"job id outside its shard's range; run vingestctl migrate on every "
			"shard\" job_id=%lld shard=%u",
			claimed->id, vg_db_shard(db));
		warned_ids = 1;
	}
	for (struct job *first = claimed; first;) {
		struct job *set[JOB_SET];
		size_t m = 0;

		while (first && m < JOB_SET) {
			set[m++] = first;
			first = first->next;
		}
		load_details(db, set, m);
	}
	while (claimed) {
		struct job *j = claimed;

		claimed = j->next;
		j->next = *list;
		*list = j;
		if (j->stored_url) /* every few seconds a job: not worth an info line */
			vg_debug("msg=\"job claimed to poll its status_url\" job_id=%lld shard=%u "
				 "video_id=%s attempt=%u",
				 j->id, j->shard, j->video_id, j->attempt);
		else
			vg_info("msg=\"job claimed\" job_id=%lld shard=%u video_id=%s attempt=%u",
				j->id, j->shard, j->video_id, j->attempt);
	}
	return n;
}

void shard_watch_note(struct shard_watch *w, const struct vg_db *db, int ok, const char *who)
{
	char server[300];
	unsigned k = vg_db_shard(db);

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
		k, vg_db_server(db, server, sizeof(server)), who, vg_db_error(db));
}
