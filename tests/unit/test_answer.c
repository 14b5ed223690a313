/*
 * test_answer.c - unit tests for what the processing service answers, made
 * safe to keep (workers/answer.c).
 *
 * A 2xx body becomes a stored result only as a JSON object that json-c
 * parsed (strict, UTF-8, at most 16 levels, at most 256 KiB in) and wrote
 * out again (at most 64 KiB); an error answer becomes last_error in the
 * worker's own words, with at most a cleaned 200-character excerpt of a
 * JSON error's code and message. Every body is passed through an
 * exact-size heap copy (no NUL after it), as call.c holds it, so ASan
 * catches a read past its length.
 */
#include "tap.h"
#include "answer.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* answer_result on an exact-size copy of in[0..len); *out as answer_result leaves it. */
static enum answer_result result_of(const char *in, size_t len, char **out)
{
	char *copy = malloc(len ? len : 1);
	enum answer_result rc;

	if (!copy)
		abort();
	memcpy(copy, in, len);
	rc = answer_result(copy, len, out);
	free(copy);
	return rc;
}

#define RESULT(lit, out) result_of((lit), sizeof(lit) - 1, (out))

static char err[ANSWER_ERROR_SIZE];

/* answer_error on an exact-size copy of in[0..len). */
static const char *error_of(const char *what, const char *in, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	if (in)
		memcpy(copy, in, len);
	memset(err, '#', sizeof(err));
	answer_error(err, sizeof(err), what, in ? copy : NULL, len);
	free(copy);
	return err;
}

#define ERROR(lit) error_of("processing service answered 500", (lit), sizeof(lit) - 1)

/* 1 if s has no byte below 0x20, no DEL and none of < > & " ' ` \. */
static int plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr("<>&\"'`\\", *s))
			return 0;
	return 1;
}

/* 1 if s has no byte below 0x20 and no DEL. */
static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Characters (not bytes) of a valid UTF-8 string. */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A body of levels nested arrays in an object: {"a":[[...]]}; the caller frees it. */
static char *nested(int levels, size_t *len)
{
	char *s = malloc((size_t)(2 * levels + 8));
	size_t n = 0;

	if (!s)
		abort();
	memcpy(s, "{\"a\":", 5);
	n = 5;
	for (int i = 1; i < levels; i++)
		s[n++] = '[';
	for (int i = 1; i < levels; i++)
		s[n++] = ']';
	s[n++] = '}';
	*len = n;
	return s;
}

static void test_good_result(void)
{
	char *out = NULL;
	enum answer_result rc;

	rc = RESULT("{\"video_id\":\"01ABC\",\"labels\":[\"stub\"],\"n\":1.50,\"ok\":true}", &out);
	is_int(rc, ANSWER_RESULT_OK, "a good object is a result");
	is_str(out, "{\"video_id\":\"01ABC\",\"labels\":[\"stub\"],\"n\":1.50,\"ok\":true}",
	       "a good object is stored as json-c writes it (the same here)");
	free(out);

	rc = RESULT(" {\n  \"a\" : 1 ,\n  \"b\" : [ 1 , 2 ]\n}\n", &out);
	is_int(rc, ANSWER_RESULT_OK, "a pretty-printed object is a result");
	is_str(out, "{\"a\":1,\"b\":[1,2]}", "... written out again without the whitespace");
	free(out);

	rc = RESULT("{\"url\":\"http://x/y\"}", &out);
	is_int(rc, ANSWER_RESULT_OK, "an object with a URL in it is a result");
	is_str(out, "{\"url\":\"http:\\/\\/x\\/y\"}", "a slash is written escaped (\\/)");
	free(out);

	rc = result_of("", 0, &out);
	is_int(rc, ANSWER_RESULT_OK, "an empty body (a 204) is a result");
	is_str(out, "{}", "... the empty object");
	free(out);
}

