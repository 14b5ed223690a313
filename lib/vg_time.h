/*
 * vg_time.h - clocks and the one time format vingest speaks (RFC 3339 UTC).
 */
#ifndef VG_TIME_H
#define VG_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, microseconds since the epoch. */
int64_t vg_now_us(void);
/* Monotonic clock, milliseconds; for timeouts and back-off. */
int64_t vg_mono_ms(void);
/* Monotonic clock, microseconds; for timing the steps of a request. */
int64_t vg_mono_us(void);

/* Formats us (epoch microseconds) as MariaDB DATETIME(6) text in UTC:
 * "2026-11-28 05:49:58.123456". out needs 27 bytes. */
void vg_time_sql(int64_t us, char *out, size_t outsz);

/* Turns MariaDB DATETIME(6) text (UTC) into RFC 3339 with a Z:
 * "2026-11-28 05:49:58.123456" -> "2026-11-28T05:49:58.123456Z".
 * Returns 0, or -1 if sql is not of that shape. out needs 28 bytes. */
int vg_time_sql_to_rfc3339(const char *sql, char *out, size_t outsz);

#endif
