/*
 * videos.c - checking, waiting for and (without tus) uploading videos
 * through /v1/videos (see videos.h).
 *
 * A video is checked by its sha256, which the server computed from the
 * bytes it stored: equal to the file's, the upload is proven whole, however
 * many retries and resumes it took. The multipart upload is one request, so
 * an interruption means starting over; its retries carry one random
 * Idempotency-Key, so a retry after a lost answer returns the video the
 * first attempt made instead of storing a second one.
 */
#include "videos.h"
#include "progress.h"
#include "vg_alloc.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define WAIT_POLL_SECONDS 2

static const char *str_field(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The answer's body as a JSON object, or NULL. */
static struct json_object *parse_object(const struct http_resp *r)
{
	struct json_object *o =
		vg_buf_len(&r->body) > 0 ? json_tokener_parse(vg_buf_str(&r->body)) : NULL;

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* GET /v1/videos/{id} into *out (the caller puts it). Returns an exit code. */
static int get_video(struct http *h, const char *id, struct json_object **out)
{
	char *path = vg_asprintf("/v1/videos/%s", id), *url = http_url(h, path);
	struct http_resp r = {0};
	int attempt = 0, rc;

	*out = NULL;
	for (;;) {
		http_do(h, "GET", url, NULL, NULL, NULL, &r);
		progress_trace("GET %s -> %ld", url, r.status);
		if (r.stopped) {
			rc = EXIT_INTERRUPTED;
		} else if (r.status == 200) {
			*out = parse_object(&r);
			rc = EXIT_OK;
			if (!*out) {
				progress_complain("GET %s answered 200 without a video", url);
				rc = EXIT_LOCAL;
			}
		} else if (http_transient(&r) && attempt < HTTP_RETRIES) {
			if (http_backoff(++attempt, &r) == 0)
				continue;
			rc = EXIT_INTERRUPTED;
		} else {
			rc = http_give_up("cannot read the stored video", &r);
		}
		break;
	}
	http_resp_free(&r);
	free(url);
	free(path);
	return rc;
}

/* Compares the video's sha256 with the file's and reports it. */
static int check_video(struct json_object *v, const char *id, const char *sha256_hex)
{
	const char *sha = str_field(v, "sha256"), *status = str_field(v, "status");
	struct json_object *size = NULL;

	if (!sha || strcmp(sha, sha256_hex) != 0) {
		progress_complain(
			"video %s holds other bytes than the file: its SHA-256 is %s, the "
			"file's %s",
			id, sha ? sha : "missing", sha256_hex);
		return EXIT_CHECKSUM;
	}
	json_object_object_get_ex(v, "size", &size);
	progress_say("stored video %s: %lld bytes, SHA-256 verified, status %s", id,
		     (long long)json_object_get_int64(size), status ? status : "unknown");
	return EXIT_OK;
}

int video_verify(struct http *h, const char *id, const char *sha256_hex)
{
	struct json_object *v;
	int rc = get_video(h, id, &v);

	if (rc == EXIT_OK)
		rc = check_video(v, id, sha256_hex);
	json_object_put(v);
	return rc;
}

int video_wait(struct http *h, const char *id)
{
	struct json_object *v = NULL, *proc, *err;
	char last[32] = "";
	int rc;

	progress_say("waiting for video %s to be processed", id);
	for (;;) {
		const char *status;

		rc = get_video(h, id, &v);
		if (rc != EXIT_OK)
			break;
		status = str_field(v, "status");
		if (!status)
			status = "unknown";
		if (strcmp(status, last) != 0) {
			progress_say("video %s: %s", id, status);
			snprintf(last, sizeof(last), "%s", status);
		}
		if (strcmp(status, "processed") == 0)
			break;
		if (strcmp(status, "failed") == 0 || strcmp(status, "deleted") == 0) {
			const char *why = NULL;

			if (json_object_object_get_ex(v, "processing", &proc) &&
			    json_object_object_get_ex(proc, "last_error", &err) &&
			    json_object_is_type(err, json_type_string))
				why = json_object_get_string(err);
			progress_complain("video %s %s%s%s", id, status, why ? ": " : "",
					  why ? why : "");
			rc = EXIT_FAILED;
			break;
		}
		json_object_put(v);
		v = NULL;
		if (http_sleep(WAIT_POLL_SECONDS) < 0) {
			rc = EXIT_INTERRUPTED;
			break;
		}
	}
	if (rc == EXIT_INTERRUPTED)
		progress_complain(
			"interrupted while waiting; the upload itself is complete (video %s)", id);
	json_object_put(v);
	return rc;
}

/* ---------------------------------------------------------------- multipart */

/* The file part's bytes, read from the descriptor that was hashed. */
struct source {
	int fd;
	long long size, pos;
};

static size_t source_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct source *s = arg;
	size_t want = size * nitems;
	ssize_t n;

	if (s->pos >= s->size)
		return 0;
	if ((long long)want > s->size - s->pos)
		want = (size_t)(s->size - s->pos);
	do {
		n = pread(s->fd, buf, want, (off_t)s->pos);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT;
	s->pos += n;
	return (size_t)n;
}

static int source_seek(void *arg, curl_off_t offset, int origin)
{
	struct source *s = arg;

	if (origin != SEEK_SET || offset < 0 || offset > s->size)
		return CURL_SEEKFUNC_CANTSEEK;
	s->pos = offset;
	return CURL_SEEKFUNC_OK;
}

static void on_send(void *ud, long long sent)
{
	const struct source *s = ud;

	/* sent counts the form's framing too; the bar counts the file. */
	progress_sending(sent < s->size ? sent : s->size);
}

int multipart_upload(struct http *h, const struct options *o, const struct upload_file *f,
		     char **id)
{
	struct source src = {.fd = f->fd, .size = f->size};
	char *url = http_url(h, "/v1/videos"), rnd_hex[33], idem[96];
	unsigned char rnd[16];
	struct curl_slist *hl = NULL;
	struct http_resp r = {0};
	struct json_object *v = NULL;
	curl_mime *mime = curl_mime_init(h->curl);
	curl_mimepart *part;
	int attempt = 0, rc;

	*id = NULL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		progress_complain("cannot make an idempotency key: %s", strerror(errno));
		rc = EXIT_LOCAL;
		goto out;
	}
	vg_hex(rnd, sizeof(rnd), rnd_hex);
	snprintf(idem, sizeof(idem), "Idempotency-Key: vingest-upload-%s", rnd_hex);
	hl = curl_slist_append(hl, idem);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	curl_mime_data_cb(part, (curl_off_t)f->size, source_read, source_seek, NULL, &src);
	curl_mime_filename(part, f->name);
	curl_mime_type(part, f->type);
	if (o->title) {
		part = curl_mime_addpart(mime);
		curl_mime_name(part, "title");
		curl_mime_data(part, o->title, CURL_ZERO_TERMINATED);
	}
	if (o->metadata) {
		part = curl_mime_addpart(mime);
		curl_mime_name(part, "metadata");
		curl_mime_data(part, o->metadata, CURL_ZERO_TERMINATED);
	}

	h->on_send = on_send;
	h->on_send_ud = &src;
	progress_begin(f->size, 0);
	for (;;) {
		http_do(h, "POST", url, hl, NULL, mime, &r);
		progress_trace("POST %s multipart file=%lld bytes -> %ld", url, f->size, r.status);
		if (r.stopped) {
			rc = EXIT_INTERRUPTED;
		} else if (r.status == 201 || r.status == 200) {
			const char *vid;

			progress_confirmed(f->size);
			progress_end();
			v = parse_object(&r);
			vid = v ? str_field(v, "id") : NULL;
			if (!vid) {
				progress_complain("POST %s answered %ld without a video", url,
						  r.status);
				rc = EXIT_LOCAL;
			} else {
				rc = check_video(v, vid, f->sha256);
				if (rc == EXIT_OK)
					*id = vg_strdup(vid);
			}
		} else if (http_transient(&r) && attempt < HTTP_RETRIES) {
			if (http_backoff(++attempt, &r) == 0)
				continue;
			rc = EXIT_INTERRUPTED;
		} else {
			progress_end();
			rc = http_give_up("the server refused the upload", &r);
		}
		break;
	}
	progress_end();
	h->on_send = NULL;
	if (rc == EXIT_INTERRUPTED)
		progress_complain("interrupted; a multipart upload cannot be resumed (without "
				  "--multipart, uploads can)");
out:
	json_object_put(v);
	http_resp_free(&r);
	curl_slist_free_all(hl);
	curl_mime_free(mime);
	free(url);
	return rc;
}
