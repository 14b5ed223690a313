/*
 * tus_upload.c - the upload over tus 1.0.0 (see tus_upload.h).
 *
 * One run: find the state file; if it names an upload, HEAD it (200: resume
 * from its Upload-Offset; 404/410: forget it); otherwise POST /v1/uploads to
 * create one and record its URL. Then PATCH chunk after chunk, each with
 * Upload-Checksum (sha256 of that chunk) so the server appends nothing it
 * did not receive intact, and with the body read from the file as it goes
 * out. The server's Upload-Offset is the only truth about how far we are:
 *
 *   204            continue from the Upload-Offset it answered
 *   409            our offset is wrong (a chunk landed but its answer was
 *                  lost): HEAD, continue from the server's
 *   460            the chunk arrived damaged and was dropped: send it again
 *   no answer, 429, 5xx
 *                  back off (1, 2, 4 ... 30 s or Retry-After), HEAD, continue
 *   404, 410       the upload is gone: forget it
 *   other 4xx      refused: report the server's message
 *
 * The PATCH landing the last byte is answered once the video is committed,
 * so its id (the upload URL's last segment) is then a video to GET and check.
 *
 * The upload's URL comes from the server (creation's Location) or from the
 * state file, and every request to it carries the API key: one that is not
 * on the base URL's origin is refused here with its own message (and by
 * http_do in any case), never followed.
 */
#include "tus_upload.h"
#include "progress.h"
#include "state.h"
#include "videos.h"
#include "vg_alloc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUS_RESUMABLE	 "Tus-Resumable: 1.0.0"
#define READ_BLOCK	 (64 * 1024)
#define CHECKSUM_RETRIES 3 /* 460 answers in a row for one chunk */
#define CONFLICT_RETRIES 5 /* 409s (or unusable 204s) in a row without a 204 */

struct tus {
	struct http *h;
	const struct options *o;
	const struct upload_file *f;
	char *state;	     /* the state file's path */
	int saved;	     /* the state file names this upload */
	char *url;	     /* the upload's absolute URL */
	long long offset;    /* the server's offset as last heard, -1: not yet */
	long long in_flight; /* offset of the PATCH being sent, for the progress bar */
};

