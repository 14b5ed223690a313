/*
 * grant.c - upload URLs (see grant.h), in the order a grant is used:
 *
 *   new     POST /v1/upload-urls (a key): a row on a live shard, the id the
 *           video will have, a random token; 201 with the URL
 *   admit   every request to the URL, in the authorizer before its body and
 *           again in the responder: the token's hash, expiry, use, claim,
 *           the headers against max_bytes
 *   claim   the responder takes the grant for one upload before it reads a
 *           byte (an UPDATE that only one request can win), so two uploads
 *           never race for one id; a multipart POST that fails lets go of it
 *           again, a tus upload keeps it until it finishes or expires
 *   use     finish.c marks it used in the transaction that inserts the
 *           video: a second upload, however late, cannot make a second video
 *
 * An unknown id and a wrong token answer the same 404, so a URL cannot be
 * probed for grants that exist; the token is compared as a hash, in
 * constant time.
 */
#include "grant.h"
#include "auth.h"
#include "child.h"
#include "fields.h"
#include "gate.h"
#include "request.h"
#include "shard.h"
#include "tus.h"
#include "upload.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_hash.h"
#include "vg_log.h"
#include "vg_shards.h"
#include "vg_time.h"

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX	     "/v1/upload-urls"
#define PREFIX_LEN   (sizeof(PREFIX) - 1)
#define NEW_BODY_MAX 65536	   /* POST /v1/upload-urls: a few fields of JSON */
#define FORM_SLACK   (1024 * 1024) /* a multipart body beyond its file: fields, headers */

static const char tus_version_headers[] =
	"Tus-Version: 1.0.0\r\nTus-Extension: creation,creation-with-upload,termination,checksum,"
	"expiration\r\nTus-Checksum-Algorithm: sha1,sha256\r\n";

/* ---- the URL ---- */

int grant_is_url(const char *path)
{
	return strncmp(path, PREFIX "/", PREFIX_LEN + 1) == 0;
}

/* Splits "/v1/upload-urls/[tus/]{id}.{token}" (tus/: the tus upload made
 * through the URL). 0, or -1 if malformed. */
