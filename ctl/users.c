/*
 * users.c - users and API keys from the command line (see users.h).
 *
 * A key is "vgk_" and 64 hex digits: 256 bits from getrandom(2), with a
 * prefix that secret scanners and humans recognise. It is shown once; the
 * database keeps its SHA-256 and its first 8 characters (for listings).
 *
 * Disabling a user and revoking a key are single UPDATEs of a timestamp:
 * vingest-fcgi looks every request's key up in the database (no cache), with
 * `revoked_at IS NULL AND disabled_at IS NULL` in the lookup, so the next
 * request after the COMMIT is refused. Nothing is ever deleted: the rows are
 * the record of who owned which videos.
 *
 * Shards: any shard may authenticate a request, so every shard holds the
 * same users and api_keys rows, ids included. A new row is numbered by shard
 * 0 and copied with its id to the others, in one transaction per shard that
 * all commit or none (a commit that fails after others succeeded is undone
 * by deleting the copies: the row was never usable, nothing refers to it).
 * Disabling and revoking set the same timestamp on every shard that answers;
 * a shard that does not is named, and running the command again finishes
 * the job (the UPDATEs only touch rows not yet changed). Listings read
 * shard 0.
 */
#include "users.h"
#include "output.h"
#include "vg_db.h"
#include "vg_shards.h"
#include "vg_hash.h"
#include "vg_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char add_sql[] = "INSERT INTO users (name, created_at) VALUES (?, UTC_TIMESTAMP(6))";
static const char user_row_sql[] = "SELECT id, name, created_at FROM users WHERE name = ?";
static const char user_copy_sql[] = "INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)";
static const char user_undo_sql[] = "DELETE FROM users WHERE id = ? AND name = ?";
static const char find_sql[] = "SELECT id FROM users WHERE name = ? AND disabled_at IS NULL";
static const char key_sql[] = "INSERT INTO api_keys (user_id, key_prefix, key_hash, created_at) "
			      "VALUES (?, ?, ?, UTC_TIMESTAMP(6))";
static const char key_row_sql[] =
	"SELECT id, key_hash, user_id, key_prefix, created_at FROM api_keys WHERE key_hash = ?";
static const char key_copy_sql[] =
	"INSERT INTO api_keys (id, key_hash, user_id, key_prefix, created_at) VALUES (?, ?, ?, ?, ?)";
static const char key_undo_sql[] = "DELETE FROM api_keys WHERE id = ? AND key_hash = ?";
static const char now_sql[] = "SELECT UTC_TIMESTAMP(6)";

/* A new row, written to every shard or to none. */
struct new_row {
	const char *what;	/* "user alice", for messages */
	const char *insert_sql; /* on shard 0: numbers the row */
	const struct vg_db_param *ip;
	size_t nip;
	const char *row_sql; /* on shard 0, by key: the row's columns as copy_sql takes them */
	const char *key;
	const char *copy_sql; /* on the other shards, every column bound */
	const char *undo_sql; /* deletes a copy by its first two columns */
};

/* The undo of shards [from, to) that committed the row (first two cells of r). */
static void undo_committed(struct vg_shards *sh, const struct new_row *nr,
			   const struct vg_db_result *r, unsigned from, unsigned to)
{
	struct vg_db_param p[] = {vg_p_str(vg_db_cell(r, 0, 0)), vg_p_str(vg_db_cell(r, 0, 1))};
	char name[400];

	for (unsigned k = from; k < to; k++) {
		struct vg_db *db = vg_shards_db(sh, k);

		if (vg_db_exec(db, nr->undo_sql, p, VG_DB_NPARAMS(p)) < 0)
			fprintf(stderr,
				"vingestctl: %s: cannot undo %s (id %s): %s; delete it by "
				"hand\n",
				output_shard_name(db, name, sizeof(name)), nr->what,
				vg_db_cell(r, 0, 0), vg_db_error(db));
	}
}

/*
 * Writes nr on every shard: BEGIN everywhere, INSERT on shard 0, read the
 * numbered row back, INSERT the same row on every other shard, then COMMIT
 * the others and shard 0 last. Any failure rolls back what is open and
 * deletes what was committed. Returns 0, -2 if shard 0 says the row exists
 * already (nothing printed), or -1 (printed).
 */
