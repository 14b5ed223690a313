/*
 * claim.h - taking ready jobs off one shard's queue, and watching the shards.
 *
 * A worker claims from every shard (worker.c decides the order and how much
 * from each); one claim_jobs() call is one shard's transaction. The shard
 * watch remembers which shards this process last found unreachable, so a
 * shard going down or coming back is logged once per transition, not on
 * every turn that touches it.
 */
#ifndef VG_WORKERS_CLAIM_H
#define VG_WORKERS_CLAIM_H

#include "vg_shards.h"

struct job;
struct vg_db;
struct vg_config;

/*
 * Claims up to max ready jobs from db's shard for owner ("host:pid") in one
 * short transaction, leases them for jobs.lease_seconds and records their
 * attempts, then loads what the call needs about each video. Each job's
 * shard is vg_db_shard(db). Claimed jobs are prepended to *list. Returns the
 * number claimed, or -1 if the database failed (logged; nothing was claimed).
 */
int claim_jobs(struct vg_db *db, const struct vg_config *cfg, const char *owner, unsigned max,
	       struct job **list);

struct shard_watch {
	unsigned char down[VG_SHARDS_MAX]; /* 1: the last word from this shard was "unreachable" */
};

/*
 * After a statement on db's shard: ok is 1 if it worked. A failure that
 * means the server is unreachable (vg_db_down) marks the shard down, logged
 * once ("shard down"); the next success marks it up again ("shard back").
 * Failures of the statement's own making change nothing. who names the
 * process in the log ("worker", "supervisor").
 */
void shard_watch_note(struct shard_watch *w, const struct vg_db *db, int ok, const char *who);

#endif
