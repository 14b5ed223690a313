/*
 * reserve.c - a tus upload's first row, checked against the user's caps (see reserve.h).
 */
#include "reserve.h"
#include "child.h"
#include "request.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"

#include <stdio.h>
#include <stdlib.h>

#define UNCAPPED (1LL << 60) /* a cap of 0 (off) compares against this */

/* The user's live unfinished uploads (ix_uploads_user): expired tus uploads,
 * kept a while to answer 410, reserve nothing. */
#define LIVE_ROWS "FROM uploads WHERE user_id = ? AND expires_at > UTC_TIMESTAMP(6)"

static const char insert_sql[] =
	"INSERT INTO uploads (id, user_id, kind, state, object_key, upload_length, upload_offset, "
	"metadata, created_at, expires_at) "
	"SELECT ?, ?, 'tus', 'receiving', ?, ?, 0, ?, UTC_TIMESTAMP(6), "
	"UTC_TIMESTAMP(6) + INTERVAL ? SECOND FROM DUAL "
	"WHERE (SELECT COUNT(*) " LIVE_ROWS " AND kind = 'tus') < ? "
	"AND (SELECT COALESCE(SUM(COALESCE(upload_length, ?)), 0) " LIVE_ROWS ") + ? <= ?";

static const char usage_sql[] =
	"SELECT COUNT(kind = 'tus' OR NULL), COALESCE(SUM(COALESCE(upload_length, ?)), 0) " LIVE_ROWS;

static long long cap_or_none(long long cap)
{
	return cap > 0 ? cap : UNCAPPED;
}

/* Tells the client which cap it met (a second look, on refusals only). */
static void refuse(struct request *r, const struct reservation *v, long long reserve)
{
	const struct vg_config *cfg = r->child->cfg;
	struct vg_db_param p[] = {vg_p_i64(cfg->limits.max_upload_bytes), vg_p_i64(r->user_id)};
	struct vg_db_result res;
	long long open = 0, held = 0;
	char msg[200];

	if (vg_db_query(r->db, usage_sql, p, VG_DB_NPARAMS(p), &res) > 0) {
		open = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
		held = strtoll(vg_db_cell(&res, 0, 1), NULL, 10);
	}
	vg_db_result_free(&res);
	if (cfg->limits.open_uploads_per_user > 0 && open >= cfg->limits.open_uploads_per_user) {
		vg_info("msg=\"upload refused: open tus uploads at the cap\" request_id=%s user=%lld "
			"open=%lld cap=%lld",
			r->request_id, r->user_id, open, cfg->limits.open_uploads_per_user);
		snprintf(
			msg, sizeof(msg),
			"this key has %lld unfinished uploads, the most allowed; finish or delete one",
			open);
		request_error_retry(r, 429, "too_many_open_uploads", msg, 60);
		return;
	}
	vg_info("msg=\"upload refused: staging bytes of this user at the cap\" request_id=%s "
		"user=%lld reserved=%lld asked=%lld cap=%lld",
		r->request_id, r->user_id, held, reserve, cfg->limits.staging_bytes_per_user);
	snprintf(msg, sizeof(msg),
		 "this key's unfinished uploads hold %lld of its %lld bytes; finish or delete one",
		 held, cfg->limits.staging_bytes_per_user);
	request_error_retry(r, 507, "staging_quota_exceeded", msg, 60);
}

int reserve_upload(struct request *r, const struct reservation *v)
{
	const struct vg_config *cfg = r->child->cfg;
	long long reserve = v->length >= 0 ? v->length : cfg->limits.max_upload_bytes;
	long long open_cap = cap_or_none(cfg->limits.open_uploads_per_user);
	struct vg_db_param p[] = {
		vg_p_str(v->id),
		vg_p_i64(r->user_id),
		vg_p_str(v->key),
		v->length >= 0 ? vg_p_i64(v->length) : vg_p_str(NULL),
		vg_p_str(v->metadata),
		vg_p_i64(v->ttl_seconds),
		vg_p_i64(r->user_id),
		vg_p_i64(open_cap),
		vg_p_i64(cfg->limits.max_upload_bytes),
		vg_p_i64(r->user_id),
		vg_p_i64(reserve),
		vg_p_i64(cap_or_none(cfg->limits.staging_bytes_per_user)),
	};
	long long n = vg_db_exec(r->db, insert_sql, p, VG_DB_NPARAMS(p));

	if (n < 0)
		return -1;
	if (n == 0) {
		refuse(r, v, reserve);
		return 0;
	}
	return 1;
}
