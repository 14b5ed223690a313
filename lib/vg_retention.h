/*
 * vg_retention.h - five years, then gone: the retention sweep.
 *
 * Shared by the janitor (vingest-workers, every few seconds) and by
 * `vingestctl retention [--dry-run]`.
 */
#ifndef VG_RETENTION_H
#define VG_RETENTION_H

#include <stdio.h>

struct vg_db;
struct vg_store;
struct vg_cache;

/*
 * Inside the caller's transaction: marks video id deleted (status,
 * deleted_at, client fields cleared) and cancels its unfinished job with
 * last_error = why - a running job's worker is fenced out by the cleared
 * lease_token. The one way a video is deleted: by its owner (DELETE) and by
 * retention. Returns 1 marked, 0 already deleted, -1 database error.
 */
int vg_video_mark_deleted(struct vg_db *db, const char *id, const char *why);

/*
 * Deletes up to limit videos whose expires_at has passed, oldest first:
 * the object first, then the row marked deleted (status, deleted_at, client
 * fields cleared) and its unfinished job cancelled. Object first, because a
 * crash between the two then leaves a row still due, which the next pass
 * finishes (removing a missing object is fine) - never a live row without
 * its bytes' owner knowing. dry_run: report only. Each video is reported
 * on out (may be NULL). cache may be NULL. Returns the number handled, or -1.
 */
int vg_retention_pass(struct vg_db *db, struct vg_store *store, struct vg_cache *cache, int limit,
		      int dry_run, FILE *out);

#endif
