/*
 * test_config.c - unit tests for the INI + environment configuration loader.
 *
 * Every case writes its own small INI file with mkstemp under /tmp, loads it
 * and removes it again. Refusals are checked by their message: the file path,
 * the ":LINE:" of the bad line, the "[section] key" and the reason, because
 * that message is what an operator reads at start. After every failed load
 * the struct must hold nothing (all owned pointers NULL) and vg_config_free
 * must still be safe on it; ASan's leak check proves nothing was dropped.
 */
#include "tap.h"
#include "vg_config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define ERRSZ 1024

static char tmp_path[64];

/* Writes text to a fresh temp file; its path is left in tmp_path. */
static void write_tmp(const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/vg_test_config_XXXXXX");
	fd = mkstemp(tmp_path);
	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	if (write(fd, text, len) != (ssize_t)len) {
		perror("write");
		exit(2);
	}
	close(fd);
}

static void remove_tmp(void)
{
	unlink(tmp_path);
}

/* Loads text as a config file; the file stays until remove_tmp(). */
static int load_text(struct vg_config *c, const char *text, char *err)
{
	write_tmp(text);
	return vg_config_load(c, tmp_path, err, ERRSZ);
}

static int contains(const char *hay, const char *needle)
{
	return hay && needle && strstr(hay, needle) != NULL;
}

/* 1 if every pointer the config owns is NULL ("holds nothing to free"). */
static int holds_nothing(const struct vg_config *c)
{
	return !c->path && !c->http.listen && !c->http.allowed_origins && !c->db.host &&
	       !c->db.socket && !c->db.user && !c->db.password && !c->db.name &&
	       !c->store.backend && !c->store.fs_root && !c->store.s3_endpoint &&
	       !c->store.s3_region && !c->store.s3_bucket && !c->store.s3_access_key &&
	       !c->store.s3_secret_key && !c->cache.servers && !c->processor.url;
}

/* Clears every VINGEST_* variable so the caller's environment cannot leak in. */
static void clear_vingest_env(void)
{
	for (;;) {
		char name[256];
		int found = 0;

		for (char **e = environ; e && *e; e++) {
			if (strncmp(*e, "VINGEST_", 8) == 0) {
				const char *eq = strchr(*e, '=');
				size_t n = eq ? (size_t)(eq - *e) : strlen(*e);

				if (n >= sizeof(name))
					n = sizeof(name) - 1;
				memcpy(name, *e, n);
				name[n] = '\0';
				found = 1;
				break;
			}
		}
		if (!found)
			return;
		unsetenv(name);
	}
}

