/*
 * test_request.c - unit tests for the request wrapper (app/request.c) that
 * need no web server: the request line as the FastCGI parameters give it
 * (path, query, Content-Length, X-Request-Id), query parameters, and the
 * access log's durable-step fields.
 *
 * The FCGX_Request is a plain struct with its parameters in envp; nothing is
 * read from or written to a stream here.
 */
#include "tap.h"
#include "request.h"
#include "vg_time.h"

#include <stdlib.h>
#include <string.h>

static int init_with(struct request *r, FCGX_Request *f, char **env)
{
	memset(f, 0, sizeof(*f));
	f->envp = env;
	return request_init(r, f, NULL);
}

static void test_request_line(void)
{
	struct request r;
	FCGX_Request f;
	char v[16];
	char *env1[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/v1/videos?limit=5&cursor=&x",
			"CONTENT_LENGTH=1234", "HTTP_X_REQUEST_ID=abc-123_x.y", NULL};
	char *env2[] = {"REQUEST_METHOD=GET",
			"SCRIPT_NAME=/v1",
			"PATH_INFO=/videos",
			"QUERY_STRING=limit=2",
			"CONTENT_LENGTH=12x",
			"HTTP_X_REQUEST_ID=a b",
			NULL};
	char *env3[] = {"REQUEST_METHOD=PUT", "CONTENT_LENGTH=-1", NULL};
	static char longuri[2100];
	char *env4[] = {"REQUEST_METHOD=GET", longuri, NULL};

	is_int(init_with(&r, &f, env1), 0, "a request line parses");
	is_str(r.method, "POST", "method");
	is_str(r.path, "/v1/videos", "path without the query");
	is_str(r.query, "limit=5&cursor=&x", "query");
	is_int(r.content_length, 1234, "Content-Length");
	is_str(r.request_id, "abc-123_x.y", "a sane X-Request-Id is kept");
	is_int(request_query(&r, "limit", v, sizeof(v)), 1, "query parameter present");
	is_str(v, "5", "its value");
	is_int(request_query(&r, "cursor", v, sizeof(v)), 1, "an empty parameter is present");
	is_str(v, "", "and empty");
	is_int(request_query(&r, "x", v, sizeof(v)), 1, "a bare name is present");
	is_int(request_query(&r, "lim", v, sizeof(v)), 0, "a prefix of a name is not the name");
	is_int(request_query(&r, "limit", v, 1), -1, "a value longer than the buffer is refused");

	is_int(init_with(&r, &f, env2), 0, "SCRIPT_NAME + PATH_INFO without REQUEST_URI");
	is_str(r.path, "/v1/videos", "path from SCRIPT_NAME + PATH_INFO");
	is_str(r.query, "limit=2", "query from QUERY_STRING");
	is_int(r.content_length, -1, "a Content-Length with trailing junk is unknown (-1)");
	ok(strcmp(r.request_id, "a b") != 0 && strlen(r.request_id) == 24,
	   "a malformed X-Request-Id is replaced by a fresh 24-hex one (%s)", r.request_id);

	is_int(init_with(&r, &f, env3), 0, "no REQUEST_URI, no PATH_INFO");
	is_str(r.path, "", "empty path");
	is_int(r.content_length, -1, "a negative Content-Length is unknown (-1)");

	strcpy(longuri, "REQUEST_URI=/");
	memset(longuri + 13, 'a', sizeof(longuri) - 14);
	is_int(init_with(&r, &f, env4), -1, "a path longer than 1023 bytes is refused");
}

static void test_steps(void)
{
	struct request r;
	FCGX_Request f;
	char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/v1/videos", NULL};
	char text[128];
	int64_t now;
	double mark = 0, publish = 0, commit = 0;
	int end = 0;

	init_with(&r, &f, env);
	is_str(request_steps_text(&r, text, sizeof(text)), "", "no step reached: no fields");

	/* A step that took no measurable time is still a step the upload
	 * reached (the db store's publish): it is logged as 0.0. */
	request_step(&r, STEP_PUBLISH, vg_mono_us() + 1000000);
	is_str(request_steps_text(&r, text, sizeof(text)), " publish_ms=0.0",
	       "a step reached in 0 us is logged as 0.0");

	now = vg_mono_us();
	request_step(&r, STEP_COMMIT, now - 2500);
	request_step(&r, STEP_MARK, now - 1000);
	request_step(&r, STEP_MARK, now - 1000);
	request_steps_text(&r, text, sizeof(text));
	ok(sscanf(text, " mark_ms=%lf publish_ms=%lf commit_ms=%lf%n", &mark, &publish, &commit,
		  &end) == 3 &&
		   text[end] == '\0',
	   "fields in step order, a step not reached left out (%s)", text);
	ok(mark >= 2.0 && mark < 60.0, "a step reached twice adds up: mark %.1f ms", mark);
	ok(commit >= 2.5 && commit < 60.0, "commit %.1f ms", commit);

	request_steps_text(&r, text, 20);
	ok(strncmp(text, " mark_ms=", 9) == 0 && strchr(text + 1, ' ') == NULL,
	   "a buffer too small keeps whole fields only (%s)", text);
	ok(request_steps_text(&r, text, 0) == text, "a zero-size buffer is left alone");
}