static int parse_url(const char *path, char id[VG_ID_LEN + 1], char token[GRANT_TOKEN_HEX + 1],
		     int *tus)
{
	const char *p, *t;

	if (!grant_is_url(path))
		return -1;
	p = path + PREFIX_LEN + 1;
	*tus = strncmp(p, "tus/", 4) == 0;
	if (*tus)
		p += 4;
	if (strlen(p) != VG_ID_LEN + 1 + GRANT_TOKEN_HEX || p[VG_ID_LEN] != '.')
		return -1;
	t = p + VG_ID_LEN + 1;
	memcpy(id, p, VG_ID_LEN);
	id[VG_ID_LEN] = '\0';
	for (int i = 0; i < GRANT_TOKEN_HEX; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return -1;
	memcpy(token, t, GRANT_TOKEN_HEX);
	token[GRANT_TOKEN_HEX] = '\0';
	return vg_id_valid(id) ? 0 : -1;
}

enum gate_kind grant_kind(const struct request *r)
{
	char id[VG_ID_LEN + 1], token[GRANT_TOKEN_HEX + 1];
	int tus;

	if (parse_url(r->path, id, token, &tus) < 0)
		return GATE_NONE;
	if (!tus && strcmp(r->method, "POST") == 0)
		return request_param(r, "HTTP_TUS_RESUMABLE") ? GATE_TUS_CREATE : GATE_MULTIPART;
	if (tus && strcmp(r->method, "PATCH") == 0)
		return GATE_TUS_PATCH;
	return GATE_NONE;
}

/* ---- CORS ---- */

/* The configured entry of http.cors_origins that r's Origin is, "*" when
 * any origin is, or NULL (no Origin, or not one of them). Returned into
 * out, so what is echoed is the configuration's text, never the client's. */
static const char *cors_origin(const struct request *r, char *out, size_t outsz)
{
	const char *origin = request_param(r, "HTTP_ORIGIN");
	const char *p = r->child->cfg->http.cors_origins;

	if (!origin)
		return NULL;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len && len < outsz &&
		    ((len == 1 && *p == '*') ||
		     (strlen(origin) == len && memcmp(origin, p, len) == 0))) {
			memcpy(out, p, len);
			out[len] = '\0';
			return out;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return NULL;
}

/* The lines every answer at an upload URL carries: Tus-Resumable, and for
 * an allowed Origin what lets its script read the answer. */
static void set_headers(struct request *r, char *out, size_t outsz)
{
	char origin[256];
	const char *allowed = cors_origin(r, origin, sizeof(origin));

	if (!allowed)
		snprintf(out, outsz, "Tus-Resumable: 1.0.0\r\nVary: Origin\r\n");
	else
		snprintf(out, outsz,
			 "Tus-Resumable: 1.0.0\r\nVary: Origin\r\n"
			 "Access-Control-Allow-Origin: %s\r\n"
			 "Access-Control-Expose-Headers: Location, Upload-Offset, Upload-Length, "
			 "Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, "
			 "X-Request-Id\r\n",
			 allowed);
	r->always_headers = out;
}

/* OPTIONS: the CORS preflight (and tus discovery). No grant is looked up:
 * the answer says only what the URL would take from this origin. */
static void preflight(struct request *r, const char *path_tus, char *hdrs, size_t hdrsz)
{
	char h[1024];

	set_headers(r, hdrs, hdrsz);
	if (request_param(r, "HTTP_ORIGIN") && !strstr(hdrs, "Access-Control-Allow-Origin")) {
		request_error(r, 403, "origin_not_allowed",
			      "this origin may not use upload URLs (http.cors_origins)");
		return;
	}
	snprintf(h, sizeof(h),
		 "%sTus-Max-Size: %lld\r\n"
		 "Access-Control-Allow-Methods: %s\r\n"
		 "Access-Control-Allow-Headers: Content-Type, Tus-Resumable, Upload-Length, "
		 "Upload-Metadata, Upload-Offset, Upload-Checksum, X-Request-Id, "
		 "X-Requested-With\r\n"
		 "Access-Control-Max-Age: 86400\r\nAllow: %s\r\n",
		 tus_version_headers, r->child->cfg->limits.max_upload_bytes,
		 path_tus ? "HEAD, PATCH, DELETE, OPTIONS" : "POST, OPTIONS",
		 path_tus ? "HEAD, PATCH, DELETE, OPTIONS" : "POST, OPTIONS");
	request_head(r, 204, NULL, h);
}

/* ---- the row ---- */

static const char insert_sql[] =
	"INSERT INTO upload_grants (id, user_id, token_hash, max_bytes, title, metadata, "
	"created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char load_sql[] =
	"SELECT g.user_id, g.token_hash, g.max_bytes, g.title, g.metadata, "
	"g.expires_at <= UTC_TIMESTAMP(6), g.used_at IS NOT NULL, g.claim, "
	"g.claim = 'multipart' AND g.claimed_at < UTC_TIMESTAMP(6) - INTERVAL 3600 SECOND, "
	"TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), g.expires_at) "
	"FROM upload_grants g JOIN users u ON u.id = g.user_id "
	"WHERE g.id = ? AND u.disabled_at IS NULL";
/* Only one request can move claim from free to its own. A multipart claim
 * an hour old belongs to a request that died (none lives that long: the web
 * servers cut slow bodies, and so does http.body_min_rate). */
static const char claim_sql[] =
	"UPDATE upload_grants SET claim = ?, claimed_at = UTC_TIMESTAMP(6) "
	"WHERE id = ? AND used_at IS NULL AND expires_at > UTC_TIMESTAMP(6) AND (claim IS NULL "
	"OR (claim = 'multipart' AND claimed_at < UTC_TIMESTAMP(6) - INTERVAL 3600 SECOND))";
static const char release_sql[] = "UPDATE upload_grants SET claim = NULL, claimed_at = NULL "
				  "WHERE id = ? AND claim = ? AND used_at IS NULL";
static const char use_sql[] =
	"UPDATE upload_grants SET used_at = ? WHERE id = ? AND used_at IS NULL";

void grant_free(struct grant *g)
{
	if (!g)
		return;
	free(g->title);
	free(g->metadata);
	g->title = NULL;
	g->metadata = NULL;
}

long long grant_max_bytes(const struct request *r)
{
	return r->grant ? r->grant->max_bytes : r->child->cfg->limits.max_upload_bytes;
}

int grant_mark_used(struct vg_db *db, const struct grant *g, const char *now)
{
	struct vg_db_param p[] = {vg_p_str(now), vg_p_str(g->id)};
	long long n = vg_db_exec(db, use_sql, p, VG_DB_NPARAMS(p));

	return n < 0 ? -1 : n > 0;
}

static void db_down(struct request *r)
{
	request_error_retry(r, 503, "database_unavailable",
			    "the database is not reachable; try again shortly", 5);
}

static void not_found(struct request *r)
{
	request_error(r, 404, "not_found", "no such upload URL");
}

/* 1 is_true of a 0/1 cell. */
static int cell_true(const struct vg_db_result *res, unsigned col)
{
	const char *c = vg_db_cell(res, 0, col);

	return c && strcmp(c, "1") == 0;
}

int grant_admit(struct request *r, struct grant *g, enum gate_kind kind)
{
	char token[GRANT_TOKEN_HEX + 1], hash[VG_SHA256_HEX], claim[16];
	struct vg_db_result res;
	long long n, upload_length;
	int tus, used, expired, stale;

	memset(g, 0, sizeof(*g));
	set_headers(r, g->headers, sizeof(g->headers));
	if (parse_url(r->path, g->id, token, &tus) < 0 ||
	    vg_shards_of_id(&r->child->shards, g->id) < 0) {
		not_found(r);
		return -1;
	}
	if (shard_for_id(r, g->id) < 0)
		return -1;
	{
		struct vg_db_param p[] = {vg_p_str(g->id)};

		n = vg_db_query(r->db, load_sql, p, VG_DB_NPARAMS(p), &res);
	}
	if (n < 0) {
		db_down(r);
		return -1;
	}
	vg_sha256_hex(token, GRANT_TOKEN_HEX, hash);
	if (n == 0 || !vg_db_cell(&res, 0, 1) || strlen(vg_db_cell(&res, 0, 1)) != 64 ||
	    CRYPTO_memcmp(vg_db_cell(&res, 0, 1), hash, 64) != 0) {
		vg_db_result_free(&res);
		not_found(r);
		return -1;
	}
	g->user_id = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
	g->max_bytes = strtoll(vg_db_cell(&res, 0, 2), NULL, 10);
	g->title = vg_db_cell(&res, 0, 3) ? vg_strdup(vg_db_cell(&res, 0, 3)) : NULL;
	g->metadata = vg_db_cell(&res, 0, 4) ? vg_strdup(vg_db_cell(&res, 0, 4)) : NULL;
	expired = cell_true(&res, 5);
	used = cell_true(&res, 6);
	snprintf(claim, sizeof(claim), "%s", vg_db_cell(&res, 0, 7) ? vg_db_cell(&res, 0, 7) : "");
	stale = cell_true(&res, 8);
	g->ttl_seconds = vg_db_cell(&res, 0, 9) ? strtoll(vg_db_cell(&res, 0, 9), NULL, 10) : 0;
	if (g->ttl_seconds < 1)
		g->ttl_seconds = 1;
	vg_db_result_free(&res);
	snprintf(g->tus_path, sizeof(g->tus_path), PREFIX "/tus/%s.%s", g->id, token);
	request_set_video(r, g->id);

	if (tus && strcmp(claim, "tus") != 0) {
		request_error(r, 404, "not_found", "no resumable upload was started at this URL");
		return -1;
	}
	/* Its tus upload answers after it finished too (a HEAD or
	 * a retried last PATCH): tus knows it from the video. */
	if (used && !tus) {
		request_error(r, 410, "upload_url_used", "this upload URL was used already");
		return -1;
	}
	if (expired && !used) {
		request_error(r, 410, "upload_url_expired", "this upload URL has expired");
		return -1;
	}
	if (!tus && claim[0] && !stale) {
		request_error(r, 409, "upload_url_in_use",
			      "another upload through this URL is in progress");
		return -1;
	}
	if (kind == GATE_MULTIPART && r->content_length > g->max_bytes + FORM_SLACK) {
		request_error(r, 413, "too_large", "the request is larger than this URL takes");
		return -1;
	}
	if (kind == GATE_TUS_CREATE) {
		const char *h = request_param(r, "HTTP_UPLOAD_LENGTH");
		char *end;

		upload_length = h ? strtoll(h, &end, 10) : -1;
		if (!h || *h < '0' || *h > '9' || *end) {
			request_error(r, 400, "invalid_upload_length",
				      "an upload URL takes tus uploads with an Upload-Length");
			return -1;
		}
		if (upload_length > g->max_bytes) {
			request_error(r, 413, "too_large",
				      "Upload-Length is larger than this URL takes");
			return -1;
		}
	}
	r->grant = g;
	r->user_id = g->user_id;
	return 0;
}

/* Takes the grant for this request's upload: 0, or -1 answered (409, 503). */
static int claim(struct request *r, const struct grant *g, const char *kind)
{
	struct vg_db_param p[] = {vg_p_str(kind), vg_p_str(g->id)};
	long long n = vg_db_exec(r->db, claim_sql, p, VG_DB_NPARAMS(p));

	if (n < 0) {
		db_down(r);
		return -1;
	}
	if (n == 0) {
		request_error(r, 409, "upload_url_in_use",
			      "another upload through this URL is in progress");
		return -1;
	}
	return 0;
}

static void release(struct request *r, const struct grant *g, const char *kind)
{
	struct vg_db_param p[] = {vg_p_str(g->id), vg_p_str(kind)};

	if (vg_db_exec(r->db, release_sql, p, VG_DB_NPARAMS(p)) < 0)
		vg_warn("msg=\"could not release an upload URL's claim\" request_id=%s "
			"grant_id=%s claim=%s",
			r->request_id, g->id, kind);
}

/* ---- POST /v1/upload-urls ---- */

int grant_check_new(struct request *r)
{
	if (r->content_length > NEW_BODY_MAX) {
		request_error(r, 413, "too_large", "the request body is too large");
		return -1;
	}
	return 0;
}

/* The request's JSON object, NULL for an empty body; *bad set (answered)
 * when it cannot be read or is not an object. */
static struct json_object *read_json(struct request *r, int *bad)
{
	char *buf = vg_malloc(NEW_BODY_MAX + 1);
	size_t len = 0;
	struct json_object *o = NULL;
	struct json_tokener *tok;

	*bad = 0;
	for (;;) {
		long n = request_read(r, buf + len, NEW_BODY_MAX - len);

		if (n < 0) {
			request_error(r, 400, "incomplete_body", "the request body ended early");
			*bad = 1;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == NEW_BODY_MAX) {
			request_error(r, 413, "too_large", "the request body is too large");
			*bad = 1;
			goto out;
		}
	}
	buf[len] = '\0';
	if (strspn(buf, " \t\r\n") == len)
		goto out; /* no body: every default */
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    strspn(buf + json_tokener_get_parse_end(tok), " \t\r\n") !=
		    len - json_tokener_get_parse_end(tok) ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
		request_error(r, 400, "invalid_json", "the body must be one JSON object");
		*bad = 1;
	}
	json_tokener_free(tok);
out:
	free(buf);
	return o;
}

