/*
 * videos.c - the read side of the video API.
 *
 * Listing is keyset pagination on the primary key: ids are time-ordered, so
 * "newest first" is `id < cursor ORDER BY id DESC` on the (user_id, id)
 * index, which costs the same on page 1 and page 10 000 (OFFSET would not).
 * The cursor is the last id of the page: opaque to clients, stable under
 * inserts.
 */
#include "videos.h"
#include "child.h"
#include "request.h"
#include "video_json.h"
#include "vg_alloc.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_retention.h"
#include "vg_store.h"
#include "vg_video_cache.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 20
#define LIST_MAX     100

static void db_unavailable(struct request *r)
{
	request_error_retry(r, 503, "database_unavailable",
			    "the database is not reachable; try again shortly", 5);
}

/* Answers a cached video's JSON text as it is (it was made by video_json). */
static void answer_cached(struct request *r, const char *json)
{
	request_head(r, 200, "application/json; charset=utf-8", "X-Cache: hit\r\n");
	request_write(r, json, strlen(json));
	request_write(r, "\n", 1);
}

void videos_get(struct request *r, const char *id)
{
	struct json_object *v;
	char cached[16384];
	int found;

	if (vg_video_cache_get(&r->child->cache, id, r->user_id, cached, sizeof(cached))) {
		answer_cached(r, cached);
		return;
	}
	found = video_json_load(r->db, id, r->user_id, &v);
	if (found < 0) {
		db_unavailable(r);
		return;
	}
	if (!found) {
		request_error(r, 404, "not_found", "no such video");
		return;
	}
	vg_video_cache_add(&r->child->cache, id, r->user_id,
			   json_object_to_json_string_ext(v,
							  JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	request_json(r, 200, v, NULL);
	json_object_put(v);
}

/* "~" sorts after every id (ids start with 0-7), so it means "from the newest". */
static const char list_sql[] = "SELECT " VIDEO_JSON_COLUMNS " FROM videos v " VIDEO_JSON_JOBS
			       "WHERE v.user_id = ? AND v.id < ? ORDER BY v.id DESC LIMIT ?";
static const char list_status_sql[] =
	"SELECT " VIDEO_JSON_COLUMNS " FROM videos v " VIDEO_JSON_JOBS
	"WHERE v.user_id = ? AND v.status = ? AND v.id < ? ORDER BY v.id DESC LIMIT ?";

static int valid_status(const char *s)
{
	static const char *const ok[] = {"queued", "processing", "processed", "failed", "deleted"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return 1;
	return 0;
}

/* A row of one shard's result, for merging the shards' pages. */
struct list_row {
	const struct vg_db_result *res;
	size_t row;
};

static int newest_first(const void *a, const void *b)
{
	const struct list_row *x = a, *y = b;

	return strcmp(vg_db_cell(y->res, y->row, 0), vg_db_cell(x->res, x->row, 0));
}

/*
 * A user's videos may be on any shard: each shard gives its newest limit + 1
 * below the cursor, and the merge keeps the newest limit + 1 of all (ids
 * sort by creation time across shards, so the cursor works the same). Any
 * shard not answering makes the page 503: a page with holes would skip
 * videos for good, as the cursor moves past them.
 */
static long long list_shards(struct request *r, const char *status, const char *cursor, long limit,
			     struct vg_db_result *res, struct list_row **rows)
{
	struct vg_shards *s = &r->child->shards;
	long long total = 0;

	for (unsigned k = 0; k < s->n; k++) {
		long long n;

		if (status) {
			struct vg_db_param p[] = {vg_p_i64(r->user_id), vg_p_str(status),
						  vg_p_str(cursor), vg_p_i64(limit + 1)};

			n = vg_db_query(s->db[k], list_status_sql, p, VG_DB_NPARAMS(p), &res[k]);
		} else {
			struct vg_db_param p[] = {vg_p_i64(r->user_id), vg_p_str(cursor),
						  vg_p_i64(limit + 1)};

			n = vg_db_query(s->db[k], list_sql, p, VG_DB_NPARAMS(p), &res[k]);
		}
		if (n < 0)
			return -1;
		total += n;
	}
	*rows = vg_calloc(total ? (size_t)total : 1, sizeof(**rows));
	total = 0;
	for (unsigned k = 0; k < s->n; k++)
		for (size_t i = 0; i < res[k].nrows; i++) {
			(*rows)[total].res = &res[k];
			(*rows)[total].row = i;
			total++;
		}
	qsort(*rows, (size_t)total, sizeof(**rows), newest_first);
	return total;
}

void videos_list(struct request *r)
{
	char status[16], cursor[VG_ID_LEN + 1] = "~", limit_s[8];
	int have_status, rc;
	long limit = LIST_DEFAULT;
	struct vg_db_result res[VG_SHARDS_MAX];
	struct list_row *rows = NULL;
	long long n;
	struct json_object *root, *arr;

	have_status = request_query(r, "status", status, sizeof(status));
	if (have_status < 0 || (have_status && !valid_status(status))) {
		request_error(
			r, 400, "invalid_status",
			"status must be one of queued, processing, processed, failed, deleted");
		return;
	}
	rc = request_query(r, "limit", limit_s, sizeof(limit_s));
	if (rc != 0) {
		char *end;

		limit = rc > 0 ? strtol(limit_s, &end, 10) : 0;
		if (rc < 0 || end == limit_s || *end || limit < 1 || limit > LIST_MAX) {
			request_error(r, 400, "invalid_limit", "limit must be 1 to 100");
			return;
		}
	}
	rc = request_query(r, "cursor", cursor, sizeof(cursor));
	if (rc < 0 || (rc > 0 && !vg_id_valid(cursor))) {
		request_error(r, 400, "invalid_cursor", "cursor is not one this API gave out");
		return;
	}
	if (rc == 0)
		strcpy(cursor, "~");

	memset(res, 0, sizeof(res[0]) * r->child->shards.n);
	n = list_shards(r, have_status ? status : NULL, cursor, limit, res, &rows);
	if (n < 0) {
		db_unavailable(r);
		goto out;
	}

	root = json_object_new_object();
	arr = json_object_new_array();
	for (long long i = 0; i < n && i < limit; i++)
		json_object_array_add(arr, video_json_row(rows[i].res, (unsigned long)rows[i].row));
	json_object_object_add(root, "videos", arr);
	json_object_object_add(root, "next_cursor",
			       n > limit
				       ? json_object_new_string(vg_db_cell(rows[limit - 1].res,
									   rows[limit - 1].row, 0))
				       : NULL);
	request_json(r, 200, root, NULL);
	json_object_put(root);
out:
	free(rows);
	for (unsigned k = 0; k < r->child->shards.n; k++)
		vg_db_result_free(&res[k]);
}

/*
 * DELETE: the row is marked deleted and its client-given fields cleared in
 * one transaction with the job's cancellation, then the object is removed.
 * Row first: a crash between the two leaves bytes behind a `deleted` row
 * (the orphan collector's to find), never a live video without its bytes.
 * A job in flight is cancelled too; its worker's fenced write then matches
 * nothing, so a deleted video is never marked processed.
 */
static const char lock_sql[] =
	"SELECT object_key FROM videos WHERE id = ? AND user_id = ? AND deleted_at IS NULL "
	"FOR UPDATE";

void videos_delete(struct request *r, const char *id)
{
	struct vg_db *db = r->db;
	struct vg_db_param lp[] = {vg_p_str(id), vg_p_i64(r->user_id)};
	struct vg_db_result res;
	char key[VG_STORE_KEY_MAX];
	long long n;

	if (vg_db_begin(db) < 0) {
		db_unavailable(r);
		return;
	}
	n = vg_db_query(db, lock_sql, lp, VG_DB_NPARAMS(lp), &res);
	if (n <= 0) {
		vg_db_result_free(&res);
		vg_db_rollback(db);
		if (n < 0)
			db_unavailable(r);
		else
			request_error(r, 404, "not_found", "no such video");
		return;
	}
	snprintf(key, sizeof(key), "%s", vg_db_cell(&res, 0, 0));
	vg_db_result_free(&res);
	if (vg_video_mark_deleted(db, id, "video deleted by its owner") != 1 ||
	    vg_db_commit(db) < 0) {
		vg_db_rollback(db);
		db_unavailable(r);
		return;
	}
	vg_video_cache_invalidate(&r->child->cache, id);
	vg_store_remove(&r->child->store, key);
	vg_info("msg=\"video deleted\" request_id=%s video_id=%s user=%lld", r->request_id, id,
		r->user_id);
	request_empty(r, 204);
}
