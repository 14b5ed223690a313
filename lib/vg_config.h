/*
 * vg_config.h - the one configuration of every vingest binary.
 *
 * Read from an INI file (libinih) and then from the environment, where
 * VINGEST_<SECTION>_<KEY> overrides [section] key. Every key is declared once
 * in a table in vg_config.c with its type, default and allowed range, so
 * unknown keys (typos) and bad values are refused at start with the file,
 * line, key and reason, never discovered at 3 a.m.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stddef.h>

struct vg_config {
	char *path; /* the file read, owned */
	struct {
		char *listen; /* unix:/path or host:port */
		long long processes;
		long long max_requests;
		long long backlog;
		long long drain_seconds;
		char *allowed_origins;	 /* extra origins for browser (Basic auth) posts */
		char *public_url;	 /* how the processing service reaches us (object URLs) */
		char *cors_origins;	 /* origins whose pages may use upload URLs (CORS) */
		char *metrics_allow;	 /* addresses and CIDR blocks that may GET /metrics */
		char *readyz_allow;	 /* ... that may GET /readyz */
		char *listen_allow;	 /* peers a TCP listener serves (the web servers) */
		long long body_min_rate; /* bytes/s a body must average (0: no floor) */
		long long body_grace_seconds; /* ... after this long */
		long long readyz_cache_ms;    /* how long a /readyz answer is reused */
	} http;
	struct {
		char *host;
		long long port;
		char *socket;
		char *user;
		char *password;
		char *name;
		long long connect_timeout_seconds;
		char *shards; /* the shard list (vg_shards.h); empty: host/port/socket alone */
	} db;
	struct {
		char *backend;	   /* "fs", "s3" or "db" */
		char *fs_root;	   /* fs objects; staging/ for every backend */
		char *s3_endpoint; /* http(s)://host[:port] */
		char *s3_region;
		char *s3_bucket;
		char *s3_access_key;	      /* empty: $AWS_ACCESS_KEY_ID */
		char *s3_secret_key;	      /* empty: $AWS_SECRET_ACCESS_KEY */
		long long s3_path_style;      /* 1: endpoint/bucket/key; 0: bucket.host/key */
		long long s3_multipart_bytes; /* objects this large go up in parts */
		long long s3_part_bytes;
		long long s3_retries;	  /* tries after the first for idempotent calls */
		long long db_chunk_bytes; /* db backend: bytes per object_chunks row */
		char *url_secret;	  /* HMAC key of signed object URLs */
		long long min_free_bytes; /* /readyz fails below this much free space */
		long long url_ttl_seconds;
	} store;
	struct {
		char *servers;
		long long status_ttl_seconds; /* GET /v1/videos/{id} from memcached */
	} cache;
	struct {
		char *url;
		long long timeout_seconds;
		long long max_rps;
		long long async_deadline_seconds; /* a 202 job: first 202 to done, at most */
		long long breaker_threshold;
		long long breaker_cooldown_seconds;
	} processor;
	struct {
		long long lease_seconds;
		long long max_attempts;
		long long batch;
		long long backoff_base_seconds;
		long long backoff_max_seconds;
	} jobs;
	struct {
		long long min;
		long long max;
		long long concurrency;
		long long drain_seconds;
		long long heartbeat_timeout_seconds;
		long long idle_seconds;
		char *metrics_file; /* the supervisor's counters, Prometheus text, for vingest-fcgi
				     */
		long long idle_claim_ms;
	} workers;
	struct {
		long long max_upload_bytes;
		long long max_duration_seconds;
		long long uploads_per_minute;
		long long requests_per_second_per_ip;
		long long bytes_per_hour;
		long long concurrent_uploads_per_user; /* a host's children one user may hold */
		long long open_uploads_per_user;       /* unfinished tus uploads */
		long long staging_bytes_per_user;      /* bytes reserved by unfinished uploads */
		long long max_chunk_bytes;	       /* the body of one tus request */
		long long tus_expiry_seconds;
		long long upload_url_max_seconds; /* the longest expires_in of an upload URL */
		long long max_parts;
		long long max_part_header_bytes;
		long long max_part_headers;
		long long max_field_bytes;
	} limits;
	struct {
		long long days;
		long long orphan_grace_seconds;
		long long
			janitor_interval_seconds; /* how often the janitor and staging sweep run */
		long long archive_after_days; /* finished jobs older move to the archive; 0 never */
		long long archive_batch;      /* jobs moved per transaction */
	} retention;
	struct {
		long long timeout_seconds;	  /* one delivery, connect to last byte */
		long long max_attempts;		  /* then the event is dead */
		long long backoff_base_seconds;	  /* exponential, full jitter ... */
		long long backoff_max_seconds;	  /* ... capped */
		long long allow_private;	  /* 1: loopback and private destinations too */
		long long concurrency;		  /* deliveries in flight per worker */
		long long rotation_grace_seconds; /* the old secret still signs this long */
	} webhooks;
	struct {
		char *format; /* "kv" (key=value) or "json" */
		char *target; /* "stderr" or "syslog" */
	} log;
};

/*
 * Loads path (must exist and be readable), then the environment overrides,
 * then checks keys that depend on each other. On success returns 0 and c owns
 * its strings (release with vg_config_free). On failure returns -1 with a
 * one-line reason in err ("FILE:LINE: [section] key: reason" or
 * "environment VINGEST_X_Y: reason") and c holds nothing to free.
 */
int vg_config_load(struct vg_config *c, const char *path, char *err, size_t errsz);

/* Frees what c owns; safe on a zeroed or already freed config. */
void vg_config_free(struct vg_config *c);

/* The path every binary reads unless told otherwise: $VINGEST_CONFIG, else
 * SYSCONFDIR/vingest/vingest.conf. Borrowed, static. */
const char *vg_config_default_path(void);

#endif
