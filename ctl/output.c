/*
 * output.c - vingestctl's listings as text columns or JSON (see output.h).
 *
 * One printer for every listing, so --json means the same thing on each
 * command and a script can rely on the column names a human sees.
 */
#include "output.h"
#include "vg_db.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 16
#define MAX_WIDTH 60

static int is_numeric(const char *name, const char *const *numeric)
{
	for (size_t i = 0; numeric && numeric[i]; i++)
		if (strcmp(name, numeric[i]) == 0)
			return 1;
	return 0;
}

/* A cell as JSON: a number where the column is numeric (integers stay
 * exact: json-c keeps int64), else a string; SQL NULL is null. */
static struct json_object *cell_json(const char *v, int numeric)
{
	char *end;

	if (!v)
		return NULL;
	if (numeric) {
		long long i = strtoll(v, &end, 10);

		if (*v && !*end)
			return json_object_new_int64(i);
		{
			double d = strtod(v, &end);

			if (*v && !*end)
				return json_object_new_double(d);
		}
	}
	return json_object_new_string(v);
}

static void print_json(const struct vg_db_result *r, const char *const *names,
		       const char *const *numeric)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < r->nrows; i++) {
		struct json_object *o = json_object_new_object();

		for (unsigned c = 0; c < r->nfields; c++)
			json_object_object_add(o, names[c], cell_json(vg_db_cell(r, i, c),
								       is_numeric(names[c], numeric)));
		json_object_array_add(arr, o);
	}
	printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

static void print_text(const struct vg_db_result *r, const char *const *names)
{
	size_t width[MAX_COLS] = {0};
	unsigned ncols = r->nfields < MAX_COLS ? r->nfields : MAX_COLS;

	for (unsigned c = 0; c < ncols; c++) {
		width[c] = strlen(names[c]);
		for (size_t i = 0; i < r->nrows; i++) {
			const char *v = vg_db_cell(r, i, c);
			size_t n = v ? strlen(v) : 4;

			if (n > width[c])
				width[c] = n > MAX_WIDTH ? MAX_WIDTH : n;
		}
	}
	for (unsigned c = 0; c < ncols; c++)
		printf("%-*s%s", (int)width[c], names[c], c + 1 < ncols ? "  " : "\n");
	for (size_t i = 0; i < r->nrows; i++)
		for (unsigned c = 0; c < ncols; c++) {
			const char *v = vg_db_cell(r, i, c);

			printf("%-*.*s%s", (int)width[c], MAX_WIDTH, v ? v : "NULL",
			       c + 1 < ncols ? "  " : "\n");
		}
}

void output_rows(const struct vg_db_result *r, const char *const *names,
		 const char *const *numeric, int json)
{
	if (json)
		print_json(r, names, numeric);
	else
		print_text(r, names);
}

int output_list(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np,
		const char *const *names, const char *const *numeric, int json)
{
	struct vg_db_result r;

	if (vg_db_query(db, sql, p, np, &r) < 0) {
		fprintf(stderr, "vingestctl: query failed: %s\n", db->last_error);
		return -1;
	}
	output_rows(&r, names, numeric, json);
	vg_db_result_free(&r);
	return 0;
}
