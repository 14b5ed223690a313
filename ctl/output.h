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
struct vg_shards;

/* Prints r as aligned columns headed by names (one per field), or with
 * json as a JSON array of objects keyed by names. Cells are JSON strings
 * (SQL NULL is null) except the columns named in numeric (a NULL-terminated
 * list, may be NULL), which are JSON numbers. */
void output_rows(const struct vg_db_result *r, const char *const *names, const char *const *numeric,
		 int json);

/* Runs sql with p and prints its rows as output_rows() does.
 * Returns 0, or -1 with the failure printed. */
int output_list(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np,
		const char *const *names, const char *const *numeric, int json);

/* "shard K (SERVER)" naming db's shard and its server, for messages. */
const char *output_shard_name(const struct vg_db *db, char *buf, size_t bufsz);

/*
 * Appends r's rows to *all and frees r. With shard >= 0 each appended row
 * first gets a column holding that number. *all starts zeroed; every r
 * appended to it must have the same fields.
 */
void output_append(struct vg_db_result *all, struct vg_db_result *r, int shard);

/*
 * Runs sql on every shard and prints all the rows as one listing, shard by
 * shard in list order. With more than one shard the first column is
 * "shard" (its number); with one the listing is what output_list() prints.
 * A shard that fails is named on stderr and the others are still printed.
 * Returns 0, or -1 if any shard failed.
 */
int output_list_shards(struct vg_shards *sh, const char *sql, const char *const *names,
		       const char *const *numeric, int json);

#endif
