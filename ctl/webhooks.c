/*
 * webhooks.c - vingestctl webhook (see webhooks.h).
 *
 * The endpoint row is the same on every shard (each video's shard must see
 * it in the transaction that writes the event), so set, rotate and delete
 * write every shard; a shard that fails is named and the command can simply
 * be run again: the write is idempotent. The values are decided once, from
 * shard 0's row, and copied.
 */
#include "webhooks.h"
#include "output.h"
#include "vg_db.h"
#include "vg_shards.h"
#include "vg_time.h"
#include "vg_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char user_sql[] = "SELECT id FROM users WHERE name = ?";

/* The user's id from shard 0, or -1 (printed). */
static long long user_id(struct vg_shards *sh, const char *name)
{
	struct vg_db *db = vg_shards_db(sh, 0);
	struct vg_db_param p[] = {vg_p_str(name)};
	struct vg_db_result r;
	long long n = vg_db_query(db, user_sql, p, VG_DB_NPARAMS(p), &r), id = -1;

	if (n < 0)
		fprintf(stderr, "vingestctl: %s\n", vg_db_error(db));
	else if (n == 0)
		fprintf(stderr, "vingestctl: no user %s\n", name);
	else
		id = strtoll(vg_db_cell(&r, 0, 0), NULL, 10);
	vg_db_result_free(&r);
	return id;
}

static int put(struct vg_shards *sh, const struct vg_webhook_endpoint *e, const char *cmd)
{
	unsigned failed = vg_webhook_endpoint_put_all(sh, e);

	if (failed)
		fprintf(stderr,
			"vingestctl: written on %u of %u shards; run '%s' again when the "
			"others answer\n",
			sh->n - failed, sh->n, cmd);
	return failed ? -1 : 0;
}

static int set(struct vg_shards *sh, const char *name, const char *url)
{
	struct vg_webhook_endpoint e;
	char why[200], now[32];
	long long id;
	int found;

	if (vg_webhook_url_check(url, why, sizeof(why)) < 0) {
		fprintf(stderr, "vingestctl: %s\n", why);
		return -1;
	}
	if ((id = user_id(sh, name)) < 0)
		return -1;
	found = vg_webhook_endpoint_read(vg_shards_db(sh, 0), id, &e);
	if (found < 0) {
		fprintf(stderr, "vingestctl: %s\n", vg_db_error(vg_shards_db(sh, 0)));
		return -1;
	}
	vg_time_sql(vg_now_us(), now, sizeof(now));
	snprintf(e.url, sizeof(e.url), "%s", url);
	snprintf(e.updated_at, sizeof(e.updated_at), "%s", now);
	if (!found) {
		if (vg_webhook_new_secret(e.secret) < 0) {
			fprintf(stderr, "vingestctl: no random bytes for a secret\n");
			return -1;
		}
		snprintf(e.created_at, sizeof(e.created_at), "%s", now);
	}
	if (put(sh, &e, "webhook set") < 0)
		return -1;
	if (!found)
		printf("%s\n", e.secret);
	fprintf(stderr, "webhook of %s %s: %s%s\n", name, found ? "changed" : "set", url,
		found ? " (secret unchanged)" : "; its secret is above, shown once");
	return 0;
}

static int show(struct vg_shards *sh, const char *name)
{
	struct vg_webhook_endpoint e;
	char masked[32];
	long long id = user_id(sh, name);
	int found;

	if (id < 0)
		return -1;
	found = vg_webhook_endpoint_read(vg_shards_db(sh, 0), id, &e);
	if (found < 0) {
		fprintf(stderr, "vingestctl: %s\n", vg_db_error(vg_shards_db(sh, 0)));
		return -1;
	}
	if (!found) {
		fprintf(stderr, "vingestctl: %s has no webhook\n", name);
		return -1;
	}
	vg_webhook_mask(e.secret, masked, sizeof(masked));
	printf("url\t%s\nsecret\t%s\ncreated_at\t%s\nupdated_at\t%s\nrotated_at\t%s\n", e.url,
	       masked, e.created_at, e.updated_at, e.rotated_at[0] ? e.rotated_at : "-");
	return 0;
}

static int rotate(struct vg_shards *sh, const char *name)
{
	struct vg_webhook_endpoint e;
	long long id = user_id(sh, name);
	int found;

	if (id < 0)
		return -1;
	found = vg_webhook_endpoint_read(vg_shards_db(sh, 0), id, &e);
	if (found <= 0) {
		fprintf(stderr, "vingestctl: %s\n",
			found < 0 ? vg_db_error(vg_shards_db(sh, 0)) : "the user has no webhook");
		return -1;
	}
	memcpy(e.previous, e.secret, sizeof(e.previous));
	if (vg_webhook_new_secret(e.secret) < 0) {
		fprintf(stderr, "vingestctl: no random bytes for a secret\n");
		return -1;
	}
	vg_time_sql(vg_now_us(), e.rotated_at, sizeof(e.rotated_at));
	memcpy(e.updated_at, e.rotated_at, sizeof(e.updated_at));
	if (put(sh, &e, "webhook rotate") < 0)
		return -1;
	printf("%s\n", e.secret);
	fprintf(stderr, "webhook secret of %s rotated; the new one is above, shown once\n", name);
	return 0;
}

