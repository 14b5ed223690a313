/*
 * vg_store_s3.c - objects in an S3-compatible store (AWS S3, MinIO, Ceph RGW).
 *
 * libcurl speaks HTTP and signs each request (CURLOPT_AWS_SIGV4); this file
 * decides what to send. Objects go up from the local staging file, streamed
 * with a read callback (never held in memory): one PUT below
 * store.s3_multipart_bytes, a multipart upload of store.s3_part_bytes parts
 * above it. Every PUT and part carries Content-MD5, so the store itself
 * refuses bytes that changed on the way, and the ETag it answers is checked
 * against the same MD5; the single PUT also carries x-amz-checksum-sha256.
 *
 * Every call here is idempotent (a PUT of the same bytes to the same key, a
 * DELETE, a part, a GET), so transport errors, 5xx and 429/SlowDown are
 * retried store.s3_retries times with exponential back-off and jitter. A
 * multipart upload that cannot complete is aborted, so no parts linger.
 *
 * One easy handle per process keeps its connection alive between calls; the
 * handle is made after fork (vg_store_open runs in each child), never shared.
 */
#include "vg_alloc.h"
#include "vg_buf.h"
#include "vg_config.h"
#include "vg_hash.h"
#include "vg_log.h"
#include "vg_sigv4.h"
#include "vg_store.h"
#include "vg_store_backend.h"
#include "vg_failpoint.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define RESPONSE_MAX (1024 * 1024) /* XML answers (a listing page is ~250 KB) */
/* A CompleteMultipartUpload body: a <Part> of at most ~150 bytes a part */
#define COMPLETE_MAX (2 * 1024 * 1024)
#define MAX_PARTS    10000 /* S3's limit */

struct s3 {
	CURL *curl;
	char *base;	  /* scheme://host[:port][/bucket] : a key is appended after '/' */
	char *bucket_url; /* the bucket itself (HEAD, list) */
	char *userpwd;
	char sigv4[160];
	char errbuf[CURL_ERROR_SIZE];
};

/* One request and what came back. */
struct s3_req {
	const char *method;
	const char *key;   /* NULL: the bucket */
	const char *query; /* without '?', already in canonical (sorted) order, or NULL */
	/* body: from a file (fd, off, len) or memory (mem, len); none when len == 0 */
	int fd;
	long long off, len;
	const char *mem;
	const char *payload_sha;     /* x-amz-content-sha256 value; NULL: UNSIGNED-PAYLOAD */
	const char *content_md5;     /* base64, or NULL */
	const char *checksum_sha256; /* base64, or NULL */
	const char *range;	     /* "bytes=a-b", or NULL */
	vg_store_sink sink;	     /* response body of a 2xx GET goes here */
	void *sink_arg;
	int once; /* no retries (health checks answer now or fail) */
	/* results */
	long status;
	char etag[80];
	long long content_length;
	struct vg_buf resp; /* error or XML body, cut at RESPONSE_MAX */
	int sink_failed, sink_used;
	long long pos; /* body bytes handed to curl so far */
	CURL *curl;
};

static int curl_ready;

static struct s3 *S3(const struct vg_store *s)
{
	return s->priv;
}

/* scheme, host and the path prefix of key's URL, from the configuration
 * alone (presigning needs no handle). */
static void location(const struct vg_config *cfg, const char **scheme, char **host,
		     char **bucket_path)
{
	const char *ep = cfg->store.s3_endpoint;
	const char *rest = strstr(ep, "://");
	size_t n;

	*scheme = strncmp(ep, "https://", 8) == 0 ? "https" : "http";
	rest = rest ? rest + 3 : ep;
	n = strcspn(rest, "/");
	if (cfg->store.s3_path_style) {
		*host = vg_strndup(rest, n);
		*bucket_path = vg_asprintf("/%s", cfg->store.s3_bucket);
	} else {
		*host = vg_asprintf("%s.%.*s", cfg->store.s3_bucket, (int)n, rest);
		*bucket_path = vg_strdup("");
	}
}

static const char *access_key(const struct vg_config *cfg)
{
	const char *k = cfg->store.s3_access_key;

	if (!k[0])
		k = getenv("AWS_ACCESS_KEY_ID");
	return k ? k : "";
}

static const char *secret_key(const struct vg_config *cfg)
{
	const char *k = cfg->store.s3_secret_key;

	if (!k[0])
		k = getenv("AWS_SECRET_ACCESS_KEY");
	return k ? k : "";
}

