-- 002_retention_index: the retention sweep's index.
--
-- The janitor deletes expired videos with
--   WHERE deleted_at IS NULL AND expires_at < UTC_TIMESTAMP(6) ORDER BY expires_at
-- Deleted videos keep their rows, so on ix_videos_expires alone that range
-- would walk past every video ever deleted, more of them every year. With
-- deleted_at first, the sweep reads only live rows that are due.
ALTER TABLE videos
  ADD INDEX ix_videos_retention (deleted_at, expires_at) COMMENT 'Retention sweep: live (deleted_at IS NULL) videos in expiry order';
