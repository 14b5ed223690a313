/*
 * video_json.h - the video resource of the API, read from videos + jobs
 * (or jobs_archive).
 *
 * One SELECT list and one row-to-JSON function serve GET one, the list and
 * the answer to an upload, so the three can never disagree on a field.
 */
#ifndef VG_APP_VIDEO_JSON_H
#define VG_APP_VIDEO_JSON_H

struct json_object;
struct vg_db;
struct vg_db_result;

/* The column list every video query selects, in the order video_json_row()
 * reads it; the query must alias videos as v and join VIDEO_JSON_JOBS. The
 * job fields come from the live job, or from the archived one once the
 * janitor has moved it to jobs_archive (a finished job past
 * retention.archive_after_days), so an old video answers as it did. */
#define VIDEO_JSON_COLUMNS                                                                         \
	"v.id, v.status, v.size_bytes, v.sha256, v.content_type, v.container, v.duration_ms, "     \
	"v.filename, v.title, v.metadata, v.created_at, v.expires_at, v.result, "                  \
	"IF(j.id IS NULL, ja.state, j.state), IF(j.id IS NULL, ja.attempts, j.attempts), "         \
	"IF(j.id IS NULL, ja.run_after, j.run_after), "                                            \
	"IF(j.id IS NULL, ja.last_error, j.last_error), "                                          \
	"IF(j.id IS NULL, ja.finished_at, j.finished_at)"

/* The video's job: live (j) or, when there is none, archived (ja). The
 * archive is probed by its video_id index only for a video with no live job. */
#define VIDEO_JSON_JOBS                                                                            \
	"LEFT JOIN jobs j ON j.video_id = v.id AND j.kind = 'process' "                            \
	"LEFT JOIN jobs_archive ja ON j.id IS NULL AND ja.video_id = v.id AND ja.kind = 'process' "

/* The columns of VIDEO_JSON_COLUMNS, in order. */
enum {
	VJ_ID,
	VJ_STATUS,
	VJ_SIZE,
	VJ_SHA256,
	VJ_CTYPE,
	VJ_CONTAINER,
	VJ_DURATION,
	VJ_FILENAME,
	VJ_TITLE,
	VJ_METADATA,
	VJ_CREATED,
	VJ_EXPIRES,
	VJ_RESULT,
	VJ_JSTATE,
	VJ_ATTEMPTS,
	VJ_RUN_AFTER,
	VJ_LAST_ERROR,
	VJ_FINISHED,
	VIDEO_JSON_NCOLS
};

/* Builds the JSON of one video from its cells as the query returns them
 * (NULL for SQL NULL): an upload's answer is built this way from what it
 * has just written, with no SELECT. The caller puts the result. */
struct json_object *video_json_cells(const char *const cell[VIDEO_JSON_NCOLS]);

/* Builds the JSON of row `row` of res; the caller puts the result. */
struct json_object *video_json_row(const struct vg_db_result *res, unsigned long row);

/*
 * Loads one video of user_id. Returns 1 and sets *out (caller puts it),
 * 0 if there is no such video for this user, -1 if the database failed.
 */
int video_json_load(struct vg_db *db, const char *id, long long user_id, struct json_object **out);

#endif
