/*
 * vg_text.c - UTF-8 validation and cleaning of untrusted text (see vg_text.h).
 *
 * Filenames and titles come from clients and end up in JSON, in logs and in
 * a DBA's terminal: a stray escape sequence or an invalid byte there is a
 * bug report at best. They are cleaned once, on the way in.
 */
#include "vg_text.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid; cp gets the code point. */
static size_t utf8_seq(const unsigned char *p, size_t left, unsigned *cp)
{
	unsigned c = p[0], v, min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

size_t vg_text_clean(const char *in, size_t len, char *out, size_t outsz, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, chars = 0;
	int full = outsz == 0;

	while (i < len) {
		unsigned cp;
		size_t n = utf8_seq(p + i, len - i, &cp);

		if (n == 0) {
			i++; /* drop one invalid byte and resynchronise */
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			i += n;
			continue;
		}
		if (!full && chars < max_chars && o + n < outsz) {
			memcpy(out + o, p + i, n);
			o += n;
		} else {
			full = 1;
		}
		chars++;
		i += n;
	}
	if (outsz)
		out[o] = '\0';
	return chars;
}

int vg_text_token(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		if (n >= max || (unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return 0;
	}
	return n > 0;
}

char *vg_text_log_escape(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t at = 0;

	if (!outsz)
		return out;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		int plain = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\';

		if (at + (plain ? 1 : 3) >= outsz)
			break;
		if (plain) {
			out[at++] = (char)*p;
		} else {
			out[at++] = '%';
			out[at++] = hex[*p >> 4];
			out[at++] = hex[*p & 15];
		}
	}
	out[at] = '\0';
	return out;
}
