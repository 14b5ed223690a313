/*
 * vingest-drip - hostile HTTP clients for the abuse tests.
 *
 *   vingest-drip drip  -a HOST:PORT -n N [-s SRC,...] [-m METHOD] [-p PATH]...
 *                      [-H "Name: value"]... [-l LENGTH] [-i SECONDS] [-d SECONDS]
 *                      [--headers-only]
 *   vingest-drip probe -a HOST:PORT [-s SRC] [-m METHOD] [-p PATH]
 *                      [-H "Name: value"]... -l LENGTH [--expect]
 *
 * drip holds N connections open for -d seconds, each sending one byte every
 * -i seconds: with --headers-only the request headers themselves trickle in
 * (never finished: a slowloris), otherwise the headers go at once and the
 * body (Content-Length -l) trickles. A connection the server closes is
 * opened again -i seconds later, so the pressure stays N for the whole run
 * without turning into a flood of new connections. Connections are bound to
 * the source addresses given (-s, in turn): loopback addresses other than
 * 127.0.0.1 stand for other clients; several -p paths are used in turn. At
 * the end one line of counts:
 *
 *   connections=N opened=N closed_by_server=N answered=N status_401=N ...
 *
 * probe sends one request and its body (-l bytes) as fast as the server
 * takes it, watching for the answer between writes, and stops writing when
 * the answer arrives. It prints how much of the body the server had taken
 * by then:
 *
 *   status=401 body_sent_before_answer=65536 continue=0
 *
 * With --expect it sends "Expect: 100-continue" and waits (up to 5 s) for
 * either 100 Continue or a final answer before sending any body; continue=1
 * says a 100 came.
 *
 * SIGTERM ends a drip early, with its line of counts. Everything is
 * bounded: at most 20000 connections, 64 headers, 4 KiB of answer read per
 * connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX   20000
#define HEADERS_MAX 64
#define SRCS_MAX    64
#define PATHS_MAX   256
#define ANSWER_MAX  4096

struct opts {
	struct sockaddr_in to;
	struct in_addr src[SRCS_MAX];
	int nsrc;
	int n;
	const char *method;
	const char *paths[PATHS_MAX];
	int npaths;
	const char *headers[HEADERS_MAX];
	int nheaders;
	long long length;
	double interval;
	double duration;
	int headers_only;
	int expect;
};

struct conn {
	int fd;	   /* -1: closed, to be opened again */
	int src;   /* index into opts.src */
	char *req; /* the request head */
	size_t reqlen, sent;
	long long body_sent;
	double next; /* when the next byte goes, or the next connect (monotonic s) */
	double interval;
	int answered;
};

static struct {
	long opened, closed_by_server, answered, connect_failed;
	long status[600];
} count;

static volatile sig_atomic_t stop; /* SIGTERM, SIGINT: end the run and report */

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "vingest-drip: %s\n", msg);
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vingest-drip drip|probe -a HOST:PORT [options] (see the source's header)\n");
	exit(2);
}

static char *request_head(const struct opts *o, const char *path)
{
	size_t cap = 1024, len;
	char *b;

	for (int i = 0; i < o->nheaders; i++)
		cap += strlen(o->headers[i]) + 2;
	cap += strlen(path) + strlen(o->method);
	b = malloc(cap);
	if (!b)
		die("out of memory");
	len = (size_t)snprintf(b, cap,
			       "%s %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: vingest-drip\r\n",
			       o->method, path, inet_ntoa(o->to.sin_addr), ntohs(o->to.sin_port));
	for (int i = 0; i < o->nheaders; i++)
		len += (size_t)snprintf(b + len, cap - len, "%s\r\n", o->headers[i]);
	if (o->length >= 0)
		len += (size_t)snprintf(b + len, cap - len, "Content-Length: %lld\r\n", o->length);
	if (o->expect)
		len += (size_t)snprintf(b + len, cap - len, "Expect: 100-continue\r\n");
	snprintf(b + len, cap - len, "\r\n");
	return b;
}

/* A non-blocking socket from source src connecting to o->to; -1 on failure. */
static int open_conn(const struct opts *o, int src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in from;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->nsrc > 0) {
		memset(&from, 0, sizeof(from));
		from.sin_family = AF_INET;
		from.sin_addr = o->src[src];
		if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)&o->to, sizeof(o->to)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The status of an answer starting "HTTP/1.x NNN", or 0. */
