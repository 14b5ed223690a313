/*
 * test_base64.c - unit tests for the bounded base64 decoder
 * (lib/vg_base64.c) that reads HTTP Basic credentials and tus metadata:
 * RFC 4648's test vectors, optional padding, and the refusals - characters
 * outside the alphabet, data after padding, impossible lengths, output that
 * does not fit. (Also fuzzed: tests/fuzz/fuzz_headers.c.)
 */
#include "tap.h"
#include "vg_base64.h"

#include <string.h>

/* Decodes in into a 16-byte buffer of which outsz may be used; checks the
 * result, and that nothing past outsz was written. */
static void decodes(const char *in, size_t outsz, long want_len, const char *want)
{
	unsigned char out[16];
	long n;
	int fenced = 1;

	memset(out, 0xAA, sizeof(out));
	n = vg_base64_decode(in, out, outsz);
	for (size_t i = outsz; i < sizeof(out); i++)
		fenced &= out[i] == 0xAA;
	if (want_len < 0) {
		ok(n == -1 && fenced, "'%s' (room %zu) is refused (got %ld)", in, outsz, n);
		return;
	}
	ok(n == want_len && memcmp(out, want, (size_t)want_len) == 0 && fenced,
	   "'%s' decodes to %ld bytes '%.*s' (got %ld)", in, want_len, (int)want_len, want, n);
}

int main(void)
{
	/* RFC 4648, section 10 */
	decodes("", 16, 0, "");
	decodes("Zg==", 16, 1, "f");
	decodes("Zm8=", 16, 2, "fo");
	decodes("Zm9v", 16, 3, "foo");
	decodes("Zm9vYg==", 16, 4, "foob");
	decodes("Zm9vYmE=", 16, 5, "fooba");
	decodes("Zm9vYmFy", 16, 6, "foobar");
	/* padding is optional (tus metadata values often come without) */
	decodes("Zg", 16, 1, "f");
	decodes("Zm8", 16, 2, "fo");
	decodes("Zm9vYmE", 16, 5, "fooba");
	/* a Basic credential, and the two non-alphanumeric digits */
	decodes("YW55OnZna19rZXk=", 16, 11, "any:vgk_key");
	decodes("+/+/", 16, 3, "\xfb\xff\xbf");

	/* refusals */
	decodes("Z", 16, -1, NULL);
	decodes("Zm9vY", 16, -1, NULL);
	decodes("Zm9v!", 16, -1, NULL);
	decodes("Zm 9v", 16, -1, NULL);
	decodes("Zm9v\n", 16, -1, NULL);
	decodes("-_-_", 16, -1, NULL);
	decodes("Zg==Zg==", 16, -1, NULL);
	decodes("Z=g", 16, -1, NULL);
	decodes("Zm9v==Zm", 16, -1, NULL); /* the length alone would pass */
	decodes("Zg===", 16, -1, NULL);
	decodes("Zm8==", 16, -1, NULL);
	decodes("Zg=", 16, -1, NULL);
	decodes("=", 16, -1, NULL);

	/* bounded output */
	decodes("Zm9v", 3, 3, "foo");
	decodes("Zm9v", 2, -1, NULL);
	decodes("Zm9vYmFy", 5, -1, NULL);
	decodes("Zg==", 0, -1, NULL);
	return tap_done();
}