/* What the authorizer hands the responder, and what the authorizer itself
 * is told (no CONTENT_LENGTH: lighttpd's header, Apache's variable). */
static void test_roles(void)
{
	struct request r;
	FCGX_Request f;
	char *gated[] =
		{"REQUEST_METHOD=POST",	      "REQUEST_URI=/v1/videos",	     "CONTENT_LENGTH=900",
		 "VINGEST_USER=42",	      "VINGEST_AUTH=basic",	     "VINGEST_COUNTED=900",
		 "VINGEST_REQUEST_ID=abc123", "HTTP_X_REQUEST_ID=client-id", NULL};
	char *forged[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/v1/videos", "HTTP_VINGEST_USER=42",
			  "HTTP_VINGEST_AUTH=bearer", NULL};
	char *bad_auth[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/v1/videos", "VINGEST_USER=42",
			    "VINGEST_AUTH=root", NULL};
	char *bad_user[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/v1/videos", "VINGEST_USER=0",
			    "VINGEST_AUTH=bearer", NULL};
	char *authz_lighttpd[] = {"FCGI_ROLE=AUTHORIZER",
				  "REQUEST_METHOD=PATCH",
				  "REQUEST_URI=/v1/uploads/x",
				  "HTTP_CONTENT_LENGTH=5000",
				  "VINGEST_USER=7",
				  "VINGEST_AUTH=bearer",
				  NULL};
	char *authz_apache[] = {"FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=POST",
				"REQUEST_URI=/v1/videos", "VINGEST_CONTENT_LENGTH=123", NULL};
	char *refused[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/.vingest-refused",
			   "REDIRECT_VINGEST_REFUSAL=U3RhdHVzOiA0MDE=",
			   "REDIRECT_VINGEST_REQUEST_ID=gate-1", NULL};

	init_with(&r, &f, gated);
	is_int(r.gated, 1, "VINGEST_USER and VINGEST_AUTH: admitted by an authorizer");
	is_int(r.user_id, 42, "the user is the authorizer's");
	is_int(r.auth_basic, 1, "VINGEST_AUTH=basic: a browser form (the Origin check was made)");
	is_int(r.counted_bytes, 900, "VINGEST_COUNTED: bytes already counted");
	is_str(r.request_id, "abc123", "the authorizer's request id wins over the client's");
	is_int(r.authorizer, 0, "no FCGI_ROLE: the responder");
	init_with(&r, &f, forged);
	is_int(r.gated, 0, "client headers (HTTP_VINGEST_*) are not the authorizer's variables");
	is_int(r.user_id, 0, "and set no user");
	init_with(&r, &f, bad_auth);
	is_int(r.gated, 0, "an unknown VINGEST_AUTH is not trusted");
	init_with(&r, &f, bad_user);
	is_int(r.gated, 0, "VINGEST_USER=0 is not a user");
	init_with(&r, &f, authz_lighttpd);
	is_int(r.authorizer, 1, "FCGI_ROLE=AUTHORIZER: the authorizer role");
	is_int(r.content_length, 5000, "an authorizer reads lighttpd's HTTP_CONTENT_LENGTH");
	is_int(r.gated, 0, "an authorizer never trusts VINGEST_USER itself");
	init_with(&r, &f, authz_apache);
	is_int(r.content_length, 123, "an authorizer reads Apache's VINGEST_CONTENT_LENGTH");
	init_with(&r, &f, refused);
	is_str(r.refusal, "U3RhdHVzOiA0MDE=", "a refusal handed on (after Apache's redirect)");
	is_str(r.request_id, "gate-1", "with the authorizer's request id");
}

int main(void)
{
	test_roles();
	test_request_line();
	test_steps();
	return tap_done();
}