/* A whole number field of o in [lo, hi]: 1 set, 0 absent, -1 bad. */
static int int_field(struct json_object *o, const char *key, long long lo, long long hi,
		     long long *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return *out >= lo && *out <= hi ? 1 : -1;
}

/* The checked fields of a new grant. 0, or -1 answered. */
static int new_fields(struct request *r, struct json_object *o, struct upload_fields *f,
		      long long *max_bytes, long long *expires_in)
{
	const struct vg_config *cfg = r->child->cfg;
	struct json_object *v;
	enum upload_fields_error e = UPLOAD_FIELDS_OK;
	char msg[160];

	if (o) {
		json_object_object_foreach(o, key, val)
		{
			(void)val;
			if (strcmp(key, "max_bytes") != 0 && strcmp(key, "expires_in") != 0 &&
			    strcmp(key, "title") != 0 && strcmp(key, "metadata") != 0) {
				request_error(
					r, 400, "invalid_json",
					"known fields: max_bytes, expires_in, title, metadata");
				return -1;
			}
		}
	}
	*max_bytes = cfg->limits.max_upload_bytes;
	if (int_field(o, "max_bytes", 1, cfg->limits.max_upload_bytes, max_bytes) < 0) {
		snprintf(
			msg, sizeof(msg),
			"max_bytes must be a whole number from 1 to %lld (limits.max_upload_bytes)",
			cfg->limits.max_upload_bytes);
		request_error(r, 400, "invalid_max_bytes", msg);
		return -1;
	}
	*expires_in = cfg->limits.upload_url_max_seconds;
	if (int_field(o, "expires_in", 1, cfg->limits.upload_url_max_seconds, expires_in) < 0) {
		snprintf(msg, sizeof(msg),
			 "expires_in must be a whole number of seconds from 1 to %lld "
			 "(limits.upload_url_max_seconds)",
			 cfg->limits.upload_url_max_seconds);
		request_error(r, 400, "invalid_expires_in", msg);
		return -1;
	}
	if (o && json_object_object_get_ex(o, "title", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string)) {
			request_error(r, 400, "invalid_json", "title must be a string");
			return -1;
		}
		e = upload_fields_set_title(f, json_object_get_string(v),
					    (size_t)json_object_get_string_len(v));
	}
	if (e == UPLOAD_FIELDS_OK && o && json_object_object_get_ex(o, "metadata", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		e = upload_fields_set_metadata(f, s, strlen(s));
	}
	if (e != UPLOAD_FIELDS_OK) {
		request_error(r, upload_fields_status(e), upload_fields_code(e),
			      upload_fields_message(e));
		return -1;
	}
	return 0;
}

