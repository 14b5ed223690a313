/*
 * output.h - how vingestctl prints listings: aligned text for people, JSON
 * for scripts (--json), the same columns in both.
 */
#ifndef VG_CTL_OUTPUT_H
#define VG_CTL_OUTPUT_H

#include <stddef.h>

struct vg_db;
struct vg_db_param;
struct vg_db_result;

/* Prints r as aligned columns headed by names (one per field), or with
 * json as a JSON array of objects keyed by names. Cells are JSON strings
 * (SQL NULL is null) except the columns named in numeric (a NULL-terminated
 * list, may be NULL), which are JSON numbers. */
void output_rows(const struct vg_db_result *r, const char *const *names,
		 const char *const *numeric, int json);

/* Runs sql with p and prints its rows as output_rows() does.
 * Returns 0, or -1 with the failure printed. */
int output_list(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np,
		const char *const *names, const char *const *numeric, int json);

#endif
