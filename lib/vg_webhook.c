/*
 * vg_webhook.c - the outbox write, signatures, URL and address checks (see
 * vg_webhook.h).
 */
#include "vg_webhook.h"
#include "vg_addr.h"
#include "vg_alloc.h"
#include "vg_db.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_shards.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char emit_sql[] = VG_WEBHOOK_INSERT_SELECT "WHERE v.id = ? AND v.status = ?";

long long vg_webhook_emit(struct vg_db *db, const char *video_id, const char *type,
			  const char *status)
{
	struct vg_db_param p[] = {vg_p_str(type), vg_p_str(video_id), vg_p_str(status)};

	return vg_db_exec(db, emit_sql, p, VG_DB_NPARAMS(p));
}

int vg_webhook_sign(const char *secret, long long t, const char *body, size_t len,
		    char out[VG_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "%lld.", t);
	unsigned char *msg;
	int rc = -1;

	if (!secret || !*secret || n < 0 || (size_t)n >= sizeof(prefix))
		return -1;
	/* an event body is a few hundred bytes: one buffer, one HMAC() */
	msg = vg_malloc((size_t)n + len + 1);
	memcpy(msg, prefix, (size_t)n);
	memcpy(msg + n, body, len);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)n + len, md, &mdlen) &&
	    mdlen == VG_SHA256_LEN) {
		vg_hex(md, mdlen, out);
		rc = 0;
	}
	free(msg);
	return rc;
}

int vg_webhook_new_secret(char out[VG_WEBHOOK_SECRET_LEN])
{
	unsigned char b[32];

	if (vg_random_bytes(b, sizeof(b)) < 0)
		return -1;
	memcpy(out, "whsec_", 6);
	vg_hex(b, sizeof(b), out + 6);
	return 0;
}

static int fail(char *why, size_t whysz, const char *reason)
{
	snprintf(why, whysz, "%s", reason);
	return -1;
}