static void test_control_bytes(void)
{
	char *out = NULL;
	enum answer_result rc;
	struct json_object *o;

	/* raw control bytes inside a string: json-c takes them and writes them escaped */
	rc = RESULT("{\"note\":\"a\x01"
		    "b\x1b[2Jc\x07\",\"t\":\"\\u0000x\"}",
		    &out);
	is_int(rc, ANSWER_RESULT_OK, "control bytes inside strings: still a result");
	is_str(out, "{\"note\":\"a\\u0001b\\u001b[2Jc\\u0007\",\"t\":\"\\u0000x\"}",
	       "control bytes come out escaped as \\u00XX, never raw");
	ok(out && no_controls(out), "no raw control byte in the stored result");
	o = out ? json_tokener_parse(out) : NULL;
	ok(o && json_object_is_type(o, json_type_object), "the stored result parses back");
	json_object_put(o);
	free(out);

	rc = RESULT("{\"a\":1}\x1b[2J", &out);
	is_int(rc, ANSWER_RESULT_NOT_JSON, "control bytes after the object: not JSON");
	ok(out == NULL, "... nothing to store");

	rc = RESULT("{\"a\":1}\0{\"b\":2}", &out);
	is_int(rc, ANSWER_RESULT_NOT_JSON, "a NUL byte in the body: not JSON");
}

static void test_not_json(void)
{
	char *out = (char *)1;
	enum answer_result rc;

	rc = RESULT(
		"<html><body><script>alert(1)</script>oops: upstream proxy error</body></html>\n",
		&out);
	is_int(rc, ANSWER_RESULT_NOT_JSON, "an HTML body is not a result: not JSON");
	ok(out == NULL, "... and *out is NULL");
	is_str(answer_result_why(rc), "a body that is not JSON",
	       "... why: a body that is not JSON");

	is_int(RESULT("{\"a\":1", &out), ANSWER_RESULT_NOT_JSON, "a body cut short: not JSON");
	is_int(RESULT("{\"a\":1} trailing", &out), ANSWER_RESULT_NOT_JSON,
	       "an object and more after it: not JSON");
	is_int(RESULT("{\"a\":1}{\"b\":2}", &out), ANSWER_RESULT_NOT_JSON, "two objects: not JSON");
	is_int(RESULT("{\"a\":'x'}", &out), ANSWER_RESULT_NOT_JSON,
	       "a single-quoted string: not JSON");
	/* json-c's strict mode still takes a single-quoted key; what is stored is
	 * its own rendering, proper JSON */
	is_int(RESULT("{'a':1}", &out), ANSWER_RESULT_OK, "a single-quoted key: taken");
	is_str(out, "{\"a\":1}", "... and stored double-quoted");
	free(out);
	is_int(RESULT("{\"a\":1,}", &out), ANSWER_RESULT_NOT_JSON, "a trailing comma: not JSON");
	is_int(RESULT("{\"a\":\"\xff\xfe\"}", &out), ANSWER_RESULT_NOT_JSON,
	       "invalid UTF-8 in a string: not JSON");
	is_int(RESULT("{\"a\":NaN}", &out), ANSWER_RESULT_NOT_JSON, "NaN: not JSON");
	is_int(RESULT("{\"a\":[-Infinity]}", &out), ANSWER_RESULT_NOT_JSON, "-Infinity: not JSON");
	is_int(RESULT("{\"a\":{\"b\":1e999}}", &out), ANSWER_RESULT_NOT_JSON,
	       "a number past a double's range: refused");
	is_int(RESULT("   ", &out), ANSWER_RESULT_NOT_JSON, "whitespace only: not JSON");
}

static void test_not_object(void)
{
	char *out = (char *)1;

	is_int(RESULT("[{\"video_id\":\"01ABC\"}]", &out), ANSWER_RESULT_NOT_OBJECT,
	       "a JSON array is not a result");
	ok(out == NULL, "... and *out is NULL");
	is_str(answer_result_why(ANSWER_RESULT_NOT_OBJECT), "JSON that is not an object",
	       "... why: JSON that is not an object");
	is_int(RESULT("\"done\"", &out), ANSWER_RESULT_NOT_OBJECT, "a JSON string is not a result");
	is_int(RESULT("42", &out), ANSWER_RESULT_NOT_OBJECT, "a JSON number is not a result");
	is_int(RESULT("null", &out), ANSWER_RESULT_NOT_OBJECT, "null is not a result");
	is_int(RESULT("-", &out), ANSWER_RESULT_NOT_JSON, "a lone minus: not JSON");
}

