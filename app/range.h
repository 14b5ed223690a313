/*
 * range.h - the HTTP Range header, for object downloads.
 */
#ifndef VG_APP_RANGE_H
#define VG_APP_RANGE_H

/*
 * Parses a Range header value against an object of size bytes. Only a single
 * "bytes=" range is honoured ("a-b", "a-", "-n"); anything else - several
 * ranges, other units, garbage - means "send the whole object", as RFC 9110
 * allows. Returns 1 with [*from, *to] set (inclusive), 0 for the whole
 * object, -1 if the range lies outside the object (416).
 */
int range_parse(const char *h, long long size, long long *from, long long *to);

#endif
