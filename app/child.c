/*
 * child.c - one prefork child: accept, route, answer, repeat (see child.h).
 */
#include "child.h"
#include "gate.h"
#include "metrics.h"
#include "request.h"
#include "router.h"
#include "scoreboard.h"
#include "vg_addr.h"
#include "vg_config.h"
#include "vg_failpoint.h"
#include "vg_log.h"
#include "vg_text.h"
#include "vg_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t quit_requested; /* SIGQUIT: finish the request, then exit */
static volatile sig_atomic_t term_requested; /* SIGTERM: stop now */

static void on_quit(int sig)
{
	(void)sig;
	quit_requested = 1;
}

static void on_term(int sig)
{
	(void)sig;
	term_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked accept(2) must return EINTR so the loop sees the flag. */
	sa.sa_handler = on_quit;
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a vanished web server is an EPIPE, not a death */
}

/* SIGQUIT waits while a request is served (it must not cut a body read short). */
static void block_quit(int block)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGQUIT);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	return (flags & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Waits until fd is readable with SIGQUIT (held elsewhere) open; -1 with
 * EINTR when a signal ended the wait. */
static int wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	sigset_t open;

	sigprocmask(SIG_SETMASK, NULL, &open);
	sigdelset(&open, SIGQUIT);
	return ppoll(&p, 1, NULL, &open) < 0 ? -1 : 0;
}

/*
 * A FastCGI listener on TCP serves the web servers in http.listen_allow
 * only (loopback by default): whoever can speak FastCGI to this process can
 * claim any client address and, through the authorizer's variables, any
 * user. The peer is known only once libfcgi has accepted the connection;
 * one that is not allowed gets a 403 and nothing else. 1 allowed.
 */
static int peer_allowed(struct child *c, FCGX_Request *fcgi)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char addr[INET6_ADDRSTRLEN];
	const void *in;
	static int64_t last_warning_ms;

	if (getpeername(fcgi->ipcFd, (struct sockaddr *)&sa, &len) < 0)
		return 1; /* not a socket we can ask: a unix socket's peer is the web server */
	if (sa.ss_family == AF_INET)
		in = &((struct sockaddr_in *)&sa)->sin_addr;
	else if (sa.ss_family == AF_INET6)
		in = &((struct sockaddr_in6 *)&sa)->sin6_addr;
	else
		return 1; /* AF_UNIX: the socket file's mode (0660) decides who connects */
	if (!inet_ntop(sa.ss_family, in, addr, sizeof(addr)))
		return 0;
	if (vg_addr_allowed(c->cfg->http.listen_allow, addr))
		return 1;
	if (vg_mono_ms() - last_warning_ms >= 60000 || last_warning_ms == 0) {
		last_warning_ms = vg_mono_ms();
		vg_warn("msg=\"FastCGI connection from an address not in http.listen_allow refused\" "
			"peer=%s",
			addr);
	}
	return 0;
}

static void serve(struct child *c, FCGX_Request *fcgi)
{
	struct request r;
	int64_t t0 = vg_mono_ms();

	if (request_init(&r, fcgi, c) < 0) {
		request_error(&r, 400, "bad_request", "request line too long");
	} else if (!peer_allowed(c, fcgi)) {
		request_error(&r, 403, "forbidden", "this FastCGI peer is not allowed");
	} else if (r.authorizer) {
		gate_authorize(&r);
	} else if (r.refusal) {
		request_replay(&r); /* what the authorizer decided (request.h) */
	} else {
		router_dispatch(&r);
		if (!r.answered)
			request_error(&r, 500, "internal", "no answer was produced");
	}
	scoreboard_leave(); /* the upload it may have served is over */
	{
		/* The access log: one line per request, whatever answered it. The
		 * path is the raw path without its query (signed URLs carry their
		 * signature there), escaped so that no byte of it can end the
		 * field. video_id appears once the request names one; an
		 * authorizer's verdict is a line of its own (role=authorizer). */
		int64_t ms = vg_mono_ms() - t0;
		char steps[REQUEST_STEPS * 32], path[3 * 200 + 1], method[3 * 16 + 1],
			addr[3 * 64 + 1];
		const char *remote = request_param(&r, "REMOTE_ADDR");
		char deferred[24] = "";

		if (r.deferred_status)
			snprintf(deferred, sizeof(deferred), " refused=%d", r.deferred_status);

		request_steps_text(&r, steps, sizeof(steps));
		if (!r.authorizer || (r.status != 200 && !r.deferred_status))
			metrics_request(&r, ms); /* the answers a client gets, each once */
		vg_info("msg=request request_id=%s%s%s method=%s path=\"%s\" status=%d "
			"bytes_in=%lld bytes_out=%lld duration_ms=%lld user=%lld addr=%s%s%s%s",
			r.request_id, r.authorizer ? " role=authorizer" : "", deferred,
			vg_text_log_escape(r.method, method, sizeof(method)),
			vg_text_log_escape(r.path, path, sizeof(path)), r.status, r.body_read,
			r.bytes_out, (long long)ms, r.user_id,
			vg_text_log_escape(remote ? remote : "-", addr, sizeof(addr)),
			r.video_id[0] ? " video_id=" : "", r.video_id, steps);
	}
	request_free(&r);
}

