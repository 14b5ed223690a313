/*
 * request.c - FastCGI request parameters, bounded body reads and JSON answers.
 */
#include "request.h"
#include "child.h"
#include "vg_config.h"
#include "vg_alloc.h"
#include "vg_base64.h"
#include "vg_id.h"
#include "vg_hash.h"
#include "vg_log.h"
#include "vg_time.h"

#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 303:
		return "See Other";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 410:
		return "Gone";
	case 412:
		return "Precondition Failed";
	case 429:
		return "Too Many Requests";
	case 460:
		return "Checksum Mismatch";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return "Status";
	}
}

/* The authorizer's request id (one upload, one id in the logs), else
 * X-Request-Id from the client if it is a sane token, else a fresh one. */
static void set_request_id(struct request *r)
{
	const char *given = request_param(r, "VINGEST_REQUEST_ID");
	unsigned char raw[12];

	if (!given)
		given = request_param(r, "REDIRECT_VINGEST_REQUEST_ID");
	if (!given)
		given = request_param(r, "HTTP_X_REQUEST_ID");

	if (given) {
		size_t n = strlen(given), i;

		for (i = 0; i < n && i < sizeof(r->request_id) - 1; i++) {
			char c = given[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
				break;
		}
		if (n > 0 && i == n) {
			memcpy(r->request_id, given, n + 1);
			return;
		}
	}
	if (vg_random_bytes(raw, sizeof(raw)) < 0)
		memset(raw, 0, sizeof(raw));
	vg_hex(raw, sizeof(raw), r->request_id);
}

/* A non-negative decimal count, or -1 when absent or malformed. */
static long long parse_count(const char *s)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 ? v : -1;
}

/*
 * A FastCGI Authorizer that admitted the request (gate.c) hands its verdict
 * to the responder as variables: VINGEST_USER (the key's user) and
 * VINGEST_AUTH (bearer or basic), and VINGEST_COUNTED (body bytes already
 * counted against the byte budget). Only the web server can set a variable
 * without an HTTP_ prefix - a client's headers all get one - and only a web
 * server may connect to this process (http.listen_allow), so they are
 * trusted as the key lookup's own result.
 */
static void set_gated(struct request *r)
{
	long long user = parse_count(request_param(r, "VINGEST_USER"));
	const char *auth = request_param(r, "VINGEST_AUTH");

	if (user <= 0 || !auth || (strcmp(auth, "bearer") != 0 && strcmp(auth, "basic") != 0))
		return;
	r->gated = 1;
	r->user_id = user;
	r->auth_basic = strcmp(auth, "basic") == 0;
	r->counted_bytes = parse_count(request_param(r, "VINGEST_COUNTED"));
	if (r->counted_bytes < 0)
		r->counted_bytes = 0;
}

int request_init(struct request *r, FCGX_Request *fcgi, struct child *child)
{
	const char *uri, *cl, *q;
	size_t plen;

	memset(r, 0, sizeof(*r));
	r->fcgi = fcgi;
	r->child = child;
	r->content_length = -1;
	r->started_ms = vg_mono_ms();
	set_request_id(r);
	r->method = request_param(r, "REQUEST_METHOD");
	if (!r->method)
		r->method = "";

	uri = request_param(r, "REQUEST_URI");
	if (!uri) {
		/* some web servers give only SCRIPT_NAME + PATH_INFO */
		const char *sn = request_param(r, "SCRIPT_NAME"),
			   *pi = request_param(r, "PATH_INFO");

		snprintf(r->path, sizeof(r->path), "%s%s", sn ? sn : "", pi ? pi : "");
		q = request_param(r, "QUERY_STRING");
		r->query = q ? q : "";
	} else {
		q = strchr(uri, '?');
		plen = q ? (size_t)(q - uri) : strlen(uri);
		if (plen >= sizeof(r->path))
			return -1;
		memcpy(r->path, uri, plen);
		r->path[plen] = '\0';
		r->query = q ? q + 1 : "";
	}

	/* An authorizer is not told CONTENT_LENGTH (the body is not its
	 * business); lighttpd passes the header as HTTP_CONTENT_LENGTH, and
	 * Apache's configuration copies it into VINGEST_CONTENT_LENGTH. */
	q = request_param(r, "FCGI_ROLE");
	r->authorizer = q && strcmp(q, "AUTHORIZER") == 0;
	cl = request_param(r, "CONTENT_LENGTH");
	if (r->authorizer && (!cl || !*cl))
		cl = request_param(r, "HTTP_CONTENT_LENGTH");
	if (r->authorizer && (!cl || !*cl))
		cl = request_param(r, "VINGEST_CONTENT_LENGTH");
	r->content_length = parse_count(cl);
	if (!r->authorizer) {
		set_gated(r);
		/* An authorizer's refusal handed on to be answered here (see
		 * gate.c); after Apache's internal redirect its name has a
		 * REDIRECT_ prefix. */
		r->refusal = request_param(r, "VINGEST_REFUSAL");
		if (!r->refusal)
			r->refusal = request_param(r, "REDIRECT_VINGEST_REFUSAL");
	}
	return 0;
}

