/*
 * store.c - `vingestctl store ...` (see store.h).
 *
 * Operators use it to check a store and to look for a video's bytes without
 * knowing whether they are files, S3 objects or chunk rows; the integration
 * tests use it for the same reason, so one test suite covers every backend.
 * Keys are checked to be keys vingest makes (videos/XY/ZW/<id>), so `put` and
 * `rm` cannot touch anything else in a bucket or directory.
 *
 * The db backend keeps a video's bytes in the object_chunks of the video's
 * shard, which its id names (vg_id_shard): a command on one key opens the
 * store on that shard; check and ls visit every shard. The fs and s3
 * backends do not depend on the shard.
 */
#include "store.h"
#include "output.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_id.h"
#include "vg_shards.h"
#include "vg_store.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_key(const char *key)
{
	const char *id = strrchr(key, '/');
	char want[VG_STORE_KEY_MAX];

	if (!id || !vg_id_valid(id + 1))
		return 0;
	vg_store_key(id + 1, want);
	return strcmp(want, key) == 0;
}

struct listing {
	int json;
	long long n, bytes;
	struct json_object *arr;
};

static int print_one(void *arg, const char *key, long long size)
{
	struct listing *l = arg;

	l->n++;
	l->bytes += size;
	if (l->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "key", json_object_new_string(key));
		json_object_object_add(o, "size", json_object_new_int64(size));
		json_object_array_add(l->arr, o);
	} else {
		printf("%s\t%lld\n", key, size);
	}
	return 0;
}

static int to_file(void *arg, const void *buf, size_t n)
{
	return fwrite(buf, 1, n, arg) == n ? 0 : -1;
}

/* The shard whose database holds key's bytes (db backend), or NULL when
 * [db] shards has no such shard (printed). */
static struct vg_db *key_db(struct vg_shards *sh, const char *key)
{
	const char *id = strrchr(key, '/') + 1;
	int k = vg_shards_of_id(sh, id);

	if (k < 0) {
		fprintf(stderr,
			"vingestctl: %s belongs to shard %u, which [db] shards does not "
			"list (%u shards)\n",
			key, vg_id_shard(id), sh->n);
		return NULL;
	}
	return vg_shards_db(sh, (unsigned)k);
}

/* check or ls on the store opened on db; 0 or 1. */
static int check_or_list(struct vg_db *db, const struct vg_config *cfg, const char *sub,
			 struct listing *l, const char *label)
{
	struct vg_store s;
	int rc;

	if (vg_store_open(&s, cfg, db) < 0) {
		fprintf(stderr, "vingestctl: %sthe %s store cannot be opened (see the log above)\n",
			label, cfg->store.backend);
		return 1;
	}
	if (strcmp(sub, "check") == 0) {
		rc = vg_store_check(&s) == 0 ? 0 : 1;
		fprintf(stderr, "%sstore (%s): %s\n", label, vg_store_backend_name(&s),
			rc ? "NOT usable" : "ok");
	} else {
		rc = vg_store_list(&s, print_one, l) == 0 ? 0 : 1;
		if (rc)
			fprintf(stderr, "vingestctl: %scannot list the store\n", label);
	}
	vg_store_close(&s);
	return rc;
}

