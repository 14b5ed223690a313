/*
 * vingest-stub.c - a stand-in for the processing service, for ./dev up and the tests.
 *
 * The processing service belongs to another team. This stub speaks its
 * contract (POST /process with an Idempotency-Key; 200 with a result, 202 with
 * a status_url to poll, 429/503 with Retry-After) and can be told over HTTP,
 * through /control, to fail, stall, throttle, go async, answer garbage or drop
 * connections, so that the workers' retries, breaker and exactly-once effect
 * can be tested against each way a dependency misbehaves.
 *
 * One process, one thread, one poll loop. A slow call is a connection with a
 * deadline, not a sleeping thread, so thousands of calls in flight cost a few
 * kilobytes each. Exactly-once effect: the stub keeps a table of idempotency
 * keys; the first call of a key that completes makes the effect (a result),
 * every later call of that key gets the stored result and makes none. An
 * answer lost on the way (the client hung up before the delay ran out) still
 * makes its effect, as a real service would: that is the case a retry with
 * the same key must survive. With -L, every /process call appends one line
 * to a file, so fault tests can check that no job had two effects.
 *
 * Two settings make it misbehave the way a compromised or broken service
 * would, so the workers' defences can be tested against it: `status_url`
 * names what a 202 (and a 307 in mode redirect) points at - another port,
 * another host, a relative path - and `body` swaps the body of results and
 * injected failures for a canned bad one: an HTML page with control bytes,
 * a JSON error with a nasty message, an array, JSON 100 levels deep, 100
 * KiB or 2 MB of it.
 *
 * With -F, the first call of each key fetches its object_url (blocking, with
 * libcurl) and checks the bytes against the call's size and sha256 before it
 * makes any effect, as the real service would before decoding: a mismatch or
 * a failed fetch answers 422, so a job whose object is wrong, missing or not
 * reachable through its signed URL goes dead instead of passing unnoticed.
 *
 * HTTP/1.1 subset: keep-alive, Content-Length bodies (411 without on POST),
 * Expect: 100-continue, pipelined requests served in order. No chunked
 * bodies, no TLS. Listens on loopback only: it is a test tool.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PROG		"vingest-stub"
#define DEFAULT_LISTEN	"127.0.0.1:8090"
#define HEADER_MAX	(16 * 1024) /* request line and headers */
#define BODY_MAX	(64 * 1024)
#define IN_MAX		(HEADER_MAX + BODY_MAX)
#define IN_FIRST	4096 /* first input buffer; grown up to IN_MAX */
#define CONN_MAX	4096
#define ORPHAN_MAX	100000 /* calls whose client left, still waiting to make their effect */
#define KEYS_MAX	1000000
#define KEY_LEN_MAX	255
#define TARGET_MAX	4096
#define IDLE_MS		300000 /* keep-alive connection with no request; libcurl keeps 118 s */
#define REQUEST_MS	30000  /* a request that started arriving must be complete by then */
#define WRITE_MS	60000
#define LINGER_MS	2000 /* after a closing answer, read and drop what the client still sends */
#define DELAY_MAX_MS	(24LL * 3600 * 1000)
#define RETRY_AFTER_MAX 86400
#define STATUS_URL_MAX	1024
#define LARGE_BYTES	(100 * 1024)  /* body large: over the workers' 64 KiB result cap */
#define HUGE_BYTES	(2000 * 1000) /* body huge: over their 256 KiB read cap */
#define DEEP_LEVELS	100

enum level { L_DEBUG, L_INFO, L_WARN, L_ERROR };

enum mode {
	MODE_OK,
	MODE_FAIL,
	MODE_THROTTLE,
	MODE_ASYNC,
	MODE_STALL,
	MODE_GARBAGE,
	MODE_DOWN,
	MODE_REDIRECT
};

static const char *const mode_names[] = {"ok",	  "fail",    "throttle", "async",
					 "stall", "garbage", "down",	 "redirect"};

/* What results and injected failures carry (the body setting). */
enum body {
	BODY_NORMAL,
	BODY_HTML,
	BODY_CONTROLS,
	BODY_NASTY,
	BODY_ARRAY,
	BODY_DEEP,
	BODY_LARGE,
	BODY_HUGE
};

static const char *const body_names[] = {"normal", "html", "controls", "nasty",
					 "array",  "deep", "large",    "huge"};

struct settings {
	enum mode mode;
	long long delay_ms;
	double fail_rate;
	int fail_status;
	long long retry_after;
	enum body body;
	char status_url[STATUS_URL_MAX + 1]; /* "" : http://HOST:PORT/status/<key> */
};

struct counters {
	unsigned long long calls;	 /* POST /process received */
	unsigned long long effects;	 /* results made */
	unsigned long long duplicates;	 /* calls that found their key's effect made or under way */
	unsigned long long status_polls; /* GET /status/<key> */
	unsigned long long peak_per_second; /* most calls + polls arrived in one clock second */
	long long second;		    /* the clock second being counted (time(NULL)) */
	unsigned long long in_second;	    /* calls + polls arrived in it */
	unsigned long long closed;	    /* calls dropped unanswered (mode down) */
	unsigned long long stalled;	    /* calls held unanswered (mode stall) */
	unsigned long long client_gone;	    /* calls whose client left before the answer */
	unsigned long long fetched;	    /* -F: objects fetched whose size and sha256 matched */
	unsigned long long fetch_failed;    /* -F: fetch failed or the bytes did not match */
	unsigned long long by_status[600];
};

enum key_state {
	KEY_SEEN,    /* called, no effect yet */
	KEY_PENDING, /* async job under way, done at due_ms */
	KEY_DONE,    /* effect made, result stored */
};

struct key_entry {
	struct key_entry *chain;
	struct key_entry *older, *newer;	 /* creation order, for eviction */
	struct key_entry *pend_prev, *pend_next; /* KEY_PENDING, ordered by due_ms */
	uint64_t hash;
	enum key_state state;
	unsigned long long calls;
	int64_t due_ms;
	struct json_object *req; /* KEY_PENDING: the request the result is made from */
	char *result;		 /* KEY_DONE: result JSON without its closing brace */
	char key[];
};

struct key_table {
	struct key_entry **buckets;
	size_t nbuckets, count, max;
	struct key_entry *oldest, *newest;
	struct key_entry *pend_first, *pend_last;
	size_t npending;
	unsigned long long evicted;
};

enum conn_state {
	C_HEAD,	  /* reading the request line and headers */
	C_BODY,	  /* reading Content-Length bytes of body */
	C_WAIT,	  /* a /process call waiting for its delay to run out */
	C_STALL,  /* held, never answered, until the client leaves */
	C_WRITE,  /* sending the answer */
	C_LINGER, /* answered and shut down for writing; dropping input until EOF */
	C_ORPHAN, /* C_WAIT whose client left: no socket, still makes its effect */
};

enum action { ACT_NONE, ACT_OK, ACT_FAIL, ACT_GARBAGE };

struct request {
	char method[16];
	char *path; /* target without the query */
	int minor;  /* HTTP/1.minor */
	int has_length, has_te, too_large;
	size_t length;
	int conn_close, conn_keep_alive, expect_continue;
	char *key;   /* Idempotency-Key as sent, NULL if absent */
	int key_bad; /* present but unusable (bad characters, too long, repeated) */
	int64_t start_ms;
	/* POST /process only */
	int is_call;
	struct json_object *body;
	enum action action;
	int fail_status;
	long long retry_after;
	const char *effect; /* "new", "repeat", "none" */
	char job[72], video[72], attempt[24];
};

struct conn {
	struct conn *prev, *next;
	int fd; /* -1 once C_ORPHAN */
	enum conn_state state;
	char *in;
	size_t in_len, in_cap;
	size_t head_len; /* C_BODY: header block, blank line included */
	char *out;
	size_t out_len, out_off;
	int close_after;
	int64_t deadline_ms; /* 0: none */
	struct request req;
};

struct stub {
	int listen_fd;
	char addr[64]; /* HOST:PORT actually bound, for status_url */
	int log_fd;    /* -L file, -1 without */
	int fetch;     /* -F: fetch and check each object once */
	CURL *curl;
	struct settings set;
	struct counters cnt;
	struct key_table keys;
	struct conn *conns;
	size_t nconns, norphans, conn_max;
	int64_t now_ms;
	int64_t accept_paused_until;
	int64_t last_refusal_log;
	uint64_t rng;
};