static int insert_everywhere(struct vg_shards *sh, const struct new_row *nr)
{
	struct vg_db_param kp[] = {vg_p_str(nr->key)};
	struct vg_db_param cp[8];
	struct vg_db_result r;
	struct vg_db *db0 = vg_shards_db(sh, 0), *db = db0;
	unsigned begun = 0, committed = 1; /* shards [1, committed) have committed */
	int rc = -1, zero_failed = 0;
	char name[400];

	memset(&r, 0, sizeof(r));
	for (; begun < sh->n; begun++) {
		db = vg_shards_db(sh, begun);
		if (vg_db_begin(db) < 0)
			goto fail;
	}
	db = db0;
	if (vg_db_exec(db0, nr->insert_sql, nr->ip, nr->nip) != 1) {
		if (vg_db_is_duplicate(db0))
			rc = -2;
		goto fail;
	}
	if (vg_db_query(db0, nr->row_sql, kp, VG_DB_NPARAMS(kp), &r) != 1 || r.nfields > 8)
		goto fail;
	for (unsigned c = 0; c < r.nfields; c++)
		cp[c] = vg_p_str(vg_db_cell(&r, 0, c));
	for (unsigned k = 1; k < sh->n; k++) {
		db = vg_shards_db(sh, k);
		if (vg_db_exec(db, nr->copy_sql, cp, r.nfields) != 1)
			goto fail;
	}
	for (; committed < sh->n; committed++) {
		db = vg_shards_db(sh, committed);
		if (vg_db_commit(db) < 0)
			goto fail;
	}
	db = db0;
	if (vg_db_commit(db0) < 0) {
		/* A commit whose answer was lost may have happened: undo it too. */
		zero_failed = 1;
		goto fail;
	}
	vg_db_result_free(&r);
	return 0;
fail:
	if (rc == -1) {
		if (sh->n > 1)
			fprintf(stderr, "vingestctl: %s: cannot add %s: %s\n",
				output_shard_name(db, name, sizeof(name)), nr->what,
				vg_db_error(db)[0] ? vg_db_error(db) : "the row was not there");
		else
			fprintf(stderr, "vingestctl: cannot add %s: %s\n", nr->what,
				vg_db_error(db)[0] ? vg_db_error(db) : "the row was not there");
	}
	for (unsigned k = 0; k < begun; k++)
		if (k == 0 || k >= committed)
			vg_db_rollback(vg_shards_db(sh, k));
	if (r.nrows == 1 && (committed > 1 || zero_failed))
		undo_committed(sh, nr, &r, zero_failed ? 0 : 1, committed);
	if (rc == -1 && sh->n > 1)
		fprintf(stderr, "vingestctl: %s was not added (on any shard)\n", nr->what);
	vg_db_result_free(&r);
	return rc;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '@'))
			return 0;
	}
	return 1;
}

int users_add(struct vg_shards *sh, const char *name)
{
	struct vg_db_param p[] = {vg_p_str(name)};
	char what[100];
	struct new_row nr = {what,	    add_sql,	  p, VG_DB_NPARAMS(p), user_row_sql, name,
			     user_copy_sql, user_undo_sql};
	int rc;

	if (!valid_name(name)) {
		fprintf(stderr, "vingestctl: user name must be 1-64 of A-Z a-z 0-9 _ - . @\n");
		return -1;
	}
	snprintf(what, sizeof(what), "user %s", name);
	rc = insert_everywhere(sh, &nr);
	if (rc == -2)
		fprintf(stderr, "vingestctl: user %s already exists\n", name);
	if (rc < 0)
		return -1;
	if (sh->n > 1)
		fprintf(stderr, "user %s added (on %u shards)\n", name, sh->n);
	else
		fprintf(stderr, "user %s added\n", name);
	return 0;
}

int users_key_create(struct vg_shards *sh, const char *name)
{
	struct vg_db *db = vg_shards_db(sh, 0);
	struct vg_db_param fp[] = {vg_p_str(name)};
	struct vg_db_result res;
	unsigned char raw[32];
	char key[4 + 2 * sizeof(raw) + 1], hash[VG_SHA256_HEX], prefix[9], what[100];
	long long n;
	int rc;

	n = vg_db_query(db, find_sql, fp, VG_DB_NPARAMS(fp), &res);
	if (n < 0) {
		fprintf(stderr, "vingestctl: cannot look up user %s: %s\n", name, vg_db_error(db));
		return -1;
	}
	if (n == 0) {
		fprintf(stderr,
			"vingestctl: no active user named %s (add it with: vingestctl user add %s)\n",
			name, name);
		vg_db_result_free(&res);
		return -1;
	}
	if (vg_random_bytes(raw, sizeof(raw)) < 0) {
		vg_db_result_free(&res);
		return -1;
	}
	memcpy(key, "vgk_", 4);
	vg_hex(raw, sizeof(raw), key + 4);
	vg_sha256_hex(key, strlen(key), hash);
	memcpy(prefix, key, 8);
	prefix[8] = '\0';
	snprintf(what, sizeof(what), "a key for %s", name);
	{
		struct vg_db_param p[] = {vg_p_str(vg_db_cell(&res, 0, 0)), vg_p_str(prefix),
					  vg_p_str(hash)};
		struct new_row nr = {what, key_sql,	 p,	      VG_DB_NPARAMS(p), key_row_sql,
				     hash, key_copy_sql, key_undo_sql};

		rc = insert_everywhere(sh, &nr);
	}
	vg_db_result_free(&res);
	if (rc < 0) {
		if (rc == -2) /* 256 random bits: never, short of a broken random source */
			fprintf(stderr, "vingestctl: cannot store the key: it exists already\n");
		return -1;
	}
	printf("%s\n", key);
	fflush(stdout);
	return 0;
}

