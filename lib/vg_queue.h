/*
 * vg_queue.h - the job queue's claim query, shared by the workers that run it
 * and by `vingestctl jobs explain`, which shows DBAs its plan.
 *
 * InnoDB locks every row it scans, not only the rows it returns. So the
 * claim must read the (state, run_after, id) index as a range in index order:
 * state = 'ready' AND run_after <= now, ORDER BY run_after, id, LIMIT n. It
 * then touches only due ready rows (plus at most one row just past the range),
 * never a job waiting out a back-off, and needs no filesort; `id` breaks ties
 * so the order is total. SKIP LOCKED lets claimers run side by side without
 * waiting on each other. FORCE INDEX because on a small or freshly emptied
 * table the optimizer prefers a full scan plus filesort - which would lock
 * every row of the table. One parameter: the batch size.
 */
#ifndef VG_QUEUE_H
#define VG_QUEUE_H

#define VG_CLAIM_SQL                                                                               \
	"SELECT id, video_id, attempts, max_attempts FROM jobs FORCE INDEX (ix_jobs_claim) "       \
	"WHERE state = 'ready' AND run_after <= UTC_TIMESTAMP(6) "                                 \
	"ORDER BY run_after, id LIMIT ? FOR UPDATE SKIP LOCKED"

#endif
