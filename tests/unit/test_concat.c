/*
 * test_concat.c - unit tests for the Upload-Concat parser (app/concat.c):
 * "partial", "final;" with path or absolute upload URLs in order, and the
 * refusals - other words, bad URLs and ids, queries, duplicates, more than
 * CONCAT_MAX_PARTS parts, an over-long header, a final naming nothing.
 */
#include "tap.h"
#include "concat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A "01ARYZ6S41TSV4RRFFQ69G5FAV"
#define B "01ARYZ6S41TSV4RRFFQ69G5FAW"
#define C "01ARYZ6S41TSV4RRFFQ69G5FAX"

static enum concat_kind parse(const char *h, struct concat *c)
{
	return concat_parse(h, c);
}

static void refused(const char *h, const char *what)
{
	struct concat c;

	is_int(parse(h, &c), CONCAT_INVALID, "refused: %s", what);
	ok(c.why != NULL && c.n == 0, "  with a reason and no ids (%s)", what);
}

int main(void)
{
	struct concat c;
	char big[CONCAT_HEADER_MAX + 64], *p;

	is_int(parse(NULL, &c), CONCAT_NONE, "no header: an ordinary upload");
	is_int(parse("partial", &c), CONCAT_PARTIAL, "\"partial\"");
	is_int(parse("  partial ", &c), CONCAT_PARTIAL, "\"partial\" with spaces around it");

	is_int(parse("final;/v1/uploads/" A " /v1/uploads/" B, &c), CONCAT_FINAL,
	       "final with two path URLs");
	is_int(c.n, 2, "  two parts");
	is_str(c.ids[0], A, "  first id first");
	is_str(c.ids[1], B, "  second id second");

	is_int(parse("final;http://127.0.0.1:8080/v1/uploads/" A
		     "  https://Example.COM/v1/uploads/" B " http://[::1]:80/v1/uploads/" C,
		     &c),
	       CONCAT_FINAL, "final with absolute URLs (what tus-js-client sends), two spaces");
	is_int(c.n, 3, "  three parts");
	is_str(c.ids[2], C, "  the IPv6 host's id");

	is_int(parse("final;/v1/uploads/" A, &c), CONCAT_FINAL, "a single part is allowed");
	is_int(c.n, 1, "  one part");

	refused("", "empty");
	refused("partial;", "partial with a list");
	refused("Partial", "wrong case");
	refused("final", "final without ';'");
	refused("final;", "final naming nothing");
	refused("final;   ", "final naming only spaces");
	refused("final:/v1/uploads/" A, "':' for ';'");
	refused("final;/v1/uploads/" A " /v1/uploads/" A, "a duplicate");
	refused("final;/v1/videos/" A, "not an upload URL");
	refused("final;/v1/uploads/" A "/", "a trailing slash");
	refused("final;/v1/uploads/" A "?x=1", "a query");
	refused("final;/v1/uploads/01ARYZ6S41TSV4RRFFQ69G5FAu", "a lower-case id");
	refused("final;/v1/uploads/81ARYZ6S41TSV4RRFFQ69G5FAV", "an id out of range");
	refused("final;/v1/uploads/" A "X", "an id too long");
	refused("final;/v1/uploads/01ARYZ", "an id too short");
	refused("final;/v1/uploads/../uploads/" A, "dot segments");
	refused("final;v1/uploads/" A, "a relative path");
	refused("final;ftp://h/v1/uploads/" A, "another scheme");
	refused("final;http:///v1/uploads/" A, "an empty host");
	refused("final;http://u@h/v1/uploads/" A, "userinfo");
	refused("final;http://h%2f/v1/uploads/" A, "a percent in the host");
	refused("final;http://h", "a host without a path");
	refused("final;/v1/uploads/" A "\t/v1/uploads/" B, "a tab between URLs");

	/* 16 parts pass, 17 do not (ids differ in their last two characters) */
	p = big + sprintf(big, "final;");
	for (int i = 0; i < CONCAT_MAX_PARTS; i++)
		p += sprintf(p, "/v1/uploads/01ARYZ6S41TSV4RRFFQ69G5F%c%c ", 'A' + i / 8,
			     'A' + i % 8);
	is_int(parse(big, &c), CONCAT_FINAL, "%d parts are allowed", CONCAT_MAX_PARTS);
	is_int(c.n, CONCAT_MAX_PARTS, "  all of them");
	sprintf(p, "/v1/uploads/01ARYZ6S41TSV4RRFFQ69G5FZZ");
	refused(big, "one part more than CONCAT_MAX_PARTS");

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "final;/v1/uploads/" A, strlen("final;/v1/uploads/" A));
	refused(big, "a header over CONCAT_HEADER_MAX bytes (even of spaces)");
	return tap_done();
}
