/*
 * tus.c - tus 1.0.0 resumable uploads (see tus.h).
 *
 * State lives in three places, each authoritative for one thing:
 *   the `uploads` row  owner, length, metadata, expiry, and upload_offset:
 *                      the number of bytes acknowledged to the client
 *   staging/<id>.part  the bytes; everything before upload_offset is fsynced
 *   the `videos` row   once it exists the upload is finished (the commit that
 *                      inserts it deletes the uploads row in one transaction)
 *
 * A PATCH writes at upload_offset with pwrite(2), fsyncs, and only then moves
 * upload_offset forward with `UPDATE ... WHERE upload_offset = <old>`: an
 * acknowledged offset is always backed by durable bytes, and of two PATCHes
 * racing on one offset only one can move it. An exclusive flock(2) on the
 * staging file keeps a second PATCH from writing into the same bytes while the
 * first is still streaming (it gets 409 at once). A PATCH cut off mid-body
 * keeps what arrived: the client asks HEAD for the offset and goes on from
 * there. With Upload-Checksum nothing of a cut or mismatching body is kept.
 *
 * Finishing is idempotent: whichever request finds upload_offset equal to
 * the length (the last PATCH, a retry of it, a HEAD after a crash) inspects,
 * publishes and commits; a committed upload answers from its video.
 */
#include "tus.h"
#include "auth.h"
#include "child.h"
#include "concat.h"
#include "fields.h"
#include "finish.h"
#include "gate.h"
#include "grant.h"
#include "reserve.h"
#include "request.h"
#include "shard.h"
#include "vg_alloc.h"
#include "vg_base64.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_hash.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_store.h"
#include "vg_time.h"
#include "vg_failpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	       (64 * 1024)
#define METADATA_MAX   4096 /* bytes of the Upload-Metadata header */
#define METADATA_PAIRS 32

#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS                                                                             \
	"creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,"     \
	"concatenation"

/* Headers every tus answer carries, CORS included so browsers may read them. */
static const char common_headers[] =
	"Tus-Resumable: " TUS_VERSION "\r\n"
	"Access-Control-Allow-Origin: *\r\n"
	"Access-Control-Expose-Headers: Location, Upload-Offset, Upload-Length, "
	"Upload-Defer-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, Tus-Version, "
	"Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Concat, X-Request-Id\r\n";

/* One upload as the uploads row has it. */
struct tus_upload {
	char id[VG_ID_LEN + 1];
	long long user_id;
	long long length; /* -1: deferred */
	long long offset;
	char key[VG_STORE_KEY_MAX];
	char *metadata; /* the row's JSON: filename, title, metadata, content_type, raw */
	char expires_http[40];
	int expired;
	enum concat_kind concat; /* CONCAT_NONE, _PARTIAL or _FINAL */
};

static void upload_free(struct tus_upload *u)
{
	free(u->metadata);
	u->metadata = NULL;
}

/* ---- answers ---- */

/* Every answer under /v1/uploads carries common_headers: tus_dispatch (and
 * the gate, for an authorizer's refusals) makes them r->always_headers. */
static void tus_error(struct request *r, int status, const char *code, const char *msg,
		      const char *extra)
{
	request_error_headers(r, status, code, msg, extra);
}

static void tus_empty(struct request *r, int status, const char *extra)
{
	request_head(r, status, NULL, extra);
}

const char *tus_headers(void)
{
	return common_headers;
}

static void db_down(struct request *r)
{
	tus_error(r, 503, "database_unavailable",
		  "the database is not reachable; try again shortly", "Retry-After: 5\r\n");
}

/* RFC 9110 IMF-fixdate of a DATETIME(6) UTC string. */
static void http_date(const char *sql, char *out, size_t outsz)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	out[0] = '\0';
	if (!sql || !strptime(sql, "%Y-%m-%d %H:%M:%S", &tm))
		return;
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- the uploads row ---- */

static const char load_sql[] =
	"SELECT user_id, upload_length, upload_offset, object_key, metadata, expires_at, "
	"expires_at < UTC_TIMESTAMP(6) FROM uploads WHERE id = ? AND kind = 'tus'";
static const char video_sql[] =
	"SELECT size_bytes FROM videos WHERE id = ? AND user_id = ? AND deleted_at IS NULL";
static const char advance_sql[] =
	"UPDATE uploads SET upload_offset = ? WHERE id = ? AND upload_offset = ?";
static const char set_length_sql[] =
	"UPDATE uploads SET upload_length = ? WHERE id = ? AND upload_length IS NULL";
static const char delete_sql[] = "DELETE FROM uploads WHERE id = ?";

/*
 * Concatenation (tus "concatenation") is kept in the row's JSON, beside the
 * metadata: "concat": "partial" marks an upload that never becomes a video
 * by itself; "concat": "final" with "parts": [ids] marks the upload made of
 * those partials, whose commit deletes their rows with its own.
 */
static enum concat_kind row_concat(const char *json)
{
	struct json_object *m = json ? json_tokener_parse(json) : NULL, *v;
	enum concat_kind k = CONCAT_NONE;

	if (m && json_object_object_get_ex(m, "concat", &v) &&
	    json_object_is_type(v, json_type_string)) {
		if (strcmp(json_object_get_string(v), "partial") == 0)
			k = CONCAT_PARTIAL;
		else if (strcmp(json_object_get_string(v), "final") == 0)
			k = CONCAT_FINAL;
	}
	json_object_put(m);
	return k;
}

/* The row's JSON meta with the concatenation marks of c added (a new
 * string; meta is freed). */
