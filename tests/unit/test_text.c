/*
 * test_text.c - unit tests for cleaning untrusted text (vg_text_clean) and
 * header tokens (vg_text_token).
 *
 * vg_text_clean keeps visible ASCII and valid UTF-8 and drops everything
 * that is not: controls, invalid bytes, overlong forms, surrogates, code
 * points past U+10FFFF. Both limits (max_chars and outsz) cut at character
 * boundaries only, and the return value always counts the whole cleaned
 * input. Input is passed through an exact-size heap copy (no NUL after it)
 * so ASan catches any read past len; the output buffer carries canaries past
 * outsz to catch writes past it.
 */
#include "tap.h"
#include "vg_text.h"

#include <stdlib.h>
#include <string.h>

#define OUTMAX 256
#define CANARY '#'

static char out[OUTMAX + 16];
static int overrun; /* set when a canary past outsz was touched */

/* Cleans in[0..len) into out (outsz bytes) and returns the character count. */
static size_t clean(const char *in, size_t len, size_t outsz, size_t max_chars)
{
	char *copy = malloc(len ? len : 1);
	size_t r;

	if (!copy)
		abort();
	memcpy(copy, in, len);
	memset(out, CANARY, sizeof(out));
	r = vg_text_clean(copy, len, out, outsz, max_chars);
	overrun = 0;
	for (size_t i = outsz; i < sizeof(out); i++)
		if (out[i] != CANARY)
			overrun = 1;
	free(copy);
	return r;
}

/* Cleans a string literal (length without the terminating NUL) with room to spare. */
#define CLEAN(lit) clean((lit), sizeof(lit) - 1, OUTMAX, OUTMAX)

/* Checks a whole-input clean: output and character count. */
#define CLEAN_IS(lit, want, nchars, name)                                                          \
	do {                                                                                       \
		size_t cn_ = CLEAN(lit);                                                           \
		is_str(out, (want), "%s", (name));                                                 \
		is_int(cn_, (nchars), "%s: %d characters", (name), (nchars));                      \
	} while (0)

/* 1 if s is valid UTF-8 without C0/C1 controls or DEL (what clean promises). */
static int clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, cp;
		int n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, cp = c & 0x07;
		else
			return 0;
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return 0;
		p += n;
	}
	return 1;
}