/* Every key with the default documented in etc/vingest.conf. */
static void check_defaults(const struct vg_config *c, const char *what)
{
	is_str(c->http.listen, "unix:/run/vingest/fcgi.sock", "%s: http.listen", what);
	is_int(c->http.processes, 16, "%s: http.processes", what);
	is_int(c->http.max_requests, 10000, "%s: http.max_requests", what);
	is_int(c->http.backlog, 256, "%s: http.backlog", what);
	is_int(c->http.drain_seconds, 30, "%s: http.drain_seconds", what);
	is_str(c->http.allowed_origins, "", "%s: http.allowed_origins", what);
	is_str(c->http.metrics_allow, "127.0.0.1,::1", "%s: http.metrics_allow", what);
	is_str(c->http.readyz_allow, "127.0.0.1,::1", "%s: http.readyz_allow", what);
	is_str(c->http.listen_allow, "127.0.0.0/8,::1", "%s: http.listen_allow", what);
	is_int(c->http.body_min_rate, 16384, "%s: http.body_min_rate", what);
	is_int(c->http.body_grace_seconds, 20, "%s: http.body_grace_seconds", what);
	is_int(c->http.readyz_cache_ms, 1000, "%s: http.readyz_cache_ms", what);
	is_int(c->store.url_ttl_seconds, 900, "%s: store.url_ttl_seconds", what);
	is_str(c->db.host, "localhost", "%s: db.host", what);
	is_int(c->db.port, 3306, "%s: db.port", what);
	is_str(c->db.socket, "", "%s: db.socket", what);
	is_str(c->db.user, "vingest", "%s: db.user", what);
	is_str(c->db.password, "", "%s: db.password", what);
	is_str(c->db.name, "vingest", "%s: db.name", what);
	is_int(c->db.connect_timeout_seconds, 5, "%s: db.connect_timeout_seconds", what);
	is_str(c->store.backend, "fs", "%s: store.backend", what);
	is_str(c->store.fs_root, "/var/lib/vingest/store", "%s: store.fs_root", what);
	is_str(c->store.s3_endpoint, "", "%s: store.s3_endpoint", what);
	is_str(c->store.s3_region, "us-east-1", "%s: store.s3_region", what);
	is_str(c->store.s3_bucket, "", "%s: store.s3_bucket", what);
	is_str(c->store.s3_access_key, "", "%s: store.s3_access_key", what);
	is_str(c->store.s3_secret_key, "", "%s: store.s3_secret_key", what);
	is_str(c->cache.servers, "127.0.0.1:11211", "%s: cache.servers", what);
	is_int(c->cache.status_ttl_seconds, 5, "%s: cache.status_ttl_seconds", what);
	is_str(c->processor.url, "http://127.0.0.1:8090/process", "%s: processor.url", what);
	is_int(c->processor.timeout_seconds, 120, "%s: processor.timeout_seconds", what);
	is_int(c->processor.max_rps, 100, "%s: processor.max_rps", what);
	is_int(c->processor.async_deadline_seconds, 3600, "%s: processor.async_deadline_seconds",
	       what);
	is_int(c->jobs.lease_seconds, 300, "%s: jobs.lease_seconds", what);
	is_int(c->jobs.max_attempts, 10, "%s: jobs.max_attempts", what);
	is_int(c->jobs.batch, 10, "%s: jobs.batch", what);
	is_int(c->workers.min, 1, "%s: workers.min", what);
	is_int(c->workers.max, 8, "%s: workers.max", what);
	is_int(c->workers.concurrency, 64, "%s: workers.concurrency", what);
	is_str(c->workers.metrics_file, "/var/lib/vingest/workers.prom", "%s: workers.metrics_file",
	       what);
	is_int(c->limits.max_upload_bytes, 314572800, "%s: limits.max_upload_bytes", what);
	is_int(c->limits.max_duration_seconds, 15, "%s: limits.max_duration_seconds", what);
	is_int(c->limits.uploads_per_minute, 300, "%s: limits.uploads_per_minute", what);
	is_int(c->limits.requests_per_second_per_ip, 100, "%s: limits.requests_per_second_per_ip",
	       what);
	is_int(c->limits.bytes_per_hour, 10737418240LL, "%s: limits.bytes_per_hour", what);
	is_int(c->limits.concurrent_uploads_per_user, 4, "%s: limits.concurrent_uploads_per_user",
	       what);
	is_int(c->limits.open_uploads_per_user, 50, "%s: limits.open_uploads_per_user", what);
	is_int(c->limits.staging_bytes_per_user, 1073741824, "%s: limits.staging_bytes_per_user",
	       what);
	is_int(c->limits.max_chunk_bytes, 16777216, "%s: limits.max_chunk_bytes", what);
	is_int(c->limits.max_parts, 8, "%s: limits.max_parts", what);
	is_int(c->limits.max_part_header_bytes, 4096, "%s: limits.max_part_header_bytes", what);
	is_int(c->limits.max_part_headers, 8, "%s: limits.max_part_headers", what);
	is_int(c->limits.max_field_bytes, 65536, "%s: limits.max_field_bytes", what);
	is_int(c->retention.days, 1826, "%s: retention.days", what);
	is_int(c->retention.janitor_interval_seconds, 5, "%s: retention.janitor_interval_seconds",
	       what);
	is_int(c->retention.archive_after_days, 30, "%s: retention.archive_after_days", what);
	is_int(c->retention.archive_batch, 1000, "%s: retention.archive_batch", what);
	is_str(c->log.format, "kv", "%s: log.format", what);
	is_str(c->log.target, "stderr", "%s: log.target", what);
}

