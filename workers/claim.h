/*
 * claim.h - taking ready jobs off the queue.
 */
#ifndef VG_WORKERS_CLAIM_H
#define VG_WORKERS_CLAIM_H

struct job;
struct vg_db;
struct vg_config;

/*
 * Claims up to max ready jobs for owner ("host:pid") in one short
 * transaction, leases them for jobs.lease_seconds and records their
 * attempts, then loads what the call needs about each video. Claimed jobs
 * are prepended to *list. Returns the number claimed, or -1 if the database
 * failed (logged; nothing was claimed).
 */
int claim_jobs(struct vg_db *db, const struct vg_config *cfg, const char *owner, unsigned max,
	       struct job **list);

#endif
