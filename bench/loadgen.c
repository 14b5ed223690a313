/*
 * loadgen.c - the one load generator ./dev bench drives every upload server
 * with: vingest and the PHP baseline (multipart), vingest and @tus/server
 * (tus). Same client, same payload file, same connection count, so the
 * figures differ only by the server.
 *
 * libcurl multi, one thread: CONNS uploads in flight at once, each a fresh
 * request on a kept-alive connection; when one ends the next starts, until
 * REQUESTS have been started or SECONDS have passed (then the ones in flight
 * finish). A multipart upload is one POST with a single `file` part read from
 * the payload file (curl_mime_filedata streams it, nothing is held whole). A
 * tus upload is a creation POST (Upload-Length) and one PATCH carrying the
 * whole file from offset 0; its latency covers both. "Expect: 100-continue"
 * is turned off: it would add a round trip to every large body on both sides.
 *
 * Output, one line: the figures ./dev bench puts in its table (key=value).
 *
 * -T HARD: at HARD seconds every upload still in flight is abandoned and
 * counted as `abandoned` (neither ok nor failed): it bounds the 300 MiB x 64
 * point, where all uploads would otherwise run to the end whatever it costs.
 *
 * Many clients, not one: -K KEYFILE gives each upload the next API key of
 * the file (one a line) as "Authorization: Bearer", and -S PREFIX binds
 * connection i to the address PREFIX.(i % 250 + 1) (a loopback /24 such as
 * 127.0.1). vingest's shipped per-key and per-address limits are meant for
 * real clients; a bench that were one key on one address would measure them,
 * not the server.
 *
 *   loadgen multipart|tus URL FILE -c CONNS -n REQUESTS [-t SECONDS] [-T HARD]
 *           [-K KEYFILE] [-S PREFIX] [-H HEADER]...
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADERS_MAX  8
#define LOCATION_MAX 2048
#define BODY_KEEP    512 /* bytes of an answer kept to show a failure */
#define CONNS_MAX    1024
#define KEYS_MAX     4096
#define KEY_LEN_MAX  256

enum mode { MODE_MULTIPART, MODE_TUS };
enum step { STEP_IDLE, STEP_POST, STEP_PATCH };

struct slot {
	CURL *easy;
	int index;		     /* its place among the connections */
	char auth[KEY_LEN_MAX + 32]; /* "Authorization: Bearer KEY" of this upload, or "" */
	char iface[32];		     /* the source address (-S), or "" */
	enum step step;
	double started;
	curl_mime *mime;
	struct curl_slist *headers;
	char location[LOCATION_MAX];
	char body[BODY_KEEP + 1];
	size_t body_len;
};

struct run {
	enum mode mode;
	const char *url;
	const char *file;
	const char *headers[HEADERS_MAX];
	int nheaders;
	int conns;
	long requests;
	double seconds;
	double hard; /* abandon what is in flight after this many seconds */
	char **keys; /* -K: one API key per upload, in turn */
	int nkeys;
	long next_key;
	const char *src_prefix; /* -S */
	const char *payload;	/* the file, mapped (tus PATCH bodies point into it) */
	curl_off_t size;
	CURLM *multi;
	long started, ok, failed, abandoned, statuses[6];
	double *latencies;
	double t0;
	int shown_failure;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s\n", what);
	exit(1);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n, room = BODY_KEEP - s->body_len;

	if (room > len)
		room = len;
	memcpy(s->body + s->body_len, data, room);
	s->body_len += room;
	s->body[s->body_len] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n;

	if (len > 9 && strncasecmp(data, "Location:", 9) == 0) {
		const char *v = data + 9;
		size_t vlen = len - 9;

		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen < LOCATION_MAX) {
			memcpy(s->location, v, vlen);
			s->location[vlen] = '\0';
		}
	}
	return len;
}

/* Common settings of every request; the caller adds method and body. */
static void easy_base(struct run *r, struct slot *s, const char *url)
{
	curl_easy_reset(s->easy);
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 1800L);
	s->body_len = 0;
	s->body[0] = '\0';
	curl_slist_free_all(s->headers);
	s->headers = curl_slist_append(NULL, "Expect:");
	for (int i = 0; i < r->nheaders; i++)
		s->headers = curl_slist_append(s->headers, r->headers[i]);
	if (s->auth[0])
		s->headers = curl_slist_append(s->headers, s->auth);
	if (s->iface[0])
		curl_easy_setopt(s->easy, CURLOPT_INTERFACE, s->iface);
}

