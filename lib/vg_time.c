/*
 * vg_time.c - clocks and timestamp formats (see vg_time.h).
 *
 * Every session sets time_zone='+00:00', so DATETIME values in the database
 * are UTC and turning them into RFC 3339 is a matter of punctuation.
 */
#include "vg_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t vg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t vg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vg_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void vg_time_sql(int64_t us, char *out, size_t outsz)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	char base[24];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, outsz, "%s.%06ld", base, (long)(us % 1000000));
}

int vg_time_sql_to_rfc3339(const char *sql, char *out, size_t outsz)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	size_t n = strlen(sql);

	/* "YYYY-MM-DD HH:MM:SS" optionally followed by "." and 1 to 6 digits */
	if (n < 19 || n > 26 || n == 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char want = i < 19 ? shape[i] : i == 19 ? '.' : 'd';

		if (want == 'd' ? !isdigit((unsigned char)sql[i]) : sql[i] != want)
			return -1;
	}
	if (snprintf(out, outsz, "%.10sT%sZ", sql, sql + 11) >= (int)outsz)
		return -1;
	return 0;
}
