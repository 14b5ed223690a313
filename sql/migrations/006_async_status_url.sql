-- 006_async_status_url: a job accepted with 202 waits for the service in
-- the database, not in a worker's memory.
--
-- When the processing service answers a call with 202 and a status_url on
-- its own origin, the worker stores that status_url (as the service named
-- it) and the time of that first 202 in the job, puts the job back to ready
-- with run_after at the next poll, and lets go of it: no lease, no
-- concurrency slot, nothing for a drain, reload or crash to lose. The next
-- claim of a job with a status_url polls it (GET) instead of calling again,
-- and a poll is not an attempt. The deadline, processor.async_deadline_seconds,
-- runs from accepted_at. A job attempt that got a 202 has the outcome
-- 'accepted' while the job waits. Adding nullable columns, rewording
-- comments and appending an ENUM value are instant in MariaDB >= 10.4:
-- no table copy.
ALTER TABLE jobs
  MODIFY run_after DATETIME(6) NOT NULL COMMENT 'Earliest time (UTC) the job may be claimed: creation time, the retry time after backoff and Retry-After, or (status_url set) the next status poll',
  MODIFY attempts INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Attempts started so far, incremented at each claim that calls the service (a claim that polls status_url is not an attempt). Equals the attempt number of the latest job_attempts row, so it never goes back',
  ADD COLUMN status_url VARCHAR(2048) CHARACTER SET ascii NULL DEFAULT NULL COMMENT 'The status_url of the service''s 202, as it named it (relative to processor.url or absolute on its origin), checked before it is stored. Set while the service works on the job: the job is ready with run_after at the next poll, and its next claim polls this URL instead of calling again. NULL otherwise: cleared when the job is done, retried from a new call or dead' AFTER last_http_status,
  ADD COLUMN accepted_at DATETIME(6) NULL DEFAULT NULL COMMENT 'When the service first answered this attempt with 202 (UTC). processor.async_deadline_seconds runs from it. NULL when status_url is NULL' AFTER status_url;
ALTER TABLE job_attempts
  MODIFY outcome ENUM('running','done','retry','dead','lost','released','accepted') NOT NULL DEFAULT 'running' COMMENT 'running: in flight (a call or a status poll). done: succeeded. retry: failed, job rescheduled. dead: failed, job dead. lost: lease expired and reaped. released: handed back unfinished (drain, circuit breaker). accepted: the service answered 202 and works on it; the job waits with jobs.status_url and the next claim polls (finished_at: the latest 202)';
