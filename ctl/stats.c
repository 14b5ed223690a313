/*
 * stats.c - counts an operator asks for first (see stats.h).
 *
 * Plain aggregate queries on the tables DBAs read: the numbers are exactly
 * what the same SELECTs in docs/dba.md give, no cached counters that could
 * drift. The videos counts scan the table (there is no index on status
 * alone, and one would only serve this command): on a large installation,
 * run it against a replica.
 */
#include "stats.h"
#include "vg_db.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char videos_sql[] = "SELECT status, COUNT(*) FROM videos GROUP BY status";
static const char jobs_sql[] = "SELECT state, COUNT(*) FROM jobs GROUP BY state";
static const char oldest_sql[] = "SELECT oldest_ready_age_s FROM v_queue WHERE state = 'ready'";
static const char stored_sql[] =
	"SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM videos WHERE deleted_at IS NULL";
static const char uploads_sql[] =
	"SELECT COUNT(*), COALESCE(SUM(upload_offset), 0) FROM uploads WHERE state = 'receiving'";

static const char *const video_statuses[] = {"queued", "processing", "processed", "failed",
					     "deleted", NULL};
static const char *const job_states[] = {"ready", "running", "done", "dead", "cancelled", NULL};

static long long num(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

/* Runs a GROUP BY (name, count) query into a JSON object that has every one
 * of names, zero where no row has it. */
static struct json_object *counts(struct vg_db *db, const char *sql, const char *const *names)
{
	struct vg_db_result r;
	struct json_object *o;

	if (vg_db_query(db, sql, NULL, 0, &r) < 0)
		return NULL;
	o = json_object_new_object();
	for (size_t i = 0; names[i]; i++)
		json_object_object_add(o, names[i], json_object_new_int64(0));
	for (size_t i = 0; i < r.nrows; i++)
		if (vg_db_cell(&r, i, 0))
			json_object_object_add(o, vg_db_cell(&r, i, 0),
					       json_object_new_int64(num(vg_db_cell(&r, i, 1))));
	vg_db_result_free(&r);
	return o;
}

/* Adds the first row's columns of sql to o under keys (NULL-terminated);
 * a SQL NULL stays null. Returns 0 or -1. */
static int add_row(struct vg_db *db, const char *sql, struct json_object *o,
		   const char *const *keys, int as_double)
{
	struct vg_db_result r;
	long long n = vg_db_query(db, sql, NULL, 0, &r);

	if (n < 0)
		return -1;
	for (unsigned c = 0; keys[c] && c < r.nfields; c++) {
		const char *v = n > 0 ? vg_db_cell(&r, 0, c) : NULL;

		json_object_object_add(o, keys[c],
				       !v	 ? NULL
				       : as_double ? json_object_new_double(strtod(v, NULL))
						   : json_object_new_int64(num(v)));
	}
	vg_db_result_free(&r);
	return 0;
}

static void print_text(struct json_object *o)
{
	json_object_object_foreach(o, key, val)
	{
		if (json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, k2, v2)
			{
				printf("%s.%s %s\n", key, k2, json_object_get_string(v2));
			}
		} else {
			printf("%s %s\n", key, val ? json_object_get_string(val) : "-");
		}
	}
}

int stats_run(struct vg_db *db, int json)
{
	static const char *const oldest_keys[] = {"oldest_ready_age_s", NULL};
	static const char *const stored_keys[] = {"videos_stored", "bytes_stored", NULL};
	static const char *const upload_keys[] = {"uploads_in_progress", "bytes_staged", NULL};
	struct json_object *o = json_object_new_object(), *v, *j;
	int rc = -1;

	v = counts(db, videos_sql, video_statuses);
	if (!v)
		goto out;
	json_object_object_add(o, "videos", v);
	j = counts(db, jobs_sql, job_states);
	if (!j)
		goto out;
	json_object_object_add(o, "jobs", j);
	if (add_row(db, oldest_sql, o, oldest_keys, 1) < 0 ||
	    add_row(db, stored_sql, o, stored_keys, 0) < 0 ||
	    add_row(db, uploads_sql, o, upload_keys, 0) < 0)
		goto out;
	if (json)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	else
		print_text(o);
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "vingestctl: stats query failed: %s\n", db->last_error);
	json_object_put(o);
	return rc;
}
