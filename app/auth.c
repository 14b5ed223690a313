/*
 * auth.c - API key authentication.
 *
 * Keys are 256-bit random tokens; the database keeps only their SHA-256, so
 * a leaked table does not leak keys, and a fast hash is enough (there is
 * nothing to brute-force in 256 bits). The lookup is one indexed read.
 *
 * HTTP Basic (any user name, the key as password) exists so a plain browser
 * form can upload. Browsers attach Basic credentials to cross-site posts by
 * themselves, so such posts must carry an Origin of this site or of
 * http.allowed_origins: that is the CSRF defence.
 */
#include "auth.h"
#include "child.h"
#include "request.h"
#include "shard.h"
#include "vg_base64.h"
#include "vg_config.h"
#include "vg_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_MAX 256

/* The Origin check for browser posts (see the file comment). */
static int origin_ok(const struct request *r)
{
	const char *origin = request_param(r, "HTTP_ORIGIN");
	const char *host = request_param(r, "HTTP_HOST");
	const char *https = request_param(r, "HTTPS");
	const char *allowed = r->child->cfg->http.allowed_origins;
	char self[512];

	if (!origin || strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		return 1; /* not a browser, or not a state change */
	if (host) {
		snprintf(self, sizeof(self), "%s://%s",
			 https && strcasecmp(https, "on") == 0 ? "https" : "http", host);
		if (strcmp(origin, self) == 0)
			return 1;
	}
	for (const char *p = allowed; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len && strlen(origin) == len && strncmp(origin, p, len) == 0)
			return 1;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static const char lookup_sql[] =
	"SELECT k.user_id FROM api_keys k JOIN users u ON u.id = k.user_id "
	"WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.disabled_at IS NULL";

static const char challenge[] = "WWW-Authenticate: Bearer realm=\"vingest\"\r\n";
/* A browser prompts for a user name and password only on a Basic challenge;
 * a page navigation (a form post, a typed URL: Accept names text/html) gets
 * that one alone. Apache joins repeated WWW-Authenticate headers into one,
 * and Chromium does not find Basic behind Bearer in a joined header, so the
 * browser must not be offered both. Scripts and apps get Bearer only, so a
 * bad key in an app never pops up a password dialog. */
static const char challenge_browser[] =
	"WWW-Authenticate: Basic realm=\"vingest\", charset=\"UTF-8\"\r\n";

static const char *challenge_for(const struct request *r)
{
	const char *accept = request_param(r, "HTTP_ACCEPT");
	const char *h = request_param(r, "HTTP_AUTHORIZATION");

	if (h && strncasecmp(h, "Bearer ", 7) == 0)
		return challenge;
	return accept && strstr(accept, "text/html") ? challenge_browser : challenge;
}

int auth_request(struct request *r)
{
	const char *h = request_param(r, "HTTP_AUTHORIZATION");
	char key[KEY_MAX + 1];
	char hash[VG_SHA256_HEX];
	int basic = 0;
	struct vg_db_result res;
	long long n;

	if (r->grant)
		return 0; /* an upload URL checked already: it set r->user_id (grant.h) */
	if (!h || !*h) {
		request_error_headers(r, 401, "unauthorized", "an API key is required",
				      challenge_for(r));
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		const char *k = h + 7;

		while (*k == ' ')
			k++;
		if (strlen(k) > KEY_MAX || !*k)
			goto bad;
		snprintf(key, sizeof(key), "%s", k);
	} else if (strncasecmp(h, "Basic ", 6) == 0) {
		unsigned char dec[KEY_MAX * 2];
		long len;
		char *colon;

		if (strlen(h + 6) > sizeof(dec))
			goto bad;
		len = vg_base64_decode(h + 6, dec, sizeof(dec) - 1);
		if (len < 0)
			goto bad;
		dec[len] = '\0';
		colon = memchr(dec, ':', (size_t)len);
		if (!colon || strlen(colon + 1) > KEY_MAX || !colon[1])
			goto bad;
		snprintf(key, sizeof(key), "%s", colon + 1);
		basic = 1;
	} else {
		goto bad;
	}

	vg_sha256_hex(key, strlen(key), hash);
	{
		struct vg_db_param p[] = {vg_p_str(hash)};

		n = vg_db_query(r->db, lookup_sql, p, VG_DB_NPARAMS(p), &res);
		/* keys are on every shard: a request not bound to a video's
		 * shard may ask another while this one is down */
		while (n < 0 && vg_db_down(r->db) && shard_retry_elsewhere(r) == 0)
			n = vg_db_query(r->db, lookup_sql, p, VG_DB_NPARAMS(p), &res);
	}
	if (n < 0) {
		request_error_retry(r, 503, "database_unavailable",
				    "the database is not reachable; try again shortly", 5);
		return -1;
	}
	if (n == 0) {
		vg_db_result_free(&res);
		goto bad;
	}
	r->user_id = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
	vg_db_result_free(&res);
	r->auth_basic = basic;
	if (basic && !origin_ok(r)) {
		request_error(r, 403, "origin_not_allowed",
			      "browser posts must come from this site or an allowed origin");
		return -1;
	}
	return 0;
bad:
	request_error_headers(r, 401, "unauthorized", "the API key is malformed or unknown",
			      challenge_for(r));
	return -1;
}
