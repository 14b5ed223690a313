/*
 * vg_retention.c - the retention sweep (see vg_retention.h).
 *
 * The due range is read on ix_videos_retention (deleted_at, expires_at):
 * only live videos past their expiry, in expiry order, never the years of
 * deleted rows before them.
 */
#include "vg_retention.h"
#include "vg_cache.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_store.h"
#include "vg_video_cache.h"
#include "vg_webhook.h"

#include <stdlib.h>

static const char due_sql[] =
	"SELECT id, object_key, expires_at FROM videos FORCE INDEX (ix_videos_retention) "
	"WHERE deleted_at IS NULL AND expires_at < UTC_TIMESTAMP(6) "
	"ORDER BY deleted_at, expires_at LIMIT ?";
static const char delete_sql[] =
	"UPDATE videos SET status = 'deleted', deleted_at = UTC_TIMESTAMP(6), title = NULL, "
	"filename = NULL, metadata = NULL, result = NULL WHERE id = ? AND deleted_at IS NULL";
static const char cancel_sql[] =
	"UPDATE jobs SET state = 'cancelled', finished_at = UTC_TIMESTAMP(6), lease_token = NULL, "
	"lease_expires_at = NULL, last_error = ? "
	"WHERE video_id = ? AND state IN ('ready', 'running')";

int vg_video_mark_deleted(struct vg_db *db, const char *id, const char *why)
{
	struct vg_db_param ip[] = {vg_p_str(id)};
	struct vg_db_param cp[] = {vg_p_str(why), vg_p_str(id)};
	long long n = vg_db_exec(db, delete_sql, ip, VG_DB_NPARAMS(ip));

	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	/* video.deleted rides in the caller's transaction with the mark */
	if (vg_webhook_emit(db, id, "video.deleted", "deleted") < 0)
		return -1;
	return vg_db_exec(db, cancel_sql, cp, VG_DB_NPARAMS(cp)) < 0 ? -1 : 1;
}

int vg_retention_pass(struct vg_db *db, struct vg_store *store, struct vg_cache *cache, int limit,
		      int dry_run, FILE *out)
{
	struct vg_db_param p[] = {vg_p_i64(limit)};
	struct vg_db_result res;
	long long n = vg_db_query(db, due_sql, p, VG_DB_NPARAMS(p), &res);
	int done = 0;

	if (n < 0)
		return -1;
	for (long long i = 0; i < n; i++) {
		const char *id = vg_db_cell(&res, (size_t)i, 0);
		const char *key = vg_db_cell(&res, (size_t)i, 1);

		if (out)
			fprintf(out, "%s %s expired %s\n", dry_run ? "would delete" : "deleting",
				id, vg_db_cell(&res, (size_t)i, 2));
		if (dry_run) {
			done++;
			continue;
		}
		if (vg_store_remove(store, key) != VG_STORE_OK)
			continue; /* keep the row: the next pass tries again */
		if (vg_db_begin(db) < 0)
			break;
		if (vg_video_mark_deleted(db, id, "video past its retention") < 0 ||
		    vg_db_commit(db) < 0) {
			vg_db_rollback(db);
			break; /* the object is gone, the row still due: the next pass repairs it */
		}
		if (cache)
			vg_video_cache_invalidate(cache, id);
		vg_info("msg=\"video past its retention deleted\" video_id=%s", id);
		done++;
	}
	vg_db_result_free(&res);
	return done;
}
