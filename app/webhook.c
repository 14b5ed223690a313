/*
 * webhook.c - the caller's webhook endpoint (see webhook.h).
 *
 * The endpoint row is the same on every shard (the transaction that writes
 * an event runs on the video's shard and must see it), so every write here
 * goes to every shard, with values decided once; a shard that fails makes
 * the answer 503, and repeating the request (idempotent: the same values)
 * completes it. The secret is in an answer exactly twice: when the endpoint
 * is created, and when it is rotated.
 */
#include "webhook.h"
#include "auth.h"
#include "child.h"
#include "request.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_shards.h"
#include "vg_time.h"
#include "vg_webhook.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void db_unavailable(struct request *r)
{
	request_error_retry(r, 503, "database_unavailable",
			    "the database is not reachable; try again shortly", 5);
}

static void add_time(struct json_object *o, const char *name, const char *sql)
{
	char buf[40];

	if (sql[0] && vg_time_sql_to_rfc3339(sql, buf, sizeof(buf)) == 0)
		json_object_object_add(o, name, json_object_new_string(buf));
	else
		json_object_object_add(o, name, NULL);
}

/* The endpoint as JSON: the secret itself only when show_secret. */
static void answer(struct request *r, int status, const struct vg_webhook_endpoint *e,
		   int show_secret)
{
	struct json_object *o = json_object_new_object();
	char masked[32];

	vg_webhook_mask(e->secret, masked, sizeof(masked));
	json_object_object_add(o, "url", json_object_new_string(e->url));
	json_object_object_add(o, "secret",
			       json_object_new_string(show_secret ? e->secret : masked));
	add_time(o, "created_at", e->created_at);
	add_time(o, "updated_at", e->updated_at);
	add_time(o, "rotated_at", e->rotated_at);
	request_json(r, status, o, NULL);
	json_object_put(o);
}

/* The caller's endpoint into e: 1, 0 (answered 404), -1 (answered 503). */
static int load(struct request *r, struct vg_webhook_endpoint *e)
{
	int found = vg_webhook_endpoint_read(r->db, r->user_id, e);

	if (found < 0)
		db_unavailable(r);
	else if (found == 0)
		request_error(r, 404, "not_found", "no webhook is set; PUT /v1/webhook sets one");
	return found;
}

static int store(struct request *r, const struct vg_webhook_endpoint *e)
{
	if (vg_webhook_endpoint_put_all(&r->child->shards, e) != 0) {
		db_unavailable(r);
		return -1;
	}
	return 0;
}

/* The url of PUT's JSON body into url: 0, or -1 (answered). */
static int read_url(struct request *r, char *url, size_t urlsz)
{
	char body[WEBHOOK_BODY_MAX + 1], why[200];
	struct json_object *o, *u;
	long n;

	if (r->content_length < 0) {
		request_error(r, 411, "length_required",
			      "send the JSON body with a Content-Length");
		return -1;
	}
	if (r->content_length > WEBHOOK_BODY_MAX) {
		request_error(r, 413, "too_large", "the body is larger than 8 KiB");
		return -1;
	}
	n = request_read(r, body, (size_t)r->content_length);
	if (n < 0 || n != r->content_length) {
		request_error(r, 400, "invalid_json", "the body ended early");
		return -1;
	}
	body[n] = '\0';
	o = json_tokener_parse(body);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "url", &u) || !json_object_is_type(u, json_type_string)) {
		json_object_put(o);
		request_error(r, 400, "invalid_json", "send a JSON object with a string \"url\"");
		return -1;
	}
	if (vg_webhook_url_check(json_object_get_string(u), why, sizeof(why)) < 0) {
		json_object_put(o);
		request_error(r, 400, "invalid_webhook_url", why);
		return -1;
	}
	snprintf(url, urlsz, "%s", json_object_get_string(u));
	json_object_put(o);
	return 0;
}

static void put(struct request *r)
{
	struct vg_webhook_endpoint e;
	char url[VG_WEBHOOK_URL_MAX + 1], now[32];
	int found;

	if (read_url(r, url, sizeof(url)) < 0)
		return;
	found = vg_webhook_endpoint_read(r->db, r->user_id, &e);
	if (found < 0) {
		db_unavailable(r);
		return;
	}
	vg_time_sql(vg_now_us(), now, sizeof(now));
	snprintf(e.url, sizeof(e.url), "%s", url);
	snprintf(e.updated_at, sizeof(e.updated_at), "%s", now);
	if (!found) {
		if (vg_webhook_new_secret(e.secret) < 0) {
			request_error(r, 500, "internal", "no random bytes for a secret");
			return;
		}
		snprintf(e.created_at, sizeof(e.created_at), "%s", now);
	}
	if (store(r, &e) < 0)
		return;
	vg_info("msg=\"webhook %s\" request_id=%s user=%lld", found ? "changed" : "set",
		r->request_id, r->user_id);
	answer(r, found ? 200 : 201, &e, !found);
}

static void rotate(struct request *r)
{
	struct vg_webhook_endpoint e;

	if (load(r, &e) <= 0)
		return;
	memcpy(e.previous, e.secret, sizeof(e.previous));
	if (vg_webhook_new_secret(e.secret) < 0) {
		request_error(r, 500, "internal", "no random bytes for a secret");
		return;
	}
	vg_time_sql(vg_now_us(), e.rotated_at, sizeof(e.rotated_at));
	memcpy(e.updated_at, e.rotated_at, sizeof(e.updated_at));
	if (store(r, &e) < 0)
		return;
	vg_info("msg=\"webhook secret rotated\" request_id=%s user=%lld", r->request_id,
		r->user_id);
	answer(r, 200, &e, 1);
}

void webhook_dispatch(struct request *r)
{
	struct vg_webhook_endpoint e;
	int rot = strcmp(r->path, "/v1/webhook/rotate") == 0;
	const char *m = r->method;

	if (rot ? strcmp(m, "POST") != 0
		: strcmp(m, "GET") != 0 && strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0) {
		char hdr[64];

		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", rot ? "POST" : "GET, PUT, DELETE");
		request_error_headers(r, 405, "method_not_allowed",
				      "this method is not allowed on this path", hdr);
		return;
	}
	if (auth_request(r) != 0)
		return;
	if (rot) {
		rotate(r);
	} else if (strcmp(m, "PUT") == 0) {
		put(r);
	} else if (strcmp(m, "GET") == 0) {
		if (load(r, &e) > 0)
			answer(r, 200, &e, 0);
	} else if (load(r, &e) > 0) {
		if (vg_webhook_endpoint_delete_all(&r->child->shards, r->user_id) != 0) {
			db_unavailable(r);
			return;
		}
		vg_info("msg=\"webhook deleted\" request_id=%s user=%lld", r->request_id,
			r->user_id);
		request_empty(r, 204);
	}
}
