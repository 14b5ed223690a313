/*
 * migrate.c - applies pending migrations and records them (see migrate.h).
 *
 * MySQL DDL is not transactional, so a migration is recorded only after all
 * its statements succeeded; migration files use CREATE ... IF NOT EXISTS so
 * that re-running one that failed half-way is harmless. The checksum of each
 * applied file is kept: a released migration that was edited afterwards is
 * reported, because the databases it already ran on did not get the edit.
 * Every shard gets every migration, one shard after the other in list order;
 * one that cannot be reached does not stop the others. After its schema a
 * shard other than 0 gets its job numbering and shard 0's users and keys.
 */
#include "migrate.h"
#include "output.h"
#include "vg_db.h"
#include "vg_hash.h"
#include "vg_shards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char create_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations (\n"
	"  version INT UNSIGNED NOT NULL COMMENT 'Migration number, the NNN of "
	"sql/migrations/NNN_name.sql',\n"
	"  name VARCHAR(255) NOT NULL COMMENT 'Migration name, the file name without .sql, e.g. "
	"001_initial',\n"
	"  checksum CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'Lower-case hex SHA-256 of the "
	"migration file as applied, so vingestctl can tell when an applied file was changed "
	"afterwards',\n"
	"  applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'When the "
	"migration was applied (UTC)',\n"
	"  PRIMARY KEY (version)\n"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Migrations "
	"applied to this database, managed by vingestctl migrate. Never edit by hand'";
static const char lock_sql[] = "SELECT GET_LOCK('vingest.migrate', 60)";
static const char unlock_sql[] = "SELECT RELEASE_LOCK('vingest.migrate')";
static const char applied_sql[] = "SELECT checksum FROM schema_migrations WHERE version = ?";
static const char record_sql[] =
	"INSERT INTO schema_migrations (version, name, checksum, applied_at) "
	"VALUES (?, ?, ?, UTC_TIMESTAMP(6))";

/* One database; label ("" or "shard K (SERVER): ") starts every line. */
static int migrate_one(struct vg_db *db, const char *label)
{
	struct vg_db_result res;
	unsigned applied = 0;
	int rc = -1;

	if (vg_db_query(db, lock_sql, NULL, 0, &res) != 1 || !vg_db_cell(&res, 0, 0) ||
	    strcmp(vg_db_cell(&res, 0, 0), "1") != 0) {
		fprintf(stderr, "vingestctl: %scannot take the migration lock: %s\n", label,
			vg_db_error(db)[0] ? vg_db_error(db) : "another migration is running");
		vg_db_result_free(&res);
		return -1;
	}
	vg_db_result_free(&res);
	if (vg_db_plain(db, create_sql) < 0) {
		fprintf(stderr, "vingestctl: %scannot create schema_migrations: %s\n", label,
			vg_db_error(db));
		goto out;
	}
	for (unsigned i = 0; i < vg_migrations_count; i++) {
		const struct migration *mg = &vg_migrations[i];
		char sum[VG_SHA256_HEX];
		struct vg_db_param p[] = {vg_p_i64(mg->version)};
		long long n;

		vg_sha256_hex(mg->sql, strlen(mg->sql), sum);
		n = vg_db_query(db, applied_sql, p, VG_DB_NPARAMS(p), &res);
		if (n < 0) {
			fprintf(stderr, "vingestctl: %scannot read schema_migrations: %s\n", label,
				vg_db_error(db));
			goto out;
		}
		if (n > 0) {
			if (strcmp(vg_db_cell(&res, 0, 0), sum) != 0)
				fprintf(stderr,
					"vingestctl: %swarning: migration %s was changed after it "
					"was applied; write a new migration instead\n",
					label, mg->name);
			vg_db_result_free(&res);
			continue;
		}
		vg_db_result_free(&res);
		if (vg_db_script(db, mg->sql) < 0) {
			fprintf(stderr, "vingestctl: %smigration %s failed: %s\n", label, mg->name,
				vg_db_error(db));
			goto out;
		}
		{
			struct vg_db_param rp[] = {vg_p_i64(mg->version), vg_p_str(mg->name),
						   vg_p_str(sum)};

			if (vg_db_exec(db, record_sql, rp, VG_DB_NPARAMS(rp)) != 1) {
				fprintf(stderr, "vingestctl: %scannot record migration %s: %s\n",
					label, mg->name, vg_db_error(db));
				goto out;
			}
		}
		printf("%sapplied %s\n", label, mg->name);
		applied++;
	}
	if (applied == 0)
		printf("%sschema is up to date (%u migrations applied)\n", label,
		       vg_migrations_count);
	rc = 0;
out:
	if (vg_db_query(db, unlock_sql, NULL, 0, &res) >= 0)
		vg_db_result_free(&res);
	return rc;
}

