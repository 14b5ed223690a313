/*
 * migrate.h - numbered schema migrations, compiled into vingestctl.
 */
#ifndef VG_CTL_MIGRATE_H
#define VG_CTL_MIGRATE_H

struct vg_db;

struct migration {
	unsigned version;
	const char *name; /* "001_initial" */
	const char *sql;  /* the file's text */
};

/* Generated from sql/migrations/ by build-aux/embed-sql.sh, in order. */
extern const struct migration vg_migrations[];
extern const unsigned vg_migrations_count;

/*
 * Applies every migration not yet recorded in schema_migrations, in order,
 * under a database-wide lock so two hosts migrating at once take turns.
 * Prints one line per migration applied (or that nothing was to do).
 * Returns 0, or -1 with the failure printed to stderr.
 */
int migrate_run(struct vg_db *db);

#endif