int child_main(const struct vg_config *cfg, int listen_fd, unsigned slot, pid_t master)
{
	struct child c;
	FCGX_Request fcgi;
	int status = 0;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.listen_fd = listen_fd;
	install_signals();
	/* The master killed outright (SIGKILL, OOM) must not leave its children
	 * serving unwatched - on a socket file its successor may have replaced:
	 * the kernel sends SIGQUIT, and the request in hand is finished first. If
	 * it went before this line, getppid() is no longer it. */
	prctl(PR_SET_PDEATHSIG, SIGQUIT);
	if (getppid() != master) {
		vg_warn("msg=\"the master is gone; not serving\" master=%ld", (long)master);
		return 0;
	}
	scoreboard_attach(slot);
	vg_shards_init(&c.shards, cfg);
	if (vg_store_open(&c.store, cfg, c.shards.db[0]) < 0)
		return 1;
	if (vg_cache_open(&c.cache, cfg) < 0)
		vg_warn("msg=\"cache.servers unusable; rate limits are off\"");
	/* Connect now so the first request does not pay for it; failure is fine
	 * here (the database may be restarting) and is retried per request. */
	for (unsigned k = 0; k < c.shards.n; k++)
		vg_db_ensure(c.shards.db[k]);

	if (FCGX_Init() != 0) {
		vg_error("msg=\"FCGX_Init failed\"");
		status = 1;
		goto out;
	}
	FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	/* SIGQUIT is held everywhere but inside ppoll(), which opens it
	 * atomically: a SIGQUIT that lands between the loop's check and the wait
	 * ends the wait instead of being noticed at the next connection (which,
	 * when the master is dead, may never come). The listener is non-blocking
	 * so that losing a connection to a sibling returns EAGAIN, not a block
	 * with SIGQUIT held; accepted sockets do not inherit O_NONBLOCK. */
	block_quit(1);
	if (set_nonblocking(listen_fd) < 0) {
		vg_error("msg=\"cannot make the FastCGI listener non-blocking\" error=\"%s\"",
			 strerror(errno));
		status = 1;
		goto out_request;
	}
	while (!quit_requested && !term_requested) {
		if (cfg->http.max_requests && c.served >= cfg->http.max_requests) {
			vg_info("msg=\"recycling child after max_requests\" served=%lld", c.served);
			break;
		}
		(void)VG_FAILPOINT("child.idle"); /* stall: widens the gap before the wait */
		if (fcgi.ipcFd < 0 && wait_readable(listen_fd) < 0) {
			if (errno == EINTR)
				continue;
			vg_error("msg=\"waiting for a FastCGI connection failed\" error=\"%s\"",
				 strerror(errno));
			status = 1;
			break;
		}
		if (FCGX_Accept_r(&fcgi) < 0) {
			if (quit_requested || term_requested)
				break;
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue; /* a sibling took the connection */
			vg_error("msg=\"FastCGI accept failed\" error=\"%s\"", strerror(errno));
			status = 1;
			break;
		}
		serve(&c, &fcgi);
		FCGX_Finish_r(&fcgi);
		c.served++;
	}
out_request:
	FCGX_Free(&fcgi, 0);
out:
	vg_shards_close(&c.shards);
	vg_cache_close(&c.cache);
	vg_store_close(&c.store);
	return status;
}