static void test_defaults(void)
{
	struct vg_config c;
	char err[ERRSZ];
	int rc;

	rc = load_text(&c, "; nothing here but a comment\n", err);
	is_int(rc, 0, "comment-only file loads");
	is_str(err, "", "comment-only file: err is empty on success");
	is_str(c.path, tmp_path, "comment-only file: c.path is the file read");
	ok(c.path != tmp_path, "comment-only file: c.path is an owned copy");
	check_defaults(&c, "comment-only file");
	vg_config_free(&c);
	ok(holds_nothing(&c), "vg_config_free leaves every pointer NULL");
	vg_config_free(&c); /* already freed: must be safe */
	ok(1, "vg_config_free twice does not crash");
	remove_tmp();

	rc = load_text(&c, "", err);
	is_int(rc, 0, "empty file loads");
	is_int(c.limits.max_upload_bytes, 314572800, "empty file: limits.max_upload_bytes default");
	vg_config_free(&c);
	remove_tmp();
}

/* The shipped etc/vingest.conf says "the values below are the defaults". */
static void test_shipped_file(void)
{
	char path[1024];
	const char *srcdir = getenv("srcdir");
	struct vg_config c;
	char err[ERRSZ];
	int rc;

	if (srcdir && *srcdir) {
		snprintf(path, sizeof(path), "%s/etc/vingest.conf", srcdir);
	} else {
		/* __FILE__ is .../tests/unit/test_config.c */
		const char *tail = strstr(__FILE__, "tests/unit/test_config.c");
		int n = tail ? (int)(tail - __FILE__) : 0;

		snprintf(path, sizeof(path), "%.*s%setc/vingest.conf", n, __FILE__, n ? "" : "./");
	}
	if (access(path, R_OK) != 0) {
		ok(1, "# SKIP %s not found", path);
		return;
	}
	rc = vg_config_load(&c, path, err, sizeof(err));
	is_int(rc, 0, "etc/vingest.conf loads");
	if (rc != 0) {
		printf("#   err: %s\n", err);
		return;
	}
	check_defaults(&c, "etc/vingest.conf");
	vg_config_free(&c);
}

