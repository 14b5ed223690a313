/*
 * output.c - vingestctl's listings as text columns or JSON (see output.h).
 *
 * One printer for every listing, so --json means the same thing on each
 * command and a script can rely on the column names a human sees.
 */
#include "output.h"
#include "vg_alloc.h"
#include "vg_db.h"
#include "vg_shards.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS  16
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
			json_object_object_add(o, names[c],
					       cell_json(vg_db_cell(r, i, c),
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

void output_rows(const struct vg_db_result *r, const char *const *names, const char *const *numeric,
		 int json)
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
		fprintf(stderr, "vingestctl: query failed: %s\n", vg_db_error(db));
		return -1;
	}
	output_rows(&r, names, numeric, json);
	vg_db_result_free(&r);
	return 0;
}

const char *output_shard_name(const struct vg_db *db, char *buf, size_t bufsz)
{
	char server[300];

	snprintf(buf, bufsz, "shard %u (%s)", vg_db_shard(db),
		 vg_db_server(db, server, sizeof(server)));
	return buf;
}

void output_append(struct vg_db_result *all, struct vg_db_result *r, int shard)
{
	unsigned extra = shard >= 0 ? 1 : 0, nf = r->nfields + extra;
	size_t rows = all->nrows + r->nrows;
	char **cells;

	if (all->nrows == 0)
		all->nfields = nf;
	if (r->nrows == 0 || all->nfields != nf) {
		vg_db_result_free(r);
		return;
	}
	cells = vg_calloc(rows * nf, sizeof(*cells));
	if (all->nrows)
		memcpy(cells, all->cells, all->nrows * nf * sizeof(*cells));
	for (size_t i = 0; i < r->nrows; i++) {
		char **row = cells + (all->nrows + i) * nf;

		if (extra) {
			char num[16];

			snprintf(num, sizeof(num), "%d", shard);
			row[0] = vg_strdup(num);
		}
		for (unsigned c = 0; c < r->nfields; c++) {
			row[extra + c] = r->cells[i * r->nfields + c];
			r->cells[i * r->nfields + c] = NULL;
		}
	}
	free(all->cells);
	free(all->lens);
	all->cells = cells;
	all->lens = NULL;
	all->nrows = rows;
	vg_db_result_free(r);
}

int output_list_shards(struct vg_shards *sh, const char *sql, const char *const *names,
		       const char *const *numeric, int json)
{
	const char *with_shard[MAX_COLS + 1], *num_shard[MAX_COLS + 2];
	struct vg_db_result all, r;
	unsigned ncols = 0, nnum = 0;
	int rc = 0, many = sh->n > 1;
	char name[400];

	if (!many)
		return output_list(vg_shards_db(sh, 0), sql, NULL, 0, names, numeric, json);
	memset(&all, 0, sizeof(all));
	with_shard[ncols++] = "shard";
	num_shard[nnum++] = "shard";
	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);

		if (vg_db_query(db, sql, NULL, 0, &r) < 0) {
			fprintf(stderr, "vingestctl: %s: query failed: %s\n",
				output_shard_name(db, name, sizeof(name)), vg_db_error(db));
			rc = -1;
			continue;
		}
		if (ncols == 1)
			for (unsigned c = 0; c < r.nfields && ncols < MAX_COLS; c++)
				with_shard[ncols++] = names[c];
		output_append(&all, &r, (int)k);
	}
	for (size_t i = 0; numeric && numeric[i] && nnum <= MAX_COLS; i++)
		num_shard[nnum++] = numeric[i];
	num_shard[nnum] = NULL;
	if (ncols == 1) /* every shard failed: print nothing, the errors are said */
		return -1;
	if (all.nrows == 0)
		all.nfields = ncols;
	output_rows(&all, with_shard, num_shard, json);
	vg_db_result_free(&all);
	return rc;
}
