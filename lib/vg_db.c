/*
 * vg_db.c - MariaDB client wrapper: prepared statements, reconnect (see vg_db.h).
 */
#include "vg_db.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_shards.h"
#include "vg_time.h"

#include <errmsg.h>
#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FETCH_INLINE 256 /* first fetch buffer per column; longer values are re-fetched */

#define RETRY_CONNECT_MS 1000

struct vg_db_stmt_slot {
	const char *sql; /* the caller's static text: its address is the key */
	MYSQL_STMT *stmt;
};

#define STMT_CACHE 48

struct vg_db {
	MYSQL *my;		     /* NULL while disconnected */
	const struct vg_config *cfg; /* borrowed */
	unsigned shard;		     /* position in [db] shards (vg_shards.h) */
	char host[256];		     /* the server: host and port, or socket */
	unsigned port;
	char socket[256];
	long long retry_at_ms; /* after a failed connect, fail fast until then */
	int down_logged;       /* the failed connect is logged once, until one works */
	struct vg_db_stmt_slot cache[STMT_CACHE];
	size_t ncache;
	unsigned last_errno; /* server or client error number of the last failure */
	char last_error[256];
};

struct vg_db *vg_db_new_shard(const struct vg_config *cfg, unsigned k)
{
	struct vg_shard_addr *a = vg_calloc(VG_SHARDS_MAX, sizeof(*a));
	char why[200];
	int n = vg_shard_addrs(cfg, a, VG_SHARDS_MAX, why, sizeof(why));
	struct vg_db *db;

	if (n < 0 || k >= (unsigned)n) {
		free(a);
		return NULL;
	}
	db = vg_calloc(1, sizeof(*db));
	db->cfg = cfg;
	db->shard = k;
	snprintf(db->host, sizeof(db->host), "%s", a[k].host);
	db->port = a[k].port;
	snprintf(db->socket, sizeof(db->socket), "%s", a[k].socket);
	free(a);
	return db;
}

struct vg_db *vg_db_new(const struct vg_config *cfg)
{
	struct vg_db *db = vg_db_new_shard(cfg, 0);

	if (!db)
		abort(); /* vg_config_load validated the list */
	return db;
}

void vg_db_free(struct vg_db *db)
{
	if (!db)
		return;
	vg_db_close(db);
	free(db);
}

unsigned vg_db_shard(const struct vg_db *db)
{
	return db->shard;
}

int vg_db_connected(const struct vg_db *db)
{
	return db->my != NULL;
}

unsigned vg_db_errno(const struct vg_db *db)
{
	return db->last_errno;
}

const char *vg_db_error(const struct vg_db *db)
{
	return db->last_error;
}

int vg_db_is_retryable(const struct vg_db *db)
{
	return db->last_errno == VG_DB_ER_LOCK_DEADLOCK ||
	       db->last_errno == VG_DB_ER_LOCK_WAIT_TIMEOUT;
}

int vg_db_is_duplicate(const struct vg_db *db)
{
	return db->last_errno == VG_DB_ER_DUP_ENTRY;
}

const char *vg_db_server(const struct vg_db *db, char *buf, size_t bufsz)
{
	if (db->socket[0])
		snprintf(buf, bufsz, "unix:%s", db->socket);
	else
		snprintf(buf, bufsz, "%s:%u", db->host, db->port);
	return buf;
}

int vg_db_known_down(const struct vg_db *db)
{
	return db->my == NULL && db->retry_at_ms > vg_mono_ms();
}

static void drop_statements(struct vg_db *db)
{
	for (size_t i = 0; i < db->ncache; i++)
		mysql_stmt_close(db->cache[i].stmt);
	db->ncache = 0;
}

void vg_db_close(struct vg_db *db)
{
	if (!db)
		return;
	drop_statements(db);
	if (db->my) {
		mysql_close(db->my);
		db->my = NULL;
	}
}

void vg_db_forget(struct vg_db *db)
{
	if (!db || !db->my)
		return;
	/* With its socket closed first, mysql_close() cannot reach the server:
	 * its farewell fails with EBADF and only local memory is freed. */
	close(mysql_get_socket(db->my));
	vg_db_close(db);
}

static int is_conn_error(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	       e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED ||
	       e == VG_DB_ER_CONNECTION_KILLED || e == VG_DB_ER_SERVER_SHUTDOWN ||
	       e == CR_COMMANDS_OUT_OF_SYNC;
}

int vg_db_down(const struct vg_db *db)
{
	return db->my == NULL || is_conn_error(db->last_errno);
}

