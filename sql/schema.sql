-- schema.sql - the reference for the current vingest schema, for humans.
--
-- This file is documentation: it shows what the numbered migrations in
-- sql/migrations/ add up to (every numbered file, in order), plus the
-- schema_migrations table that vingestctl keeps. Databases are built and
-- changed only by `vingestctl migrate`, never from this file and never by
-- hand: every schema change is a new numbered migration,
-- sql/migrations/NNN_name.sql, applied by `vingestctl migrate`. When you add a
-- migration, update this file in the same change, so that SHOW CREATE TABLE on
-- a migrated database and on one built from this file agree.
--
-- schema_migrations is managed by vingestctl: migrate creates it and records
-- each applied migration in it. Never edit its rows.
--
-- Conventions:
--   * every table and column carries a COMMENT (read them with SHOW CREATE TABLE)
--   * times are DATETIME(6) holding UTC. The application sets time_zone='+00:00'
--     on every connection, so NOW(6) and the CURRENT_TIMESTAMP(6) defaults are
--     UTC there. A DBA writing by hand runs SET time_zone='+00:00' first (or
--     uses UTC_TIMESTAMP(6)), otherwise defaults and ON UPDATE columns get
--     local time.
--   * JSON columns are declared JSON: native JSON on MySQL, LONGTEXT with a
--     json_valid() CHECK on MariaDB.
--
-- Foreign keys and deletion: nothing in vingest deletes a users, videos or jobs
-- row. Retention and DELETE /v1/videos/{id} remove the object bytes and mark the
-- video status='deleted' with deleted_at set, and the row stays (it is the
-- record that the id existed, and the idempotency key stays taken). So the
-- foreign keys that point at users, videos and jobs use ON DELETE RESTRICT: a
-- DELETE that would orphan history fails loudly instead of silently cascading
-- through years of rows. A DBA who really purges data deletes children first
-- (job_attempts, jobs, then videos). The one exception is job_attempts ->
-- jobs: attempts are the job's own log and mean nothing without it, so they go
-- with it (ON DELETE CASCADE). Ids never change, so ON UPDATE is RESTRICT
-- everywhere.

-- schema_migrations: created and written by vingestctl migrate, not by a
-- migration file. One row per applied migration.
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT UNSIGNED NOT NULL COMMENT 'Migration number, the NNN of sql/migrations/NNN_name.sql',
  name VARCHAR(255) NOT NULL COMMENT 'Migration name, the file name without .sql, e.g. 001_initial',
  checksum CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'Lower-case hex SHA-256 of the migration file as applied, so vingestctl can tell when an applied file was changed afterwards',
  applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'When the migration was applied (UTC)',
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Migrations applied to this database, managed by vingestctl migrate. Never edit by hand';

CREATE TABLE IF NOT EXISTS users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'User id, referenced by api_keys, videos and uploads',
  name VARCHAR(64) NOT NULL COMMENT 'Unique user name, as given to vingestctl user add NAME',
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'When the user was created (UTC)',
  disabled_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the user was disabled (UTC), NULL while active. A disabled user cannot authenticate with any key',
  PRIMARY KEY (id),
  UNIQUE KEY ux_users_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Accounts that own API keys and videos. Rows are never deleted: disable a user by setting disabled_at';

CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Key id',
  user_id BIGINT UNSIGNED NOT NULL COMMENT 'Owner of the key (users.id)',
  key_prefix CHAR(8) NOT NULL COMMENT 'First 8 characters of the key, to tell keys apart in listings. Not a secret, not enough to authenticate',
  key_hash CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'Lower-case hex SHA-256 of the whole key. Keys carry 256 random bits, so a fast unsalted hash is safe. The key itself is never stored',
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'When the key was created (UTC)',
  last_used_at DATETIME(6) NULL DEFAULT NULL COMMENT 'Last successful authentication with this key (UTC), updated coarsely, NULL if never used',
  revoked_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the key was revoked (UTC), NULL while valid. A revoked key never authenticates again',
  PRIMARY KEY (id),
  UNIQUE KEY ux_api_keys_hash (key_hash),
  KEY ix_api_keys_user (user_id),
  CONSTRAINT fk_api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='API keys, stored as hashes only. Authentication looks a key up by key_hash. ON DELETE RESTRICT: users are disabled, never deleted';