static void test_keep(void)
{
	CLEAN_IS("Hello, World! 123 ~{}", "Hello, World! 123 ~{}", 21, "plain ASCII kept");
	CLEAN_IS("", "", 0, "empty input");
	CLEAN_IS("caf\xc3\xa9", "caf\xc3\xa9", 4, "2-byte UTF-8 (e acute) kept");
	CLEAN_IS("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac", 2,
		 "3-byte UTF-8 (nihon) kept");
	CLEAN_IS("\xf0\x9f\x8e\xac clip", "\xf0\x9f\x8e\xac clip", 6, "4-byte UTF-8 (emoji) kept");
	CLEAN_IS("\xc2\xa0", "\xc2\xa0", 1, "U+00A0 (first after C1) kept");
	CLEAN_IS("\xed\x9f\xbf", "\xed\x9f\xbf", 1, "U+D7FF (before surrogates) kept");
	CLEAN_IS("\xee\x80\x80", "\xee\x80\x80", 1, "U+E000 (after surrogates) kept");
	CLEAN_IS("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 1, "U+10FFFF kept");
	CLEAN_IS("\xef\xbb\xbf"
		 "a",
		 "\xef\xbb\xbf"
		 "a",
		 2, "U+FEFF is valid UTF-8, kept");
	/* a filename is metadata, not a path: cleaning is not path sanitising */
	CLEAN_IS("../../etc/passwd", "../../etc/passwd", 16, "'../../etc/passwd' passes unchanged");
	CLEAN_IS("C:\\Users\\me\\clip.mp4", "C:\\Users\\me\\clip.mp4", 20,
		 "backslashes pass unchanged");
	CLEAN_IS("<script>alert(1)</script>", "<script>alert(1)</script>", 25,
		 "markup passes unchanged (escaping is the renderer's job)");
}

static void test_drop(void)
{
	CLEAN_IS("a\tb\nc\rd\x1b[31me\x7f"
		 "f",
		 "ab"
		 "cd[31mef",
		 10, "\\t \\n \\r ESC DEL dropped");
	CLEAN_IS("\x01\x02\x1f", "", 0, "C0 controls dropped");
	CLEAN_IS("a\0b", "ab", 2, "embedded NUL dropped (len, not strlen)");
	CLEAN_IS("a\xc2\x85"
		 "b",
		 "ab", 2, "C1 U+0085 (NEL) dropped");
	CLEAN_IS("a\xc2\x80\xc2\x9f"
		 "b",
		 "ab", 2, "C1 U+0080 and U+009F dropped");
	CLEAN_IS("a\xff"
		 "b",
		 "ab", 2, "\\xff dropped");
	CLEAN_IS("a\xfe\xf8\xfc"
		 "b",
		 "ab", 2, "\\xfe \\xf8 \\xfc dropped");
	CLEAN_IS("a\x80"
		 "b",
		 "ab", 2, "lone continuation byte dropped");
	CLEAN_IS("a\xbf\xbf\x80"
		 "b",
		 "ab", 2, "run of continuation bytes dropped");
	CLEAN_IS("ab\xe6\x97", "ab", 2, "truncated sequence at end dropped");
	CLEAN_IS("\xe6\x97"
		 "ab",
		 "ab", 2, "truncated sequence before ASCII dropped, ASCII kept");
	CLEAN_IS("\xe6\x97\xe6\x97\xa5", "\xe6\x97\xa5", 1,
		 "truncated sequence then a whole one: whole one kept");
	CLEAN_IS("\xf0\x9f\x8e", "", 0, "truncated 4-byte sequence dropped");
	CLEAN_IS("\xc0\xaf", "", 0, "overlong '/' (c0 af) dropped");
	CLEAN_IS("\xc1\xbf", "", 0, "overlong c1 bf dropped");
	CLEAN_IS("\xe0\x80\xaf", "", 0, "overlong 3-byte '/' dropped");
	CLEAN_IS("\xf0\x80\x80\xaf", "", 0, "overlong 4-byte '/' dropped");
	CLEAN_IS("\xe0\x9f\xbf", "", 0, "overlong 3-byte U+07FF dropped");
	CLEAN_IS("\xc0\x80", "", 0, "overlong NUL (c0 80) dropped");
	CLEAN_IS("\xed\xa0\x80", "", 0, "surrogate U+D800 dropped");
	CLEAN_IS("\xed\xbf\xbf", "", 0, "surrogate U+DFFF dropped");
	CLEAN_IS("\xed\xa0\xbd\xed\xb8\x80", "", 0, "CESU-8 surrogate pair dropped");
	CLEAN_IS("\xf4\x90\x80\x80", "", 0, "U+110000 dropped");
	CLEAN_IS("\xf7\xbf\xbf\xbf", "", 0, "U+1FFFFF dropped");
	CLEAN_IS("x\xe6\x97\xa5\xff\xe6\x9c\xac\x1by",
		 "x\xe6\x97\xa5\xe6\x9c\xac"
		 "y",
		 4, "mixed good and bad");
}

static void test_max_chars(void)
{
	static const char s[] = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\xac"
				"b"; /* a e-acute nichi emoji b */
	static const char *want[] = {
		"",
		"a",
		"a\xc3\xa9",
		"a\xc3\xa9\xe6\x97\xa5",
		"a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\xac",
		"a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\xac"
		"b",
		"a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\xac"
		"b",
	};
	size_t r;

	for (size_t m = 0; m <= 6; m++) {
		r = clean(s, sizeof(s) - 1, OUTMAX, m);
		is_str(out, want[m], "max_chars %zu keeps the first %zu characters whole", m,
		       m < 5 ? m : 5);
		is_int(r, 5, "max_chars %zu: return counts all 5 characters", m);
	}

	r = clean("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, OUTMAX, 2);
	is_str(out, "\xe6\x97\xa5\xe6\x9c\xac", "max_chars 2 of 3 CJK characters");
	is_int(r, 3, "max_chars 2 of 3: returns 3 (> max means cut)");

	/* dropped bytes are not characters: they count toward neither limit */
	r = clean("\x1b\x1b\x1b"
		  "abc",
		  6, OUTMAX, 2);
	is_str(out, "ab", "dropped controls do not use up max_chars");
	is_int(r, 3, "dropped controls are not counted");
}

static void test_outsz(void)
{
	size_t r;

	r = clean("\xe6\x97\xa5", 3, 3, 100);
	is_str(out, "", "outsz 3 with one 3-byte char: ''");
	is_int(r, 1, "outsz 3: still counts the character");
	ok(!overrun, "outsz 3: nothing written past outsz");

	r = clean("\xe6\x97\xa5", 3, 4, 100);
	is_str(out, "\xe6\x97\xa5", "outsz 4 fits one 3-byte char");
	ok(!overrun, "outsz 4: nothing written past outsz");

	r = clean("a\xe6\x97\xa5"
		  "b",
		  5, 3, 100);
	is_str(out, "a", "outsz 3: 'a' then a char that does not fit: 'a' only");
	is_int(r, 3, "outsz 3: counts all 3 characters");
	ok(!overrun, "outsz 3 (a nichi b): nothing written past outsz");

	r = clean("\xf0\x9f\x8e\xac", 4, 4, 100);
	is_str(out, "", "outsz 4 with a 4-byte emoji: ''");
	r = clean("\xf0\x9f\x8e\xac", 4, 5, 100);
	is_str(out, "\xf0\x9f\x8e\xac", "outsz 5 fits the emoji");

	r = clean("abc", 3, 1, 100);
	is_str(out, "", "outsz 1: only the NUL");
	is_int(r, 3, "outsz 1: counts all");
	ok(!overrun, "outsz 1: nothing written past outsz");

	r = clean("abc", 3, 0, 100);
	is_int(r, 3, "outsz 0: still counts");
	ok(out[0] == CANARY && !overrun, "outsz 0: nothing written at all");

	/* exhaustive: every outsz and max_chars on a mixed string gives a whole-character
	 * prefix of the full result, within both limits, and the same count */
	{
		static const char s[] = "x\xc3\xa9\x1b\xe6\x97\xa5\xff\xf0\x9f\x8e\xac"
					"y\xc2\x85z";
		char full[sizeof(out)];
		size_t total, flen;
		int bad_prefix = 0, bad_len = 0, bad_count = 0, bad_utf8 = 0, bad_over = 0,
		    bad_greedy = 0;

		total = clean(s, sizeof(s) - 1, OUTMAX, OUTMAX);
		snprintf(full, sizeof(full), "%s", out);
		flen = strlen(full);
		is_int(total, 6, "mixed string has 6 clean characters");
		is_str(full,
		       "x\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\xac"
		       "yz",
		       "mixed string cleaned");

		for (size_t outsz = 1; outsz <= flen + 2; outsz++) {
			for (size_t m = 0; m <= total + 1; m++) {
				size_t r2 = clean(s, sizeof(s) - 1, outsz, m);
				size_t olen = strlen(out);
				size_t nch = 0;

				for (size_t i = 0; i < olen; i++)
					if (((unsigned char)out[i] & 0xc0) != 0x80)
						nch++;
				if (r2 != total)
					bad_count++;
				if (olen >= outsz || nch > m)
					bad_len++;
				if (strncmp(out, full, olen) != 0)
					bad_prefix++;
				if (!clean_utf8(out))
					bad_utf8++;
				if (overrun)
					bad_over++;
				/* greedy: the next whole character would not have fit */
				if (olen < flen && nch < m) {
					size_t next = olen + 1;

					while (next < flen &&
					       ((unsigned char)full[next] & 0xc0) == 0x80)
						next++;
					if (next < outsz)
						bad_greedy++;
				}
			}
		}
		is_int(bad_count, 0, "every outsz/max_chars: return is the full count");
		is_int(bad_len, 0, "every outsz/max_chars: within both limits");
		is_int(bad_prefix, 0,
		       "every outsz/max_chars: output is a prefix of the full result");
		is_int(bad_utf8, 0, "every outsz/max_chars: output is clean UTF-8 (no split char)");
		is_int(bad_over, 0, "every outsz/max_chars: nothing written past outsz");
		is_int(bad_greedy, 0, "every outsz/max_chars: as many whole characters as fit");
	}
}

/* Every 1-, 2- and 3-byte input: output is always clean UTF-8 and never longer. */
static void test_exhaustive_short(void)
{
	int bad = 0, longer = 0;
	unsigned char in[3];

	for (int a = 0; a < 256; a++) {
		in[0] = (unsigned char)a;
		clean((char *)in, 1, OUTMAX, OUTMAX);
		if (!clean_utf8(out))
			bad++;
		for (int b = 0; b < 256; b++) {
			in[1] = (unsigned char)b;
			clean((char *)in, 2, OUTMAX, OUTMAX);
			if (!clean_utf8(out))
				bad++;
			if (strlen(out) > 2)
				longer++;
		}
	}
	for (int a = 0xe0; a < 0x100; a++) {
		for (int b = 0x80; b < 0xc0; b++) {
			for (int c = 0; c < 256; c += 3) {
				in[0] = (unsigned char)a, in[1] = (unsigned char)b,
				in[2] = (unsigned char)c;
				clean((char *)in, 3, OUTMAX, OUTMAX);
				if (!clean_utf8(out))
					bad++;
				if (strlen(out) > 3)
					longer++;
			}
		}
	}
	is_int(bad, 0, "all short inputs clean to valid UTF-8 without controls");
	is_int(longer, 0, "output is never longer than input");
}

static void test_token(void)
{
	char big[300];

	ok(vg_text_token("abc-123", 64), "token 'abc-123' accepted");
	ok(vg_text_token("!~", 64), "token of 0x21 and 0x7e accepted");
	ok(vg_text_token("a", 1), "1-byte token with max 1 accepted");
	ok(vg_text_token("abcd", 4), "token of exactly max accepted");
	ok(!vg_text_token("abcde", 4), "token longer than max refused");
	ok(!vg_text_token("", 64), "empty token refused");
	ok(!vg_text_token(NULL, 64), "NULL token refused");
	ok(!vg_text_token("abc 123", 64), "space inside refused");
	ok(!vg_text_token(" abc", 64), "leading space refused");
	ok(!vg_text_token("abc ", 64), "trailing space refused");
	ok(!vg_text_token("abc\t123", 64), "tab refused");
	ok(!vg_text_token("abc\n", 64), "newline refused");
	ok(!vg_text_token("abc\r\nX-Injected: 1", 64), "CRLF header injection refused");
	ok(!vg_text_token("a\x01", 64), "control char refused");
	ok(!vg_text_token("a\x7f", 64), "DEL refused");
	ok(!vg_text_token("caf\xc3\xa9", 64), "non-ASCII refused");
	ok(!vg_text_token("\xff", 64), "high byte refused");
	ok(!vg_text_token("a", 0), "max 0 refuses everything");

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(vg_text_token(big, sizeof(big) - 1), "299-byte token with max 299 accepted");
	ok(!vg_text_token(big, 255), "299-byte token with max 255 refused");
}

/* vg_text_log_escape: a client's path in an access line cannot end the
 * quoted field or forge another one, in kv or JSON logs alike. */
static void test_log_escape(void)
{
	char esc[64];

	is_str(vg_text_log_escape("/v1/videos/01ABC", esc, sizeof(esc)), "/v1/videos/01ABC",
	       "a plain path is kept as it is");
	is_str(vg_text_log_escape("/v1/x\" status=200 user=1", esc, sizeof(esc)),
	       "/v1/x%22%20status=200%20user=1", "a quote and spaces cannot forge a field");
	is_str(vg_text_log_escape("/a\\b", esc, sizeof(esc)), "/a%5Cb", "a backslash is escaped");
	is_str(vg_text_log_escape("/a\r\nlevel=error\t", esc, sizeof(esc)),
	       "/a%0D%0Alevel=error%09", "CR, LF and tab are escaped: no forged line");
	is_str(vg_text_log_escape("/caf\xc3\xa9\x7f\x01", esc, sizeof(esc)), "/caf%C3%A9%7F%01",
	       "non-ASCII, DEL and controls are escaped");
	is_str(vg_text_log_escape("%2F", esc, sizeof(esc)), "%2F",
	       "an escape the client sent stays as sent");
	is_str(vg_text_log_escape("abcdef", esc, 4), "abc", "cut to outsz - 1 bytes");
	is_str(vg_text_log_escape("ab\"cd", esc, 5), "ab", "never half an escape at the end");
	is_str(vg_text_log_escape("", esc, sizeof(esc)), "", "an empty string stays empty");
}

int main(void)
{
	test_log_escape();
	test_keep();
	test_drop();
	test_max_chars();
	test_outsz();
	test_exhaustive_short();
	test_token();
	return tap_done();
}
