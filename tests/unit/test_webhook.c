/*
 * test_webhook.c - unit tests for lib/vg_webhook.c: the Vingest-Signature
 * HMAC against vectors computed independently (Python's hmac module), the
 * bounded endpoint URL check, the private-address refusal list and the
 * secret's shape.
 */
#include "tap.h"
#include "vg_webhook.h"

#include <string.h>

static void test_signature(void)
{
	const char *body = "{\"id\":\"evt_1\"}";
	char hex[VG_SHA256_HEX];

	/* python3: hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}', sha256) */
	is_int(vg_webhook_sign("whsec_test", 1700000000, body, strlen(body), hex), 0,
	       "a body signs");
	is_str(hex, "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925",
	       "signature is HMAC-SHA256(secret, t + \".\" + body), lower-case hex");
	is_int(vg_webhook_sign("key", 0, "", 0, hex), 0, "an empty body signs");
	is_str(hex, "85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d",
	       "t=0, empty body: HMAC of \"0.\"");
	is_int(vg_webhook_sign("", 1, body, strlen(body), hex), -1, "no secret, no signature");
}

static void test_url(void)
{
	static const char *const good[] = {
		"http://example.com/hook",
		"https://example.com",
		"HTTPS://hooks.example.com:8443/a/b?c=d&e=f",
		"http://127.0.0.1:9000/",
		"http://[::1]:8080/x",
		"http://[2001:db8::1]/",
		"http://a_b.example/",
	};
	static const char *const bad[] = {
		"",
		"ftp://example.com/",
		"file:///etc/passwd",
		"example.com/hook",
		"http://",
		"http:///path",
		"http://user:pw@example.com/",
		"http://example.com/#frag",
		"http://exa mple.com/",
		"http://example.com:0/",
		"http://example.com:65536/",
		"http://example.com:123456/",
		"http://example.com:/",
		"http://example.com:8a/",
		"http://[::1/",
		"http://[]/",
		"http://[::1]x/",
		"http://exa\"mple.com/",
		"http://example.com/\x7f",
		"http://ex\xc3\xa4mple.com/",
	};
	char why[200], big[VG_WEBHOOK_URL_MAX + 64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(vg_webhook_url_check(good[i], why, sizeof(why)), 0, "accepted: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(vg_webhook_url_check(bad[i], why, sizeof(why)), -1, "refused: '%s' (%s)",
		       bad[i], why);
	is_int(vg_webhook_url_check(NULL, why, sizeof(why)), -1, "refused: NULL");
	memset(big, 'a', sizeof(big));
	memcpy(big, "http://example.com/", 19);
	big[VG_WEBHOOK_URL_MAX] = '\0';
	is_int(vg_webhook_url_check(big, why, sizeof(why)), 0, "2048 bytes: accepted");
	big[VG_WEBHOOK_URL_MAX] = 'a';
	big[VG_WEBHOOK_URL_MAX + 1] = '\0';
	is_int(vg_webhook_url_check(big, why, sizeof(why)), -1, "2049 bytes: refused");
}

static void test_private(void)
{
	static const char *const private[] = {
		"127.0.0.1",
		"127.1.2.3",
		"10.0.0.1",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"169.254.169.254",
		"100.64.0.1",
		"0.0.0.0",
		"224.0.0.1",
		"255.255.255.255",
		"::1",
		"::",
		"fe80::1",
		"fd00::1",
		"fc00::1",
		"ff02::1",
		"::ffff:127.0.0.1",
		"::ffff:10.1.2.3",
		"not-an-address",
		"",
	};
	static const char *const public[] = {
		"93.184.216.34", "8.8.8.8",	    "172.32.0.1",     "192.169.0.1",
		"100.128.0.1",	 "2606:4700::1111", "::ffff:8.8.8.8",
	};

	for (size_t i = 0; i < sizeof(private) / sizeof(private[0]); i++)
		is_int(vg_webhook_addr_private(private[i]), 1, "not public: '%s'", private[i]);
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		is_int(vg_webhook_addr_private(public[i]), 0, "public: %s", public[i]);
	is_int(vg_webhook_addr_private(NULL), 1, "NULL is not public");
}

static void test_secret(void)
{
	char a[VG_WEBHOOK_SECRET_LEN], b[VG_WEBHOOK_SECRET_LEN], masked[32];

	is_int(vg_webhook_new_secret(a), 0, "a secret");
	is_int(vg_webhook_new_secret(b), 0, "another secret");
	is_int((int)strlen(a), VG_WEBHOOK_SECRET_LEN - 1, "whsec_ and 64 hex digits");
	ok(strncmp(a, "whsec_", 6) == 0 && strspn(a + 6, "0123456789abcdef") == 64,
	   "the secret's shape");
	ok(strcmp(a, b) != 0, "two secrets differ");
	vg_webhook_mask(a, masked, sizeof(masked));
	ok(strlen(masked) < 16 && strncmp(masked, a, 10) == 0, "masked: %s", masked);
}

int main(void)
{
	test_signature();
	test_url();
	test_private();
	test_secret();
	return tap_done();
}
