/*
 * test_id.c - unit tests for video ids (vg_id) and, at the end, the
 * timestamp helpers (vg_time): both are small lib modules without a home of
 * their own in tests/unit.
 *
 * Ids: shape and validity, uniqueness over 10000 ids, creation order under
 * strcmp, the time and shard fields read back, a known ULID-layout vector
 * decoded independently, and vg_id_valid refusing everything that could be
 * used to walk a path or smuggle a character into a URL.
 */
#include "tap.h"
#include "vg_id.h"
#include "vg_time.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NIDS 10000

static char ids[NIDS][VG_ID_LEN + 1];

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void test_new(void)
{
	char id[VG_ID_LEN + 1];
	int rc;

	memset(id, '#', sizeof(id));
	rc = vg_id_new(id, 3);
	is_int(rc, 0, "vg_id_new returns 0");
	is_int(strlen(id), 26, "id is 26 characters");
	is_int(VG_ID_LEN, 26, "VG_ID_LEN is 26");
	ok(vg_id_valid(id), "new id is valid: %s", id);
	ok(id[0] >= '0' && id[0] <= '7', "first digit holds 3 bits: %c", id[0]);
	is_int(vg_id_shard(id), 3, "new id carries its shard");
}

static void test_unique(void)
{
	int bad_rc = 0, invalid = 0, dups = 0;

	for (int i = 0; i < NIDS; i++) {
		if (vg_id_new(ids[i], (unsigned)(i & 0xff)) != 0)
			bad_rc++;
		if (!vg_id_valid(ids[i]))
			invalid++;
	}
	is_int(bad_rc, 0, "%d ids: vg_id_new always returns 0", NIDS);
	is_int(invalid, 0, "%d ids: all valid", NIDS);
	qsort(ids, NIDS, sizeof(ids[0]), cmp_id);
	for (int i = 1; i < NIDS; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			dups++;
	is_int(dups, 0, "%d ids: all distinct", NIDS);
}

static void test_order_and_time(void)
{
	char a[VG_ID_LEN + 1], b[VG_ID_LEN + 1], c[VG_ID_LEN + 1];
	int64_t before_ms, after_ms, t;

	before_ms = vg_now_us() / 1000;
	vg_id_new(c, 255); /* highest shard first: order must come from time */
	sleep_ms(2);
	vg_id_new(b, 7);
	sleep_ms(2);
	vg_id_new(a, 0);
	after_ms = vg_now_us() / 1000;

	ok(strcmp(c, b) < 0, "id made 2 ms later sorts after: %s < %s", c, b);
	ok(strcmp(b, a) < 0, "id made 2 ms later sorts after: %s < %s", b, a);
	ok(vg_id_time_ms(c) < vg_id_time_ms(b) && vg_id_time_ms(b) < vg_id_time_ms(a),
	   "vg_id_time_ms increases with creation");

	t = vg_id_time_ms(c);
	ok(t >= before_ms && t <= after_ms, "vg_id_time_ms within the creation window");
	ok(llabs((long long)(t - vg_now_us() / 1000)) <= 1000,
	   "vg_id_time_ms within 1000 ms of now");
	ok(llabs((long long)(t - (int64_t)time(NULL) * 1000)) <= 2000,
	   "vg_id_time_ms agrees with time(NULL)");
}

static void test_shard(void)
{
	static const unsigned shards[] = {0, 1, 7, 128, 254, 255};

	for (size_t i = 0; i < sizeof(shards) / sizeof(shards[0]); i++) {
		char id[VG_ID_LEN + 1];
		int64_t now = vg_now_us() / 1000;

		vg_id_new(id, shards[i]);
		is_int(vg_id_shard(id), shards[i], "vg_id_shard round-trips shard %u", shards[i]);
		/* the shard byte must not leak into the time field */
		ok(llabs((long long)(vg_id_time_ms(id) - now)) <= 1000,
		   "shard %u: time field intact", shards[i]);
	}
}

/* Decoding checked against a value computed outside vingest: the layout is
 * ULID's (48-bit ms first), so the ULID spec example decodes to its time. */
static void test_known(void)
{
	const char *ulid = "01ARYZ6S41TSV4RRFFQ69G5FAV";

	ok(vg_id_valid(ulid), "ULID spec example is a valid id");
	is_int(vg_id_time_ms(ulid), 1469918176385LL, "known id: time 1469918176385 ms");
	is_int(vg_id_shard(ulid), 214, "known id: shard byte 0xd6");

	ok(vg_id_valid("00000000000000000000000000"), "all zeros is valid");
	is_int(vg_id_time_ms("00000000000000000000000000"), 0, "all zeros: time 0");
	is_int(vg_id_shard("00000000000000000000000000"), 0, "all zeros: shard 0");
	ok(vg_id_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), "largest id is valid");
	is_int(vg_id_time_ms("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), 281474976710655LL,
	       "largest id: time 2^48-1");
	is_int(vg_id_shard("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), 255, "largest id: shard 255");
}

static void test_invalid(void)
{
	char id[VG_ID_LEN + 1], s[64];
	static const char *bad[] = {
		"",
		"0",
		"01ARYZ6S41TSV4RRFFQ69G5FA",   /* 25 */
		"01ARYZ6S41TSV4RRFFQ69G5FAVX", /* 27 */
		"01aryz6s41tsv4rrffq69g5fav",  /* lower case */
		"01ARYZ6S41TSV4RRFFQ69G5FAv",  /* one lower-case char */
		"01ARYZ6S41TSV4RRFFQ69G5FAI",  /* I */
		"01ARYZ6S41TSV4RRFFQ69G5FAL",  /* L */
		"01ARYZ6S41TSV4RRFFQ69G5FAO",  /* O */
		"01ARYZ6S41TSV4RRFFQ69G5FAU",  /* U */
		"I1ARYZ6S41TSV4RRFFQ69G5FAV",  /* I first */
		"81ARYZ6S41TSV4RRFFQ69G5FAV",  /* first digit > 7 */
		"Z1ARYZ6S41TSV4RRFFQ69G5FAV",  /* first digit > 7 */
		"8ZZZZZZZZZZZZZZZZZZZZZZZZZ",  /* 2^130-1 does not fit 128 bits */
		"../../../../../etc/passwd0",  /* 26 chars of path */
		"0000000000../../etc/passwd",  /* 26 chars of path */
		"../../etc/passwd",
		"01ARYZ6S41TSV4RRFFQ69G%2FV", /* url-encoded slash */
		"01ARYZ6S41TSV4RRFFQ69%2F5F", /* url-encoded slash */
		"01ARYZ6S41TSV4RRFFQ69G5FA/", /* slash */
		"01ARYZ6S41TSV4RRFFQ69G5FA ", /* trailing space */
		" 1ARYZ6S41TSV4RRFFQ69G5FAV", /* leading space */
		"01ARYZ6S41TSV4RRFFQ69G5FA\n",
		"01ARYZ6S41-SV4RRFFQ69G5FAV",
		"01ARYZ6S41TSV4RRFFQ69G5FA\xc3",    /* high byte */
		"01ARYZ6S41TSV4RRFFQ69G5F\xc3\x89", /* É */
	};

	ok(!vg_id_valid(NULL), "NULL is not an id");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(s, sizeof(s), "%s", bad[i]);
		for (char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		ok(!vg_id_valid(bad[i]), "not an id: '%s' (%zu chars)", s, strlen(bad[i]));
	}

	/* every single-character corruption of a real id outside the alphabet */
	vg_id_new(id, 1);
	{
		int accepted = 0;

		for (int pos = 0; pos < VG_ID_LEN; pos++) {
			for (int ch = 1; ch < 256; ch++) {
				char t[VG_ID_LEN + 1];
				int in_alpha =
					ch != 0 && strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", ch);

				if (in_alpha && !(pos == 0 && ch > '7'))
					continue;
				memcpy(t, id, sizeof(t));
				t[pos] = (char)ch;
				if (vg_id_valid(t))
					accepted++;
			}
		}
		is_int(accepted, 0, "no id with a character outside the alphabet is valid");
	}
}

/* vg_time: MariaDB DATETIME(6) text and RFC 3339. */
static void test_time(void)
{
	char out[64];
	int rc;

	/* date -u -d @1764309000 -> Fri Nov 28 05:50:00 UTC 2025 */
	vg_time_sql(1764309000123456LL, out, 27);
	is_str(out, "2025-11-28 05:50:00.123456", "vg_time_sql of 1764309000123456");
	vg_time_sql(1764309000000001LL, out, sizeof(out));
	is_str(out, "2025-11-28 05:50:00.000001", "vg_time_sql keeps leading zeros of micros");
	vg_time_sql(0, out, sizeof(out));
	is_str(out, "1970-01-01 00:00:00.000000", "vg_time_sql of 0");
	vg_time_sql(951782400999999LL, out, sizeof(out));
	is_str(out, "2000-02-29 00:00:00.999999", "vg_time_sql of a leap day");
	vg_time_sql(1764309000123456LL, out, 11);
	is_str(out, "2025-11-28", "vg_time_sql truncates to outsz");

	rc = vg_time_sql_to_rfc3339("2026-11-28 05:49:58.123456", out, sizeof(out));
	is_int(rc, 0, "rfc3339 with micros: returns 0");
	is_str(out, "2026-11-28T05:49:58.123456Z", "rfc3339 with micros");
	rc = vg_time_sql_to_rfc3339("2026-11-28 05:49:58.123456", out, 28);
	is_int(rc, 0, "rfc3339 fits in the documented 28 bytes");
	is_str(out, "2026-11-28T05:49:58.123456Z", "rfc3339 in 28 bytes");
	rc = vg_time_sql_to_rfc3339("2026-11-28 05:49:58", out, sizeof(out));
	is_int(rc, 0, "rfc3339 without micros: returns 0");
	is_str(out, "2026-11-28T05:49:58Z", "rfc3339 without micros");
	rc = vg_time_sql_to_rfc3339("2026-11-28 05:49:58.123456", out, 27);
	is_int(rc, -1, "rfc3339 into a too small buffer: -1");

	/* vg_time_sql output feeds vg_time_sql_to_rfc3339 */
	vg_time_sql(1764309000123456LL, out, sizeof(out));
	{
		char r[32];

		rc = vg_time_sql_to_rfc3339(out, r, sizeof(r));
		is_int(rc, 0, "sql -> rfc3339 round trip: 0");
		is_str(r, "2025-11-28T05:50:00.123456Z", "sql -> rfc3339 round trip");
	}

	{
		static const char *garbage[] = {
			"garbage",
			"",
			"2026-11-28",
			"2026-11-28T05:49:58", /* already RFC 3339 */
			"2026/11/28 05:49:58",
			"2026-11-28 05:49:58.1234567", /* 7 fraction digits, 27 chars */
			"2026-11-28 05:49:58.123456789",
			"YYYY-MM-DD HH:MM:SS",	   /* right punctuation, no digits */
			"2026-11-28 05:49:58junk", /* trailing garbage */
			"2026-11-28 05:49:58.",	   /* dot without digits */
		};

		for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
			strcpy(out, "untouched");
			rc = vg_time_sql_to_rfc3339(garbage[i], out, sizeof(out));
			is_int(rc, -1, "rfc3339 of '%s' is -1", garbage[i]);
		}
	}

	{
		int64_t a = vg_now_us(), m1 = vg_mono_ms(), m2;

		ok(a > 1700000000000000LL, "vg_now_us is after 2023");
		ok(llabs((long long)(a / 1000000 - (int64_t)time(NULL))) <= 1,
		   "vg_now_us agrees with time(NULL)");
		sleep_ms(5);
		m2 = vg_mono_ms();
		ok(m2 >= m1 + 4, "vg_mono_ms advances: %lld -> %lld", (long long)m1, (long long)m2);
	}
}

int main(void)
{
	test_new();
	test_unique();
	test_order_and_time();
	test_shard();
	test_known();
	test_invalid();
	test_time();
	return tap_done();
}
