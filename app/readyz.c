/*
 * readyz.c - the readiness answer, checked at most once a
 * http.readyz_cache_ms per child (see readyz.h).
 */
#include "readyz.h"
#include "child.h"
#include "request.h"
#include "vg_addr.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_store.h"
#include "vg_time.h"

#include <json-c/json.h>
#include <stdio.h>

/* This child's last answer. */
static struct {
	int64_t at_ms; /* when it was made; 0: never */
	int status;
	int retry_after;
	struct json_object *body;
} last;

/* With several shards the node is ready while any shard that takes new
 * videos answers: uploads go to the live ones, and a shard that is down
 * fails only its own videos' requests, whichever node they reach. */
static int shards_ready(struct request *r, struct json_object *checks)
{
	struct vg_shards *s = &r->child->shards;
	struct json_object *each = s->n > 1 ? json_object_new_object() : NULL;
	int any = 0;

	for (unsigned k = 0; k < s->n; k++) {
		struct vg_db_result res;
		int up = vg_db_query(s->db[k], "SELECT 1", NULL, 0, &res) == 1;
		char name[16];

		vg_db_result_free(&res);
		if (up && s->weight[k] > 0)
			any = 1;
		if (each) {
			snprintf(name, sizeof(name), "%u", k);
			json_object_object_add(each, name,
					       json_object_new_string(up ? "ok" : "unavailable"));
		}
	}
	if (each)
		json_object_object_add(checks, "shards", each);
	return any;
}

/* Runs the checks and keeps the answer in last. */
static void check_now(struct request *r)
{
	struct json_object *o = json_object_new_object(), *checks = json_object_new_object();
	int db_ok = shards_ready(r, checks);
	int store_ok = vg_store_check(&r->child->store) == 0;
	char probe[8];
	int cache_ok = vg_cache_get(&r->child->cache, "vingest:readyz", probe, sizeof(probe)) >= 0;
	long long min_free = r->child->cfg->store.min_free_bytes;
	long long free_bytes = vg_store_free_bytes(&r->child->store);
	int low = min_free > 0 && free_bytes >= 0 && free_bytes < min_free;
	char msg[160];

	json_object_object_add(checks, "database",
			       json_object_new_string(db_ok ? "ok" : "unavailable"));
	json_object_object_add(checks, "store",
			       json_object_new_string(!store_ok ? "unavailable"
						      : low	? "low_space"
								: "ok"));
	json_object_object_add(checks, "cache",
			       json_object_new_string(cache_ok ? "ok" : "unavailable"));
	json_object_put(last.body);
	last.at_ms = vg_mono_ms();
	last.body = o;
	if (!db_ok || !store_ok || low) {
		struct json_object *err = json_object_new_object();
		const char *code = !db_ok      ? "database_unavailable"
				   : !store_ok ? "store_unavailable"
					       : "store_low_space";

		if (!db_ok || !store_ok)
			snprintf(msg, sizeof(msg), "%s",
				 !db_ok && !store_ok ? "database and store are not available"
				 : !db_ok	     ? "database is not reachable"
						     : "store is not usable");
		else
			snprintf(msg, sizeof(msg),
				 "the store has %lld bytes free, below store.min_free_bytes (%lld)",
				 free_bytes, min_free);
		json_object_object_add(err, "code", json_object_new_string(code));
		json_object_object_add(err, "message", json_object_new_string(msg));
		json_object_object_add(o, "error", err);
		json_object_object_add(o, "checks", checks);
		last.status = 503;
		last.retry_after = low && db_ok && store_ok ? 60 : 5;
		return;
	}
	json_object_object_add(o, "status", json_object_new_string("ready"));
	json_object_object_add(o, "checks", checks);
	json_object_object_add(o, "store_backend",
			       json_object_new_string(vg_store_backend_name(&r->child->store)));
	json_object_object_add(o, "store_free_bytes", json_object_new_int64(free_bytes));
	last.status = 200;
	last.retry_after = 0;
}

void readyz(struct request *r)
{
	const struct vg_config *cfg = r->child->cfg;
	char hdr[32];

	if (!vg_addr_allowed(cfg->http.readyz_allow, request_param(r, "REMOTE_ADDR"))) {
		request_error(r, 403, "forbidden", "readiness is not served to this address");
		return;
	}
	if (!last.body || vg_mono_ms() - last.at_ms >= cfg->http.readyz_cache_ms)
		check_now(r);
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", last.retry_after);
	request_json(r, last.status, last.body, last.retry_after ? hdr : NULL);
}
