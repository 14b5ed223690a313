/*
 * answer.c - what the processing service answers, made safe to keep and show (see answer.h).
 *
 * Two rules carry it. A result is stored only as json-c writes it, never as
 * the service sent it: the parser is strict (no comments, no trailing
 * garbage, valid UTF-8) and bounded (bytes in, depth, bytes out), and the
 * writer escapes whatever control characters the strings hold, so what
 * reaches MariaDB's JSON column and the API is well-formed JSON of a known
 * size. An error is written by the worker: the service's words are taken
 * only from the fields where a JSON error says them (error.code,
 * error.message, message) and are cut and cleaned to plain text first, so a
 * 500 page of HTML, a terminal escape or a megabyte of text never reaches
 * last_error.
 */
#include "answer.h"
#include "vg_alloc.h"
#include "vg_text.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a service's message looked at for an excerpt: enough for
 * ANSWER_EXCERPT_CHARS characters after cleaning, however many it drops. */
#define EXCERPT_IN_MAX 2048

struct json_object *answer_object(const char *body, size_t len, int depth)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;

	if (!body || len == 0 || len > ANSWER_BODY_MAX || memchr(body, '\0', len))
		return NULL;
	tok = json_tokener_new_ex(depth);
	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	/* Strict mode refuses anything but whitespace after the value; a body
	 * cut short leaves the tokener waiting for more (not success). */
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* 1 if every number in v is finite. json-c takes NaN and Infinity even in
 * strict mode, and writes them back as such: not JSON, and MariaDB's JSON
 * column would refuse the row. The walk is bounded by the parse's depth. */
static int finite_numbers(struct json_object *v)
{
	size_t n;

	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_object: {
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			if (!finite_numbers(val))
				return 0;
		}
		return 1;
	}
	case json_type_array:
		n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (!finite_numbers(json_object_array_get_idx(v, i)))
				return 0;
		return 1;
	default:
		return 1;
	}
}

enum answer_result answer_result(const char *body, size_t len, char **out)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	enum answer_result rc;
	const char *text;
	int ended = 0;

	*out = NULL;
	if (len == 0) {
		/* a 204, or a 200 with nothing to say: done, with nothing in it */
		*out = vg_strdup("{}");
		return ANSWER_RESULT_OK;
	}
	if (len > ANSWER_BODY_MAX)
		return ANSWER_RESULT_TOO_LARGE;
	if (memchr(body, '\0', len))
		return ANSWER_RESULT_NOT_JSON;
	tok = json_tokener_new_ex(ANSWER_RESULT_DEPTH);
	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue) {
		/* A scalar at the very end (42, null) waits for a character that
		 * ends it: say the input ended, so it is named for what it is.
		 * It consumed the whole body, so parse_end is not looked at. */
		o = json_tokener_parse_ex(tok, "", 1);
		ended = 1;
	}
	if (json_tokener_get_error(tok) == json_tokener_error_depth) {
		rc = ANSWER_RESULT_TOO_DEEP;
		goto out;
	}
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    (!ended && json_tokener_get_parse_end(tok) != len) || !finite_numbers(o)) {
		rc = ANSWER_RESULT_NOT_JSON;
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		rc = ANSWER_RESULT_NOT_OBJECT;
		goto out;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (strlen(text) > ANSWER_RESULT_MAX) {
		rc = ANSWER_RESULT_TOO_LARGE;
		goto out;
	}
	*out = vg_strdup(text);
	rc = ANSWER_RESULT_OK;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

/* answer_result_why's words name these limits */
_Static_assert(ANSWER_RESULT_DEPTH == 16 && ANSWER_RESULT_MAX == 64 * 1024,
	       "answer_result_why() says 16 levels and 64 KiB");

const char *answer_result_why(enum answer_result rc)
{
	switch (rc) {
	case ANSWER_RESULT_OK:
		return "a result";
	case ANSWER_RESULT_NOT_JSON:
		return "a body that is not JSON";
	case ANSWER_RESULT_NOT_OBJECT:
		return "JSON that is not an object";
	case ANSWER_RESULT_TOO_DEEP:
		return "a result nested deeper than 16 levels";
	case ANSWER_RESULT_TOO_LARGE:
		return "a result over 64 KiB";
	}
	return "a body that is not a result";
}

/* A string member of o, or NULL. The string is o's (borrowed). */
static const char *string_field(struct json_object *o, const char *name, size_t *len)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Appends in[0..len) to buf (at *n, at most EXCERPT_IN_MAX): control
 * characters become spaces, a run of spaces one space, and markup and
 * backslashes are dropped. The rest (UTF-8 checks, C1 controls) is
 * vg_text_clean's. Returns 1 if in did not fit. */
static int excerpt_add(char *buf, size_t *n, const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len && *n < EXCERPT_IN_MAX; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f) {
			if (*n > 0 && buf[*n - 1] != ' ')
				buf[(*n)++] = ' ';
			continue;
		}
		if (strchr("<>&\"'`\\", c))
			continue;
		buf[(*n)++] = (char)c;
	}
	return i < len;
}