char *vg_store_s3_presign(const struct vg_config *cfg, const char *key)
{
	const char *scheme;
	char *host, *bucket_path, *path, *url;
	struct vg_sigv4_presign p;

	location(cfg, &scheme, &host, &bucket_path);
	path = vg_asprintf("%s/%s", bucket_path, key);
	memset(&p, 0, sizeof(p));
	p.scheme = scheme;
	p.host = host;
	p.path = path;
	p.region = cfg->store.s3_region;
	p.access_key = access_key(cfg);
	p.secret_key = secret_key(cfg);
	p.now = time(NULL);
	p.expires_seconds = (long)cfg->store.url_ttl_seconds;
	url = vg_sigv4_presign_get(&p);
	free(host);
	free(bucket_path);
	free(path);
	return url;
}

static int s3_open(struct vg_store *s)
{
	const struct vg_config *cfg = s->cfg;
	struct s3 *x = vg_calloc(1, sizeof(*x));
	const char *scheme;
	char *host, *bucket_path;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			vg_error("msg=\"curl_global_init failed\"");
			free(x);
			return -1;
		}
		curl_ready = 1;
	}
	if (!access_key(cfg)[0] || !secret_key(cfg)[0]) {
		vg_error("msg=\"the s3 store has no credentials: set store.s3_access_key and "
			 "store.s3_secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\"");
		free(x);
		return -1;
	}
	x->curl = curl_easy_init();
	if (!x->curl) {
		free(x);
		return -1;
	}
	location(cfg, &scheme, &host, &bucket_path);
	x->bucket_url = vg_asprintf("%s://%s%s", scheme, host, bucket_path);
	x->base = vg_asprintf("%s/", x->bucket_url);
	if (!bucket_path[0]) {
		/* virtual-host style: the bucket is the host, its URL the root */
		free(x->bucket_url);
		x->bucket_url = vg_asprintf("%s://%s/", scheme, host);
	}
	free(host);
	free(bucket_path);
	x->userpwd = vg_asprintf("%s:%s", access_key(cfg), secret_key(cfg));
	snprintf(x->sigv4, sizeof(x->sigv4), "aws:amz:%s:s3", cfg->store.s3_region);
	s->priv = x;
	return 0;
}

static void s3_close(struct vg_store *s)
{
	struct s3 *x = S3(s);

	if (!x)
		return;
	if (x->curl)
		curl_easy_cleanup(x->curl);
	if (x->userpwd) {
		memset(x->userpwd, 0, strlen(x->userpwd));
		free(x->userpwd);
	}
	free(x->base);
	free(x->bucket_url);
	free(x);
	s->priv = NULL;
}

/* ------------------------------------------------------------ one request */

static size_t read_body(char *buf, size_t size, size_t nitems, void *arg)
{
	struct s3_req *q = arg;
	size_t want = size * nitems;
	long long left = q->len - q->pos;
	ssize_t n;

	if (left <= 0)
		return 0;
	if ((long long)want > left)
		want = (size_t)left;
	if (q->mem) {
		memcpy(buf, q->mem + q->pos, want);
		q->pos += (long long)want;
		return want;
	}
	do
		n = pread(q->fd, buf, want, (off_t)(q->off + q->pos));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT; /* the staged file shrank: never send short */
	q->pos += n;
	return (size_t)n;
}

static int seek_body(void *arg, curl_off_t offset, int origin)
{
	struct s3_req *q = arg;

	if (origin != SEEK_SET || offset < 0 || offset > q->len)
		return CURL_SEEKFUNC_CANTSEEK;
	q->pos = offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
	if (q->sink && status >= 200 && status < 300) {
		q->sink_used = 1;
		if (q->sink(q->sink_arg, buf, n) < 0) {
			q->sink_failed = 1;
			return 0; /* stops the transfer */
		}
		return n;
	}
	/* Past RESPONSE_MAX the answer is cut, not refused: the transfer runs
	 * on, so its status still counts, and an error's excerpt is its start. */
	vg_buf_append(&q->resp, buf, n < vg_buf_room(&q->resp) ? n : vg_buf_room(&q->resp));
	return n;
}

