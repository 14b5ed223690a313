/*
 * test_sign.c - unit tests for signed object URLs (lib/vg_sign.c): the URL
 * vingest-fcgi hands the processing service, and the check of one that
 * comes back - good, expired, tampered, for another object, under another
 * secret, malformed. The check takes the time as an argument, so expiry is
 * tested at exact seconds.
 */
#include "tap.h"
#include "vg_config.h"
#include "vg_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY    "videos/01/M8/01M8GBWEX7004XTX9S01B92PGW"
#define PREFIX "https://videos.example.com/v1/objects/" KEY "?expires="

static struct vg_config cfg;

static void setup(const char *secret)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.http.public_url = "https://videos.example.com//";
	cfg.store.url_secret = (char *)secret;
	cfg.store.url_ttl_seconds = 900;
}

/* Splits a signed URL's expires and sig out of its query. */
static int split(const char *url, char *expires, size_t esz, char *sig, size_t ssz)
{
	const char *e = strstr(url, "?expires="), *s = strstr(url, "&sig=");

	if (!e || !s || s < e || (size_t)(s - e - 9) >= esz || strlen(s + 5) >= ssz)
		return -1;
	snprintf(expires, esz, "%.*s", (int)(s - e - 9), e + 9);
	snprintf(sig, ssz, "%s", s + 5);
	return 0;
}

static void test_round_trip(void)
{
	char expires[32], sig[80], bad[80];
	time_t before, after;
	char *url;
	long long exp;

	setup("s3cret");
	before = time(NULL);
	url = vg_sign_object_url(&cfg, KEY);
	after = time(NULL);
	ok(url && strncmp(url, PREFIX, strlen(PREFIX)) == 0,
	   "the URL is public_url (its trailing slashes dropped) /v1/objects/KEY?expires=");
	if (!url || split(url, expires, sizeof(expires), sig, sizeof(sig)) < 0) {
		ok(0, "the URL has expires and sig (%s)", url ? url : "NULL");
		free(url);
		return;
	}
	exp = atoll(expires);
	ok(exp >= before + 900 && exp <= after + 900,
	   "it expires store.url_ttl_seconds (900) from now (%lld)", exp);
	is_int((long long)strlen(sig), 64, "sig is 64 hex digits");
	ok(strspn(sig, "0123456789abcdef") == 64, "lower-case hex");

	is_int(vg_sign_verify(&cfg, KEY, expires, sig, before), VG_SIGN_OK, "good: accepted now");
	is_int(vg_sign_verify(&cfg, KEY, expires, sig, (time_t)exp), VG_SIGN_OK,
	       "good up to its expiry second, inclusive");
	is_int(vg_sign_verify(&cfg, KEY, expires, sig, (time_t)exp + 1), VG_SIGN_EXPIRED,
	       "expired one second later");

	snprintf(bad, sizeof(bad), "%s", sig);
	bad[10] = bad[10] == '0' ? '1' : '0';
	is_int(vg_sign_verify(&cfg, KEY, expires, bad, before), VG_SIGN_BAD,
	       "tampered: one hex digit of sig changed");
	snprintf(bad, sizeof(bad), "%lld", exp + 3600);
	is_int(vg_sign_verify(&cfg, KEY, bad, sig, before), VG_SIGN_BAD,
	       "tampered: expires moved an hour later under the same sig");
	is_int(vg_sign_verify(&cfg, KEY, bad, sig, (time_t)exp + 10), VG_SIGN_BAD,
	       "a forged expires is bad, never merely expired (only a genuine sig learns that)");
	is_int(vg_sign_verify(&cfg, "videos/01/M8/01M8GBWEX7004XTX9S01B92PGX", expires, sig,
			      before),
	       VG_SIGN_BAD, "another object's key under this sig");

	setup("another secret");
	is_int(vg_sign_verify(&cfg, KEY, expires, sig, before), VG_SIGN_BAD,
	       "wrong secret: a URL signed under another store.url_secret");
	setup("");
	is_int(vg_sign_verify(&cfg, KEY, expires, sig, before), VG_SIGN_BAD,
	       "no secret configured: nothing verifies");
	ok(vg_sign_object_url(&cfg, KEY) == NULL, "no secret configured: no URL is made");
	free(url);
}

static void test_known_answer(void)
{
	/* printf 'KEY\n1700000000' | openssl dgst -sha256 -hmac s3cret */
	const char *sig = "2589ed2243d66d905d760d53b5428f27c60a53a9f094133f5b4c64ccc374dd55";

	setup("s3cret");
	is_int(vg_sign_verify(&cfg, "videos/AB/CD/01ABC", "1700000000", sig, 1700000000),
	       VG_SIGN_OK,
	       "HMAC-SHA256 over \"KEY\\nEXPIRES\" as openssl computes it (URLs in flight "
	       "stay valid across versions)");
}

static void test_malformed(void)
{
	const char *sig = "2589ed2243d66d905d760d53b5428f27c60a53a9f094133f5b4c64ccc374dd55";
	const char *upper = "2589ED2243D66D905D760D53B5428F27C60A53A9F094133F5B4C64CCC374DD55";
	const char *exps[] =
		{"",  "1700000000x",	     " 1700000000", "+1700000000", "-1700000000",
		 "0", "99999999999999999999"};

	setup("s3cret");
	is_int(vg_sign_verify(&cfg, "videos/AB/CD/01ABC", "1700000000", NULL, 0), VG_SIGN_BAD,
	       "no sig");
	is_int(vg_sign_verify(&cfg, "videos/AB/CD/01ABC", NULL, sig, 0), VG_SIGN_BAD, "no expires");
	is_int(vg_sign_verify(&cfg, "videos/AB/CD/01ABC", "1700000000", "2589ed", 0), VG_SIGN_BAD,
	       "a short sig");
	is_int(vg_sign_verify(&cfg, "videos/AB/CD/01ABC", "1700000000", upper, 0), VG_SIGN_BAD,
	       "upper-case hex is not the signature as issued");
	for (size_t i = 0; i < sizeof(exps) / sizeof(exps[0]); i++)
		is_int(vg_sign_verify(&cfg, "videos/AB/CD/01ABC", exps[i], sig, 0), VG_SIGN_BAD,
		       "expires '%s' is refused", exps[i]);
}

int main(void)
{
	test_round_trip();
	test_known_answer();
	test_malformed();
	return tap_done();
}
