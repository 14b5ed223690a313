/*
 * http.c - requests over one libcurl easy handle (see http.h).
 *
 * The handle is reset before each request (curl_easy_reset keeps live
 * connections), so every request states all its options and none leaks into
 * the next. Bodies are read from the file with pread(2) as libcurl asks for
 * them: a chunk never sits in memory whole. A signal stops a transfer through
 * the transfer-info callback, which libcurl calls at least once a second even
 * while nothing moves.
 *
 * The Authorization header is one of our own headers: libcurl sends it with
 * the request wherever the URL points. So the key's confinement to the base
 * URL's origin is decided here, where every request passes: origins are
 * compared as libcurl's URL parser (CURLU) reads them, the same parser that
 * decides where the request connects, and redirects are not followed
 * (libcurl before 7.83 sends our Authorization header on to a redirect's
 * target on the same host and another port, before 7.58 to any host; newer
 * ones drop it there, but the request, its other headers and the file's
 * bytes would still go).
 */
#include "config.h"
#include "http.h"
#include "client.h"
#include "progress.h"
#include "vg_alloc.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOW_SPEED_SECONDS   120L /* a transfer with no byte moving this long is dead */
#define RETRY_AFTER_MAX	    600L
#define BACKOFF_MAX_SECONDS 30

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

char *http_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *ret = NULL;

	if (!u)
		abort(); /* out of memory, as vg_malloc would */
	/* Without CURLU_GUESS_SCHEME or CURLU_DEFAULT_SCHEME: a URL without a
	 * scheme is not absolute, and has no origin. */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	lower(scheme);
	lower(host);
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		goto out;
	ret = vg_asprintf("%s://%s:%s", scheme, host, port);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

int http_on_origin(const struct http *h, const char *url)
{
	char *origin = http_origin(url);
	int same = origin && strcmp(origin, h->origin) == 0;

	free(origin);
	return same;
}

int http_init(struct http *h, const char *base, const char *key, long long limit_rate)
{
	size_t n = strlen(base);

	memset(h, 0, sizeof(*h));
	h->origin = http_origin(base);
	if (!h->origin)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	h->curl = curl_easy_init();
	if (!h->curl)
		return -1;
	while (n > 0 && base[n - 1] == '/')
		n--;
	h->base = vg_strndup(base, n);
	h->auth = vg_asprintf("Authorization: Bearer %s", key);
	h->limit_rate = limit_rate;
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
	free(h->base);
	h->base = NULL;
	free(h->origin);
	h->origin = NULL;
	if (h->auth) /* the key should not linger in freed memory */
		explicit_bzero(h->auth, strlen(h->auth));
	free(h->auth);
	h->auth = NULL;
	curl_global_cleanup();
}

void http_resp_free(struct http_resp *r)
{
	if (!r)
		return;
	free(r->location);
	vg_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

static void resp_reset(struct http_resp *r)
{
	http_resp_free(r);
	r->upload_offset = -1;
	r->upload_length = -1;
	r->retry_after = -1;
	vg_buf_init(&r->body, HTTP_BODY_MAX);
}

static long long parse_count(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < 0)
		return -1;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb, len = n;
	char line[2048], *colon, *v;

	/* A new status line starts a new header block (after a 100 Continue). */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		free(r->location);
		r->location = NULL;
		r->upload_offset = r->upload_length = -1;
		r->retry_after = -1;
		return n;
	}
	if (len >= sizeof(line))
		return n; /* no header we read is that long */
	memcpy(line, data, len);
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	line[len] = '\0';
	colon = strchr(line, ':');
	if (!colon)
		return n;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (strcasecmp(line, "Upload-Offset") == 0) {
		r->upload_offset = parse_count(v);
	} else if (strcasecmp(line, "Upload-Length") == 0) {
		r->upload_length = parse_count(v);
	} else if (strcasecmp(line, "Location") == 0) {
		free(r->location);
		r->location = vg_strdup(v);
	} else if (strcasecmp(line, "Retry-After") == 0) {
		/* Only the delta-seconds form; an HTTP-date falls back to our back-off. */
		long long s = parse_count(v);

		r->retry_after = s < 0 ? -1 : s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)s;
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb, room = vg_buf_room(&r->body);

	/* Cut, not refused: the transfer runs on, so a long answer still counts
	 * by its status (a tus PATCH's 204 matters, not its body). */
	vg_buf_append(&r->body, data, n < room ? n : room);
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_body *b = ud;
	long long left = b->length - b->sent;
	size_t want = size * nitems;
	ssize_t got;

	if (left <= 0)
		return 0;
	if ((long long)want > left)
		want = (size_t)left;
	do {
		got = pread(b->fd, buf, want, (off_t)(b->offset + b->sent));
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		b->read_error = errno;
		return CURL_READFUNC_ABORT;
	}
	if (got == 0) {
		b->read_error = -1; /* the file is shorter than when we started */
		return CURL_READFUNC_ABORT;
	}
	b->sent += got;
	return (size_t)got;
}

/* libcurl rewinds a body it must send again (a reused connection that the
 * server had closed, say). */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct http_body *b = ud;

	if (origin != SEEK_SET || offset < 0 || offset > b->length)
		return CURL_SEEKFUNC_CANTSEEK;
	b->sent = offset;
	return CURL_SEEKFUNC_OK;
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	struct http *h = ud;

	if (client_stop)
		return 1; /* CURLE_ABORTED_BY_CALLBACK */
	if (h->on_send && ulnow > 0)
		h->on_send(h->on_send_ud, (long long)ulnow);
	return 0;
}

