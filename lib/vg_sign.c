/*
 * vg_sign.c - HMAC-SHA256 object URL signatures (see vg_sign.h).
 */
#include "vg_sign.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_hash.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mac_hex(const struct vg_config *cfg, const char *key, long long expires,
		   char out[VG_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s\n%lld", key, expires);

	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	if (!HMAC(EVP_sha256(), cfg->store.url_secret, (int)strlen(cfg->store.url_secret),
		  (const unsigned char *)msg, (size_t)n, md, &len) ||
	    len != VG_SHA256_LEN)
		return -1;
	vg_hex(md, len, out);
	return 0;
}

char *vg_sign_object_url(const struct vg_config *cfg, const char *key)
{
	long long expires = (long long)time(NULL) + cfg->store.url_ttl_seconds;
	char sig[VG_SHA256_HEX];
	size_t base = strlen(cfg->http.public_url);

	if (!cfg->store.url_secret[0] || mac_hex(cfg, key, expires, sig) < 0)
		return NULL;
	while (base > 0 && cfg->http.public_url[base - 1] == '/')
		base--;
	return vg_asprintf("%.*s/v1/objects/%s?expires=%lld&sig=%s", (int)base,
			   cfg->http.public_url, key, expires, sig);
}

enum vg_sign_check vg_sign_verify(const struct vg_config *cfg, const char *key, const char *expires,
				  const char *sig, time_t now)
{
	char want[VG_SHA256_HEX], *end;
	long long exp;

	if (!cfg->store.url_secret[0] || !expires || !sig || strlen(sig) != VG_SHA256_HEX - 1)
		return VG_SIGN_BAD;
	/* digits only, as issued: strtoll would also take " 17..." or "+17..." */
	if (strspn(expires, "0123456789") != strlen(expires))
		return VG_SIGN_BAD;
	errno = 0;
	exp = strtoll(expires, &end, 10);
	if (!*expires || *end || errno || exp <= 0)
		return VG_SIGN_BAD;
	if (mac_hex(cfg, key, exp, want) < 0 || CRYPTO_memcmp(want, sig, VG_SHA256_HEX - 1) != 0)
		return VG_SIGN_BAD;
	/* Only a genuine signature learns that it expired. */
	return exp < (long long)now ? VG_SIGN_EXPIRED : VG_SIGN_OK;
}