static volatile sig_atomic_t stop_signal;

/* ------------------------------------------------------------------ basics */

static void oom(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof(msg), PROG ": out of memory allocating %zu bytes\n", n);

	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0) {
		/* nothing more we can do */
	}
	abort();
}

static void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom(n);
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return p;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC with milliseconds: 2026-11-28T05:49:58.123Z */
static void rfc3339(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", (long)tv.tv_usec / 1000);
}

/* Same line shape as the vingest binaries: time, prog[pid], level, key=value. */
static void say(enum level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(enum level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char line[2048];
	size_t n;
	int r;
	va_list ap;

	rfc3339(line, sizeof(line));
	n = strlen(line);
	r = snprintf(line + n, sizeof(line) - n, " %s[%ld] level=%s ", PROG, (long)getpid(),
		     names[level]);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr is gone; nowhere left to say so */
	}
}

/* A value safe to put after key= in a log line: printable, no spaces or quotes. */
static void log_value(char *out, size_t len, const char *in)
{
	size_t i = 0;

	for (; *in && i + 1 < len; in++)
		out[i++] = (*in > ' ' && *in <= '~' && *in != '"') ? *in : '?';
	out[i] = '\0';
	if (i == 0 && len > 1)
		snprintf(out, len, "-");
}

/* Strict decimal integer in [min, max]; 0 on success. */
static int parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *s, enum mode *out)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum mode)i;
			return 0;
		}
	}
	return -1;
}

/* xorshift64*: fail_rate draws; no need for more. */
static int parse_body(const char *v, enum body *out)
{
	for (size_t i = 0; i < sizeof(body_names) / sizeof(body_names[0]); i++) {
		if (strcmp(v, body_names[i]) == 0) {
			*out = (enum body)i;
			return 0;
		}
	}
	return -1;
}

static double draw(struct stub *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

static int key_valid(const char *k, size_t n)
{
	if (n == 0 || n > KEY_LEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '~' ||
		      ch == ':' || ch == '-'))
			return 0;
	}
	return 1;
}

/* -------------------------------------------------------------- key table */

static uint64_t hash_key(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
	return h;
}

static struct key_entry *key_find(struct stub *s, const char *k)
{
	uint64_t h = hash_key(k);
	struct key_entry *e;

	if (!s->keys.buckets)
		return NULL;
	for (e = s->keys.buckets[h & (s->keys.nbuckets - 1)]; e; e = e->chain)
		if (e->hash == h && strcmp(e->key, k) == 0)
			return e;
	return NULL;
}

static void pending_unlink(struct key_table *t, struct key_entry *e)
{
	if (e->pend_prev)
		e->pend_prev->pend_next = e->pend_next;
	else
		t->pend_first = e->pend_next;
	if (e->pend_next)
		e->pend_next->pend_prev = e->pend_prev;
	else
		t->pend_last = e->pend_prev;
	e->pend_prev = e->pend_next = NULL;
	t->npending--;
}

/* Kept sorted by due time; with a steady delay_ms that is an append. */
static void pending_insert(struct key_table *t, struct key_entry *e)
{
	struct key_entry *after = t->pend_last;

	while (after && after->due_ms > e->due_ms)
		after = after->pend_prev;
	e->pend_prev = after;
	e->pend_next = after ? after->pend_next : t->pend_first;
	if (e->pend_next)
		e->pend_next->pend_prev = e;
	else
		t->pend_last = e;
	if (after)
		after->pend_next = e;
	else
		t->pend_first = e;
	t->npending++;
}

static void key_free(struct key_entry *e)
{
	json_object_put(e->req);
	free(e->result);
	free(e);
}

static void key_remove(struct key_table *t, struct key_entry *e)
{
	struct key_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	if (e->state == KEY_PENDING)
		pending_unlink(t, e);
	t->count--;
	key_free(e);
}

static void keys_grow(struct key_table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 1024;
	struct key_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct key_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void keys_clear(struct key_table *t)
{
	struct key_entry *e, *next;

	for (e = t->oldest; e; e = next) {
		next = e->newer;
		key_free(e);
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = t->npending = 0;
	t->oldest = t->newest = t->pend_first = t->pend_last = NULL;
}

/* The entry of key k, made if new. At the cap the oldest settled key is
 * forgotten: a later repeat of it would count a second effect, so say so. */
static struct key_entry *key_get(struct stub *s, const char *k)
{
	struct key_table *t = &s->keys;
	struct key_entry *e = key_find(s, k);
	size_t len;

	if (e)
		return e;
	if (t->count >= t->max) {
		struct key_entry *v = t->oldest;

		while (v && v->state == KEY_PENDING)
			v = v->newer;
		if (v) {
			if (t->evicted++ == 0)
				say(L_WARN,
				    "msg=\"key table full, forgetting the oldest keys\" max=%zu",
				    t->max);
			key_remove(t, v);
		}
	}
	if (t->count >= t->nbuckets)
		keys_grow(t);
	len = strlen(k);
	e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, k, len + 1);
	e->hash = hash_key(k);
	e->state = KEY_SEEN;
	e->chain = t->buckets[e->hash & (t->nbuckets - 1)];
	t->buckets[e->hash & (t->nbuckets - 1)] = e;
	e->older = t->newest;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
	t->count++;
	return e;
}

/* ----------------------------------------------------------------- results */

static struct json_object *field(struct json_object *o, const char *name)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, name, &v))
		return NULL;
	return v;
}

static const char *json_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The result of a call, stored without its closing brace so each answer can
 * end it with its own calls_for_key. */
static char *result_make(struct json_object *req, const char *key)
{
	static const char *const copied[] = {"job_id",	  "video_id",	 "idempotency_key",
					     "container", "duration_ms", "sha256",
					     "size"};
	struct json_object *o = json_object_new_object(), *labels = json_object_new_array();
	char ts[40];
	const char *text;
	char *out;

	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		if (strcmp(copied[i], "idempotency_key") == 0)
			json_object_object_add(o, copied[i], json_object_new_string(key));
		else
			json_object_object_add(o, copied[i],
					       json_object_get(field(req, copied[i])));
	}
	json_object_array_add(labels, json_object_new_string("stub"));
	json_object_object_add(o, "labels", labels);
	rfc3339(ts, sizeof(ts));
	json_object_object_add(o, "processed_at", json_object_new_string(ts));
	text = json_text(o);
	out = xstrndup(text, strlen(text) - 1);
	json_object_put(o);
	return out;
}

static char *result_answer(const struct key_entry *e)
{
	return xasprintf("%s,\"calls_for_key\":%llu}\n", e->result, e->calls);
}

/* An async job's time has come: its effect is made now, polled or not. */
static void async_finish(struct stub *s, struct key_entry *e)
{
	pending_unlink(&s->keys, e);
	e->result = result_make(e->req, e->key);
	json_object_put(e->req);
	e->req = NULL;
	e->state = KEY_DONE;
	s->cnt.effects++;
}

static void async_expire(struct stub *s)
{
	while (s->keys.pend_first && s->keys.pend_first->due_ms <= s->now_ms)
		async_finish(s, s->keys.pend_first);
}

/* ------------------------------------------------------------- connections */

static void request_clear(struct request *r)
{
	free(r->path);
	free(r->key);
	json_object_put(r->body);
	memset(r, 0, sizeof(*r));
}

static void conn_free(struct stub *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->fd >= 0) {
		close(c->fd);
		s->nconns--;
	} else {
		s->norphans--;
	}
	request_clear(&c->req);
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_new(struct stub *s, int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->state = C_HEAD;
	c->deadline_ms = s->now_ms + IDLE_MS;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
}

static int keep_alive(const struct request *r)
{
	return r->minor >= 1 ? !r->conn_close : r->conn_keep_alive && !r->conn_close;
}

static void out_append(struct conn *c, const char *p, size_t n)
{
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	}
	c->out = xrealloc(c->out, c->out_len + n);
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 307:
		return "Temporary Redirect";
	case 400:
		return "Bad Request";
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
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 500 ? "Client Error" : "Server Error";
	}
}

