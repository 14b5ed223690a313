/*
 * test_buf.c - the capped byte buffer (lib/vg_buf.c): appends up to the
 * cap, refuses past it (frees, marks, stays refused until reset), keeps the
 * contents NUL-terminated, and frees safely from any state.
 */
#include "tap.h"
#include "vg_buf.h"

#include <stdlib.h>
#include <string.h>

static void fills_to_the_cap_exactly(void)
{
	struct vg_buf b;
	char big[1000];

	memset(big, 'x', sizeof(big));
	vg_buf_init(&b, 10);
	is_str(vg_buf_str(&b), "", "a new buffer reads as the empty string, not NULL");
	is_int(vg_buf_append(&b, "hello", 5), 0, "5 of 10 bytes go in");
	is_int(vg_buf_room(&b), 5, "room says 5 are left");
	is_int(vg_buf_append(&b, "world", 5), 0, "the next 5 reach the cap exactly");
	is_str(vg_buf_str(&b), "helloworld", "contents are the appends, NUL-terminated");
	is_int(vg_buf_len(&b), 10, "length counts the bytes, not the NUL");
	ok(b.alloc <= 11, "never allocates more than cap + 1 (%zu)", b.alloc);
	is_int(vg_buf_overflowed(&b), 0, "reaching the cap is not overflowing it");
	is_int(vg_buf_append(&b, "", 0), 0, "an empty append at the cap succeeds");
	vg_buf_free(&b);

	vg_buf_init(&b, 100000);
	for (int i = 0; i < 100; i++)
		if (vg_buf_append(&b, big, sizeof(big)) < 0)
			break;
	is_int(vg_buf_len(&b), 100000, "grows past its first allocation to a large cap");
	ok(vg_buf_str(&b)[99999] == 'x' && vg_buf_str(&b)[100000] == '\0',
	   "the last byte is kept and the NUL follows it");
	vg_buf_free(&b);
}

static void refuses_past_the_cap(void)
{
	struct vg_buf b;

	vg_buf_init(&b, 8);
	vg_buf_append(&b, "abcdef", 6);
	is_int(vg_buf_append(&b, "ghi", 3), -1, "an append that would pass the cap fails");
	is_int(vg_buf_overflowed(&b), 1, "... and marks the buffer overflowed");
	is_int(vg_buf_len(&b), 0, "... and drops what it held");
	ok(b.data == NULL, "... freeing its memory");
	is_str(vg_buf_str(&b), "", "an overflowed buffer reads as empty");
	is_int(vg_buf_room(&b), 0, "an overflowed buffer has no room");
	is_int(vg_buf_append(&b, "x", 1), -1, "a later append that would fit still fails");
	is_int(vg_buf_append(&b, "", 0), -1, "even an empty one");

	vg_buf_reset(&b);
	is_int(vg_buf_overflowed(&b), 0, "reset clears the overflow");
	is_int(vg_buf_room(&b), 8, "... and keeps the cap");
	is_int(vg_buf_append(&b, "12345678", 8), 0, "after reset it takes up to the cap again");
	is_str(vg_buf_str(&b), "12345678", "... with the new contents");
	vg_buf_free(&b);

	vg_buf_init(&b, 4);
	is_int(vg_buf_append(&b, "12345", 5), -1, "a first append over the cap fails");
	is_int(vg_buf_overflowed(&b), 1, "... and overflows an empty buffer too");
	vg_buf_free(&b);
	is_int(vg_buf_overflowed(&b), 0, "free leaves the buffer empty and not overflowed");
	is_int(vg_buf_room(&b), 4, "... with its cap");

	vg_buf_init(&b, 16);
	vg_buf_append(&b, "x", 1);
	is_int(vg_buf_append(&b, "y", (size_t)-1), -1,
	       "a length that would wrap len + n around fails (no overflow of the sum)");
	vg_buf_free(&b);
}

static void truncating_caller(void)
{
	struct vg_buf b;
	const char *chunks[] = {"<a>", "0123456789", "</a>"};

	/* How the S3 store and vingest-upload keep the start of a long answer. */
	vg_buf_init(&b, 8);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		size_t n = strlen(chunks[i]), room = vg_buf_room(&b);

		is_int(vg_buf_append(&b, chunks[i], n < room ? n : room), 0,
		       "appending at most room never fails (chunk %zu)", i);
	}
	is_str(vg_buf_str(&b), "<a>01234", "the first cap bytes are kept");
	is_int(vg_buf_overflowed(&b), 0, "and the buffer is not overflowed");
	vg_buf_free(&b);
}

static void reset_keeps_memory(void)
{
	struct vg_buf b;
	char *before;

	vg_buf_init(&b, 64);
	vg_buf_puts(&b, "first try");
	before = b.data;
	vg_buf_reset(&b);
	is_str(vg_buf_str(&b), "", "reset empties the buffer");
	ok(b.data == before, "reset keeps the allocation for the next try");
	vg_buf_puts(&b, "second");
	is_str(vg_buf_str(&b), "second", "puts appends a string without its NUL");
	is_int(vg_buf_len(&b), 6, "... so the length is the string's");
	vg_buf_free(&b);
}

static void free_is_safe(void)
{
	struct vg_buf zero;

	memset(&zero, 0, sizeof(zero));
	vg_buf_free(&zero);
	vg_buf_free(&zero);
	vg_buf_free(NULL);
	ok(1, "free of a zeroed struct, twice, and of NULL does not crash");
	is_int(vg_buf_append(&zero, "x", 1), -1, "a zeroed buffer has cap 0: it takes no byte");
	is_int(vg_buf_append(&zero, "", 0), -1, "... and is then overflowed");
	vg_buf_free(&zero);
}

int main(void)
{
	fills_to_the_cap_exactly();
	refuses_past_the_cap();
	truncating_caller();
	reset_keeps_memory();
	free_is_safe();
	return tap_done();
}
