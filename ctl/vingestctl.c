/*
 * vingestctl.c - the administrator's command line.
 *
 *   vingestctl [-c FILE] migrate
 *   vingestctl [-c FILE] user add|disable|enable NAME
 *   vingestctl [-c FILE] [--json] user list
 *   vingestctl [-c FILE] key create NAME
 *   vingestctl [-c FILE] key revoke ID|PREFIX|KEY
 *   vingestctl [-c FILE] [--json] key list [NAME]
 *   vingestctl [-c FILE] [--json] stats
 *   vingestctl [-c FILE] config check
 *   vingestctl [-c FILE] [--json] jobs | jobs dead | jobs retry ID|--all-dead
 *   vingestctl [-c FILE] jobs explain [--analyze]
 *   vingestctl [-c FILE] [--json] workers
 *   vingestctl [-c FILE] retention [--dry-run]
 *   vingestctl [-c FILE] [--json] webhook set|show|rotate|delete|deliveries|replay ...
 *
 * Output meant for scripts goes to stdout (a new key, alone on its line);
 * progress and errors go to stderr. Exit status 0 on success, 1 on failure,
 * 2 on a usage error.
 *
 * With [db] shards listing several servers every command works on all of
 * them (vg_shards.h): migrate each, users and keys copied to each, counts
 * summed, lists put together with a shard column; a command on one video
 * or job goes to the shard its id names. A shard that fails is named and
 * the others are still done; the exit status is then 1.
 */
#include "jobs.h"
#include "store.h"
#include "migrate.h"
#include "output.h"
#include "stats.h"
#include "users.h"
#include "webhooks.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_retention.h"
#include "vg_shards.h"
#include "vg_store.h"

#include <stdio.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vingestctl [-c FILE] COMMAND\n"
		"commands:\n"
		"  migrate            apply pending schema migrations\n"
		"  user add NAME      create a user\n"
		"  user disable NAME  refuse every key of NAME from now on (enable: undo)\n"
		"  user list          users, with their number of valid keys\n"
		"  key create NAME    create an API key for NAME; prints it once\n"
		"  key revoke ID      revoke a key by id, 8-character prefix or the key itself\n"
		"  key list [NAME]    keys (id, prefix, user, dates; never the key)\n"
		"  stats              videos by status, jobs by state, bytes stored, uploads\n"
		"  config check       check the configuration file\n"
		"  jobs               jobs by state, oldest ready job's age\n"
		"  jobs dead          dead jobs and why they died\n"
		"  jobs retry ID      requeue a dead job (--all-dead: every one)\n"
		"  jobs explain       the claim query's plan (--analyze: run it, count rows read)\n"
		"  workers            the worker fleet (supervisors and workers)\n"
		"  retention          delete videos past retention.days now (--dry-run: list them)\n"
		"  store check|ls     the object store works / every object and its size\n"
		"  store stat|get|rm|url KEY, store put KEY FILE\n"
		"                     one object, whatever the backend (fs, s3, db)\n"
		"  webhook set USER URL   a user's webhook endpoint; prints a new secret once\n"
		"  webhook show|rotate|delete USER\n"
		"                     the endpoint (secret masked) / a new secret / remove it\n"
		"  webhook deliveries [--state pending|delivered|dead]\n"
		"                     webhook events and their delivery\n"
		"  webhook replay EVENT_ID|--dead\n"
		"                     deliver an event (every dead one) again, same event id\n"
		"  --json             listings as JSON, for scripts\n"
		"With several [db] shards every command covers all of them (see vingestctl(8)).\n"
		"  -c FILE            configuration (default: $VINGEST_CONFIG or %s)\n",
		vg_config_default_path());
}

/* `retention [--dry-run]`: the janitor's sweep on one shard, now, until
 * nothing is due. label ("" or "shard K (SERVER): ") starts its lines. */
static int retention_shard(struct vg_db *db, const struct vg_config *cfg, int dry_run,
			   const char *label)
{
	struct vg_store store;
	struct vg_cache cache;
	int n, total = 0;

	if (vg_store_open(&store, cfg, db) < 0) {
		fprintf(stderr, "vingestctl: the store %s is not usable here\n",
			cfg->store.fs_root);
		return -1;
	}
	vg_cache_open(&cache, cfg);
	do {
		n = vg_retention_pass(db, &store, &cache, 1000, dry_run, stdout);
		if (n > 0)
			total += n;
	} while (n == 1000 && !dry_run);
	vg_cache_close(&cache);
	vg_store_close(&store);
	if (n < 0) {
		fprintf(stderr, "vingestctl: %sretention failed: %s\n", label, vg_db_error(db));
		return -1;
	}
	fprintf(stderr, "%s%s %d video%s past retention\n", label,
		dry_run ? "would delete" : "deleted", total, total == 1 ? "" : "s");
	return 0;
}

/* Each shard deletes its own videos (their rows are there; with the db
 * store their bytes too). */