/* One stderr line per request, when it is answered (or dropped, or held). */
static void log_request(struct stub *s, struct conn *c, const char *status)
{
	struct request *r = &c->req;
	char path[96], key[96];

	log_value(path, sizeof(path), r->path ? r->path : "-");
	log_value(key, sizeof(key), r->key ? r->key : "-");
	if (r->is_call)
		say(L_INFO,
		    "msg=call method=%s path=%s status=%s ms=%lld key=%s job=%s attempt=%s "
		    "effect=%s%s",
		    r->method[0] ? r->method : "-", path, status,
		    (long long)(s->now_ms - r->start_ms), key, r->job, r->attempt,
		    r->effect ? r->effect : "none", c->fd < 0 ? " client=gone" : "");
	else
		say(L_INFO, "msg=request method=%s path=%s status=%s ms=%lld%s%s",
		    r->method[0] ? r->method : "-", path, status,
		    (long long)(s->now_ms - r->start_ms), r->key ? " key=" : "", r->key ? key : "");
}

/* The -L file: one line per /process call, written whole with one write(2). */
static void log_call(struct stub *s, struct conn *c, const char *answered)
{
	struct request *r = &c->req;
	char ts[40], key[96], line[512];
	int n;

	if (s->log_fd < 0)
		return;
	rfc3339(ts, sizeof(ts));
	log_value(key, sizeof(key), r->key && !r->key_bad ? r->key : "-");
	n = snprintf(line, sizeof(line),
		     "ts=%s key=%s job=%s video=%s attempt=%s answered=%s effect=%s%s\n", ts, key,
		     r->job, r->video, r->attempt, answered, r->effect ? r->effect : "none",
		     c->fd < 0 ? " client=gone" : "");
	if (n > 0 && (size_t)n < sizeof(line) && write(s->log_fd, line, (size_t)n) < 0)
		say(L_ERROR, "msg=\"cannot write the call log\" error=\"%s\"", strerror(errno));
}

/* Queues a whole answer. extra is more header lines, each ending in CRLF. */
static void respond(struct stub *s, struct conn *c, int status, const char *ctype, const char *body,
		    size_t len, const char *extra)
{
	struct request *r = &c->req;
	char head[512], st[8], date[40];
	int n, close_it = c->close_after || !keep_alive(r);
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nServer: " PROG "\r\nDate: %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%s%s\r\n",
		     status, reason(status), date, ctype, len, extra ? extra : "",
		     close_it ? "Connection: close\r\n"
			      : (r->minor == 0 ? "Connection: keep-alive\r\n" : ""));
	out_append(c, head, (size_t)n);
	out_append(c, body, len);
	c->close_after = close_it;
	c->state = C_WRITE;
	c->deadline_ms = s->now_ms + WRITE_MS;
	if (r->is_call) {
		s->cnt.by_status[status]++;
		snprintf(st, sizeof(st), "%d", status);
		log_call(s, c, st);
	}
	snprintf(st, sizeof(st), "%d", status);
	log_request(s, c, st);
}

static void respond_json(struct stub *s, struct conn *c, int status, struct json_object *o,
			 const char *extra)
{
	char *text = xasprintf("%s\n", json_text(o));

	respond(s, c, status, "application/json", text, strlen(text), extra);
	free(text);
	json_object_put(o);
}

/* {"error":{"code":...,"message":...}}: the shape vingest's own API uses,
 * and the one the workers take an excerpt of for last_error. */
static void respond_error_ext(struct stub *s, struct conn *c, int status, const char *code,
			      const char *message, const char *extra)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(code));
	if (message)
		json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(o, "error", e);
	respond_json(s, c, status, o, extra);
}

static void respond_error(struct stub *s, struct conn *c, int status, const char *error,
			  const char *detail)
{
	respond_error_ext(s, c, status, error, detail, NULL);
}

/* A broken request: answer, then close. */
static void respond_fatal(struct stub *s, struct conn *c, int status, const char *detail)
{
	c->close_after = 1;
	respond_error(s, c, status, status == 400 ? "bad_request" : "protocol", detail);
}

/* The canned body b (not BODY_NORMAL), a new string of *len bytes. Raw
 * control bytes where they say so: they are what the workers must never
 * pass on as they came. */
static char *canned_body(enum body b, size_t *len, const char **ctype)
{
	static const char html[] =
		"<html><head><title>500</title></head><body><script>alert(document.cookie)</script>"
		"\x1b[2J\x1b]0;owned\x07\r\nInternal Server Error</body></html>\n";
	static const char controls[] = "{\"status\":\"done\",\"note\":\"tab\there\x01\x1b[2J\x07 "
				       "<script>alert(1)</script>\"}\n";
	static const char nasty[] =
		"{\"error\":{\"code\":\"bad\\u0007<b>code</b>\",\"message\":\"<script>alert('x')"
		"</script>\\n\\u001b[31mred\\u001b[0m \\\"quoted\\\" C:\\\\path\\r\\n\\tline2 "
		/* U+202E, right-to-left override: a string of its own, d and e are hex */
		"\xe2\x80\xae"
		"desrever `rm -rf` a&b\"}}\n";
	static const char array[] = "[{\"status\":\"done\"}]\n";
	char *out;
	size_t n = 0, fill;

	*ctype = "application/json";
	switch (b) {
	case BODY_HTML:
		*ctype = "text/html";
		*len = sizeof(html) - 1;
		return xstrndup(html, *len);
	case BODY_CONTROLS:
		*len = sizeof(controls) - 1;
		return xstrndup(controls, *len);
	case BODY_NASTY:
		*len = sizeof(nasty) - 1;
		return xstrndup(nasty, *len);
	case BODY_ARRAY:
		*len = sizeof(array) - 1;
		return xstrndup(array, *len);
	case BODY_DEEP: /* {"a": and DEEP_LEVELS - 1 arrays: DEEP_LEVELS levels */
		out = xcalloc(1, 2 * DEEP_LEVELS + 16);
		n = (size_t)sprintf(out, "{\"a\":");
		memset(out + n, '[', DEEP_LEVELS - 1);
		n += DEEP_LEVELS - 1;
		memset(out + n, ']', DEEP_LEVELS - 1);
		n += DEEP_LEVELS - 1;
		memcpy(out + n, "}\n", 3);
		*len = n + 2;
		return out;
	case BODY_LARGE:
	case BODY_HUGE: /* {"s":"xxx..."} of exactly that many bytes */
		*len = b == BODY_LARGE ? LARGE_BYTES : HUGE_BYTES;
		out = xcalloc(1, *len + 1);
		fill = *len - 8;
		memcpy(out, "{\"s\":\"", 6);
		memset(out + 6, 'x', fill);
		memcpy(out + 6 + fill, "\"}", 2);
		return out;
	case BODY_NORMAL:
		break;
	}
	*len = 0;
	return xstrndup("", 0);
}

/* Answers status with the body setting's canned body; 0 (nothing sent) for body normal. */
static int respond_canned(struct stub *s, struct conn *c, int status, const char *extra)
{
	const char *ctype;
	size_t len;
	char *body;

	if (s->set.body == BODY_NORMAL)
		return 0;
	body = canned_body(s->set.body, &len, &ctype);
	respond(s, c, status, ctype, body, len, extra);
	free(body);
	return 1;
}