static void test_values(void)
{
	struct vg_config c;
	char err[ERRSZ];
	int rc;

	rc = load_text(&c,
		       "; a full-ish file\n"
		       "[http]\n"
		       "listen = 127.0.0.1:9000\n"
		       "processes = 12 ; inline comment\n"
		       "max_requests = 0\n"
		       "allowed_origins = https://app.example.com,https://b.example.com\n"
		       "\n"
		       "[db]\n"
		       "host = db1.internal\n"
		       "port = 3307\n"
		       "socket = /run/mysqld/mysqld.sock\n"
		       "password = s3cret\n"
		       "\n"
		       "[store]\n"
		       "backend = fs\n"
		       "fs_root = /srv/vingest\n"
		       "\n"
		       "[cache]\n"
		       "servers = 10.0.0.1:11211,10.0.0.2:11211\n"
		       "status_ttl_seconds = 30\n"
		       "\n"
		       "[processor]\n"
		       "url = http://proc.internal/process\n"
		       "max_rps = 0\n"
		       "\n"
		       "[jobs]\n"
		       "lease_seconds = 60\n"
		       "\n"
		       "[workers]\n"
		       "min = 2\n"
		       "max = 2\n"
		       "\n"
		       "[limits]\n"
		       "max_upload_bytes = 1099511627776\n"
		       "max_duration_seconds = 60\n"
		       "staging_bytes_per_user = 2199023255552\n"
		       "bytes_per_hour = 0\n"
		       "\n"
		       "[retention]\n"
		       "days = 30\n",
		       err);
	is_int(rc, 0, "file with values loads");
	if (rc != 0)
		printf("#   err: %s\n", err);
	is_str(c.http.listen, "127.0.0.1:9000", "file: http.listen");
	is_int(c.http.processes, 12, "file: http.processes (inline comment stripped)");
	is_int(c.http.max_requests, 0, "file: http.max_requests 0 (lower bound)");
	is_int(c.http.backlog, 256, "file: http.backlog not in file keeps default");
	is_str(c.http.allowed_origins, "https://app.example.com,https://b.example.com",
	       "file: http.allowed_origins");
	is_str(c.db.host, "db1.internal", "file: db.host");
	is_int(c.db.port, 3307, "file: db.port");
	is_str(c.db.socket, "/run/mysqld/mysqld.sock", "file: db.socket");
	is_str(c.db.password, "s3cret", "file: db.password");
	is_str(c.db.user, "vingest", "file: db.user keeps default");
	is_str(c.store.fs_root, "/srv/vingest", "file: store.fs_root");
	is_str(c.cache.servers, "10.0.0.1:11211,10.0.0.2:11211", "file: cache.servers");
	is_int(c.cache.status_ttl_seconds, 30, "file: cache.status_ttl_seconds");
	is_str(c.processor.url, "http://proc.internal/process", "file: processor.url");
	is_int(c.processor.max_rps, 0, "file: processor.max_rps 0");
	is_int(c.jobs.lease_seconds, 60, "file: jobs.lease_seconds");
	is_int(c.workers.min, 2, "file: workers.min");
	is_int(c.workers.max, 2, "file: workers.max (min == max is fine)");
	is_int(c.limits.max_upload_bytes, 1099511627776LL,
	       "file: limits.max_upload_bytes at its upper bound");
	is_int(c.limits.max_duration_seconds, 60, "file: limits.max_duration_seconds");
	is_int(c.retention.days, 30, "file: retention.days");
	vg_config_free(&c);
	remove_tmp();

	rc = load_text(&c, "[http]\nlisten = unix:/tmp/vg-test.sock\n", err);
	is_int(rc, 0, "http.listen unix:/absolute accepted");
	vg_config_free(&c);
	remove_tmp();

	rc = load_text(&c, "[http]\nlisten = [::1]:9000\n", err);
	is_int(rc, 0, "http.listen [::1]:9000 accepted");
	vg_config_free(&c);
	remove_tmp();

	rc = load_text(&c, "[workers]\nmin = 0\n", err);
	is_int(rc, 0, "workers.min 0 accepted");
	is_int(c.workers.min, 0, "workers.min 0 stored");
	vg_config_free(&c);
	remove_tmp();
}