static char *mark_concat(char *meta, const struct concat *c)
{
	struct json_object *m = json_tokener_parse(meta), *parts;
	char *out;

	if (!m)
		m = json_object_new_object();
	json_object_object_add(m, "concat",
			       json_object_new_string(c->kind == CONCAT_FINAL ? "final"
									      : "partial"));
	if (c->kind == CONCAT_FINAL) {
		parts = json_object_new_array();
		for (size_t i = 0; i < c->n; i++)
			json_object_array_add(parts, json_object_new_string(c->ids[i]));
		json_object_object_add(m, "parts", parts);
	}
	out = vg_strdup(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
	json_object_put(m);
	free(meta);
	return out;
}

/* A final upload's partial ids from its row's JSON m into ids (borrowed
 * from m). Returns how many. */
static size_t row_parts(struct json_object *m, const char *ids[CONCAT_MAX_PARTS])
{
	struct json_object *a;
	size_t n = 0;

	if (!m || !json_object_object_get_ex(m, "parts", &a) ||
	    !json_object_is_type(a, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(a) && n < CONCAT_MAX_PARTS; i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(a, i));

		if (vg_id_valid(id))
			ids[n++] = id;
	}
	return n;
}

/* 1 found (and the caller's), 0 no such upload of this user, -1 database down. */
static int load(struct request *r, const char *id, struct tus_upload *u)
{
	struct vg_db_param p[] = {vg_p_str(id)};
	struct vg_db_result res;
	long long n = vg_db_query(r->db, load_sql, p, VG_DB_NPARAMS(p), &res);

	memset(u, 0, sizeof(*u));
	if (n < 0)
		return -1;
	if (n == 0 || strtoll(vg_db_cell(&res, 0, 0), NULL, 10) != r->user_id) {
		vg_db_result_free(&res);
		return 0; /* another user's upload is indistinguishable from none */
	}
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->user_id = r->user_id;
	u->length = vg_db_cell(&res, 0, 1) ? strtoll(vg_db_cell(&res, 0, 1), NULL, 10) : -1;
	u->offset = strtoll(vg_db_cell(&res, 0, 2), NULL, 10);
	snprintf(u->key, sizeof(u->key), "%s", vg_db_cell(&res, 0, 3));
	u->metadata = vg_db_cell(&res, 0, 4) ? vg_strdup(vg_db_cell(&res, 0, 4)) : NULL;
	http_date(vg_db_cell(&res, 0, 5), u->expires_http, sizeof(u->expires_http));
	u->expired = vg_db_cell(&res, 0, 6) && strcmp(vg_db_cell(&res, 0, 6), "1") == 0;
	u->concat = row_concat(u->metadata);
	vg_db_result_free(&res);
	return 1;
}

/* A finished upload is a video: its size, 0 if none, -1 database down. */
static long long finished_size(struct request *r, const char *id)
{
	struct vg_db_param p[] = {vg_p_str(id), vg_p_i64(r->user_id)};
	struct vg_db_result res;
	long long n = vg_db_query(r->db, video_sql, p, VG_DB_NPARAMS(p), &res), size = 0;

	if (n < 0)
		return -1;
	if (n > 0)
		size = strtoll(vg_db_cell(&res, 0, 0), NULL, 10);
	vg_db_result_free(&res);
	return size;
}

static void drop(struct request *r, const struct tus_upload *u)
{
	struct vg_db_param p[] = {vg_p_str(u->id)};

	vg_store_remove_staged(&r->child->store, u->id);
	vg_db_exec(r->db, delete_sql, p, VG_DB_NPARAMS(p));
}

/* ---- headers ---- */

static int tus_version_ok(struct request *r)
{
	const char *v = request_param(r, "HTTP_TUS_RESUMABLE");

	if (v && strcmp(v, TUS_VERSION) == 0)
		return 1;
	tus_error(r, 412, "unsupported_tus_version", "this server speaks tus 1.0.0",
		  "Tus-Version: " TUS_VERSION "\r\n");
	return 0;
}

/* A non-negative integer header: 1 set, 0 absent, -1 malformed. */
static int int_header(struct request *r, const char *name, long long *out)
{
	const char *v = request_param(r, name);
	char *end;

	if (!v)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return (*end || errno) ? -1 : 1;
}

/* A metadata key: what the tus spec allows, kept to a safe set so the raw
 * header can be echoed back in HEAD without any chance of header injection. */
static int key_ok(const char *k, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/*
 * Parses Upload-Metadata ("key b64,key b64,key") into the JSON kept in the
 * uploads row. The header's syntax (length, keys, pair count, base64) is
 * checked here; the known keys - filename (or name), title, metadata,
 * filetype (or content_type) - go through the same field rules as a
 * multipart upload's (fields.h), and are refused with the same answers.
 * Returns the JSON text (caller frees) or NULL with the refusal answered.
 */
static char *parse_metadata(struct request *r, const char *h)
{
	struct json_object *o = json_object_new_object();
	struct upload_fields f;
	char *out = NULL;
	const char *p = h;
	int pairs = 0;

	upload_fields_init(&f, (size_t)r->child->cfg->limits.max_field_bytes);
	if (strlen(h) > METADATA_MAX) {
		tus_error(r, 400, "invalid_metadata", "Upload-Metadata is too long", NULL);
		goto out;
	}
	json_object_object_add(o, "raw", json_object_new_string(h));
	while (*p) {
		const char *comma = strchr(p, ','), *sp;
		size_t len = comma ? (size_t)(comma - p) : strlen(p), klen;
		char key[65], b64[METADATA_MAX + 1];
		unsigned char val[METADATA_MAX];
		const char *v = (const char *)val;
		long vlen = 0;
		enum upload_fields_error e = UPLOAD_FIELDS_OK;

		while (len && *p == ' ') {
			p++;
			len--;
		}
		sp = memchr(p, ' ', len);
		klen = sp ? (size_t)(sp - p) : len;
		if (++pairs > METADATA_PAIRS || !key_ok(p, klen)) {
			tus_error(
				r, 400, "invalid_metadata",
				"Upload-Metadata keys must be 1-64 of A-Z a-z 0-9 _ - . (at most 32)",
				NULL);
			goto out;
		}
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (sp) {
			size_t blen = len - klen - 1;

			memcpy(b64, sp + 1, blen);
			b64[blen] = '\0';
			vlen = vg_base64_decode(b64, val, sizeof(val));
			if (vlen < 0) {
				tus_error(r, 400, "invalid_metadata",
					  "an Upload-Metadata value is not base64", NULL);
				goto out;
			}
		}
		if (strcmp(key, "filename") == 0 || strcmp(key, "name") == 0)
			e = upload_fields_set_filename(&f, v, (size_t)vlen);
		else if (strcmp(key, "title") == 0)
			e = upload_fields_set_title(&f, v, (size_t)vlen);
		else if (strcmp(key, "metadata") == 0)
			e = upload_fields_set_metadata(&f, v, (size_t)vlen);
		else if (strcmp(key, "filetype") == 0 || strcmp(key, "content_type") == 0)
			e = upload_fields_set_content_type(&f, v, (size_t)vlen);
		/* other keys are the client's business: kept in "raw" only */
		if (e != UPLOAD_FIELDS_OK) {
			tus_error(r, upload_fields_status(e), upload_fields_code(e),
				  upload_fields_message(e), NULL);
			goto out;
		}
		p = comma ? comma + 1 : p + len;
	}
	if (upload_fields_filename(&f))
		json_object_object_add(o, "filename",
				       json_object_new_string(upload_fields_filename(&f)));
	if (upload_fields_title(&f))
		json_object_object_add(o, "title", json_object_new_string(upload_fields_title(&f)));
	if (upload_fields_metadata(&f)) {
		/* an object json-c wrote itself: parses at any depth it allows */
		struct json_object *m = json_tokener_parse(upload_fields_metadata(&f));

		if (!m)
			abort();
		json_object_object_add(o, "metadata", m);
	}
	if (upload_fields_content_type(&f))
		json_object_object_add(o, "content_type",
				       json_object_new_string(upload_fields_content_type(&f)));
	out = vg_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
out:
	upload_fields_free(&f);
	json_object_put(o);
	return out;
}

/* The headers describing an upload's state (HEAD, and after writes). */
static char *state_headers(const struct tus_upload *u, long long offset, int with_meta)
{
	char length[64] = "Upload-Defer-Length: 1\r\n", expires[64] = "", *meta = NULL, *h;
	char *concat = NULL;
	struct json_object *m = NULL, *v;

	if (u->length >= 0)
		snprintf(length, sizeof(length), "Upload-Length: %lld\r\n", u->length);
	if (u->expires_http[0])
		snprintf(expires, sizeof(expires), "Upload-Expires: %s\r\n", u->expires_http);
	if (with_meta && u->metadata) {
		/* the raw header was checked at creation: keys from a safe set,
		 * values base64 - nothing in it can break a header line */
		m = json_tokener_parse(u->metadata);
		if (m && json_object_object_get_ex(m, "raw", &v))
			meta = vg_asprintf("Upload-Metadata: %s\r\n", json_object_get_string(v));
	}
	if (u->concat == CONCAT_PARTIAL) {
		concat = vg_strdup("Upload-Concat: partial\r\n");
	} else if (u->concat == CONCAT_FINAL) {
		struct json_object *row = u->metadata ? json_tokener_parse(u->metadata) : NULL;
		const char *ids[CONCAT_MAX_PARTS];
		size_t n = row_parts(row, ids);
		char list[CONCAT_MAX_PARTS * (sizeof("/v1/uploads/ ") + VG_ID_LEN)] = "";
		size_t used = 0;

		for (size_t i = 0; i < n; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s/v1/uploads/%s", i ? " " : "", ids[i]);
		concat = vg_asprintf("Upload-Concat: final;%s\r\n", list);
		json_object_put(row);
	}
	h = vg_asprintf("Upload-Offset: %lld\r\n%s%s%s%sCache-Control: no-store\r\n", offset,
			length, meta ? meta : "", expires, concat ? concat : "");
	free(meta);
	free(concat);
	json_object_put(m);
	return h;
}

/* ---- finishing ---- */

/* SHA-256 of the first size bytes of fd. 0 or -1. */
static int hash_file(int fd, long long size, char out[VG_SHA256_HEX])
{
	struct vg_sha256 h;
	char *buf = vg_malloc(CHUNK);
	long long off = 0;
	int rc = -1;

	vg_sha256_init(&h);
	while (off < size) {
		ssize_t n = pread(fd, buf, (size_t)(size - off < CHUNK ? size - off : CHUNK), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		vg_sha256_update(&h, buf, (size_t)n);
		off += n;
	}
	vg_sha256_final_hex(&h, out);
	rc = 0;
out:
	vg_sha256_free(&h);
	free(buf);
	return rc;
}

static const char *meta_str(struct json_object *m, const char *key)
{
	struct json_object *v;

	if (m && json_object_object_get_ex(m, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/*
 * The last byte is in: inspect, publish, commit. Works from the staging file,
 * or from the published object when an earlier try published but could not
 * commit. Answers the request itself (status is the success status: 204 for
 * PATCH, 200 for HEAD, 201 for creation-with-upload).
 */
static void finish(struct request *r, struct tus_upload *u, int status, const char *extra)
{
	struct vg_store *store = &r->child->store;
	struct finish f;
	struct json_object *m = u->metadata ? json_tokener_parse(u->metadata) : NULL, *mv;
	char sha[VG_SHA256_HEX];
	const char *parts[CONCAT_MAX_PARTS];
	int fd = vg_store_staging_open(store, u->id, 0), staged = fd >= 0;

	memset(&f, 0, sizeof(f));
	if (u->concat == CONCAT_FINAL) {
		f.parts = parts;
		f.nparts = row_parts(m, parts);
	}
	if (fd < 0) /* an earlier try published (fs) but could not commit */
		fd = vg_store_local_fd(store, u->key);
	if (fd < 0 || hash_file(fd, u->length, sha) < 0) {
		vg_error("msg=\"finished tus upload has no bytes\" upload_id=%s", u->id);
		tus_error(r, 500, "storage_error", "the upload's bytes cannot be read", NULL);
		goto out;
	}
	f.id = u->id;
	f.key = u->key;
	f.upload_row = 1;
	f.size = (unsigned long long)u->length;
	f.sha256 = sha;
	f.content_type = meta_str(m, "content_type");
	f.filename = meta_str(m, "filename");
	f.title = meta_str(m, "title");
	if (m && json_object_object_get_ex(m, "metadata", &mv))
		f.metadata = json_object_to_json_string_ext(mv, JSON_C_TO_STRING_PLAIN);
	if (finish_inspect(r, &f, fd) < 0) {
		/* Not a video we take: the upload is over, nothing of it is kept. */
		if (!staged)
			vg_store_remove(store, u->key);
		drop(r, u);
		tus_error(r, f.status, f.code, f.message, NULL);
		goto out;
	}
	if (staged) {
		int64_t t = vg_mono_us();
		enum vg_store_status st =
			vg_store_publish_staged(store, u->id, u->key, (uint64_t)u->length, sha);

		request_step(r, STEP_PUBLISH, t);
		if (st == VG_STORE_FULL) {
			tus_error(r, 507, "insufficient_storage",
				  "the upload could not be stored; try again later", NULL);
			goto out;
		}
		if (st != VG_STORE_OK) {
			tus_error(r, 503, "store_unavailable",
				  "the video store is not reachable; try again shortly",
				  "Retry-After: 5\r\n");
			goto out;
		}
	}
	switch (finish_commit(r, &f)) {
	case FINISH_OK:
		vg_store_settle(store, u->id);
		/* The partials' rows went with the commit; their bytes are in the
		 * video. Lost here (a crash), the staging sweep finds them. */
		for (size_t i = 0; i < f.nparts; i++)
			vg_store_remove_staged(store, f.parts[i]);
		finish_answer(r, &f, status, extra);
		break;
	case FINISH_UNKNOWN:
	case FINISH_DB_DOWN:
		/* The uploads row still says "all bytes in": a retry finishes it. */
		db_down(r);
		break;
	case FINISH_DB_BUSY:
		/* Up but contended: the same, a second later. */
		tus_error(r, 503, "database_busy", "the database is busy; try again in a moment",
			  "Retry-After: 1\r\n");
		break;
	case FINISH_GONE:
		/* Its DELETE took the staging file, the mark: the object goes too.
		 * (A final whose partial was deleted or used meanwhile: its own
		 * row goes as well.) Not an upload URL's: its key is the URL's
		 * id, which the DELETE freed for another upload that may have
		 * published under it since; an object left with no video is
		 * the janitor's. */
		if (!r->grant)
			vg_store_remove(store, u->key);
		drop(r, u);
		tus_error(r, 404, "not_found",
			  u->concat == CONCAT_FINAL
				  ? "a partial upload was deleted or used meanwhile"
				  : "the upload was deleted meanwhile",
			  NULL);
		break;
	default:
		tus_error(r, 500, "internal", "the video could not be recorded", NULL);
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	json_object_put(m);
}

/* ---- writing ---- */

/* Upload-Checksum: "sha1 <b64>" or "sha256 <b64>". 1 set, 0 absent, -1 answered. */
static int parse_checksum(struct request *r, const EVP_MD **md, unsigned char *want,
			  unsigned *wantlen)
{
	const char *h = request_param(r, "HTTP_UPLOAD_CHECKSUM");
	const char *sp;
	long n;

	if (!h)
		return 0;
	sp = strchr(h, ' ');
	if (sp && (size_t)(sp - h) == 4 && strncmp(h, "sha1", 4) == 0) {
		*md = EVP_sha1();
	} else if (sp && (size_t)(sp - h) == 6 && strncmp(h, "sha256", 6) == 0) {
		*md = EVP_sha256();
	} else {
		tus_error(r, 400, "unsupported_checksum",
			  "Upload-Checksum algorithms: sha1, sha256", NULL);
		return -1;
	}
	n = vg_base64_decode(sp + 1, want, EVP_MAX_MD_SIZE);
	if (n != EVP_MD_get_size(*md)) {
		tus_error(r, 400, "invalid_checksum", "Upload-Checksum is not a base64 digest",
			  NULL);
		return -1;
	}
	*wantlen = (unsigned)n;
	return 1;
}

/*
 * Appends the request body to u at u->offset and acknowledges it: the bytes
 * are fsynced before upload_offset moves. Returns the new offset, or -1 if it
 * answered (an error, or 460).
 *
 * A body that completes the upload is not acknowledged here when held is
 * given: the upload is about to become a video, whose publish fsyncs the
 * bytes and whose COMMIT deletes the row, so an fsync and a commit of the new
 * offset of their own would only be paid twice. *held then gets the staging
 * fd, still locked, for the caller to close once the video is committed (or
 * not): no other PATCH may write the bytes meanwhile. Should the video not
 * commit, the row still names the old offset; the client's retry sends the
 * body again, over the same bytes. *held is -1 otherwise.
 */
static long long append(struct request *r, struct tus_upload *u, int *held)
{
	const struct vg_config *cfg = r->child->cfg;
	long long limit = u->length >= 0 ? u->length : cfg->limits.max_upload_bytes;
	long long written = 0, newoff = -1;
	const EVP_MD *md = NULL;
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned wantlen = 0, gotlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char *buf = NULL;
	int fd = -1, checksum, cut = 0, synced;
	int64_t t_sync;

	if (held)
		*held = -1;
	if (r->content_length < 0) {
		tus_error(r, 411, "length_required", "Content-Length is required", NULL);
		return -1;
	}
	if (!tus_body_fits(u->offset, r->content_length, limit)) {
		tus_error(r, 413, "too_large",
			  u->length >= 0 ? "the body runs past Upload-Length"
					 : "the upload would exceed the size limit",
			  NULL);
		return -1;
	}
	checksum = parse_checksum(r, &md, want, &wantlen);
	if (checksum < 0)
		return -1;
	fd = vg_store_staging_open(&r->child->store, u->id, 0);
	if (fd < 0) {
		tus_error(r, 500, "storage_error", "the upload's staging file is missing", NULL);
		return -1;
	}
	/* One writer at a time: a second PATCH must not write into these bytes. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		tus_error(r, 409, "upload_busy", "another PATCH on this upload is in progress",
			  NULL);
		goto out;
	}
	{
		/* Under the lock, the offset must still be the one the client named. */
		struct tus_upload now;

		if (load(r, u->id, &now) != 1) {
			db_down(r);
			goto out;
		}
		if (now.offset != u->offset) {
			char h[64];

			snprintf(h, sizeof(h), "Upload-Offset: %lld\r\n", now.offset);
			upload_free(&now);
			tus_error(r, 409, "offset_mismatch", "Upload-Offset does not match", h);
			goto out;
		}
		upload_free(&now);
	}
	if (checksum) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
			abort();
	}
	buf = vg_malloc(CHUNK);
	for (;;) {
		long n = request_read(r, buf, CHUNK);

		if (n < 0) {
			cut = 1;
			break;
		}
		if (n == 0)
			break;
		for (long done = 0; done < n;) {
			ssize_t w = VG_FAILPOINT("tus.append") < 0
					    ? -1
					    : pwrite(fd, buf + done, (size_t)(n - done),
						     u->offset + written);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				int err = errno;

				vg_error("msg=\"tus write failed\" upload_id=%s error=\"%s\"",
					 u->id, strerror(err));
				if (ftruncate(fd, u->offset) < 0) {
				}
				if (err == ENOSPC || err == EDQUOT)
					tus_error(r, 507, "insufficient_storage",
						  "the store is full", NULL);
				else
					tus_error(r, 500, "storage_error",
						  "the bytes could not be stored", NULL);
				goto out;
			}
			done += w;
			written += w;
		}
		if (ctx)
			EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	if (ctx) {
		EVP_DigestFinal_ex(ctx, got, &gotlen);
		if (cut || gotlen != wantlen || memcmp(got, want, wantlen) != 0) {
			/* Nothing of a body that fails its checksum is kept. */
			if (ftruncate(fd, u->offset) < 0) {
			}
			if (cut && r->body_too_slow)
				tus_error(r, 408, "body_too_slow",
					  "the body came too slowly; nothing was appended", NULL);
			else if (cut)
				tus_error(r, 400, "incomplete_body",
					  "the body ended early; nothing was appended", NULL);
			else
				tus_error(
					r, 460, "checksum_mismatch",
					"Upload-Checksum does not match the body; nothing was appended",
					NULL);
			goto out;
		}
	}
	if (held && !cut && written > 0 && u->length >= 0 && u->offset + written == u->length) {
		*held = fd;
		fd = -1;
		newoff = u->length;
		goto out;
	}
	/* Durable before acknowledged. */
	t_sync = vg_mono_us();
	synced = written > 0 && VG_FAILPOINT("tus.fsync") == 0 && fsync(fd) == 0;
	if (written > 0)
		request_step(r, STEP_FSYNC, t_sync);
	if (written > 0 && !synced) {
		vg_error("msg=\"tus fsync failed\" upload_id=%s error=\"%s\"", u->id,
			 strerror(errno));
		if (ftruncate(fd, u->offset) < 0) {
		}
		tus_error(r, 500, "storage_error", "the bytes could not be made durable", NULL);
		goto out;
	}
	if (written > 0) {
		struct vg_db_param p[] = {vg_p_i64(u->offset + written), vg_p_str(u->id),
					  vg_p_i64(u->offset)};
		int64_t t = vg_mono_us();
		long long n = vg_db_exec(r->db, advance_sql, p, VG_DB_NPARAMS(p));

		request_step(r, STEP_MARK, t);
		if (n != 1) {
			/* Not acknowledged: the bytes past the old offset do not count
			 * and the next PATCH overwrites them. */
			if (n < 0)
				db_down(r);
			else
				tus_error(r, 409, "offset_mismatch", "the upload moved meanwhile",
					  NULL);
			goto out;
		}
	}
	newoff = u->offset + written;
	if (cut)
		vg_info("msg=\"tus PATCH cut short; kept what arrived\" upload_id=%s offset=%lld",
			u->id, newoff);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	if (fd >= 0)
		close(fd); /* releases the flock */
	if (newoff >= 0 && cut && !r->answered) {
		/* The client is gone; answer for the log's sake. */
		char h[64];

		snprintf(h, sizeof(h), "Upload-Offset: %lld\r\n", newoff);
		if (r->body_too_slow)
			tus_error(r, 408, "body_too_slow",
				  "the body came too slowly; what arrived was kept", h);
		else
			tus_error(r, 400, "incomplete_body",
				  "the body ended early; what arrived was kept", h);
		return -1;
	}
	return newoff;
}

/* ---- the methods ---- */

static void tus_options(struct request *r)
{
	char h[640];

	snprintf(h, sizeof(h),
		 "Tus-Version: " TUS_VERSION "\r\nTus-Extension: " TUS_EXTENSIONS "\r\n"
		 "Tus-Max-Size: %lld\r\nTus-Checksum-Algorithm: sha1,sha256\r\n"
		 "Access-Control-Allow-Methods: POST, HEAD, PATCH, DELETE, OPTIONS\r\n"
		 "Access-Control-Allow-Headers: Authorization, Content-Type, Tus-Resumable, "
		 "Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Offset, "
		 "Upload-Checksum, Upload-Concat, X-Request-Id, X-Requested-With\r\n"
		 "Access-Control-Max-Age: 86400\r\n",
		 r->child->cfg->limits.max_upload_bytes);
	tus_empty(r, 204, h);
}

/* The body of one tus request (creation-with-upload, PATCH) is at most
 * limits.max_chunk_bytes: web servers take it whole before the request
 * reaches a child, and a cut-off chunk is sent again, so a chunk is both
 * what a web server may hold per request and what a client may lose. An
 * authorizer may not know the length yet (a chunked body): the responder
 * checks it then. 0, or -1 answered 413. */
static int chunk_ok(struct request *r)
{
	long long cap = r->child->cfg->limits.max_chunk_bytes;
	char msg[160];

	if (r->content_length <= cap)
		return 0;
	snprintf(msg, sizeof(msg),
		 "a tus request body is limited to %lld bytes (limits.max_chunk_bytes): send "
		 "the upload in chunks (tus-js-client: chunkSize)",
		 cap);
	tus_error(r, 413, "chunk_too_large", msg, NULL);
	return -1;
}

/* The creation headers: the length (-1 deferred) into *length, Upload-Concat
 * into *c. A final upload's length is its partials' (tus_create_final checks
 * a stated one); it takes no body. 0, or -1 answered. */
static int create_params(struct request *r, long long *length, struct concat *c)
{
	const struct vg_config *cfg = r->child->cfg;
	long long defer = 0;
	int have_len, have_defer;

	*length = -1;
	if (!tus_version_ok(r))
		return -1;
	if (concat_parse(request_param(r, "HTTP_UPLOAD_CONCAT"), c) == CONCAT_INVALID) {
		tus_error(r, 400, "invalid_upload_concat", c->why, NULL);
		return -1;
	}
	if (r->grant && c->kind != CONCAT_NONE) {
		tus_error(r, 400, "invalid_upload_concat",
			  "an upload URL takes one whole upload; parallel parts are uploaded to "
			  "/v1/uploads with a key",
			  NULL);
		return -1;
	}
	if (c->kind == CONCAT_FINAL) {
		if (r->content_length > 0 || request_param(r, "HTTP_UPLOAD_DEFER_LENGTH")) {
			tus_error(r, 400, "invalid_upload_concat",
				  "a final upload takes no body and no Upload-Defer-Length: its "
				  "bytes are its partial uploads'",
				  NULL);
			return -1;
		}
		if (int_header(r, "HTTP_UPLOAD_LENGTH", length) < 0) {
			tus_error(r, 400, "invalid_upload_length", "Upload-Length is not a number",
				  NULL);
			return -1;
		}
		return 0;
	}
	have_len = int_header(r, "HTTP_UPLOAD_LENGTH", length);
	have_defer = int_header(r, "HTTP_UPLOAD_DEFER_LENGTH", &defer);
	if (have_len < 0 || have_defer < 0 || (have_len == 0 && (have_defer == 0 || defer != 1))) {
		tus_error(r, 400, "invalid_upload_length",
			  "send Upload-Length (bytes) or Upload-Defer-Length: 1", NULL);
		return -1;
	}
	if (have_len == 0)
		*length = -1;
	if (*length == 0) {
		tus_error(r, 400, "empty_file", "an upload of zero bytes is not a video", NULL);
		return -1;
	}
	if (*length > cfg->limits.max_upload_bytes) {
		tus_error(r, 413, "too_large", "the video is larger than the upload limit", NULL);
		return -1;
	}
	return chunk_ok(r);
}

int tus_check_create(struct request *r)
{
	struct concat c;
	long long length;

	return create_params(r, &length, &c);
}

/*
 * Starts upload u: a new id on r's shard (another live one if that one is
 * down and r is not pinned), the uploads row of length bytes (-1 deferred)
 * and JSON meta within the user's caps, and its staging file; u is loaded
 * back from the row. 0, or -1 answered.
 */
static int new_upload(struct request *r, struct tus_upload *u, long long length, const char *meta)
{
	const struct vg_config *cfg = r->child->cfg;
	struct reservation v;
	char id[VG_ID_LEN + 1];
	int fd;

	memset(u, 0, sizeof(*u));
	memset(&v, 0, sizeof(v));
	v.id = u->id;
	v.key = u->key;
	v.length = length;
	v.metadata = meta;
	v.ttl_seconds = r->grant ? r->grant->ttl_seconds : cfg->limits.tus_expiry_seconds;
	/* The id names the shard that keeps the upload (and then the video);
	 * if that shard stops answering before the row is written, move on. */
	for (;;) {
		int64_t t;
		int n;

		if (r->grant) /* an upload URL's: the id it promised (grant.h) */
			memcpy(u->id, r->grant->id, sizeof(u->id));
		else if (vg_id_new(u->id, vg_db_shard(r->db)) < 0) {
			tus_error(r, 500, "internal", "could not make an id", NULL);
			return -1;
		}
		vg_store_key(u->id, u->key);
		t = vg_mono_us();
		n = reserve_upload(r, &v);
		request_step(r, STEP_MARK, t);
		if (n == 1)
			break;
		if (n == 0)
			return -1; /* over a cap: answered */
		if (r->grant || !vg_db_down(r->db) || shard_retry_elsewhere(r) < 0) {
			db_down(r);
			return -1;
		}
	}
	fd = vg_store_staging_open(&r->child->store, u->id, 1);
	if (fd < 0) {
		drop(r, u);
		tus_error(r, errno == ENOSPC ? 507 : 500, "storage_error",
			  "the upload could not be started", NULL);
		return -1;
	}
	close(fd);
	memcpy(id, u->id, sizeof(id)); /* load() starts by clearing u */
	if (load(r, id, u) != 1) {
		db_down(r);
		return -1;
	}
	return 0;
}

/*
 * A final upload's bytes: its partials' staging files copied into its own,
 * in order, through one fixed buffer, then fsynced, and only then the row
 * says all of them are in (as a PATCH's bytes are durable before their
 * offset moves: a HEAD that finds the row complete finishes from this file).
 * 0, or -1 answered.
 */
static int copy_parts(struct request *r, struct tus_upload *u, const struct concat *c,
		      const long long *lens)
{
	struct vg_store *store = &r->child->store;
	char *buf = vg_malloc(CHUNK);
	int out = vg_store_staging_open(store, u->id, 0), in = -1, rc = -1, full = 0;
	long long off = 0;

	if (out < 0)
		goto fail;
	for (size_t i = 0; i < c->n; i++) {
		in = vg_store_staging_open(store, c->ids[i], 0);
		if (in < 0)
			goto fail;
		for (long long done = 0; done < lens[i];) {
			long long want = lens[i] - done < CHUNK ? lens[i] - done : CHUNK;
			ssize_t n = pread(in, buf, (size_t)want, done), w = 0;

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) /* shorter than its acknowledged offset */
				goto fail;
			for (ssize_t put = 0; put < n; put += w) {
				w = pwrite(out, buf + put, (size_t)(n - put), off + put);
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				if (w <= 0) {
					full = errno == ENOSPC || errno == EDQUOT;
					goto fail;
				}
			}
			done += n;
			off += n;
		}
		close(in);
		in = -1;
	}
	/* Durable before the row says so. */
	if (fsync(out) < 0) {
		full = errno == ENOSPC || errno == EDQUOT;
		goto fail;
	}
	{
		struct vg_db_param p[] = {vg_p_i64(off), vg_p_str(u->id), vg_p_i64(0)};

		if (vg_db_exec(r->db, advance_sql, p, VG_DB_NPARAMS(p)) != 1) {
			db_down(r);
			goto out;
		}
	}
	u->offset = off;
	rc = 0;
	goto out;
fail:
	vg_error("msg=\"tus concatenation could not copy its partials\" upload_id=%s "
		 "error=\"%s\"",
		 u->id, strerror(errno));
	if (full)
		tus_error(r, 507, "insufficient_storage", "the store is full", NULL);
	else
		tus_error(r, 500, "storage_error", "the partial uploads could not be put together",
			  NULL);
out:
	if (rc < 0)
		drop(r, u); /* the final's row and staging file; the partials stay */
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	return rc;
}

/*
 * POST with Upload-Concat: final;... - the video made of finished partial
 * uploads of this user, in the order named. It lives on their shard (its
 * commit deletes their rows), is checked and committed by finish() like any
 * upload whose last byte is in, and answers 201 with the video.
 * Concatenating unfinished partials (optional in tus) is refused.
 */
static void tus_create_final(struct request *r, const struct concat *c, long long stated,
			     char *meta)
{
	const struct vg_config *cfg = r->child->cfg;
	long long lens[CONCAT_MAX_PARTS], total = 0;
	struct tus_upload u, p;
	char *h;

	memset(&u, 0, sizeof(u));
	if (shard_for_id(r, c->ids[0]) < 0)
		goto out; /* answered 404: no such shard */
	for (size_t i = 0; i < c->n; i++) {
		int st = load(r, c->ids[i], &p);
		int ok = 0;

		if (st < 0) {
			db_down(r);
			goto out;
		}
		if (st == 0)
			tus_error(r, 404, "not_found",
				  "Upload-Concat names an upload that is not an unfinished one of "
				  "yours (a final upload may have used it already)",
				  NULL);
		else if (p.expired)
			tus_error(r, 410, "upload_expired",
				  "a partial upload Upload-Concat names has expired", NULL);
		else if (p.concat != CONCAT_PARTIAL)
			tus_error(r, 400, "not_partial_upload",
				  "Upload-Concat names an upload not created with "
				  "Upload-Concat: partial",
				  NULL);
		else if (p.length < 0 || p.offset != p.length)
			tus_error(r, 400, "partial_not_finished",
				  "a partial upload Upload-Concat names is not complete; create "
				  "the final upload once all of them are",
				  NULL);
		else
			ok = 1;
		lens[i] = p.length;
		total += ok ? p.length : 0; /* each <= max_upload_bytes: no overflow */
		upload_free(&p);
		if (!ok)
			goto out;
	}
	if (total > cfg->limits.max_upload_bytes) {
		tus_error(r, 413, "too_large",
			  "the partial uploads together exceed the upload limit", NULL);
		goto out;
	}
	if (stated >= 0 && stated != total) {
		tus_error(r, 400, "invalid_upload_length",
			  "Upload-Length is not the sum of the partial uploads' lengths", NULL);
		goto out;
	}
	meta = mark_concat(meta, c);
	if (new_upload(r, &u, total, meta) < 0 || copy_parts(r, &u, c, lens) < 0)
		goto out;
	vg_info("msg=\"tus final upload created\" request_id=%s upload_id=%s length=%lld parts=%zu",
		r->request_id, u.id, u.length, c->n);
	h = vg_asprintf("Location: /v1/uploads/%s\r\nUpload-Offset: %lld\r\n", u.id, u.offset);
	finish(r, &u, 201, h);
	free(h);
out:
	upload_free(&u);
	free(meta);
}

static void tus_create(struct request *r)
{
	const char *meta_h = request_param(r, "HTTP_UPLOAD_METADATA");
	const char *ctype = request_param(r, "CONTENT_TYPE");
	long long length;
	struct tus_upload u;
	struct concat c;
	char *meta = NULL;

	memset(&u, 0, sizeof(u));
	if (create_params(r, &length, &c) < 0)
		return;
	meta = meta_h ? parse_metadata(r, meta_h) : vg_strdup("{}");
	if (!meta)
		return;
	if (c.kind == CONCAT_FINAL) {
		tus_create_final(r, &c, length, meta);
		return;
	}
	if (c.kind == CONCAT_PARTIAL) {
		/* A user's partials share one shard (a hash of the user), so the
		 * final that names them can live with them and end them in its
		 * own commit. */
		if (shard_for_idempotency_key(r, "tus-concat-partial") < 0) {
			db_down(r);
			goto out;
		}
		meta = mark_concat(meta, &c);
	}
	if (new_upload(r, &u, length, meta) < 0)
		goto out;
	vg_info("msg=\"tus upload created\" request_id=%s upload_id=%s length=%lld%s",
		r->request_id, u.id, u.length, u.concat == CONCAT_PARTIAL ? " concat=partial" : "");
	{
		long long offset = 0;
		char *h;

		int held = -1;

		/* creation-with-upload: the first bytes ride on the POST (a
		 * partial's last bytes are acknowledged, never finished) */
		if (r->content_length > 0 && ctype &&
		    strcasecmp(ctype, "application/offset+octet-stream") == 0) {
			offset = append(r, &u, u.concat == CONCAT_PARTIAL ? NULL : &held);
			if (offset < 0)
				goto out;
		}
		h = vg_asprintf("Location: %s%s\r\nUpload-Offset: %lld\r\n%s%s%s",
				r->grant ? r->grant->tus_path : "/v1/uploads/",
				r->grant ? "" : u.id, offset,
				u.expires_http[0] ? "Upload-Expires: " : "", u.expires_http,
				u.expires_http[0] ? "\r\n" : "");
		if (u.length >= 0 && offset == u.length && u.concat != CONCAT_PARTIAL) {
			u.offset = offset;
			finish(r, &u, 201, h);
		} else {
			tus_empty(r, 201, h);
		}
		if (held >= 0)
			close(held); /* the lock append() kept through the commit */
		free(h);
	}
out:
	upload_free(&u);
	free(meta);
}

/* HEAD, PATCH and DELETE share this: the upload, or the answer when there is none. */
static int find(struct request *r, const char *id, struct tus_upload *u, long long *done_size)
{
	int found = load(r, id, u);

	*done_size = 0;
	if (found < 0) {
		db_down(r);
		return -1;
	}
	if (found == 0) {
		long long size = finished_size(r, id);

		if (size < 0) {
			db_down(r);
			return -1;
		}
		if (size == 0) {
			tus_error(r, 404, "not_found", "no such upload", NULL);
			return -1;
		}
		*done_size = size;
		return 0;
	}
	if (u->expired) {
		upload_free(u);
		tus_error(r, 410, "upload_expired", "this upload expired; start a new one", NULL);
		return -1;
	}
	return 1;
}

static void tus_head(struct request *r, const char *id)
{
	struct tus_upload u;
	long long size;
	char *h;
	int st = find(r, id, &u, &size);

	if (st < 0)
		return;
	if (st == 0) {
		/* finished: the whole file is in */
		char hh[128];

		snprintf(
			hh, sizeof(hh),
			"Upload-Offset: %lld\r\nUpload-Length: %lld\r\nCache-Control: no-store\r\n",
			size, size);
		tus_empty(r, 200, hh);
		return;
	}
	h = state_headers(&u, u.offset, 1);
	if (u.length >= 0 && u.offset == u.length && u.concat != CONCAT_PARTIAL)
		finish(r, &u, 200, h); /* all bytes in, never committed: finish now */
	else
		tus_empty(r, 200, h);
	free(h);
	upload_free(&u);
}

int tus_body_fits(long long offset, long long body, long long limit)
{
	/* offset + body could overflow for a Content-Length near 2^63: compare
	 * the body with the room left instead. */
	return offset >= 0 && body >= 0 && offset <= limit && body <= limit - offset;
}

/*
 * A PATCH's target, from its headers and the uploads row. 1: go on, with u
 * loaded and *newlen the Upload-Length header (-1 without one). 0: the
 * upload is finished and this repeats its last PATCH with no body (nothing
 * to write; *size is its length). -1: answered.
 */
static int patch_target(struct request *r, const char *id, struct tus_upload *u, long long *size,
			long long *newlen)
{
	const struct vg_config *cfg = r->child->cfg;
	const char *ctype = request_param(r, "CONTENT_TYPE");
	long long offset = -1, limit;
	char hh[64];
	int st;

	*newlen = -1;
	memset(u, 0, sizeof(*u));
	if (!tus_version_ok(r))
		return -1;
	if (!ctype || strcasecmp(ctype, "application/offset+octet-stream") != 0) {
		tus_error(r, 415, "wrong_content_type",
			  "PATCH bodies must be Content-Type: application/offset+octet-stream",
			  NULL);
		return -1;
	}
	if (int_header(r, "HTTP_UPLOAD_OFFSET", &offset) != 1) {
		tus_error(r, 400, "invalid_upload_offset", "Upload-Offset is required", NULL);
		return -1;
	}
	if (int_header(r, "HTTP_UPLOAD_LENGTH", newlen) < 0) {
		tus_error(r, 400, "invalid_upload_length", "Upload-Length is not a number", NULL);
		return -1;
	}
	st = find(r, id, u, size);
	if (st < 0)
		return -1;
	if (st == 0) {
		/* Finished already (a retried last PATCH): the offset is at the end. */
		if (offset == *size && r->content_length <= 0)
			return 0;
		snprintf(hh, sizeof(hh), "Upload-Offset: %lld\r\n", *size);
		tus_error(r, 409, "offset_mismatch", "the upload is already complete", hh);
		return -1;
	}
	if (u->concat == CONCAT_FINAL) {
		tus_error(r, 403, "final_upload_immutable",
			  "a final upload is made of its partial uploads; it takes no PATCH", NULL);
		goto refused;
	}
	if (offset != u->offset) {
		snprintf(hh, sizeof(hh), "Upload-Offset: %lld\r\n", u->offset);
		tus_error(r, 409, "offset_mismatch", "Upload-Offset does not match the upload", hh);
		goto refused;
	}
	if (chunk_ok(r) < 0)
		goto refused;
	limit = u->length >= 0 ? u->length
		: *newlen > 0 && *newlen <= cfg->limits.max_upload_bytes
			? *newlen
			: cfg->limits.max_upload_bytes;
	if (r->content_length > 0 && !tus_body_fits(u->offset, r->content_length, limit)) {
		tus_error(r, 413, "too_large",
			  u->length >= 0 ? "the body runs past Upload-Length"
					 : "the upload would exceed the size limit",
			  NULL);
		goto refused;
	}
	return 1;
refused:
	upload_free(u);
	return -1;
}

int tus_check_patch(struct request *r, const char *id)
{
	struct tus_upload u;
	long long size, newlen;
	int st = patch_target(r, id, &u, &size, &newlen);

	upload_free(&u);
	return st < 0 ? -1 : 0;
}

static void tus_patch(struct request *r, const char *id)
{
	const struct vg_config *cfg = r->child->cfg;
	struct tus_upload u;
	long long size, newlen, newoff;
	int st = patch_target(r, id, &u, &size, &newlen), held = -1;
	char *h;

	if (st < 0)
		return;
	if (st == 0) {
		char hh[64];

		snprintf(hh, sizeof(hh), "Upload-Offset: %lld\r\n", size);
		tus_empty(r, 204, hh);
		return;
	}
	if (newlen >= 0 && u.length < 0) {
		/* creation-defer-length: the length arrives with a PATCH */
		struct vg_db_param p[] = {vg_p_i64(newlen), vg_p_str(u.id)};

		if (newlen < u.offset || newlen == 0 || newlen > cfg->limits.max_upload_bytes) {
			tus_error(r, newlen > cfg->limits.max_upload_bytes ? 413 : 400,
				  "invalid_upload_length", "Upload-Length is not possible here",
				  NULL);
			goto out;
		}
		if (vg_db_exec(r->db, set_length_sql, p, VG_DB_NPARAMS(p)) < 0) {
			db_down(r);
			goto out;
		}
		u.length = newlen;
	} else if (newlen >= 0 && newlen != u.length) {
		tus_error(r, 400, "invalid_upload_length", "Upload-Length cannot change", NULL);
		goto out;
	}
	/* A partial upload's last bytes are acknowledged like any others: it
	 * becomes part of a video only when a final upload names it. */
	newoff = append(r, &u, u.concat == CONCAT_PARTIAL ? NULL : &held);
	if (newoff < 0)
		goto out;
	u.offset = newoff;
	h = state_headers(&u, newoff, 0);
	if (u.length >= 0 && newoff == u.length && u.concat != CONCAT_PARTIAL)
		finish(r, &u, 204, h);
	else
		tus_empty(r, 204, h);
	if (held >= 0)
		close(held); /* the lock append() kept through the commit */
	free(h);
out:
	upload_free(&u);
}

static void tus_delete(struct request *r, const char *id)
{
	struct tus_upload u;
	long long size;
	int st = find(r, id, &u, &size);

	if (st < 0)
		return;
	if (st == 0) {
		tus_error(r, 404, "not_found",
			  "this upload is finished; delete the video at /v1/videos/{id}", NULL);
		return;
	}
	drop(r, &u);
	vg_info("msg=\"tus upload terminated\" request_id=%s upload_id=%s", r->request_id, u.id);
	tus_empty(r, 204, NULL);
	upload_free(&u);
}

void tus_dispatch(struct request *r, const char *id)
{
	const char *m = r->method;

	if (!r->grant) /* an upload URL's answers carry its own (grant.h) */
		r->always_headers = common_headers;
	if (strcmp(m, "OPTIONS") == 0) {
		tus_options(r); /* CORS preflight: no credentials by design */
		return;
	}
	if (id && !vg_id_valid(id)) {
		/* before auth or version: a malformed id is simply not an upload */
		if (auth_request(r) == 0)
			tus_error(r, 404, "not_found", "no such upload", NULL);
		return;
	}
	if (!id && strcmp(m, "POST") != 0) {
		tus_error(r, 405, "method_not_allowed", "POST creates an upload",
			  "Allow: POST, OPTIONS\r\n");
		return;
	}
	if (id && strcmp(m, "HEAD") != 0 && strcmp(m, "PATCH") != 0 && strcmp(m, "DELETE") != 0) {
		tus_error(r, 405, "method_not_allowed", "HEAD, PATCH or DELETE an upload",
			  "Allow: HEAD, PATCH, DELETE, OPTIONS\r\n");
		return;
	}
	if (!id) {
		if (gate_admit(r, GATE_TUS_CREATE, NULL) == 0)
			tus_create(r);
	} else if (strcmp(m, "PATCH") == 0) {
		if (gate_admit(r, GATE_TUS_PATCH, id) == 0)
			tus_patch(r, id);
	} else if (auth_request(r) == 0 && tus_version_ok(r)) {
		if (strcmp(m, "HEAD") == 0)
			tus_head(r, id);
		else
			tus_delete(r, id);
	}
}