/* An injected failure; Retry-After on 429 and 503 when retry_after > 0. */
static void respond_failure(struct stub *s, struct conn *c, int status, long long retry_after)
{
	char extra[64] = "";

	if ((status == 429 || status == 503) && retry_after > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %lld\r\n", retry_after);
	c->req.effect = "none";
	if (status != 429 && respond_canned(s, c, status, extra))
		return;
	respond_error_ext(s, c, status, status == 429 ? "throttled" : "injected_failure",
			  "the stub was told to answer so (POST /control)", extra);
}

/* What a 202 (or, in mode redirect, a 307) points at for key: the status_url
 * setting with {key} replaced, or this stub's own /status/<key>. */
static char *status_url_for(struct stub *s, const char *key)
{
	const char *t = s->set.status_url, *k;

	if (!t[0])
		return xasprintf("http://%s/status/%s", s->addr, key);
	k = strstr(t, "{key}");
	if (!k)
		return xasprintf("%s", t);
	return xasprintf("%.*s%s%s", (int)(k - t), t, key, k + 5);
}

/* Mode redirect: 307 to status_url_for(key), no effect. */
static void respond_redirect(struct stub *s, struct conn *c, const char *key)
{
	char *url = status_url_for(s, key ? key : "-");
	char *extra = xasprintf("Location: %s\r\n", url);

	c->req.effect = "none";
	respond(s, c, 307, "application/json", "{\"status\":\"moved\"}\n", 19, extra);
	free(extra);
	free(url);
}

static void respond_garbage(struct stub *s, struct conn *c)
{
	static const char garbage[] = "<html><body>oops: upstream proxy error</body></html>\n";

	c->req.effect = "none";
	respond(s, c, 200, "text/html", garbage, sizeof(garbage) - 1, NULL);
}

/* ------------------------------------------------------------- /process */

/* Only objects; strict JSON; nothing but whitespace after it. */
static struct json_object *parse_object(const char *buf, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (len == 0 || len > BODY_MAX || memchr(buf, '\0', len))
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		oom(sizeof(*tok));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			json_object_put(o);
			o = NULL;
			goto out;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
out:
	json_tokener_free(tok);
	return o;
}

/* job, video and attempt for the logs, as far as the body has them. */
static void call_fields(struct request *r)
{
	struct json_object *v;

	snprintf(r->job, sizeof(r->job), "-");
	snprintf(r->video, sizeof(r->video), "-");
	snprintf(r->attempt, sizeof(r->attempt), "-");
	if ((v = field(r->body, "job_id")) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)))
		log_value(r->job, sizeof(r->job), json_object_get_string(v));
	if ((v = field(r->body, "video_id")) && json_object_is_type(v, json_type_string))
		log_value(r->video, sizeof(r->video), json_object_get_string(v));
	if ((v = field(r->body, "attempt")) && json_object_is_type(v, json_type_int))
		snprintf(r->attempt, sizeof(r->attempt), "%lld",
			 (long long)json_object_get_int64(v));
}

static int is_string(struct json_object *v, size_t max)
{
	return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
	       (size_t)json_object_get_string_len(v) <= max;
}

static int is_int(struct json_object *v, long long min)
{
	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= min;
}

/* NULL if the call is well formed, else what is wrong with it. */
static const char *call_invalid(struct request *r)
{
	struct json_object *o = r->body, *v;
	const char *str;

	if (!r->key)
		return "missing Idempotency-Key header";
	if (r->key_bad)
		return "Idempotency-Key must be 1-255 characters of A-Z a-z 0-9 . _ ~ : -, sent "
		       "once";
	if (!o)
		return "body is not a JSON object";
	v = field(o, "job_id");
	if (!v || !(is_int(v, 1) || is_string(v, KEY_LEN_MAX)))
		return "job_id: a positive integer or a non-empty string";
	if (!is_string(field(o, "video_id"), KEY_LEN_MAX))
		return "video_id: a non-empty string";
	v = field(o, "object_url");
	if (!is_string(v, 8192) || (strncmp(json_object_get_string(v), "http://", 7) != 0 &&
				    strncmp(json_object_get_string(v), "https://", 8) != 0))
		return "object_url: an http:// or https:// URL";
	if (!is_int(field(o, "size"), 0))
		return "size: a non-negative integer";
	v = field(o, "sha256");
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) != 64)
		return "sha256: 64 hex digits";
	for (str = json_object_get_string(v); *str; str++)
		if (!strchr("0123456789abcdefABCDEF", *str))
			return "sha256: 64 hex digits";
	v = field(o, "content_type");
	if (!is_string(v, 255) || !strchr(json_object_get_string(v), '/'))
		return "content_type: a media type";
	if (!is_string(field(o, "container"), 64))
		return "container: a non-empty string";
	if (!is_int(field(o, "duration_ms"), 0))
		return "duration_ms: a non-negative integer";
	if (!is_int(field(o, "attempt"), 1))
		return "attempt: an integer >= 1";
	return NULL;
}

/* The answer of an ok call whose time has come: the effect, once per key. */
static void call_effect(struct stub *s, struct conn *c)
{
	struct request *r = &c->req;
	struct key_entry *e = key_get(s, r->key);

	if (e->calls == 0)
		e->calls = 1; /* forgotten meanwhile (forget_keys, eviction) */
	if (e->state == KEY_PENDING)
		async_finish(s, e); /* an async job of the same key: it was first */
	if (e->state == KEY_DONE) {
		r->effect = "repeat";
		s->cnt.duplicates++;
	} else {
		e->result = result_make(r->body, r->key);
		e->state = KEY_DONE;
		r->effect = "new";
		s->cnt.effects++;
	}
	if (c->fd >= 0 && !respond_canned(s, c, 200, NULL)) {
		char *text = result_answer(e);

		respond(s, c, 200, "application/json", text, strlen(text), NULL);
		free(text);
	}
}

/* A delayed call's time has come. An orphan is freed: returns -1 then. */
static int call_complete(struct stub *s, struct conn *c)
{
	struct request *r = &c->req;

	switch (r->action) {
	case ACT_OK:
		call_effect(s, c);
		break;
	case ACT_FAIL:
		if (c->fd >= 0)
			respond_failure(s, c, r->fail_status, r->retry_after);
		break;
	case ACT_GARBAGE:
		if (c->fd >= 0)
			respond_garbage(s, c);
		break;
	case ACT_NONE:
		break;
	}
	if (c->fd < 0) {
		char st[8];

		snprintf(st, sizeof(st), "%d", r->action == ACT_FAIL ? r->fail_status : 200);
		if (!r->effect)
			r->effect = "none";
		log_call(s, c, st);
		log_request(s, c, st);
		conn_free(s, c);
		return -1;
	}
	return 0;
}

static void call_schedule(struct stub *s, struct conn *c, enum action action)
{
	c->req.action = action;
	c->req.fail_status = s->set.fail_status;
	c->req.retry_after = s->set.retry_after;
	if (s->set.delay_ms == 0) {
		call_complete(s, c);
		return;
	}
	c->state = C_WAIT;
	c->deadline_ms = s->now_ms + s->set.delay_ms;
}

static void call_async(struct stub *s, struct conn *c)
{
	struct request *r = &c->req;
	struct key_entry *e = key_get(s, r->key);
	struct json_object *o;
	char *url;

	if (e->state == KEY_SEEN) {
		e->state = KEY_PENDING;
		e->req = json_object_get(r->body);
		e->due_ms = s->now_ms + s->set.delay_ms;
		pending_insert(&s->keys, e);
		r->effect = "new";
		if (s->set.delay_ms == 0)
			async_finish(s, e);
	} else {
		r->effect = "repeat";
		s->cnt.duplicates++;
	}
	url = status_url_for(s, r->key);
	o = json_object_new_object();
	json_object_object_add(o, "status_url", json_object_new_string(url));
	free(url);
	respond_json(s, c, 202, o, NULL);
}

struct fetch {
	EVP_MD_CTX *md;
	long long size;
};

static size_t fetch_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;

	EVP_DigestUpdate(f->md, buf, size * nmemb);
	f->size += (long long)(size * nmemb);
	return size * nmemb;
}

/* -F: GETs the call's object_url and compares size and SHA-256 with the
 * call's fields. NULL when they match, else why not (static text). */
static const char *fetch_check(struct stub *s, struct request *r, char *why, size_t whylen)
{
	const char *url = json_object_get_string(field(r->body, "object_url"));
	const char *want = json_object_get_string(field(r->body, "sha256"));
	long long want_size = json_object_get_int64(field(r->body, "size"));
	struct fetch f = {EVP_MD_CTX_new(), 0};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	long status = 0;
	CURLcode cc;

	if (!f.md || EVP_DigestInit_ex(f.md, EVP_sha256(), NULL) != 1)
		oom(0);
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, fetch_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	EVP_DigestFinal_ex(f.md, md, &mdlen);
	EVP_MD_CTX_free(f.md);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (cc != CURLE_OK)
		snprintf(why, whylen, "object_url could not be fetched: %s",
			 curl_easy_strerror(cc));
	else if (status != 200)
		snprintf(why, whylen, "object_url answered %ld", status);
	else if (f.size != want_size)
		snprintf(why, whylen, "the object is %lld bytes, the call says %lld", f.size,
			 want_size);
	else if (strcasecmp(hex, want) != 0)
		snprintf(why, whylen, "the object's sha256 is %s, the call says %s", hex, want);
	else
		return NULL;
	return why;
}

