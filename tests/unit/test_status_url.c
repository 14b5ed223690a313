/*
 * test_status_url.c - unit tests for the status_url origin check
 * (workers/status_url.c).
 *
 * A status_url is followed only when, resolved against processor.url, its
 * scheme, host and port are processor.url's and it carries no credentials:
 * relative references work, every way of naming another place is refused
 * (another host, port or scheme, a scheme-relative //host, userinfo, a URL
 * libcurl will not parse), and the URL handed back is the one checked.
 */
#include "tap.h"
#include "status_url.h"

#include <stdlib.h>
#include <string.h>

#define P "http://127.0.0.1:18090/process"

static char host[256];
static char *url;

/* Checks status against base; url and host are left as status_url_check leaves them. */
static enum status_url_verdict check(const char *base, const char *status)
{
	free(url);
	url = NULL;
	return status_url_check(base, status, &url, host, sizeof(host));
}

#define ALLOWED(base, status, want, name)                                                          \
	do {                                                                                       \
		is_int(check((base), (status)), STATUS_URL_OK, "%s: allowed", (name));             \
		is_str(url, (want), "%s: polls %s", (name), (want));                               \
	} while (0)

#define REFUSED(base, status, verdict, wanthost, name)                                             \
	do {                                                                                       \
		is_int(check((base), (status)), (verdict), "%s: refused (%s)", (name),             \
		       status_url_why(verdict));                                                   \
		ok(url == NULL, "%s: nothing to poll", (name));                                    \
		is_str(host, (wanthost), "%s: the log names host %s", (name), (wanthost));         \
	} while (0)

static void test_allowed(void)
{
	ALLOWED(P, "/status/123", "http://127.0.0.1:18090/status/123", "an absolute path");
	ALLOWED(P, "status/123", "http://127.0.0.1:18090/status/123", "a relative path");
	ALLOWED(P, "../status/1?x=1", "http://127.0.0.1:18090/status/1?x=1",
		"a dot-dot path with a query");
	ALLOWED(P, "http://127.0.0.1:18090/status/123", "http://127.0.0.1:18090/status/123",
		"the same origin, absolute");
	ALLOWED(P, "//127.0.0.1:18090/status/7", "http://127.0.0.1:18090/status/7",
		"scheme-relative to the same host and port");
	ALLOWED(P, "HTTP://127.0.0.1:18090/s", "http://127.0.0.1:18090/s", "scheme in upper case");
	ALLOWED("http://Svc.Example/process", "http://svc.EXAMPLE:80/s", "http://svc.EXAMPLE:80/s",
		"host case differs, explicit default port 80");
	ALLOWED("https://svc.example:443/process", "https://svc.example/s", "https://svc.example/s",
		"explicit 443 against an absent port");
	ALLOWED("http://[::1]:8090/process", "http://[::1]:8090/s", "http://[::1]:8090/s",
		"IPv6 literal, same port");
	ALLOWED("http://u:pw@svc.example/process", "/status/1", "http://u:pw@svc.example/status/1",
		"processor.url's own credentials go with a poll to its own origin");
	is_str(host, "svc.example", "the host is reported on success too");
}