/* Records the failure; a lost connection is closed so the next call reconnects. */
static void fail(struct vg_db *db, unsigned err, const char *msg, const char *what)
{
	db->last_errno = err;
	snprintf(db->last_error, sizeof(db->last_error), "%s", msg);
	if (is_conn_error(err)) {
		vg_warn("msg=\"database connection lost\" during=\"%s\" errno=%u error=\"%s\"",
			what, err, msg);
		vg_db_close(db);
	} else if (err == VG_DB_ER_LOCK_DEADLOCK || err == VG_DB_ER_LOCK_WAIT_TIMEOUT) {
		/* Not an error yet: the transaction is rolled back and usually
		 * runs again (vg_db_txn_retry warns if it never gets through). */
		vg_info("msg=\"database transaction lost a deadlock or a lock wait\" "
			"during=\"%.80s\" errno=%u",
			what, err);
	} else if (err != VG_DB_ER_DUP_ENTRY) {
		vg_error("msg=\"database error\" during=\"%.80s\" errno=%u error=\"%s\"", what, err,
			 msg);
	}
}

int vg_db_ensure(struct vg_db *db)
{
	const struct vg_config *c = db->cfg;
	unsigned int timeout = (unsigned int)c->db.connect_timeout_seconds;
	unsigned int rw_timeout = 60;
	char server[300];
	MYSQL *my;

	if (db->my)
		return 0;
	if (vg_db_known_down(db)) {
		db->last_errno = CR_CONNECTION_ERROR;
		snprintf(db->last_error, sizeof(db->last_error),
			 "shard %u unreachable (a connect failed under a second ago)", db->shard);
		return -1;
	}
	my = mysql_init(NULL);
	if (!my)
		abort();
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	/* A hung server must not hang a request forever. */
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(my, db->socket[0] ? NULL : db->host, c->db.user,
				c->db.password[0] ? c->db.password : NULL, c->db.name, db->port,
				db->socket[0] ? db->socket : NULL, 0)) {
		db->last_errno = mysql_errno(my);
		snprintf(db->last_error, sizeof(db->last_error), "%s", mysql_error(my));
		/* Connection refusals are normal while a server restarts: warn, do not
		 * shout, and once per outage, not once a second per process. */
		if (!db->down_logged)
			vg_warn("msg=\"cannot connect to database\" shard=%u server=\"%s\" "
				"errno=%u error=\"%s\"",
				db->shard, vg_db_server(db, server, sizeof(server)), db->last_errno,
				db->last_error);
		db->down_logged = 1;
		db->retry_at_ms = vg_mono_ms() + RETRY_CONNECT_MS;
		mysql_close(my);
		if (!is_conn_error(db->last_errno))
			db->last_errno = CR_CONNECTION_ERROR;
		return -1;
	}
	db->my = my;
	if (mysql_query(my, "SET time_zone = '+00:00'") != 0 ||
	    mysql_query(my, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0) {
		fail(db, mysql_errno(my), mysql_error(my), "session setup");
		vg_db_close(db);
		return -1;
	}
	db->last_errno = 0;
	if (db->down_logged) {
		vg_info("msg=\"database reachable again\" shard=%u server=\"%s\"", db->shard,
			vg_db_server(db, server, sizeof(server)));
		db->down_logged = 0;
	}
	return 0;
}

int vg_db_ping(struct vg_db *db)
{
	/* A connection that was there before may only have outlived a server
	 * restart: then one fresh connect tells. */
	for (int tries = db->my ? 2 : 1; tries > 0; tries--) {
		if (vg_db_ensure(db) < 0)
			return -1;
		if (mysql_ping(db->my) == 0) {
			db->last_errno = 0;
			return 0;
		}
		fail(db, mysql_errno(db->my), mysql_error(db->my), "ping");
		if (db->my)
			return -1; /* not a lost connection: no point in another */
	}
	return -1;
}

static MYSQL_STMT *get_stmt(struct vg_db *db, const char *sql, int *cached)
{
	MYSQL_STMT *st;

	for (size_t i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql) {
			*cached = 1;
			return db->cache[i].stmt;
		}
	st = mysql_stmt_init(db->my);
	if (!st)
		abort();
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		mysql_stmt_close(st);
		return NULL;
	}
	if (db->ncache < STMT_CACHE) {
		db->cache[db->ncache].sql = sql;
		db->cache[db->ncache].stmt = st;
		db->ncache++;
		*cached = 1;
	} else {
		*cached = 0;
	}
	return st;
}

static void release_stmt(MYSQL_STMT *st, int cached)
{
	if (!cached)
		mysql_stmt_close(st);
}