/* A call or a status poll arrived: the busiest second so far (by the wall
 * clock, as the workers' processor.max_rps counts) is peak_per_second. */
static void count_arrival(struct stub *s)
{
	long long now = (long long)time(NULL);

	if (now != s->cnt.second) {
		s->cnt.second = now;
		s->cnt.in_second = 0;
	}
	if (++s->cnt.in_second > s->cnt.peak_per_second)
		s->cnt.peak_per_second = s->cnt.in_second;
}

/* POST /process. Returns -1 if c was closed. */
static int handle_process(struct stub *s, struct conn *c, const char *body, size_t len)
{
	struct request *r = &c->req;
	const char *why;

	r->is_call = 1;
	s->cnt.calls++;
	count_arrival(s);
	r->body = parse_object(body, len);
	call_fields(r);
	if (r->key && !r->key_bad)
		key_get(s, r->key)->calls++;

	switch (s->set.mode) {
	case MODE_DOWN:
		s->cnt.closed++;
		log_call(s, c, "closed");
		log_request(s, c, "closed");
		conn_free(s, c);
		return -1;
	case MODE_STALL:
		s->cnt.stalled++;
		log_call(s, c, "none");
		log_request(s, c, "stalled");
		c->state = C_STALL;
		c->deadline_ms = 0;
		return 0;
	case MODE_THROTTLE:
		respond_failure(s, c, 429, s->set.retry_after);
		return 0;
	case MODE_REDIRECT:
		respond_redirect(s, c, r->key && !r->key_bad ? r->key : NULL);
		return 0;
	default:
		break;
	}
	why = call_invalid(r);
	if (why) {
		r->effect = "none";
		respond_error(s, c, 400, "invalid_request", why);
		return 0;
	}
	if (s->fetch && key_get(s, r->key)->state == KEY_SEEN &&
	    (s->set.mode == MODE_OK || s->set.mode == MODE_ASYNC)) {
		char whybuf[256];

		why = fetch_check(s, r, whybuf, sizeof(whybuf));
		if (why) {
			s->cnt.fetch_failed++;
			say(L_WARN, "msg=\"object check failed\" key=%s why=\"%s\"", r->key, why);
			r->effect = "none";
			respond_error(s, c, 422, "object_mismatch", why);
			return 0;
		}
		s->cnt.fetched++;
	}
	switch (s->set.mode) {
	case MODE_GARBAGE:
		call_schedule(s, c, ACT_GARBAGE);
		break;
	case MODE_FAIL:
		call_schedule(s, c, ACT_FAIL);
		break;
	case MODE_ASYNC:
		if (s->set.fail_rate > 0 && draw(s) < s->set.fail_rate)
			respond_failure(s, c, s->set.fail_status, s->set.retry_after);
		else
			call_async(s, c);
		break;
	default:
		call_schedule(s, c,
			      s->set.fail_rate > 0 && draw(s) < s->set.fail_rate ? ACT_FAIL
										 : ACT_OK);
		break;
	}
	return 0;
}

/* GET /status/<key>: the mode applies (without delay), fail_rate does not. */
static int handle_status(struct stub *s, struct conn *c, const char *key)
{
	struct key_entry *e;
	struct json_object *o;
	char *text;

	s->cnt.status_polls++;
	count_arrival(s);
	switch (s->set.mode) {
	case MODE_DOWN:
		log_request(s, c, "closed");
		conn_free(s, c);
		return -1;
	case MODE_STALL:
		log_request(s, c, "stalled");
		c->state = C_STALL;
		c->deadline_ms = 0;
		return 0;
	case MODE_THROTTLE:
		respond_failure(s, c, 429, s->set.retry_after);
		return 0;
	case MODE_FAIL:
		respond_failure(s, c, s->set.fail_status, s->set.retry_after);
		return 0;
	case MODE_GARBAGE:
		respond_garbage(s, c);
		return 0;
	case MODE_REDIRECT:
		respond_redirect(s, c, key_valid(key, strlen(key)) ? key : NULL);
		return 0;
	default:
		break;
	}
	e = key_valid(key, strlen(key)) ? key_find(s, key) : NULL;
	if (!e || e->state == KEY_SEEN) {
		respond_error(s, c, 404, "unknown_key", NULL);
		return 0;
	}
	if (e->state == KEY_PENDING) {
		o = json_object_new_object();
		json_object_object_add(o, "status", json_object_new_string("processing"));
		respond_json(s, c, 202, o, NULL);
		return 0;
	}
	if (respond_canned(s, c, 200, NULL))
		return 0;
	text = result_answer(e);
	respond(s, c, 200, "application/json", text, strlen(text), NULL);
	free(text);
	return 0;
}

/* ------------------------------------------------------------- /control */

static struct json_object *control_view(struct stub *s)
{
	struct json_object *o = json_object_new_object(), *by = json_object_new_object();
	size_t in_flight = 0;
	char code[8];

	for (struct conn *c = s->conns; c; c = c->next)
		if (c->state == C_WAIT || c->state == C_STALL || c->state == C_ORPHAN)
			in_flight++;
	for (int i = 0; i < 600; i++) {
		if (s->cnt.by_status[i]) {
			snprintf(code, sizeof(code), "%d", i);
			json_object_object_add(by, code,
					       json_object_new_int64((int64_t)s->cnt.by_status[i]));
		}
	}
	json_object_object_add(o, "mode", json_object_new_string(mode_names[s->set.mode]));
	json_object_object_add(o, "delay_ms", json_object_new_int64(s->set.delay_ms));
	json_object_object_add(o, "fail_rate", json_object_new_double(s->set.fail_rate));
	json_object_object_add(o, "fail_status", json_object_new_int(s->set.fail_status));
	json_object_object_add(o, "retry_after", json_object_new_int64(s->set.retry_after));
	json_object_object_add(o, "body", json_object_new_string(body_names[s->set.body]));
	json_object_object_add(o, "status_url", json_object_new_string(s->set.status_url));
	json_object_object_add(o, "calls", json_object_new_int64((int64_t)s->cnt.calls));
	json_object_object_add(o, "effects", json_object_new_int64((int64_t)s->cnt.effects));
	json_object_object_add(o, "duplicates", json_object_new_int64((int64_t)s->cnt.duplicates));
	json_object_object_add(o, "by_status", by);
	json_object_object_add(o, "in_flight", json_object_new_int64((int64_t)in_flight));
	json_object_object_add(o, "closed", json_object_new_int64((int64_t)s->cnt.closed));
	json_object_object_add(o, "stalled", json_object_new_int64((int64_t)s->cnt.stalled));
	json_object_object_add(o, "client_gone",
			       json_object_new_int64((int64_t)s->cnt.client_gone));
	json_object_object_add(o, "fetch", json_object_new_boolean(s->fetch));
	json_object_object_add(o, "fetched", json_object_new_int64((int64_t)s->cnt.fetched));
	json_object_object_add(o, "fetch_failed",
			       json_object_new_int64((int64_t)s->cnt.fetch_failed));
	json_object_object_add(o, "status_polls",
			       json_object_new_int64((int64_t)s->cnt.status_polls));
	json_object_object_add(o, "peak_per_second",
			       json_object_new_int64((int64_t)s->cnt.peak_per_second));
	json_object_object_add(o, "async_pending",
			       json_object_new_int64((int64_t)s->keys.npending));
	json_object_object_add(o, "keys", json_object_new_int64((int64_t)s->keys.count));
	json_object_object_add(o, "keys_evicted", json_object_new_int64((int64_t)s->keys.evicted));
	json_object_object_add(o, "connections", json_object_new_int64((int64_t)s->nconns));
	return o;
}

