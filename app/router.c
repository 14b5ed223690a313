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
#include "gate.h"
#include "ratelimit.h"
#include "readyz.h"
#include "objects.h"
#include "tus.h"
#include "child.h"
#include "grant.h"
#include "metrics.h"
#include "request.h"
#include "shard.h"
#include "upload.h"
#include "videos.h"
#include "webhook.h"
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

const char *router_allow(const char *p)
{
	if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0 || strcmp(p, "/metrics") == 0 ||
	    strncmp(p, "/v1/objects/", 12) == 0)
		return "GET, HEAD";
	if (strcmp(p, "/v1/videos") == 0)
		return "GET, POST";
	if (strncmp(p, "/v1/videos/", 11) == 0)
		return "GET, DELETE";
	if (strcmp(p, "/v1/uploads") == 0 || strcmp(p, "/v1/uploads/") == 0)
		return "POST, OPTIONS";
	if (strncmp(p, "/v1/uploads/", 12) == 0)
		return "HEAD, PATCH, DELETE, OPTIONS";
	if (strcmp(p, "/v1/upload-urls") == 0)
		return "POST";
	if (strncmp(p, "/v1/upload-urls/tus/", 20) == 0)
		return "HEAD, PATCH, DELETE, OPTIONS";
	if (strncmp(p, "/v1/upload-urls/", 16) == 0)
		return "POST, OPTIONS";
	if (strcmp(p, "/v1/webhook") == 0)
		return "GET, PUT, DELETE";
	if (strcmp(p, "/v1/webhook/rotate") == 0)
		return "POST";
	return NULL;
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
	} else if (strncmp(p, "/v1/", 4) == 0 && !r->gated && ratelimit_check_address(r) < 0) {
		; /* answered 429 (an authorizer counted a gated request already) */
	} else if (strcmp(p, "/v1/videos") == 0) {
		shard_for_any(r); /* upload_post moves to another if it must */
		if (is(r, "POST")) {
			if (gate_admit(r, GATE_MULTIPART, NULL) == 0)
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
	} else if (strcmp(p, "/v1/upload-urls") == 0 || grant_is_url(p)) {
		grant_route(r); /* the URLs it hands out take no key */
	} else if (strcmp(p, "/v1/webhook") == 0 || strcmp(p, "/v1/webhook/rotate") == 0) {
		shard_for_any(r); /* the endpoint is on every shard */
		webhook_dispatch(r);
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
