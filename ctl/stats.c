/*
 * stats.c - counts an operator asks for first (see stats.h).
 *
 * Plain aggregate queries on the tables DBAs read: the numbers are exactly
 * what the same SELECTs in docs/dba.md give, no cached counters that could
 * drift. The videos counts scan the table (there is no index on status
 * alone, and one would only serve this command): on a large installation,
 * run it against a replica. With several shards every number is the sum
 * over the shards (the oldest ready age: the largest).
 */
#include "stats.h"
#include "output.h"
#include "vg_db.h"
#include "vg_shards.h"

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

static const char *const video_statuses[] = {"queued", "processing", "processed",
					     "failed", "deleted",    NULL};
static const char *const job_states[] = {"ready", "running", "done", "dead", "cancelled", NULL};

static long long num(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

/* Adds n to the number o holds under key (missing: 0). */
static void add_to(struct json_object *o, const char *key, long long n)
{
	struct json_object *v = NULL;
	long long had = json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;

	json_object_object_add(o, key, json_object_new_int64(had + n));
}

/* Adds the (name, count) rows of a GROUP BY query to the counts in o. */
static int add_counts(struct vg_db *db, const char *sql, struct json_object *o)
{
	struct vg_db_result r;

	if (vg_db_query(db, sql, NULL, 0, &r) < 0)
		return -1;
	for (size_t i = 0; i < r.nrows; i++)
		if (vg_db_cell(&r, i, 0))
			add_to(o, vg_db_cell(&r, i, 0), num(vg_db_cell(&r, i, 1)));
	vg_db_result_free(&r);
	return 0;
}

/* Adds the first row's columns of sql to the numbers o has under keys
 * (NULL-terminated). Returns 0 or -1. */
static int add_row(struct vg_db *db, const char *sql, struct json_object *o,
		   const char *const *keys)
{
	struct vg_db_result r;
	long long n = vg_db_query(db, sql, NULL, 0, &r);

	if (n < 0)
		return -1;
	for (unsigned c = 0; keys[c] && c < r.nfields && n > 0; c++)
		add_to(o, keys[c], num(vg_db_cell(&r, 0, c)));
	vg_db_result_free(&r);
	return 0;
}

/* Keeps in o the largest oldest ready age seen; null while no shard has a
 * due job. */
static int max_oldest(struct vg_db *db, struct json_object *o)
{
	struct vg_db_result r;
	struct json_object *v = NULL;
	long long n = vg_db_query(db, oldest_sql, NULL, 0, &r);
	const char *cell;

	if (n < 0)
		return -1;
	cell = n > 0 ? vg_db_cell(&r, 0, 0) : NULL;
	json_object_object_get_ex(o, "oldest_ready_age_s", &v);
	if (cell && (!v || strtod(cell, NULL) > json_object_get_double(v)))
		json_object_object_add(o, "oldest_ready_age_s",
				       json_object_new_double(strtod(cell, NULL)));
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

/* The object with every key in its place, each count zero. */
static struct json_object *zeroes(void)
{
	static const char *const totals[] = {"videos_stored", "bytes_stored", "uploads_in_progress",
					     "bytes_staged", NULL};
	struct json_object *o = json_object_new_object(), *v = json_object_new_object(),
			   *j = json_object_new_object();

	for (size_t i = 0; video_statuses[i]; i++)
		json_object_object_add(v, video_statuses[i], json_object_new_int64(0));
	for (size_t i = 0; job_states[i]; i++)
		json_object_object_add(j, job_states[i], json_object_new_int64(0));
	json_object_object_add(o, "videos", v);
	json_object_object_add(o, "jobs", j);
	json_object_object_add(o, "oldest_ready_age_s", NULL);
	for (size_t i = 0; totals[i]; i++)
		json_object_object_add(o, totals[i], json_object_new_int64(0));
	return o;
}

int stats_run(struct vg_shards *sh, int json)
{
	static const char *const stored_keys[] = {"videos_stored", "bytes_stored", NULL};
	static const char *const upload_keys[] = {"uploads_in_progress", "bytes_staged", NULL};
	struct json_object *o = zeroes(), *v = NULL, *j = NULL;
	char name[400];
	int rc = 0, ok = 0;

	json_object_object_get_ex(o, "videos", &v);
	json_object_object_get_ex(o, "jobs", &j);
	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);

		if (add_counts(db, videos_sql, v) < 0 || add_counts(db, jobs_sql, j) < 0 ||
		    max_oldest(db, o) < 0 || add_row(db, stored_sql, o, stored_keys) < 0 ||
		    add_row(db, uploads_sql, o, upload_keys) < 0) {
			if (sh->n > 1)
				fprintf(stderr, "vingestctl: %s: stats query failed: %s\n",
					output_shard_name(db, name, sizeof(name)), vg_db_error(db));
			else
				fprintf(stderr, "vingestctl: stats query failed: %s\n",
					vg_db_error(db));
			rc = -1;
			continue;
		}
		ok++;
	}
	/* One shard's failure leaves the others' sums worth printing (the exit
	 * status and stderr say they are short); with none there is nothing. */
	if (ok > 0) {
		if (json)
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		else
			print_text(o);
	}
	json_object_put(o);
	return rc;
}