static char *base64(const void *in, size_t n)
{
	char *out = vg_malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

/* "Upload-Metadata: filename <b64>,filetype <b64>,title <b64>,metadata <b64>" */
static char *metadata_header(const struct options *o, const struct upload_file *f)
{
	char *name = base64(f->name, strlen(f->name));
	char *type = base64(f->type, strlen(f->type));
	char *title = o->title ? base64(o->title, strlen(o->title)) : NULL;
	char *meta = o->metadata ? base64(o->metadata, strlen(o->metadata)) : NULL;
	char *hdr = vg_asprintf("Upload-Metadata: filename %s,filetype %s%s%s%s%s", name, type,
				title ? ",title " : "", title ? title : "",
				meta ? ",metadata " : "", meta ? meta : "");

	free(name);
	free(type);
	free(title);
	free(meta);
	return hdr;
}

/* "Upload-Checksum: sha256 <b64>" of len bytes of the file from offset, read
 * in blocks (the chunk is read again as it is sent: never held whole). */
static char *checksum_header(const struct upload_file *f, long long offset, long long len)
{
	static unsigned char buf[READ_BLOCK];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *b64, *hdr = NULL;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	while (len > 0) {
		size_t want = len < (long long)sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t n = pread(f->fd, buf, want, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			progress_complain("cannot read %s: %s", f->path,
					  n < 0 ? strerror(errno)
						: "it is shorter than when the upload began");
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			abort();
		offset += n;
		len -= n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		abort();
	b64 = base64(md, mdlen);
	hdr = vg_asprintf("Upload-Checksum: sha256 %s", b64);
	free(b64);
out:
	EVP_MD_CTX_free(ctx);
	return hdr;
}

/* The video id: the upload URL's last path segment. */
static char *url_id(const char *url)
{
	const char *end = url + strcspn(url, "?#"), *s = end;

	while (s > url && s[-1] != '/')
		s--;
	return s < end ? vg_strndup(s, (size_t)(end - s)) : NULL;
}

static int percent(long long done, long long total)
{
	return total > 0 ? (int)(done * 100 / total) : 100;
}

/* HEAD the upload into t->offset; *gone when the server no longer has it
 * (404, 410, or an upload of another length). Returns an exit code. */
static int head(struct tus *t, int *gone)
{
	struct curl_slist *hl = curl_slist_append(NULL, TUS_RESUMABLE);
	struct http_resp r = {0};
	int attempt = 0, rc;

	*gone = 0;
	for (;;) {
		http_do(t->h, "HEAD", t->url, hl, NULL, NULL, &r);
		progress_trace("HEAD %s -> %ld upload-offset=%lld upload-length=%lld", t->url,
			       r.status, r.upload_offset, r.upload_length);
		if (r.stopped) {
			rc = EXIT_INTERRUPTED;
		} else if (r.status == 404 || r.status == 410) {
			*gone = 1;
			rc = EXIT_OK;
		} else if (r.status == 200 && r.upload_length >= 0 &&
			   r.upload_length != t->f->size) {
			progress_say("the upload at %s is %lld bytes long, the file %lld", t->url,
				     r.upload_length, t->f->size);
			*gone = 1;
			rc = EXIT_OK;
		} else if (r.status == 200 && r.upload_offset >= 0 &&
			   r.upload_offset <= t->f->size) {
			t->offset = r.upload_offset;
			rc = EXIT_OK;
		} else if (r.status == 200) {
			progress_complain("HEAD %s answered 200 without a usable Upload-Offset",
					  t->url);
			rc = EXIT_LOCAL;
		} else if (http_transient(&r) && attempt < HTTP_RETRIES) {
			if (http_backoff(++attempt, &r) == 0)
				continue;
			rc = EXIT_INTERRUPTED;
		} else {
			rc = http_give_up("cannot look up the upload", &r);
		}
		break;
	}
	http_resp_free(&r);
	curl_slist_free_all(hl);
	return rc;
}

/* POST /v1/uploads; records the new upload's URL in the state file. */
static int create(struct tus *t)
{
	char *endpoint = http_url(t->h, "/v1/uploads"), length[64];
	struct curl_slist *hl = NULL;
	struct http_resp r = {0};
	int attempt = 0, rc;
	char *meta = metadata_header(t->o, t->f);

	snprintf(length, sizeof(length), "Upload-Length: %lld", t->f->size);
	hl = curl_slist_append(hl, TUS_RESUMABLE);
	hl = curl_slist_append(hl, length);
	hl = curl_slist_append(hl, meta);
	for (;;) {
		http_do(t->h, "POST", endpoint, hl, NULL, NULL, &r);
		progress_trace("POST %s upload-length=%lld -> %ld location=%s", endpoint,
			       t->f->size, r.status, r.location ? r.location : "-");
		if (r.stopped) {
			rc = EXIT_INTERRUPTED;
		} else if (r.status == 201) {
			t->url = r.location ? http_resolve(t->h, r.location) : NULL;
			rc = EXIT_OK;
			if (!t->url) {
				progress_complain("POST %s answered 201 without a usable Location",
						  endpoint);
				rc = EXIT_LOCAL;
			} else if (!http_on_origin(t->h, t->url)) {
				/* Every PATCH would carry the key there. */
				progress_complain(
					"POST %s answered 201 with Location %s, which is not on "
					"%s: not sending the API key there, so not uploading",
					endpoint, t->url, t->h->origin);
				free(t->url);
				t->url = NULL;
				rc = EXIT_LOCAL;
			}
		} else if (http_transient(&r) && attempt < HTTP_RETRIES) {
			if (http_backoff(++attempt, &r) == 0)
				continue;
			rc = EXIT_INTERRUPTED;
		} else {
			rc = http_give_up("the server refused the upload", &r);
		}
		break;
	}
	if (rc == EXIT_OK) {
		t->offset = 0;
		if (state_save(t->state, t->url, t->f->size, t->f->sha256, t->f->path) == 0)
			t->saved = 1;
		else
			progress_complain(
				"continuing, but this upload cannot be resumed if interrupted");
	}
	http_resp_free(&r);
	curl_slist_free_all(hl);
	free(meta);
	free(endpoint);
	return rc;
}

static void on_send(void *ud, long long sent)
{
	struct tus *t = ud;

	progress_sending(t->in_flight + sent);
}

static int gone_midway(struct tus *t, long status)
{
	state_remove(t->state);
	t->saved = 0;
	progress_complain("the upload is gone from the server (HTTP %ld: expired or terminated); "
			  "run the same command again to start over",
			  status);
	return EXIT_REFUSED;
}

/* PATCHes from t->offset to the end. Returns an exit code. */
static int send_rest(struct tus *t)
{
	struct http_body body = {.fd = t->f->fd};
	struct http_resp r = {0};
	int attempt = 0, bad_sums = 0, conflicts = 0, gone, rc = EXIT_OK;
	char offset_hdr[64], *sum = NULL;
	long long size = t->f->size;

	t->h->on_send = on_send;
	t->h->on_send_ud = t;
	while (t->offset < size) {
		long long len =
			size - t->offset < t->o->chunk_size ? size - t->offset : t->o->chunk_size;
		struct curl_slist *hl = NULL;

		free(sum);
		sum = checksum_header(t->f, t->offset, len);
		if (!sum) {
			rc = EXIT_LOCAL;
			break;
		}
		snprintf(offset_hdr, sizeof(offset_hdr), "Upload-Offset: %lld", t->offset);
		hl = curl_slist_append(hl, TUS_RESUMABLE);
		hl = curl_slist_append(hl, offset_hdr);
		hl = curl_slist_append(hl, "Content-Type: application/offset+octet-stream");
		hl = curl_slist_append(hl, sum);
		body.offset = t->offset;
		body.length = len;
		t->in_flight = t->offset;
		http_do(t->h, "PATCH", t->url, hl, &body, NULL, &r);
		curl_slist_free_all(hl);
		progress_trace(
			"PATCH %s offset=%lld length=%lld sent=%lld -> %s%ld upload-offset=%lld%s%s",
			t->url, t->offset, len, body.sent, r.stopped ? "stopped " : "", r.status,
			r.upload_offset, r.status ? "" : " error=", r.status ? "" : r.error);

		if (r.stopped) {
			rc = EXIT_INTERRUPTED;
			break;
		}
		if (r.status == 204 && r.upload_offset > t->offset && r.upload_offset <= size) {
			t->offset = r.upload_offset;
			attempt = bad_sums = conflicts = 0;
			progress_confirmed(t->offset);
			continue;
		}
		if (r.status == 204 || r.status == 409) {
			/* 409: our offset is not the server's (a chunk landed but its
			 * answer was lost), or another PATCH still holds the upload.
			 * A 204 without a usable offset: ask too. Again and again
			 * means something is racing us: give it time. */
			if (++conflicts > CONFLICT_RETRIES) {
				rc = http_give_up("the upload's offset cannot be agreed on", &r);
				break;
			}
			if (conflicts > 1 && http_backoff(conflicts - 1, &r) < 0) {
				rc = EXIT_INTERRUPTED;
				break;
			}
			rc = head(t, &gone);
			if (rc != EXIT_OK)
				break;
			if (gone) {
				rc = gone_midway(t, 404);
				break;
			}
			continue;
		}
		if (r.status == 460) {
			if (++bad_sums > CHECKSUM_RETRIES) {
				progress_complain(
					"the server's checksum of bytes %lld-%lld differed from ours "
					"%d times in a row: is the file being changed?",
					t->offset, t->offset + len - 1, bad_sums);
				rc = EXIT_CHECKSUM;
				break;
			}
			progress_say(
				"the chunk at offset %lld arrived damaged (HTTP 460); sending it again",
				t->offset);
			continue;
		}
		if (r.status == 404 || r.status == 410) {
			rc = gone_midway(t, r.status);
			break;
		}
		if (http_transient(&r) && attempt < HTTP_RETRIES) {
			if (http_backoff(++attempt, &r) < 0) {
				rc = EXIT_INTERRUPTED;
				break;
			}
			/* The chunk may have landed before the failure: ask. */
			rc = head(t, &gone);
			if (rc != EXIT_OK)
				break;
			if (gone) {
				rc = gone_midway(t, 404);
				break;
			}
			continue;
		}
		if (r.status == 415 || r.status == 422) {
			/* The whole file arrived and its content is refused: a
			 * resume would be refused the same way. */
			state_remove(t->state);
			t->saved = 0;
		}
		rc = http_give_up("the server refused the upload", &r);
		break;
	}
	t->h->on_send = NULL;
	free(sum);
	http_resp_free(&r);
	return rc;
}

int tus_upload(struct http *h, const struct options *o, const struct upload_file *f, char **id)
{
	struct tus t = {.h = h, .o = o, .f = f, .offset = -1};
	char *vid = NULL;
	int rc = EXIT_OK, gone;

	*id = NULL;
	t.state = state_path(o->state_dir, f->sha256, h->base);
	progress_trace("state file %s", t.state);
	t.url = state_load(t.state, f->size, f->sha256);
	if (t.url && !http_on_origin(h, t.url)) {
		/* Not written by this version (create() keeps such a Location
		 * out), or edited: resuming would send the key off the origin. */
		progress_complain("the state file %s names an upload at %s, which is not on %s: "
				  "ignoring it and starting a new upload",
				  t.state, t.url, h->origin);
		state_remove(t.state);
		free(t.url);
		t.url = NULL;
	}
	if (t.url) {
		t.saved = 1;
		rc = head(&t, &gone);
		if (rc != EXIT_OK)
			goto out;
		if (gone) {
			progress_say(
				"the server no longer has the interrupted upload; starting a new one");
			state_remove(t.state);
			t.saved = 0;
			free(t.url);
			t.url = NULL;
		} else {
			progress_say("resuming at %d%% (%lld of %lld bytes already on the server)",
				     percent(t.offset, f->size), t.offset, f->size);
		}
	}
	if (!t.url) {
		rc = create(&t);
		if (rc != EXIT_OK)
			goto out;
	}
	vid = url_id(t.url);
	if (!vid) {
		progress_complain("the upload URL %s names no video", t.url);
		rc = EXIT_LOCAL;
		goto out;
	}
	progress_begin(f->size, t.offset);
	rc = send_rest(&t);
	progress_end();
	if (rc != EXIT_OK)
		goto out;
	rc = video_verify(h, vid, f->sha256);
	if (rc == EXIT_OK || rc == EXIT_CHECKSUM)
		state_remove(t.state); /* complete: nothing left to resume */
	if (rc == EXIT_OK) {
		*id = vid;
		vid = NULL;
	}
out:
	if (rc == EXIT_INTERRUPTED) {
		progress_end();
		if (t.saved && t.offset >= 0)
			progress_complain("interrupted at %d%% (%lld of %lld bytes on the server); "
					  "run the same command again to resume",
					  percent(t.offset, f->size), t.offset, f->size);
		else if (t.saved)
			progress_complain("interrupted; run the same command again to resume");
		else
			progress_complain("interrupted before the upload began; nothing to resume");
	}
	free(vid);
	free(t.url);
	free(t.state);
	return rc;
}