static void test_env(void)
{
	struct vg_config c;
	char err[ERRSZ];
	int rc;

	write_tmp("[processor]\n"
		  "url = http://from-file/process\n"
		  "[jobs]\n"
		  "lease_seconds = 60\n");

	setenv("VINGEST_PROCESSOR_URL", "http://from-env:8090/p", 1);
	setenv("VINGEST_JOBS_LEASE_SECONDS", "600", 1);
	setenv("VINGEST_LIMITS_MAX_UPLOAD_BYTES", "1048576", 1);
	setenv("VINGEST_DB_SOCKET", "/run/mysqld/mysqld.sock", 1);
	setenv("VINGEST_CACHE_STATUS_TTL_SECONDS", "2", 1);
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, 0, "env: loads with overrides");
	is_str(c.processor.url, "http://from-env:8090/p", "env: VINGEST_PROCESSOR_URL beats file");
	is_int(c.jobs.lease_seconds, 600, "env: VINGEST_JOBS_LEASE_SECONDS beats file");
	is_int(c.limits.max_upload_bytes, 1048576,
	       "env: VINGEST_LIMITS_MAX_UPLOAD_BYTES beats default");
	is_str(c.db.socket, "/run/mysqld/mysqld.sock", "env: VINGEST_DB_SOCKET beats default");
	is_int(c.cache.status_ttl_seconds, 2,
	       "env: VINGEST_CACHE_STATUS_TTL_SECONDS beats default");
	is_int(c.jobs.max_attempts, 10, "env: keys without override keep default");
	vg_config_free(&c);

	unsetenv("VINGEST_PROCESSOR_URL");
	unsetenv("VINGEST_JOBS_LEASE_SECONDS");
	unsetenv("VINGEST_LIMITS_MAX_UPLOAD_BYTES");
	unsetenv("VINGEST_DB_SOCKET");
	unsetenv("VINGEST_CACHE_STATUS_TTL_SECONDS");
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, 0, "env unset: loads");
	is_str(c.processor.url, "http://from-file/process", "env unset: file value back");
	is_int(c.jobs.lease_seconds, 60, "env unset: file lease_seconds back");
	vg_config_free(&c);

	/* an empty string is an override too (clears a string key) */
	setenv("VINGEST_CACHE_SERVERS", "", 1);
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, 0, "env: empty string override loads");
	is_str(c.cache.servers, "", "env: empty VINGEST_CACHE_SERVERS clears the value");
	vg_config_free(&c);
	unsetenv("VINGEST_CACHE_SERVERS");

	/* bad environment values */
	setenv("VINGEST_HTTP_PROCESSES", "abc", 1);
	memset(&c, 0xab, sizeof(c));
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, -1, "env: VINGEST_HTTP_PROCESSES=abc refused");
	ok(contains(err, "VINGEST_HTTP_PROCESSES"), "env: message names VINGEST_HTTP_PROCESSES");
	ok(contains(err, "not an integer"), "env: message says not an integer");
	ok(contains(err, "environment"), "env: message says it came from the environment");
	if (!contains(err, "VINGEST_HTTP_PROCESSES") || !contains(err, "not an integer"))
		printf("#   err: %s\n", err);
	ok(holds_nothing(&c), "env failure: struct holds nothing");
	vg_config_free(&c);

	setenv("VINGEST_HTTP_PROCESSES", "0", 1);
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, -1, "env: VINGEST_HTTP_PROCESSES=0 refused");
	ok(contains(err, "VINGEST_HTTP_PROCESSES") && contains(err, "out of range"),
	   "env: out of range named");
	vg_config_free(&c);

	setenv("VINGEST_HTTP_PROCESSES", "", 1);
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, -1, "env: empty VINGEST_HTTP_PROCESSES refused");
	ok(contains(err, "not an integer"), "env: empty int is not an integer");
	vg_config_free(&c);
	unsetenv("VINGEST_HTTP_PROCESSES");

	/* a cross-key check still runs after env overrides */
	setenv("VINGEST_WORKERS_MIN", "9", 1);
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, -1, "env: VINGEST_WORKERS_MIN=9 > default max 8 refused");
	ok(contains(err, "[workers] min"), "env: workers min > max message");
	ok(holds_nothing(&c), "env cross-check failure: struct holds nothing");
	vg_config_free(&c);
	unsetenv("VINGEST_WORKERS_MIN");

	setenv("VINGEST_STORE_BACKEND", "s3", 1);
	rc = vg_config_load(&c, tmp_path, err, sizeof(err));
	is_int(rc, -1, "env: VINGEST_STORE_BACKEND=s3 without an endpoint refused");
	ok(contains(err, "[store] s3_endpoint"), "env: s3 needs s3_endpoint");
	vg_config_free(&c);
	unsetenv("VINGEST_STORE_BACKEND");

	remove_tmp();
}