int vg_webhook_url_check(const char *url, char *why, size_t whysz)
{
	size_t len, skip, i, hostlen, authlen;
	const char *auth, *end, *host, *port = NULL;

	if (!url)
		return fail(why, whysz, "no URL");
	len = strnlen(url, VG_WEBHOOK_URL_MAX + 1);
	if (len > VG_WEBHOOK_URL_MAX)
		return fail(why, whysz, "the URL is longer than 2048 bytes");
	for (i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return fail(why, whysz,
				    "the URL has a space, a control or a non-ASCII character");
	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return fail(why, whysz, "the URL must start with http:// or https://");
	if (strchr(url, '#'))
		return fail(why, whysz, "the URL must not have a #fragment");
	auth = url + skip;
	authlen = strcspn(auth, "/?");
	end = auth + authlen;
	if (memchr(auth, '@', authlen))
		return fail(why, whysz, "the URL must not carry user:password@");
	host = auth;
	if (authlen > 0 && host[0] == '[') {
		const char *close = memchr(host, ']', authlen);

		if (!close || close == host + 1)
			return fail(why, whysz, "the URL has a malformed [IPv6] host");
		for (const char *c = host + 1; c < close; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				return fail(why, whysz, "the URL has a malformed [IPv6] host");
		hostlen = (size_t)(close - host) + 1;
		if (close + 1 < end) {
			if (close[1] != ':')
				return fail(why, whysz, "the URL has a malformed [IPv6] host");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(host, ':', authlen);

		hostlen = colon ? (size_t)(colon - host) : authlen;
		if (colon)
			port = colon + 1;
		for (i = 0; i < hostlen; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789.-_",
				    host[i]))
				return fail(why, whysz,
					    "the URL's host has a character a "
					    "host name cannot have");
	}
	if (hostlen == 0)
		return fail(why, whysz, "the URL has no host");
	if (hostlen > 255)
		return fail(why, whysz, "the URL's host is longer than 255 bytes");
	if (port) {
		long v = 0;
		const char *c;

		if (port == end)
			return fail(why, whysz, "the URL has an empty port");
		for (c = port; c < end; c++) {
			if (*c < '0' || *c > '9' || c - port >= 5)
				return fail(why, whysz, "the URL's port is not 1-65535");
			v = v * 10 + (*c - '0');
		}
		if (v < 1 || v > 65535)
			return fail(why, whysz, "the URL's port is not 1-65535");
	}
	return 0;
}

/* Where no webhook goes by default (RFC 6890 special-purpose blocks that
 * are not globally reachable, loopback and link-local first). An IPv4
 * address mapped into IPv6 matches the IPv4 entries (vg_addr). */
static const char private_list[] =
	"0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
	"192.0.0.0/24, 192.0.2.0/24, 192.168.0.0/16, 198.18.0.0/15, 198.51.100.0/24, "
	"203.0.113.0/24, 224.0.0.0/3, ::/128, ::1/128, 64:ff9b::/96, 100::/64, 2001:db8::/32, "
	"fc00::/7, fe80::/10, ff00::/8";

int vg_webhook_addr_private(const char *addr)
{
	/* vg_addr_allowed says 0 for what is not an address: refuse that too */
	if (!addr || !vg_addr_allowed("0.0.0.0/0, ::/0", addr))
		return 1;
	return vg_addr_allowed(private_list, addr);
}

static const char endpoint_sql[] =
	"SELECT url, secret, previous_secret, rotated_at, created_at, updated_at "
	"FROM webhook_endpoints WHERE user_id = ?";
static const char put_sql[] =
	"INSERT INTO webhook_endpoints (user_id, url, secret, previous_secret, rotated_at, "
	"created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	"url = VALUES(url), secret = VALUES(secret), previous_secret = VALUES(previous_secret), "
	"rotated_at = VALUES(rotated_at), updated_at = VALUES(updated_at)";
static const char delete_sql[] = "DELETE FROM webhook_endpoints WHERE user_id = ?";

static void cell(char *out, size_t outsz, const char *v)
{
	snprintf(out, outsz, "%s", v ? v : "");
}

int vg_webhook_endpoint_read(struct vg_db *db, long long user_id, struct vg_webhook_endpoint *e)
{
	struct vg_db_param p[] = {vg_p_i64(user_id)};
	struct vg_db_result r;
	long long n = vg_db_query(db, endpoint_sql, p, VG_DB_NPARAMS(p), &r);

	memset(e, 0, sizeof(*e));
	e->user_id = user_id;
	if (n == 1) {
		cell(e->url, sizeof(e->url), vg_db_cell(&r, 0, 0));
		cell(e->secret, sizeof(e->secret), vg_db_cell(&r, 0, 1));
		cell(e->previous, sizeof(e->previous), vg_db_cell(&r, 0, 2));
		cell(e->rotated_at, sizeof(e->rotated_at), vg_db_cell(&r, 0, 3));
		cell(e->created_at, sizeof(e->created_at), vg_db_cell(&r, 0, 4));
		cell(e->updated_at, sizeof(e->updated_at), vg_db_cell(&r, 0, 5));
	}
	vg_db_result_free(&r);
	return n < 0 ? -1 : n > 0;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

unsigned vg_webhook_endpoint_put_all(struct vg_shards *sh, const struct vg_webhook_endpoint *e)
{
	struct vg_db_param p[] = {vg_p_i64(e->user_id),
				  vg_p_str(e->url),
				  vg_p_str(e->secret),
				  vg_p_str(or_null(e->previous)),
				  vg_p_str(or_null(e->rotated_at)),
				  vg_p_str(e->created_at),
				  vg_p_str(e->updated_at)};
	unsigned failed = 0;

	for (unsigned k = 0; k < sh->n; k++)
		if (vg_db_exec(vg_shards_db(sh, k), put_sql, p, VG_DB_NPARAMS(p)) < 0) {
			vg_error("msg=\"cannot write the webhook endpoint\" shard=%u user=%lld "
				 "error=\"%s\"",
				 k, e->user_id, vg_db_error(vg_shards_db(sh, k)));
			failed++;
		}
	return failed;
}

unsigned vg_webhook_endpoint_delete_all(struct vg_shards *sh, long long user_id)
{
	struct vg_db_param p[] = {vg_p_i64(user_id)};
	unsigned failed = 0;

	for (unsigned k = 0; k < sh->n; k++)
		if (vg_db_exec(vg_shards_db(sh, k), delete_sql, p, VG_DB_NPARAMS(p)) < 0) {
			vg_error("msg=\"cannot delete the webhook endpoint\" shard=%u user=%lld "
				 "error=\"%s\"",
				 k, user_id, vg_db_error(vg_shards_db(sh, k)));
			failed++;
		}
	return failed;
}

void vg_webhook_mask(const char *secret, char *out, size_t outsz)
{
	snprintf(out, outsz, "%.10s...", secret ? secret : "");
}
