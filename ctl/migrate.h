/*
 * migrate.h - numbered schema migrations, compiled into vingestctl.
 */
#ifndef VG_CTL_MIGRATE_H
#define VG_CTL_MIGRATE_H

struct vg_shards;

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
 * Does so on every shard in list order (lines start with "shard K (SERVER): "
 * when there are several), then makes shard K >= 1 number its jobs from
 * K * VG_JOB_ID_SPAN + 1 and gives it the users and api_keys rows of shard
 * 0 it lacks (a shard added later). A shard that cannot be reached is named and the
 * others are still migrated. Returns 0, or -1 with the failures printed.
 */
int migrate_run(struct vg_shards *sh);

#endif