/*
 * Loads text that must be refused; checks rc, that every needle is in the
 * message, that the struct holds nothing, and that freeing it is safe.
 */
static void refused(const char *what, const char *text, const char *needles[])
{
	struct vg_config c;
	char err[ERRSZ];
	int rc, all = 1;

	memset(&c, 0x5a, sizeof(c)); /* garbage in: load must not trust it */
	rc = load_text(&c, text, err);
	is_int(rc, -1, "%s: refused", what);
	if (rc != -1) {
		/* accepted: there is no message to check (one failure per bug) */
		vg_config_free(&c);
		remove_tmp();
		return;
	}
	ok(contains(err, tmp_path), "%s: message names the file", what);
	for (int i = 0; needles[i]; i++) {
		int has = contains(err, needles[i]);

		ok(has, "%s: message contains '%s'", what, needles[i]);
		all &= has;
	}
	if (!all || !contains(err, tmp_path))
		printf("#   err: %s\n", err);
	ok(holds_nothing(&c), "%s: struct holds nothing to free", what);
	vg_config_free(&c);
	remove_tmp();
}

/* The three store backends load with what each needs. */
static void test_backends(void)
{
	struct vg_config c;
	char err[ERRSZ];

	is_int(load_text(&c,
			 "[store]\nbackend = s3\ns3_endpoint = http://127.0.0.1:9000\n"
			 "s3_bucket = videos.prod-1\ns3_path_style = 0\ns3_part_bytes = 8388608\n",
			 err),
	       0, "backend s3 with endpoint and bucket loads");
	is_str(c.store.backend, "s3", "store.backend s3");
	is_int(c.store.s3_path_style, 0, "store.s3_path_style 0");
	is_int(c.store.s3_part_bytes, 8388608, "store.s3_part_bytes");
	is_int(c.store.s3_multipart_bytes, 67108864, "store.s3_multipart_bytes default 64 MiB");
	vg_config_free(&c);
	remove_tmp();
	is_int(load_text(&c, "[store]\nbackend = db\ndb_chunk_bytes = 524288\n", err), 0,
	       "backend db loads");
	is_int(c.store.db_chunk_bytes, 524288, "store.db_chunk_bytes");
	vg_config_free(&c);
	remove_tmp();
}