/* Applies all of o or none of it; on error says why in err. */
static int control_update(struct stub *s, struct json_object *o, char *err, size_t errlen)
{
	struct settings set = s->set;
	int reset = 0, forget = 0, fetch = -1;

	json_object_object_foreach(o, name, v)
	{
		if (strcmp(name, "mode") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    parse_mode(json_object_get_string(v), &set.mode) < 0)
				goto bad;
		} else if (strcmp(name, "delay_ms") == 0) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 0 || json_object_get_int64(v) > DELAY_MAX_MS)
				goto bad;
			set.delay_ms = json_object_get_int64(v);
		} else if (strcmp(name, "fail_rate") == 0) {
			if (!json_object_is_type(v, json_type_double) &&
			    !json_object_is_type(v, json_type_int))
				goto bad;
			set.fail_rate = json_object_get_double(v);
			if (!(set.fail_rate >= 0 && set.fail_rate <= 1))
				goto bad;
		} else if (strcmp(name, "fail_status") == 0) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 400 || json_object_get_int64(v) > 599)
				goto bad;
			set.fail_status = (int)json_object_get_int64(v);
		} else if (strcmp(name, "retry_after") == 0) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 0 ||
			    json_object_get_int64(v) > RETRY_AFTER_MAX)
				goto bad;
			set.retry_after = json_object_get_int64(v);
		} else if (strcmp(name, "body") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    parse_body(json_object_get_string(v), &set.body) < 0)
				goto bad;
		} else if (strcmp(name, "status_url") == 0) {
			/* anything but control characters (it goes into a Location
			 * header too): broken URLs are what a test may want */
			const char *u = json_object_get_string(v);

			if (!json_object_is_type(v, json_type_string) ||
			    json_object_get_string_len(v) > STATUS_URL_MAX)
				goto bad;
			for (const char *q = u; *q; q++)
				if ((unsigned char)*q < 0x20 || *q == 0x7f)
					goto bad;
			snprintf(set.status_url, sizeof(set.status_url), "%s", u);
		} else if (strcmp(name, "reset_counters") == 0) {
			if (!json_object_is_type(v, json_type_boolean))
				goto bad;
			reset = json_object_get_boolean(v);
		} else if (strcmp(name, "forget_keys") == 0) {
			if (!json_object_is_type(v, json_type_boolean))
				goto bad;
			forget = json_object_get_boolean(v);
		} else if (strcmp(name, "fetch") == 0) {
			/* only with -F (libcurl ready): calls without objects behind them
			 * (jobs a test inserted by SQL) can turn the check off */
			if (!json_object_is_type(v, json_type_boolean) || !s->curl)
				goto bad;
			fetch = json_object_get_boolean(v);
		} else {
			snprintf(err, errlen, "unknown setting %s", name);
			return -1;
		}
		continue;
	bad:
		snprintf(
			err, errlen,
			"bad %s (mode: ok|fail|throttle|async|stall|garbage|down|redirect, delay_ms: "
			"0..%lld, fail_rate: 0..1, fail_status: 400..599, retry_after: 0..%d, body: "
			"normal|html|controls|nasty|array|deep|large|huge, status_url: at most %d "
			"characters, no controls, reset_counters, forget_keys, fetch (with -F): "
			"true|false)",
			name, DELAY_MAX_MS, RETRY_AFTER_MAX, STATUS_URL_MAX);
		return -1;
	}
	s->set = set;
	if (fetch >= 0)
		s->fetch = fetch;
	if (reset)
		memset(&s->cnt, 0, sizeof(s->cnt));
	if (forget)
		keys_clear(&s->keys);
	{
		char url[128];

		log_value(url, sizeof(url), set.status_url[0] ? set.status_url : "-");
		say(L_INFO,
		    "msg=\"settings changed\" mode=%s delay_ms=%lld fail_rate=%g fail_status=%d "
		    "retry_after=%lld body=%s status_url=%s reset_counters=%d forget_keys=%d",
		    mode_names[set.mode], set.delay_ms, set.fail_rate, set.fail_status,
		    set.retry_after, body_names[set.body], url, reset, forget);
	}
	return 0;
}

static void handle_control(struct stub *s, struct conn *c, const char *body, size_t len)
{
	struct json_object *o;
	char err[512];

	if (strcmp(c->req.method, "GET") == 0) {
		respond_json(s, c, 200, control_view(s), NULL);
		return;
	}
	o = parse_object(body, len);
	if (!o) {
		respond_error(s, c, 400, "invalid_request", "body is not a JSON object");
		return;
	}
	if (control_update(s, o, err, sizeof(err)) < 0) {
		respond_error(s, c, 400, "invalid_request", err);
	} else {
		respond_json(s, c, 200, control_view(s), NULL);
	}
	json_object_put(o);
}

/* Routes a complete request. Returns -1 if c was closed. */
static int dispatch(struct stub *s, struct conn *c, const char *body, size_t len)
{
	struct request *r = &c->req;
	const char *m = r->method;

	if (strcmp(r->path, "/process") == 0) {
		if (strcmp(m, "POST") == 0)
			return handle_process(s, c, body, len);
		respond(s, c, 405, "application/json", "{\"error\":\"method\"}\n", 19,
			"Allow: POST\r\n");
	} else if (strncmp(r->path, "/status/", 8) == 0) {
		if (strcmp(m, "GET") == 0)
			return handle_status(s, c, r->path + 8);
		respond(s, c, 405, "application/json", "{\"error\":\"method\"}\n", 19,
			"Allow: GET\r\n");
	} else if (strcmp(r->path, "/control") == 0) {
		if (strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0)
			handle_control(s, c, body, len);
		else
			respond(s, c, 405, "application/json", "{\"error\":\"method\"}\n", 19,
				"Allow: GET, POST\r\n");
	} else if (strcmp(r->path, "/healthz") == 0) {
		if (strcmp(m, "GET") == 0)
			respond(s, c, 200, "application/json", "{\"status\":\"ok\"}\n", 16, NULL);
		else
			respond(s, c, 405, "application/json", "{\"error\":\"method\"}\n", 19,
				"Allow: GET\r\n");
	} else {
		respond_error(s, c, 404, "not_found", NULL);
	}
	return 0;
}

/* ------------------------------------------------------------- HTTP parsing */

static int is_tchar(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int has_token(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);

	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t part = comma ? (size_t)(comma - v) : n;
		const char *p = v;
		size_t pl = part;

		while (pl > 0 && (*p == ' ' || *p == '\t'))
			p++, pl--;
		while (pl > 0 && (p[pl - 1] == ' ' || p[pl - 1] == '\t'))
			pl--;
		if (pl == tl && strncasecmp(p, token, tl) == 0)
			return 1;
		if (!comma)
			break;
		v = comma + 1;
		n -= part + 1;
	}
	return 0;
}

static const char *parse_header(struct request *r, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t nl, vl;

	if (n > 0 && (line[0] == ' ' || line[0] == '\t'))
		return "folded header line";
	if (!colon || colon == line)
		return "header line without a name";
	nl = (size_t)(colon - line);
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)line[i]))
			return "bad header name";
	v = colon + 1;
	vl = n - nl - 1;
	while (vl > 0 && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (size_t i = 0; i < vl; i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch < ' ' && ch != '\t') || ch == 0x7f)
			return "control character in a header value";
	}
	if (nl == 14 && strncasecmp(line, "Content-Length", nl) == 0) {
		size_t len = 0;

		if (vl == 0)
			return "bad Content-Length";
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return "bad Content-Length";
			if (len <= (size_t)IN_MAX * 16)
				len = len * 10 + (size_t)(v[i] - '0');
		}
		if (r->has_length && r->length != len)
			return "conflicting Content-Length headers";
		r->has_length = 1;
		r->length = len;
		r->too_large = len > BODY_MAX;
	} else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", nl) == 0) {
		r->has_te = 1;
	} else if (nl == 10 && strncasecmp(line, "Connection", nl) == 0) {
		r->conn_close |= has_token(v, vl, "close");
		r->conn_keep_alive |= has_token(v, vl, "keep-alive");
	} else if (nl == 6 && strncasecmp(line, "Expect", nl) == 0) {
		r->expect_continue |= has_token(v, vl, "100-continue");
	} else if (nl == 15 && strncasecmp(line, "Idempotency-Key", nl) == 0) {
		if (r->key || !key_valid(v, vl))
			r->key_bad = 1;
		if (!r->key)
			r->key = xstrndup(v, vl);
	}
	return NULL;
}