const char *request_param(const struct request *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

/* Bytes of the current FastCGI record libfcgi already holds: reading them
 * never blocks. (FCGX_Stream's fields are public in fcgiapp.h; libfcgi may
 * hold more in later records, which this does not see.) */
static long buffered(const FCGX_Stream *in)
{
	return in->isClosed ? 0 : (long)(in->stop - in->rdNext);
}

/* When the next body byte is due (vg_mono_ms), under http.body_min_rate;
 * 0 when there is no floor. */
static int64_t body_due_ms(const struct request *r)
{
	const struct vg_config *cfg = r->child->cfg;
	long long rate = cfg->http.body_min_rate;

	if (rate <= 0)
		return 0;
	return r->started_ms + cfg->http.body_grace_seconds * 1000 + r->body_read * 1000 / rate;
}

/* Before a read that may block: the socket's receive timeout must let the
 * read wait until the next byte is due, and not much longer. It is set again
 * only when it falls outside [left, left + left/8 + 1 s]: a body arriving
 * fast pushes its due time ahead by the rate's reciprocal at every read (half
 * a second per 8 KiB at 16 KiB/s), and a setsockopt(2) for each libfcgi
 * buffer was a third of a large upload's system calls. A blocked read is
 * thus never cut before the byte is due, and at most an eighth (and a
 * second) after. 0, or -1 when the time has passed already. */
static int arm_deadline(struct request *r, int64_t due)
{
	int64_t left = due - vg_mono_ms();
	int64_t slack = left / 8 + 1000;
	struct timeval tv;

	if (left <= 0)
		return -1;
	if (r->armed_ms >= left && r->armed_ms <= left + slack)
		return 0;
	r->armed_ms = left + slack / 2;
	tv.tv_sec = (time_t)(r->armed_ms / 1000);
	tv.tv_usec = (suseconds_t)(r->armed_ms % 1000) * 1000;
	setsockopt(r->fcgi->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

static void too_slow(struct request *r)
{
	r->body_error = 1;
	r->body_too_slow = 1;
	vg_warn("msg=\"request body too slow; giving up\" request_id=%s read=%lld expected=%lld "
		"seconds=%.1f min_rate=%lld",
		r->request_id, r->body_read, r->content_length,
		(double)(vg_mono_ms() - r->started_ms) / 1000.0, r->child->cfg->http.body_min_rate);
}

long request_read(struct request *r, char *buf, size_t len)
{
	long long left;
	long avail;
	int64_t due;
	int n, want;

	if (r->body_error)
		return -1;
	left = r->content_length < 0 ? 0 : r->content_length - r->body_read;
	if (left <= 0)
		return 0;
	if ((long long)len > left)
		len = (size_t)left;
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30;
	/* With a rate floor, take what the current record holds; when it is
	 * used up, ask for one byte with the socket's timeout set to when that
	 * byte is due. FCGX_GetStr blocks until it has every byte asked for, so
	 * asking for more than is there would let a client sending a byte now
	 * and then hold the child at will. */
	due = body_due_ms(r);
	avail = buffered(r->fcgi->in);
	if (due && avail <= 0 && arm_deadline(r, due) < 0) {
		too_slow(r);
		return -1;
	}
	want = !due ? (int)len : avail > 0 ? (int)((size_t)avail < len ? (size_t)avail : len) : 1;
	n = FCGX_GetStr(buf, want, r->fcgi->in);
	r->body_read += n;
	if (n < want) {
		/* FCGX_GetStr returns short only at end of stream or on error: the
		 * body is shorter than announced, or the receive timeout struck
		 * (the deadline passed), so the upload is aborted. */
		if (due && vg_mono_ms() >= due) {
			too_slow(r);
			return n > 0 ? n : -1;
		}
		r->body_error = 1;
		vg_warn("msg=\"request body ended early\" request_id=%s read=%lld expected=%lld "
			"stream_error=%d",
			r->request_id, r->body_read, r->content_length, FCGX_GetError(r->fcgi->in));
		return n > 0 ? n : -1;
	}
	if (due && avail <= 0 && (size_t)n < len) {
		/* the byte waited for came with its record: take the rest too */
		long more = buffered(r->fcgi->in);

		if (more > 0) {
			int m = FCGX_GetStr(buf + 1,
					    (int)((size_t)more < len - 1 ? (size_t)more : len - 1),
					    r->fcgi->in);

			r->body_read += m > 0 ? m : 0;
			n += m > 0 ? m : 0;
		}
	}
	return n;
}

/* Everything an answer writes goes through here: to the web server, or
 * into r->capture while an authorizer keeps a refusal for later. */
static void out(struct request *r, const char *s, size_t n)
{
	if (!r->capturing) {
		FCGX_PutStr(s, (int)n, r->fcgi->out);
		return;
	}
	if (r->capture_len + n > REQUEST_CAPTURE_MAX) {
		r->capture_overflow = 1;
		return;
	}
	memcpy(r->capture + r->capture_len, s, n);
	r->capture_len += n;
}

static void outs(struct request *r, const char *s)
{
	out(r, s, strlen(s));
}

void request_head(struct request *r, int status, const char *ctype, const char *extra)
{
	char line[160];

	if (r->answered) {
		vg_error("msg=\"second answer to one request suppressed\" request_id=%s status=%d",
			 r->request_id, status);
		return;
	}
	r->answered = 1;
	r->status = status;
	if (r->authorizer && status == 200) {
		/* An authorizer's 200 carries its verdict in Variable-*
		 * headers and nothing else: Apache would add any other header
		 * to the responder's answer. */
		outs(r, "Status: 200 OK\r\n");
		if (extra)
			outs(r, extra);
		outs(r, "\r\n");
		return;
	}
	snprintf(line, sizeof(line),
		 "Status: %d %s\r\nX-Request-Id: %s\r\nX-Content-Type-Options: nosniff\r\n", status,
		 reason(status), r->request_id);
	outs(r, line);
	if (r->always_headers)
		outs(r, r->always_headers);
	/* A refusal decided from the headers alone leaves the body unread:
	 * the web server must close the connection rather than read the rest
	 * of it to keep the connection alive. */
	if (r->authorizer && status != 200)
		outs(r, "Connection: close\r\n");
	if (ctype) {
		outs(r, "Content-Type: ");
		outs(r, ctype);
		outs(r, "\r\n");
	}
	if (ctype && strncmp(ctype, "application/json", 16) == 0)
		outs(r, "Cache-Control: no-store\r\n");
	if (extra)
		outs(r, extra);
	outs(r, "\r\n");
}

void request_json(struct request *r, int status, struct json_object *obj, const char *extra_headers)
{
	size_t len;
	const char *body;

	if (r->answered) {
		request_head(r, status, NULL, NULL); /* logs the bug */
		return;
	}
	body = json_object_to_json_string_length(obj,
						 JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE,
						 &len);
	request_head(r, status, "application/json; charset=utf-8", extra_headers);
	if (strcmp(r->method, "HEAD") == 0)
		return; /* the status and headers say it all; HEAD has no body */
	out(r, body, len);
	out(r, "\n", 1);
	r->bytes_out += (long long)len + 1;
}

void request_capture(struct request *r)
{
	if (!r->capture)
		r->capture = vg_malloc(REQUEST_CAPTURE_MAX);
	r->capture_len = 0;
	r->capture_overflow = 0;
	r->capturing = 1;
}

char *request_captured(struct request *r)
{
	char *b64;

	r->capturing = 0;
	r->answered = 0;
	r->bytes_out = 0;
	if (r->capture_overflow || r->capture_len == 0)
		return NULL;
	b64 = vg_malloc(4 * ((r->capture_len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)r->capture,
			(int)r->capture_len);
	return b64;
}

void request_replay(struct request *r)
{
	const char *b64 = r->refusal;
	size_t n = strlen(b64);
	unsigned char *raw;
	long len;

	if (n > 4 * ((REQUEST_CAPTURE_MAX + 2) / 3)) {
		request_error(r, 500, "internal", "a refusal to replay is too long");
		return;
	}
	raw = vg_malloc(n);
	len = vg_base64_decode(b64, raw, n);
	if (len < 9 || memcmp(raw, "Status: ", 8) != 0) {
		free(raw);
		request_error(r, 500, "internal", "a refusal to replay is malformed");
		return;
	}
	r->answered = 1;
	r->status = atoi((const char *)raw + 8);
	FCGX_PutStr((const char *)raw, (int)len, r->fcgi->out);
	free(raw);
}

void request_error_headers(struct request *r, int status, const char *code, const char *message,
			   const char *extra_headers)
{
	struct json_object *root = json_object_new_object(), *err = json_object_new_object();

	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(root, "error", err);
	request_json(r, status, root, extra_headers);
	json_object_put(root);
}

void request_error_retry(struct request *r, int status, const char *code, const char *message,
			 int retry_after_seconds)
{
	char hdr[64];

	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", retry_after_seconds);
	request_error_headers(r, status, code, message, retry_after_seconds > 0 ? hdr : NULL);
}

void request_error(struct request *r, int status, const char *code, const char *message)
{
	request_error_retry(r, status, code, message, 0);
}

void request_empty(struct request *r, int status)
{
	request_head(r, status, NULL, NULL);
}

int request_query(const struct request *r, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name);
	const char *p = r->query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = len - nlen - 1;

			if (vlen >= outsz)
				return -1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		if (len == nlen && strncmp(p, name, nlen) == 0) {
			if (outsz)
				out[0] = '\0';
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

long request_write(struct request *r, const char *buf, size_t len)
{
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30;
	if (r->capturing) {
		out(r, buf, len);
		r->bytes_out += (long long)len;
		return (long)len;
	}
	if (FCGX_PutStr(buf, (int)len, r->fcgi->out) != (int)len)
		return -1;
	r->bytes_out += (long long)len;
	return (long)len;
}

void request_set_video(struct request *r, const char *id)
{
	if (id && vg_id_valid(id))
		snprintf(r->video_id, sizeof(r->video_id), "%s", id);
}

void request_step(struct request *r, enum request_step step, int64_t since_us)
{
	int64_t spent = vg_mono_us() - since_us;

	r->step_us[step] += spent > 0 ? spent : 0;
	r->steps_reached |= 1u << step;
}

char *request_steps_text(const struct request *r, char *out, size_t outsz)
{
	static const char *const names[REQUEST_STEPS] = {"mark", "fsync", "publish", "commit"};
	size_t at = 0;

	if (outsz)
		out[0] = '\0';
	for (int i = 0; i < REQUEST_STEPS && at < outsz; i++) {
		int n;

		if (!(r->steps_reached & (1u << i)))
			continue;
		n = snprintf(out + at, outsz - at, " %s_ms=%.1f", names[i],
			     (double)r->step_us[i] / 1000.0);
		if (n < 0 || (size_t)n >= outsz - at) {
			out[at] = '\0'; /* no field cut in half */
			break;
		}
		at += (size_t)n;
	}
	return out;
}

void request_free(struct request *r)
{
	free(r->capture);
	r->capture = NULL;
}
