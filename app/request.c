/*
 * request.c - FastCGI request parameters, bounded body reads and JSON answers.
 */
#include "request.h"
#include "child.h"
#include "vg_id.h"
#include "vg_hash.h"
#include "vg_log.h"
#include "vg_time.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 429: return "Too Many Requests";
	case 460: return "Checksum Mismatch";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Status";
	}
}

/* X-Request-Id from the client if it is a sane token, else a fresh one. */
static void set_request_id(struct request *r)
{
	const char *given = request_param(r, "HTTP_X_REQUEST_ID");
	unsigned char raw[12];

	if (given) {
		size_t n = strlen(given), i;

		for (i = 0; i < n && i < sizeof(r->request_id) - 1; i++) {
			char c = given[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_' || c == '.'))
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

int request_init(struct request *r, FCGX_Request *fcgi, struct child *child)
{
	const char *uri, *cl, *q;
	size_t plen;

	memset(r, 0, sizeof(*r));
	r->fcgi = fcgi;
	r->child = child;
	r->content_length = -1;
	set_request_id(r);
	r->method = request_param(r, "REQUEST_METHOD");
	if (!r->method)
		r->method = "";

	uri = request_param(r, "REQUEST_URI");
	if (!uri) {
		/* some web servers give only SCRIPT_NAME + PATH_INFO */
		const char *sn = request_param(r, "SCRIPT_NAME"), *pi = request_param(r, "PATH_INFO");

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

	cl = request_param(r, "CONTENT_LENGTH");
	if (cl && *cl) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(cl, &end, 10);
		if (*end == '\0' && errno == 0 && v >= 0)
			r->content_length = v;
	}
	return 0;
}

const char *request_param(const struct request *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

long request_read(struct request *r, char *buf, size_t len)
{
	long long left;
	int n;

	if (r->body_error)
		return -1;
	left = r->content_length < 0 ? 0 : r->content_length - r->body_read;
	if (left <= 0)
		return 0;
	if ((long long)len > left)
		len = (size_t)left;
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30;
	n = FCGX_GetStr(buf, (int)len, r->fcgi->in);
	r->body_read += n;
	if (n < (int)len) {
		/* FCGX_GetStr returns short only at end of stream or on error: either
		 * way the body is shorter than announced, so the upload is aborted. */
		r->body_error = 1;
		vg_warn("msg=\"request body ended early\" request_id=%s read=%lld expected=%lld "
			"stream_error=%d",
			r->request_id, r->body_read, r->content_length, FCGX_GetError(r->fcgi->in));
		return n > 0 ? n : -1;
	}
	return n;
}

void request_head(struct request *r, int status, const char *ctype, const char *extra)
{
	if (r->answered) {
		vg_error("msg=\"second answer to one request suppressed\" request_id=%s status=%d",
			 r->request_id, status);
		return;
	}
	r->answered = 1;
	r->status = status;
	FCGX_FPrintF(r->fcgi->out, "Status: %d %s\r\nX-Request-Id: %s\r\n", status, reason(status),
		     r->request_id);
	if (ctype)
		FCGX_FPrintF(r->fcgi->out, "Content-Type: %s\r\n", ctype);
	if (ctype && strncmp(ctype, "application/json", 16) == 0)
		FCGX_PutS("Cache-Control: no-store\r\n", r->fcgi->out);
	if (extra)
		FCGX_PutS(extra, r->fcgi->out);
	FCGX_PutS("\r\n", r->fcgi->out);
}

void request_json(struct request *r, int status, struct json_object *obj, const char *extra_headers)
{
	size_t len;
	const char *body;

	if (r->answered) {
		request_head(r, status, NULL, NULL); /* logs the bug */
		return;
	}
	body = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	request_head(r, status, "application/json; charset=utf-8", extra_headers);
	if (strcmp(r->method, "HEAD") == 0)
		return; /* the status and headers say it all; HEAD has no body */
	FCGX_PutStr(body, (int)len, r->fcgi->out);
	FCGX_PutS("\n", r->fcgi->out);
	r->bytes_out += (long long)len + 1;
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
