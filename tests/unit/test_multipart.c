/*
 * test_multipart.c - unit tests for the streaming multipart/form-data parser.
 *
 * Callbacks record what they receive (names, filenames, content types, data,
 * call order) into a fixed struct rec; tests compare that with what the body
 * holds. Most bodies are run three ways - whole, split in two at every offset,
 * one byte per feed - and the three must agree exactly, which is what proves
 * the held-back delimiter window is replayed correctly. Every feed goes
 * through an exact-size heap copy so ASan/valgrind catch reads past a piece.
 */
#include "multipart.h"
#include "tap.h"

#include <stdlib.h>

#define MAXP 8
#define DMAX 4096

struct rec {
	int nparts; /* part_begin calls */
	int nends;  /* part_end calls */
	int ndata;  /* part_data calls */
	int open;   /* inside begin..end */
	int bad_order;
	int overflow;
	char name[MAXP][MULTIPART_NAME_MAX + 1];
	char filename[MAXP][MULTIPART_FILENAME_MAX + 1];
	int has_filename[MAXP];
	char ctype[MAXP][MULTIPART_CTYPE_MAX + 1];
	int has_ctype[MAXP];
	char data[MAXP][DMAX];
	size_t dlen[MAXP];
	/* failure injection: fail the Nth call of that kind (1-based), 0 = never */
	int fail_begin, fail_data, fail_end;
	int failed;
	int calls_after_fail;
};

static void note_call(struct rec *r)
{
	if (r->failed)
		r->calls_after_fail++;
}