/* Prepares (or reuses), binds and executes. Returns the statement or NULL. */
static MYSQL_STMT *run(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np,
		       int *cached)
{
	MYSQL_BIND bind[VG_DB_MAX_PARAMS];
	MYSQL_STMT *st;

	if (np > sizeof(bind) / sizeof(bind[0]))
		abort(); /* a programming error, not an input */
	if (vg_db_ensure(db) < 0)
		return NULL;
	st = get_stmt(db, sql, cached);
	if (!st)
		return NULL;
	if (mysql_stmt_param_count(st) != np) {
		vg_error("msg=\"parameter count mismatch\" sql=\"%.80s\"", sql);
		abort();
	}
	memset(bind, 0, sizeof(bind));
	for (size_t i = 0; i < np; i++) {
		switch (p[i].type) {
		case VG_DB_NULL:
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case VG_DB_STR:
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)(uintptr_t)p[i].s;
			bind[i].buffer_length = p[i].len;
			break;
		case VG_DB_BLOB:
			bind[i].buffer_type = MYSQL_TYPE_BLOB;
			bind[i].buffer = (void *)(uintptr_t)p[i].s;
			bind[i].buffer_length = p[i].len;
			break;
		case VG_DB_I64:
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = (void *)(uintptr_t)&p[i].i;
			break;
		}
	}
	if ((np && mysql_stmt_bind_param(st, bind) != 0) || mysql_stmt_execute(st) != 0) {
		unsigned e = mysql_stmt_errno(st);
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", mysql_stmt_error(st));
		if (!*cached)
			mysql_stmt_close(st);
		else if (!is_conn_error(e))
			mysql_stmt_reset(st);
		/* on a lost connection fail() closes the cached statement with the rest */
		fail(db, e, msg, sql);
		return NULL;
	}
	db->last_errno = 0;
	return st;
}

long long vg_db_exec(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np)
{
	int cached = 0;
	MYSQL_STMT *st = run(db, sql, p, np, &cached);
	long long n;

	if (!st)
		return -1;
	n = (long long)mysql_stmt_affected_rows(st);
	release_stmt(st, cached);
	return n;
}

