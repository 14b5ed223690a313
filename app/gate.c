/*
 * gate.c - the checks a request passes before its body is accepted (see gate.h).
 *
 * Order matters twice over. Cheap refusals come before costly ones: the
 * address's request rate before the key lookup, the key before anything
 * that reads the database for it. And budgets are spent last: a request
 * refused for its headers, for space or for concurrency has not used up an
 * upload of the minute or bytes of the hour.
 */
#include "gate.h"
#include "webhook.h"
#include "auth.h"
#include "child.h"
#include "grant.h"
#include "ratelimit.h"
#include "request.h"
#include "router.h"
#include "scoreboard.h"
#include "shard.h"
#include "tus.h"
#include "upload.h"
#include "vg_config.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_shards.h"
#include "vg_alloc.h"
#include "vg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The kind of body r's path and method take; *id: a PATCH's upload id. */
static enum gate_kind classify(const struct request *r, const char **id)
{
	const char *p = r->path;

	*id = NULL;
	if (strcmp(p, "/v1/upload-urls") == 0 && strcmp(r->method, "POST") == 0)
		return GATE_GRANT;
	if (grant_is_url(p))
		return grant_kind(r); /* *id: the grant's, once it is admitted */
	if (strcmp(p, "/v1/videos") == 0 && strcmp(r->method, "POST") == 0)
		return GATE_MULTIPART;
	if ((strcmp(p, "/v1/uploads") == 0 || strcmp(p, "/v1/uploads/") == 0) &&
	    strcmp(r->method, "POST") == 0)
		return GATE_TUS_CREATE;
	if (strncmp(p, "/v1/uploads/", 12) == 0 && p[12] && strcmp(r->method, "PATCH") == 0) {
		*id = p + 12;
		return GATE_TUS_PATCH;
	}
	return GATE_NONE;
}

/* New uploads are refused below store.min_free_bytes: 1 room, 0 answered 507. */
static int room_for_new_upload(struct request *r)
{
	long long min = r->child->cfg->store.min_free_bytes;
	long long free_bytes;

	if (min <= 0)
		return 1;
	free_bytes = vg_store_free_bytes(&r->child->store);
	if (free_bytes < 0 || free_bytes >= min)
		return 1;
	vg_warn("msg=\"upload refused: staging is below store.min_free_bytes\" request_id=%s "
		"free_bytes=%lld min_free_bytes=%lld",
		r->request_id, free_bytes, min);
	request_error_retry(r, 507, "insufficient_storage",
			    "the video store is nearly full; try again later", 60);
	return 0;
}

/* The header checks of the handler that will take the body (one copy of
 * each rule): in the authorizer they run before the body exists. */
static int headers_ok(struct request *r, enum gate_kind kind, const char *id)
{
	switch (kind) {
	case GATE_MULTIPART:
		return upload_check_request(r) == 0;
	case GATE_TUS_CREATE:
		return tus_check_create(r) == 0;
	case GATE_TUS_PATCH:
		return tus_check_patch(r, id) == 0;
	case GATE_GRANT:
		return grant_check_new(r) == 0;
	default:
		return 1;
	}
}

/* One child more serving this user's uploads, and for a multipart upload
 * its Content-Length more of staging on this host: counted in the
 * authorizer (it serves none itself), taken in the responder for the
 * request's life. */
static int concurrency_ok(struct request *r, enum gate_kind kind)
{
	const struct vg_config *cfg = r->child->cfg;
	long long cap = cfg->limits.concurrent_uploads_per_user;
	long long bytes_cap = cfg->limits.staging_bytes_per_user;
	long long bytes = kind == GATE_MULTIPART && r->content_length > 0 ? r->content_length : 0;
	long long held = 0;
	int over;
	char msg[200];

	if (r->authorizer) {
		unsigned n = scoreboard_count(r->user_id, &held);

		over = cap > 0 && n >= (unsigned)cap				? -1
		       : bytes_cap > 0 && bytes > 0 && held + bytes > bytes_cap ? -2
										: 0;
	} else {
		over = scoreboard_enter(r->user_id, (unsigned)cap, bytes, bytes_cap);
		if (over == -2)
			scoreboard_count(r->user_id, &held);
	}
	if (over == 0)
		return 1;
	if (over == -2) {
		vg_info("msg=\"upload refused: staging bytes of this user's uploads in progress on "
			"this host at the cap\" request_id=%s user=%lld held=%lld asked=%lld cap=%lld",
			r->request_id, r->user_id, held, bytes, bytes_cap);
		snprintf(msg, sizeof(msg),
			 "this key's uploads in progress hold %lld of its %lld bytes; "
			 "try again when one is done",
			 held, bytes_cap);
		request_error_retry(r, 507, "staging_quota_exceeded", msg, 60);
		return 0;
	}
	vg_info("msg=\"upload refused: concurrent uploads of this user at the cap\" request_id=%s "
		"user=%lld cap=%lld",
		r->request_id, r->user_id, cap);
	request_error_retry(
		r, 429, "too_many_concurrent_uploads",
		"this key has as many uploads in progress as allowed; try again shortly", 1);
	return 0;
}