static int retention_run(struct vg_shards *sh, const struct vg_config *cfg, int dry_run)
{
	char label[400];
	int rc = 0;

	for (unsigned k = 0; k < sh->n; k++) {
		label[0] = '\0';
		if (sh->n > 1) {
			output_shard_name(vg_shards_db(sh, k), label, sizeof(label) - 2);
			strcat(label, ": ");
		}
		if (retention_shard(vg_shards_db(sh, k), cfg, dry_run, label) < 0)
			rc = -1;
	}
	return rc;
}

/* After a failed command on one database: say if it could not be reached.
 * (With several shards the commands name each shard that failed.) */
static void tell_unreachable(struct vg_shards *sh)
{
	struct vg_db *db = vg_shards_db(sh, 0);

	if (sh->n == 1 && !vg_db_connected(db) && vg_db_errno(db))
		fprintf(stderr, "vingestctl: database unreachable: %s\n", vg_db_error(db));
}

static int is_cmd(int argc, char **argv, int i, const char *a, const char *b, int nargs)
{
	if (i >= argc || strcmp(argv[i], a) != 0)
		return 0;
	if (b && (i + 1 >= argc || strcmp(argv[i + 1], b) != 0))
		return 0;
	return argc - i - (b ? 2 : 1) == nargs;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	struct vg_config cfg;
	static struct vg_shards shards; /* 64 connections' worth: not on the stack */
	struct vg_shards *sh = &shards;
	char err[512];
	int opt, rc, json = 0;
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};

	while ((opt = getopt_long(argc, argv, "+c:hj", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = 1;
			break;
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!path)
		path = vg_config_default_path();
	vg_log_init("vingestctl", VG_LOG_WARN);
	if (vg_config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vingestctl: configuration refused: %s\n", err);
		return 1;
	}
	vg_shards_init(sh, &cfg);

	if (is_cmd(argc, argv, optind, "config", "check", 0)) {
		fprintf(stderr, "configuration %s is valid\n", path);
		rc = 0;
	} else if (is_cmd(argc, argv, optind, "migrate", NULL, 0)) {
		rc = migrate_run(sh);
	} else if (is_cmd(argc, argv, optind, "user", "add", 1)) {
		rc = users_add(sh, argv[optind + 2]);
	} else if (is_cmd(argc, argv, optind, "user", "disable", 1)) {
		rc = users_set_disabled(sh, argv[optind + 2], 1);
	} else if (is_cmd(argc, argv, optind, "user", "enable", 1)) {
		rc = users_set_disabled(sh, argv[optind + 2], 0);
	} else if (is_cmd(argc, argv, optind, "user", "list", 0)) {
		rc = users_list(sh, json);
	} else if (is_cmd(argc, argv, optind, "key", "create", 1)) {
		rc = users_key_create(sh, argv[optind + 2]);
	} else if (is_cmd(argc, argv, optind, "key", "revoke", 1)) {
		rc = keys_revoke(sh, argv[optind + 2]);
	} else if (is_cmd(argc, argv, optind, "key", "list", 0)) {
		rc = keys_list(sh, NULL, json);
	} else if (is_cmd(argc, argv, optind, "key", "list", 1)) {
		rc = keys_list(sh, argv[optind + 2], json);
	} else if (is_cmd(argc, argv, optind, "stats", NULL, 0)) {
		rc = stats_run(sh, json);
	} else if (is_cmd(argc, argv, optind, "jobs", NULL, 0)) {
		rc = jobs_summary(sh, json);
	} else if (is_cmd(argc, argv, optind, "jobs", "dead", 0)) {
		rc = jobs_dead(sh, json);
	} else if (is_cmd(argc, argv, optind, "jobs", "retry", 1)) {
		rc = jobs_retry(sh, &cfg, argv[optind + 2]);
	} else if (is_cmd(argc, argv, optind, "jobs", "explain", 0)) {
		rc = jobs_explain(sh, &cfg, 0);
	} else if (is_cmd(argc, argv, optind, "jobs", "explain", 1) &&
		   strcmp(argv[optind + 2], "--analyze") == 0) {
		rc = jobs_explain(sh, &cfg, 1);
	} else if (is_cmd(argc, argv, optind, "retention", NULL, 0)) {
		rc = retention_run(sh, &cfg, 0);
	} else if (is_cmd(argc, argv, optind, "retention", "--dry-run", 0)) {
		rc = retention_run(sh, &cfg, 1);
	} else if (is_cmd(argc, argv, optind, "workers", NULL, 0)) {
		rc = jobs_workers(sh, json);
	} else if (optind < argc && strcmp(argv[optind], "webhook") == 0) {
		rc = webhooks_command(sh, argc - optind - 1, argv + optind + 1, json);
		if (rc == 2)
			goto out;
	} else if (optind < argc && strcmp(argv[optind], "store") == 0) {
		rc = store_command(sh, &cfg, argc - optind - 1, argv + optind + 1, json);
		goto out;
	} else {
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (rc < 0)
		tell_unreachable(sh);
	rc = rc < 0 ? 1 : 0;
out:
	vg_shards_close(sh);
	vg_config_free(&cfg);
	return rc;
}
