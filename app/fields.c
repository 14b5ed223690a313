/*
 * fields.c - the rules for an upload's title, filename, content type and
 * metadata (see fields.h), shared by the multipart and the tus door.
 *
 * Everything a client writes here ends up in the videos row, in JSON
 * answers and in a DBA's terminal, so text is cleaned on the way in and
 * metadata is parsed and written out again by json-c: what is stored is
 * always a well-formed object, whatever bytes came in. The metadata parse
 * is bounded twice: by bytes (limits.max_field_bytes) before the tokener
 * sees it, and by nesting inside it.
 */
#include "fields.h"
#include "vg_alloc.h"
#include "vg_text.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void upload_fields_init(struct upload_fields *f, size_t metadata_max)
{
	memset(f, 0, sizeof(*f));
	f->metadata_max = metadata_max;
}

void upload_fields_free(struct upload_fields *f)
{
	if (!f)
		return;
	free(f->title);
	f->title = NULL;
	free(f->metadata);
	f->metadata = NULL;
	f->filename[0] = '\0';
	f->content_type[0] = '\0';
}

enum upload_fields_error upload_fields_set_title(struct upload_fields *f, const char *s, size_t n)
{
	char *clean;
	size_t chars;

	if (n > UPLOAD_FIELDS_TITLE_MAX_BYTES)
		return UPLOAD_FIELDS_TITLE_TOO_LONG;
	clean = vg_malloc(n + 1);
	chars = vg_text_clean(s, n, clean, n + 1, UPLOAD_FIELDS_TITLE_MAX_CHARS);
	if (chars > UPLOAD_FIELDS_TITLE_MAX_CHARS) {
		free(clean);
		return UPLOAD_FIELDS_TITLE_TOO_LONG;
	}
	free(f->title);
	f->title = clean;
	return UPLOAD_FIELDS_OK;
}

enum upload_fields_error upload_fields_set_filename(struct upload_fields *f, const char *s,
						    size_t n)
{
	vg_text_clean(s, n, f->filename, sizeof(f->filename), UPLOAD_FIELDS_FILENAME_MAX_CHARS);
	return UPLOAD_FIELDS_OK;
}

enum upload_fields_error upload_fields_set_content_type(struct upload_fields *f, const char *s,
							size_t n)
{
	/* max_chars = the byte cap: the buffer's size is what cuts multi-byte text */
	vg_text_clean(s, n, f->content_type, sizeof(f->content_type),
		      UPLOAD_FIELDS_CONTENT_TYPE_MAX_BYTES);
	return UPLOAD_FIELDS_OK;
}

enum upload_fields_error upload_fields_set_metadata(struct upload_fields *f, const char *s,
						    size_t n)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum upload_fields_error e = UPLOAD_FIELDS_METADATA_INVALID;

	if (n == 0) {
		/* an empty field is no field (an empty form input) */
		free(f->metadata);
		f->metadata = NULL;
		return UPLOAD_FIELDS_OK;
	}
	if (n > f->metadata_max || n > INT_MAX)
		return UPLOAD_FIELDS_METADATA_TOO_LARGE;
	tok = json_tokener_new_ex(UPLOAD_FIELDS_METADATA_MAX_DEPTH);
	if (!tok)
		abort();
	o = json_tokener_parse_ex(tok, s, (int)n);
	/* The tokener stops after the first complete value: a parse that ends
	 * before n left bytes over ({"a":1}xyz), which are refused, not
	 * silently dropped. */
	if (o && json_tokener_get_error(tok) == json_tokener_success &&
	    (size_t)json_tokener_get_parse_end(tok) == n &&
	    json_object_is_type(o, json_type_object)) {
		free(f->metadata);
		f->metadata = vg_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		e = UPLOAD_FIELDS_OK;
	}
	json_object_put(o);
	json_tokener_free(tok);
	return e;
}

const char *upload_fields_title(const struct upload_fields *f)
{
	return f->title && f->title[0] ? f->title : NULL;
}

const char *upload_fields_filename(const struct upload_fields *f)
{
	return f->filename[0] ? f->filename : NULL;
}

const char *upload_fields_content_type(const struct upload_fields *f)
{
	return f->content_type[0] ? f->content_type : NULL;
}

const char *upload_fields_metadata(const struct upload_fields *f)
{
	return f->metadata;
}

int upload_fields_status(enum upload_fields_error e)
{
	switch (e) {
	case UPLOAD_FIELDS_TITLE_TOO_LONG:
	case UPLOAD_FIELDS_METADATA_INVALID:
		return 400;
	case UPLOAD_FIELDS_METADATA_TOO_LARGE:
		return 413;
	case UPLOAD_FIELDS_OK:
		break;
	}
	return 500; /* not a refusal: a caller's bug */
}

const char *upload_fields_code(enum upload_fields_error e)
{
	switch (e) {
	case UPLOAD_FIELDS_TITLE_TOO_LONG:
		return "title_too_long";
	case UPLOAD_FIELDS_METADATA_INVALID:
		return "invalid_metadata";
	case UPLOAD_FIELDS_METADATA_TOO_LARGE:
		return "field_too_large";
	case UPLOAD_FIELDS_OK:
		break;
	}
	return "internal";
}

const char *upload_fields_message(enum upload_fields_error e)
{
	switch (e) {
	case UPLOAD_FIELDS_TITLE_TOO_LONG:
		return "title is limited to 500 characters";
	case UPLOAD_FIELDS_METADATA_INVALID:
		return "metadata must be a JSON object (at most 16 levels deep) with nothing after "
		       "it";
	case UPLOAD_FIELDS_METADATA_TOO_LARGE:
		return "metadata is larger than allowed (limits.max_field_bytes)";
	case UPLOAD_FIELDS_OK:
		break;
	}
	return "a field was refused for no known reason";
}