/* Length of the character at p (valid UTF-8) if it is one that reorders or
 * breaks lines when shown, else 0: U+2028/2029 (line, paragraph separator),
 * U+202A-202E and U+2066-2069 (bidirectional embeddings, overrides,
 * isolates), U+200E/200F and U+061C (direction marks). */
static size_t invisible_at(const unsigned char *p)
{
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0xa8 && p[2] <= 0xae) || p[2] == 0x8e || p[2] == 0x8f))
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
		return 3;
	if (p[0] == 0xd8 && p[1] == 0x9c)
		return 2;
	return 0;
}

/* The service's own words from an error body, cleaned into out (at least
 * 4 * ANSWER_EXCERPT_CHARS + 4 bytes); 0 if it says none. */
static int excerpt(const char *body, size_t len, char *out, size_t outsz)
{
	struct json_object *o = answer_object(body, len, 8), *err = NULL;
	const char *code = NULL, *msg = NULL;
	size_t code_len = 0, msg_len = 0, n = 0, chars, w = 0;
	unsigned char *p = (unsigned char *)out;
	char buf[EXCERPT_IN_MAX];
	int cut = 0;

	if (!o)
		return 0;
	if (json_object_object_get_ex(o, "error", &err) &&
	    json_object_is_type(err, json_type_object)) {
		code = string_field(err, "code", &code_len);
		msg = string_field(err, "message", &msg_len);
	}
	if (!msg)
		msg = string_field(o, "message", &msg_len);
	if (code)
		cut |= excerpt_add(buf, &n, code, code_len);
	if (code && msg)
		cut |= excerpt_add(buf, &n, ": ", 2);
	if (msg)
		cut |= excerpt_add(buf, &n, msg, msg_len);
	json_object_put(o);
	/* 3 bytes kept for "..." */
	chars = vg_text_clean(buf, n, out, outsz - 3, ANSWER_EXCERPT_CHARS);
	/* out is valid UTF-8 now: drop the invisible reorderers in place, and
	 * the spaces that dropped characters left at the start or doubled */
	for (size_t r = 0; p[r];) {
		size_t skip = invisible_at(p + r);

		if (skip)
			r += skip;
		else if (p[r] == ' ' && (w == 0 || p[w - 1] == ' '))
			r++;
		else
			p[w++] = p[r++];
	}
	while (w > 0 && (p[w - 1] == ' ' || p[w - 1] == ':'))
		w--;
	p[w] = '\0';
	if (w == 0)
		return 0;
	if (cut || chars > ANSWER_EXCERPT_CHARS)
		memcpy(out + w, "...", 4);
	return 1;
}

void answer_error(char *out, size_t outsz, const char *what, const char *body, size_t len)
{
	char ex[4 * ANSWER_EXCERPT_CHARS + 8] = "";

	if (body && len && excerpt(body, len, ex, sizeof(ex)))
		snprintf(out, outsz, "%s (service says: %s)", what, ex);
	else
		snprintf(out, outsz, "%s", what);
}

void answer_transfer_error(char *out, size_t outsz, int curl_code, long long elapsed_ms)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, outsz, "timeout after %lld s", (elapsed_ms + 500) / 1000);
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(out, outsz, "connection refused or host unreachable");
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(out, outsz, "host name not found");
		break;
	case CURLE_GOT_NOTHING:
		snprintf(out, outsz, "connection closed without an answer");
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		snprintf(out, outsz, "connection broken during the call");
		break;
	case CURLE_PARTIAL_FILE:
		snprintf(out, outsz, "answer cut short");
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		snprintf(out, outsz, "not an HTTP answer");
		break;
	default:
		/* libcurl's own fixed text, not anything the service sent */
		snprintf(out, outsz, "call failed: %s (curl error %d)",
			 curl_easy_strerror((CURLcode)curl_code), curl_code);
		break;
	}
}
