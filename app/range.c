/*
 * range.c - single byte ranges (see range.h). Pure: no I/O, fuzzed.
 */
#include "range.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int range_parse(const char *h, long long size, long long *from, long long *to)
{
	char *end;
	long long a, b;

	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') || size < 0)
		return 0;
	errno = 0;
	h += 6;
	if (*h == '-') {
		b = strtoll(h + 1, &end, 10);
		if (end == h + 1 || *end || b <= 0)
			return 0;
		if (size == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	a = strtoll(h, &end, 10);
	if (end == h || *end != '-' || a < 0)
		return 0;
	h = end + 1;
	if (*h == '\0') {
		b = size - 1;
	} else {
		b = strtoll(h, &end, 10);
		if (*end || b < a)
			return 0;
		if (b >= size)
			b = size - 1;
	}
	if (errno == ERANGE)
		return 0;
	if (a >= size)
		return -1;
	*from = a;
	*to = b;
	return 1;
}