/* The shards' answers to one UPDATE: how many changed a row, how many had
 * nothing to change, which failed (named on stderr). */
struct spread {
	unsigned changed, unchanged, failed;
};

/* Runs sql with p on every shard; prints each failure as "vingestctl: SHARD:
 * cannot DOING: error". */
static void update_everywhere(struct vg_shards *sh, const char *sql, const struct vg_db_param *p,
			      size_t np, const char *doing, struct spread *sp)
{
	char name[400];

	memset(sp, 0, sizeof(*sp));
	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);
		long long n = vg_db_exec(db, sql, p, np);

		if (n < 0) {
			if (sh->n > 1)
				fprintf(stderr, "vingestctl: %s: cannot %s: %s\n",
					output_shard_name(db, name, sizeof(name)), doing,
					vg_db_error(db));
			else
				fprintf(stderr, "vingestctl: cannot %s: %s\n", doing,
					vg_db_error(db));
			sp->failed++;
		} else if (n > 0) {
			sp->changed++;
		} else {
			sp->unchanged++;
		}
	}
}

/* After update_everywhere: what an operator must do about failed shards. */
static void tell_failed(const struct vg_shards *sh, const struct spread *sp, const char *cmd)
{
	if (sp->failed && sh->n > 1)
		fprintf(stderr,
			"vingestctl: done on %u of %u shards; run '%s' again when the "
			"shard%s named above answer%s\n",
			sh->n - sp->failed, sh->n, cmd, sp->failed == 1 ? "" : "s",
			sp->failed == 1 ? "s" : "");
}

/* The first shard that answers a query with parameters: its index, with
 * *r filled (n rows in *nrows), or -1 when none does (each failure printed). */
static int first_answer(struct vg_shards *sh, const char *sql, const struct vg_db_param *p,
			size_t np, struct vg_db_result *r, long long *nrows)
{
	char name[400];

	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);

		*nrows = vg_db_query(db, sql, p, np, r);
		if (*nrows >= 0)
			return (int)k;
		if (sh->n > 1)
			fprintf(stderr, "vingestctl: %s: %s\n",
				output_shard_name(db, name, sizeof(name)), vg_db_error(db));
		else
			fprintf(stderr, "vingestctl: %s\n", vg_db_error(db));
	}
	return -1;
}

static const char disable_sql[] =
	"UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL";
static const char enable_sql[] =
	"UPDATE users SET disabled_at = NULL WHERE name = ? AND disabled_at IS NOT NULL";
static const char exists_sql[] = "SELECT id FROM users WHERE name = ?";
static const char user_state_sql[] = "SELECT id, disabled_at FROM users WHERE name = ?";
static const char users_sql[] =
	"SELECT u.id, u.name, u.created_at, u.disabled_at, "
	"(SELECT COUNT(*) FROM api_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL) "
	"FROM users u ORDER BY u.id";

/* 1 if a user named name exists, 0 if not, -1 on a database error (printed). */
static int user_exists(struct vg_db *db, const char *name)
{
	struct vg_db_param p[] = {vg_p_str(name)};
	struct vg_db_result r;
	long long n = vg_db_query(db, exists_sql, p, VG_DB_NPARAMS(p), &r);

	if (n < 0) {
		fprintf(stderr, "vingestctl: cannot look up user %s: %s\n", name, vg_db_error(db));
		return -1;
	}
	vg_db_result_free(&r);
	return n > 0;
}

/* UTC_TIMESTAMP(6) of db's server into buf; 0 or -1. */
static int server_now(struct vg_db *db, char *buf, size_t bufsz)
{
	struct vg_db_result r;

	if (vg_db_query(db, now_sql, NULL, 0, &r) != 1 || !vg_db_cell(&r, 0, 0)) {
		fprintf(stderr, "vingestctl: cannot read the time: %s\n", vg_db_error(db));
		vg_db_result_free(&r);
		return -1;
	}
	snprintf(buf, bufsz, "%s", vg_db_cell(&r, 0, 0));
	vg_db_result_free(&r);
	return 0;
}

