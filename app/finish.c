/*
 * finish.c - inspect, commit, answer: how any upload becomes a video (see finish.h).
 *
 * The COMMIT here is the linearization point of the whole service. Before
 * it, the caller removes what it staged or published whenever this fails;
 * after it, the video exists and its job will run. If the connection drops
 * during COMMIT the outcome is unknown, so the row is looked up before
 * deciding which answer is true; if even that is impossible the caller must
 * leave the bytes, the staging file and any uploads row alone: the janitor
 * decides later, from whether the video exists (a tus upload's row is
 * deleted in the very same transaction).
 */
#include "finish.h"
#include "child.h"
#include "grant.h"
#include "metrics.h"
#include "request.h"
#include "video_json.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_time.h"
#include "vg_webhook.h"
#include "vg_failpoint.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMIT_TRIES 3

static void refuse(struct finish *f, int status, const char *code, const char *message)
{
	f->status = status;
	f->code = code;
	snprintf(f->message, sizeof(f->message), "%s", message);
}

int finish_inspect(struct request *r, struct finish *f, int fd)
{
	char why[160], *msg;
	enum vg_media_status ms = vg_media_inspect_fd(fd, f->size, &f->media, why, sizeof(why));
	long long max_s = r->child->cfg->limits.max_duration_seconds;

	switch (ms) {
	case VG_MEDIA_OK:
		break;
	case VG_MEDIA_IO_ERROR:
		vg_error("msg=\"cannot read back the staged upload\" request_id=%s why=\"%s\"",
			 r->request_id, why);
		refuse(f, 500, "storage_error", "the upload could not be read back");
		return -1;
	default:
		vg_info("msg=\"upload is not a supported video\" request_id=%s status=%s why=\"%s\"",
			r->request_id, vg_media_status_str(ms), why);
		/* the reason goes back to the client: it names boxes, never paths */
		msg = vg_asprintf("not a supported video (MP4, MOV, WebM or Matroska)%s%s",
				  ms == VG_MEDIA_MALFORMED ? ": " : "",
				  ms == VG_MEDIA_MALFORMED ? why : "");
		refuse(f, 415, "unsupported_media", msg);
		free(msg);
		return -1;
	}
	/* A duration the header does not state (live WebM) is let through:
	 * the processing service measures what it decodes. */
	if (f->media.duration_ms > max_s * 1000) {
		f->status = 422;
		f->code = "video_too_long";
		snprintf(f->message, sizeof(f->message),
			 "the video is %lld.%03lld s long; the limit is %lld s",
			 f->media.duration_ms / 1000, f->media.duration_ms % 1000, max_s);
		return -1;
	}
	return 0;
}

static const char insert_video_sql[] =
	"INSERT INTO videos (id, user_id, status, object_key, size_bytes, sha256, content_type, "
	"container, duration_ms, filename, title, metadata, idempotency_key, request_sha256, "
	"created_at, expires_at) "
	"VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? + INTERVAL ? DAY)";
static const char insert_job_sql[] =
	"INSERT INTO jobs (video_id, kind, state, priority, run_after, attempts, max_attempts, "
	"created_at) VALUES (?, 'process', 'ready', 0, ?, 0, ?, ?)";
static const char unmark_sql[] = "DELETE FROM uploads WHERE id = ?";
static const char video_exists_sql[] = "SELECT 1 FROM videos WHERE id = ?";

/* What one try of the upload transaction needs. */
struct commit {
	struct request *r;
	struct finish *f;
};

/* The upload transaction's statements (vg_db_txn_retry runs BEGIN before,
 * COMMIT after, and all of it again after a deadlock). 1: commit; 0: the
 * tus upload ended meanwhile, roll back; -1: failed. */
