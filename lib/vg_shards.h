/*
 * vg_shards.h - the metadata databases: one or many MariaDB/MySQL shards.
 *
 * [db] shards lists the shards' servers in a fixed order; a shard is its
 * position in that list, and every video id carries the position of the
 * shard that holds its rows (vg_id.h), so any process routes a request by
 * the id alone. The list may only grow: never reorder or remove an entry
 * (weight 0 stops new videos going to a shard while its old ones are still
 * served). An empty list means the one server of [db] host/port/socket.
 *
 * Entry syntax, comma separated:  HOST:PORT  or  unix:/path/to/mysqld.sock,
 * each optionally followed by *WEIGHT (0..1000, default 1), e.g.
 *   shards = 10.0.0.1:3306, 10.0.0.2:3306*2, unix:/run/mysqld/s3.sock*0
 * user, password, name and connect_timeout_seconds of [db] apply to all.
 *
 * Where a new video goes (vg_shards_pick): smooth weighted round robin over
 * the shards that are not known to be down, so uploads spread by weight and
 * flow around a shard that is down. Users and API keys are copied to every
 * shard by vingestctl, so any shard can authenticate a request. Job ids are
 * unique across shards: shard k numbers its jobs from k * VG_JOB_ID_SPAN + 1.
 */
#ifndef VG_SHARDS_H
#define VG_SHARDS_H

#include "vg_db.h"

#include <stddef.h>
#include <stdint.h>

#define VG_SHARDS_MAX 64
/* job ids of shard k lie in [k * VG_JOB_ID_SPAN + 1, (k + 1) * VG_JOB_ID_SPAN) */
#define VG_JOB_ID_SPAN 1000000000000LL

struct vg_config;

struct vg_shard_addr {
	char host[256]; /* empty when socket is set */
	unsigned port;
	char socket[256]; /* unix socket path, or empty */
	unsigned weight;
};

/*
 * Parses cfg's shard list (or the single [db] server when it is empty) into
 * out[0..max). Returns the count (>= 1), or -1 with the reason in why.
 */
int vg_shard_addrs(const struct vg_config *cfg, struct vg_shard_addr *out, unsigned max, char *why,
		   size_t whysz);

/* "host:port" or "unix:/path" of an address, for logs. */
const char *vg_shard_addr_str(const struct vg_shard_addr *a, char *buf, size_t bufsz);

/* The shard that numbered a job id. */
static inline unsigned vg_job_shard(long long job_id)
{
	return job_id > 0 ? (unsigned)(job_id / VG_JOB_ID_SPAN) : 0;
}

/* One connection per shard, opened lazily, for one process. */
struct vg_shards {
	unsigned n;
	struct vg_db *db[VG_SHARDS_MAX]; /* owned */
	unsigned weight[VG_SHARDS_MAX];
	long long current[VG_SHARDS_MAX]; /* smooth weighted round robin state */
};

/* Prepares every shard of cfg (validated by vg_config_load). Connects lazily. */
void vg_shards_init(struct vg_shards *s, const struct vg_config *cfg);
/* Closes and frees every connection (vg_shards_init again to reuse s). */
void vg_shards_close(struct vg_shards *s);
/* After fork(2): drops the inherited connections (vg_db_forget). */
void vg_shards_forget(struct vg_shards *s);

/* Shard k's connection, or NULL when there is no shard k. */
struct vg_db *vg_shards_db(struct vg_shards *s, unsigned k);

/*
 * The shard for a new video: weighted round robin over the shards with a
 * weight and not known to be down (vg_db_known_down). Returns the index, or
 * -1 when every such shard is down.
 */
int vg_shards_pick(struct vg_shards *s);

/*
 * The shard a valid video id names: its shard byte. With one shard every id
 * is shard 0's, whatever its byte says (ids made by hand, or by another
 * installation). -1 if the id names a shard the list does not have.
 */
int vg_shards_of_id(const struct vg_shards *s, const char *id);

/* A shard chosen by a hash (stable: the same hash, the same shard, up or
 * down), among the shards with a weight; -1 if none has one. */
int vg_shards_by_hash(const struct vg_shards *s, uint64_t h);

#endif
