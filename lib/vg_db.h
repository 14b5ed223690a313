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

/* One connection to one server. Opaque: callers ask (vg_db_connected,
 * vg_db_errno, vg_db_is_retryable, ...) rather than read its state, so what
 * a failure means is decided here, once. */
struct vg_db;

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

/*
 * MariaDB server error numbers vingest acts on (the client's own, CR_*, come
 * from errmsg.h). Callers should prefer the questions below
 * (vg_db_is_duplicate, vg_db_is_retryable, vg_db_down) to comparing these.
 */
#define VG_DB_ER_SERVER_SHUTDOWN   1053 /* the server is shutting down */
#define VG_DB_ER_DUP_ENTRY	   1062 /* a unique key is taken */
#define VG_DB_ER_LOCK_WAIT_TIMEOUT 1205 /* innodb_lock_wait_timeout ran out */
#define VG_DB_ER_LOCK_DEADLOCK	   1213 /* chosen as a deadlock's victim */
#define VG_DB_ER_CONNECTION_KILLED 1927 /* KILL, or the server went away mid-query */

/* A new connection handle for cfg (borrowed; must outlive it) and its first
 * shard; connects lazily. Aborts on out-of-memory. Free with vg_db_free. */
struct vg_db *vg_db_new(const struct vg_config *cfg);
/* The same for shard k of cfg's [db] shards (vg_shards.h); NULL if no such shard. */
struct vg_db *vg_db_new_shard(const struct vg_config *cfg, unsigned k);
/* Closes the connection and frees db; safe on NULL. */
void vg_db_free(struct vg_db *db);

/* The shard (position in [db] shards) db talks to. */
unsigned vg_db_shard(const struct vg_db *db);

/* "host:port" or "unix:/path" of db's server, for logs and messages. */
const char *vg_db_server(const struct vg_db *db, char *buf, size_t bufsz);

/* 1 while a connect to this server failed within the last second (calls
 * fail at once then, instead of each waiting for a dead server). */
int vg_db_known_down(const struct vg_db *db);
/* Closes the connection and frees statements; safe on NULL and twice. db
 * stays usable: the next call reconnects. */
void vg_db_close(struct vg_db *db);

/* In a child after fork(2): drops the inherited connection without telling
 * the server (a COM_QUIT on the shared socket would end the parent's session
 * too) and frees it. */
void vg_db_forget(struct vg_db *db);

/* Connects if not connected. Returns 0 or -1 (logged, vg_db_error set). */
int vg_db_ensure(struct vg_db *db);

/* Is the server there? Connects if needed, then a COM_PING (no statement);
 * a connection found dead is replaced once. 0, or -1 (vg_db_down() tells). */
int vg_db_ping(struct vg_db *db);

/* 1 if the last failure means the server is unreachable (the caller should
 * answer 503), 0 if it was the statement's own fault. */
int vg_db_down(const struct vg_db *db);

/* 1 while db holds an open connection (it may still turn out dead). */
int vg_db_connected(const struct vg_db *db);
/* The server or client error number of the last failure; 0 after a success. */
unsigned vg_db_errno(const struct vg_db *db);
/* Its message, for logs and the CLI ("" if none); borrowed, valid until the
 * next call on db. */
const char *vg_db_error(const struct vg_db *db);
/* 1 if the last failure was a deadlock or a lock wait time-out: the
 * transaction was (or must be) rolled back, and running it again may work. */
int vg_db_is_retryable(const struct vg_db *db);
/* 1 if the last failure was a taken unique key (ER_DUP_ENTRY). */
int vg_db_is_duplicate(const struct vg_db *db);

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

/*
 * One transaction, retried whole: BEGIN; body(db, arg); COMMIT. what names
 * it in the logs ("upload", "claim"). body returns > 0 to commit, 0 to roll
 * back and stop (a decided "no": nothing to write), -1 on a failure (it
 * need not roll back; this does). Returns body's value once committed, 0
 * after body's 0, VG_DB_TXN_UNKNOWN if the connection died during COMMIT
 * (it may have landed: the caller must look before it says either), or -1
 * when nothing was committed, with vg_db telling why:
 *
 * - a deadlock or lock wait time-out (vg_db_is_retryable) rolls back and
 *   runs the whole transaction again, up to tries times; -1 with
 *   vg_db_is_retryable still 1 means it stayed deadlocked every time
 *   (logged here, once): the database is up and busy, the caller should
 *   say "try again shortly", not "unavailable";
 * - a BEGIN that finds a pooled connection dead (the server restarted
 *   since) reconnects and starts again once, on the first try only:
 *   nothing was sent that could have landed;
 * - anything else is not retried (vg_db_down, vg_db_is_duplicate, ...).
 *
 * body runs again on a retry, so whatever it fills for the caller it must
 * reset when it starts.
 */
#define VG_DB_TXN_UNKNOWN (-2)
int vg_db_txn_retry(struct vg_db *db, const char *what, int tries,
		    int (*body)(struct vg_db *db, void *arg), void *arg);

/*
 * Records err as the last failure, as if the server had just answered it
 * (a lost connection is closed, as a real one would be), and returns -1.
 * For the failpoint build (vg_failpoint.h): a failpoint that stands for a
 * database error says which one.
 */
int vg_db_fail_as(struct vg_db *db, unsigned err, const char *msg);

/* Runs a plain multi-statement script (migrations); returns 0 or -1. */
int vg_db_script(struct vg_db *db, const char *sql);

#endif