CREATE TABLE IF NOT EXISTS videos (
  id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'Video id: 26 Crockford base32 characters of a 48-bit millisecond time, an 8-bit shard number and 72 random bits, so ids sort by creation time. The same id as the uploads row it came from',
  user_id BIGINT UNSIGNED NOT NULL COMMENT 'Owner (users.id). Only the owner ever sees the video',
  status ENUM('queued','processing','processed','failed','deleted') NOT NULL DEFAULT 'queued' COMMENT 'queued: stored, job waiting. processing: a worker holds the job. processed: the processing service accepted it (see result). failed: job dead-lettered, operators can requeue. deleted: object removed by DELETE or retention, row kept',
  object_key VARCHAR(255) CHARACTER SET ascii NOT NULL COMMENT 'Key of the object in the configured store (fs: path under store.fs_root, s3: object key in the bucket)',
  size_bytes BIGINT UNSIGNED NOT NULL COMMENT 'Object size in bytes',
  sha256 CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'Lower-case hex SHA-256 of the object bytes, computed while receiving',
  content_type VARCHAR(255) NULL DEFAULT NULL COMMENT 'Content-Type as the client declared it. Untrusted, informational only (container is what was verified)',
  container VARCHAR(16) NULL DEFAULT NULL COMMENT 'Container format found by sniffing the bytes: mp4, mov, webm or mkv',
  duration_ms INT UNSIGNED NULL DEFAULT NULL COMMENT 'Duration in milliseconds as parsed from the container, NULL if unknown',
  filename VARCHAR(255) NULL DEFAULT NULL COMMENT 'File name the client sent. Metadata only, never used as a path',
  title VARCHAR(500) NULL DEFAULT NULL COMMENT 'Title the client sent, NULL if none',
  metadata JSON NULL DEFAULT NULL COMMENT 'JSON object the client sent as metadata, stored as given, NULL if none',
  idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL COMMENT 'Idempotency-Key header of the creating request, unique per user, NULL if none. A repeat with the same key returns this video',
  request_sha256 CHAR(64) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'Hex SHA-256 over the creating request (body and the fields that matter), to detect a reused Idempotency-Key with a different request',
  result JSON NULL DEFAULT NULL COMMENT 'What the processing service returned for the done job, NULL until then',
  created_at DATETIME(6) NOT NULL COMMENT 'When the video was committed (UTC). Set by the application, matches the time in the id',
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6) COMMENT 'Last change to this row (UTC), maintained by the server',
  expires_at DATETIME(6) NOT NULL COMMENT 'created_at plus retention.days (UTC). After it the retention sweep deletes the object and marks the row deleted',
  deleted_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the object was deleted (UTC), by the owner or by retention. NULL while the object exists',
  PRIMARY KEY (id),
  UNIQUE KEY ux_videos_idempotency (user_id, idempotency_key),
  KEY ix_videos_user (user_id, id),
  KEY ix_videos_user_status (user_id, status, id),
  KEY ix_videos_expires (expires_at),
  KEY ix_videos_retention (deleted_at, expires_at) COMMENT 'Retention sweep: live (deleted_at IS NULL) videos in expiry order',
  CONSTRAINT fk_videos_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='One row per accepted video, inserted in the same transaction as its job. Rows are never deleted: deletion removes the object and sets status=deleted. Listing uses ix_videos_user (newest first by id) and ix_videos_user_status, retention uses ix_videos_expires';

