/*
 * vg_config.c - INI file + environment configuration (see vg_config.h).
 *
 * One table names every key: section, key, type, where it lives in struct
 * vg_config, its default and its range. Defaults go through the same setter
 * as file and environment values, so a default can never be a value the
 * parser would refuse.
 */
#include "vg_config.h"
#include "vg_shards.h"
#include "vg_addr.h"
#include "vg_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef VG_SYSCONFDIR
#define VG_SYSCONFDIR "/etc"
#endif

enum key_type { KEY_STR, KEY_INT };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	const char *def;
	long long min, max; /* KEY_INT range, inclusive */
};

#define STR(sec, field, def)                                                                       \
	{                                                                                          \
#sec, #field, KEY_STR, offsetof(struct vg_config, sec.field), def, 0, 0            \
	}
#define INT(sec, field, def, lo, hi)                                                               \
	{                                                                                          \
#sec, #field, KEY_INT, offsetof(struct vg_config, sec.field), #def, lo, hi         \
	}

static const struct key keys[] = {
	STR(http, listen, "unix:/run/vingest/fcgi.sock"),
	INT(http, processes, 16, 1, 1024),
	INT(http, max_requests, 10000, 0, 1000000000),
	INT(http, backlog, 256, 1, 65535),
	INT(http, drain_seconds, 30, 1, 3600),
	STR(http, allowed_origins, ""),
	STR(http, public_url, "http://127.0.0.1:8080"),
	STR(http, cors_origins, ""),
	STR(http, metrics_allow, "127.0.0.1,::1"),
	STR(http, readyz_allow, "127.0.0.1,::1"),
	STR(http, listen_allow, "127.0.0.0/8,::1"),
	INT(http, body_min_rate, 16384, 0, 1073741824),
	INT(http, body_grace_seconds, 20, 1, 3600),
	INT(http, readyz_cache_ms, 1000, 0, 60000),
	STR(db, host, "localhost"),
	INT(db, port, 3306, 1, 65535),
	STR(db, socket, ""),
	STR(db, user, "vingest"),
	STR(db, password, ""),
	STR(db, name, "vingest"),
	INT(db, connect_timeout_seconds, 5, 1, 300),
	STR(db, shards, ""),
	STR(store, backend, "fs"),
	STR(store, fs_root, "/var/lib/vingest/store"),
	STR(store, s3_endpoint, ""),
	STR(store, s3_region, "us-east-1"),
	STR(store, s3_bucket, ""),
	STR(store, s3_access_key, ""),
	STR(store, s3_secret_key, ""),
	INT(store, s3_path_style, 1, 0, 1),
	INT(store, s3_multipart_bytes, 67108864, 5242880, 5497558138880LL),
	INT(store, s3_part_bytes, 16777216, 5242880, 5368709120LL),
	INT(store, s3_retries, 4, 0, 20),
	INT(store, db_chunk_bytes, 1048576, 65536, 8388608),
	STR(store, url_secret, ""),
	INT(store, url_ttl_seconds, 900, 60, 604800),
	INT(store, min_free_bytes, 268435456, 0, 1125899906842624LL),
	STR(cache, servers, "127.0.0.1:11211"),
	INT(cache, status_ttl_seconds, 5, 1, 3600),
	STR(processor, url, "http://127.0.0.1:8090/process"),
	INT(processor, timeout_seconds, 120, 1, 86400),
	INT(processor, max_rps, 100, 0, 1000000),
	INT(processor, async_deadline_seconds, 3600, 1, 2592000),
	INT(processor, breaker_threshold, 5, 1, 1000),
	INT(processor, breaker_cooldown_seconds, 10, 1, 3600),
	INT(jobs, lease_seconds, 300, 5, 86400),
	INT(jobs, max_attempts, 10, 1, 1000),
	INT(jobs, batch, 10, 1, 1000),
	INT(jobs, backoff_base_seconds, 5, 1, 86400),
	INT(jobs, backoff_max_seconds, 3600, 1, 604800),
	INT(workers, min, 1, 0, 1024),
	INT(workers, max, 8, 1, 1024),
	INT(workers, concurrency, 64, 1, 10000),
	INT(workers, drain_seconds, 60, 1, 3600),
	INT(workers, heartbeat_timeout_seconds, 30, 2, 3600),
	INT(workers, idle_seconds, 30, 1, 86400),
	STR(workers, metrics_file, "/var/lib/vingest/workers.prom"),
	INT(workers, idle_claim_ms, 100, 10, 60000),
	INT(limits, max_upload_bytes, 314572800, 1, 1099511627776LL),
	INT(limits, max_duration_seconds, 15, 1, 86400),
	INT(limits, uploads_per_minute, 300, 0, 1000000),
	INT(limits, requests_per_second_per_ip, 100, 0, 1000000),
	INT(limits, bytes_per_hour, 10737418240, 0, 1125899906842624LL),
	INT(limits, concurrent_uploads_per_user, 4, 0, 1024),
	INT(limits, open_uploads_per_user, 50, 0, 1000000),
	INT(limits, staging_bytes_per_user, 1073741824, 0, 1125899906842624LL),
	INT(limits, max_chunk_bytes, 16777216, 65536, 1099511627776LL),
	INT(limits, tus_expiry_seconds, 86400, 60, 2592000),
	INT(limits, upload_url_max_seconds, 86400, 1, 2592000),
	INT(limits, max_parts, 8, 1, 1000),
	INT(limits, max_part_header_bytes, 4096, 256, 65536),
	INT(limits, max_part_headers, 8, 1, 100),
	INT(limits, max_field_bytes, 65536, 16, 16777216),
	INT(retention, days, 1826, 1, 36500),
	INT(retention, orphan_grace_seconds, 3600, 60, 604800),
	INT(retention, janitor_interval_seconds, 5, 1, 3600),
	INT(retention, archive_after_days, 30, 0, 36500),
	INT(retention, archive_batch, 1000, 1, 100000),
	INT(webhooks, timeout_seconds, 10, 1, 300),
	INT(webhooks, max_attempts, 12, 1, 1000),
	INT(webhooks, backoff_base_seconds, 10, 1, 86400),
	INT(webhooks, backoff_max_seconds, 3600, 1, 604800),
	INT(webhooks, allow_private, 0, 0, 1),
	INT(webhooks, concurrency, 8, 1, 1000),
	INT(webhooks, rotation_grace_seconds, 86400, 0, 2592000),
	STR(log, format, "kv"),
	STR(log, target, "stderr"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct load_ctx {
	struct vg_config *c;
	char *err;
	size_t errsz;
	int failed;
};

static void set_err(struct load_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct load_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(x->err, x->errsz, fmt, ap);
	va_end(ap);
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

/* Stores value into the field of k; on a bad value returns -1 with the reason in why. */
static int set_value(struct vg_config *c, const struct key *k, const char *value, char *why,
		     size_t whysz)
{
	char *field = (char *)c + k->offset;

	if (k->type == KEY_STR) {
		char **s = (char **)(void *)field;

		free(*s);
		*s = vg_strdup(value);
		return 0;
	}

	long long v;
	char *end;

	errno = 0;
	v = strtoll(value, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (end == value || *end || errno == ERANGE) {
		snprintf(why, whysz, "'%s' is not an integer", value);
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(why, whysz, "%lld is out of range [%lld, %lld]", v, k->min, k->max);
		return -1;
	}
	*(long long *)(void *)field = v;
	return 0;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	const struct key *k;
	char why[256];

	if (!known_section(section)) {
		set_err(x, "unknown section [%s]", section);
		return 0;
	}
	k = find_key(section, name);
	if (!k) {
		set_err(x, "[%s] %s: unknown key", section, name);
		return 0;
	}
	if (set_value(x->c, k, value, why, sizeof(why)) < 0) {
		set_err(x, "[%s] %s: %s", section, name, why);
		return 0;
	}
	return 1;
}

static void env_name(const struct key *k, char *out, size_t outsz)
{
	size_t n = (size_t)snprintf(out, outsz, "VINGEST_%s_%s", k->section, k->name);

	for (size_t i = 0; i < n && i < outsz; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
}

/* Checks that need more than one key. */
static int check_whole(struct load_ctx *x)
{
	struct vg_config *c = x->c;

	if (strcmp(c->store.backend, "fs") != 0 && strcmp(c->store.backend, "s3") != 0 &&
	    strcmp(c->store.backend, "db") != 0) {
		set_err(x, "[store] backend: '%s' is not one of fs, s3, db", c->store.backend);
		return -1;
	}
	if (strcmp(c->store.backend, "s3") == 0) {
		if (strncmp(c->store.s3_endpoint, "http://", 7) != 0 &&
		    strncmp(c->store.s3_endpoint, "https://", 8) != 0) {
			set_err(x,
				"[store] s3_endpoint: '%s' must start with http:// or https:// "
				"(backend is s3)",
				c->store.s3_endpoint);
			return -1;
		}
		if (!c->store.s3_bucket[0] ||
		    strspn(c->store.s3_bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") !=
			    strlen(c->store.s3_bucket)) {
			set_err(x, "[store] s3_bucket: '%s' must be a bucket name (a-z 0-9 . -)",
				c->store.s3_bucket);
			return -1;
		}
		if (!c->store.s3_region[0]) {
			set_err(x, "[store] s3_region: must be set (backend is s3)");
			return -1;
		}
		if (c->store.s3_part_bytes > c->store.s3_multipart_bytes) {
			set_err(x,
				"[store] s3_part_bytes: %lld is greater than s3_multipart_bytes (%lld)",
				c->store.s3_part_bytes, c->store.s3_multipart_bytes);
			return -1;
		}
	}
	if (c->store.url_secret[0] && strlen(c->store.url_secret) < 32) {
		set_err(x, "[store] url_secret: must be at least 32 characters (or empty to "
			   "disable object URLs)");
		return -1;
	}
	if (strncmp(c->http.public_url, "http://", 7) != 0 &&
	    strncmp(c->http.public_url, "https://", 8) != 0) {
		set_err(x, "[http] public_url: '%s' must start with http:// or https://",
			c->http.public_url);
		return -1;
	}
	if (c->store.fs_root[0] != '/') {
		set_err(x, "[store] fs_root: '%s' must be an absolute path", c->store.fs_root);
		return -1;
	}
	if (c->workers.min > c->workers.max) {
		set_err(x, "[workers] min: %lld is greater than max (%lld)", c->workers.min,
			c->workers.max);
		return -1;
	}
	if (c->jobs.backoff_base_seconds > c->jobs.backoff_max_seconds) {
		set_err(x,
			"[jobs] backoff_base_seconds: %lld is greater than backoff_max_seconds (%lld)",
			c->jobs.backoff_base_seconds, c->jobs.backoff_max_seconds);
		return -1;
	}
	if (c->workers.heartbeat_timeout_seconds * 2 > c->jobs.lease_seconds) {
		set_err(x,
			"[workers] heartbeat_timeout_seconds: %lld must be at most half of "
			"jobs.lease_seconds (%lld), so a hung worker is replaced before its "
			"leases expire",
			c->workers.heartbeat_timeout_seconds, c->jobs.lease_seconds);
		return -1;
	}
	if (strncmp(c->http.listen, "unix:", 5) == 0 ? c->http.listen[5] != '/'
						     : !strchr(c->http.listen, ':')) {
		set_err(x, "[http] listen: '%s' is neither unix:/absolute/path nor host:port",
			c->http.listen);
		return -1;
	}
	if (!c->db.name[0]) {
		set_err(x, "[db] name: must not be empty");
		return -1;
	}
	{
		struct vg_shard_addr *a = calloc(VG_SHARDS_MAX, sizeof(*a));
		char why[200];
		int n;

		if (!a)
			abort();
		n = vg_shard_addrs(c, a, VG_SHARDS_MAX, why, sizeof(why));
		free(a);
		if (n < 0) {
			set_err(x, "[db] shards: %s", why);
			return -1;
		}
	}
	{
		char why[160];

		if (vg_addr_list_check(c->http.metrics_allow, why, sizeof(why)) < 0) {
			set_err(x, "[http] metrics_allow: %s", why);
			return -1;
		}
		if (vg_addr_list_check(c->http.readyz_allow, why, sizeof(why)) < 0) {
			set_err(x, "[http] readyz_allow: %s", why);
			return -1;
		}
		if (vg_addr_list_check(c->http.listen_allow, why, sizeof(why)) < 0) {
			set_err(x, "[http] listen_allow: %s", why);
			return -1;
		}
	}
	if (c->limits.bytes_per_hour > 0 && c->limits.bytes_per_hour < c->limits.max_upload_bytes) {
		set_err(x,
			"[limits] bytes_per_hour: %lld is less than max_upload_bytes (%lld): no "
			"upload of the largest allowed size could ever pass",
			c->limits.bytes_per_hour, c->limits.max_upload_bytes);
		return -1;
	}
	if (c->limits.staging_bytes_per_user > 0 &&
	    c->limits.staging_bytes_per_user < c->limits.max_upload_bytes) {
		set_err(x,
			"[limits] staging_bytes_per_user: %lld is less than max_upload_bytes (%lld): "
			"no upload of the largest allowed size could ever start",
			c->limits.staging_bytes_per_user, c->limits.max_upload_bytes);
		return -1;
	}
	if (c->workers.metrics_file[0] && c->workers.metrics_file[0] != '/') {
		set_err(x,
			"[workers] metrics_file: '%s' must be an absolute path (or empty for none)",
			c->workers.metrics_file);
		return -1;
	}
	if (strcmp(c->log.format, "kv") != 0 && strcmp(c->log.format, "json") != 0) {
		set_err(x, "[log] format: '%s' is not one of kv, json", c->log.format);
		return -1;
	}
	if (strcmp(c->log.target, "stderr") != 0 && strcmp(c->log.target, "syslog") != 0) {
		set_err(x, "[log] target: '%s' is not one of stderr, syslog", c->log.target);
		return -1;
	}
	return 0;
}

int vg_config_load(struct vg_config *c, const char *path, char *err, size_t errsz)
{
	struct load_ctx x = {c, err, errsz, 0};
	char why[256], name[96];
	struct stat st;
	FILE *f;
	int line;

	memset(c, 0, sizeof(*c));
	if (errsz)
		err[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++)
		if (set_value(c, &keys[i], keys[i].def, why, sizeof(why)) < 0)
			abort(); /* a default the parser refuses is a bug */
	c->path = vg_strdup(path);

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	/* fopen(3) opens a directory; reading it fails, which inih takes for an empty file. */
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: cannot open: not a regular file", path);
		fclose(f);
		goto fail;
	}
	line = ini_parse_file(f, on_ini_value, &x);
	fclose(f);
	if (line != 0) {
		char inner[512];

		if (!x.failed)
			set_err(&x, "syntax error");
		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errsz, "%s:%d: %s", path, line, inner);
		goto fail;
	}

	for (size_t i = 0; i < NKEYS; i++) {
		const char *v;

		env_name(&keys[i], name, sizeof(name));
		v = getenv(name);
		if (!v)
			continue;
		if (set_value(c, &keys[i], v, why, sizeof(why)) < 0) {
			snprintf(err, errsz, "environment %s ([%s] %s): %s", name, keys[i].section,
				 keys[i].name, why);
			goto fail;
		}
	}

	if (check_whole(&x) < 0) {
		char inner[512];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errsz, "%s: %s", path, inner);
		goto fail;
	}
	return 0;
fail:
	vg_config_free(c);
	return -1;
}

void vg_config_free(struct vg_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type == KEY_STR) {
			char **s = (char **)(void *)((char *)c + keys[i].offset);

			free(*s);
			*s = NULL;
		}
	}
	free(c->path);
	c->path = NULL;
}

const char *vg_config_default_path(void)
{
	const char *env = getenv("VINGEST_CONFIG");

	if (env && *env)
		return env;
	return VG_SYSCONFDIR "/vingest/vingest.conf";
}