/* Spends the request's budgets: an upload of the minute, its bytes of the
 * hour - unless an authorizer did (r->gated), which could count only the
 * bytes its Content-Length declared. 1 within them, 0 answered 429. */
static int budgets_ok(struct request *r, enum gate_kind kind)
{
	long long declared = r->content_length > 0 ? r->content_length : 0;

	if (r->gated)
		return declared <= r->counted_bytes ||
		       ratelimit_check_bytes(r, declared - r->counted_bytes) == 0;
	if ((kind == GATE_MULTIPART || kind == GATE_TUS_CREATE) && ratelimit_check_uploads(r) < 0)
		return 0;
	if (declared > 0 && ratelimit_check_bytes(r, declared) < 0)
		return 0;
	r->counted_bytes = declared;
	return 1;
}

static int check(struct request *r, enum gate_kind kind, const char *id)
{
	/* The router counted the address for a responder already. */
	if (r->authorizer && ratelimit_check_address(r) < 0)
		return -1;
	if (!r->gated && auth_request(r) < 0)
		return -1;
	/* The handler repeats these, but budgets must not be spent (nor
	 * counters fed a Content-Length near 2^63) before they passed. */
	if ((r->authorizer || !r->gated) && !headers_ok(r, kind, id))
		return -1;
	if (kind == GATE_GRANT)
		return 0; /* no upload's bytes: no budget of one */
	if ((kind == GATE_MULTIPART || kind == GATE_TUS_CREATE) && !room_for_new_upload(r))
		return -1;
	if (!concurrency_ok(r, kind) || !budgets_ok(r, kind))
		return -1;
	return 0;
}

int gate_admit(struct request *r, enum gate_kind kind, const char *id)
{
	return check(r, kind, id);
}

/* Apache asks for refusals to be handed on (VINGEST_DEFER_REFUSALS, see
 * request_capture()), except from a client waiting for "100 Continue": that
 * one Apache refuses at once, body unsent. */
static int defer_refusal(const struct request *r)
{
	const char *expect = request_param(r, "HTTP_EXPECT");

	return request_param(r, "VINGEST_DEFER_REFUSALS") &&
	       !(expect && strcasecmp(expect, "100-continue") == 0);
}

/* An upload URL: its grant stands for the key (grant.h); the headers it
 * lends r live in g, so they end here. */
static void check_grant(struct request *r, enum gate_kind kind)
{
	struct grant g;

	if (grant_admit(r, &g, kind) == 0)
		check(r, kind, kind == GATE_TUS_PATCH ? g.id : NULL);
	r->grant = NULL;
	r->always_headers = NULL;
	grant_free(&g);
}

void gate_authorize(struct request *r)
{
	const char *id;
	enum gate_kind kind = classify(r, &id);
	int defer = defer_refusal(r);
	char vars[256], *refusal;

	if (defer)
		request_capture(r);
	if (grant_is_url(r->path)) {
		check_grant(r, kind); /* a bogus URL is refused as if it had no body */
	} else if (kind == GATE_NONE) {
		/* No body is taken here: a request that brings one is refused
		 * (as the router would refuse it, 405 or 404) before it is read;
		 * one without goes on to be answered by the router. */
		const char *allow = router_allow(r->path);

		/* PUT /v1/webhook's small JSON body is the router's to read */
		int webhook = strcmp(r->path, "/v1/webhook") == 0 &&
			      strcmp(r->method, "PUT") == 0 &&
			      r->content_length <= WEBHOOK_BODY_MAX;

		if (!webhook &&
		    (r->content_length > 0 || request_param(r, "HTTP_TRANSFER_ENCODING"))) {
			if (allow) {
				char h[96];

				snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
				request_error_headers(r, 405, "method_not_allowed",
						      "this method is not allowed on this path", h);
			} else {
				request_error(r, 404, "not_found", "no such resource");
			}
		}
	} else {
		if (kind != GATE_MULTIPART && kind != GATE_GRANT)
			r->always_headers = tus_headers();
		if (id && vg_id_valid(id) && vg_shards_of_id(&r->child->shards, id) >= 0)
			shard_for_id(r, id);
		else
			shard_for_any(r);
		check(r, kind, id);
	}
	if (!defer && r->answered)
		return; /* refused */
	if (defer) {
		int status = r->status;

		refusal = request_captured(r);
		if (refusal) {
			/* Admitted, to be refused by the responder. The access log
			 * line says so: refused=STATUS. */
			char *h = vg_asprintf("Variable-VINGEST_REFUSAL: %s\r\n"
					      "Variable-VINGEST_REQUEST_ID: %s\r\n",
					      refusal, r->request_id);

			r->deferred_status = status;
			request_head(r, 200, NULL, h);
			free(h);
			free(refusal);
			return;
		}
	}
	if (kind == GATE_NONE) {
		request_empty(r, 200);
		return;
	}
	snprintf(vars, sizeof(vars),
		 "Variable-VINGEST_USER: %lld\r\nVariable-VINGEST_AUTH: %s\r\n"
		 "Variable-VINGEST_COUNTED: %lld\r\nVariable-VINGEST_REQUEST_ID: %s\r\n",
		 r->user_id, r->auth_basic ? "basic" : "bearer", r->counted_bytes, r->request_id);
	request_head(r, 200, NULL, vars);
}