static void test_depth(void)
{
	char *body, *out = NULL;
	size_t len;

	body = nested(ANSWER_RESULT_DEPTH, &len);
	is_int(result_of(body, len, &out), ANSWER_RESULT_OK, "%d levels: a result",
	       ANSWER_RESULT_DEPTH);
	free(out);
	free(body);

	body = nested(ANSWER_RESULT_DEPTH + 1, &len);
	out = (char *)1;
	is_int(result_of(body, len, &out), ANSWER_RESULT_TOO_DEEP, "%d levels: too deep",
	       ANSWER_RESULT_DEPTH + 1);
	ok(out == NULL, "... and *out is NULL");
	free(body);

	body = nested(100, &len);
	is_int(result_of(body, len, &out), ANSWER_RESULT_TOO_DEEP, "depth 100: too deep");
	is_str(answer_result_why(ANSWER_RESULT_TOO_DEEP), "a result nested deeper than 16 levels",
	       "... why: nested deeper than 16 levels");
	free(body);

	/* a top-level array 100 deep is refused for its depth before its type is known */
	body = malloc(200);
	memset(body, '[', 100);
	memset(body + 100, ']', 100);
	is_int(result_of(body, 200, &out), ANSWER_RESULT_TOO_DEEP, "an array 100 deep: too deep");
	free(body);
}

/* {"s":"xxx..."} of exactly len bytes; the caller frees it. */
static char *sized(size_t len)
{
	char *s = malloc(len);

	if (!s)
		abort();
	memset(s, 'x', len);
	memcpy(s, "{\"s\":\"", 6);
	memcpy(s + len - 2, "\"}", 2);
	return s;
}

static void test_size(void)
{
	char *body, *out = NULL;

	body = sized(ANSWER_RESULT_MAX);
	is_int(result_of(body, ANSWER_RESULT_MAX, &out), ANSWER_RESULT_OK,
	       "a result of exactly 64 KiB is stored");
	ok(out && strlen(out) == ANSWER_RESULT_MAX, "... whole");
	free(out);
	free(body);

	body = sized(ANSWER_RESULT_MAX + 1);
	out = (char *)1;
	is_int(result_of(body, ANSWER_RESULT_MAX + 1, &out), ANSWER_RESULT_TOO_LARGE,
	       "64 KiB + 1 byte: too large");
	ok(out == NULL, "... and *out is NULL");
	is_str(answer_result_why(ANSWER_RESULT_TOO_LARGE), "a result over 64 KiB",
	       "... why: over 64 KiB");
	free(body);

	/* small as sent, large as written: the limit is on what would be stored */
	{
		size_t n = 20000, len = 8 + 2 * n;
		char *b = malloc(len);

		memcpy(b, "{\"s\":\"", 6);
		for (size_t i = 0; i < n; i++)
			memcpy(b + 6 + 2 * i, "\x01\x02", 2);
		memcpy(b + len - 2, "\"}", 2);
		is_int(result_of(b, len, &out), ANSWER_RESULT_TOO_LARGE,
		       "40 KB of control bytes (240 KB escaped): too large");
		free(b);
	}

	body = sized(2 * 1000 * 1000);
	is_int(result_of(body, 2 * 1000 * 1000, &out), ANSWER_RESULT_TOO_LARGE,
	       "a 2 MB body: too large (not even parsed)");
	free(body);
	ok(answer_object(NULL, 0, 8) == NULL, "answer_object(NULL): NULL");
}

static void test_error_plain(void)
{
	is_str(ERROR("<html><head><title>500</title></head><body><script>alert(document.cookie)"
		     "</script>\x1b[2J\x07 Internal Server Error</body></html>"),
	       "processing service answered 500",
	       "an HTML error body: the worker's words alone, no excerpt");
	is_str(ERROR("Internal Server Error\r\n\x1b]0;owned\x07"),
	       "processing service answered 500",
	       "a text body with control bytes: the worker's words alone");
	is_str(ERROR("[\"error\",\"message\"]"), "processing service answered 500",
	       "a JSON array: no excerpt");
	is_str(ERROR("{\"error\":\"throttled\",\"detail\":\"slow down\"}"),
	       "processing service answered 500", "error as a string (not error.code): no excerpt");
	is_str(ERROR("{\"error\":{\"code\":42,\"message\":[\"x\"]}}"),
	       "processing service answered 500", "code and message not strings: no excerpt");
	is_str(ERROR("{\"error\":{\"code\":\"<>\",\"message\":\"\x1b\x07\"}}"),
	       "processing service answered 500",
	       "code and message cleaned to nothing: no excerpt");
	is_str(ERROR("{\"error\":{\"code\":\"x\"}"), "processing service answered 500",
	       "a JSON error cut short: no excerpt");
	is_str(error_of("status_url answered 404", NULL, 0), "status_url answered 404",
	       "no body: the worker's words");
}

