/*
 * fuzz_headers.c - libFuzzer harness for every small parser of untrusted
 * header text: the multipart boundary in Content-Type, Range, base64
 * (HTTP Basic), text cleaning (filenames, titles), ids in paths, Idempotency-
 * Key tokens.
 *
 * The first byte picks the parser; the rest is the header value, given as a
 * NUL-terminated heap copy of exactly its length. Besides sanitizer reports
 * the harness checks each parser's promises (bounds, lengths, results that
 * satisfy their own validators).
 */
#include "range.h"
#include "multipart.h"
#include "vg_base64.h"
#include "vg_id.h"
#include "vg_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int which;

	if (size < 1)
		return 0;
	which = data[0] % 6;
	s = malloc(size);
	if (!s)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	switch (which) {
	case 0: {
		char b[MULTIPART_BOUNDARY_MAX + 1];

		if (multipart_boundary(s, b, sizeof(b)) == 0) {
			size_t n = strlen(b);

			if (n == 0 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
				abort();
		}
		break;
	}
	case 1: {
		long long from = -1, to = -1, sizes[] = {0, 1, 1000, 1LL << 40};

		for (size_t i = 0; i < 4; i++) {
			int r = range_parse(s, sizes[i], &from, &to);

			if (r == 1 && (from < 0 || to < from || to >= sizes[i]))
				abort();
		}
		break;
	}
	case 2: {
		unsigned char out[64];
		long n = vg_base64_decode(s, out, sizeof(out));

		if (n > (long)sizeof(out) || n < -1)
			abort();
		break;
	}
	case 3: {
		char out[40];
		size_t len = strlen(s);
		size_t chars = vg_text_clean(s, len, out, sizeof(out), 10);
		char again[40];

		if (strlen(out) >= sizeof(out) || chars > len)
			abort();
		/* cleaning is idempotent: clean text stays as it is */
		vg_text_clean(out, strlen(out), again, sizeof(again), 10);
		if (strcmp(out, again) != 0)
			abort();
		break;
	}
	case 4:
		if (vg_id_valid(s) && (strlen(s) != VG_ID_LEN || vg_id_time_ms(s) < 0))
			abort();
		break;
	case 5:
		if (vg_text_token(s, 255) && (strlen(s) == 0 || strlen(s) > 255))
			abort();
		break;
	}
	free(s);
	return 0;
}
