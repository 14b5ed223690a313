/*
 * test_client_http.c - unit tests for vingest-upload's origin rule
 * (client/http.c): the API key goes to the origin of the base URL only.
 *
 * Both directions matter. URLs that are the same origin written otherwise
 * (letter case, the default port spelt out) must pass, or uploads break for
 * nothing; look-alikes (another port, scheme or host name, userinfo that
 * reads like a host, a scheme-relative Location) must not, or the key leaks.
 *
 * And what it keeps of an answer: a body past HTTP_BODY_MAX is cut, not a
 * failure (the transfer runs on and its status counts), against a one-shot
 * HTTP server forked for the test.
 */
#include "client.h"
#include "http.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Writes all of p[0..n) to fd; 0 or -1. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Listens on 127.0.0.1 (a port the kernel picks, into *port) and forks a
 * child that answers one request with status and a body of len bytes: head
 * and then fill repeated. Returns the child's pid, or -1.
 */
static pid_t serve_once(int *port, int status, const char *head, char fill, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	pid = fork();
	if (pid != 0) {
		close(ls);
		return pid;
	}
	{
		char req[4096], hdr[256], chunk[65536];
		size_t got = 0, hl = strlen(head), sent;
		int c = accept(ls, NULL, NULL);

		/* the request's head, to its blank line */
		while (c >= 0 && got < sizeof(req) - 1) {
			ssize_t r = read(c, req + got, sizeof(req) - 1 - got);

			if (r <= 0)
				_exit(1);
			got += (size_t)r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, len);
		memset(chunk, fill, sizeof(chunk));
		if (c < 0 || write_all(c, hdr, strlen(hdr)) < 0 || write_all(c, head, hl) < 0)
			_exit(1);
		for (sent = hl; sent < len; sent += sizeof(chunk))
			if (write_all(c, chunk,
				      len - sent < sizeof(chunk) ? len - sent : sizeof(chunk)) < 0)
				_exit(1);
		_exit(0);
	}
}

/* GETs base/x from a server answering status with body head + fill to len. */
static int get_from(int status, const char *head, char fill, size_t len, struct http_resp *r)
{
	struct http h;
	char base[64];
	int port = 0, rc = -1, st;
	pid_t pid = serve_once(&port, status, head, fill, len);

	if (pid < 0)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	if (http_init(&h, base, "vgk_test", 0) == 0) {
		char *url = http_url(&h, "/x");

		rc = http_do(&h, "GET", url, NULL, NULL, NULL, r);
		free(url);
	}
	http_free(&h);
	waitpid(pid, &st, 0);
	return rc;
}

static void answers_are_capped(void)
{
	struct http_resp r = {0};
	const char *err = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such video\"}}";
	char buf[512];
	size_t i;

	is_int(get_from(404, err, ' ', strlen(err), &r), 0, "a small answer comes back");
	is_int(r.status, 404, "... with its status");
	is_str(vg_buf_str(&r.body), err, "... and its whole body");
	http_describe(&r, buf, sizeof(buf));
	is_str(buf, "no such video (HTTP 404, not_found)", "... which the message is made of");
	http_resp_free(&r);

	is_int(get_from(200, "{", 'x', HTTP_BODY_MAX + 300000, &r), 0,
	       "an answer longer than HTTP_BODY_MAX is still an answer (not a write error)");
	is_int(r.status, 200, "... with its status");
	is_int(vg_buf_len(&r.body), HTTP_BODY_MAX, "... and its first HTTP_BODY_MAX bytes kept");
	for (i = 1; i < vg_buf_len(&r.body) && vg_buf_str(&r.body)[i] == 'x'; i++)
		;
	ok(vg_buf_str(&r.body)[0] == '{' && i == HTTP_BODY_MAX,
	   "... which are the start of the body, in order");
	http_resp_free(&r);
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

	answers_are_capped();
	return tap_done();
}