static void start_multipart(struct run *r, struct slot *s)
{
	curl_mimepart *part;

	easy_base(r, s, r->url);
	curl_mime_free(s->mime);
	s->mime = curl_mime_init(s->easy);
	part = curl_mime_addpart(s->mime);
	curl_mime_name(part, "file");
	curl_mime_type(part, "video/mp4");
	if (curl_mime_filedata(part, r->file) != CURLE_OK)
		die("cannot read the payload file");
	curl_mime_filename(part, "bench.mp4");
	curl_easy_setopt(s->easy, CURLOPT_MIMEPOST, s->mime);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	s->step = STEP_POST;
}

static void start_tus_post(struct run *r, struct slot *s)
{
	char h[64];

	easy_base(r, s, r->url);
	snprintf(h, sizeof(h), "Upload-Length: %lld", (long long)r->size);
	s->headers = curl_slist_append(s->headers, h);
	s->headers = curl_slist_append(s->headers, "Tus-Resumable: 1.0.0");
	/* filename "bench.mp4", base64 */
	s->headers = curl_slist_append(s->headers, "Upload-Metadata: filename YmVuY2gubXA0");
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	s->location[0] = '\0';
	s->step = STEP_POST;
}

/* The PATCH goes to the Location the POST answered, made absolute. */
static int start_tus_patch(struct run *r, struct slot *s)
{
	char url[LOCATION_MAX * 2];

	if (s->location[0] == '\0')
		return -1;
	if (s->location[0] == '/') {
		const char *p = strstr(r->url, "://");
		const char *slash = p ? strchr(p + 3, '/') : NULL;
		int host_len = slash ? (int)(slash - r->url) : (int)strlen(r->url);

		snprintf(url, sizeof(url), "%.*s%s", host_len, r->url, s->location);
	} else {
		snprintf(url, sizeof(url), "%s", s->location);
	}
	easy_base(r, s, url);
	s->headers = curl_slist_append(s->headers, "Tus-Resumable: 1.0.0");
	s->headers = curl_slist_append(s->headers, "Upload-Offset: 0");
	s->headers = curl_slist_append(s->headers, "Content-Type: application/offset+octet-stream");
	curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, "PATCH");
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, r->payload);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, r->size);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	s->step = STEP_PATCH;
	return 0;
}

/* Starts the next upload in slot s, if the run has any left. */
static int start_next(struct run *r, struct slot *s)
{
	if (r->started >= r->requests || now() - r->t0 >= r->seconds) {
		s->step = STEP_IDLE;
		return 0;
	}
	r->started++;
	s->started = now();
	if (r->nkeys)
		snprintf(s->auth, sizeof(s->auth), "Authorization: Bearer %s",
			 r->keys[r->next_key++ % r->nkeys]);
	if (r->mode == MODE_MULTIPART)
		start_multipart(r, s);
	else
		start_tus_post(r, s);
	curl_multi_add_handle(r->multi, s->easy);
	return 1;
}

static void count_status(struct run *r, long status)
{
	int k = (int)(status / 100);

	r->statuses[k >= 1 && k <= 5 ? k : 0]++;
}

static void failure(struct run *r, struct slot *s, CURLcode rc, long status)
{
	r->failed++;
	if (r->shown_failure++ < 3)
		fprintf(stderr, "loadgen: %s %s: %s, status %ld: %.200s\n",
			s->step == STEP_PATCH ? "PATCH" : "POST", r->url,
			rc == CURLE_OK ? "answered" : curl_easy_strerror(rc), status, s->body);
}

/* One transfer ended: count it, go on with the same upload or the next. */
static void finished(struct run *r, struct slot *s, CURLcode rc)
{
	long status = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(r->multi, s->easy);
	if (rc != CURLE_OK || status < 200 || status > 299) {
		count_status(r, status);
		failure(r, s, rc, status);
	} else if (r->mode == MODE_TUS && s->step == STEP_POST) {
		if (start_tus_patch(r, s) == 0) {
			curl_multi_add_handle(r->multi, s->easy);
			return;
		}
		count_status(r, status);
		failure(r, s, rc, status);
	} else {
		count_status(r, status);
		r->latencies[r->ok++] = now() - s->started;
	}
	start_next(r, s);
}

/* Slots with an upload in flight. */
static int active(const struct run *r, const struct slot *slots)
{
	int n = 0;

	for (int i = 0; i < r->conns; i++)
		n += slots[i].step != STEP_IDLE;
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double percentile(const double *v, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i];
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen multipart|tus URL FILE -c CONNS -n REQUESTS "
			"[-t SECONDS] [-T HARD] [-K KEYFILE] [-S PREFIX] [-H HEADER]...\n");
	exit(2);
}

/* -K FILE: the API keys, one a line (bounded: KEYS_MAX keys of KEY_LEN_MAX). */
static void read_keys(struct run *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[KEY_LEN_MAX + 2];

	if (!f)
		die("cannot read the key file");
	r->keys = calloc(KEYS_MAX, sizeof(char *));
	if (!r->keys)
		die("out of memory");
	while (r->nkeys < KEYS_MAX && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			r->keys[r->nkeys++] = strdup(line);
	}
	fclose(f);
	if (!r->nkeys)
		die("the key file has no keys");
}

