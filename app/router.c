/*
 * router.c - the HTTP API's routing table.
 *
 * Paths are matched exactly, byte for byte, on the raw request path: there is
 * no percent-decoding and no normalisation, so "/v1/videos/..%2F" is simply a
 * malformed id (404), never a path anywhere. Ids are validated before any
 * handler sees them.
 */
#include "router.h"
#include "auth.h"
#include "ratelimit.h"
#include "objects.h"
#include "tus.h"
#include "child.h"
#include "metrics.h"
#include "request.h"
#include "shard.h"
#include "upload.h"
#include "videos.h"
#include "vg_id.h"
#include "vg_config.h"
#include "vg_store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void method_not_allowed(struct request *r, const char *allow)
{
	char hdr[96];
	struct json_object *root = json_object_new_object(), *err = json_object_new_object();

	snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
	json_object_object_add(err, "code", json_object_new_string("method_not_allowed"));
	json_object_object_add(err, "message",
			       json_object_new_string("this method is not allowed on this path"));
	json_object_object_add(root, "error", err);
	request_json(r, 405, root, hdr);
	json_object_put(root);
}

static int is(const struct request *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static void healthz(struct request *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("ok"));
	request_json(r, 200, o, NULL);
	json_object_put(o);
}

/* Ready means: the database answers, the store works (staging takes a
 * durable write; an s3 bucket answers; the db store's table is there) and
 * staging has more than store.min_free_bytes free. memcached is checked and
 * reported but never makes readyz fail: everything it holds fails open (rate
 * limits are not enforced, the status cache is skipped, the breaker goes
 * per process), so taking web nodes out of a balancer because the cache is
 * down would turn a degraded service into no service. */
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
		int up = vg_db_query(&s->db[k], "SELECT 1", NULL, 0, &res) == 1;
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

static void readyz(struct request *r)
{
	struct json_object *o = json_object_new_object(), *checks = json_object_new_object();
	int db_ok = shards_ready(r, checks);
	int store_ok = vg_store_check(&r->child->store) == 0;
	char probe[8];
	int cache_ok = vg_cache_get(&r->child->cache, "vingest:readyz", probe, sizeof(probe)) >= 0;
	long long min_free = r->child->cfg->store.min_free_bytes;
	long long free_bytes = vg_store_free_bytes(&r->child->store);
	int low = min_free > 0 && free_bytes >= 0 && free_bytes < min_free;
	char msg[160], hdr[32];

	json_object_object_add(checks, "database", json_object_new_string(db_ok ? "ok" : "unavailable"));
	json_object_object_add(checks, "store",
			       json_object_new_string(!store_ok ? "unavailable" : low ? "low_space" : "ok"));
	json_object_object_add(checks, "cache", json_object_new_string(cache_ok ? "ok" : "unavailable"));
	if (!db_ok || !store_ok || low) {
		struct json_object *err = json_object_new_object();
		const char *code = !db_ok ? "database_unavailable" : !store_ok ? "store_unavailable"
									    : "store_low_space";

		if (!db_ok || !store_ok)
			snprintf(msg, sizeof(msg), "%s",
				 !db_ok && !store_ok ? "database and store are not available"
				 : !db_ok           ? "database is not reachable"
						    : "store is not usable");
		else
			snprintf(msg, sizeof(msg),
				 "the store has %lld bytes free, below store.min_free_bytes (%lld)",
				 free_bytes, min_free);
		json_object_object_add(err, "code", json_object_new_string(code));
		json_object_object_add(err, "message", json_object_new_string(msg));
		json_object_object_add(o, "error", err);
		json_object_object_add(o, "checks", checks);
		snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", low && db_ok && store_ok ? 60 : 5);
		request_json(r, 503, o, hdr);
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "status", json_object_new_string("ready"));
	json_object_object_add(o, "checks", checks);
	json_object_object_add(o, "store_backend",
			       json_object_new_string(vg_store_backend_name(&r->child->store)));
	json_object_object_add(o, "store_free_bytes", json_object_new_int64(free_bytes));
	request_json(r, 200, o, NULL);
	json_object_put(o);
}

void router_dispatch(struct request *r)
{
	const char *p = r->path;

	if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0) {
		if (!is(r, "GET") && !is(r, "HEAD"))
			method_not_allowed(r, "GET, HEAD");
		else if (p[1] == 'h')
			healthz(r);
		else
			readyz(r);
	} else if (strcmp(p, "/metrics") == 0) {
		metrics_serve(r); /* its own address check, no API key */
	} else if (strncmp(p, "/v1/", 4) == 0 && ratelimit_check_address(r) < 0) {
		; /* answered 429 */
	} else if (strcmp(p, "/v1/videos") == 0) {
		shard_for_any(r); /* upload_post moves to another if it must */
		if (is(r, "POST")) {
			if (auth_request(r) == 0 && ratelimit_check_upload(r) == 0)
				upload_post(r);
		} else if (is(r, "GET")) {
			if (auth_request(r) == 0)
				videos_list(r);
		} else {
			method_not_allowed(r, "GET, POST");
		}
	} else if (strncmp(p, "/v1/videos/", 11) == 0) {
		const char *id = p + 11;

		int known = vg_id_valid(id) && vg_shards_of_id(&r->child->shards, id) >= 0;

		request_set_video(r, id);
		if (known)
			shard_for_id(r, id);
		else
			shard_for_any(r); /* to authenticate; then 404 */
		if (!is(r, "GET") && !is(r, "DELETE"))
			method_not_allowed(r, "GET, DELETE");
		else if (auth_request(r) != 0)
			; /* answered 401 */
		else if (!known)
			request_error(r, 404, "not_found", "no such video");
		else if (is(r, "GET"))
			videos_get(r, id);
		else
			videos_delete(r, id);
	} else if (strcmp(p, "/v1/uploads") == 0 || strcmp(p, "/v1/uploads/") == 0) {
		shard_for_any(r); /* a new upload: any live shard */
		tus_dispatch(r, NULL);
	} else if (strncmp(p, "/v1/uploads/", 12) == 0) {
		const char *id = p + 12;

		request_set_video(r, id); /* the upload id is the video id */
		if (vg_id_valid(id) && vg_shards_of_id(&r->child->shards, id) >= 0)
			shard_for_id(r, id);
		else
			shard_for_any(r); /* tus answers 404 for it after authenticating */
		tus_dispatch(r, id);
	} else if (strncmp(p, "/v1/objects/", 12) == 0) {
		/* signed URLs authenticate themselves: no API key */
		if (!is(r, "GET") && !is(r, "HEAD"))
			method_not_allowed(r, "GET, HEAD");
		else
			objects_get(r, p + 12);
	} else {
		request_error(r, 404, "not_found", "no such resource");
	}
}