/* scheme://host of the request, as a browser reaches this site; the
 * configured http.public_url when the request names no Host. */
static void base_url(const struct request *r, char *out, size_t outsz)
{
	const char *host = request_param(r, "HTTP_HOST");
	const char *https = request_param(r, "HTTPS");
	size_t n;

	if (host && *host && strlen(host) < 256 && !strpbrk(host, "/\\\"<> \r\n"))
		snprintf(out, outsz, "%s://%s",
			 https && strcasecmp(https, "on") == 0 ? "https" : "http", host);
	else
		snprintf(out, outsz, "%s", r->child->cfg->http.public_url);
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
}

static void grant_new(struct request *r)
{
	struct upload_fields f;
	struct json_object *o, *ans;
	unsigned char raw[GRANT_TOKEN_HEX / 2];
	char id[VG_ID_LEN + 1], token[GRANT_TOKEN_HEX + 1], hash[VG_SHA256_HEX];
	char now[32], expires[32], expires3339[40], base[300], *url;
	long long max_bytes, expires_in, n;
	int64_t now_us;
	int bad;

	upload_fields_init(&f, (size_t)r->child->cfg->limits.max_field_bytes);
	/* (an authorizer that admitted it looked the key up: r->gated) */
	if ((!r->gated && auth_request(r) < 0) || grant_check_new(r) < 0)
		goto out;
	o = read_json(r, &bad);
	if (bad)
		goto out;
	n = new_fields(r, o, &f, &max_bytes, &expires_in);
	json_object_put(o);
	if (n < 0)
		goto out;
	if (vg_random_bytes(raw, sizeof(raw)) < 0) {
		request_error(r, 500, "internal", "could not make a token");
		goto out;
	}
	vg_hex(raw, sizeof(raw), token);
	vg_sha256_hex(token, GRANT_TOKEN_HEX, hash);
	/* The id names the shard that keeps the grant, then the video. */
	for (;;) {
		now_us = vg_now_us();
		vg_time_sql(now_us, now, sizeof(now));
		vg_time_sql(now_us + expires_in * 1000000LL, expires, sizeof(expires));
		if (vg_id_new(id, vg_db_shard(r->db)) < 0) {
			request_error(r, 500, "internal", "could not make an id");
			goto out;
		}
		{
			struct vg_db_param p[] = {vg_p_str(id),
						  vg_p_i64(r->user_id),
						  vg_p_str(hash),
						  vg_p_i64(max_bytes),
						  vg_p_str(upload_fields_title(&f)),
						  vg_p_str(upload_fields_metadata(&f)),
						  vg_p_str(now),
						  vg_p_str(expires)};

			n = vg_db_exec(r->db, insert_sql, p, VG_DB_NPARAMS(p));
		}
		if (n == 1)
			break;
		if (!vg_db_down(r->db) || shard_retry_elsewhere(r) < 0) {
			db_down(r);
			goto out;
		}
	}
	request_set_video(r, id);
	vg_info("msg=\"upload URL made\" request_id=%s grant_id=%s user=%lld max_bytes=%lld "
		"expires_in=%lld",
		r->request_id, id, r->user_id, max_bytes, expires_in);
	base_url(r, base, sizeof(base));
	url = vg_asprintf("%s" PREFIX "/%s.%s", base, id, token);
	vg_time_sql_to_rfc3339(expires, expires3339, sizeof(expires3339));
	ans = json_object_new_object();
	json_object_object_add(ans, "id", json_object_new_string(id));
	json_object_object_add(ans, "url", json_object_new_string(url));
	json_object_object_add(ans, "expires_at", json_object_new_string(expires3339));
	json_object_object_add(ans, "max_bytes", json_object_new_int64(max_bytes));
	json_object_object_add(ans, "title",
			       upload_fields_title(&f)
				       ? json_object_new_string(upload_fields_title(&f))
				       : NULL);
	json_object_object_add(ans, "metadata",
			       upload_fields_metadata(&f)
				       ? json_tokener_parse(upload_fields_metadata(&f))
				       : NULL);
	request_json(r, 201, ans, NULL); /* JSON answers are no-store already */
	json_object_put(ans);
	free(url);
out:
	upload_fields_free(&f);
}

