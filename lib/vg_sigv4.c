/*
 * vg_sigv4.c - presigned S3 GET URLs (see vg_sigv4.h).
 *
 * The steps are AWS's, in order: a canonical request (method, encoded path,
 * sorted query, the signed host header, UNSIGNED-PAYLOAD), its SHA-256 in the
 * string to sign, and an HMAC chain from the secret key through date, region
 * and service. tests/unit/test_sigv4.c checks the result against the example
 * in AWS's own documentation.
 */
#include "vg_sigv4.h"
#include "vg_alloc.h"
#include "vg_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vg_sigv4_uri_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = vg_malloc(3 * n + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static void hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
		  &len) ||
	    len != 32)
		abort(); /* only fails when libcrypto cannot allocate */
}

char *vg_sigv4_presign_get(const struct vg_sigv4_presign *p)
{
	char date[9], stamp[17], hash[VG_SHA256_HEX], sig[VG_SHA256_HEX];
	unsigned char k[32];
	char *path = NULL, *cred = NULL, *query = NULL, *canon = NULL, *sts = NULL, *key0 = NULL;
	char *url = NULL;
	struct tm tm;

	if (!p->host || !p->path || p->path[0] != '/' || !p->region || !p->access_key ||
	    !p->secret_key || p->expires_seconds < 1 || p->expires_seconds > 604800 ||
	    !gmtime_r(&p->now, &tm))
		return NULL;
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);

	path = vg_sigv4_uri_encode(p->path, 1);
	{
		char *c = vg_asprintf("%s/%s/%s/s3/aws4_request", p->access_key, date, p->region);

		cred = vg_sigv4_uri_encode(c, 0);
		free(c);
	}
	/* Already in sorted order, as the canonical query must be. */
	query = vg_asprintf("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s"
			    "&X-Amz-Expires=%ld&X-Amz-SignedHeaders=host",
			    cred, stamp, p->expires_seconds);
	canon = vg_asprintf("GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", path, query, p->host);
	vg_sha256_hex(canon, strlen(canon), hash);
	sts = vg_asprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", stamp, date, p->region,
			  hash);

	key0 = vg_asprintf("AWS4%s", p->secret_key);
	hmac(key0, strlen(key0), date, k);
	hmac(k, sizeof(k), p->region, k);
	hmac(k, sizeof(k), "s3", k);
	hmac(k, sizeof(k), "aws4_request", k);
	hmac(k, sizeof(k), sts, k);
	vg_hex(k, sizeof(k), sig);

	url = vg_asprintf("%s://%s%s?%s&X-Amz-Signature=%s", p->scheme ? p->scheme : "https",
			  p->host, path, query, sig);
	free(path);
	free(cred);
	free(query);
	free(canon);
	free(sts);
	free(key0);
	return url;
}