static void test_error_excerpt(void)
{
	const char *e;

	is_str(ERROR("{\"error\":{\"code\":\"object_mismatch\",\"message\":\"the object is 12 "
		     "bytes\"}}"),
	       "processing service answered 500 (service says: object_mismatch: the object is 12 "
	       "bytes)",
	       "error.code and error.message: both, after the worker's words");
	is_str(ERROR("{\"error\":{\"code\":\"busy\"}}"),
	       "processing service answered 500 (service says: busy)", "error.code alone");
	is_str(ERROR("{\"message\":\"try later\"}"),
	       "processing service answered 500 (service says: try later)", "a top-level message");
	is_str(ERROR("{\"error\":{\"message\":\"inner\"},\"message\":\"outer\"}"),
	       "processing service answered 500 (service says: inner)",
	       "error.message wins over message");

	/* the nasty one: markup, terminal escapes, newlines, invalid UTF-8, a
	 * bidi override, quotes and backslashes, all at once */
	e = ERROR("{\"error\":{\"code\":\"bad\\u0007<b>code</b>\",\"message\":\"<script>alert('x')"
		  "</script>\\n\\u001b[31mred\\u001b[0m \\\"quoted\\\" C:\\\\path\\r\\n\\tline2 "
		  "\xe2\x80\xae"
		  "desrever \xc3\xa9t\xc3\xa9 `rm -rf` a&b\"}}");
	is_str(e,
	       "processing service answered 500 (service says: bad bcode/b: scriptalert(x)/script "
	       "[31mred [0m quoted C:path line2 desrever \xc3\xa9t\xc3\xa9 rm -rf ab)",
	       "a nasty message: no markup, controls, quotes, backslashes or bidi override left");
	ok(plain(e), "... plain text: no control byte, no < > & \" ' ` \\");

	/* a long message: at most 200 characters of it, marked as cut */
	{
		char body[8192];
		size_t n = (size_t)snprintf(body, sizeof(body), "{\"message\":\"");

		for (int i = 0; i < 3000; i++)
			n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc3\xa9");
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}");
		e = error_of("processing service answered 503", body, n);
		is_int(chars(e),
		       strlen("processing service answered 503 (service says: ") + 200 + 3 + 1,
		       "a 3000-character message: 200 characters of it kept, then ...)");
		ok(strstr(e, "\xc3\xa9...)") != NULL, "... ending in ...)");
		ok(strlen(e) < ANSWER_ERROR_SIZE, "... within ANSWER_ERROR_SIZE bytes (%zu)",
		   strlen(e));
	}

	/* 200 KB of whitespace and markup, then text: they leave nothing behind */
	{
		size_t n = 200 * 1000, len = n + 32;
		char *b = malloc(len);

		memcpy(b, "{\"message\":\"", 12);
		for (size_t i = 0; i < n; i++)
			b[12 + i] = (i % 2) ? '<' : ' ';
		memcpy(b + 12 + n, "late text\"}", 11);
		len = 12 + n + 11;
		e = error_of("processing service answered 500", b, len);
		is_str(e, "processing service answered 500 (service says: late text)",
		       "200 KB of spaces and markup before the text: the text alone");
		free(b);
	}
}

static void test_transfer_error(void)
{
	char out[ANSWER_ERROR_SIZE];

	answer_transfer_error(out, sizeof(out), CURLE_OPERATION_TIMEDOUT, 10002);
	is_str(out, "timeout after 10 s", "a timeout: timeout after N s");
	answer_transfer_error(out, sizeof(out), CURLE_COULDNT_CONNECT, 1);
	is_str(out, "connection refused or host unreachable", "cannot connect");
	answer_transfer_error(out, sizeof(out), CURLE_GOT_NOTHING, 1);
	is_str(out, "connection closed without an answer", "an empty reply");
	answer_transfer_error(out, sizeof(out), CURLE_RECV_ERROR, 1);
	is_str(out, "connection broken during the call", "a reset");
	answer_transfer_error(out, sizeof(out), CURLE_SSL_CONNECT_ERROR, 1);
	ok(strstr(out, "call failed: ") == out && strstr(out, "(curl error 35)") != NULL,
	   "anything else: libcurl's own text and the code (%s)", out);
}

int main(void)
{
	test_good_result();
	test_control_bytes();
	test_not_json();
	test_not_object();
	test_depth();
	test_size();
	test_error_plain();
	test_error_excerpt();
	test_transfer_error();
	return tap_done();
}