/* ---- the URL ---- */

static void method_not_allowed(struct request *r, const char *allow)
{
	char h[96];

	snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
	request_error_headers(r, 405, "method_not_allowed",
			      "this method is not allowed on this path", h);
}

/* A POST to the URL: a multipart upload, or a tus creation. */
static void grant_post(struct request *r, struct grant *g, enum gate_kind kind)
{
	const char *what = kind == GATE_TUS_CREATE ? "tus" : "multipart";

	if (claim(r, g, what) < 0)
		return;
	if (kind == GATE_TUS_CREATE) {
		tus_dispatch(r, NULL);
	} else if (gate_admit(r, GATE_MULTIPART, NULL) == 0) {
		upload_post(r);
	}
	/* Refused or failed before the video: the URL may be used again. */
	if (r->status != 201)
		release(r, g, what);
}

void grant_route(struct request *r)
{
	const char *m = r->method;
	char id[VG_ID_LEN + 1], token[GRANT_TOKEN_HEX + 1], hdrs[1024];
	struct grant g;
	enum gate_kind kind;
	int tus;

	memset(&g, 0, sizeof(g));
	if (strcmp(r->path, PREFIX) == 0) {
		shard_for_any(r);
		if (strcmp(m, "POST") == 0)
			grant_new(r);
		else
			method_not_allowed(r, "POST");
		return;
	}
	if (parse_url(r->path, id, token, &tus) < 0) {
		not_found(r);
		return;
	}
	if (strcmp(m, "OPTIONS") == 0) {
		preflight(r, tus ? "tus" : NULL, hdrs, sizeof(hdrs));
		return;
	}
	if (!tus && strcmp(m, "POST") != 0) {
		set_headers(r, hdrs, sizeof(hdrs));
		method_not_allowed(r, "POST, OPTIONS");
		return;
	}
	if (tus && strcmp(m, "HEAD") != 0 && strcmp(m, "PATCH") != 0 && strcmp(m, "DELETE") != 0) {
		set_headers(r, hdrs, sizeof(hdrs));
		method_not_allowed(r, "HEAD, PATCH, DELETE, OPTIONS");
		return;
	}
	kind = grant_kind(r);
	if (grant_admit(r, &g, kind) < 0)
		goto out;
	if (!tus) {
		grant_post(r, &g, kind);
	} else {
		tus_dispatch(r, g.id);
		/* A terminated upload lets go of the URL. */
		if (strcmp(m, "DELETE") == 0 && r->status == 204)
			release(r, &g, "tus");
	}
out:
	r->grant = NULL;
	r->always_headers = NULL;
	grant_free(&g);
}
