/*
 * call.c - the processing-service client on libcurl's multi interface (see call.h).
 */
#include "config.h"
#include "call.h"
#include "answer.h"
#include "job.h"
#include "wmetrics.h"
#include "vg_alloc.h"
#include "vg_buf.h"
#include "vg_config.h"
#include "vg_log.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int call_init(struct caller *c, const struct vg_config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	c->multi = curl_multi_init();
	if (!c->multi)
		return -1;
	/* Reuse connections; HTTP/1.1 keep-alive to one service. */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->workers.concurrency);
	return 0;
}

void call_free(struct caller *c)
{
	if (c && c->multi) {
		curl_multi_cleanup(c->multi);
		c->multi = NULL;
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t n = size * nmemb;

	/* A result is at most ANSWER_RESULT_MAX and an error is read for an
	 * excerpt: past ANSWER_BODY_MAX the answer is of no use, and reading
	 * on would let the service fill the worker's memory. The buffer is
	 * then overflowed, which is how worker.c tells this stop from others. */
	if (vg_buf_append(&j->response, data, n) < 0)
		return 0; /* abort the transfer: CURLE_WRITE_ERROR */
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		long v = strtol(data + 12, NULL, 10);

		/* Only the delta-seconds form; an HTTP-date falls back to our own back-off. */
		if (v >= 0 && v < 86400)
			j->retry_after_s = v;
	}
	return n;
}

static void reset_response(struct job *j)
{
	vg_buf_free(&j->response);
	vg_buf_init(&j->response, ANSWER_BODY_MAX);
	j->retry_after_s = -1;
	j->call_ms = 0;
}

static CURL *new_easy(struct caller *c, struct job *j)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->cfg->processor.timeout_seconds);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* Never follow a redirect: a Location is the service naming another
	 * place to send the call, which is exactly what a status_url may not do
	 * unless it is on the service's origin (status_url.h). Off is libcurl's
	 * default; it is said here so that it stays so, and should it ever be
	 * turned on, no redirect may leave http(s) or be followed at all. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "vingest-workers/" PACKAGE_VERSION);
	return e;
}

/* The media type the service is told: what vingest's own inspection found
 * (the container), not what the client claimed; the client's only when the
 * container is unknown. */
static const char *media_type(const struct job *j)
{
	static const struct {
		const char *container, *type;
	} types[] = {{"mp4", "video/mp4"},
		     {"mov", "video/quicktime"},
		     {"webm", "video/webm"},
		     {"mkv", "video/x-matroska"}};

	for (size_t i = 0; j->container && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(j->container, types[i].container) == 0)
			return types[i].type;
	return j->content_type ? j->content_type : "application/octet-stream";
}

static char *request_json(const struct job *j, const char *object_url)
{
	struct json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "job_id", json_object_new_int64(j->id));
	json_object_object_add(o, "video_id", json_object_new_string(j->video_id));
	json_object_object_add(o, "object_url",
			       object_url ? json_object_new_string(object_url) : NULL);
	json_object_object_add(o, "size", json_object_new_int64(j->size));
	json_object_object_add(o, "sha256", json_object_new_string(j->sha256));
	json_object_object_add(o, "content_type", json_object_new_string(media_type(j)));
	json_object_object_add(o, "container",
			       j->container ? json_object_new_string(j->container) : NULL);
	json_object_object_add(o, "duration_ms",
			       j->duration_ms >= 0 ? json_object_new_int64(j->duration_ms) : NULL);
	json_object_object_add(o, "attempt", json_object_new_int64(j->attempt));
	s = vg_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

int call_start_post(struct caller *c, struct job *j, const char *object_url)
{
	struct curl_slist *h = NULL;
	char idem[64];
	CURL *e;

	reset_response(j);
	free(j->request_body);
	j->request_body = request_json(j, object_url);
	e = new_easy(c, j);
	if (!e)
		return -1;
	/* The same key on every attempt: a repeat after a lost answer is harmless. */
	snprintf(idem, sizeof(idem), "Idempotency-Key: %lld", j->id);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, idem);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, c->cfg->processor.url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->request_body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->request_body));
	j->easy = e;
	j->headers = h;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		call_abort(c, j);
		return -1;
	}
	c->active++;
	return 0;
}

int call_start_poll(struct caller *c, struct job *j)
{
	struct curl_slist *h = NULL;
	char idem[64];
	CURL *e;

	reset_response(j);
	e = new_easy(c, j);
	if (!e)
		return -1;
	snprintf(idem, sizeof(idem), "Idempotency-Key: %lld", j->id);
	h = curl_slist_append(h, idem);
	curl_easy_setopt(e, CURLOPT_URL, j->status_url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	j->easy = e;
	j->headers = h;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		call_abort(c, j);
		return -1;
	}
	c->active++;
	return 0;
}

static void detach(struct caller *c, struct job *j)
{
	if (j->easy) {
		if (curl_multi_remove_handle(c->multi, j->easy) == CURLM_OK && c->active > 0)
			c->active--;
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	if (j->headers) {
		curl_slist_free_all(j->headers);
		j->headers = NULL;
	}
}

void call_abort(struct caller *c, struct job *j)
{
	detach(c, j);
}

void call_perform(struct caller *c, int timeout_ms, call_done_fn done, void *ud)
{
	int running = 0, left = 0;
	CURLMsg *msg;

	curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(c->multi, &running);
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct job *j = NULL;
		long status = 0;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		{
			curl_off_t us = 0;

			curl_easy_getinfo(msg->easy_handle, CURLINFO_TOTAL_TIME_T, &us);
			wmetrics_call((int)rc, rc == CURLE_OK ? status : 0, (double)us / 1e6);
			j->call_ms = (long long)(us / 1000);
		}
		detach(c, j);
		done(ud, j, (int)rc, status);
	}
}
