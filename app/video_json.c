/*
 * video_json.c - videos + jobs rows to the API's video JSON (see video_json.h).
 *
 * Times are stored as UTC DATETIME(6) and shown as RFC 3339 with a Z. JSON
 * columns (metadata, result) are parsed back into objects rather than passed
 * as strings, with a depth limit so a hostile value cannot recurse deeply.
 */
#include "video_json.h"
#include "vg_db.h"
#include "vg_time.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *int_or_null(const char *s)
{
	return s ? json_object_new_int64(strtoll(s, NULL, 10)) : NULL;
}

static struct json_object *time_or_null(const char *s)
{
	char buf[40];

	if (!s || vg_time_sql_to_rfc3339(s, buf, sizeof(buf)) < 0)
		return NULL;
	return json_object_new_string(buf);
}

static struct json_object *json_or_null(const char *s)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (!s)
		return NULL;
	tok = json_tokener_new_ex(32);
	if (!tok)
		abort();
	o = json_tokener_parse_ex(tok, s, (int)strlen(s));
	json_tokener_free(tok);
	return o;
}

struct json_object *video_json_cells(const char *const cell[VIDEO_JSON_NCOLS])
{
	struct json_object *v = json_object_new_object(), *p = json_object_new_object();
	const char *jstate = cell[VJ_JSTATE];

#define CELL(c) cell[VJ_##c]
	json_object_object_add(v, "id", str_or_null(CELL(ID)));
	json_object_object_add(v, "status", str_or_null(CELL(STATUS)));
	json_object_object_add(v, "size", int_or_null(CELL(SIZE)));
	json_object_object_add(v, "sha256", str_or_null(CELL(SHA256)));
	json_object_object_add(v, "content_type", str_or_null(CELL(CTYPE)));
	json_object_object_add(v, "container", str_or_null(CELL(CONTAINER)));
	json_object_object_add(v, "duration_ms", int_or_null(CELL(DURATION)));
	json_object_object_add(v, "filename", str_or_null(CELL(FILENAME)));
	json_object_object_add(v, "title", str_or_null(CELL(TITLE)));
	json_object_object_add(v, "metadata", json_or_null(CELL(METADATA)));
	json_object_object_add(v, "created_at", time_or_null(CELL(CREATED)));
	json_object_object_add(v, "expires_at", time_or_null(CELL(EXPIRES)));

	json_object_object_add(p, "state", str_or_null(jstate));
	json_object_object_add(p, "attempts", int_or_null(CELL(ATTEMPTS)));
	json_object_object_add(p, "next_attempt_at",
			       jstate && strcmp(jstate, "ready") == 0
				       ? time_or_null(CELL(RUN_AFTER))
				       : NULL);
	json_object_object_add(p, "last_error", str_or_null(CELL(LAST_ERROR)));
	json_object_object_add(p, "finished_at", time_or_null(CELL(FINISHED)));
	json_object_object_add(v, "processing", p);
	json_object_object_add(v, "result", json_or_null(CELL(RESULT)));
#undef CELL
	return v;
}

struct json_object *video_json_row(const struct vg_db_result *res, unsigned long row)
{
	const char *cell[VIDEO_JSON_NCOLS];

	for (unsigned i = 0; i < VIDEO_JSON_NCOLS; i++)
		cell[i] = vg_db_cell(res, row, i);
	return video_json_cells(cell);
}

static const char load_sql[] =
	"SELECT " VIDEO_JSON_COLUMNS " FROM videos v " VIDEO_JSON_JOBS
	"WHERE v.id = ? AND v.user_id = ? ORDER BY COALESCE(j.id, ja.id) DESC LIMIT 1";

int video_json_load(struct vg_db *db, const char *id, long long user_id, struct json_object **out)
{
	struct vg_db_param p[] = {vg_p_str(id), vg_p_i64(user_id)};
	struct vg_db_result res;
	long long n = vg_db_query(db, load_sql, p, VG_DB_NPARAMS(p), &res);

	*out = NULL;
	if (n < 0)
		return -1;
	if (n > 0)
		*out = video_json_row(&res, 0);
	vg_db_result_free(&res);
	return n > 0;
}
