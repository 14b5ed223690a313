/*
 * stats.h - vingestctl stats: what the installation holds, in one look.
 */
#ifndef VG_CTL_STATS_H
#define VG_CTL_STATS_H

struct vg_shards;

/*
 * `stats`: videos by status, jobs by state, the oldest due ready job's age,
 * bytes stored (live videos), uploads in progress and their staged bytes.
 * Every status and state is present, zero when nothing has it. As text
 * (`name value` lines) or as one JSON object with numbers. Summed over
 * every shard; a shard that fails is named on stderr and the others' sums
 * are printed. Returns 0, or -1 if any shard failed.
 */
int stats_run(struct vg_shards *sh, int json);

#endif
