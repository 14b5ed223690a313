/*
 * migrate.c - applies pending migrations and records them (see migrate.h).
 *
 * MySQL DDL is not transactional, so a migration is recorded only after all
 * its statements succeeded; migration files use CREATE ... IF NOT EXISTS so
 * that re-running one that failed half-way is harmless. The checksum of each
 * applied file is kept: a released migration that was edited afterwards is
 * reported, because the databases it already ran on did not get the edit.
 */
#include "migrate.h"
#include "vg_db.h"
#include "vg_hash.h"

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

int migrate_run(struct vg_db *db)
{
	struct vg_db_result res;
	unsigned applied = 0;
	int rc = -1;

	if (vg_db_query(db, lock_sql, NULL, 0, &res) != 1 || !vg_db_cell(&res, 0, 0) ||
	    strcmp(vg_db_cell(&res, 0, 0), "1") != 0) {
		fprintf(stderr, "vingestctl: cannot take the migration lock: %s\n",
			db->last_error[0] ? db->last_error : "another migration is running");
		vg_db_result_free(&res);
		return -1;
	}
	vg_db_result_free(&res);
	if (vg_db_plain(db, create_sql) < 0) {
		fprintf(stderr, "vingestctl: cannot create schema_migrations: %s\n", db->last_error);
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
			fprintf(stderr, "vingestctl: cannot read schema_migrations: %s\n",
				db->last_error);
			goto out;
		}
		if (n > 0) {
			if (strcmp(vg_db_cell(&res, 0, 0), sum) != 0)
				fprintf(stderr,
					"vingestctl: warning: migration %s was changed after it was "
					"applied; write a new migration instead\n",
					mg->name);
			vg_db_result_free(&res);
			continue;
		}
		vg_db_result_free(&res);
		if (vg_db_script(db, mg->sql) < 0) {
			fprintf(stderr, "vingestctl: migration %s failed: %s\n", mg->name,
				db->last_error);
			goto out;
		}
		{
			struct vg_db_param rp[] = {vg_p_i64(mg->version), vg_p_str(mg->name),
						   vg_p_str(sum)};

			if (vg_db_exec(db, record_sql, rp, VG_DB_NPARAMS(rp)) != 1) {
				fprintf(stderr, "vingestctl: cannot record migration %s: %s\n",
					mg->name, db->last_error);
				goto out;
			}
		}
		printf("applied %s\n", mg->name);
		applied++;
	}
	if (applied == 0)
		printf("schema is up to date (%u migrations applied)\n", vg_migrations_count);
	rc = 0;
out:
	if (vg_db_query(db, unlock_sql, NULL, 0, &res) >= 0)
		vg_db_result_free(&res);
	return rc;
}
