/*
 * users.c - users and API keys from the command line (see users.h).
 *
 * A key is "vgk_" and 64 hex digits: 256 bits from getrandom(2), with a
 * prefix that secret scanners and humans recognise. It is shown once; the
 * database keeps its SHA-256 and its first 8 characters (for listings).
 */
#include "users.h"
#include "vg_db.h"
#include "vg_hash.h"
#include "vg_id.h"

#include <stdio.h>
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
