-- The LAMP baseline's tables (database bench_php on the bench stack's
-- MariaDB): the columns vingest fills for an upload, the same claim index on
-- jobs, InnoDB, so the per-upload database work is alike.
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS videos (
  id CHAR(26) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  object_key VARCHAR(255) CHARACTER SET ascii NOT NULL,
  size_bytes BIGINT UNSIGNED NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  content_type VARCHAR(255) NULL,
  filename VARCHAR(255) NULL,
  created_at DATETIME(6) NOT NULL,
  KEY ix_videos_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS jobs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  video_id CHAR(26) CHARACTER SET ascii NOT NULL,
  state ENUM('ready','running','done','dead','cancelled') NOT NULL DEFAULT 'ready',
  run_after DATETIME(6) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY ix_jobs_claim (state, run_after, id),
  KEY ix_jobs_video (video_id),
  CONSTRAINT fk_jobs_video FOREIGN KEY (video_id) REFERENCES videos (id)
) ENGINE=InnoDB;
INSERT IGNORE INTO api_keys VALUES (SHA2('bench-php-key', 256), 1);
