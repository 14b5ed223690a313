/*
 * shard.c - which metadata shard a request works on (see shard.h).
 *
 * The store follows the request's shard too: the db backend keeps a video's
 * bytes in the same shard as its row, so both commit in one transaction.
 */
#include "shard.h"
#include "child.h"
#include "request.h"
#include "vg_hash.h"
#include "vg_id.h"
#include "vg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void use(struct request *r, struct vg_db *db, int pinned)
{
	r->db = db;
	r->db_pinned = pinned;
	r->child->store.db = db;
}

int shard_for_id(struct request *r, const char *id)
{
	int k = vg_shards_of_id(&r->child->shards, id);
	struct vg_db *db = k < 0 ? NULL : vg_shards_db(&r->child->shards, (unsigned)k);

	if (!db) {
		request_error(r, 404, "not_found", "no such video");
		return -1;
	}
	use(r, db, 1);
	return 0;
}

void shard_for_any(struct request *r)
{
	struct vg_shards *s = &r->child->shards;
	int k = vg_shards_pick(s);

	if (k < 0)
		k = vg_shards_by_hash(s, 0);
	use(r, s->db[k < 0 ? 0 : k], 0);
}

int shard_retry_elsewhere(struct request *r)
{
	int k;

	if (r->db_pinned || r->child->shards.n < 2)
		return -1;
	/* r->db failed to connect just now, so the pick skips it */
	k = vg_shards_pick(&r->child->shards);
	if (k < 0 || r->child->shards.db[k] == r->db)
		return -1;
	vg_info("msg=\"shard unreachable; request moved\" from_shard=%u to_shard=%d",
		vg_db_shard(r->db), k);
	use(r, r->child->shards.db[k], 0);
	return 0;
}

int shard_for_idempotency_key(struct request *r, const char *key)
{
	char buf[600], hex[VG_SHA256_HEX];
	uint64_t v;
	int k;

	/* The weights decide the mapping: a repeat that spans a change of
	 * [db] shards weights may miss its first request (a key's repeats
	 * come within minutes; weights change rarely). */
	snprintf(buf, sizeof(buf), "%lld\n%s", r->user_id, key);
	vg_sha256_hex(buf, strlen(buf), hex);
	hex[16] = '\0';
	v = strtoull(hex, NULL, 16);
	k = vg_shards_by_hash(&r->child->shards, v);
	if (k < 0)
		return -1;
	use(r, r->child->shards.db[k], 1);
	return 0;
}
