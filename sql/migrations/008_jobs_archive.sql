-- 008_jobs_archive: finished jobs leave the live tables.
--
-- Years of done jobs would otherwise pile up in jobs and job_attempts, the
-- tables every worker claims from and writes to. The janitor now moves jobs
-- that finished (done, dead, cancelled) more than retention.archive_after_days
-- ago, with their attempts, into jobs_archive and job_attempts_archive: in
-- batches of retention.archive_batch jobs, each batch one short transaction
-- (INSERT ... SELECT into the archive, then DELETE from the live tables).
-- Archiving in batches rather than RANGE partitioning keeps the schema DBAs
-- know (see docs/dba.md). ix_jobs_finished lets each batch find its jobs
-- without scanning: a range on finished_at, which is NULL for every job not
-- finished. Adding it is an online ALTER in MariaDB (no table lock), but on a
-- big jobs table it reads the whole table once: run the migration off-peak.
ALTER TABLE jobs ADD KEY ix_jobs_finished (finished_at) COMMENT 'The janitor''s archive pass: finished jobs oldest first (NULL until finished)';

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
