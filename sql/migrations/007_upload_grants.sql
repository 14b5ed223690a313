-- 007_upload_grants: one-time upload URLs (POST /v1/upload-urls).
--
-- A grant lets a browser that holds no API key upload one video as the
-- key's user: the URL carries the grant's id and a 256-bit random token, of
-- which only the SHA-256 is kept here (as api_keys keeps key_hash). The id is
-- the id the video will have, so the row lives on the shard the id names,
-- next to that video. used_at is set in the transaction that inserts the
-- video: one grant, one video. claim says which upload holds the grant while
-- its bytes arrive (a multipart POST for the length of its request, a tus
-- upload until it finishes or the grant expires), so a second upload to the
-- same URL is refused before its body is read.
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
