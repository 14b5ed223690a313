/*
 * test_client_http.c - unit tests for vingest-upload's origin rule
 * (client/http.c): the API key goes to the origin of the base URL only.
 *
 * Both directions matter. URLs that are the same origin written otherwise
 * (letter case, the default port spelt out) must pass, or uploads break for
 * nothing; look-alikes (another port, scheme or host name, userinfo that
 * reads like a host, a scheme-relative Location) must not, or the key leaks.
 */
#include "client.h"
#include "http.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t client_stop; /* http.c reads it; defined by the client's main */

static void origin_is(const char *url, const char *want)
{
	char *got = http_origin(url);

	is_str(got, want, "origin of '%s'", url);
	free(got);
}

static void on_origin(const struct http *h, const char *url, int want)
{
	is_int(http_on_origin(h, url), want, "'%s' is %son %s", url, want ? "" : "not ", h->origin);
}

int main(void)
{
	struct http h;
	struct http_resp r = {0};
	char *u, buf[512];

	origin_is("http://example.com/v1", "http://example.com:80");
	origin_is("HTTP://Example.COM", "http://example.com:80");
	origin_is("https://example.com/", "https://example.com:443");
	origin_is("http://example.com:80/", "http://example.com:80");
	origin_is("https://example.com:8443/x?y#z", "https://example.com:8443");
	origin_is("http://user:secret@example.com/", "http://example.com:80");
	origin_is("http://[::1]:8080/", "http://[::1]:8080");
	origin_is("ftp://example.com/", NULL);
	origin_is("file:///etc/passwd", NULL);
	origin_is("example.com/v1", NULL);
	origin_is("/v1/uploads/X", NULL);
	origin_is("", NULL);

	if (http_init(&h, "http://127.0.0.1:18080/", "vgk_test", 0) < 0) {
		ok(0, "http_init");
		return tap_done();
	}
	on_origin(&h, "http://127.0.0.1:18080/v1/uploads/X", 1);
	on_origin(&h, "HTTP://127.0.0.1:18080/v1/uploads/X", 1);
	on_origin(&h, "http://127.0.0.1:18081/v1/uploads/X", 0);
	on_origin(&h, "https://127.0.0.1:18080/v1/uploads/X", 0);
	on_origin(&h, "http://localhost:18080/v1/uploads/X", 0);
	on_origin(&h, "http://127.0.0.1:18080@evil.example/v1/uploads/X", 0);
	on_origin(&h, "http://evil.example/?http://127.0.0.1:18080/", 0);
	on_origin(&h, "/v1/uploads/X", 0);

	u = http_resolve(&h, "/v1/uploads/X");
	is_str(u, "http://127.0.0.1:18080/v1/uploads/X",
	       "a relative Location resolves on the base");
	on_origin(&h, u, 1);
	free(u);
	u = http_resolve(&h, "//evil.example/v1/uploads/X");
	is_str(u, "http://evil.example/v1/uploads/X",
	       "a scheme-relative Location names another host");
	on_origin(&h, u, 0);
	free(u);

	/* The last guard: nothing is sent, and it is no reason to retry. */
	is_int(http_do(&h, "GET", "http://127.0.0.1:1/v1/videos", NULL, NULL, NULL, &r), -1,
	       "http_do refuses a URL on another origin");
	is_int(r.off_origin, 1, "... and says why (off_origin)");
	is_int(r.status, 0, "... with no answer");
	is_int(http_transient(&r), 0, "... which is not retried");
	http_describe(&r, buf, sizeof(buf));
	ok(strstr(buf, "not sending the API key to http://127.0.0.1:1/v1/videos") != NULL,
	   "... and the message says where: %s", buf);
	http_resp_free(&r);
	http_free(&h);

	if (http_init(&h, "https://Videos.Example.com", "vgk_test", 0) < 0) {
		ok(0, "http_init");
		return tap_done();
	}
	on_origin(&h, "https://videos.example.com:443/v1/uploads/X", 1);
	on_origin(&h, "http://videos.example.com/v1/uploads/X", 0);
	http_free(&h);

	is_int(http_init(&h, "ftp://example.com", "vgk_test", 0), -1, "an ftp:// base is refused");
	http_free(&h);

	r.status = 307;
	r.location = strdup("http://elsewhere.example/v1/uploads");
	http_describe(&r, buf, sizeof(buf));
	ok(strstr(buf,
		  "HTTP 307, a redirect to http://elsewhere.example/v1/uploads: not followed") !=
	       NULL,
	   "a redirect is described with its target, not followed: %s", buf);
	is_int(http_transient(&r), 0, "a redirect is not retried");
	http_resp_free(&r);
	return tap_done();
}