/* The request line and headers, len bytes ending in CRLF CRLF. NULL if fine. */
static const char *parse_head(struct request *r, const char *head, size_t len)
{
	const char *p = head, *end = head + len - 2, *eol, *sp1, *sp2, *q;
	size_t n;

	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol)
		eol = end;
	n = (size_t)(eol - p);
	sp1 = memchr(p, ' ', n);
	if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof(r->method))
		return "bad request line";
	for (q = p; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return "bad method";
	memcpy(r->method, p, (size_t)(sp1 - p));
	r->method[sp1 - p] = '\0';
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1 || sp1[1] != '/' || sp2 - sp1 - 1 > TARGET_MAX)
		return "bad request target";
	for (q = sp1 + 1; q < sp2; q++)
		if (*q <= ' ' || *q > '~')
			return "bad request target";
	if (eol - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return "bad HTTP version";
	r->minor = sp2[8] - '0';
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	r->path = xstrndup(sp1 + 1, (size_t)((q ? q : sp2) - sp1 - 1));

	for (p = eol + 2; p < end; p = eol + 2) {
		const char *why;

		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if (memchr(p, '\r', (size_t)(eol - p)) || memchr(p, '\n', (size_t)(eol - p)))
			return "bare CR or LF in a header";
		why = parse_header(r, p, (size_t)(eol - p));
		if (why)
			return why;
	}
	return NULL;
}

/* Tries to take a whole request from the input. 0: needs more input; 1: it
 * was answered or is being served; -1: c was closed. */
static int conn_parse(struct stub *s, struct conn *c)
{
	struct request *r = &c->req;
	size_t need;
	int rc;

	if (c->state == C_HEAD) {
		const char *blank;
		const char *why;

		if (c->in_len == 0)
			return 0;
		if (r->start_ms == 0)
			r->start_ms = s->now_ms;
		blank = memmem(c->in, c->in_len < HEADER_MAX ? c->in_len : HEADER_MAX, "\r\n\r\n",
			       4);
		if (!blank) {
			if (c->in_len < HEADER_MAX)
				return 0;
			respond_fatal(s, c, 431, "request line and headers over 16 KiB");
			return 1;
		}
		c->head_len = (size_t)(blank - c->in) + 4;
		why = parse_head(r, c->in, c->head_len);
		if (why) {
			respond_fatal(s, c, 400, why);
			return 1;
		}
		if (r->has_te && r->has_length) {
			respond_fatal(s, c, 400, "both Transfer-Encoding and Content-Length");
			return 1;
		}
		if (r->has_te) {
			respond_fatal(s, c, 411,
				      "chunked bodies are not supported: send Content-Length");
			return 1;
		}
		if (r->too_large) {
			respond_fatal(s, c, 413, "body over 64 KiB");
			return 1;
		}
		if (!r->has_length && strcmp(r->method, "POST") == 0) {
			respond_fatal(s, c, 411, "POST needs Content-Length");
			return 1;
		}
		c->state = C_BODY;
		if (r->expect_continue && r->minor >= 1 && r->length > 0 &&
		    c->in_len < c->head_len + r->length)
			out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	need = c->head_len + r->length;
	if (c->in_len < need)
		return 0;
	rc = dispatch(s, c, c->in + c->head_len, r->length);
	if (rc < 0)
		return -1;
	/* Everything needed was copied out: drop the request from the input. */
	memmove(c->in, c->in + need, c->in_len - need);
	c->in_len -= need;
	if (c->in_len == 0 && c->in_cap > IN_FIRST) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	return 1;
}

/* Sends what is queued. 1: all sent; 0: the socket is full; -1: error. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	return 1;
}

/* Moves c along as far as it goes without waiting; c may be freed. */
static void conn_run(struct stub *s, struct conn *c)
{
	for (;;) {
		if (c->out_len > c->out_off) {
			int rc = conn_flush(c);

			if (rc < 0) {
				conn_free(s, c);
				return;
			}
			if (rc == 0)
				return;
		}
		switch (c->state) {
		case C_WRITE:
			if (c->close_after) {
				/* Half-close, then read until EOF: closing with unread input
				 * would reset the connection and could lose the answer. */
				shutdown(c->fd, SHUT_WR);
				c->state = C_LINGER;
				c->deadline_ms = s->now_ms + LINGER_MS;
				return;
			}
			request_clear(&c->req);
			c->state = C_HEAD;
			c->deadline_ms = s->now_ms + (c->in_len ? REQUEST_MS : IDLE_MS);
			break;
		case C_HEAD:
		case C_BODY:
			if (conn_parse(s, c) <= 0)
				return;
			break;
		default:
			return;
		}
	}
}

/* The client hung up. A call waiting for its delay still runs its course
 * (an ok call makes its effect, as a real service would finish the work). */
static void conn_gone(struct stub *s, struct conn *c)
{
	if (c->state == C_WAIT) {
		close(c->fd);
		c->fd = -1;
		s->nconns--;
		s->norphans++;
		s->cnt.client_gone++;
		c->state = C_ORPHAN;
		if (s->norphans > ORPHAN_MAX)
			call_complete(s, c); /* early rather than unbounded */
		return;
	}
	if (c->state == C_STALL)
		s->cnt.client_gone++; /* its log line was written when it came in */
	conn_free(s, c);
}

static void conn_readable(struct stub *s, struct conn *c)
{
	ssize_t n;

	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : IN_FIRST;

		if (cap > IN_MAX)
			cap = IN_MAX;
		if (cap == c->in_cap)
			return; /* full; not polled for input until it drains */
		c->in = xrealloc(c->in, cap);
		c->in_cap = cap;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_gone(s, c);
		return;
	}
	if (c->state == C_LINGER) {
		c->in_len = 0; /* dropped */
		return;
	}
	c->in_len += (size_t)n;
	if (c->state == C_HEAD || c->state == C_BODY) {
		c->deadline_ms = s->now_ms + REQUEST_MS;
		conn_run(s, c);
	}
}

static void conn_timeout(struct stub *s, struct conn *c)
{
	switch (c->state) {
	case C_HEAD:
		if (c->in_len == 0) {
			conn_free(s, c); /* idle keep-alive connection */
			return;
		}
		/* fall through */
	case C_BODY:
		respond_fatal(s, c, 408, "request not complete in time");
		conn_run(s, c);
		return;
	case C_WAIT:
		if (call_complete(s, c) == 0)
			conn_run(s, c);
		return;
	case C_ORPHAN:
		call_complete(s, c);
		return;
	case C_WRITE:
	case C_LINGER:
	case C_STALL:
		conn_free(s, c);
		return;
	}
}

/* ------------------------------------------------------------- the loop */

static void accept_all(struct stub *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: stop accepting for a moment
			 * rather than spin on a listen socket that stays readable. */
			if (s->now_ms - s->last_refusal_log >= 1000) {
				say(L_WARN, "msg=\"accept failed\" error=\"%s\" connections=%zu",
				    strerror(errno), s->nconns);
				s->last_refusal_log = s->now_ms;
			}
			s->accept_paused_until = s->now_ms + 100;
			return;
		}
		if (s->nconns >= s->conn_max) {
			close(fd);
			if (s->now_ms - s->last_refusal_log >= 1000) {
				say(L_WARN,
				    "msg=\"connection refused: at the cap\" connections=%zu",
				    s->nconns);
				s->last_refusal_log = s->now_ms;
			}
			continue;
		}
		conn_new(s, fd);
	}
}

static short conn_events(const struct conn *c)
{
	short ev = 0;

	if (c->out_len > c->out_off)
		ev |= POLLOUT;
	if (c->state != C_WRITE && (c->in_len < IN_MAX || c->state == C_LINGER))
		ev |= POLLIN;
	return ev;
}

