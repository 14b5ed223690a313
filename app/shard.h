/*
 * shard.h - which metadata shard a request works on.
 *
 * A request about a video (GET/DELETE /v1/videos/{id}, tus /v1/uploads/{id})
 * goes to the shard its id names, and nowhere else: that shard being down is
 * a 503 for that video alone. A request that makes a new video (POST
 * /v1/videos, tus creation) or reads no video in particular goes to a live
 * shard chosen by weight (vg_shards_pick), so uploads flow around a shard
 * that is down; a repeat with the same Idempotency-Key must meet its first
 * request's row, so it is pinned to the shard a hash of user and key names.
 * Users and API keys are on every shard (vingestctl writes them everywhere),
 * so whichever shard a request lands on can authenticate it.
 */
#ifndef VG_APP_SHARD_H
#define VG_APP_SHARD_H

#include <stdint.h>

struct request;

/* Pins r to the shard id names (id already valid). 0, or -1 after answering
 * 404 (no such shard in [db] shards: no such video). */
int shard_for_id(struct request *r, const char *id);

/* Points r at a live shard, unpinned. When every shard is known down it
 * points at the first shard with a weight anyway: the request's first
 * statement then fails and answers 503 the way it always does. */
void shard_for_any(struct request *r);

/* r's shard failed to answer and r is not pinned: moves it to another live
 * shard. 0 if there is one (retry there), -1 if not (nothing answered). */
int shard_retry_elsewhere(struct request *r);

/* Pins r to the shard for an idempotent upload: hash of (user, key). 0, or
 * -1 (no shard has a weight: cannot happen with a valid config). */
int shard_for_idempotency_key(struct request *r, const char *key);

#endif
