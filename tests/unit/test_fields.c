/*
 * test_fields.c - unit tests for an upload's field rules (app/fields.c),
 * the ones both the multipart and the tus door apply: the title is cleaned
 * and refused over 500 characters (or 2000 raw bytes), the filename and
 * content type are cleaned and cut, and metadata is a JSON object of at
 * most limits.max_field_bytes bytes and 16 levels with nothing after it.
 * Every refusal maps to the same status and code, whichever door asks.
 * Inputs are passed as exact-size heap copies (no NUL after them) so ASan
 * catches a read past n.
 */
#include "tap.h"
#include "fields.h"

#include <stdlib.h>
#include <string.h>

#define META_MAX 64

static char *copy_of(const char *s, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (!c)
		abort();
	memcpy(c, s, n);
	return c;
}

static enum upload_fields_error title(struct upload_fields *f, const char *s, size_t n)
{
	char *c = copy_of(s, n);
	enum upload_fields_error e = upload_fields_set_title(f, c, n);

	free(c);
	return e;
}

static enum upload_fields_error meta(struct upload_fields *f, const char *s)
{
	size_t n = strlen(s);
	char *c = copy_of(s, n);
	enum upload_fields_error e = upload_fields_set_metadata(f, c, n);

	free(c);
	return e;
}

/* n copies of the UTF-8 character ch */
static char *repeat(const char *ch, size_t n, size_t *len)
{
	size_t w = strlen(ch);
	char *s = malloc(n * w + 1);

	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * w, ch, w);
	s[n * w] = '\0';
	*len = n * w;
	return s;
}

static void test_title(void)
{
	struct upload_fields f;
	size_t n;
	char *s;

	upload_fields_init(&f, META_MAX);
	is_str(upload_fields_title(&f), NULL, "no title set: none");

	s = repeat("t", 500, &n);
	is_int(title(&f, s, n), UPLOAD_FIELDS_OK, "a title of 500 characters is taken");
	is_int(strlen(upload_fields_title(&f)), 500, "... whole");
	free(s);

	s = repeat("t", 501, &n);
	is_int(title(&f, s, n), UPLOAD_FIELDS_TITLE_TOO_LONG,
	       "a title of 501 characters is refused");
	is_int(strlen(upload_fields_title(&f)), 500, "... and the earlier title stays");
	free(s);

	s = repeat("\xe2\x82\xac", 500, &n); /* 500 x U+20AC, 1500 bytes */
	is_int(title(&f, s, n), UPLOAD_FIELDS_OK, "500 three-byte characters are 500 characters");
	free(s);
	s = repeat("\xf0\x9f\x8e\xac", 501, &n); /* 501 x U+1F3AC */
	is_int(title(&f, s, n), UPLOAD_FIELDS_TITLE_TOO_LONG,
	       "501 four-byte characters are refused");
	free(s);

	/* 400 characters among 1700 control bytes: few characters, too many bytes */
	s = repeat("\x01", 2100, &n);
	memset(s, 'x', 400);
	is_int(title(&f, s, n), UPLOAD_FIELDS_TITLE_TOO_LONG,
	       "more than UPLOAD_FIELDS_TITLE_MAX_BYTES raw bytes are refused");
	is_int(title(&f, s, UPLOAD_FIELDS_TITLE_MAX_BYTES), UPLOAD_FIELDS_OK,
	       "... and exactly that many are taken");
	is_int(strlen(upload_fields_title(&f)), 400, "... cleaned of the control bytes");
	free(s);

	is_int(title(&f, "a\x1b[31mb\xff\xc0\xafz\x7f", 12), UPLOAD_FIELDS_OK,
	       "a title with controls and invalid UTF-8 is taken");
	is_str(upload_fields_title(&f), "a[31mbz", "... cleaned");
	is_int(title(&f, "\x01\x02", 2), UPLOAD_FIELDS_OK,
	       "a title of control bytes only is taken");
	is_str(upload_fields_title(&f), NULL, "... and is no title");
	is_int(title(&f, "", 0), UPLOAD_FIELDS_OK, "an empty title is taken");
	is_str(upload_fields_title(&f), NULL, "... and is no title");

	upload_fields_free(&f);
	is_str(upload_fields_title(&f), NULL, "free leaves no title");
	upload_fields_free(&f);
	upload_fields_free(NULL);
	ok(1, "upload_fields_free twice and on NULL");
}

static void test_filename_and_type(void)
{
	struct upload_fields f;
	size_t n;
	char *s;

	upload_fields_init(&f, META_MAX);
	is_str(upload_fields_filename(&f), NULL, "no filename set: none");
	is_str(upload_fields_content_type(&f), NULL, "no content type set: none");

	s = repeat("f", 300, &n);
	is_int(upload_fields_set_filename(&f, s, n), UPLOAD_FIELDS_OK,
	       "a filename of 300 characters is not refused");
	is_int(strlen(upload_fields_filename(&f)), 255, "... it is cut to 255");
	free(s);
	s = repeat("\xc3\xa9", 300, &n); /* 300 x U+00E9 */
	upload_fields_set_filename(&f, s, n);
	is_int(strlen(upload_fields_filename(&f)), 510,
	       "255 two-byte characters, never half of one");
	free(s);
	upload_fields_set_filename(&f, "clip\r\n.mp4", 10);
	is_str(upload_fields_filename(&f), "clip.mp4", "a filename is cleaned of controls");
	upload_fields_set_filename(&f, "\x1b", 1);
	is_str(upload_fields_filename(&f), NULL, "a filename that cleans to nothing is none");

	upload_fields_set_content_type(&f, "video/mp4", 9);
	is_str(upload_fields_content_type(&f), "video/mp4", "a content type is kept");
	s = repeat("c", 300, &n);
	upload_fields_set_content_type(&f, s, n);
	is_int(strlen(upload_fields_content_type(&f)), 255, "a content type is cut to 255 bytes");
	free(s);
	upload_fields_set_content_type(&f, "", 0);
	is_str(upload_fields_content_type(&f), NULL, "an empty content type is none");
	upload_fields_free(&f);
}

