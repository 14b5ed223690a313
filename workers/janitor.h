/*
 * janitor.h - fleet-wide housekeeping, run by exactly one supervisor a shard.
 *
 * Whichever supervisor holds the MySQL named lock `vingest.janitor` on a
 * shard's server is that shard's janitor; the lock lives as long as that
 * supervisor's connection, so if its host dies another supervisor takes over
 * on its next try. Named locks belong to one server, so each shard has its
 * own janitor (one supervisor may be the janitor of several), and a shard
 * that is down stops only its own housekeeping. Every call below but the
 * staging sweep works on the one shard whose connection it is given.
 */
#ifndef VG_WORKERS_JANITOR_H
#define VG_WORKERS_JANITOR_H

struct vg_db;
struct vg_shards;
struct vg_config;
struct vg_cache;
struct vg_store;

/* Tries to become (or confirms being) db's shard's janitor. 1 yes, 0 another
 * is, -1 db error. */
int janitor_acquire(struct vg_db *db);

/*
 * Returns running jobs whose lease expired to ready (the attempt counts;
 * attempts used up makes them dead), in batches of at most 100, and removes
 * `workers` rows silent for an hour; invalidates the reaped videos' cached
 * status. Returns the number of jobs reaped, or -1.
 */
int janitor_reap(struct vg_db *db, const struct vg_config *cfg, struct vg_cache *cache);

/*
 * The orphan collector: a multipart upload's `uploads` row older than
 * retention.orphan_grace_seconds means its request died before COMMIT (the
 * commit deletes the row); a tus upload's row past its expires_at by more
 * than the same grace was abandoned (until then it answers 410). Their
 * staged files and published objects are removed, then the rows. Returns
 * the number collected (at most 100 a call), or -1.
 */
int janitor_orphans(struct vg_db *db, const struct vg_config *cfg, struct vg_store *store);

/*
 * Staging files older than retention.orphan_grace_seconds with no uploads
 * row: what is left when the outcome of a COMMIT was unknown and it had in
 * fact landed (the s3 and db backends remove the staging file after COMMIT),
 * or a crash between deleting a row and its file. Only this host's staging
 * directory: on a fleet, each host's supervisor sweeps its own (see
 * docs/operations.md). A staging file named by an upload id is looked up on
 * the shard the id names; any other name on every shard. A file whose shard
 * cannot answer is kept for the next sweep (the others are still swept).
 * Returns the number removed (at most 1000), or -1 if staging/ cannot be
 * listed.
 */
#define STAGING_BATCH 1000
int janitor_staging(struct vg_shards *shards, const struct vg_config *cfg, struct vg_store *store);

/*
 * The archive pass: jobs finished (done, dead, cancelled) more than
 * retention.archive_after_days ago move with their job_attempts rows to
 * jobs_archive and job_attempts_archive, oldest first, retention.archive_batch
 * jobs per transaction, for at most budget_ms (a backlog is worked off over
 * the following passes, so the supervisor's loop is never held long). Does
 * nothing when archive_after_days is 0. Logs one line for a pass that moved
 * anything. Returns the number of jobs moved, or -1 (logged; what was
 * committed before stays moved).
 */
long long janitor_archive(struct vg_db *db, const struct vg_config *cfg, long long budget_ms);

#endif