/*
 * Shard k >= 1 numbers its jobs from k * VG_JOB_ID_SPAN + 1, so a job id
 * names its shard (vg_job_shard) and ids never collide across shards. Only
 * while no job of the shard's own range exists yet: then the counter is
 * raised (InnoDB keeps it across restarts since MariaDB 10.2.4 / MySQL 8).
 * ALTER TABLE takes no placeholder, so the number is bound to a SET and the
 * ALTER is prepared on the server from it: no SQL is built here.
 */
static const char max_job_sql[] = "SELECT COALESCE(MAX(id), 0) FROM jobs";
static const char auto_inc_sql[] =
	"SELECT COALESCE(AUTO_INCREMENT, 0) FROM information_schema.TABLES "
	"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'jobs'";
static const char ai_set_sql[] =
	"SET @vg_jobs_ai = CONCAT('ALTER TABLE jobs AUTO_INCREMENT = ', CAST(? AS UNSIGNED))";
static const char ai_prepare_sql[] = "PREPARE vg_jobs_ai FROM @vg_jobs_ai";
static const char ai_execute_sql[] = "EXECUTE vg_jobs_ai";
static const char ai_deallocate_sql[] = "DEALLOCATE PREPARE vg_jobs_ai";

/* The first row's first column of sql as a number, or -1 (last_error set). */
static long long first_number(struct vg_db *db, const char *sql)
{
	struct vg_db_result r;
	long long n = vg_db_query(db, sql, NULL, 0, &r), v;

	if (n < 0)
		return -1;
	v = n > 0 && vg_db_cell(&r, 0, 0) ? strtoll(vg_db_cell(&r, 0, 0), NULL, 10) : 0;
	vg_db_result_free(&r);
	return v;
}

static int number_jobs(struct vg_db *db, unsigned k, const char *label)
{
	long long first = (long long)k * VG_JOB_ID_SPAN + 1, max, next;
	struct vg_db_param p[] = {vg_p_i64(first)};

	max = first_number(db, max_job_sql);
	if (max < 0)
		goto fail;
	if (max >= (long long)(k + 1) * VG_JOB_ID_SPAN)
		fprintf(stderr,
			"vingestctl: %swarning: job id %lld is past this shard's range "
			"(%lld..%lld): is the shard list in its original order?\n",
			label, max, first, (long long)(k + 1) * VG_JOB_ID_SPAN - 1);
	if (max >= first - 1)
		return 0; /* numbering in its range already */
	next = first_number(db, auto_inc_sql);
	if (next < 0)
		goto fail;
	if (next >= first)
		return 0;
	if (vg_db_exec(db, ai_set_sql, p, VG_DB_NPARAMS(p)) < 0 ||
	    vg_db_plain(db, ai_prepare_sql) < 0)
		goto fail;
	if (vg_db_plain(db, ai_execute_sql) < 0) {
		vg_db_plain(db, ai_deallocate_sql);
		goto fail;
	}
	vg_db_plain(db, ai_deallocate_sql);
	printf("%sjob ids start at %lld\n", label, first);
	return 0;
fail:
	fprintf(stderr, "vingestctl: %scannot set where job ids start (%lld): %s\n", label, first,
		vg_db_error(db));
	return -1;
}

/*
 * Users and keys must be on every shard (any shard may authenticate a
 * request; vingestctl writes each new row everywhere). A shard added to the
 * list later has none: it gets shard 0's rows that it lacks, ids included.
 * Revocations and disablings shard 0 has are copied too - only in that
 * direction: a migrate never lifts a revocation or a disabling a shard has
 * (that could undo a revoke made while shard 0 was down).
 */
#define COPY_PAGE 1000
static const char users_page_sql[] =
	"SELECT id, name, created_at, disabled_at FROM users WHERE id > ? ORDER BY id LIMIT 1000";
