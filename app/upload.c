/*
 * upload.c - POST /v1/videos, in the order the bytes flow:
 *
 *   check   headers only: multipart type, Content-Length, Idempotency-Key
 *   stream  body -> multipart parser -> staging/<id>.part, SHA-256 on the
 *           way; the file part is never held in memory, fields are capped
 *           and then checked by the rules both doors share (fields.h).
 *           The staging file is the upload's mark (vg_store.h): from the
 *           publish on a crash leaves it, durably, naming the id, so the
 *           janitor can find the bytes. No database write, no commit.
 *   inspect the staged bytes: a complete MP4/MOV/WebM/MKV no longer than
 *           limits.max_duration_seconds, or 415/422 (vg_media)
 *   publish fsync file, link to its key, fsync staging/ and the directory
 *   commit  BEGIN; INSERT videos; INSERT jobs; COMMIT
 *   answer  201 + Location + the video JSON, built from what was written
 *
 * The COMMIT is the linearization point: before it every failure removes
 * the staged and published bytes and answers an error; after it the video
 * exists and its job will run. If the connection drops during COMMIT the
 * outcome is unknown, so the row is looked up before deciding which answer
 * is true.
 */
#include "upload.h"
#include "child.h"
#include "fields.h"
#include "finish.h"
#include "grant.h"
#include "multipart.h"
#include "request.h"
#include "shard.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_store.h"
#include "vg_text.h"
#include "vg_time.h"
#include "vg_failpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_CHUNK	(64 * 1024)
#define MULTIPART_SLACK (1024 * 1024) /* body bytes allowed beyond the file: fields, headers */
#define IDEM_KEY_MAX	255

enum part_kind { PART_NONE, PART_FILE, PART_TITLE, PART_METADATA, PART_IGNORED };

struct upload {
	struct request *r;
	const struct vg_config *cfg;
	char id[VG_ID_LEN + 1];
	char key[VG_STORE_KEY_MAX];
	struct vg_store_writer w;
	int staging; /* w holds an open staged file */
	enum part_kind part;
	int files;
	struct upload_fields fields; /* cleaned and checked (fields.h) */
	char *title;		     /* the title part's raw bytes, capped (fields.h) */
	size_t title_len;
	int have_title;
	char *metadata; /* the metadata part's raw bytes, capped at limits.max_field_bytes */
	size_t metadata_len;
	int have_metadata;
	const char *idem_key;
	int dry; /* a repeat of a known Idempotency-Key: hash the body, store nothing */
	char fingerprint[VG_SHA256_HEX]; /* what the request asked for (see fingerprint()) */
	struct finish fin;		 /* the shared tail: inspect, commit, answer */
	/* the answer, when the callbacks stopped the parser */
	int err_status;
	const char *err_code;
	const char *err_msg;
};

static void fail(struct upload *u, int status, const char *code, const char *msg)
{
	if (u->err_status)
		return; /* the first reason is the one to report */
	u->err_status = status;
	u->err_code = code;
	u->err_msg = msg;
}

static void fail_field(struct upload *u, enum upload_fields_error e)
{
	fail(u, upload_fields_status(e), upload_fields_code(e), upload_fields_message(e));
}

static void answer_store_error(struct upload *u, enum vg_store_status st)
{
	if (st == VG_STORE_FULL)
		fail(u, 507, "insufficient_storage", "the video store is full; try again later");
	else
		fail(u, 500, "storage_error", "the video could not be stored");
}

/* ---- multipart callbacks ---- */

