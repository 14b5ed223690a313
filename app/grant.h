/*
 * grant.h - upload URLs: POST /v1/upload-urls and the URLs it hands out.
 *
 * A grant is a one-time permission to upload one video as the API key's
 * user, with no credentials: a page that knows only the URL can post a form
 * to it, or run a tus upload against it. The URL is
 * /v1/upload-urls/{id}.{token}: id is the id the video will have (it names
 * the shard that keeps the grant, as it will the video), token 256 random
 * bits of which only the SHA-256 is stored (upload_grants, migration 008).
 * A tus upload created there lives at /v1/upload-urls/tus/{id}.{token}
 * ("the URL's tus upload" below).
 *
 * The grant takes the place of the key: once grant_admit() has checked the
 * URL it sets r->grant and r->user_id, and auth_request() lets the request
 * through as that user, so the gate, the multipart handler and tus run as
 * they do for a key - with the grant's id for the new video, its max_bytes,
 * its title and metadata (they win over the upload's own), and the grant
 * marked used in the very transaction that inserts the video (finish.c).
 */
#ifndef VG_APP_GRANT_H
#define VG_APP_GRANT_H

#include "gate.h"
#include "vg_id.h"

struct request;
struct vg_db;

#define GRANT_TOKEN_HEX 64 /* 32 random bytes, lower-case hex */

/* An upload URL's grant, as its row says and its URL was used. */
struct grant {
	char id[VG_ID_LEN + 1];
	long long user_id;
	long long max_bytes;
	char *title;	       /* owned; NULL: the upload's own */
	char *metadata;	       /* owned, a JSON object; NULL: the upload's own */
	long long ttl_seconds; /* until expires_at (at least 1 while valid) */
	char tus_path[128];    /* "/v1/upload-urls/tus/{id}.{token}" */
	char headers[1024];    /* Tus-Resumable and CORS lines (r->always_headers) */
};

/* 1 if path is an upload URL (or one of its tus uploads), else 0. */
int grant_is_url(const char *path);

/* The body kind of a request to an upload URL, for the gate: a POST with
 * Tus-Resumable is a tus creation, one without a multipart upload, a PATCH
 * of the URL's tus upload a tus PATCH; anything else GATE_NONE. */
enum gate_kind grant_kind(const struct request *r);

/*
 * Checks the upload URL r is addressed to, for a request of kind (its
 * body's, or GATE_NONE for HEAD and DELETE of its tus upload): the grant exists,
 * the token matches, it is neither expired nor used (nor held by another
 * upload), and the headers fit it (max_bytes, a tus Upload-Length). On
 * success fills g (free it with grant_free), points r at the grant's shard
 * and sets r->grant, r->user_id and r->always_headers (which borrow g) and
 * returns 0. Otherwise it has answered (404 not_found, 409
 * upload_url_in_use, 410 upload_url_expired or upload_url_used, 413, 503)
 * and returns -1.
 */
int grant_admit(struct request *r, struct grant *g, enum gate_kind kind);

/* Frees what g owns; safe on a zeroed g and twice. */
void grant_free(struct grant *g);

/* The largest video r may upload: its grant's max_bytes, or
 * limits.max_upload_bytes. */
long long grant_max_bytes(const struct request *r);

/* Inside the transaction that inserts the grant's video: marks it used.
 * 1 marked, 0 used already (roll back: no second video), -1 failed. */
int grant_mark_used(struct vg_db *db, const struct grant *g, const char *now);

/* Handles any request under /v1/upload-urls (the router's). */
void grant_route(struct request *r);

/* The header checks of POST /v1/upload-urls (the gate's): a JSON body of
 * at most a few KiB. 0, or -1 answered 413. */
int grant_check_new(struct request *r);

#endif