static void test_refusals(void)
{
	refused("processes = abc",
		"; line 1\n"
		"[http]\n"
		"processes = abc\n",
		(const char *[]){":3:", "[http] processes", "not an integer", "abc", NULL});
	refused("processes = 4x",
		"[http]\n"
		"listen = unix:/run/x.sock\n"
		"processes = 4x\n",
		(const char *[]){":3:", "[http] processes", "not an integer", NULL});
	refused("processes = (empty)",
		"[http]\n"
		"processes =\n",
		(const char *[]){":2:", "[http] processes", "not an integer", NULL});
	refused("port = 99999999999999999999 (overflow)",
		"[db]\n"
		"port = 99999999999999999999\n",
		(const char *[]){":2:", "[db] port", "not an integer", NULL});
	refused("processes = 0",
		"[http]\n"
		"\n"
		"; comment\n"
		"processes = 0\n",
		(const char *[]){":4:", "[http] processes", "out of range", NULL});
	refused("processes = 1025",
		"[http]\n"
		"processes = 1025\n",
		(const char *[]){":2:", "[http] processes", "out of range", NULL});
	refused("staging_bytes_per_user below max_upload_bytes",
		"[limits]\n"
		"max_upload_bytes = 2147483648\n",
		(const char *[]){"[limits] staging_bytes_per_user", "less than max_upload_bytes",
				 NULL});
	refused("bytes_per_hour below max_upload_bytes",
		"[limits]\n"
		"staging_bytes_per_user = 0\n"
		"bytes_per_hour = 1000\n",
		(const char *[]){"[limits] bytes_per_hour", "less than max_upload_bytes", NULL});
	refused("listen_allow with a bad entry",
		"[http]\n"
		"listen_allow = 10.0.0.0/99\n",
		(const char *[]){"[http] listen_allow", NULL});
	refused("jobs.lease_seconds = 4",
		"[jobs]\n"
		"lease_seconds = 4\n",
		(const char *[]){":2:", "[jobs] lease_seconds", "out of range", NULL});
	refused("cache.status_ttl_seconds = 0 (a tombstone must live)",
		"[cache]\n"
		"status_ttl_seconds = 0\n",
		(const char *[]){":2:", "[cache] status_ttl_seconds", "out of range", NULL});
	refused("cache.status_ttl_seconds = 3601",
		"[cache]\n"
		"status_ttl_seconds = 3601\n",
		(const char *[]){":2:", "[cache] status_ttl_seconds", "out of range", NULL});
	refused("limits.max_upload_bytes = -1",
		"[limits]\n"
		"max_upload_bytes = -1\n",
		(const char *[]){":2:", "[limits] max_upload_bytes", "out of range", NULL});
	refused("unknown key",
		"[http]\n"
		"processes = 4\n"
		"procceses = 4\n",
		(const char *[]){":3:", "[http] procceses", "unknown key", NULL});
	refused("key of another section",
		"[db]\n"
		"processes = 4\n",
		(const char *[]){":2:", "[db] processes", "unknown key", NULL});
	refused("unknown section",
		"[http]\n"
		"processes = 4\n"
		"[htpp]\n"
		"processes = 4\n",
		(const char *[]){":4:", "unknown section", "[htpp]", NULL});
	refused("key before any section", "processes = 4\n",
		(const char *[]){":1:", "unknown section", NULL});
	refused("first error wins",
		"[http]\n"
		"processes = abc\n"
		"bogus = 1\n",
		(const char *[]){":2:", "[http] processes", "not an integer", NULL});
	refused("syntax error",
		"[http]\n"
		"processes 4\n",
		(const char *[]){":2:", NULL});
	refused("workers.min > workers.max",
		"[workers]\n"
		"min = 9\n"
		"max = 8\n",
		(const char *[]){"[workers] min", "9", "8", NULL});
	refused("store.backend = s3 without an endpoint",
		"[store]\n"
		"backend = s3\n",
		(const char *[]){"[store] s3_endpoint", "must start with http", NULL});
	refused("store.backend = s3 without a bucket",
		"[store]\n"
		"backend = s3\n"
		"s3_endpoint = http://127.0.0.1:9000\n",
		(const char *[]){"[store] s3_bucket", NULL});
	refused("store.backend = s3 with a bucket name that is not one",
		"[store]\n"
		"backend = s3\n"
		"s3_endpoint = http://127.0.0.1:9000\n"
		"s3_bucket = ../etc\n",
		(const char *[]){"[store] s3_bucket", "'../etc'", NULL});
	refused("store.s3_part_bytes below S3's 5 MiB minimum",
		"[store]\n"
		"s3_part_bytes = 1000\n",
		(const char *[]){"[store] s3_part_bytes", "1000", NULL});
	refused("store.db_chunk_bytes above 8 MiB",
		"[store]\n"
		"db_chunk_bytes = 16777216\n",
		(const char *[]){"[store] db_chunk_bytes", NULL});
	refused("store.backend = nonsense",
		"[store]\n"
		"backend = nonsense\n",
		(const char *[]){"[store] backend", "'nonsense'", "not one of", NULL});
	refused("store.backend = (empty)",
		"[store]\n"
		"backend =\n",
		(const char *[]){"[store] backend", NULL});
	refused("relative store.fs_root",
		"[store]\n"
		"fs_root = var/lib/vingest\n",
		(const char *[]){"[store] fs_root", "var/lib/vingest", "absolute", NULL});
	refused("empty store.fs_root",
		"[store]\n"
		"fs_root =\n",
		(const char *[]){"[store] fs_root", "absolute", NULL});
	refused("http.listen without colon",
		"[http]\n"
		"listen = /run/vingest/fcgi.sock\n",
		(const char *[]){"[http] listen", "/run/vingest/fcgi.sock", NULL});
	refused("http.listen empty",
		"[http]\n"
		"listen =\n",
		(const char *[]){"[http] listen", NULL});
	/* the contract is "unix:/path or host:port": a relative unix path is neither */
	refused("http.listen unix:relative",
		"[http]\n"
		"listen = unix:run/vingest/fcgi.sock\n",
		(const char *[]){"[http] listen", NULL});
	refused("empty db.name",
		"[db]\n"
		"name =\n",
		(const char *[]){"[db] name", NULL});
}