static int on_part_begin(void *ud, const struct multipart_part *p)
{
	struct upload *u = ud;

	if (strcmp(p->name, "file") == 0) {
		if (++u->files > 1) {
			fail(u, 400, "too_many_files", "send exactly one part named file");
			return -1;
		}
		u->part = PART_FILE;
		if (p->filename)
			upload_fields_set_filename(&u->fields, p->filename, strlen(p->filename));
		if (p->content_type)
			upload_fields_set_content_type(&u->fields, p->content_type,
						       strlen(p->content_type));
	} else if (strcmp(p->name, "title") == 0) {
		if (u->have_title) {
			fail(u, 400, "duplicate_field", "the title field appears twice");
			return -1;
		}
		u->have_title = 1;
		u->part = PART_TITLE;
	} else if (strcmp(p->name, "metadata") == 0) {
		if (u->have_metadata) {
			fail(u, 400, "duplicate_field", "the metadata field appears twice");
			return -1;
		}
		u->have_metadata = 1;
		u->part = PART_METADATA;
	} else {
		u->part = PART_IGNORED; /* e.g. a form's submit button */
	}
	return 0;
}

/* Appends to a field's raw buffer, capped at what fields.h would refuse
 * anyway; over the cap is that refusal (over), as the setter would answer. */