/* Picks ETag and Content-Length out of the response headers. */
static size_t read_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct s3_req *q = arg;
	size_t n = size * nitems;

	if (n > 5 && strncasecmp(buf, "ETag:", 5) == 0) {
		const char *v = buf + 5;
		size_t len;

		while (*v == ' ' || *v == '"')
			v++;
		len = strcspn(v, "\"\r\n");
		if (len < sizeof(q->etag)) {
			memcpy(q->etag, v, len);
			q->etag[len] = '\0';
		}
	} else if (n > 15 && strncasecmp(buf, "Content-Length:", 15) == 0) {
		q->content_length = strtoll(buf + 15, NULL, 10);
	}
	return n;
}

/* One try: 0 when an HTTP answer came back (q->status), -1 for a transport
 * error (logged by the caller with x->errbuf). */
static int perform(struct s3 *x, struct s3_req *q, CURLcode *cc)
{
	CURL *c = x->curl;
	struct curl_slist *h = NULL;
	char line[160], *url;

	curl_easy_reset(c);
	q->pos = 0;
	q->status = 0;
	q->etag[0] = '\0';
	q->content_length = -1;
	vg_buf_reset(&q->resp);
	q->curl = c;
	url = vg_asprintf("%s%s%s%s", q->key ? x->base : x->bucket_url, q->key ? q->key : "",
			  q->query ? "?" : "", q->query ? q->query : "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, x->sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, x->userpwd);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	/* No total timeout (a 300 MB part takes what it takes); a stalled
	 * transfer is cut after 30 s below 1 KB/s. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	if (strcmp(q->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (q->len > 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(c, CURLOPT_READDATA, q);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->len);
	} else if (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s",
		 q->payload_sha ? q->payload_sha
				: (q->len > 0 ? "UNSIGNED-PAYLOAD" : EMPTY_SHA256));
	h = curl_slist_append(h, line);
	if (q->content_md5) {
		snprintf(line, sizeof(line), "Content-MD5: %s", q->content_md5);
		h = curl_slist_append(h, line);
	}
	if (q->checksum_sha256) {
		snprintf(line, sizeof(line), "x-amz-checksum-sha256: %s", q->checksum_sha256);
		h = curl_slist_append(h, line);
	}
	if (q->range) {
		snprintf(line, sizeof(line), "Range: %s", q->range);
		h = curl_slist_append(h, line);
	}
	if (q->len > 0)
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	x->errbuf[0] = '\0';
	*cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	curl_slist_free_all(h);
	free(url);
	if (*cc != CURLE_OK && !(q->sink_failed && *cc == CURLE_WRITE_ERROR))
		return -1;
	return 0;
}

static int retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Sends q, retrying what is worth retrying. Returns the final HTTP status,
 * or -1 (transport error every time, or the sink stopped). Logs failures. */
static long call(struct vg_store *s, struct s3_req *q)
{
	struct s3 *x = S3(s);
	long tries = q->once ? 1 : s->cfg->store.s3_retries + 1;
	CURLcode cc = CURLE_OK;

	for (long i = 0; i < tries; i++) {
		int rc;

		if (i > 0) {
			/* 100 ms, 200, 400 ... capped at 5 s, each with up to 50 % jitter */
			long ms = 100L << (i - 1 < 6 ? i - 1 : 6);

			if (ms > 5000)
				ms = 5000;
			ms += rand() % (ms / 2 + 1);
			usleep((useconds_t)ms * 1000);
		}
		rc = perform(x, q, &cc);
		if (q->sink_failed)
			return -1; /* the reader went away: not an error of the store */
		if (rc == 0 && !retryable(q->status))
			return q->status;
		if (q->sink_used)
			break; /* bytes already went out: a retry would repeat them */
		if (rc < 0)
			vg_warn("msg=\"s3 request failed\" method=%s key=%s try=%ld of=%ld error=\"%s\"",
				q->method, q->key ? q->key : "(bucket)", i + 1, tries,
				x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		else
			vg_warn("msg=\"s3 store answered %ld\" method=%s key=%s try=%ld of=%ld "
				"body=\"%.200s\"",
				q->status, q->method, q->key ? q->key : "(bucket)", i + 1, tries,
				vg_buf_str(&q->resp));
	}
	vg_error("msg=\"s3 request gave up\" method=%s key=%s status=%ld", q->method,
		 q->key ? q->key : "(bucket)", q->status);
	return q->status > 0 && !q->sink_used ? q->status : -1;
}

static void req_init(struct s3_req *q, const char *method, const char *key)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->fd = -1;
	q->content_length = -1;
	vg_buf_init(&q->resp, RESPONSE_MAX);
}

static void req_free(struct s3_req *q)
{
	vg_buf_free(&q->resp);
}

/* --------------------------------------------------------------- upload */

/* MD5 of [off, off+len) of fd: hex (for the ETag check) and base64 (for
 * Content-MD5). 0 or -1. */
static int md5_range(int fd, long long off, long long len, char hex[33], char b64[25])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *buf = vg_malloc(256 * 1024);
	int rc = -1;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		abort();
	while (len > 0) {
		size_t want = len < 256 * 1024 ? (size_t)len : 256 * 1024;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
		len -= n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	vg_hex(md, mdlen, hex);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* An ETag that is a plain MD5 (single PUTs and parts on AWS, MinIO, Ceph)
 * must be ours; others (encrypted objects) cannot be compared. */
static int etag_differs(const char *etag, const char *md5hex)
{
	if (strlen(etag) != 32 || strspn(etag, "0123456789abcdefABCDEF") != 32)
		return 0;
	return strcasecmp(etag, md5hex) != 0;
}

static enum vg_store_status put_single(struct vg_store *s, int fd, const char *key, long long size,
				       const char *sha256)
{
	struct s3_req q;
	char md5hex[33], md5b64[25], shab64[45];
	unsigned char shabin[32];
	enum vg_store_status st = VG_STORE_ERR;
	long status;

	if (md5_range(fd, 0, size, md5hex, md5b64) < 0) {
		vg_error("msg=\"cannot read the staged object\" key=%s error=\"%s\"", key,
			 strerror(errno));
		return VG_STORE_ERR;
	}
	for (int i = 0; i < 32; i++) {
		unsigned v;

		sscanf(sha256 + 2 * i, "%2x", &v);
		shabin[i] = (unsigned char)v;
	}
	EVP_EncodeBlock((unsigned char *)shab64, shabin, 32);
	req_init(&q, "PUT", key);
	q.fd = fd;
	q.len = size;
	q.payload_sha = size > 0 ? sha256 : EMPTY_SHA256;
	q.content_md5 = md5b64;
	q.checksum_sha256 = shab64;
	if (size == 0)
		q.len = 0;
	status = call(s, &q);
	if (status >= 200 && status < 300) {
		if (etag_differs(q.etag, md5hex)) {
			vg_error(
				"msg=\"s3 store stored other bytes than were sent\" key=%s etag=%s "
				"md5=%s",
				key, q.etag, md5hex);
			s->be->remove(s, key);
		} else {
			st = VG_STORE_OK;
		}
	} else if (status > 0) {
		vg_error("msg=\"s3 PUT refused\" key=%s status=%ld body=\"%.300s\"", key, status,
			 vg_buf_str(&q.resp));
	}
	req_free(&q);
	return st;
}

/* The text between <tag> and </tag> in xml, copied into out; 0 or -1. */
static int xml_value(const char *xml, const char *tag, char *out, size_t outsz)
{
	char open_[64], close_[64];
	const char *a, *b;

	snprintf(open_, sizeof(open_), "<%s>", tag);
	snprintf(close_, sizeof(close_), "</%s>", tag);
	a = xml ? strstr(xml, open_) : NULL;
	if (!a)
		return -1;
	a += strlen(open_);
	b = strstr(a, close_);
	if (!b || (size_t)(b - a) >= outsz)
		return -1;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	return 0;
}

static void abort_multipart(struct vg_store *s, const char *key, const char *upload_id)
{
	struct s3_req q;
	char *query = vg_asprintf("uploadId=%s", upload_id);

	req_init(&q, "DELETE", key);
	q.query = query;
	if (call(s, &q) / 100 != 2)
		vg_warn("msg=\"could not abort a multipart upload; the bucket's lifecycle rule "
			"for incomplete uploads must remove it\" key=%s upload_id=%s",
			key, upload_id);
	req_free(&q);
	free(query);
}

static enum vg_store_status put_multipart(struct vg_store *s, int fd, const char *key,
					  long long size)
{
	long long part = s->cfg->store.s3_part_bytes;
	long long nparts = (size + part - 1) / part;
	char upload_id[256], *enc_id = NULL, *query = NULL;
	struct vg_buf done;
	enum vg_store_status st = VG_STORE_ERR;
	struct s3_req q;
	long status;

	vg_buf_init(&done, COMPLETE_MAX);
	if (nparts > MAX_PARTS) {
		part = (size + MAX_PARTS - 1) / MAX_PARTS;
		nparts = (size + part - 1) / part;
	}
	req_init(&q, "POST", key);
	q.query = "uploads=";
	status = call(s, &q);
	if (status / 100 != 2 ||
	    xml_value(vg_buf_str(&q.resp), "UploadId", upload_id, sizeof(upload_id)) < 0) {
		vg_error("msg=\"s3 multipart upload could not start\" key=%s status=%ld", key,
			 status);
		req_free(&q);
		return VG_STORE_ERR;
	}
	req_free(&q);
	enc_id = vg_sigv4_uri_encode(upload_id, 0);
	vg_buf_puts(&done, "<CompleteMultipartUpload>");

	for (long long i = 0; i < nparts; i++) {
		long long off = i * part, len = size - off < part ? size - off : part;
		char md5hex[33], md5b64[25], piece[192];
		int plen;

		if (md5_range(fd, off, len, md5hex, md5b64) < 0) {
			vg_error("msg=\"cannot read the staged object\" key=%s error=\"%s\"", key,
				 strerror(errno));
			goto out;
		}
		free(query);
		/* partNumber sorts before uploadId: canonical order as written */
		query = vg_asprintf("partNumber=%lld&uploadId=%s", i + 1, enc_id);
		req_init(&q, "PUT", key);
		q.query = query;
		q.fd = fd;
		q.off = off;
		q.len = len;
		q.content_md5 = md5b64;
		status = call(s, &q);
		if (status / 100 != 2 || !q.etag[0] || etag_differs(q.etag, md5hex)) {
			vg_error(
				"msg=\"s3 part upload failed\" key=%s part=%lld status=%ld etag=%s "
				"md5=%s",
				key, i + 1, status, q.etag, md5hex);
			req_free(&q);
			goto out;
		}
		plen = snprintf(piece, sizeof(piece),
				"<Part><PartNumber>%lld</PartNumber><ETag>\"%s\"</ETag></Part>",
				i + 1, q.etag);
		req_free(&q);
		if (plen < 0 || (size_t)plen >= sizeof(piece) ||
		    vg_buf_append(&done, piece, (size_t)plen) < 0) {
			vg_error("msg=\"s3 multipart completion too long\" key=%s parts=%lld", key,
				 nparts);
			goto out;
		}
	}
	if (vg_buf_puts(&done, "</CompleteMultipartUpload>") < 0) {
		vg_error("msg=\"s3 multipart completion too long\" key=%s parts=%lld", key, nparts);
		goto out;
	}
	{
		char sha[VG_SHA256_HEX];

		free(query);
		query = vg_asprintf("uploadId=%s", enc_id);
		vg_sha256_hex(vg_buf_str(&done), vg_buf_len(&done), sha);
		req_init(&q, "POST", key);
		q.query = query;
		q.mem = vg_buf_str(&done);
		q.len = (long long)vg_buf_len(&done);
		q.payload_sha = sha;
		status = call(s, &q);
		/* S3 can answer 200 with an <Error> body to a CompleteMultipartUpload */
		if (status / 100 == 2 && vg_buf_len(&q.resp) > 0 &&
		    !strstr(vg_buf_str(&q.resp), "<Error>")) {
			st = VG_STORE_OK;
		} else if (status == 404) {
			/* A retried complete whose first try landed: the upload id is gone.
			 * The object tells whether it did. */
			long long got = -1;

			if (s->be->stat(s, key, &got) == VG_STORE_OK && got == size)
				st = VG_STORE_OK;
		}
		if (st != VG_STORE_OK)
			vg_error("msg=\"s3 multipart upload could not complete\" key=%s status=%ld "
				 "body=\"%.300s\"",
				 key, status, vg_buf_str(&q.resp));
		req_free(&q);
	}
out:
	if (st != VG_STORE_OK)
		abort_multipart(s, key, enc_id);
	free(enc_id);
	free(query);
	vg_buf_free(&done);
	return st;
}

static enum vg_store_status s3_publish(struct vg_store *s, const char *staged, int fd,
				       const char *key, uint64_t size, const char *sha256)
{
	int own = -1;
	enum vg_store_status st;

	if (fd < 0)
		fd = own = open(staged, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vg_error("msg=\"cannot open the staged object\" path=\"%s\" error=\"%s\"", staged,
			 strerror(errno));
		return VG_STORE_ERR;
	}
	/* The staged name is the upload's mark until COMMIT (vg_store.h): it
	 * must be durable before the object exists, or a crash could leave an
	 * object nothing points the janitor at. */
	if (vg_store_sync_staging(s) < 0)
		st = vg_store_io_status(errno);
	else if (VG_FAILPOINT("store.s3_put") < 0)
		st = VG_STORE_ERR;
	else if ((long long)size >= s->cfg->store.s3_multipart_bytes)
		st = put_multipart(s, fd, key, (long long)size);
	else
		st = put_single(s, fd, key, (long long)size, sha256);
	if (own >= 0)
		close(own);
	return st;
}

/* ------------------------------------------------------- reads, removal */

static enum vg_store_status s3_remove(struct vg_store *s, const char *key)
{
	struct s3_req q;
	long status;

	req_init(&q, "DELETE", key);
	status = call(s, &q);
	req_free(&q);
	if (status / 100 == 2 || status == 404)
		return VG_STORE_OK;
	vg_error("msg=\"s3 DELETE failed\" key=%s status=%ld", key, status);
	return VG_STORE_ERR;
}

static enum vg_store_status s3_stat(struct vg_store *s, const char *key, long long *size)
{
	struct s3_req q;
	long status;

	req_init(&q, "HEAD", key);
	status = call(s, &q);
	*size = q.content_length;
	req_free(&q);
	if (status == 404)
		return VG_STORE_MISSING;
	return status / 100 == 2 && *size >= 0 ? VG_STORE_OK : VG_STORE_ERR;
}

static enum vg_store_status s3_read(struct vg_store *s, const char *key, long long from,
				    long long to, vg_store_sink sink, void *arg)
{
	struct s3_req q;
	char range[64];
	long status;
	enum vg_store_status st;

	snprintf(range, sizeof(range), "bytes=%lld-%lld", from, to);
	req_init(&q, "GET", key);
	q.range = range;
	q.sink = sink;
	q.sink_arg = arg;
	status = call(s, &q);
	if (status == 404)
		st = VG_STORE_MISSING;
	else if (status / 100 == 2)
		st = VG_STORE_OK;
	else
		st = VG_STORE_ERR;
	req_free(&q);
	return st;
}

/* ListObjectsV2 over videos/, a page of up to 1000 keys at a time. */
static int s3_list(struct vg_store *s, int (*each)(void *arg, const char *key, long long size),
		   void *arg)
{
	char token[1024] = "", *query = NULL;
	int rc = 0;

	for (;;) {
		struct s3_req q;
		const char *p, *xml;
		char *enc = vg_sigv4_uri_encode(token, 0);
		long status;

		free(query);
		/* sorted: continuation-token < list-type < prefix */
		query = token[0]
				? vg_asprintf("continuation-token=%s&list-type=2&prefix=videos%%2F",
					      enc)
				: vg_strdup("list-type=2&prefix=videos%2F");
		free(enc);
		req_init(&q, "GET", NULL);
		q.query = query;
		status = call(s, &q);
		if (status / 100 != 2 || vg_buf_len(&q.resp) == 0) {
			req_free(&q);
			rc = -1;
			break;
		}
		xml = vg_buf_str(&q.resp);
		for (p = strstr(xml, "<Contents>"); p && rc == 0; p = strstr(p + 1, "<Contents>")) {
			char key[VG_STORE_KEY_MAX * 2], size[32];
			const char *end = strstr(p, "</Contents>");
			char *one;

			if (!end)
				break;
			one = vg_strndup(p, (size_t)(end - p));
			if (xml_value(one, "Key", key, sizeof(key)) == 0 &&
			    xml_value(one, "Size", size, sizeof(size)) == 0 &&
			    each(arg, key, strtoll(size, NULL, 10)) < 0)
				rc = 1;
			free(one);
		}
		if (rc != 0 || !strstr(xml, "<IsTruncated>true</IsTruncated>") ||
		    xml_value(xml, "NextContinuationToken", token, sizeof(token)) < 0) {
			req_free(&q);
			break;
		}
		req_free(&q);
	}
	free(query);
	return rc < 0 ? -1 : 0;
}

static int s3_check(struct vg_store *s)
{
	struct s3_req q;
	long status;

	req_init(&q, "HEAD", NULL);
	q.once = 1;
	status = call(s, &q);
	req_free(&q);
	if (status / 100 == 2)
		return 0;
	vg_error("msg=\"the s3 bucket does not answer\" bucket=%s status=%ld",
		 s->cfg->store.s3_bucket, status);
	return -1;
}

const struct vg_store_backend vg_store_backend_s3 = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.publish = s3_publish,
	.remove = s3_remove,
	.stat = s3_stat,
	.read = s3_read,
	.list = s3_list,
	.check = s3_check,
};