static int cb_begin(void *ud, const struct multipart_part *part)
{
	struct rec *r = ud;
	int i = r->nparts;

	note_call(r);
	if (r->open || part->index != (size_t)i || part->name == NULL)
		r->bad_order = 1;
	r->nparts++;
	r->open = 1;
	if (i >= MAXP) {
		r->overflow = 1;
		return 0;
	}
	snprintf(r->name[i], sizeof(r->name[i]), "%s", part->name ? part->name : "");
	r->has_filename[i] = part->filename != NULL;
	if (part->filename)
		snprintf(r->filename[i], sizeof(r->filename[i]), "%s", part->filename);
	r->has_ctype[i] = part->content_type != NULL;
	if (part->content_type)
		snprintf(r->ctype[i], sizeof(r->ctype[i]), "%s", part->content_type);
	if (r->fail_begin && r->nparts == r->fail_begin) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

static int cb_data(void *ud, const char *buf, size_t len)
{
	struct rec *r = ud;
	int i = r->nparts - 1;

	note_call(r);
	r->ndata++;
	if (!r->open || len == 0)
		r->bad_order = 1;
	if (i < 0 || i >= MAXP || r->dlen[i] + len > DMAX) {
		r->overflow = 1;
		return 0;
	}
	memcpy(r->data[i] + r->dlen[i], buf, len);
	r->dlen[i] += len;
	if (r->fail_data && r->ndata == r->fail_data) {
		r->failed = 1;
		return 1;
	}
	return 0;
}

static int cb_end(void *ud)
{
	struct rec *r = ud;

	note_call(r);
	if (!r->open)
		r->bad_order = 1;
	r->open = 0;
	r->nends++;
	if (r->fail_end && r->nends == r->fail_end) {
		r->failed = 1;
		return 7;
	}
	return 0;
}

static const struct multipart_callbacks cbs = {cb_begin, cb_data, cb_end};
static const struct multipart_limits deflim = {16, 8192, 16};

static struct rec r_ref, r_try;

static void rec_reset(struct rec *r)
{
	memset(r, 0, sizeof(*r));
}

/* Same observations (ignoring how data was chunked and failure settings). */
static int rec_eq(const struct rec *a, const struct rec *b)
{
	int i;

	if (a->nparts != b->nparts || a->nends != b->nends || a->open != b->open ||
	    a->bad_order != b->bad_order || a->overflow != b->overflow)
		return 0;
	for (i = 0; i < a->nparts && i < MAXP; i++) {
		if (strcmp(a->name[i], b->name[i]) || a->has_filename[i] != b->has_filename[i] ||
		    strcmp(a->filename[i], b->filename[i]) || a->has_ctype[i] != b->has_ctype[i] ||
		    strcmp(a->ctype[i], b->ctype[i]) || a->dlen[i] != b->dlen[i] ||
		    memcmp(a->data[i], b->data[i], a->dlen[i]))
			return 0;
	}
	return 1;
}

/* Feeds through an exact-size heap copy so over-reads are caught. */
static enum multipart_status feed(struct multipart *p, const char *buf, size_t len)
{
	char *copy = malloc(len ? len : 1);
	enum multipart_status st;

	if (copy == NULL)
		abort();
	memcpy(copy, buf, len);
	st = multipart_feed(p, copy, len);
	free(copy);
	return st;
}

enum mode { WHOLE, SPLIT, BYTES };

/* Parses body in the given mode and returns multipart_finish()'s verdict, -1 if inconsistent. */
static int run(const char *boundary, const char *body, size_t len,
	       const struct multipart_limits *lim, struct rec *r, enum mode mode, size_t split)
{
	struct multipart p;
	enum multipart_status st = MULTIPART_OK;
	size_t i;

	multipart_init(&p, boundary, lim ? lim : &deflim, &cbs, r);
	switch (mode) {
	case WHOLE:
		st = feed(&p, body, len);
		break;
	case SPLIT:
		feed(&p, body, split);
		st = feed(&p, body + split, len - split);
		break;
	case BYTES:
		for (i = 0; i < len; i++)
			st = feed(&p, body + i, 1);
		break;
	}
	if (st != MULTIPART_OK && multipart_finish(&p) != st)
		return -1; /* finish must repeat a final status */
	return multipart_finish(&p);
}

/*
 * Runs body whole into r_ref and checks that every two-piece split and the
 * byte-at-a-time feed give the same status and the same observations.
 * Returns the status; r_ref holds the whole-body observations.
 */
static int run_all(const char *what, const char *boundary, const char *body, size_t len,
		   const struct multipart_limits *lim)
{
	int want, st;
	size_t i, bad = (size_t)-1;

	rec_reset(&r_ref);
	want = run(boundary, body, len, lim, &r_ref, WHOLE, 0);
	for (i = 0; i <= len && bad == (size_t)-1; i++) {
		rec_reset(&r_try);
		st = run(boundary, body, len, lim, &r_try, SPLIT, i);
		if (st != want || !rec_eq(&r_ref, &r_try))
			bad = i;
	}
	if (!ok(bad == (size_t)-1, "%s: all %zu split offsets match the whole feed", what, len + 1))
		printf("#   first mismatch at offset %zu\n", bad);
	rec_reset(&r_try);
	st = run(boundary, body, len, lim, &r_try, BYTES, 0);
	ok(st == want && rec_eq(&r_ref, &r_try), "%s: byte-at-a-time matches the whole feed", what);
	return want;
}

#define BND  "----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define DASH "--" BND
#define CD   "Content-Disposition: form-data; "

/* Body length of a string literal (may hold NULs). */
#define LIT(s) (s), (sizeof(s) - 1)

static int data_is(int i, const char *want, size_t n)
{
	return i < r_ref.nparts && i < MAXP && r_ref.dlen[i] == n &&
	       memcmp(r_ref.data[i], want, n) == 0;
}

static void test_basic(void)
{
	static const char body[] =
		DASH "\r\n" CD "name=\"title\"\r\n"
		     "\r\n"
		     "My holiday\r\n" DASH "\r\n" CD "name=\"video\"; filename=\"clip.mp4\"\r\n"
		     "Content-Type:  video/mp4 \t\r\n"
		     "\r\n"
		     "\x00\x01\xff binary\r\ndata\n\r\n" DASH "--\r\n";
	static const char vdata[] = "\x00\x01\xff binary\r\ndata\n";
	enum multipart_status st;

	st = run_all("basic", BND, LIT(body), NULL);
	is_int(st, MULTIPART_DONE, "basic: DONE");
	is_int(r_ref.nparts, 2, "basic: two parts begun");
	is_int(r_ref.nends, 2, "basic: two parts ended");
	ok(!r_ref.bad_order && !r_ref.overflow, "basic: callbacks in order");
	is_str(r_ref.name[0], "title", "basic: field name");
	ok(!r_ref.has_filename[0], "basic: text field has no filename");
	ok(!r_ref.has_ctype[0], "basic: text field has no content type");
	ok(data_is(0, "My holiday", 10), "basic: text field value");
	is_str(r_ref.name[1], "video", "basic: file part name");
	ok(r_ref.has_filename[1], "basic: file part has a filename");
	is_str(r_ref.filename[1], "clip.mp4", "basic: filename");
	is_str(r_ref.ctype[1], "video/mp4", "basic: content type trimmed");
	ok(data_is(1, vdata, sizeof(vdata) - 1), "basic: binary data intact");
}

static void test_near_misses(void)
{
	/* Every trap: partial delimiters, CRs, the boundary without CRLF, "--" at data start. */
	static const char d0[] = "\r\n--"
				 "----WebKitFormBoundary7MA4YWxkTrZu0g"
				 "X"
				 "\r\n-"
				 "y"
				 "\r\n--"
				 "z"
				 "\r\r\n--"
				 "----Web"
				 "\r"
				 "--" BND "\r\n"
				 "\n--" BND "\n"
				 "\r\n\r\n"
				 "\r\r";
	static const char d1[] = "--"
				 "----WebKitFormBoundary7MA4YWxkTrZu0"
				 "\r";
	static const char d2[] = "-";
	static const char d3[] = "\r";
	static const char body[] = DASH "\r\n" CD "name=\"a\"\r\n\r\n"
					"\r\n--"
					"----WebKitFormBoundary7MA4YWxkTrZu0g"
					"X"
					"\r\n-"
					"y"
					"\r\n--"
					"z"
					"\r\r\n--"
					"----Web"
					"\r"
					"--" BND "\r\n"
					"\n--" BND "\n"
					"\r\n\r\n"
					"\r\r"
					"\r\n" DASH "\r\n" CD "name=\"b\"\r\n\r\n"
					"--"
					"----WebKitFormBoundary7MA4YWxkTrZu0"
					"\r"
					"\r\n" DASH "\r\n" CD "name=\"c\"\r\n\r\n"
					"-"
					"\r\n" DASH "\r\n" CD "name=\"d\"\r\n\r\n"
					"\r"
					"\r\n" DASH "--";

	is_int(run_all("near-miss", BND, LIT(body), NULL), MULTIPART_DONE, "near-miss: DONE");
	is_int(r_ref.nparts, 4, "near-miss: four parts");
	is_int(r_ref.nends, 4, "near-miss: four ends");
	ok(data_is(0, d0, sizeof(d0) - 1), "near-miss: partial delimiters delivered intact");
	ok(data_is(1, d1, sizeof(d1) - 1), "near-miss: data opening with \"--boundar\" intact");
	ok(data_is(2, d2, 1), "near-miss: single '-' part");
	ok(data_is(3, d3, 1), "near-miss: single CR part");
	ok(!r_ref.bad_order && !r_ref.overflow, "near-miss: callbacks in order");
}

static void test_crlf_edges(void)
{
	static const char body[] = DASH "\r\n" CD "name=\"a\"\r\n\r\n"
					"abc\r"
					"\r\n" DASH "\r\n" CD "name=\"b\"\r\n\r\n"
					"abc\r\n"
					"\r\n" DASH "\r\n" CD "name=\"c\"\r\n\r\n"
					"x\r\n\r\ny"
					"\r\n" DASH "\r\n" CD "name=\"d\"\r\n\r\n"
					"\r\n"
					"\r\n" DASH "--\r\n";

	is_int(run_all("crlf", BND, LIT(body), NULL), MULTIPART_DONE, "crlf: DONE");
	is_int(r_ref.nparts, 4, "crlf: four parts");
	ok(data_is(0, "abc\r", 4), "crlf: data ending in CR");
	ok(data_is(1, "abc\r\n", 5), "crlf: data ending in CRLF");
	ok(data_is(2, "x\r\n\r\ny", 6), "crlf: data containing CRLFCRLF");
	ok(data_is(3, "\r\n", 2), "crlf: data that is just CRLF");
}

static void test_bare_lf(void)
{
	static const char delim_lf[] = "--b\n" CD "name=\"a\"\r\n\r\nx\r\n--b--";
	static const char hdr_lf[] = "--b\r\n" CD "name=\"a\"\n\r\nx\r\n--b--";
	static const char blank_lf[] = "--b\r\n" CD "name=\"a\"\r\n\nx\r\n--b--";
	static const char mid_lf[] =
		"--b\r\n" CD "name=\"a\"\r\n\r\nx\r\n--b\n" CD "name=\"c\"\r\n\r\ny\r\n--b--";
	static const char cr_only[] = "--b\r" CD "name=\"a\"\r\n\r\nx\r\n--b--";
	static const char lf_data[] = "--b\r\n" CD "name=\"a\"\r\n\r\nx\n--b\r\nq\r\n--b--";
	enum multipart_status st;

	rec_reset(&r_ref);
	is_int(run("b", LIT(delim_lf), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "bare LF after the first delimiter: MALFORMED");
	is_int(r_ref.nparts, 0, "bare LF after the first delimiter: no part begun");
	rec_reset(&r_ref);
	is_int(run("b", LIT(hdr_lf), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "bare LF ending a header line: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(blank_lf), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "bare LF blank line after headers: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(mid_lf), NULL, &r_ref, BYTES, 0), MULTIPART_ERR_MALFORMED,
	       "bare LF after a later delimiter: MALFORMED");
	is_int(r_ref.nends, 1, "bare LF after a later delimiter: first part was ended");
	rec_reset(&r_ref);
	is_int(run("b", LIT(cr_only), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "CR without LF after a delimiter: MALFORMED");
	st = run_all("LF-only pseudo delimiter", "b", LIT(lf_data), NULL);
	is_int(st, MULTIPART_DONE, "\"\\n--b\\r\\n\" in data is not a delimiter: DONE");
	ok(data_is(0, "x\n--b\r\nq", 8), "\"\\n--b\\r\\n\" in data delivered as data");
}

static void test_delimiter_tail(void)
{
	static const char bad[] = "--b\r\n" CD "name=\"a\"\r\n\r\nx\r\n--bX\r\n--b--";
	static const char bad_dash[] = "--b\r\n" CD "name=\"a\"\r\n\r\nx\r\n--b-X\r\n--b--";
	static const char bad_pad[] = "--b\r\n" CD "name=\"a\"\r\n\r\nx\r\n--b \tX\r\n--b--";
	static const char pad[] = "--b \t \r\n" CD "name=\"a\"\r\n\r\nx\r\n--b\t\r\n" CD
				  "name=\"c\"\r\n\r\ny\r\n--b-- \r\n";
	static const char in_pre[] = "junk\r\n--bb\r\n--b\r\n" CD "name=\"a\"\r\n\r\nx\r\n--b--";

	rec_reset(&r_ref);
	is_int(run("b", LIT(bad), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "boundary followed by other bytes in data: MALFORMED");
	ok(data_is(0, "x", 1) && r_ref.nends == 1,
	   "boundary followed by junk: part before it ended");
	rec_reset(&r_ref);
	is_int(run("b", LIT(bad_dash), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "boundary followed by a single '-': MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(bad_pad), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "transport padding followed by junk: MALFORMED");
	is_int(run_all("transport padding", "b", LIT(pad), NULL), MULTIPART_DONE,
	       "transport padding after delimiters: DONE");
	ok(r_ref.nparts == 2 && data_is(0, "x", 1) && data_is(1, "y", 1),
	   "transport padding: both parts intact");
	rec_reset(&r_ref);
	is_int(run("b", LIT(in_pre), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "boundary-prefixed line inside the preamble: MALFORMED");
}

static void test_truncated(void)
{
	static const char no_final[] = DASH "\r\n" CD "name=\"a\"\r\n\r\nx\r\n" DASH "\r\n" CD
					    "name=\"b\"\r\n\r\nsome data";
	static const char mid_delim[] = "--b\r\n" CD "name=\"a\"\r\n\r\nxyz\r\n--";
	static const char after_delim[] = "--b\r\n" CD "name=\"a\"\r\n\r\nxyz\r\n--b";
	static const char half_close[] = "--b\r\n" CD "name=\"a\"\r\n\r\nxyz\r\n--b-";
	static const char in_hdr[] = "--b\r\n" CD "name=\"a\"\r\nContent-Ty";
	static const char pre_only[] = "just a preamble\r\n--";
	struct multipart p;
	char one = 'x';

	is_int(run_all("no final boundary", BND, LIT(no_final), NULL), MULTIPART_ERR_TRUNCATED,
	       "missing final boundary: TRUNCATED");
	ok(r_ref.nparts == 2 && r_ref.nends == 1, "missing final boundary: last part not ended");
	ok(data_is(1, "some data", 9), "missing final boundary: data so far delivered");
	rec_reset(&r_ref);
	is_int(run("b", LIT(mid_delim), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_TRUNCATED,
	       "body ending inside a delimiter: TRUNCATED");
	ok(data_is(0, "xyz", 3), "body ending inside a delimiter: held-back bytes not delivered");
	rec_reset(&r_ref);
	is_int(run("b", LIT(after_delim), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_TRUNCATED,
	       "body ending right after a delimiter: TRUNCATED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(half_close), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_TRUNCATED,
	       "body ending after \"--b-\": TRUNCATED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(in_hdr), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_TRUNCATED,
	       "body ending inside headers: TRUNCATED");
	is_int(r_ref.nparts, 0, "body ending inside headers: no part begun");
	rec_reset(&r_ref);
	is_int(run("b", LIT(pre_only), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_TRUNCATED,
	       "preamble only: TRUNCATED");

	rec_reset(&r_ref);
	multipart_init(&p, "b", &deflim, &cbs, &r_ref);
	is_int(multipart_finish(&p), MULTIPART_ERR_TRUNCATED, "empty body: TRUNCATED");
	is_int(multipart_feed(&p, &one, 1), MULTIPART_ERR_TRUNCATED, "TRUNCATED is sticky");
	multipart_init(&p, "b", &deflim, &cbs, &r_ref);
	is_int(multipart_feed(&p, "", 0), MULTIPART_OK, "zero-length feed: OK");
	is_int(multipart_finish(&p), MULTIPART_ERR_TRUNCATED, "empty body via feed(0): TRUNCATED");
}

static void test_header_limits(void)
{
	static const char hdr[] = CD "name=\"a\"\r\nContent-Type: text/plain\r\n\r\n";
	static const char body[] = "--b\r\n" CD "name=\"a\"\r\nContent-Type: text/plain\r\n\r\n"
				   "x\r\n--b--";
	static const char three[] = "--b\r\n" CD "name=\"a\"\r\nContent-Type: text/plain\r\n"
				    "X-Other: 1\r\n\r\nx\r\n--b--";
	struct multipart_limits lim = {16, sizeof(hdr) - 1, 16};
	static char big[8192];
	char name[200], fname[1100];
	size_t n;

	rec_reset(&r_ref);
	is_int(run("b", LIT(body), &lim, &r_ref, WHOLE, 0), MULTIPART_DONE,
	       "header block of exactly max_header_bytes: DONE");
	lim.max_header_bytes--;
	rec_reset(&r_ref);
	is_int(run("b", LIT(body), &lim, &r_ref, BYTES, 0), MULTIPART_ERR_HEADER_TOO_LARGE,
	       "header block one byte over max_header_bytes: HEADER_TOO_LARGE");
	is_int(r_ref.nparts, 0, "oversize header block: no part begun");

	/* A single line longer than the line buffer, with a generous block limit. */
	n = (size_t)snprintf(big, sizeof(big), "--b\r\n" CD "name=\"a\"\r\nX-Long: ");
	memset(big + n, 'v', 3000);
	n += 3000;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n\r\nx\r\n--b--");
	lim.max_header_bytes = 100000;
	rec_reset(&r_ref);
	is_int(run("b", big, n, &lim, &r_ref, WHOLE, 0), MULTIPART_ERR_HEADER_TOO_LARGE,
	       "header line longer than the line buffer: HEADER_TOO_LARGE");

	/* Field buffers: name 128, filename 1024, content type 256. */
	memset(name, 'n', MULTIPART_NAME_MAX);
	name[MULTIPART_NAME_MAX] = '\0';
	n = (size_t)snprintf(big, sizeof(big), "--b\r\n" CD "name=%s\r\n\r\nx\r\n--b--", name);
	rec_reset(&r_ref);
	is_int(run("b", big, n, &lim, &r_ref, WHOLE, 0), MULTIPART_DONE, "128-byte name: DONE");
	is_int(strlen(r_ref.name[0]), MULTIPART_NAME_MAX, "128-byte name delivered whole");
	n = (size_t)snprintf(big, sizeof(big), "--b\r\n" CD "name=\"%sn\"\r\n\r\nx\r\n--b--", name);
	rec_reset(&r_ref);
	is_int(run("b", big, n, &lim, &r_ref, WHOLE, 0), MULTIPART_ERR_HEADER_TOO_LARGE,
	       "129-byte name: HEADER_TOO_LARGE");

	memset(fname, 'f', MULTIPART_FILENAME_MAX);
	fname[MULTIPART_FILENAME_MAX] = '\0';
	n = (size_t)snprintf(big, sizeof(big),
			     "--b\r\n" CD "name=\"f\"; filename=\"%s\"\r\n\r\nx\r\n--b--", fname);
	rec_reset(&r_ref);
	is_int(run("b", big, n, &lim, &r_ref, WHOLE, 0), MULTIPART_DONE,
	       "1024-byte filename: DONE");
	is_int(strlen(r_ref.filename[0]), MULTIPART_FILENAME_MAX,
	       "1024-byte filename delivered whole");
	n = (size_t)snprintf(big, sizeof(big),
			     "--b\r\n" CD "name=\"f\"; filename=\"%sf\"\r\n\r\nx\r\n--b--", fname);
	rec_reset(&r_ref);
	is_int(run("b", big, n, &lim, &r_ref, WHOLE, 0), MULTIPART_ERR_HEADER_TOO_LARGE,
	       "1025-byte filename: HEADER_TOO_LARGE");

	memset(fname, 't', MULTIPART_CTYPE_MAX + 1);
	fname[MULTIPART_CTYPE_MAX + 1] = '\0';
	n = (size_t)snprintf(big, sizeof(big),
			     "--b\r\n" CD "name=\"f\"\r\nContent-Type: %s\r\n\r\nx\r\n--b--",
			     fname);
	rec_reset(&r_ref);
	is_int(run("b", big, n, &lim, &r_ref, WHOLE, 0), MULTIPART_ERR_HEADER_TOO_LARGE,
	       "257-byte content type: HEADER_TOO_LARGE");

	lim.max_headers = 2;
	rec_reset(&r_ref);
	is_int(run("b", LIT(body), &lim, &r_ref, WHOLE, 0), MULTIPART_DONE,
	       "two headers with max_headers 2: DONE");
	rec_reset(&r_ref);
	is_int(run("b", LIT(three), &lim, &r_ref, WHOLE, 0), MULTIPART_ERR_TOO_MANY_HEADERS,
	       "three headers with max_headers 2: TOO_MANY_HEADERS");
	is_int(r_ref.nparts, 0, "too many headers: no part begun");
}

static void test_part_limit(void)
{
	static const char three[] =
		"--b\r\n" CD "name=\"a\"\r\n\r\n1\r\n--b\r\n" CD "name=\"b\"\r\n\r\n2\r\n--b\r\n" CD
		"name=\"c\"\r\n\r\n3\r\n--b--";
	static const char four[] =
		"--b\r\n" CD "name=\"a\"\r\n\r\n1\r\n--b\r\n" CD "name=\"b\"\r\n\r\n2\r\n--b\r\n" CD
		"name=\"c\"\r\n\r\n3\r\n--b\r\n" CD "name=\"d\"\r\n\r\n4\r\n--b--";
	struct multipart_limits lim = {3, 1024, 8};

	is_int(run_all("three parts", "b", LIT(three), &lim), MULTIPART_DONE,
	       "three parts with max_parts 3: DONE");
	is_int(run_all("four parts", "b", LIT(four), &lim), MULTIPART_ERR_TOO_MANY_PARTS,
	       "four parts with max_parts 3: TOO_MANY_PARTS");
	ok(r_ref.nparts == 3 && r_ref.nends == 3 && data_is(2, "3", 1),
	   "four parts: the first three were delivered and ended");
}

static void test_empty_part(void)
{
	static const char body[] = DASH "\r\n" CD "name=\"f\"; filename=\"\"\r\n"
					"Content-Type: application/octet-stream\r\n\r\n"
					"\r\n" DASH "\r\n" CD "name=\"g\"\r\n\r\n"
					"\r\n" DASH "--\r\n";
	/* RFC 2046 lets a part's headers run straight into the delimiter. */
	static const char noblank[] =
		"--b\r\n" CD "name=\"f\"\r\n\r\n--b\r\n" CD "name=\"g\"\r\n\r\nv\r\n--b--";

	is_int(run_all("empty part", BND, LIT(body), NULL), MULTIPART_DONE, "empty parts: DONE");
	ok(r_ref.nparts == 2 && r_ref.nends == 2, "empty parts: begin and end called for both");
	is_int(r_ref.ndata, 0, "empty parts: part_data never called");
	ok(r_ref.has_filename[0] && r_ref.filename[0][0] == '\0',
	   "empty parts: filename=\"\" is \"\"");
	is_str(r_ref.ctype[0], "application/octet-stream", "empty parts: content type");
	is_int(run_all("no blank line", "b", LIT(noblank), NULL), MULTIPART_DONE,
	       "part without blank line before delimiter: DONE");
	ok(r_ref.nparts == 2 && r_ref.dlen[0] == 0 && data_is(1, "v", 1),
	   "part without blank line: empty, next part intact");
}

static void test_boundary(void)
{
	char out[MULTIPART_BOUNDARY_MAX + 1], small[4], big[256], b70[80], ct[128];
	int i;

	is_int(multipart_boundary("multipart/form-data; boundary=abc", out, sizeof(out)), 0,
	       "boundary: token");
	is_str(out, "abc", "boundary: token value");
	is_int(multipart_boundary("multipart/form-data; boundary=\"a b:c=?'()+_,-./\"", out,
				  sizeof(out)),
	       0, "boundary: quoted with bchars and space");
	is_str(out, "a b:c=?'()+_,-./", "boundary: quoted value");
	is_int(multipart_boundary(" \tMultipart/Form-Data ; charset=utf-8; foo=\"b;oundary=no\"; "
				  "BOUNDARY=xyz ; after=1 \t",
				  out, sizeof(out)),
	       0, "boundary: uppercase, parameters before and after, whitespace");
	is_str(out, "xyz", "boundary: value among other parameters");
	is_int(multipart_boundary("multipart/form-data;boundary=" BND ";", out, sizeof(out)), 0,
	       "boundary: browser-style, trailing semicolon");
	is_str(out, BND, "boundary: browser-style value");
	is_int(multipart_boundary("multipart/form-data; boundary=\"a\\\"b\"", out, sizeof(out)), -1,
	       "boundary: escaped quote is not a bchar");

	for (i = 0; i < 70; i++)
		b70[i] = (char)('a' + i % 26);
	b70[70] = '\0';
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b70);
	is_int(multipart_boundary(ct, out, sizeof(out)), 0, "boundary: 70 characters");
	is_str(out, b70, "boundary: 70-character value");
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%sz", b70);
	is_int(multipart_boundary(ct, out, sizeof(out)), -1, "boundary: 71 characters rejected");
	is_int(multipart_boundary(ct, big, sizeof(big)), -1,
	       "boundary: 71 characters rejected even with room to copy them");
	is_str(out, "", "boundary: out emptied on failure");
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%sz\"", b70);
	is_int(multipart_boundary(ct, out, sizeof(out)), -1, "boundary: 71 quoted rejected");

	is_int(multipart_boundary("multipart/form-data; boundary=", out, sizeof(out)), -1,
	       "boundary: empty token rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=\"\"", out, sizeof(out)), -1,
	       "boundary: empty quoted rejected");
	is_int(multipart_boundary("multipart/form-data", out, sizeof(out)), -1,
	       "boundary: missing rejected");
	is_int(multipart_boundary("text/plain; boundary=abc", out, sizeof(out)), -1,
	       "boundary: text/plain rejected");
	is_int(multipart_boundary("multipart/mixed; boundary=abc", out, sizeof(out)), -1,
	       "boundary: multipart/mixed rejected");
	is_int(multipart_boundary("multipart/form-dataX; boundary=abc", out, sizeof(out)), -1,
	       "boundary: longer media type rejected");
	is_int(multipart_boundary("multipart/form", out, sizeof(out)), -1,
	       "boundary: truncated media type rejected");
	is_int(multipart_boundary("", out, sizeof(out)), -1, "boundary: empty header rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=\"ab@c\"", out, sizeof(out)), -1,
	       "boundary: '@' rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=\"abc \"", out, sizeof(out)), -1,
	       "boundary: trailing space rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=ab:c", out, sizeof(out)), -1,
	       "boundary: unquoted ':' rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=\"abc", out, sizeof(out)), -1,
	       "boundary: unterminated quote rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=a; boundary=b", out, sizeof(out)),
	       -1, "boundary: duplicate rejected");
	is_int(multipart_boundary("multipart/form-data; charset", out, sizeof(out)), -1,
	       "boundary: parameter without value rejected");
	is_int(multipart_boundary("multipart/form-data; boundary=abcd", small, sizeof(small)), -1,
	       "boundary: output buffer too small rejected");
	is_int(multipart_boundary(NULL, out, sizeof(out)), -1, "boundary: NULL rejected");
}

static void test_preamble_epilogue(void)
{
	static const char body[] = "This is the preamble.\r\n--"
				   "----WebKit"
				   "\r\n-\r\n--x\r\r\n"
				   "\r\n" DASH "\r\n" CD "name=\"only\"\r\n\r\n"
				   "value"
				   "\r\n" DASH "--\r\n"
				   "epilogue\r\n" DASH "\r\nnot: headers\r\n\r\n\r\n" DASH "X";
	struct multipart p;

	is_int(run_all("preamble/epilogue", BND, LIT(body), NULL), MULTIPART_DONE,
	       "preamble and epilogue: DONE");
	ok(r_ref.nparts == 1 && r_ref.nends == 1, "preamble and epilogue: exactly one part");
	is_str(r_ref.name[0], "only", "preamble and epilogue: part name");
	ok(data_is(0, "value", 5), "preamble and epilogue: data excludes both");

	rec_reset(&r_ref);
	multipart_init(&p, "b", &deflim, &cbs, &r_ref);
	is_int(feed(&p, LIT("--b\r\n" CD "name=\"a\"\r\n\r\nx\r\n--b--")), MULTIPART_DONE,
	       "feed returns DONE at the final boundary");
	is_int(feed(&p, LIT("--b\r\n" CD "name=\"z\"\r\n\r\n")), MULTIPART_DONE,
	       "feed after DONE returns DONE");
	is_int(r_ref.nparts, 1, "feed after DONE calls nothing back");
	is_int(multipart_finish(&p), MULTIPART_DONE, "finish after DONE: DONE");

	rec_reset(&r_ref);
	is_int(run("b", LIT("--b--"), NULL, &r_ref, WHOLE, 0), MULTIPART_DONE,
	       "final boundary without parts: DONE");
	is_int(r_ref.nparts, 0, "final boundary without parts: no callbacks");
}

static void test_disposition(void)
{
	static const char no_cd[] = "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--";
	static const char no_hdrs[] = "--b\r\n\r\nx\r\n--b--";
	static const char attach[] =
		"--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--";
	static const char no_name[] = "--b\r\n" CD "filename=\"a.txt\"\r\n\r\nx\r\n--b--";
	static const char cases[] =
		"--b\r\ncontent-DISPOSITION:FORM-DATA;NAME=field\r\n\r\n1\r\n"
		"--b\r\n" CD "name=\"q\\\"uo\\\\te\"; filename=\"a\\\"b\\\\c.txt\"\r\n\r\n2\r\n"
		"--b\r\n" CD "filename=\"fallback.txt\"; "
		"filename*=UTF-8''%E2%82%AC%20rates.txt; name=\"ext\"\r\n\r\n3\r\n"
		"--b\r\n" CD "name=\"ext2\"; filename*=utf-8'en'a%2fb; "
		"filename=\"later.txt\"\r\n\r\n4\r\n"
		"--b\r\n" CD "name=\"\"; filename*=ISO-8859-1''x%E9; "
		"filename=plain.txt\r\n\r\n5\r\n"
		"--b\r\nX-Custom: whatever\r\ncontent-type:\t\r\n" CD
		"name = \"sp\" ; filename = \"s p.txt\" \r\n\r\n6\r\n--b--";
	static const char bad_pct[] =
		"--b\r\n" CD "name=\"a\"; filename*=UTF-8''%ZZ\r\n\r\nx\r\n--b--";
	static const char nul_pct[] =
		"--b\r\n" CD "name=\"a\"; filename*=UTF-8''a%00\r\n\r\nx\r\n--b--";
	static const char quoted_ext[] =
		"--b\r\n" CD "name=\"a\"; filename*=\"UTF-8''a\"\r\n\r\nx\r\n--b--";
	static const char no_colon[] = "--b\r\n" CD "name=\"a\"\r\nBogus header\r\n\r\nx\r\n--b--";
	static const char folded[] = "--b\r\n" CD "name=\"a\"\r\n filename=\"x\"\r\n\r\nx\r\n--b--";
	static const char dup_cd[] =
		"--b\r\n" CD "name=\"a\"\r\n" CD "name=\"b\"\r\n\r\nx\r\n--b--";
	static const char dup_name[] = "--b\r\n" CD "name=\"a\"; name=\"b\"\r\n\r\nx\r\n--b--";
	static const char dup_ct[] = "--b\r\n" CD "name=\"a\"\r\nContent-Type: a/b\r\n"
				     "Content-Type: c/d\r\n\r\nx\r\n--b--";
	static const char unterminated[] = "--b\r\n" CD "name=\"a\r\n\r\nx\r\n--b--";
	static const char nul_hdr[] = "--b\r\n" CD "name=\"a\0b\"\r\n\r\nx\r\n--b--";

	rec_reset(&r_ref);
	is_int(run("b", LIT(no_cd), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_NO_DISPOSITION,
	       "no Content-Disposition: NO_DISPOSITION");
	is_int(r_ref.nparts, 0, "no Content-Disposition: part_begin not called");
	rec_reset(&r_ref);
	is_int(run("b", LIT(no_hdrs), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_NO_DISPOSITION,
	       "no headers at all: NO_DISPOSITION");
	rec_reset(&r_ref);
	is_int(run("b", LIT(attach), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_NO_DISPOSITION,
	       "attachment disposition: NO_DISPOSITION");
	rec_reset(&r_ref);
	is_int(run("b", LIT(no_name), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_NO_DISPOSITION,
	       "form-data without name: NO_DISPOSITION");

	is_int(run_all("disposition variants", "b", LIT(cases), NULL), MULTIPART_DONE,
	       "disposition variants: DONE");
	is_int(r_ref.nparts, 6, "disposition variants: six parts");
	is_str(r_ref.name[0], "field", "case-insensitive header, type and parameter; token name");
	ok(!r_ref.has_filename[0], "no filename parameter: filename NULL");
	is_str(r_ref.name[1], "q\"uo\\te", "name with escaped quote and backslash");
	is_str(r_ref.filename[1], "a\"b\\c.txt", "filename with escaped quote and backslash");
	is_str(r_ref.name[2], "ext", "name after filename*");
	is_str(r_ref.filename[2], "\xe2\x82\xac rates.txt",
	       "filename*=UTF-8'' decoded, beats earlier filename");
	is_str(r_ref.filename[3], "a/b", "filename*=utf-8'en' decoded, beats later filename");
	is_str(r_ref.name[4], "", "empty name accepted");
	is_str(r_ref.filename[4], "plain.txt", "non-UTF-8 filename* ignored, token filename used");
	is_str(r_ref.name[5], "sp", "whitespace around '=' and ';' tolerated");
	is_str(r_ref.filename[5], "s p.txt", "filename with space");
	ok(r_ref.has_ctype[5] && r_ref.ctype[5][0] == '\0',
	   "empty Content-Type value kept as \"\"");
	ok(data_is(3, "4", 1) && data_is(5, "6", 1), "disposition variants: data intact");

	rec_reset(&r_ref);
	is_int(run("b", LIT(bad_pct), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "filename* with bad percent escape: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(nul_pct), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "filename* decoding to NUL: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(quoted_ext), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "quoted filename*: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(no_colon), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "header line without colon: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(folded), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "folded header line: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(dup_cd), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "two Content-Disposition headers: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(dup_name), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "two name parameters: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(dup_ct), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "two Content-Type headers: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(unterminated), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "unterminated quoted name: MALFORMED");
	rec_reset(&r_ref);
	is_int(run("b", LIT(nul_hdr), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_MALFORMED,
	       "NUL byte in a header: MALFORMED");
}

static void test_callbacks(void)
{
	static const char body[] = "--b\r\n" CD "name=\"a\"\r\n\r\nfirst\r\n--b\r\n" CD
				   "name=\"c\"\r\n\r\nsecond\r\n--b--";
	struct multipart p;

	rec_reset(&r_ref);
	r_ref.fail_begin = 2;
	multipart_init(&p, "b", &deflim, &cbs, &r_ref);
	is_int(feed(&p, LIT(body)), MULTIPART_ERR_CALLBACK, "part_begin failing: CALLBACK");
	ok(r_ref.nparts == 2 && r_ref.nends == 1 && data_is(0, "first", 5),
	   "part_begin failing: earlier part complete");
	is_int(feed(&p, LIT("more\r\n--b--")), MULTIPART_ERR_CALLBACK,
	       "CALLBACK is sticky on feed");
	is_int(multipart_finish(&p), MULTIPART_ERR_CALLBACK, "CALLBACK is sticky on finish");
	is_int(r_ref.calls_after_fail, 0, "no callbacks after part_begin failed");

	rec_reset(&r_ref);
	r_ref.fail_data = 1;
	is_int(run("b", LIT(body), NULL, &r_ref, BYTES, 0), MULTIPART_ERR_CALLBACK,
	       "part_data failing (byte feed): CALLBACK");
	ok(r_ref.ndata == 1 && r_ref.nends == 0, "part_data failing: stopped at the first call");
	is_int(r_ref.calls_after_fail, 0, "no callbacks after part_data failed");

	rec_reset(&r_ref);
	r_ref.fail_end = 1;
	is_int(run("b", LIT(body), NULL, &r_ref, WHOLE, 0), MULTIPART_ERR_CALLBACK,
	       "part_end failing: CALLBACK");
	ok(r_ref.nparts == 1 && r_ref.nends == 1, "part_end failing: second part never begun");
	is_int(r_ref.calls_after_fail, 0, "no callbacks after part_end failed");
}

static void test_streaming(void)
{
	static char body[4096];
	static char blob[3000];
	struct multipart p;
	size_t n, hlen, i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (char)(i * 7 + i / 256); /* every byte value, CRs included */
	blob[2998] = 'a'; /* the fed prefix below ends on data, not on a CR */
	hlen = (size_t)snprintf(body, sizeof(body),
				"%s\r\n" CD "name=\"v\"; filename=\"v.bin\"\r\n\r\n", DASH);
	memcpy(body + hlen, blob, sizeof(blob));
	n = hlen + sizeof(blob);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\r\n%s--\r\n", DASH);

	rec_reset(&r_ref);
	multipart_init(&p, BND, &deflim, &cbs, &r_ref);
	feed(&p, body, hlen + 2999);
	is_int(r_ref.dlen[0], 2999, "streaming: data delivered before the part ends");
	feed(&p, body + hlen + 2999, 1 + 2 + 2 + strlen(BND) - 1);
	is_int(r_ref.dlen[0], 3000, "streaming: only a delimiter prefix is held back");
	is_int(r_ref.nends, 0, "streaming: part not ended on a partial delimiter");
	is_int(feed(&p, body + hlen + 3000 + 2 + 2 + strlen(BND) - 1,
		    n - (hlen + 3000 + 2 + 2 + strlen(BND) - 1)),
	       MULTIPART_DONE, "streaming: DONE");
	ok(r_ref.nends == 1 && data_is(0, blob, sizeof(blob)),
	   "streaming: 3000 binary bytes intact");

	is_int(run_all("binary", BND, body, n, NULL), MULTIPART_DONE, "binary body: DONE");
	ok(data_is(0, blob, sizeof(blob)), "binary body: data intact");
}

static void test_bad_init(void)
{
	struct multipart p;

	rec_reset(&r_ref);
	multipart_init(&p, "", &deflim, &cbs, &r_ref);
	is_int(feed(&p, LIT("--\r\n")), MULTIPART_ERR_MALFORMED, "empty boundary: MALFORMED");
	multipart_init(&p, "bad\rboundary", &deflim, &cbs, &r_ref);
	is_int(feed(&p, LIT("--b")), MULTIPART_ERR_MALFORMED, "boundary with CR: MALFORMED");
	multipart_init(&p, "b", &deflim, NULL, NULL);
	is_int(feed(&p, LIT("--b\r\n" CD "name=a\r\n\r\nxyz\r\n--b--")), MULTIPART_DONE,
	       "NULL callbacks: parses to DONE");
}

static void test_status_codes(void)
{
	is_str(multipart_status_code(MULTIPART_OK), "ok", "code ok");
	is_str(multipart_status_code(MULTIPART_DONE), "done", "code done");
	is_str(multipart_status_code(MULTIPART_ERR_MALFORMED), "malformed_multipart",
	       "code malformed");
	is_str(multipart_status_code(MULTIPART_ERR_TRUNCATED), "truncated_body", "code truncated");
	is_str(multipart_status_code(MULTIPART_ERR_TOO_MANY_PARTS), "too_many_parts",
	       "code too many parts");
	is_str(multipart_status_code(MULTIPART_ERR_HEADER_TOO_LARGE), "part_header_too_large",
	       "code header too large");
	is_str(multipart_status_code(MULTIPART_ERR_TOO_MANY_HEADERS), "too_many_part_headers",
	       "code too many headers");
	is_str(multipart_status_code(MULTIPART_ERR_NO_DISPOSITION), "missing_content_disposition",
	       "code no disposition");
	is_str(multipart_status_code(MULTIPART_ERR_CALLBACK), "callback_error", "code callback");
}

int main(void)
{
	test_basic();
	test_near_misses();
	test_crlf_edges();
	test_bare_lf();
	test_delimiter_tail();
	test_truncated();
	test_header_limits();
	test_part_limit();
	test_empty_part();
	test_boundary();
	test_preamble_epilogue();
	test_disposition();
	test_callbacks();
	test_streaming();
	test_bad_init();
	test_status_codes();
	return tap_done();
}