-- jobs and the claim index. Workers claim with, under READ COMMITTED:
--   SELECT id FROM jobs WHERE state='ready' AND run_after<=NOW(6)
--    ORDER BY run_after, id LIMIT n FOR UPDATE SKIP LOCKED
-- ix_jobs_claim (state, run_after, id) turns that into one index range scan:
-- equality on state, a range on run_after ending at now, and the ORDER BY is
-- the index order (id is the unique tie-breaker), so there is no filesort and
-- the scan stops after n rows. Invariant: InnoDB locks every row it scans, so
-- the claim must never read rows it will not return. Ready jobs whose
-- run_after is in the future (new retries, backoff) sort after every due job
-- in this index and are never scanned ahead of due ones. Only when fewer than
-- n jobs are due does InnoDB read the single entry just past the range to see
-- that the range ended. Keep any change to the claim (WHERE, ORDER BY) inside
-- this index, and check it with EXPLAIN: type=range, key=ix_jobs_claim, no
-- "Using filesort" (see docs/dba.md). priority is for DBAs and future use: it
-- is in neither the index nor the claim ORDER BY, which is run_after, id.
-- ix_jobs_lease (state, lease_expires_at) serves the lease reaper
-- (state='running' AND lease_expires_at < now), ix_jobs_video finds the jobs
-- of a video and backs the foreign key, ix_jobs_finished (008) serves the
-- janitor's archive pass (finished jobs past retention.archive_after_days).
CREATE TABLE IF NOT EXISTS jobs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Job id. Also the Idempotency-Key sent to the processing service, the same on every attempt',
  video_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'The video this job works on (videos.id)',
  kind VARCHAR(32) CHARACTER SET ascii NOT NULL DEFAULT 'process' COMMENT 'What to do. process: hand the video to the processing service',
  state ENUM('ready','running','done','dead','cancelled') NOT NULL DEFAULT 'ready' COMMENT 'ready: waiting to be claimed once run_after has passed. running: leased by a worker. done: succeeded. dead: failed for good (4xx or attempts used up), can be requeued. cancelled: video deleted before the job ran',
  priority SMALLINT NOT NULL DEFAULT 0 COMMENT 'Reserved for DBAs and future use. The claim orders by run_after, id and ignores it',
  run_after DATETIME(6) NOT NULL COMMENT 'Earliest time (UTC) the job may be claimed: creation time, the retry time after backoff and Retry-After, or (status_url set) the next status poll',
  attempts INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Attempts started so far, incremented at each claim that calls the service (a claim that polls status_url is not an attempt). Equals the attempt number of the latest job_attempts row, so it never goes back',
  max_attempts INT UNSIGNED NOT NULL COMMENT 'The job goes dead when an attempt fails with attempts >= max_attempts. Raise it to grant more attempts',
  lease_owner VARCHAR(255) NULL DEFAULT NULL COMMENT 'host:pid of the worker holding the lease, NULL unless running',
  lease_token CHAR(32) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'Fencing token, fresh at every claim. Every write after a claim says WHERE id=? AND lease_token=?, so a worker whose lease was taken over changes nothing',
  lease_expires_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the lease runs out (UTC), renewed while the call is in flight. A running job past it is reaped by the janitor',
  last_error VARCHAR(1000) NULL DEFAULT NULL COMMENT 'Error of the last failed attempt, truncated to 1000 characters, NULL if none',
  last_http_status SMALLINT NULL DEFAULT NULL COMMENT 'HTTP status of the last answer from the processing service, NULL if there was none (timeout, connection error)',
  status_url VARCHAR(2048) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'The status_url of the service''s 202, as it named it (relative to processor.url or absolute on its origin), checked before it is stored. Set while the service works on the job: the job is ready with run_after at the next poll, and its next claim polls this URL instead of calling again. NULL otherwise: cleared when the job is done, retried from a new call or dead',
  accepted_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the service first answered this attempt with 202 (UTC). processor.async_deadline_seconds runs from it. NULL when status_url is NULL',
  created_at DATETIME(6) NOT NULL COMMENT 'When the job was created (UTC), with its video',
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6) COMMENT 'Last change to this row (UTC), maintained by the server',
  finished_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the job reached done, dead or cancelled (UTC), NULL otherwise',
  PRIMARY KEY (id),
  KEY ix_jobs_claim (state, run_after, id),
  KEY ix_jobs_lease (state, lease_expires_at),
  KEY ix_jobs_video (video_id),
  KEY ix_jobs_finished (finished_at) COMMENT 'The janitor''s archive pass: finished jobs oldest first (NULL until finished)',
  CONSTRAINT fk_jobs_video FOREIGN KEY (video_id) REFERENCES videos (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Work queue, one row per unit of work. Claim: WHERE state=ready AND run_after<=NOW(6) ORDER BY run_after, id LIMIT n FOR UPDATE SKIP LOCKED under READ COMMITTED. ix_jobs_claim (state, run_after, id) makes that an index range scan in index order with no filesort that starts at the oldest due job and stops after n rows or at the end of the due range. This matters because InnoDB locks every row it scans: scheduled and backoff rows sort after every due row, so they are never scanned ahead of ready ones (only when fewer than n are due does InnoDB read, and briefly lock, the one entry just past the range). priority is not in the index and not in the ORDER BY. ix_jobs_lease serves the lease reaper (state=running AND lease_expires_at<now). ON DELETE RESTRICT: videos are marked deleted, never deleted';

CREATE TABLE IF NOT EXISTS job_attempts (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Attempt row id',
  job_id BIGINT UNSIGNED NOT NULL COMMENT 'The job (jobs.id)',
  attempt INT UNSIGNED NOT NULL COMMENT 'Attempt number, 1 for the first, equal to jobs.attempts at the claim that started it',
  worker VARCHAR(255) NOT NULL COMMENT 'host:pid of the worker that made the attempt',
  lease_token CHAR(32) CHARACTER SET ascii NOT NULL COMMENT 'The lease token of the claim that started this attempt',
  started_at DATETIME(6) NOT NULL COMMENT 'When the attempt was claimed (UTC)',
  finished_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the outcome was known (UTC), NULL while running',
  outcome ENUM('running','done','retry','dead','lost','released','accepted') NOT NULL DEFAULT 'running' COMMENT 'running: in flight (a call or a status poll). done: succeeded. retry: failed, job rescheduled. dead: failed, job dead. lost: lease expired and reaped. released: handed back unfinished (drain, circuit breaker). accepted: the service answered 202 and works on it; the job waits with jobs.status_url and the next claim polls (finished_at: the latest 202)',
  http_status SMALLINT NULL DEFAULT NULL COMMENT 'HTTP status the processing service answered, NULL if none (timeout, connection error)',
  error VARCHAR(1000) NULL DEFAULT NULL COMMENT 'Error text for a failed attempt, truncated to 1000 characters, NULL if none',
  PRIMARY KEY (id),
  UNIQUE KEY ux_job_attempts_attempt (job_id, attempt),
  CONSTRAINT fk_job_attempts_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='History of every attempt of every job, kept when the job goes dead. ON DELETE CASCADE: attempts are the job own log and go if a DBA purges the job';

-- jobs_archive, job_attempts_archive (008): finished jobs older than
-- retention.archive_after_days, moved out of jobs and job_attempts by the
-- janitor in batches (docs/dba.md, "The archive").
CREATE TABLE IF NOT EXISTS jobs_archive (
  id BIGINT UNSIGNED NOT NULL COMMENT 'Job id, as it was in jobs (ids are never reused: the live table keeps numbering past them)',
  video_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'The video this job works on (videos.id)',
  kind VARCHAR(32) CHARACTER SET ascii NOT NULL DEFAULT 'process' COMMENT 'What to do. process: hand the video to the processing service',
  state ENUM('ready','running','done','dead','cancelled') NOT NULL DEFAULT 'ready' COMMENT 'ready: waiting to be claimed once run_after has passed. running: leased by a worker. done: succeeded. dead: failed for good (4xx or attempts used up), can be requeued. cancelled: video deleted before the job ran',
  priority SMALLINT NOT NULL DEFAULT 0 COMMENT 'Reserved for DBAs and future use. The claim orders by run_after, id and ignores it',
  run_after DATETIME(6) NOT NULL COMMENT 'Earliest time (UTC) the job may be claimed: creation time, the retry time after backoff and Retry-After, or (status_url set) the next status poll',
  attempts INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Attempts started so far, incremented at each claim that calls the service (a claim that polls status_url is not an attempt). Equals the attempt number of the latest job_attempts row, so it never goes back',
  max_attempts INT UNSIGNED NOT NULL COMMENT 'The job goes dead when an attempt fails with attempts >= max_attempts. Raise it to grant more attempts',
  lease_owner VARCHAR(255) NULL DEFAULT NULL COMMENT 'host:pid of the worker holding the lease, NULL unless running',
  lease_token CHAR(32) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'Fencing token, fresh at every claim. Every write after a claim says WHERE id=? AND lease_token=?, so a worker whose lease was taken over changes nothing',
  lease_expires_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the lease runs out (UTC), renewed while the call is in flight. A running job past it is reaped by the janitor',
  last_error VARCHAR(1000) NULL DEFAULT NULL COMMENT 'Error of the last failed attempt, truncated to 1000 characters, NULL if none',
  last_http_status SMALLINT NULL DEFAULT NULL COMMENT 'HTTP status of the last answer from the processing service, NULL if there was none (timeout, connection error)',
  status_url VARCHAR(2048) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'The status_url of the service''s 202, as it named it (relative to processor.url or absolute on its origin), checked before it is stored. Set while the service works on the job: the job is ready with run_after at the next poll, and its next claim polls this URL instead of calling again. NULL otherwise: cleared when the job is done, retried from a new call or dead',
  accepted_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the service first answered this attempt with 202 (UTC). processor.async_deadline_seconds runs from it. NULL when status_url is NULL',
  created_at DATETIME(6) NOT NULL COMMENT 'When the job was created (UTC), with its video',
  updated_at DATETIME(6) NOT NULL COMMENT 'Last change to the row while it was live (UTC), as it was when archived',
  finished_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the job reached done, dead or cancelled (UTC), NULL otherwise',
  archived_at DATETIME(6) NOT NULL COMMENT 'When the janitor moved the job here from jobs (UTC)',
  PRIMARY KEY (id),
  KEY ix_jobs_archive_video (video_id),
  KEY ix_jobs_archive_finished (finished_at),
  KEY ix_jobs_archive_archived (archived_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Finished jobs (done, dead, cancelled) moved out of jobs by the janitor once finished_at is older than retention.archive_after_days, in batches, each batch one transaction with its job_attempts rows. Same columns as jobs plus archived_at, and the same id. No worker reads it; GET /v1/videos/{id} and vingestctl fall back to it. Query live and archived together through v_jobs_all. No foreign keys: it is history, and a DBA may copy it elsewhere or drop old rows freely';

CREATE TABLE IF NOT EXISTS job_attempts_archive (
  id BIGINT UNSIGNED NOT NULL COMMENT 'Attempt row id, as it was in job_attempts',
  job_id BIGINT UNSIGNED NOT NULL COMMENT 'The job (jobs_archive.id)',
  attempt INT UNSIGNED NOT NULL COMMENT 'Attempt number, 1 for the first, equal to jobs.attempts at the claim that started it',
  worker VARCHAR(255) NOT NULL COMMENT 'host:pid of the worker that made the attempt',
  lease_token CHAR(32) CHARACTER SET ascii NOT NULL COMMENT 'The lease token of the claim that started this attempt',
  started_at DATETIME(6) NOT NULL COMMENT 'When the attempt was claimed (UTC)',
  finished_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the outcome was known (UTC), NULL while running',
  outcome ENUM('running','done','retry','dead','lost','released','accepted') NOT NULL DEFAULT 'running' COMMENT 'running: in flight (a call or a status poll). done: succeeded. retry: failed, job rescheduled. dead: failed, job dead. lost: lease expired and reaped. released: handed back unfinished (drain, circuit breaker). accepted: the service answered 202 and works on it; the job waits with jobs.status_url and the next claim polls (finished_at: the latest 202)',
  http_status SMALLINT NULL DEFAULT NULL COMMENT 'HTTP status the processing service answered, NULL if none (timeout, connection error)',
  error VARCHAR(1000) NULL DEFAULT NULL COMMENT 'Error text for a failed attempt, truncated to 1000 characters, NULL if none',
  archived_at DATETIME(6) NOT NULL COMMENT 'When the janitor moved the attempt here with its job (UTC)',
  PRIMARY KEY (id),
  UNIQUE KEY ux_job_attempts_archive_attempt (job_id, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Attempts of the jobs in jobs_archive, moved in the same transaction as their job. Same columns as job_attempts plus archived_at. Query with v_job_attempts_all';

CREATE TABLE IF NOT EXISTS workers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Worker row id',
  host VARCHAR(255) NOT NULL COMMENT 'Host name the process runs on',
  pid INT UNSIGNED NOT NULL COMMENT 'Process id on that host',
  role ENUM('supervisor','worker') NOT NULL COMMENT 'supervisor: the per-host coordinator (and possibly the janitor). worker: a forked worker process',
  started_at DATETIME(6) NOT NULL COMMENT 'When the process started (UTC). With host and pid it identifies one process, as pids are reused',
  heartbeat_at DATETIME(6) NOT NULL COMMENT 'Last heartbeat (UTC). A worker whose heartbeat is stale is killed and replaced by its supervisor',
  state ENUM('starting','running','draining','stopped') NOT NULL COMMENT 'starting, running, draining (stopped claiming, finishing in-flight jobs), stopped (exited cleanly)',
  jobs_in_flight INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Jobs the process holds right now, as of the last heartbeat',
  PRIMARY KEY (id),
  UNIQUE KEY ux_workers_process (host, pid, started_at),
  KEY ix_workers_heartbeat (heartbeat_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='The fleet: one row per supervisor and worker process, updated by heartbeats. Rows of long-dead processes may be purged by heartbeat_at. See v_fleet';

CREATE TABLE IF NOT EXISTS uploads (
  id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'Upload id, which is the id of the video it becomes (same format as videos.id). The staging path is derived from it',
  user_id BIGINT UNSIGNED NOT NULL COMMENT 'Owner (users.id)',
  kind ENUM('multipart','tus') NOT NULL COMMENT 'tus: a resumable upload session. multipart: written only by versions before migration 005 (a POST /v1/videos body being received); the orphan collector still removes such rows',
  state ENUM('receiving','stored','aborted') NOT NULL DEFAULT 'receiving' COMMENT 'receiving: bytes arriving in staging. stored: object written to object_key, video row not yet committed. aborted: given up (termination, expiry, bad input), bytes to remove',
  object_key VARCHAR(255) CHARACTER SET ascii NOT NULL COMMENT 'Where the committed object goes in the store (becomes videos.object_key)',
  upload_length BIGINT UNSIGNED NULL DEFAULT NULL COMMENT 'Bytes this upload reserves in staging: the declared total length (tus Upload-Length). NULL while a tus length is deferred (it then reserves limits.max_upload_bytes)',
  upload_offset BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Bytes received and durably staged so far (tus Upload-Offset)',
  metadata JSON NULL DEFAULT NULL COMMENT 'tus Upload-Metadata, decoded into a JSON object (filename, title, metadata), NULL if none',
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'When the upload started (UTC)',
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6) COMMENT 'Last change (UTC), moves with every chunk received. The orphan collector goes by it',
  expires_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When an unfinished tus upload expires (UTC, tus Upload-Expires), NULL for multipart',
  PRIMARY KEY (id),
  KEY ix_uploads_user (user_id),
  KEY ix_uploads_state_updated (state, updated_at),
  KEY ix_uploads_expires (expires_at),
  CONSTRAINT fk_uploads_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Uploads not yet committed as videos: tus sessions, inserted and committed before the first byte is staged and deleted in the same transaction that inserts the video. A multipart POST writes no row: its staging file (staging/<id>.part, kept until after COMMIT) is its mark, swept by the host''s supervisor. Any row here untouched past the grace period marks bytes the collector must remove (then it deletes the row)';

-- upload_grants (007): one-time upload URLs, POST /v1/upload-urls.
CREATE TABLE IF NOT EXISTS upload_grants (
  id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'Grant id, which is the id of the video an upload through it becomes (same format as videos.id)',
  user_id BIGINT UNSIGNED NOT NULL COMMENT 'Owner of the video to come (users.id): the user of the API key that asked for the grant',
  token_hash CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'Lower-case hex SHA-256 of the URL''s 256-bit token. The token itself is never stored',
  max_bytes BIGINT UNSIGNED NOT NULL COMMENT 'Largest video this grant takes, at most limits.max_upload_bytes when it was made',
  title VARCHAR(2000) NULL DEFAULT NULL COMMENT 'Title the video gets (wins over the upload''s own), NULL: the upload''s',
  metadata JSON NULL DEFAULT NULL COMMENT 'Metadata the video gets (wins over the upload''s own), NULL: the upload''s',
  claim ENUM('multipart','tus') NULL DEFAULT NULL COMMENT 'Which upload holds the grant: multipart (a POST receiving its body), tus (a resumable upload created through the URL), NULL: none',
  claimed_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When claim was taken (UTC). A multipart claim older than an hour is taken to be a crashed request',
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'When the grant was made (UTC)',
  expires_at DATETIME(6) NOT NULL COMMENT 'When the URL stops taking uploads (UTC): created_at + expires_in, at most limits.upload_url_max_seconds',
  used_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the video was committed (UTC), in the same transaction; NULL while unused. A used grant takes nothing more',
  PRIMARY KEY (id),
  KEY ix_upload_grants_user (user_id),
  KEY ix_upload_grants_expires (expires_at),
  CONSTRAINT fk_upload_grants_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='One-time upload URLs (POST /v1/upload-urls): a grant to upload one video as its user without credentials. Rows are small and kept; unused rows past expires_at may be deleted by a DBA';

-- object_chunks (003): video bytes when store.backend = db, written in the
-- same transaction as the video; empty with the fs and s3 backends.
CREATE TABLE IF NOT EXISTS object_chunks (
  object_key VARCHAR(255) CHARACTER SET ascii NOT NULL COMMENT 'The object (videos.object_key) this chunk belongs to',
  seq INT UNSIGNED NOT NULL COMMENT 'Chunk number, from 0, in byte order',
  bytes INT UNSIGNED NOT NULL COMMENT 'Length of data (so sizes are known without reading it)',
  data LONGBLOB NOT NULL COMMENT 'The bytes: object offset = sum of bytes of the chunks before it',
  PRIMARY KEY (object_key, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC
  COMMENT='Video bytes for store.backend=db, written with the video in one transaction';

-- v_queue: one row per job state, always all five.
--   jobs                count of jobs in that state
--   oldest_ready_age_s  state ready only: seconds since the oldest run_after
--                       among due ready jobs (how late the queue runs), else NULL
--   due                 state ready only: ready jobs with run_after <= now
--   scheduled           state ready only: ready jobs waiting for a future run_after
-- Times are compared with UTC_TIMESTAMP(6), so the view is right whatever the
-- session time_zone. Counting done jobs walks the whole index prefix for done,
-- which takes a while on a big table: for monitoring, read the ready row.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW v_queue AS
SELECT 'ready' AS state,
  (SELECT COUNT(*) FROM jobs j WHERE j.state = 'ready') AS jobs,
  (SELECT ROUND(TIMESTAMPDIFF(MICROSECOND, MIN(j.run_after), UTC_TIMESTAMP(6)) / 1000000, 3)
     FROM jobs j WHERE j.state = 'ready' AND j.run_after <= UTC_TIMESTAMP(6)) AS oldest_ready_age_s,
  (SELECT COUNT(*) FROM jobs j WHERE j.state = 'ready' AND j.run_after <= UTC_TIMESTAMP(6)) AS due,
  (SELECT COUNT(*) FROM jobs j WHERE j.state = 'ready' AND j.run_after > UTC_TIMESTAMP(6)) AS scheduled
UNION ALL
SELECT 'running' AS state, (SELECT COUNT(*) FROM jobs j WHERE j.state = 'running') AS jobs,
  NULL AS oldest_ready_age_s, NULL AS due, NULL AS scheduled
UNION ALL
SELECT 'done' AS state, (SELECT COUNT(*) FROM jobs j WHERE j.state = 'done') AS jobs,
  NULL AS oldest_ready_age_s, NULL AS due, NULL AS scheduled
UNION ALL
SELECT 'dead' AS state, (SELECT COUNT(*) FROM jobs j WHERE j.state = 'dead') AS jobs,
  NULL AS oldest_ready_age_s, NULL AS due, NULL AS scheduled
UNION ALL
SELECT 'cancelled' AS state, (SELECT COUNT(*) FROM jobs j WHERE j.state = 'cancelled') AS jobs,
  NULL AS oldest_ready_age_s, NULL AS due, NULL AS scheduled;

-- v_dead_jobs: dead jobs, newest first, with the owner name and the error of
-- the last attempt (from job_attempts). Requeue one with the UPDATE in
-- docs/dba.md or with vingestctl jobs retry ID.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW v_dead_jobs AS
SELECT j.id AS job_id,
  j.video_id AS video_id,
  u.name AS user_name,
  j.attempts AS attempts,
  j.max_attempts AS max_attempts,
  j.last_http_status AS last_http_status,
  j.last_error AS last_error,
  j.finished_at AS finished_at,
  (SELECT a.error FROM job_attempts a WHERE a.job_id = j.id ORDER BY a.attempt DESC LIMIT 1) AS last_attempt_error
FROM jobs j
JOIN videos v ON v.id = j.video_id
JOIN users u ON u.id = v.user_id
WHERE j.state = 'dead'
ORDER BY j.finished_at DESC, j.id DESC;

-- v_fleet: every supervisor and worker process with the age of its heartbeat.
-- alive = 1 when the heartbeat is at most 30 seconds old (a stopped process
-- that just exited can still show alive = 1, its state says stopped). Ages are
-- computed with UTC_TIMESTAMP(6), so they are right whatever the session
-- time_zone.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW v_fleet AS
SELECT w.id AS worker_id,
  w.host AS host,
  w.pid AS pid,
  w.role AS role,
  w.state AS state,
  w.started_at AS started_at,
  w.heartbeat_at AS heartbeat_at,
  ROUND(TIMESTAMPDIFF(MICROSECOND, w.heartbeat_at, UTC_TIMESTAMP(6)) / 1000000, 3) AS heartbeat_age_s,
  w.jobs_in_flight AS jobs_in_flight,
  (w.heartbeat_at >= UTC_TIMESTAMP(6) - INTERVAL 30 SECOND) AS alive
FROM workers w
ORDER BY w.host, w.role, w.pid;

-- v_jobs_all, v_job_attempts_all: live and archived rows together (archived_at
-- is NULL for a live row). A job is in exactly one of the two tables: the
-- janitor moves it in one transaction. Filter on id or video_id (both tables
-- have indexes on them) rather than scanning years of rows.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW v_jobs_all AS
SELECT id, video_id, kind, state, priority, run_after, attempts, max_attempts, lease_owner, lease_token, lease_expires_at, last_error, last_http_status, status_url, accepted_at, created_at, updated_at, finished_at, NULL AS archived_at FROM jobs
UNION ALL
SELECT id, video_id, kind, state, priority, run_after, attempts, max_attempts, lease_owner, lease_token, lease_expires_at, last_error, last_http_status, status_url, accepted_at, created_at, updated_at, finished_at, archived_at FROM jobs_archive;

CREATE OR REPLACE SQL SECURITY INVOKER VIEW v_job_attempts_all AS
SELECT id, job_id, attempt, worker, lease_token, started_at, finished_at, outcome, http_status, error, NULL AS archived_at FROM job_attempts
UNION ALL
SELECT id, job_id, attempt, worker, lease_token, started_at, finished_at, outcome, http_status, error, archived_at FROM job_attempts_archive;

-- webhook_endpoints, webhook_outbox, v_webhook_deliveries (009): webhooks.
-- Endpoints are copied to every shard; the outbox row is written in the
-- transaction of the change it reports (on the video's shard).
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  user_id BIGINT UNSIGNED NOT NULL COMMENT 'The user (users.id) whose video events go to this endpoint; one endpoint a user',
  url VARCHAR(2048) CHARACTER SET ascii NOT NULL COMMENT 'Where events are POSTed: an http or https URL, checked when set. Delivery refuses loopback, private and link-local addresses unless webhooks.allow_private is set',
  secret VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'The signing secret (whsec_ and 64 hex digits): the HMAC-SHA256 key of Vingest-Signature. Shown to the user when set or rotated',
  previous_secret VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL COMMENT 'The secret before the last rotation, NULL if never rotated. Deliveries carry a second v1 signature under it for webhooks.rotation_grace_seconds after rotated_at',
  rotated_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the secret was last rotated (UTC), NULL if never',
  created_at DATETIME(6) NOT NULL COMMENT 'When the endpoint was first set (UTC)',
  updated_at DATETIME(6) NOT NULL COMMENT 'When the URL or the secret last changed (UTC)',
  PRIMARY KEY (user_id),
  CONSTRAINT fk_webhook_endpoints_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Webhook endpoint and signing secret per user, the same row on every shard (written by vingestctl and the API on each)';

CREATE TABLE IF NOT EXISTS webhook_outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Row id on this shard (delivery order)',
  event_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'The event id the receiver sees (body id, Vingest-Event-Id): evt_ and 32 hex digits, the same on every delivery of this event, so receivers drop duplicates by it',
  user_id BIGINT UNSIGNED NOT NULL COMMENT 'The user whose endpoint gets the event (users.id)',
  event_type ENUM('video.stored','video.processed','video.failed','video.deleted') NOT NULL COMMENT 'What happened to the video',
  video_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'The video the event is about (videos.id)',
  payload JSON NOT NULL COMMENT 'The event''s data object: the video as the reporting transaction left it',
  state ENUM('pending','delivered','dead') NOT NULL DEFAULT 'pending' COMMENT 'pending: to be delivered at next_attempt_at (also while a worker delivers it). delivered: a 2xx came back. dead: webhooks.max_attempts used up, or no endpoint any more; vingestctl webhook replay makes it pending again',
  attempts INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Deliveries started, counted when a worker claims the row',
  next_attempt_at DATETIME(6) NOT NULL COMMENT 'Pending: when the row is next due (UTC). A claim moves it past the delivery time-out, so a row whose worker died comes due again',
  claim_token CHAR(32) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'The token of the delivery in flight; the outcome is written only where it still matches, so a worker whose claim ran out cannot overwrite a newer one',
  last_status SMALLINT UNSIGNED NULL DEFAULT NULL COMMENT 'HTTP status of the last delivery attempt, NULL if none or if no answer came',
  last_error VARCHAR(500) NULL DEFAULT NULL COMMENT 'Why the last attempt failed (time-out, refused address, HTTP status), NULL after success',
  created_at DATETIME(6) NOT NULL COMMENT 'When the event happened: the reporting transaction (UTC); the body''s created_at',
  delivered_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When a 2xx came back (UTC), NULL until then',
  PRIMARY KEY (id),
  UNIQUE KEY ux_webhook_outbox_event (event_id),
  KEY ix_webhook_outbox_due (state, next_attempt_at, id),
  KEY ix_webhook_outbox_video (video_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Webhook events, written in the transaction of the change they report (on the video''s shard) and delivered from here by the workers, at least once';

-- v_webhook_deliveries: every webhook event with its delivery state, newest
-- first, with the owner name and the endpoint it goes to. Dead ones:
-- WHERE state = 'dead'; replay with vingestctl webhook replay.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW v_webhook_deliveries AS
SELECT o.event_id AS event_id,
  o.event_type AS event_type,
  o.video_id AS video_id,
  u.name AS user_name,
  e.url AS url,
  o.state AS state,
  o.attempts AS attempts,
  o.last_status AS last_status,
  o.last_error AS last_error,
  o.created_at AS created_at,
  o.next_attempt_at AS next_attempt_at,
  o.delivered_at AS delivered_at
FROM webhook_outbox o
JOIN users u ON u.id = o.user_id
LEFT JOIN webhook_endpoints e ON e.user_id = o.user_id
ORDER BY o.id DESC;
