/*
 * jobs.h - vingestctl's queue and fleet commands.
 */
#ifndef VG_CTL_JOBS_H
#define VG_CTL_JOBS_H

struct vg_db;
struct vg_config;

/* `jobs`: counts by state and the oldest due ready job's age. */
int jobs_summary(struct vg_db *db, int json);
/* `jobs dead`: dead jobs with why they died, oldest first (at most 1000). */
int jobs_dead(struct vg_db *db, int json);
/* `jobs retry ID` / `jobs retry --all-dead`: back to ready with
 * jobs.max_attempts more attempts; prints how many were requeued. */
int jobs_retry(struct vg_db *db, const struct vg_config *cfg, const char *id_or_all);
/* `jobs explain [--analyze]`: the claim query's plan as JSON (ANALYZE: with
 * the rows it really read), for DBAs and for the test that keeps it an
 * index range scan. */
int jobs_explain(struct vg_db *db, const struct vg_config *cfg, int analyze);
/* `workers`: the fleet as the `workers` table shows it. */
int jobs_workers(struct vg_db *db, int json);

#endif