static const char user_put_sql[] =
	"INSERT INTO users (id, name, created_at, disabled_at) SELECT ?, ?, ?, ? FROM DUAL "
	"WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = ?)";
static const char user_flag_sql[] =
	"UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL";
static const char keys_page_sql[] =
	"SELECT id, user_id, key_prefix, key_hash, created_at, revoked_at FROM api_keys "
	"WHERE id > ? ORDER BY id LIMIT 1000";
static const char key_put_sql[] =
	"INSERT INTO api_keys (id, user_id, key_prefix, key_hash, created_at, revoked_at) "
	"SELECT ?, ?, ?, ?, ?, ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE id = ?)";
static const char key_flag_sql[] =
	"UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";

struct copy_table {
	const char *table;
	const char *page_sql; /* id first, the flag column last */
	const char *put_sql;  /* every column, then the id again */
	const char *flag_sql; /* (flag, id) */
	unsigned ncols;
	const char *flagged; /* what flag_sql makes a row: "disabled", "revoked" */
};

/* Copies one table's missing rows and flags from db0 to db; -1 (printed) or 0. */
static int copy_rows(struct vg_db *db0, struct vg_db *db, const struct copy_table *t,
		     const char *label)
{
	struct vg_db_param pp[1], cp[8], fp[2];
	struct vg_db_result r;
	long long after = 0, n, added = 0, flagged = 0;
	struct vg_db *failed = NULL;

	do {
		pp[0] = vg_p_i64(after);
		n = vg_db_query(db0, t->page_sql, pp, 1, &r);
		if (n < 0) {
			failed = db0;
			break;
		}
		for (size_t i = 0; i < r.nrows && !failed; i++) {
			const char *id = vg_db_cell(&r, i, 0),
				   *flag = vg_db_cell(&r, i, t->ncols - 1);
			long long m;

			for (unsigned c = 0; c < t->ncols; c++)
				cp[c] = vg_p_str(vg_db_cell(&r, i, c));
			cp[t->ncols] = vg_p_str(id);
			m = vg_db_exec(db, t->put_sql, cp, t->ncols + 1);
			if (m < 0) {
				failed = db;
				break;
			}
			added += m;
			if (flag && m == 0) {
				fp[0] = vg_p_str(flag);
				fp[1] = vg_p_str(id);
				m = vg_db_exec(db, t->flag_sql, fp, 2);
				if (m < 0)
					failed = db;
				else
					flagged += m;
			}
			after = strtoll(id, NULL, 10);
		}
		vg_db_result_free(&r);
	} while (!failed && n == COPY_PAGE);
	if (added || flagged)
		printf("%s%s: %lld row%s copied from shard 0, %lld marked %s as there\n", label,
		       t->table, added, added == 1 ? "" : "s", flagged, t->flagged);
	if (failed) {
		fprintf(stderr, "vingestctl: %scannot copy %s from shard 0: %s%s\n", label,
			t->table, failed == db0 ? "shard 0: " : "", vg_db_error(failed));
		return -1;
	}
	return 0;
}

static int copy_users_keys(struct vg_db *db0, struct vg_db *db, const char *label)
{
	static const struct copy_table users =
		{"users", users_page_sql, user_put_sql, user_flag_sql, 4, "disabled"};
	static const struct copy_table keys = {"api_keys", keys_page_sql, key_put_sql, key_flag_sql,
					       6,	   "revoked"};

	if (copy_rows(db0, db, &users, label) < 0)
		return -1;
	return copy_rows(db0, db, &keys, label);
}

int migrate_run(struct vg_shards *sh)
{
	char label[400];
	int rc = 0;

	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);

		label[0] = '\0';
		if (sh->n > 1) {
			output_shard_name(db, label, sizeof(label) - 2);
			strcat(label, ": ");
		}
		if (vg_db_ensure(db) < 0) {
			char server[300];

			fprintf(stderr,
				"vingestctl: shard %u (%s) is unreachable, not migrated: %s\n", k,
				vg_db_server(db, server, sizeof(server)), vg_db_error(db));
			rc = -1;
			continue;
		}
		if (migrate_one(db, label) < 0) {
			rc = -1;
			continue;
		}
		if (k > 0 && (number_jobs(db, k, label) < 0 ||
			      copy_users_keys(vg_shards_db(sh, 0), db, label) < 0))
			rc = -1;
	}
	return rc;
}