static int status_of(const char *buf, ssize_t n)
{
	if (n >= 12 && strncmp(buf, "HTTP/1.", 7) == 0)
		return atoi(buf + 9);
	return 0;
}

/* ---- drip ---- */

static void drip_close(struct conn *c, int by_server)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (by_server)
		count.closed_by_server++;
	c->next = now_s() + c->interval; /* opened again after a pause, not at once */
}

static void drip_open(const struct opts *o, struct conn *c, int ep, double t)
{
	struct epoll_event ev;

	c->fd = open_conn(o, c->src);
	c->sent = 0;
	c->body_sent = 0;
	c->answered = 0;
	c->next = t;
	if (c->fd < 0) {
		count.connect_failed++;
		c->next = t + 1; /* try again in a second */
		return;
	}
	count.opened++;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Sends what is due on c: the whole head at once (unless --headers-only),
 * then a byte per interval. */
static void drip_send(const struct opts *o, struct conn *c, double t)
{
	ssize_t w;

	if (c->fd < 0 || t < c->next)
		return;
	if (!o->headers_only && c->sent < c->reqlen) {
		w = send(c->fd, c->req + c->sent, c->reqlen - c->sent, MSG_NOSIGNAL);
		if (w > 0)
			c->sent += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != ENOTCONN)
			drip_close(c, 1);
		return;
	}
	if (o->headers_only && c->sent + 1 < c->reqlen - 2) {
		/* never the blank line that ends the head */
		w = send(c->fd, c->req + c->sent, 1, MSG_NOSIGNAL);
		if (w == 1)
			c->sent++;
	} else if (!o->headers_only && c->body_sent < o->length) {
		w = send(c->fd, "x", 1, MSG_NOSIGNAL);
		if (w == 1)
			c->body_sent++;
	} else {
		w = 0;
	}
	if (w < 0 && errno != EAGAIN && errno != ENOTCONN) {
		drip_close(c, 1);
		return;
	}
	c->next = t + o->interval;
}

static void drip_read(struct conn *c)
{
	char buf[ANSWER_MAX];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
	int st;

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drip_close(c, 1);
		return;
	}
	st = status_of(buf, n);
	if (st > 0 && !c->answered) {
		c->answered = 1;
		count.answered++;
		if (st < 600)
			count.status[st]++;
	}
}

static int drip(const struct opts *o)
{
	struct conn *conns = calloc((size_t)o->n, sizeof(*conns));
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC), i;
	double start = now_s(), t;
	char *reqs[PATHS_MAX];

	if (!conns || ep < 0)
		die("cannot set up");
	for (i = 0; i < o->npaths; i++)
		reqs[i] = request_head(o, o->paths[i]);
	for (i = 0; i < o->n; i++) {
		conns[i].fd = -1;
		conns[i].src = o->nsrc ? i % o->nsrc : 0;
		conns[i].req = reqs[i % o->npaths];
		conns[i].reqlen = strlen(conns[i].req);
		conns[i].interval = o->interval;
		drip_open(o, &conns[i], ep, start + (o->interval * i) / o->n);
	}
	while ((t = now_s()) < start + o->duration && !stop) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (i = 0; i < n; i++)
			drip_read(evs[i].data.ptr);
		t = now_s();
		for (i = 0; i < o->n; i++) {
			if (conns[i].fd < 0 && t >= conns[i].next)
				drip_open(o, &conns[i], ep, t);
			drip_send(o, &conns[i], t);
		}
	}
	printf("connections=%d opened=%ld closed_by_server=%ld connect_failed=%ld answered=%ld",
	       o->n, count.opened, count.closed_by_server, count.connect_failed, count.answered);
	for (i = 100; i < 600; i++)
		if (count.status[i])
			printf(" status_%d=%ld", i, count.status[i]);
	printf("\n");
	for (i = 0; i < o->n; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	for (i = 0; i < o->npaths; i++)
		free(reqs[i]);
	close(ep);
	return 0;
}

/* ---- probe ---- */

/* Waits up to ms for something to read on fd; reads it into buf. The
 * number read, 0 if nothing came, -1 if the connection ended. */
