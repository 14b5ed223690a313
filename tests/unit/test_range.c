/*
 * test_range.c - unit tests for the Range header of object downloads
 * (app/range.c): the single byte ranges honoured, the ones answered 416,
 * and everything else served whole, as RFC 9110 allows. (The parser is
 * also fuzzed: tests/fuzz/fuzz_headers.c.)
 */
#include "tap.h"
#include "range.h"

#include <stddef.h>

struct want {
	const char *h;
	long long size;
	int rc;
	long long from, to;
	const char *what;
};

static const struct want cases[] = {
	{"bytes=0-99", 1000, 1, 0, 99, "first 100 bytes"},
	{"bytes=100-199", 1000, 1, 100, 199, "a range in the middle"},
	{"bytes=999-999", 1000, 1, 999, 999, "the last byte"},
	{"bytes=100-", 1000, 1, 100, 999, "from an offset to the end"},
	{"bytes=-100", 1000, 1, 900, 999, "a suffix: the last 100 bytes"},
	{"bytes=-2000", 1000, 1, 0, 999, "a suffix longer than the object: all of it"},
	{"bytes=0-5000", 1000, 1, 0, 999, "an end past the object is cut to its last byte"},
	{"bytes=1000-", 1000, -1, 0, 0, "a start at the object's size: 416"},
	{"bytes=1000-2000", 1000, -1, 0, 0, "a range wholly after the object: 416"},
	{"bytes=0-", 0, -1, 0, 0, "any range of an empty object: 416"},
	{"bytes=-5", 0, -1, 0, 0, "a suffix of an empty object: 416"},
	{"bytes=-0", 1000, 0, 0, 0, "an empty suffix: the whole object"},
	{"bytes=5-3", 1000, 0, 0, 0, "end before start: the whole object"},
	{"bytes=0-1,5-6", 1000, 0, 0, 0, "several ranges: the whole object"},
	{"items=0-1", 1000, 0, 0, 0, "another unit: the whole object"},
	{"bytes=", 1000, 0, 0, 0, "no range at all: the whole object"},
	{"bytes=a-b", 1000, 0, 0, 0, "not numbers: the whole object"},
	{"bytes=1-2x", 1000, 0, 0, 0, "trailing junk: the whole object"},
	{"bytes=-1x", 1000, 0, 0, 0, "a suffix with trailing junk: the whole object"},
	{"bytes=1", 1000, 0, 0, 0, "no dash: the whole object"},
	{"bytes=99999999999999999999-", 1000, 0, 0, 0, "a start past 2^63: the whole object"},
	{"bytes=0-99999999999999999999", 1000, 0, 0, 0, "an end past 2^63: the whole object"},
	{"Bytes=0-1", 1000, 0, 0, 0, "the unit is matched as sent (lower case)"},
	{NULL, 1000, 0, 0, 0, "no header: the whole object"},
	{"bytes=0-1", -1, 0, 0, 0, "an unknown size: the whole object"},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *c = &cases[i];
		long long from = -7, to = -7;
		int rc = range_parse(c->h, c->size, &from, &to);

		if (c->rc == 1)
			ok(rc == 1 && from == c->from && to == c->to,
			   "%s ('%s' of %lld): [%lld, %lld] (got %d [%lld, %lld])", c->what,
			   c->h ? c->h : "(none)", c->size, c->from, c->to, rc, from, to);
		else
			ok(rc == c->rc && from == -7 && to == -7,
			   "%s ('%s' of %lld): %d, nothing set (got %d)", c->what,
			   c->h ? c->h : "(none)", c->size, c->rc, rc);
	}
	return tap_done();
}