static void test_missing_and_free(void)
{
	struct vg_config c;
	char err[ERRSZ];
	char path[64];
	int fd, rc;

	/* a path that certainly does not exist: make one, then remove it */
	snprintf(path, sizeof(path), "/tmp/vg_test_config_XXXXXX");
	fd = mkstemp(path);
	ok(fd >= 0, "mkstemp for missing-file path");
	if (fd >= 0)
		close(fd);
	unlink(path);

	memset(&c, 0x77, sizeof(c));
	rc = vg_config_load(&c, path, err, sizeof(err));
	is_int(rc, -1, "missing file refused");
	ok(contains(err, "cannot open"), "missing file: message says cannot open");
	ok(contains(err, path), "missing file: message names the path");
	if (!contains(err, "cannot open") || !contains(err, path))
		printf("#   err: %s\n", err);
	ok(holds_nothing(&c), "missing file: struct holds nothing to free");
	vg_config_free(&c);
	ok(1, "vg_config_free after failed load does not crash");

	/* a directory cannot be read as a file either */
	rc = vg_config_load(&c, "/tmp", err, sizeof(err));
	is_int(rc, -1, "directory as config refused");
	vg_config_free(&c);

	vg_config_free(NULL);
	ok(1, "vg_config_free(NULL) is safe");

	memset(&c, 0, sizeof(c));
	vg_config_free(&c);
	ok(1, "vg_config_free on a zeroed config is safe");

	/* a tiny error buffer is truncated, never overrun */
	{
		char small[16];

		memset(small, 'x', sizeof(small));
		rc = vg_config_load(&c, path, small, 8);
		is_int(rc, -1, "missing file with small err buffer refused");
		ok(memchr(small, '\0', 8) != NULL, "small err buffer is NUL-terminated");
		ok(small[8] == 'x' && small[15] == 'x', "small err buffer not overrun");
		vg_config_free(&c);
	}
}

static void test_default_path(void)
{
	const char *p;
	size_t n;

	setenv("VINGEST_CONFIG", "/srv/x/vingest.conf", 1);
	is_str(vg_config_default_path(), "/srv/x/vingest.conf",
	       "default path honours VINGEST_CONFIG");

	unsetenv("VINGEST_CONFIG");
	p = vg_config_default_path();
	n = p ? strlen(p) : 0;
	ok(p && p[0] == '/', "default path without VINGEST_CONFIG is absolute: %s",
	   p ? p : "(null)");
	ok(n >= 21 && strcmp(p + n - 21, "/vingest/vingest.conf") == 0,
	   "default path ends in /vingest/vingest.conf");

	setenv("VINGEST_CONFIG", "", 1);
	is_str(vg_config_default_path(), p, "empty VINGEST_CONFIG falls back to the default");
	unsetenv("VINGEST_CONFIG");
}

int main(void)
{
	clear_vingest_env();
	test_defaults();
	test_shipped_file();
	test_values();
	test_env();
	test_refusals();
	test_backends();
	test_missing_and_free();
	test_default_path();
	return tap_done();
}
