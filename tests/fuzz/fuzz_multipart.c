/*
 * fuzz_multipart.c - libFuzzer harness for the streaming multipart parser.
 *
 * The first input byte picks the limits and how the rest is cut into
 * feeds (1 byte, 7 bytes, or whole), so boundary matches split across reads
 * get the same battering as whole bodies. The boundary is fixed; the corpus
 * carries bodies with that boundary (tests/fuzz/corpus/multipart). Besides
 * sanitizer reports, the harness aborts if the parser breaks its own
 * promises: data outside a part, part_end without part_begin, a NULL name,
 * more parts than the limit, or an OK status after the input ended.
 *
 *   ./dev fuzz SECONDS   (builds and runs every harness)
 */
#include "multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	int in_part;
	size_t parts;
	size_t max_parts;
};

static int on_begin(void *ud, const struct multipart_part *p)
{
	struct state *s = ud;

	if (s->in_part || !p->name || p->index != s->parts)
		abort();
	if (strlen(p->name) > MULTIPART_NAME_MAX)
		abort();
	s->in_part = 1;
	if (++s->parts > s->max_parts)
		abort();
	return 0;
}

static int on_data(void *ud, const char *buf, size_t len)
{
	struct state *s = ud;

	if (!s->in_part || len == 0 || !buf)
		abort();
	return 0;
}

static int on_end(void *ud)
{
	struct state *s = ud;

	if (!s->in_part)
		abort();
	s->in_part = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct multipart_callbacks cb = {on_begin, on_data, on_end};
	struct multipart_limits lim;
	struct multipart mp;
	struct state s = {0, 0, 0};
	enum multipart_status st = MULTIPART_OK;
	size_t step, off = 0;
	char *copy;

	if (size < 1)
		return 0;
	lim.max_parts = 1 + (data[0] & 7);
	lim.max_header_bytes = 64 + 256 * ((data[0] >> 3) & 3);
	lim.max_headers = 1 + ((data[0] >> 5) & 3);
	s.max_parts = lim.max_parts;
	step = (data[0] & 0x80) ? 1 : (data[0] & 0x40) ? 7 : size;
	data++;
	size--;
	multipart_init(&mp, "XyZzy0123", &lim, &cb, &s);
	/* Each feed is its own heap copy: reading past a feed is an ASan report. */
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		copy = malloc(n);
		if (!copy)
			abort();
		memcpy(copy, data + off, n);
		st = multipart_feed(&mp, copy, n);
		free(copy);
		off += n;
		if (st != MULTIPART_OK && st != MULTIPART_DONE)
			break;
	}
	if (st == MULTIPART_OK || st == MULTIPART_DONE)
		st = multipart_finish(&mp);
	if (st == MULTIPART_OK)
		abort(); /* finish never says "want more" */
	if (st == MULTIPART_DONE && s.in_part)
		abort();
	if (!multipart_status_code(st))
		abort();
	return 0;
}
