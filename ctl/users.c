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
 */
#include "users.h"
#include "output.h"
#include "vg_db.h"
#include "vg_hash.h"
#include "vg_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char add_sql[] = "INSERT INTO users (name, created_at) VALUES (?, UTC_TIMESTAMP(6))";
static const char find_sql[] = "SELECT id FROM users WHERE name = ? AND disabled_at IS NULL";
static const char key_sql[] =
	"INSERT INTO api_keys (user_id, key_prefix, key_hash, created_at) "
	"VALUES (?, ?, ?, UTC_TIMESTAMP(6))";

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

int users_add(struct vg_db *db, const char *name)
{
	struct vg_db_param p[] = {vg_p_str(name)};

	if (!valid_name(name)) {
		fprintf(stderr, "vingestctl: user name must be 1-64 of A-Z a-z 0-9 _ - . @\n");
		return -1;
	}
	if (vg_db_exec(db, add_sql, p, VG_DB_NPARAMS(p)) != 1) {
		if (db->last_errno == VG_DB_ER_DUP_ENTRY)
			fprintf(stderr, "vingestctl: user %s already exists\n", name);
		else
			fprintf(stderr, "vingestctl: cannot add user %s: %s\n", name, db->last_error);
		return -1;
	}
	fprintf(stderr, "user %s added\n", name);
	return 0;
}

int users_key_create(struct vg_db *db, const char *name)
{
	struct vg_db_param fp[] = {vg_p_str(name)};
	struct vg_db_result res;
	unsigned char raw[32];
	char key[4 + 2 * sizeof(raw) + 1], hash[VG_SHA256_HEX], prefix[9];
	long long n;

	n = vg_db_query(db, find_sql, fp, VG_DB_NPARAMS(fp), &res);
	if (n < 0) {
		fprintf(stderr, "vingestctl: cannot look up user %s: %s\n", name, db->last_error);
		return -1;
	}
	if (n == 0) {
		fprintf(stderr, "vingestctl: no active user named %s (add it with: vingestctl user add %s)\n",
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
	{
		struct vg_db_param p[] = {vg_p_str(vg_db_cell(&res, 0, 0)), vg_p_str(prefix),
					  vg_p_str(hash)};

		n = vg_db_exec(db, key_sql, p, VG_DB_NPARAMS(p));
	}
	vg_db_result_free(&res);
	if (n != 1) {
		fprintf(stderr, "vingestctl: cannot store the key: %s\n", db->last_error);
		return -1;
	}
	printf("%s\n", key);
	fflush(stdout);
	return 0;
}

static const char disable_sql[] =
	"UPDATE users SET disabled_at = UTC_TIMESTAMP(6) WHERE name = ? AND disabled_at IS NULL";
static const char enable_sql[] =
	"UPDATE users SET disabled_at = NULL WHERE name = ? AND disabled_at IS NOT NULL";
static const char exists_sql[] = "SELECT id FROM users WHERE name = ?";
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
		fprintf(stderr, "vingestctl: cannot look up user %s: %s\n", name, db->last_error);
		return -1;
	}
	vg_db_result_free(&r);
	return n > 0;
}

int users_set_disabled(struct vg_db *db, const char *name, int disabled)
{
	struct vg_db_param p[] = {vg_p_str(name)};
	long long n = vg_db_exec(db, disabled ? disable_sql : enable_sql, p, VG_DB_NPARAMS(p));
	int exists;

	if (n < 0) {
		fprintf(stderr, "vingestctl: cannot %s user %s: %s\n", disabled ? "disable" : "enable",
			name, db->last_error);
		return -1;
	}
	if (n == 1) {
		fprintf(stderr, "user %s %s\n", name,
			disabled ? "disabled: its keys are refused from now on" : "enabled");
		return 0;
	}
	exists = user_exists(db, name);
	if (exists < 0)
		return -1;
	if (!exists) {
		fprintf(stderr, "vingestctl: no user named %s\n", name);
		return -1;
	}
	/* Repeating a command that already took effect is not an error. */
	fprintf(stderr, "user %s was already %s\n", name, disabled ? "disabled" : "enabled");
	return 0;
}

int users_list(struct vg_db *db, int json)
{
	static const char *const names[] = {"id", "name", "created_at", "disabled_at",
					    "active_keys"};
	static const char *const numeric[] = {"id", "active_keys", NULL};

	return output_list(db, users_sql, NULL, 0, names, numeric, json);
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
static const char revoke_sql[] =
	"UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(6) WHERE id = ? AND revoked_at IS NULL";

int keys_list(struct vg_db *db, const char *user, int json)
{
	static const char *const names[] = {"id", "prefix", "user", "created_at", "revoked_at",
					    "active"};
	static const char *const numeric[] = {"id", "active", NULL};
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
 * carry 16 random bits and can collide). Fills *r with (id, revoked_at).
 */
static int key_find(struct vg_db *db, const char *what, struct vg_db_result *r)
{
	char hash[VG_SHA256_HEX];
	long long n;
	size_t len = strlen(what);

	if (all_digits(what)) {
		struct vg_db_param p[] = {vg_p_i64(strtoll(what, NULL, 10))};

		n = vg_db_query(db, key_by_id_sql, p, VG_DB_NPARAMS(p), r);
	} else if (len == 8) {
		struct vg_db_param p[] = {vg_p_str(what)};

		n = vg_db_query(db, key_by_prefix_sql, p, VG_DB_NPARAMS(p), r);
	} else if (len > 8 && strncmp(what, "vgk_", 4) == 0) {
		struct vg_db_param p[1];

		vg_sha256_hex(what, len, hash);
		p[0] = vg_p_str(hash);
		n = vg_db_query(db, key_by_hash_sql, p, VG_DB_NPARAMS(p), r);
	} else {
		fprintf(stderr, "vingestctl: '%s' is neither a key id, an 8-character key prefix "
				"nor a key\n", what);
		return -1;
	}
	if (n < 0) {
		fprintf(stderr, "vingestctl: cannot look up the key: %s\n", db->last_error);
		return -1;
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

int keys_revoke(struct vg_db *db, const char *what)
{
	struct vg_db_result r;
	long long id, n;

	if (key_find(db, what, &r) < 0)
		return -1;
	id = strtoll(vg_db_cell(&r, 0, 0), NULL, 10);
	if (vg_db_cell(&r, 0, 1)) {
		fprintf(stderr, "key %lld was already revoked at %s\n", id, vg_db_cell(&r, 0, 1));
		vg_db_result_free(&r);
		return 0;
	}
	vg_db_result_free(&r);
	{
		struct vg_db_param p[] = {vg_p_i64(id)};

		n = vg_db_exec(db, revoke_sql, p, VG_DB_NPARAMS(p));
	}
	if (n < 0) {
		fprintf(stderr, "vingestctl: cannot revoke key %lld: %s\n", id, db->last_error);
		return -1;
	}
	fprintf(stderr, "key %lld revoked: it is refused from now on\n", id);
	return 0;
}