static void test_refused(void)
{
	REFUSED(P, "http://127.0.0.1:18091/status/1", STATUS_URL_OTHER_PORT, "127.0.0.1",
		"another port");
	REFUSED(P, "http://127.0.0.1/status/1", STATUS_URL_OTHER_PORT, "127.0.0.1",
		"no port (80) against 18090");
	REFUSED(P, "http://127.0.0.2:18090/status/1", STATUS_URL_OTHER_HOST, "127.0.0.2",
		"another address, same port");
	REFUSED(P, "http://localhost:18090/status/1", STATUS_URL_OTHER_HOST, "localhost",
		"another name for the same address (names are not resolved)");
	REFUSED(P, "http://169.254.169.254/latest/meta-data/", STATUS_URL_OTHER_HOST,
		"169.254.169.254", "a cloud metadata address");
	REFUSED(P, "//evil.example/status/1", STATUS_URL_OTHER_HOST, "evil.example",
		"scheme-relative to another host");
	REFUSED(P, "https://127.0.0.1:18090/status/1", STATUS_URL_OTHER_SCHEME, "127.0.0.1",
		"https where processor.url is http");
	REFUSED("https://svc.example/process", "http://svc.example:443/s", STATUS_URL_OTHER_SCHEME,
		"svc.example", "http where processor.url is https, same port");
	REFUSED(P, "ftp://127.0.0.1:18090/status/1", STATUS_URL_OTHER_SCHEME, "127.0.0.1", "ftp");
	REFUSED(P, "file:///etc/passwd", STATUS_URL_OTHER_SCHEME, "-", "file:");
	REFUSED(P, "gopher://127.0.0.1:18090/_x", STATUS_URL_OTHER_SCHEME, "127.0.0.1", "gopher");
	REFUSED(P, "http://u:p@127.0.0.1:18090/status/1", STATUS_URL_USERINFO, "127.0.0.1",
		"user and password on the same origin");
	REFUSED(P, "http://u@127.0.0.1:18090/status/1", STATUS_URL_USERINFO, "127.0.0.1",
		"a user alone");
	REFUSED(P, "//u:p@127.0.0.1:18090/status/1", STATUS_URL_USERINFO, "127.0.0.1",
		"userinfo in a scheme-relative URL");
	REFUSED(P, "http://127.0.0.1:18090@evil.example/x", STATUS_URL_USERINFO, "evil.example",
		"the processor's authority as userinfo of another host");
	REFUSED(P, "http://[::1", STATUS_URL_UNPARSABLE, "-", "a broken IPv6 literal");
	REFUSED(P, "http://127.0.0.1:99999/x", STATUS_URL_UNPARSABLE, "-", "port out of range");
	REFUSED(P, "http://127.0.0.1:18090/x\r\nHost: evil", STATUS_URL_UNPARSABLE, "-",
		"CR LF in the URL");
	REFUSED(P, "", STATUS_URL_UNPARSABLE, "-", "empty");
	REFUSED(P, "/status/caf\xc3\xa9", STATUS_URL_UNPARSABLE, "-",
		"a byte outside ASCII (it is stored in an ASCII column)");
	REFUSED(P, "/status/a b", STATUS_URL_UNPARSABLE, "-", "a space");
	ALLOWED(P, "/status/caf%C3%A9", "http://127.0.0.1:18090/status/caf%C3%A9",
		"the same, percent-encoded");
	REFUSED("not a url", "/status/1", STATUS_URL_UNPARSABLE, "-",
		"a processor.url libcurl does not take");
	{
		char *longurl = malloc(STATUS_URL_MAX + 2);

		memset(longurl, 'a', STATUS_URL_MAX + 1);
		longurl[0] = '/';
		longurl[STATUS_URL_MAX + 1] = '\0';
		REFUSED(P, longurl, STATUS_URL_UNPARSABLE, "-", "longer than STATUS_URL_MAX");
		longurl[STATUS_URL_MAX] = '\0';
		is_int(check(P, longurl), STATUS_URL_OK, "exactly STATUS_URL_MAX: allowed");
		free(longurl);
	}
}

static void test_host_for_log(void)
{
	char small[8];
	char *out = NULL;

	is_int(status_url_check(P, "http://a-very-long-host-name.example/x", &out, small,
				sizeof(small)),
	       STATUS_URL_OTHER_HOST, "a long host: refused");
	is_str(small, "a-very-", "the logged host is cut to the buffer");
	ok(out == NULL, "... nothing to poll");
}

int main(void)
{
	test_allowed();
	test_refused();
	test_host_for_log();
	free(url);
	return tap_done();
}