static ssize_t wait_read(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(fd, buf, cap - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static int probe(const struct opts *o)
{
	char *req = request_head(o, o->paths[0]), ans[ANSWER_MAX], chunk[65536];
	int fd = open_conn(o, 0), st = 0, cont = 0;
	size_t len = strlen(req), sent = 0;
	long long body = 0;
	struct pollfd p;
	ssize_t n;

	if (fd < 0)
		die("cannot connect");
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 5000) <= 0)
		die("connect timed out");
	memset(chunk, 'x', sizeof(chunk));
	while (sent < len) {
		ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

		if (w < 0 && errno == EAGAIN) {
			poll(&p, 1, 1000);
			continue;
		}
		if (w <= 0)
			die("the head could not be sent");
		sent += (size_t)w;
	}
	if (o->expect) {
		n = wait_read(fd, ans, sizeof(ans), 5000);
		st = n > 0 ? status_of(ans, n) : 0;
		if (st == 100) {
			cont = 1;
			st = 0;
		}
	}
	/* The body, as fast as the server takes it, until it answers. */
	while (!st && body < o->length) {
		size_t want = (size_t)(o->length - body < (long long)sizeof(chunk)
					       ? o->length - body
					       : (long long)sizeof(chunk));
		ssize_t w;

		n = wait_read(fd, ans, sizeof(ans), 0);
		if (n < 0)
			break;
		if (n > 0 && (st = status_of(ans, n)) != 0)
			break;
		p.events = POLLOUT | POLLIN;
		if (poll(&p, 1, 5000) <= 0)
			break;
		if (p.revents & POLLIN)
			continue; /* the answer, read at the top */
		w = send(fd, chunk, want, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w <= 0)
			break;
		body += w;
	}
	if (!st) {
		n = wait_read(fd, ans, sizeof(ans), 30000);
		st = n > 0 ? status_of(ans, n) : 0;
	}
	printf("status=%d body_sent_before_answer=%lld continue=%d\n", st, body, cont);
	close(fd);
	free(req);
	return st ? 0 : 1;
}

/* ---- options ---- */

static void parse_addr(const char *s, struct sockaddr_in *to)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		die("-a wants HOST:PORT (IPv4)");
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &to->sin_addr) != 1)
		die("-a: not an IPv4 address");
}

static void parse_srcs(const char *s, struct opts *o)
{
	char *copy = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok && o->nsrc < SRCS_MAX;
	     tok = strtok_r(NULL, ",", &save))
		if (inet_pton(AF_INET, tok, &o->src[o->nsrc++]) != 1)
			die("-s: not an IPv4 address");
	free(copy);
}

int main(int argc, char **argv)
{
	struct opts o;
	int i, is_drip;

	if (argc < 2)
		usage();
	memset(&o, 0, sizeof(o));
	o.n = 1;
	o.method = "POST";
	o.length = -1;
	o.interval = 5;
	o.duration = 10;
	is_drip = strcmp(argv[1], "drip") == 0;
	if (!is_drip && strcmp(argv[1], "probe") != 0)
		usage();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--headers-only") == 0) {
			o.headers_only = 1;
			continue;
		}
		if (strcmp(a, "--expect") == 0) {
			o.expect = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "-a") == 0)
			parse_addr(v, &o.to);
		else if (strcmp(a, "-s") == 0)
			parse_srcs(v, &o);
		else if (strcmp(a, "-n") == 0)
			o.n = atoi(v);
		else if (strcmp(a, "-m") == 0)
			o.method = v;
		else if (strcmp(a, "-p") == 0 && o.npaths < PATHS_MAX)
			o.paths[o.npaths++] = v;
		else if (strcmp(a, "-H") == 0 && o.nheaders < HEADERS_MAX)
			o.headers[o.nheaders++] = v;
		else if (strcmp(a, "-l") == 0)
			o.length = atoll(v);
		else if (strcmp(a, "-i") == 0)
			o.interval = atof(v);
		else if (strcmp(a, "-d") == 0)
			o.duration = atof(v);
		else
			usage();
	}
	if (!o.to.sin_port || o.n < 1 || o.n > CONNS_MAX || o.interval <= 0)
		usage();
	if (o.npaths == 0)
		o.paths[o.npaths++] = "/v1/videos";
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	if (is_drip)
		return drip(&o);
	if (o.length < 0)
		die("probe needs -l LENGTH");
	return probe(&o);
}