static int delete (struct vg_shards *sh, const char *name)
{
	long long id = user_id(sh, name);
	unsigned failed;

	if (id < 0)
		return -1;
	failed = vg_webhook_endpoint_delete_all(sh, id);
	if (failed) {
		fprintf(stderr, "vingestctl: deleted on %u of %u shards; run it again\n",
			sh->n - failed, sh->n);
		return -1;
	}
	fprintf(stderr, "webhook of %s deleted\n", name);
	return 0;
}

#define DELIVERIES_COLS                                                                            \
	"SELECT event_id, event_type, video_id, user_name, state, attempts, last_status, "         \
	"last_error, created_at, next_attempt_at, delivered_at FROM v_webhook_deliveries "
static const char all_sql[] = DELIVERIES_COLS "LIMIT 1000";
static const char pending_sql[] = DELIVERIES_COLS "WHERE state = 'pending' LIMIT 1000";
static const char delivered_sql[] = DELIVERIES_COLS "WHERE state = 'delivered' LIMIT 1000";
static const char dead_sql[] = DELIVERIES_COLS "WHERE state = 'dead' LIMIT 1000";

static int deliveries(struct vg_shards *sh, const char *state, int json)
{
	static const char *const names[] = {"event_id",	    "type",
					    "video_id",	    "user",
					    "state",	    "attempts",
					    "last_status",  "last_error",
					    "created_at",   "next_attempt_at",
					    "delivered_at", NULL};
	static const char *const numeric[] = {"attempts", "last_status", NULL};
	const char *sql = all_sql;

	if (state && strcmp(state, "pending") == 0)
		sql = pending_sql;
	else if (state && strcmp(state, "delivered") == 0)
		sql = delivered_sql;
	else if (state && strcmp(state, "dead") == 0)
		sql = dead_sql;
	else if (state) {
		fprintf(stderr, "vingestctl: --state is one of pending, delivered, dead\n");
		return 2;
	}
	return output_list_shards(sh, sql, names, numeric, json);
}

/* Pending again, due now, its attempts from 0; the event id stays. A row a
 * worker is delivering right now (pending, claimed) is left alone. */
static const char replay_one_sql[] =
	"UPDATE webhook_outbox SET state = 'pending', attempts = 0, "
	"next_attempt_at = UTC_TIMESTAMP(6), claim_token = NULL, delivered_at = NULL, "
	"last_error = NULL WHERE event_id = ? AND (state <> 'pending' OR claim_token IS NULL)";
static const char replay_dead_sql[] =
	"UPDATE webhook_outbox SET state = 'pending', attempts = 0, "
	"next_attempt_at = UTC_TIMESTAMP(6), claim_token = NULL, last_error = NULL "
	"WHERE state = 'dead'";

static int replay(struct vg_shards *sh, const char *what)
{
	int dead = strcmp(what, "--dead") == 0;
	struct vg_db_param p[] = {vg_p_str(what)};
	long long total = 0;
	int rc = 0;
	char name[400];

	for (unsigned k = 0; k < sh->n; k++) {
		struct vg_db *db = vg_shards_db(sh, k);
		long long n = dead ? vg_db_exec(db, replay_dead_sql, NULL, 0)
				   : vg_db_exec(db, replay_one_sql, p, VG_DB_NPARAMS(p));

		if (n < 0) {
			fprintf(stderr, "vingestctl: %s: %s\n",
				output_shard_name(db, name, sizeof(name)), vg_db_error(db));
			rc = -1;
			continue;
		}
		total += n;
	}
	if (!dead && total == 0 && rc == 0) {
		fprintf(stderr, "vingestctl: no event %s (or it is being delivered now)\n", what);
		return -1;
	}
	fprintf(stderr, "%lld event%s to be delivered again\n", total, total == 1 ? "" : "s");
	return rc;
}

int webhooks_command(struct vg_shards *sh, int argc, char **argv, int json)
{
	const char *sub = argc > 0 ? argv[0] : "";

	if (strcmp(sub, "set") == 0 && argc == 3)
		return set(sh, argv[1], argv[2]);
	if (strcmp(sub, "show") == 0 && argc == 2)
		return show(sh, argv[1]);
	if (strcmp(sub, "rotate") == 0 && argc == 2)
		return rotate(sh, argv[1]);
	if (strcmp(sub, "delete") == 0 && argc == 2)
		return delete (sh, argv[1]);
	if (strcmp(sub, "deliveries") == 0 && argc == 1)
		return deliveries(sh, NULL, json);
	if (strcmp(sub, "deliveries") == 0 && argc == 3 && strcmp(argv[1], "--state") == 0)
		return deliveries(sh, argv[2], json);
	if (strcmp(sub, "replay") == 0 && argc == 2)
		return replay(sh, argv[1]);
	fprintf(stderr, "usage: vingestctl webhook set USER URL | show USER | rotate USER | "
			"delete USER | deliveries [--state pending|delivered|dead] | "
			"replay EVENT_ID|--dead\n");
	return 2;
}