int http_do(struct http *h, const char *method, const char *url, struct curl_slist *headers,
	    struct http_body *body, curl_mime *mime, struct http_resp *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hl = NULL, *s;
	CURL *c = h->curl;
	CURLcode rc;
	int ret = -1;

	resp_reset(r);
	if (!http_on_origin(h, url)) {
		r->off_origin = 1;
		snprintf(r->error, sizeof(r->error),
			 "not sending the API key to %s: it is not on %s", url, h->origin);
		return -1;
	}
	curl_easy_reset(c);
	hl = curl_slist_append(hl, h->auth);
	for (s = headers; s; s = s->next)
		hl = curl_slist_append(hl, s->data);
	/* Bodies go at once: no round trip waiting for 100 Continue. */
	hl = curl_slist_append(hl, "Expect:");

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vingest-upload/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* The default, said out loud: a redirect is an answer, not a new
	 * destination for the request (see the top of this file). */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* Also a default: through a proxy's CONNECT tunnel, our headers go to
	 * the server only, never to the proxy. */
	curl_easy_setopt(c, CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	if (h->limit_rate > 0)
		curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)h->limit_rate);

	if (body) {
		body->sent = 0;
		body->read_error = 0;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body->length);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, body);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, body);
	} else if (mime) {
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		hl = curl_slist_append(hl, "Content-Type:"); /* no form to speak of */
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

	rc = curl_easy_perform(c);
	if (rc == CURLE_ABORTED_BY_CALLBACK || (rc != CURLE_OK && client_stop)) {
		r->stopped = 1;
		snprintf(r->error, sizeof(r->error), "stopped by a signal");
	} else if (body && body->read_error) {
		snprintf(r->error, sizeof(r->error), "cannot read the file: %s",
			 body->read_error > 0 ? strerror(body->read_error)
					      : "it is shorter than when the upload began");
	} else if (rc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		ret = 0;
	}
	/* errbuf and the header list live on this stack frame only */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	return ret;
}

char *http_url(const struct http *h, const char *path)
{
	return vg_asprintf("%s%s", h->base, path);
}

char *http_resolve(const struct http *h, const char *location)
{
	CURLU *u = curl_url();
	char *out = NULL, *ret = NULL;

	if (!u)
		return NULL;
	/* With a URL set, a relative one is resolved against it (RFC 3986). */
	if (curl_url_set(u, CURLUPART_URL, h->base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		ret = vg_strdup(out);
	curl_free(out);
	curl_url_cleanup(u);
	return ret;
}

int http_transient(const struct http_resp *r)
{
	if (r->stopped || r->off_origin)
		return 0;
	if (r->status == 0 || r->status == 429)
		return 1;
	return r->status >= 500 && r->status != 501 && r->status != 505;
}

void http_describe(const struct http_resp *r, char *buf, size_t n)
{
	struct json_object *root = NULL, *err, *msg, *code;

	if (r->off_origin) {
		snprintf(buf, n, "%s", r->error);
		return;
	}
	if (r->status == 0) {
		snprintf(buf, n, "no answer: %s", r->error[0] ? r->error : "unknown error");
		return;
	}
	if (r->status >= 300 && r->status < 400 && r->location) {
		/* Not followed (see http_do): say where it pointed. */
		snprintf(buf, n,
			 "HTTP %ld, a redirect to %s: not followed (vingest-upload follows no "
			 "redirects; if the API has moved, give its new URL with -u)",
			 r->status, r->location);
		return;
	}
	if (vg_buf_len(&r->body) > 0)
		root = json_tokener_parse(vg_buf_str(&r->body));
	if (root && json_object_object_get_ex(root, "error", &err) &&
	    json_object_object_get_ex(err, "message", &msg) &&
	    json_object_is_type(msg, json_type_string)) {
		if (json_object_object_get_ex(err, "code", &code) &&
		    json_object_is_type(code, json_type_string))
			snprintf(buf, n, "%s (HTTP %ld, %s)", json_object_get_string(msg),
				 r->status, json_object_get_string(code));
		else
			snprintf(buf, n, "%s (HTTP %ld)", json_object_get_string(msg), r->status);
	} else {
		snprintf(buf, n, "HTTP %ld", r->status);
	}
	json_object_put(root);
}

int http_give_up(const char *what, const struct http_resp *r)
{
	char why[512];

	http_describe(r, why, sizeof(why));
	progress_complain("%s: %s", what, why);
	if (http_transient(r))
		return EXIT_LOCAL; /* retries ran out */
	return r->status >= 400 ? EXIT_REFUSED : EXIT_LOCAL;
}

int http_sleep(long seconds)
{
	struct timespec slice = {0, 100 * 1000 * 1000};

	/* In slices: a signal may arrive just before nanosleep would see it. */
	for (long i = 0; i < seconds * 10; i++) {
		if (client_stop)
			return -1;
		nanosleep(&slice, NULL);
	}
	return client_stop ? -1 : 0;
}

int http_backoff(int attempt, const struct http_resp *r)
{
	char why[512];
	long delay = BACKOFF_MAX_SECONDS;

	if (attempt < 6)
		delay = 1L << (attempt - 1);
	if (r->retry_after >= 0)
		delay = r->retry_after;
	http_describe(r, why, sizeof(why));
	progress_say("%s; retrying in %ld s (attempt %d of %d)", why, delay, attempt + 1,
		     HTTP_RETRIES + 1);
	return http_sleep(delay);
}