static void test_metadata(void)
{
	struct upload_fields f;
	char big[META_MAX + 16];

	upload_fields_init(&f, META_MAX);
	is_str(upload_fields_metadata(&f), NULL, "no metadata set: none");

	is_int(meta(&f, "{\"a\":1}"), UPLOAD_FIELDS_OK, "{\"a\":1} is taken");
	is_str(upload_fields_metadata(&f), "{\"a\":1}", "... as that object");
	is_int(meta(&f, "{ \"b\" : [1, 2] ,\"c\":\"\\u00e9\"}"), UPLOAD_FIELDS_OK,
	       "an object with spaces and escapes is taken");
	is_str(upload_fields_metadata(&f), "{\"b\":[1,2],\"c\":\"\xc3\xa9\"}",
	       "... as json-c writes it out again");

	is_int(meta(&f, "{\"a\":1}xyz"), UPLOAD_FIELDS_METADATA_INVALID,
	       "{\"a\":1}xyz is refused: trailing bytes are not dropped");
	is_str(upload_fields_metadata(&f), "{\"b\":[1,2],\"c\":\"\xc3\xa9\"}",
	       "... and the earlier metadata stays");
	is_int(meta(&f, " {\"a\":1}\r\n"), UPLOAD_FIELDS_OK,
	       "white space around the object is not trailing bytes");
	is_int(meta(&f, "{\"a\":1}{\"b\":2}"), UPLOAD_FIELDS_METADATA_INVALID,
	       "two objects are refused");
	is_int(meta(&f, "[1,2]"), UPLOAD_FIELDS_METADATA_INVALID, "an array is refused");
	is_int(meta(&f, "\"text\""), UPLOAD_FIELDS_METADATA_INVALID, "a string is refused");
	is_int(meta(&f, "42"), UPLOAD_FIELDS_METADATA_INVALID, "a number is refused");
	is_int(meta(&f, "null"), UPLOAD_FIELDS_METADATA_INVALID, "null is refused");
	is_int(meta(&f, "{\"a\":"), UPLOAD_FIELDS_METADATA_INVALID, "a cut-off object is refused");
	is_int(meta(&f, "not json"), UPLOAD_FIELDS_METADATA_INVALID, "not JSON is refused");
	/* levels as json-c counts them (and workers/answer.c): the object and
	 * 15 arrays in it, the innermost empty, are 16 */
	is_int(meta(&f, "{\"a\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}"), UPLOAD_FIELDS_OK,
	       "16 levels of nesting are taken");
	is_int(meta(&f, "{\"a\":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}"), UPLOAD_FIELDS_METADATA_INVALID,
	       "17 levels are refused");
	{
		char *c = copy_of("{\"a\":1}\0", 8);

		is_int(upload_fields_set_metadata(&f, c, 8), UPLOAD_FIELDS_METADATA_INVALID,
		       "an object followed by a NUL byte is refused");
		free(c);
	}

	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[META_MAX - 1] = '}';
	big[META_MAX] = '\0';
	is_int(meta(&f, big), UPLOAD_FIELDS_OK, "metadata of exactly max_field_bytes is taken");
	big[META_MAX - 1] = ' ';
	big[META_MAX] = '}';
	big[META_MAX + 1] = '\0';
	is_int(meta(&f, big), UPLOAD_FIELDS_METADATA_TOO_LARGE,
	       "one byte over max_field_bytes is refused as too large");

	is_int(meta(&f, ""), UPLOAD_FIELDS_OK, "empty metadata is taken");
	is_str(upload_fields_metadata(&f), NULL, "... and is no metadata");
	upload_fields_free(&f);
}

static void test_answers(void)
{
	is_int(upload_fields_status(UPLOAD_FIELDS_TITLE_TOO_LONG), 400, "title too long: 400");
	is_str(upload_fields_code(UPLOAD_FIELDS_TITLE_TOO_LONG), "title_too_long",
	       "... title_too_long");
	is_int(upload_fields_status(UPLOAD_FIELDS_METADATA_INVALID), 400, "bad metadata: 400");
	is_str(upload_fields_code(UPLOAD_FIELDS_METADATA_INVALID), "invalid_metadata",
	       "... invalid_metadata");
	is_int(upload_fields_status(UPLOAD_FIELDS_METADATA_TOO_LARGE), 413, "large metadata: 413");
	is_str(upload_fields_code(UPLOAD_FIELDS_METADATA_TOO_LARGE), "field_too_large",
	       "... field_too_large");
	ok(strlen(upload_fields_message(UPLOAD_FIELDS_METADATA_INVALID)) > 0,
	   "a refusal has a message");
}

int main(void)
{
	test_title();
	test_filename_and_type();
	test_metadata();
	test_answers();
	return tap_done();
}
