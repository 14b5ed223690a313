/*
 * vg_addr.c - address lists with CIDR blocks (see vg_addr.h).
 *
 * Everything is compared as 16 bytes: IPv4 addresses become IPv4-mapped IPv6
 * (::ffff:a.b.c.d) and their prefix lengths grow by 96, so one comparison
 * serves both families and a mapped client address needs no special case.
 */
#include "vg_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_MAX 64 /* longest IPv6 text (45) + "/128", with room */

/* Parses "addr" or "addr/len" into 16 bytes and a prefix length (0..128). */
static int parse_entry(const char *s, size_t n, unsigned char out[16], int *bits)
{
	char text[ENTRY_MAX];
	char *slash, *end;
	unsigned char v4[4];
	long len = -1;
	int is_v4;

	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	slash = strchr(text, '/');
	if (slash) {
		*slash = '\0';
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -1;
		len = strtol(slash + 1, &end, 10);
		if (*end)
			return -1;
	}
	memset(out, 0, 16);
	is_v4 = inet_pton(AF_INET, text, v4) == 1;
	if (is_v4) {
		if (len > 32)
			return -1;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		*bits = len < 0 ? 128 : (int)len + 96;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out) != 1 || len > 128)
		return -1;
	*bits = len < 0 ? 128 : (int)len;
	return 0;
}

static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Calls fn for each trimmed entry; stops at the first fn returning nonzero. */
static int each_entry(const char *list, int (*fn)(const char *s, size_t n, void *ud), void *ud)
{
	const char *p = list ? list : "";

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *s = p;
		int rc;

		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n) {
			rc = fn(s, n, ud);
			if (rc)
				return rc;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

struct check_ctx {
	char *why;
	size_t whysz;
};

static int check_one(const char *s, size_t n, void *ud)
{
	struct check_ctx *x = ud;
	unsigned char a[16];
	int bits;

	if (parse_entry(s, n, a, &bits) == 0)
		return 0;
	snprintf(x->why, x->whysz, "'%.*s' is not an IP address or CIDR block",
		 (int)(n > ENTRY_MAX ? ENTRY_MAX : n), s);
	return -1;
}

int vg_addr_list_check(const char *list, char *why, size_t whysz)
{
	struct check_ctx x = {why, whysz};

	return each_entry(list, check_one, &x) ? -1 : 0;
}

struct match_ctx {
	unsigned char addr[16];
};

static int match_one(const char *s, size_t n, void *ud)
{
	struct match_ctx *x = ud;
	unsigned char net[16];
	int bits;

	if (parse_entry(s, n, net, &bits) < 0)
		return 0;
	return prefix_equal(net, x->addr, bits);
}

int vg_addr_allowed(const char *list, const char *addr)
{
	struct match_ctx x;
	int bits;

	if (!addr || parse_entry(addr, strlen(addr), x.addr, &bits) < 0 || bits != 128)
		return 0;
	return each_entry(list, match_one, &x) == 1;
}