static int run(struct stub *s, const sigset_t *waitmask)
{
	size_t cap = s->conn_max + 1;
	struct pollfd *pfd = xcalloc(cap, sizeof(*pfd));
	struct conn **pconn = xcalloc(cap, sizeof(*pconn));
	int rc = 0;

	while (!stop_signal) {
		int64_t next = INT64_MAX;
		struct timespec ts, *tsp = NULL;
		struct conn *c, *cnext;
		size_t n = 0;
		int ready;

		s->now_ms = mono_ms();
		if (s->accept_paused_until <= s->now_ms) {
			pfd[n].fd = s->listen_fd;
			pfd[n].events = POLLIN;
			pconn[n++] = NULL;
		} else {
			next = s->accept_paused_until;
		}
		for (c = s->conns; c; c = c->next) {
			if (c->deadline_ms && c->deadline_ms < next)
				next = c->deadline_ms;
			if (c->fd < 0 || n >= cap)
				continue;
			pfd[n].fd = c->fd;
			pfd[n].events = conn_events(c);
			pfd[n].revents = 0;
			pconn[n++] = c;
		}
		if (s->keys.pend_first && s->keys.pend_first->due_ms < next)
			next = s->keys.pend_first->due_ms;
		if (next != INT64_MAX) {
			int64_t wait = next > s->now_ms ? next - s->now_ms : 0;

			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
			tsp = &ts;
		}
		ready = ppoll(pfd, n, tsp, waitmask);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			say(L_ERROR, "msg=\"poll failed\" error=\"%s\"", strerror(errno));
			rc = 1;
			break;
		}
		s->now_ms = mono_ms();
		for (size_t i = 0; i < n && ready > 0; i++) {
			short re = pfd[i].revents;

			if (!re)
				continue;
			ready--;
			c = pconn[i];
			if (!c) {
				accept_all(s);
				continue;
			}
			if (re & POLLOUT) {
				conn_run(s, c);
				continue; /* c may be gone; input waits for the next round */
			}
			if (re & POLLIN)
				conn_readable(s, c);
			else if (re & (POLLERR | POLLHUP | POLLNVAL))
				conn_gone(s, c);
		}
		/* Timers. A timeout frees or changes only its own connection. */
		for (c = s->conns; c; c = cnext) {
			cnext = c->next;
			if (c->deadline_ms && c->deadline_ms <= s->now_ms)
				conn_timeout(s, c);
		}
		async_expire(s);
	}
	free(pfd);
	free(pconn);
	return rc;
}

/* ------------------------------------------------------------- setup */

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int listen_on(struct stub *s, const char *spec)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	const char *colon = strrchr(spec, ':');
	char host[48];
	long long port;
	int one = 1, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (!colon || (size_t)(colon - spec) >= sizeof(host) ||
	    parse_ll(colon + 1, 0, 65535, &port) < 0) {
		fprintf(stderr, PROG ": -l wants HOST:PORT, got \"%s\"\n", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, PROG ": -l %s: the stub listens on a 127.x.x.x address only\n",
			spec);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
		goto fail;
	snprintf(s->addr, sizeof(s->addr), "%s:%u", host, (unsigned)ntohs(sa.sin_port));
	s->listen_fd = fd;
	return 0;
fail:
	fprintf(stderr, PROG ": cannot listen on %s: %s\n", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int settings_from_env(struct settings *set)
{
	const char *v;
	long long n;

	set->mode = MODE_OK;
	set->delay_ms = 0;
	set->fail_rate = 0;
	set->fail_status = 503;
	set->retry_after = 0;
	if ((v = getenv("STUB_MODE")) && *v && parse_mode(v, &set->mode) < 0) {
		fprintf(stderr,
			PROG ": STUB_MODE=%s: not one of ok fail throttle async stall garbage down "
			     "redirect\n",
			v);
		return -1;
	}
	if ((v = getenv("STUB_DELAY_MS")) && *v) {
		if (parse_ll(v, 0, DELAY_MAX_MS, &set->delay_ms) < 0) {
			fprintf(stderr, PROG ": STUB_DELAY_MS=%s: not an integer 0..%lld\n", v,
				DELAY_MAX_MS);
			return -1;
		}
	}
	if ((v = getenv("STUB_FAIL_RATE")) && *v) {
		char *end;

		errno = 0;
		set->fail_rate = strtod(v, &end);
		if (errno || *end || !(set->fail_rate >= 0 && set->fail_rate <= 1)) {
			fprintf(stderr, PROG ": STUB_FAIL_RATE=%s: not a number 0..1\n", v);
			return -1;
		}
	}
	if ((v = getenv("STUB_FAIL_STATUS")) && *v) {
		if (parse_ll(v, 400, 599, &n) < 0) {
			fprintf(stderr, PROG ": STUB_FAIL_STATUS=%s: not a status 400..599\n", v);
			return -1;
		}
		set->fail_status = (int)n;
	}
	if ((v = getenv("STUB_RETRY_AFTER")) && *v) {
		if (parse_ll(v, 0, RETRY_AFTER_MAX, &set->retry_after) < 0) {
			fprintf(stderr, PROG ": STUB_RETRY_AFTER=%s: not an integer 0..%d\n", v,
				RETRY_AFTER_MAX);
			return -1;
		}
	}
	return 0;
}

/* 4096 connections need more descriptors than the usual soft limit of 1024. */
static size_t raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = CONN_MAX + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024 - 64;
	if (rl.rlim_cur < want) {
		rl.rlim_cur =
			rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= want)
		return CONN_MAX;
	return rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-l HOST:PORT] [-L FILE] [-F]\n"
		"  -l HOST:PORT  listen there (a 127.x.x.x address; default " DEFAULT_LISTEN ")\n"
		"  -L FILE       append one line per POST /process call to FILE\n"
		"  -F            fetch each new call's object_url and check its size and sha256\n"
		"                (422 object_mismatch when they differ or the fetch fails)\n"
		"Environment: STUB_MODE (ok|fail|throttle|async|stall|garbage|down|redirect),\n"
		"  STUB_DELAY_MS, STUB_FAIL_RATE, STUB_FAIL_STATUS, STUB_RETRY_AFTER, STUB_MAX_KEYS,\n"
		"  STUB_SEED.\n"
		"Change them at run time with POST /control; see tests/stub/README.md.\n");
}

int main(int argc, char **argv)
{
	struct stub s;
	struct conn *c, *next;
	const char *listen_spec = DEFAULT_LISTEN, *log_path = NULL, *v;
	struct sigaction sa;
	sigset_t block, waitmask;
	long long n;
	int opt, rc = 1;

	memset(&s, 0, sizeof(s));
	s.listen_fd = -1;
	s.log_fd = -1;
	while ((opt = getopt(argc, argv, "l:L:Fh")) != -1) {
		switch (opt) {
		case 'F':
			s.fetch = 1;
			break;
		case 'l':
			listen_spec = optarg;
			break;
		case 'L':
			log_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (settings_from_env(&s.set) < 0)
		return 2;
	if (s.fetch) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		s.curl = curl_easy_init();
		if (!s.curl) {
			fprintf(stderr, PROG ": cannot start libcurl\n");
			return 1;
		}
	}
	s.keys.max = KEYS_MAX;
	if ((v = getenv("STUB_MAX_KEYS")) && *v) {
		if (parse_ll(v, 1, 100000000, &n) < 0) {
			fprintf(stderr, PROG ": STUB_MAX_KEYS=%s: not an integer 1..100000000\n",
				v);
			return 2;
		}
		s.keys.max = (size_t)n;
	}
	if ((v = getenv("STUB_SEED")) && *v && parse_ll(v, 1, INT64_MAX, &n) == 0)
		s.rng = (uint64_t)n;
	else if (getrandom(&s.rng, sizeof(s.rng), 0) != sizeof(s.rng))
		s.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (s.rng == 0)
		s.rng = 0x9e3779b97f4a7c15ULL;
	s.conn_max = raise_nofile();

	/* SIGTERM and SIGINT are blocked except inside ppoll, so a signal
	 * cannot slip in between the check of stop_signal and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (log_path) {
		s.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s.log_fd < 0) {
			fprintf(stderr, PROG ": cannot open call log %s: %s\n", log_path,
				strerror(errno));
			goto out;
		}
	}
	if (listen_on(&s, listen_spec) < 0)
		goto out;
	say(L_INFO,
	    "msg=listening addr=%s mode=%s delay_ms=%lld fail_rate=%g fail_status=%d "
	    "retry_after=%lld max_connections=%zu max_keys=%zu call_log=%s",
	    s.addr, mode_names[s.set.mode], s.set.delay_ms, s.set.fail_rate, s.set.fail_status,
	    s.set.retry_after, s.conn_max, s.keys.max, log_path ? log_path : "-");
	rc = run(&s, &waitmask);
	say(L_INFO, "msg=stopping signal=%d calls=%llu effects=%llu duplicates=%llu",
	    (int)stop_signal, s.cnt.calls, s.cnt.effects, s.cnt.duplicates);
out:
	for (c = s.conns; c; c = next) {
		next = c->next;
		conn_free(&s, c);
	}
	keys_clear(&s.keys);
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (s.log_fd >= 0)
		close(s.log_fd);
	if (s.curl)
		curl_easy_cleanup(s.curl);
	return rc;
}