int users_set_disabled(struct vg_shards *sh, const char *name, int disabled)
{
	struct vg_db_param lp[] = {vg_p_str(name)};
	struct vg_db_result r;
	struct spread sp;
	char at[40], doing[120], cmd[120];
	long long n;
	int k = first_answer(sh, user_state_sql, lp, VG_DB_NPARAMS(lp), &r, &n);

	if (k < 0)
		return -1;
	if (n == 0) {
		fprintf(stderr, "vingestctl: no user named %s\n", name);
		vg_db_result_free(&r);
		return -1;
	}
	/* One timestamp for every shard: the one a shard already has (a repeat
	 * after a shard was down), else now. */
	at[0] = '\0';
	if (disabled && vg_db_cell(&r, 0, 1))
		snprintf(at, sizeof(at), "%s", vg_db_cell(&r, 0, 1));
	vg_db_result_free(&r);
	if (disabled && !at[0] && server_now(vg_shards_db(sh, (unsigned)k), at, sizeof(at)) < 0)
		return -1;
	snprintf(doing, sizeof(doing), "%s user %s", disabled ? "disable" : "enable", name);
	snprintf(cmd, sizeof(cmd), "vingestctl user %s %s", disabled ? "disable" : "enable", name);
	if (disabled) {
		struct vg_db_param p[] = {vg_p_str(at), vg_p_str(name)};

		update_everywhere(sh, disable_sql, p, VG_DB_NPARAMS(p), doing, &sp);
	} else {
		update_everywhere(sh, enable_sql, lp, VG_DB_NPARAMS(lp), doing, &sp);
	}
	if (sp.changed && sp.failed)
		fprintf(stderr, "user %s %s on the shards that answered\n", name,
			disabled ? "disabled" : "enabled");
	else if (sp.changed)
		fprintf(stderr, "user %s %s\n", name,
			disabled ? "disabled: its keys are refused from now on" : "enabled");
	else if (!sp.failed)
		/* Repeating a command that already took effect is not an error. */
		fprintf(stderr, "user %s was already %s\n", name,
			disabled ? "disabled" : "enabled");
	tell_failed(sh, &sp, cmd);
	return sp.failed ? -1 : 0;
}

int users_list(struct vg_shards *sh, int json)
{
	static const char *const names[] = {"id", "name", "created_at", "disabled_at",
					    "active_keys"};
	static const char *const numeric[] = {"id", "active_keys", NULL};

	return output_list(vg_shards_db(sh, 0), users_sql, NULL, 0, names, numeric, json);
}

/* Key listings: never the key nor its hash, only what tells keys apart. */
#define KEY_COLUMNS                                                                                \
	"SELECT k.id, k.key_prefix, u.name, k.created_at, k.revoked_at, "                          \
	"k.revoked_at IS NULL AND u.disabled_at IS NULL "                                          \
	"FROM api_keys k JOIN users u ON u.id = k.user_id "
static const char keys_all_sql[] = KEY_COLUMNS "ORDER BY k.id";
static const char keys_user_sql[] = KEY_COLUMNS "WHERE u.name = ? ORDER BY k.id";
static const char key_by_id_sql[] = "SELECT id, revoked_at FROM api_keys WHERE id = ?";
static const char key_by_hash_sql[] = "SELECT id, revoked_at FROM api_keys WHERE key_hash = ?";
static const char key_by_prefix_sql[] =
	"SELECT id, revoked_at FROM api_keys WHERE key_prefix = ? AND revoked_at IS NULL ORDER BY id";
static const char key_by_any_prefix_sql[] =
	"SELECT id, revoked_at FROM api_keys WHERE key_prefix = ? ORDER BY id";
static const char revoke_sql[] =
	"UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";

