/*
 * lease.h - every write a worker makes after the claim, fenced by lease_token.
 *
 * Each statement says WHERE id = ? AND lease_token = ?: a worker that stalled
 * past its lease (SIGSTOP, a long GC pause, a network split) and whose job
 * the janitor handed to another worker matches zero rows, and so can neither
 * renew, finish nor fail the job it no longer owns. Without the fence two
 * workers could both record an outcome for one job.
 *
 * Returns: 1 written, 0 the lease was lost (drop the job), -1 database error.
 */
#ifndef VG_WORKERS_LEASE_H
#define VG_WORKERS_LEASE_H

struct job;
struct vg_db;
struct vg_config;

#include <stddef.h>

/* Extends the lease by jobs.lease_seconds from now. */
int lease_renew(struct vg_db *db, const struct vg_config *cfg, const struct job *j);

/* Job done, video processed, result stored. result_json may be NULL. */
int lease_done(struct vg_db *db, const struct job *j, int http_status, const char *result_json);

/*
 * Records the done outcomes of n jobs (each job's done_status and
 * done_result) in one transaction, so one COMMIT - one redo log flush -
 * serves every answer that landed in one turn of a worker's loop. Each
 * job's fenced UPDATE still decides for that job alone: a job whose lease
 * was lost matches nothing, its video and attempt rows are not touched, and
 * the others are written. rc[i] gets 1 or 0 as lease_done() would return;
 * on a database error nothing is written and every rc[i] is -1. Returns 0
 * or -1.
 */
int lease_done_batch(struct vg_db *db, struct job *const *jobs, size_t n, int *rc);

/*
 * Back to ready after delay_s, to be called again: a stored status_url is
 * dropped. refund: the call never reached the service (or was abandoned by
 * a drain), so the attempt does not count (never for a job claimed to poll,
 * whose claim counted nothing: use lease_wait).
 */
int lease_retry(struct vg_db *db, const struct job *j, int http_status, const char *error,
		double delay_s, int refund);

/*
 * The service has the job and works on it (a 202): back to ready, to be
 * polled after delay_s by whichever worker claims it then, with no lease
 * and no slot held meanwhile. status_url: a call's 202, stored as the
 * service named it with accepted_at = now; NULL: a poll's, the stored ones
 * kept. The attempt's row is 'accepted' and attempts do not change; the
 * video stays processing. error (may be NULL) becomes last_error, as when
 * a poll could not reach the service; NULL keeps the last one.
 */
int lease_wait(struct vg_db *db, const struct job *j, const char *status_url, double delay_s,
	       int http_status, const char *error);

/* Dead-lettered: job dead, video failed, history kept. */
int lease_dead(struct vg_db *db, const struct job *j, int http_status, const char *error);

#endif