void vg_db_result_free(struct vg_db_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows * r->nfields; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

long long vg_db_query(struct vg_db *db, const char *sql, const struct vg_db_param *p, size_t np,
		      struct vg_db_result *out)
{
	int cached = 0;
	MYSQL_STMT *st;
	MYSQL_BIND *rb = NULL;
	char(*inl)[FETCH_INLINE] = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, *errs = NULL;
	unsigned nf;
	size_t cap = 0;
	long long ret = -1;

	memset(out, 0, sizeof(*out));
	st = run(db, sql, p, np, &cached);
	if (!st)
		return -1;
	nf = mysql_stmt_field_count(st);
	out->nfields = nf;
	if (nf == 0) {
		release_stmt(st, cached);
		return 0;
	}
	rb = vg_calloc(nf, sizeof(*rb));
	inl = vg_calloc(nf, sizeof(*inl));
	lens = vg_calloc(nf, sizeof(*lens));
	nulls = vg_calloc(nf, sizeof(*nulls));
	errs = vg_calloc(nf, sizeof(*errs));
	for (unsigned i = 0; i < nf; i++) {
		rb[i].buffer_type = MYSQL_TYPE_STRING;
		rb[i].buffer = inl[i];
		rb[i].buffer_length = FETCH_INLINE;
		rb[i].length = &lens[i];
		rb[i].is_null = &nulls[i];
		rb[i].error = &errs[i];
	}
	if (mysql_stmt_bind_result(st, rb) != 0 || mysql_stmt_store_result(st) != 0) {
		fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		goto out;
	}
	for (;;) {
		int r = mysql_stmt_fetch(st);

		if (r == MYSQL_NO_DATA)
			break;
		if (r == 1) {
			fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
			goto out;
		}
		if (out->nrows == cap) {
			cap = cap ? cap * 2 : 8;
			out->cells = vg_realloc(out->cells, cap * nf * sizeof(char *));
			out->lens = vg_realloc(out->lens, cap * nf * sizeof(unsigned long));
		}
		for (unsigned i = 0; i < nf; i++) {
			size_t k = out->nrows * nf + i;
			char *v = NULL;

			if (!nulls[i]) {
				v = vg_malloc(lens[i] + 1);
				if (lens[i] <= FETCH_INLINE) {
					memcpy(v, inl[i], lens[i]);
				} else {
					MYSQL_BIND b;

					memset(&b, 0, sizeof(b));
					b.buffer_type = MYSQL_TYPE_STRING;
					b.buffer = v;
					b.buffer_length = lens[i];
					if (mysql_stmt_fetch_column(st, &b, i, 0) != 0) {
						free(v);
						fail(db, mysql_stmt_errno(st), mysql_stmt_error(st),
						     sql);
						goto out;
					}
				}
				v[lens[i]] = '\0';
			}
			out->cells[k] = v;
			out->lens[k] = nulls[i] ? 0 : lens[i];
		}
		out->nrows++;
	}
	ret = (long long)out->nrows;
out:
	if (db->my) {
		mysql_stmt_free_result(st);
		release_stmt(st, cached);
	} else if (!cached) {
		mysql_stmt_close(st); /* cached ones went with the connection */
	}
	if (ret < 0)
		vg_db_result_free(out);
	free(rb);
	free(inl);
	free(lens);
	free(nulls);
	free(errs);
	return ret;
}

int vg_db_plain(struct vg_db *db, const char *sql)
{
	if (vg_db_ensure(db) < 0)
		return -1;
	if (mysql_query(db->my, sql) != 0) {
		fail(db, mysql_errno(db->my), mysql_error(db->my), sql);
		return -1;
	}
	/* Discard any result (e.g. SELECT in a migration script). */
	MYSQL_RES *res = mysql_store_result(db->my);

	if (res)
		mysql_free_result(res);
	db->last_errno = 0;
	return 0;
}

int vg_db_begin(struct vg_db *db)
{
	return vg_db_plain(db, "START TRANSACTION");
}

int vg_db_commit(struct vg_db *db)
{
	if (!db->my)
		return -1;
	if (mysql_commit(db->my) != 0) {
		fail(db, mysql_errno(db->my), mysql_error(db->my), "COMMIT");
		return -1;
	}
	return 0;
}

void vg_db_rollback(struct vg_db *db)
{
	if (!db->my)
		return;
	if (mysql_rollback(db->my) != 0) {
		/* The server rolls back an open transaction when the connection closes. */
		vg_warn("msg=\"rollback failed; closing connection\" error=\"%s\"",
			mysql_error(db->my));
		vg_db_close(db);
	}
}

int vg_db_fail_as(struct vg_db *db, unsigned err, const char *msg)
{
	fail(db, err, msg, "injected");
	return -1;
}

int vg_db_txn_retry(struct vg_db *db, const char *what, int tries,
		    int (*body)(struct vg_db *db, void *arg), void *arg)
{
	for (int attempt = 0; attempt < tries; attempt++) {
		int had = db->my != NULL;
		int r;

		if (vg_db_begin(db) < 0) {
			/* A pooled connection that outlived a server restart fails
			 * its first statement; nothing was sent that could have
			 * landed, so a fresh connection may simply start again. */
			if (attempt == 0 && had && db->my == NULL)
				continue;
			return -1;
		}
		r = body(db, arg);
		if (r > 0) {
			if (vg_db_commit(db) == 0)
				return r;
			/* Lost during COMMIT: the server may have committed
			 * before the connection went. Only a look can tell. */
			if (!db->my)
				return VG_DB_TXN_UNKNOWN;
		}
		/* Roll back what body did: after body's "no", its own failure,
		 * or a COMMIT the server refused. (A connection lost before
		 * COMMIT is closed already, and the server rolled back.) */
		if (db->my)
			vg_db_rollback(db);
		if (r == 0)
			return 0;
		if (!vg_db_is_retryable(db))
			return -1;
	}
	/* The server is up and answering; the rows are contended. The caller
	 * tells its client (or its next turn) to try again shortly. */
	if (vg_db_is_retryable(db))
		vg_warn("msg=\"transaction still deadlocked after every try; giving up this time\" "
			"what=%s shard=%u tries=%d errno=%u error=\"%s\"",
			what, db->shard, tries, db->last_errno, db->last_error);
	return -1;
}

int vg_db_script(struct vg_db *db, const char *sql)
{
	/* Statements end with ';' at the end of a line (the migration file rule). */
	const char *p = sql;
	char *stmt;
	int rc = 0;

	while (*p) {
		const char *end = p;
		const char *line_end;

		for (;;) {
			line_end = strchr(end, '\n');
			if (!line_end)
				line_end = end + strlen(end);
			const char *q = line_end;

			while (q > end && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'))
				q--;
			if (q > end && q[-1] == ';') {
				end = q;
				break;
			}
			if (!*line_end) {
				end = line_end;
				break;
			}
			end = line_end + 1;
		}
		stmt = vg_strndup(p, (size_t)(end - p));
		/* skip statements that are only comments and blank lines */
		int empty = 1;

		for (const char *s = stmt; *s;) {
			const char *nl = strchr(s, '\n');
			size_t len = nl ? (size_t)(nl - s) : strlen(s);
			size_t k = 0;

			while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
				k++;
			if (k < len && !(len - k >= 2 && s[k] == '-' && s[k + 1] == '-') &&
			    s[k] != ';') {
				empty = 0;
				break;
			}
			s += len + (nl ? 1 : 0);
		}
		if (!empty && vg_db_plain(db, stmt) < 0)
			rc = -1;
		free(stmt);
		if (rc < 0)
			return -1;
		p = *end == ';' ? end + 1 : end;
		while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			p++;
	}
	return 0;
}