int store_command(struct vg_shards *sh, const struct vg_config *cfg, int argc, char **argv,
		  int json)
{
	struct vg_store s;
	struct vg_db *db = vg_shards_db(sh, 0);
	const char *sub = argc > 0 ? argv[0] : "";
	const char *key = argc > 1 ? argv[1] : NULL;
	int rc = 1;

	if (!((strcmp(sub, "check") == 0 && argc == 1) || (strcmp(sub, "ls") == 0 && argc == 1) ||
	      (strcmp(sub, "stat") == 0 && argc == 2) ||
	      (strcmp(sub, "get") == 0 && (argc == 2 || argc == 3)) ||
	      (strcmp(sub, "put") == 0 && argc == 3) || (strcmp(sub, "rm") == 0 && argc == 2) ||
	      (strcmp(sub, "url") == 0 && argc == 2))) {
		fprintf(stderr, "usage: vingestctl store check | ls | stat KEY | get KEY [FILE] | "
				"put KEY FILE | rm KEY | url KEY\n");
		return 2;
	}
	if (key && !valid_key(key)) {
		fprintf(stderr, "vingestctl: '%s' is not an object key (videos/XY/ZW/<id>)\n", key);
		return 2;
	}
	if (strcmp(sub, "url") == 0) {
		char *url = vg_store_object_url(cfg, key);

		if (!url) {
			fprintf(stderr,
				"vingestctl: no URL can be made (store.url_secret is empty?)\n");
			return 1;
		}
		printf("%s\n", url);
		free(url);
		return 0;
	}
	if (strcmp(sub, "check") == 0 || strcmp(sub, "ls") == 0) {
		/* Only the db backend keeps something per shard. */
		unsigned n = strcmp(cfg->store.backend, "db") == 0 ? sh->n : 1;
		struct listing l = {json, 0, 0, json ? json_object_new_array() : NULL};
		char label[400];

		rc = 0;
		for (unsigned k = 0; k < n; k++) {
			label[0] = '\0';
			if (n > 1) {
				output_shard_name(vg_shards_db(sh, k), label, sizeof(label) - 2);
				strcat(label, ": ");
			}
			if (check_or_list(vg_shards_db(sh, k), cfg, sub, &l, label) != 0)
				rc = 1;
		}
		if (strcmp(sub, "ls") == 0) {
			if (json)
				printf("%s\n",
				       json_object_to_json_string_ext(l.arr,
								      JSON_C_TO_STRING_PRETTY));
			fprintf(stderr, "%lld object%s, %lld bytes\n", l.n, l.n == 1 ? "" : "s",
				l.bytes);
		}
		json_object_put(l.arr);
		return rc;
	}
	/* only the db backend keeps bytes in a shard; fs and s3 need none */
	db = strcmp(cfg->store.backend, "db") == 0 ? key_db(sh, key) : vg_shards_db(sh, 0);
	if (!db)
		return 1;
	if (vg_store_open(&s, cfg, db) < 0) {
		fprintf(stderr, "vingestctl: the %s store cannot be opened (see the log above)\n",
			cfg->store.backend);
		return 1;
	}
	if (strcmp(sub, "stat") == 0) {
		long long size = 0;
		enum vg_store_status st = vg_store_stat(&s, key, &size);

		if (st == VG_STORE_OK) {
			if (json)
				printf("{\"key\": \"%s\", \"size\": %lld}\n", key, size);
			else
				printf("%lld\n", size);
			rc = 0;
		} else {
			fprintf(stderr, "vingestctl: %s: %s\n", key,
				st == VG_STORE_MISSING ? "no such object" : "the store failed");
		}
	} else if (strcmp(sub, "get") == 0) {
		long long size = 0;
		FILE *out = argc == 3 ? fopen(argv[2], "wb") : stdout;
		enum vg_store_status st = VG_STORE_ERR;

		if (!out)
			fprintf(stderr, "vingestctl: %s: %s\n", argv[2], strerror(errno));
		else if ((st = vg_store_stat(&s, key, &size)) == VG_STORE_OK)
			st = size > 0 ? vg_store_read(&s, key, 0, size - 1, to_file, out)
				      : VG_STORE_OK;
		if (out && out != stdout && fclose(out) != 0)
			st = VG_STORE_ERR;
		if (out && st != VG_STORE_OK)
			fprintf(stderr, "vingestctl: %s: %s\n", key,
				st == VG_STORE_MISSING ? "no such object" : "the read failed");
		rc = st == VG_STORE_OK ? 0 : 1;
	} else if (strcmp(sub, "put") == 0) {
		rc = vg_store_put_file(&s, argv[2], key) == VG_STORE_OK ? 0 : 1;
	} else if (strcmp(sub, "rm") == 0) {
		rc = vg_store_remove(&s, key) == VG_STORE_OK ? 0 : 1;
	}
	vg_store_close(&s);
	return rc;
}