int keys_list(struct vg_shards *sh, const char *user, int json)
{
	static const char *const names[] = {"id",	  "prefix",	"user",
					    "created_at", "revoked_at", "active"};
	static const char *const numeric[] = {"id", "active", NULL};
	struct vg_db *db = vg_shards_db(sh, 0);
	struct vg_db_param p[] = {vg_p_str(user)};

	if (user) {
		int exists = user_exists(db, user);

		if (exists <= 0) {
			if (exists == 0)
				fprintf(stderr, "vingestctl: no user named %s\n", user);
			return -1;
		}
		return output_list(db, keys_user_sql, p, VG_DB_NPARAMS(p), names, numeric, json);
	}
	return output_list(db, keys_all_sql, NULL, 0, names, numeric, json);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/*
 * Finds the key `what` names: an id (digits), a whole key (its hash is
 * looked up: for a key that leaked, as found in a log), or the 8-character
 * prefix listings show, which must name exactly one unrevoked key (prefixes
 * carry 16 random bits and can collide) - or, when none is unrevoked, the
 * one key that has it (a repeat after a shard was down finishes the job).
 * Fills *r with (id, revoked_at). Returns 0, -1 (printed: no such key), or
 * -2 when db failed (printed; another shard may answer).
 */
static int key_find(struct vg_db *db, const char *what, struct vg_db_result *r, int many)
{
	char hash[VG_SHA256_HEX], name[400];
	long long n;
	size_t len = strlen(what);

	if (all_digits(what)) {
		struct vg_db_param p[] = {vg_p_i64(strtoll(what, NULL, 10))};

		n = vg_db_query(db, key_by_id_sql, p, VG_DB_NPARAMS(p), r);
	} else if (len == 8) {
		struct vg_db_param p[] = {vg_p_str(what)};

		n = vg_db_query(db, key_by_prefix_sql, p, VG_DB_NPARAMS(p), r);
		if (n == 0) {
			vg_db_result_free(r);
			n = vg_db_query(db, key_by_any_prefix_sql, p, VG_DB_NPARAMS(p), r);
			if (n > 1) {
				vg_db_result_free(r);
				n = 0;
			}
		}
	} else if (len > 8 && strncmp(what, "vgk_", 4) == 0) {
		struct vg_db_param p[1];

		vg_sha256_hex(what, len, hash);
		p[0] = vg_p_str(hash);
		n = vg_db_query(db, key_by_hash_sql, p, VG_DB_NPARAMS(p), r);
	} else {
		fprintf(stderr,
			"vingestctl: '%s' is neither a key id, an 8-character key prefix "
			"nor a key\n",
			what);
		return -1;
	}
	if (n < 0) {
		fprintf(stderr, "vingestctl: %s%scannot look up the key: %s\n",
			many ? output_shard_name(db, name, sizeof(name)) : "", many ? ": " : "",
			vg_db_error(db));
		return -2;
	}
	if (n == 0) {
		fprintf(stderr, "vingestctl: no %skey matches %s\n", len == 8 ? "unrevoked " : "",
			len > 8 ? "that key" : what);
		vg_db_result_free(r);
		return -1;
	}
	if (n > 1) {
		fprintf(stderr, "vingestctl: %lld keys have the prefix %s; revoke by id:", n, what);
		for (size_t i = 0; i < r->nrows; i++)
			fprintf(stderr, " %s", vg_db_cell(r, i, 0));
		fprintf(stderr, "\n");
		vg_db_result_free(r);
		return -1;
	}
	return 0;
}

int keys_revoke(struct vg_shards *sh, const char *what)
{
	struct vg_db_result r;
	struct vg_db *db = NULL;
	struct spread sp;
	char at[40], id_s[24], doing[80], cmd[120];
	long long id;
	int found = -2;

	/* Any shard can name the key: they all hold the same rows. */
	for (unsigned k = 0; k < sh->n && found == -2; k++) {
		db = vg_shards_db(sh, k);
		found = key_find(db, what, &r, sh->n > 1);
	}
	if (found < 0)
		return -1;
	id = strtoll(vg_db_cell(&r, 0, 0), NULL, 10);
	at[0] = '\0';
	if (vg_db_cell(&r, 0, 1))
		snprintf(at, sizeof(at), "%s", vg_db_cell(&r, 0, 1));
	vg_db_result_free(&r);
	if (!at[0] && server_now(db, at, sizeof(at)) < 0)
		return -1;
	snprintf(id_s, sizeof(id_s), "%lld", id);
	snprintf(doing, sizeof(doing), "revoke key %lld", id);
	snprintf(cmd, sizeof(cmd), "vingestctl key revoke %lld", id);
	{
		struct vg_db_param p[] = {vg_p_str(at), vg_p_i64(id)};

		update_everywhere(sh, revoke_sql, p, VG_DB_NPARAMS(p), doing, &sp);
	}
	if (sp.changed && sp.failed)
		fprintf(stderr, "key %lld revoked on the shards that answered\n", id);
	else if (sp.changed)
		fprintf(stderr, "key %lld revoked: it is refused from now on\n", id);
	else if (!sp.failed)
		fprintf(stderr, "key %lld was already revoked at %s\n", id, at);
	tell_failed(sh, &sp, cmd);
	return sp.failed ? -1 : 0;
}