static int field_append(struct upload *u, char **buf, size_t *len, size_t cap, const char *data,
			size_t n, enum upload_fields_error over)
{
	if (*len + n > cap) {
		fail_field(u, over);
		return -1;
	}
	if (!*buf)
		*buf = vg_malloc(cap + 1);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int on_part_data(void *ud, const char *data, size_t n)
{
	struct upload *u = ud;
	enum vg_store_status st;

	switch (u->part) {
	case PART_FILE:
		if (u->w.size + n > (unsigned long long)grant_max_bytes(u->r)) {
			fail(u, 413, "too_large", "the video is larger than the upload limit");
			return -1;
		}
		if (u->dry) {
			vg_sha256_update(&u->w.sha, data, n);
			u->w.size += n;
			return 0;
		}
		st = vg_store_stage_write(&u->w, data, n);
		if (st != VG_STORE_OK) {
			answer_store_error(u, st);
			return -1;
		}
		return 0;
	case PART_TITLE:
		return field_append(u, &u->title, &u->title_len, UPLOAD_FIELDS_TITLE_MAX_BYTES,
				    data, n, UPLOAD_FIELDS_TITLE_TOO_LONG);
	case PART_METADATA:
		return field_append(u, &u->metadata, &u->metadata_len, u->fields.metadata_max, data,
				    n, UPLOAD_FIELDS_METADATA_TOO_LARGE);
	default:
		return 0;
	}
}

static int on_part_end(void *ud)
{
	((struct upload *)ud)->part = PART_NONE;
	return 0;
}

static const struct multipart_callbacks callbacks = {on_part_begin, on_part_data, on_part_end};

/* ---- database steps ---- */

static const char find_idem_sql[] =
	"SELECT id, request_sha256 FROM videos WHERE user_id = ? AND idempotency_key = ?";
/* Looks up the video an Idempotency-Key already made: 1 found (id and its
 * request fingerprint copied out), 0 none, -1 database down. */
static int find_idempotent(struct upload *u, char id[VG_ID_LEN + 1], char fp[VG_SHA256_HEX])
{
	struct vg_db_param p[] = {vg_p_i64(u->r->user_id), vg_p_str(u->idem_key)};
	struct vg_db_result res;
	long long n = vg_db_query(u->r->db, find_idem_sql, p, VG_DB_NPARAMS(p), &res);

	if (n < 0)
		return -1;
	if (n > 0) {
		snprintf(id, VG_ID_LEN + 1, "%s", vg_db_cell(&res, 0, 0));
		snprintf(fp, VG_SHA256_HEX, "%s",
			 vg_db_cell(&res, 0, 1) ? vg_db_cell(&res, 0, 1) : "");
	}
	vg_db_result_free(&res);
	return n > 0;
}

/*
 * What a request asked for, independent of how it was framed: the file's
 * SHA-256, filename, title and metadata. Two sends of the same upload (a
 * retry after a lost answer, with a new multipart boundary) agree; the same
 * Idempotency-Key reused for another video does not.
 */
static void fingerprint(struct upload *u)
{
	const char *title = upload_fields_title(&u->fields);
	const char *metadata = upload_fields_metadata(&u->fields);
	struct vg_sha256 h;

	vg_sha256_init(&h);
	vg_sha256_update(&h, "vingest-upload-v1\n", 18);
	vg_sha256_update(&h, u->w.sha256, strlen(u->w.sha256));
	vg_sha256_update(&h, "\n", 1);
	vg_sha256_update(&h, u->fields.filename, strlen(u->fields.filename));
	vg_sha256_update(&h, "\n", 1);
	if (title)
		vg_sha256_update(&h, title, strlen(title));
	vg_sha256_update(&h, "\n", 1);
	if (metadata)
		vg_sha256_update(&h, metadata, strlen(metadata));
	vg_sha256_final_hex(&h, u->fingerprint);
}

/* The answer to a repeated key: the first video if the request is the same,
 * 409 if the key is being reused for something else. */
static void answer_repeat(struct upload *u, const char *prior, const char *prior_fp)
{
	if (prior_fp[0] && strcmp(prior_fp, u->fingerprint) != 0) {
		fail(u, 409, "idempotency_mismatch",
		     "this Idempotency-Key was used for a different upload");
		return;
	}
	finish_answer_prior(u->r, prior, 200);
}

/* ---- the handler ---- */

static int check_headers(struct upload *u, char boundary[MULTIPART_BOUNDARY_MAX + 1])
{
	struct request *r = u->r;
	const char *ct = request_param(r, "CONTENT_TYPE");
	const char *idem = request_param(r, "HTTP_IDEMPOTENCY_KEY");

	if (!ct || multipart_boundary(ct, boundary, MULTIPART_BOUNDARY_MAX + 1) < 0) {
		request_error(r, 400, "expected_multipart",
			      "send the video as multipart/form-data with a boundary");
		return -1;
	}
	if (r->content_length < 0 && !r->authorizer) {
		request_error(r, 411, "length_required", "Content-Length is required");
		return -1;
	}
	if (r->content_length > u->cfg->limits.max_upload_bytes + MULTIPART_SLACK) {
		request_error(r, 413, "too_large", "the request is larger than the upload limit");
		return -1;
	}
	if (idem) {
		if (!vg_text_token(idem, IDEM_KEY_MAX)) {
			request_error(r, 400, "invalid_idempotency_key",
				      "Idempotency-Key must be 1 to 255 visible ASCII characters");
			return -1;
		}
		u->idem_key = idem;
	}
	return 0;
}

int upload_check_request(struct request *r)
{
	struct upload u;
	char boundary[MULTIPART_BOUNDARY_MAX + 1];

	memset(&u, 0, sizeof(u));
	u.r = r;
	u.cfg = r->child->cfg;
	return check_headers(&u, boundary);
}

/* The form as a whole: one non-empty file, and the title and metadata
 * parts through the rules of fields.h. 0, or -1 with the answer set. */
static int check_fields(struct upload *u)
{
	enum upload_fields_error e = UPLOAD_FIELDS_OK;

	if (u->files == 0) {
		fail(u, 400, "missing_file", "the form has no part named file");
		return -1;
	}
	if (u->w.size == 0) {
		fail(u, 400, "empty_file", "the file part is empty");
		return -1;
	}
	if (u->title)
		e = upload_fields_set_title(&u->fields, u->title, u->title_len);
	if (e == UPLOAD_FIELDS_OK && u->metadata)
		e = upload_fields_set_metadata(&u->fields, u->metadata, u->metadata_len);
	if (e != UPLOAD_FIELDS_OK) {
		fail_field(u, e);
		return -1;
	}
	return 0;
}

/* Streams the body through the multipart parser into the staging file (or
 * only the digest, when dry). Returns 0, or -1 with the answer set. */
static int read_body(struct upload *u, const char *boundary)
{
	struct multipart mp;
	struct multipart_limits lim;
	enum multipart_status ms = MULTIPART_OK;
	char *buf = vg_malloc(BODY_CHUNK);
	int rc = -1;

	lim.max_parts = (size_t)u->cfg->limits.max_parts;
	lim.max_header_bytes = (size_t)u->cfg->limits.max_part_header_bytes;
	lim.max_headers = (size_t)u->cfg->limits.max_part_headers;
	multipart_init(&mp, boundary, &lim, &callbacks, u);
	for (;;) {
		long n = VG_FAILPOINT("upload.body_read") < 0 ? -1
							      : request_read(u->r, buf, BODY_CHUNK);

		if (n < 0) {
			if (u->r->body_too_slow)
				fail(u, 408, "body_too_slow", "the request body came too slowly");
			else
				fail(u, 400, "incomplete_body", "the request body ended early");
			goto out;
		}
		if (n == 0)
			break;
		ms = multipart_feed(&mp, buf, (size_t)n);
		if (ms != MULTIPART_OK && ms != MULTIPART_DONE)
			break;
	}
	if (ms == MULTIPART_OK || ms == MULTIPART_DONE)
		ms = multipart_finish(&mp);
	if (ms != MULTIPART_DONE) {
		if (ms != MULTIPART_ERR_CALLBACK)
			fail(u,
			     ms == MULTIPART_ERR_TOO_MANY_PARTS ||
					     ms == MULTIPART_ERR_HEADER_TOO_LARGE ||
					     ms == MULTIPART_ERR_TOO_MANY_HEADERS
				     ? 413
				     : 400,
			     multipart_status_code(ms),
			     "the multipart body is malformed or exceeds a limit");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* A repeat of a known Idempotency-Key: read and check the body, store nothing. */
static void upload_repeat(struct upload *u, const char *boundary, const char *prior,
			  const char *prior_fp)
{
	u->dry = 1;
	vg_sha256_init(&u->w.sha);
	if (read_body(u, boundary) == 0 && check_fields(u) == 0) {
		vg_sha256_final_hex(&u->w.sha, u->w.sha256);
		fingerprint(u);
		answer_repeat(u, prior, prior_fp);
	}
	vg_sha256_free(&u->w.sha);
}

void upload_post(struct request *r)
{
	struct upload u;
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	enum vg_store_status st;
	int published = 0;

	memset(&u, 0, sizeof(u));
	u.r = r;
	u.cfg = r->child->cfg;
	u.w.fd = -1;
	upload_fields_init(&u.fields, (size_t)u.cfg->limits.max_field_bytes);
	if (check_headers(&u, boundary) < 0)
		return;
	if (r->grant)
		u.idem_key = NULL; /* an upload URL is used once: no repeats to find */
	/* Repeats of one key must meet on one shard (shard.h). */
	if (u.idem_key && shard_for_idempotency_key(r, u.idem_key) < 0) {
		request_error(r, 500, "internal", "no shard takes new videos");
		return;
	}

	if (u.idem_key) {
		char prior[VG_ID_LEN + 1], prior_fp[VG_SHA256_HEX];
		int found = find_idempotent(&u, prior, prior_fp);

		if (found < 0)
			goto db_down;
		if (found) {
			upload_repeat(&u, boundary, prior, prior_fp);
			goto out;
		}
	}

	/* The id names the shard that will hold the video. With more than one
	 * shard, an unpinned upload asks its shard first (a ping, no statement)
	 * and moves on if it is gone, before any byte is read. */
	for (;;) {
		if (r->grant) { /* the id the upload URL promised */
			memcpy(u.id, r->grant->id, sizeof(u.id));
			break;
		}
		if (vg_id_new(u.id, vg_db_shard(r->db)) < 0) {
			request_error(r, 500, "internal", "could not make an id");
			return;
		}
		if (r->db_pinned || r->child->shards.n < 2 || vg_db_ping(r->db) == 0)
			break;
		if (shard_retry_elsewhere(r) < 0)
			goto db_down;
	}
	vg_store_key(u.id, u.key);
	st = vg_store_stage_begin(&r->child->store, u.id, &u.w);
	if (st != VG_STORE_OK) {
		answer_store_error(&u, st);
		goto out;
	}
	u.staging = 1;

	if (read_body(&u, boundary) < 0)
		goto out;
	if (check_fields(&u) < 0)
		goto out;

	/* The media checks pread the staging file: it must hold every byte. */
	st = vg_store_stage_flush(&u.w);
	if (st != VG_STORE_OK) {
		answer_store_error(&u, st);
		goto out;
	}
	u.fin.id = u.id;
	u.fin.key = u.key;
	u.fin.size = u.w.size;
	if (finish_inspect(r, &u.fin, u.w.fd) < 0) {
		fail(&u, u.fin.status, u.fin.code, u.fin.message);
		goto out;
	}

	{
		int64_t t = vg_mono_us();

		st = vg_store_stage_publish(&r->child->store, &u.w, u.id, u.key);
		request_step(r, STEP_PUBLISH, t);
	}
	u.staging = 0;
	if (st != VG_STORE_OK) {
		/* A full disk is 507; anything else a store that may answer again
		 * shortly (an s3 endpoint, the database): 503 with Retry-After. */
		if (st == VG_STORE_FULL)
			answer_store_error(&u, st);
		else
			fail(&u, 503, "store_unavailable",
			     "the video store is not reachable; try again shortly");
		goto out;
	}
	published = 1;
	fingerprint(&u);
	u.fin.sha256 = u.w.sha256;
	u.fin.content_type = upload_fields_content_type(&u.fields);
	u.fin.filename = upload_fields_filename(&u.fields);
	u.fin.title = upload_fields_title(&u.fields);
	u.fin.metadata = upload_fields_metadata(&u.fields);
	u.fin.idem_key = u.idem_key;
	u.fin.fingerprint = u.fingerprint;

	switch (finish_commit(r, &u.fin)) {
	case FINISH_OK:
		published = 0;
		vg_store_settle(&r->child->store, u.id);
		finish_answer(r, &u.fin, 201, NULL);
		break;
	case FINISH_DUPLICATE: {
		/* Another request with the same Idempotency-Key won the race. */
		char prior[VG_ID_LEN + 1], prior_fp[VG_SHA256_HEX];

		if (find_idempotent(&u, prior, prior_fp) == 1)
			answer_repeat(&u, prior, prior_fp);
		else
			fail(&u, 409, "idempotency_conflict",
			     "a request with this key is in progress");
		break;
	}
	case FINISH_UNKNOWN:
		/* The rows may exist: removing the object could orphan a committed
		 * video. The staging file stays, and the janitor's sweep decides
		 * once the database answers: the video's, or an orphan's. */
		published = 0;
		goto db_down;
	case FINISH_DB_DOWN:
		goto db_down;
	case FINISH_DB_BUSY:
		/* Up but contended: nothing was stored, the same request may
		 * simply come again (a second later, not five). */
		fail(&u, 503, "database_busy", "the database is busy; try again in a moment");
		break;
	case FINISH_GONE: /* only an upload URL's: it was used meanwhile */
		/* Its video has this id, so this key: the object is not this
		 * request's to remove. The janitor settles the staging mark. */
		published = 0;
		fail(&u, 410, "upload_url_used", "this upload URL was used already");
		break;
	case FINISH_FAILED:
		fail(&u, 500, "internal", "the video could not be recorded");
		break;
	}
	goto out;

db_down:
	fail(&u, 503, "database_unavailable", "the database is not reachable; try again shortly");
out:
	if (u.staging)
		vg_store_stage_abort(&u.w);
	if (published) {
		vg_store_remove(&r->child->store, u.key);
		vg_store_remove_staged(&r->child->store, u.id);
	}
	if (!r->answered && u.err_status) {
		if (u.err_status == 503)
			request_error_retry(r, 503, u.err_code, u.err_msg,
					    strcmp(u.err_code, "database_busy") == 0 ? 1 : 5);
		else
			request_error(r, u.err_status, u.err_code, u.err_msg);
		vg_info("msg=\"upload refused\" request_id=%s status=%d code=%s", r->request_id,
			u.err_status, u.err_code);
	}
	upload_fields_free(&u.fields);
	free(u.title);
	free(u.metadata);
}
