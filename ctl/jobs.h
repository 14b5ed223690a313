/*
 * jobs.h - vingestctl's queue and fleet commands.
 */
#ifndef VG_CTL_JOBS_H
#define VG_CTL_JOBS_H

struct vg_config;
struct vg_shards;

/*
 * Every command works on all the shards of [db] shards (vg_shards.h): a
 * shard that fails is named on stderr, the others are still done, and the
 * command returns -1. With one shard the output is what it always was;
 * with more, listings get a first column "shard".
 */

/* `jobs`: counts by state summed over the shards, and the oldest due ready
 * job's age (the largest of any shard). */
int jobs_summary(struct vg_shards *sh, int json);
/* `jobs dead`: dead jobs with why they died, oldest first (at most 1000 a
 * shard), shard by shard. */
int jobs_dead(struct vg_shards *sh, int json);
/* `jobs retry ID` / `jobs retry --all-dead`: back to ready with
 * jobs.max_attempts more attempts; prints how many were requeued. ID goes
 * to the shard that numbered it (vg_job_shard); --all-dead to every shard. */
int jobs_retry(struct vg_shards *sh, const struct vg_config *cfg, const char *id_or_all);
/* `jobs explain [--analyze]`: the claim query's plan on shard 0 as JSON
 * (ANALYZE: with the rows it really read), for DBAs and for the test that
 * keeps it an index range scan. Every shard runs the same query on the
 * same schema. */
int jobs_explain(struct vg_shards *sh, const struct vg_config *cfg, int analyze);
/* `workers`: the fleet as each shard's `workers` table shows it. */
int jobs_workers(struct vg_shards *sh, int json);

#endif