int main(int argc, char **argv)
{
	struct run r = {.conns = 1, .requests = 1, .seconds = 1e9, .hard = 1e9};
	struct slot *slots;
	struct stat st;
	double elapsed;
	int opt, fd, running = 0;

	while ((opt = getopt(argc, argv, "c:n:t:T:H:K:S:")) != -1) {
		switch (opt) {
		case 'c':
			r.conns = atoi(optarg);
			break;
		case 'n':
			r.requests = atol(optarg);
			break;
		case 't':
			r.seconds = atof(optarg);
			break;
		case 'T':
			r.hard = atof(optarg);
			break;
		case 'H':
			if (r.nheaders == HEADERS_MAX)
				die("too many -H");
			r.headers[r.nheaders++] = optarg;
			break;
		case 'K':
			read_keys(&r, optarg);
			break;
		case 'S':
			r.src_prefix = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || r.conns < 1 || r.conns > CONNS_MAX || r.requests < 1)
		usage();
	if (strcmp(argv[optind], "multipart") == 0)
		r.mode = MODE_MULTIPART;
	else if (strcmp(argv[optind], "tus") == 0)
		r.mode = MODE_TUS;
	else
		usage();
	r.url = argv[optind + 1];
	r.file = argv[optind + 2];

	fd = open(r.file, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		die("cannot open the payload file");
	r.size = st.st_size;
	r.payload = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (r.payload == MAP_FAILED)
		die("cannot map the payload file");
	close(fd);

	r.latencies = calloc((size_t)r.requests, sizeof(double));
	slots = calloc((size_t)r.conns, sizeof(*slots));
	if (!r.latencies || !slots)
		die("out of memory");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	r.multi = curl_multi_init();
	curl_multi_setopt(r.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)r.conns);
	curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, (long)r.conns);

	r.t0 = now();
	for (int i = 0; i < r.conns; i++) {
		slots[i].easy = curl_easy_init();
		if (!slots[i].easy)
			die("curl_easy_init failed");
		slots[i].index = i;
		if (r.src_prefix)
			snprintf(slots[i].iface, sizeof(slots[i].iface), "%s.%d", r.src_prefix,
				 i % 250 + 1);
		start_next(&r, &slots[i]);
	}
	/* Loop while any slot has an upload: a transfer can end in the same
	 * curl_multi_perform that reports nothing running, so the slots, not
	 * curl's running count, say when the run is over. */
	while (active(&r, slots)) {
		CURLMsg *m;
		int left;

		if (curl_multi_perform(r.multi, &running) != CURLM_OK)
			die("curl_multi_perform failed");
		while ((m = curl_multi_info_read(r.multi, &left))) {
			struct slot *s;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			finished(&r, s, m->data.result);
		}
		if (now() - r.t0 >= r.hard) {
			for (int i = 0; i < r.conns; i++) {
				if (slots[i].step == STEP_IDLE)
					continue;
				curl_multi_remove_handle(r.multi, slots[i].easy);
				slots[i].step = STEP_IDLE;
				r.abandoned++;
			}
			break;
		}
		if (running)
			curl_multi_poll(r.multi, NULL, 0, 100, NULL);
	}
	elapsed = now() - r.t0;

	qsort(r.latencies, (size_t)r.ok, sizeof(double), cmp_double);
	printf("mode=%s bytes=%lld conns=%d requests=%ld ok=%ld failed=%ld seconds=%.3f "
	       "req_per_s=%.2f mib_per_s=%.1f p50_ms=%.1f p99_ms=%.1f "
	       "abandoned=%ld status_2xx=%ld status_4xx=%ld status_5xx=%ld no_answer=%ld\n",
	       r.mode == MODE_TUS ? "tus" : "multipart", (long long)r.size, r.conns, r.started,
	       r.ok, r.failed, elapsed, (double)r.ok / elapsed,
	       (double)r.ok * (double)r.size / 1048576.0 / elapsed,
	       percentile(r.latencies, r.ok, 0.50) * 1000,
	       percentile(r.latencies, r.ok, 0.99) * 1000, r.abandoned, r.statuses[2],
	       r.statuses[4], r.statuses[5], r.statuses[0]);

	for (int i = 0; i < r.conns; i++) {
		curl_mime_free(slots[i].mime);
		curl_slist_free_all(slots[i].headers);
		curl_easy_cleanup(slots[i].easy);
	}
	curl_multi_cleanup(r.multi);
	curl_global_cleanup();
	munmap((void *)r.payload, (size_t)r.size);
	free(slots);
	free(r.latencies);
	return r.failed ? 1 : 0;
}
