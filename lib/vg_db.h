/*
 * vg_db.h - one MariaDB/MySQL connection with prepared, cached statements.
 *
 * Every statement that carries data goes through vg_db_exec()/vg_db_query()
 * as a server-side prepared statement with bound parameters: no SQL is ever
 * built from input. Statements are prepared once per connection and reused
 * (keyed by the address of the SQL text, which callers keep in static
 * storage). Results come back as NUL-terminated strings, NULL for SQL NULL.
 *
 * Connection loss (server restarted, network cut) closes the connection and
 * forgets its statements; the next call reconnects. Every session runs in UTC
 * with READ COMMITTED isolation (REPEATABLE READ gap locks make job claimers
 * deadlock against inserts).
 */
#ifndef VG_DB_H
#define VG_DB_H

#include <stddef.h>
#include <string.h>

struct vg_config;

enum vg_db_type { VG_DB_NULL, VG_DB_STR, VG_DB_I64, VG_DB_BLOB };

struct vg_db_param {
	enum vg_db_type type;
	const char *s; /* VG_DB_STR: borrowed for the call */
	size_t len;
	long long i;
};

/* Parameter constructors. A NULL string binds SQL NULL. */
static inline struct vg_db_param vg_p_str(const char *s)
{
	struct vg_db_param p = {s ? VG_DB_STR : VG_DB_NULL, s, s ? strlen(s) : 0, 0};

	return p;
}

static inline struct vg_db_param vg_p_strn(const char *s, size_t len)
{
	struct vg_db_param p = {s ? VG_DB_STR : VG_DB_NULL, s, len, 0};

	return p;
}

/* Binary bytes (no character set conversion), e.g. a chunk of a video. */
static inline struct vg_db_param vg_p_blob(const void *b, size_t len)
{
	struct vg_db_param p = {VG_DB_BLOB, (const char *)b, len, 0};

	return p;
}

static inline struct vg_db_param vg_p_i64(long long i)
{
	struct vg_db_param p = {VG_DB_I64, NULL, 0, i};

	return p;
}

#define VG_DB_NPARAMS(a) (sizeof(a) / sizeof((a)[0]))

/* The most parameters one statement may bind (the set-based job writes
 * bind up to 80). */
#define VG_DB_MAX_PARAMS 96

struct vg_db_stmt_slot {
	const char *sql;
	void *stmt; /* MYSQL_STMT */
};

#define VG_DB_STMT_CACHE 48

struct vg_db {
	void *my; /* MYSQL, or NULL while disconnected */
	const struct vg_config *cfg; /* borrowed */
	unsigned shard;               /* position in [db] shards (vg_shards.h) */
	char host[256];               /* the server: host and port, or socket */
	unsigned port;
	char socket[256];
	long long retry_at_ms;        /* after a failed connect, fail fast until then */
	int down_logged;              /* the failed connect is logged once, until one works */
	struct vg_db_stmt_slot cache[VG_DB_STMT_CACHE];
	size_t ncache;
	unsigned last_errno; /* server or client error number of the last failure */
	char last_error[256];
};

/* A fetched result: nrows rows of nfields strings (NULL for SQL NULL). */
struct vg_db_result {
	unsigned nfields;
	size_t nrows;
	char **cells; /* nrows * nfields, row-major, each malloc'd or NULL */
	unsigned long *lens;
};

static inline const char *vg_db_cell(const struct vg_db_result *r, size_t row, unsigned col)
{
	return r->cells[row * r->nfields + col];
}

/* Error numbers callers act on. */
#define VG_DB_ER_DUP_ENTRY 1062
#define VG_DB_ER_LOCK_DEADLOCK 1213
#define VG_DB_ER_LOCK_WAIT_TIMEOUT 1205

/* Prepares db for cfg (borrowed; must outlive db) and its first shard;
 * connects lazily. */
void vg_db_init(struct vg_db *db, const struct vg_config *cfg);
/* The same for shard k of cfg's [db] shards (vg_shards.h); -1 if no such shard. */
int vg_db_init_shard(struct vg_db *db, const struct vg_config *cfg, unsigned k);

/* "host:port" or "unix:/path" of db's server, for logs and messages. */
const char *vg_db_server(const struct vg_db *db, char *buf, size_t bufsz);

/* 1 while a connect to this server failed within the last second (calls
 * fail at once then, instead of each waiting for a dead server). */
int vg_db_known_down(const struct vg_db *db);
/* Closes the connection and frees statements; safe on NULL and twice. */
void vg_db_close(struct vg_db *db);

/* In a child after fork(2): drops the inherited connection without telling
 * the server (a COM_QUIT on the shared socket would end the parent's session
 * too) and frees it. */
void vg_db_forget(struct vg_db *db);

/* Connects if not connected. Returns 0 or -1 (logged, last_error set). */
int vg_db_ensure(struct vg_db *db);

/* Is the server there? Connects if needed, then a COM_PING (no statement);
 * a connection found dead is replaced once. 0, or -1 (vg_db_down() tells). */
int vg_db_ping(struct vg_db *db);

/* 1 if the last failure means the server is unreachable (the caller should
 * answer 503), 0 if it was the statement's own fault. */
int vg_db_down(const struct vg_db *db);

/* Runs a statement that returns no rows. Returns affected rows, or -1. */
long long vg_db_exec(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np);

/* Runs a query; on success fills *out (free with vg_db_result_free) and
 * returns the row count; -1 on failure with *out empty. */
long long vg_db_query(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np,
		      struct vg_db_result *out);
void vg_db_result_free(struct vg_db_result *r);

/* Statements without data: BEGIN, COMMIT, ROLLBACK, DDL. Returns 0 or -1. */
int vg_db_plain(struct vg_db *db, const char *sql);
int vg_db_begin(struct vg_db *db);
int vg_db_commit(struct vg_db *db);
/* Rolls back; on failure closes the connection (the server rolls back then). */
void vg_db_rollback(struct vg_db *db);

/* Runs a plain multi-statement script (migrations); returns 0 or -1. */
int vg_db_script(struct vg_db *db, const char *sql);

#endif