static int commit_body(struct vg_db *db, void *arg)
{
	struct commit *c = arg;
	struct request *r = c->r;
	struct finish *f = c->f;
	const struct vg_config *cfg = r->child->cfg;
	const char *now = f->created;
	long long rc;

	f->created_us = vg_now_us();
	vg_time_sql(f->created_us, f->created, sizeof(f->created));
	/* An upload URL makes one video: the first to mark it used. Its row
	 * lock also queues a racing twin behind this transaction. */
	if (r->grant) {
		rc = grant_mark_used(db, r->grant, now);
		if (rc <= 0)
			return (int)rc;
	}
	{
		struct vg_db_param p[] = {
			vg_p_str(f->id),
			vg_p_i64(r->user_id),
			vg_p_str(f->key),
			vg_p_i64((long long)f->size),
			vg_p_str(f->sha256),
			vg_p_str(f->content_type),
			vg_p_str(f->media.container),
			f->media.duration_ms >= 0 ? vg_p_i64(f->media.duration_ms) : vg_p_str(NULL),
			vg_p_str(f->filename),
			vg_p_str(f->title),
			vg_p_str(f->metadata),
			vg_p_str(f->idem_key),
			vg_p_str(f->idem_key ? f->fingerprint : NULL),
			vg_p_str(now),
			vg_p_str(now),
			vg_p_i64(cfg->retention.days),
		};

		rc = VG_FAILPOINT("db.insert_video") < 0
			     ? -1
			     : vg_db_exec(db, insert_video_sql, p, VG_DB_NPARAMS(p));
	}
	if (rc == 1) {
		/* The job shares the video's timestamp: one transaction, one instant. */
		struct vg_db_param p[] = {vg_p_str(f->id), vg_p_str(now),
					  vg_p_i64(cfg->jobs.max_attempts), vg_p_str(now)};

		rc = VG_FAILPOINT("db.insert_job") < 0
			     ? -1
			     : vg_db_exec(db, insert_job_sql, p, VG_DB_NPARAMS(p));
	}
	/* video.stored, for an owner with a webhook endpoint: in this
	 * transaction, so the event exists exactly when the video does. */
	if (rc == 1 && vg_webhook_emit(db, f->id, "video.stored", "queued") < 0)
		rc = -1;
	/* store.backend = db: the object's bytes join this transaction. */
	if (rc == 1 && vg_store_put_rows(&r->child->store, db, f->id, f->key) != VG_STORE_OK)
		rc = -1;
	if (rc == 1 && f->upload_row) {
		/* The row must still be there: a tus DELETE that won the race
		 * ended the upload, and no video may come of it. */
		struct vg_db_param p[] = {vg_p_str(f->id)};

		rc = vg_db_exec(db, unmark_sql, p, VG_DB_NPARAMS(p));
		if (rc == 0) {
			vg_warn("msg=\"upload ended meanwhile (its row is gone); not committed\" "
				"upload_id=%s",
				f->id);
			return 0;
		}
		/* A final upload's partials end with it: no second final may use
		 * them, and one that took them first makes this one roll back. */
		for (size_t i = 0; rc == 1 && i < f->nparts; i++) {
			struct vg_db_param pp[] = {vg_p_str(f->parts[i])};

			rc = vg_db_exec(db, unmark_sql, pp, VG_DB_NPARAMS(pp));
			if (rc == 0) {
				vg_warn("msg=\"a partial upload ended meanwhile; final not "
					"committed\" upload_id=%s partial_id=%s",
					f->id, f->parts[i]);
				return 0;
			}
		}
	}
	if (rc != 1)
		return -1;
	/* The fault tests' deadlock: every try of this transaction is chosen
	 * as a deadlock's victim, as under heavy contention on these rows. */
	if (VG_FAILPOINT("db.deadlock") < 0)
		return vg_db_fail_as(
			db, VG_DB_ER_LOCK_DEADLOCK,
			"Deadlock found when trying to get lock (failpoint db.deadlock)");
	if (VG_FAILPOINT("db.commit") < 0)
		return -1;
	return 1;
}

/* The connection died during COMMIT, so the transaction may have landed.
 * Look (on a fresh connection) before answering. */
static enum finish_result commit_lookup(struct request *r, const struct finish *f)
{
	struct vg_db_param p[] = {vg_p_str(f->id)};
	struct vg_db_result res;
	long long n = vg_db_query(r->db, video_exists_sql, p, VG_DB_NPARAMS(p), &res);

	vg_db_result_free(&res);
	if (n == 1) {
		vg_warn("msg=\"commit outcome was unknown; the video exists\" video_id=%s", f->id);
		return FINISH_OK;
	}
	if (n < 0) {
		vg_error("msg=\"commit outcome unknown; leaving the bytes and the staging "
			 "file to the janitor\" video_id=%s",
			 f->id);
		return FINISH_UNKNOWN;
	}
	return FINISH_DB_DOWN;
}

/* What vg_db_txn_retry's rc means for the upload. */
static enum finish_result commit_outcome(struct request *r, const struct finish *f, int rc)
{
	struct vg_db *db = r->db;

	if (rc > 0)
		return FINISH_OK;
	if (rc == 0)
		return FINISH_GONE;
	if (rc == VG_DB_TXN_UNKNOWN)
		return commit_lookup(r, f);
	if (vg_db_is_duplicate(db))
		return f->idem_key ? FINISH_DUPLICATE : FINISH_FAILED;
	/* Deadlocked on every try: the database is up, its rows contended. */
	if (vg_db_is_retryable(db))
		return FINISH_DB_BUSY;
	return vg_db_down(db) ? FINISH_DB_DOWN : FINISH_FAILED;
}

enum finish_result finish_commit(struct request *r, struct finish *f)
{
	struct commit c = {r, f};
	enum finish_result fr;
	int64_t t = vg_mono_us();
	int rc;

	/* An upload URL's title and metadata win over the upload's own. */
	if (r->grant && r->grant->title)
		f->title = r->grant->title;
	if (r->grant && r->grant->metadata)
		f->metadata = r->grant->metadata;

	if (VG_FAILPOINT("db.begin") < 0) {
		/* error: as if BEGIN could not reach the database (nothing is sent) */
		rc = -1;
		fr = FINISH_DB_DOWN;
	} else {
		rc = vg_db_txn_retry(r->db, "upload", COMMIT_TRIES, commit_body, &c);
		fr = commit_outcome(r, f, rc);
	}
	/* committed: a crash here loses only the answer, never the video */
	if (rc > 0)
		(void)VG_FAILPOINT("db.after_commit");
	request_step(r, STEP_COMMIT, t);
	if (fr == FINISH_OK) {
		metrics_stored();
		request_set_video(r, f->id);
	}
	if (fr == FINISH_OK)
		vg_info("msg=\"video stored\" request_id=%s video_id=%s user=%lld size=%llu "
			"sha256=%s container=%s duration_ms=%lld",
			r->request_id, f->id, r->user_id, f->size, f->sha256, f->media.container,
			f->media.duration_ms);
	return fr;
}

/*
 * A plain HTML form (www-conf/htdocs/index.html) posts with HTTP Basic and
 * accepts text/html: it gets 303 See Other to the status page instead of
 * JSON (post/redirect/get), so reloading that page never posts the video
 * again. API clients (Bearer, or no text/html in Accept) get the JSON.
 */
static int wants_redirect(const struct request *r, int status)
{
	const char *accept = request_param(r, "HTTP_ACCEPT");

	return status == 201 && r->auth_basic && strcmp(r->method, "POST") == 0 &&
	       strcmp(r->path, "/v1/videos") == 0 && accept && strstr(accept, "text/html");
}

/* The video as the transaction just wrote it: the answer needs no SELECT. */
static struct json_object *video_from_finish(const struct finish *f, long long retention_days)
{
	const char *cell[VIDEO_JSON_NCOLS] = {0};
	char size[24], duration[24], expires[32];

	snprintf(size, sizeof(size), "%llu", f->size);
	snprintf(duration, sizeof(duration), "%lld", f->media.duration_ms);
	/* DATETIME + INTERVAL n DAY in UTC is n * 86400 s: no zone, no DST */
	vg_time_sql(f->created_us + retention_days * 86400LL * 1000000LL, expires, sizeof(expires));
	cell[VJ_ID] = f->id;
	cell[VJ_STATUS] = "queued";
	cell[VJ_SIZE] = size;
	cell[VJ_SHA256] = f->sha256;
	cell[VJ_CTYPE] = f->content_type;
	cell[VJ_CONTAINER] = f->media.container;
	cell[VJ_DURATION] = f->media.duration_ms >= 0 ? duration : NULL;
	cell[VJ_FILENAME] = f->filename;
	cell[VJ_TITLE] = f->title;
	cell[VJ_METADATA] = f->metadata;
	cell[VJ_CREATED] = f->created;
	cell[VJ_EXPIRES] = expires;
	cell[VJ_JSTATE] = "ready";
	cell[VJ_ATTEMPTS] = "0";
	cell[VJ_RUN_AFTER] = f->created;
	return video_json_cells(cell);
}

/* Answers with video v, which it puts (NULL: load it; no body for 204 or HEAD). */
static void answer(struct request *r, const char *id, int status, const char *extra_headers,
		   struct json_object *v)
{
	int has_location = extra_headers && strstr(extra_headers, "Location:") != NULL;
	char *hdr;

	if (wants_redirect(r, status)) {
		hdr = vg_asprintf("Location: /vingest/status.html?id=%s\r\n", id);
		request_head(r, 303, NULL, hdr);
		free(hdr);
		json_object_put(v);
		return;
	}
	hdr = vg_asprintf("%s%s%s%s", has_location ? "" : "Location: /v1/videos/",
			  has_location ? "" : id, has_location ? "" : "\r\n",
			  extra_headers ? extra_headers : "");
	if (status == 204 || strcmp(r->method, "HEAD") == 0) {
		request_head(r, status, NULL, hdr);
		free(hdr);
		json_object_put(v);
		return;
	}
	if (!v && video_json_load(r->db, id, r->user_id, &v) <= 0) {
		/* Committed but unreadable right now: still tell the truth about the id. */
		v = json_object_new_object();
		json_object_object_add(v, "id", json_object_new_string(id));
		json_object_object_add(v, "status", json_object_new_string("queued"));
	}
	request_json(r, status, v, hdr);
	json_object_put(v);
	free(hdr);
}

void finish_answer(struct request *r, const struct finish *f, int status, const char *extra_headers)
{
	struct json_object *v = NULL;

	if (status != 204 && strcmp(r->method, "HEAD") != 0)
		v = video_from_finish(f, r->child->cfg->retention.days);
	answer(r, f->id, status, extra_headers, v);
}

void finish_answer_prior(struct request *r, const char *id, int status)
{
	answer(r, id, status, NULL, NULL);
}
