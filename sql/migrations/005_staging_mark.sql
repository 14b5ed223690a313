-- 005_staging_mark: a multipart upload writes no uploads row any more.
--
-- A POST /v1/videos used to start by committing an uploads row (kind
-- 'multipart') so that a crash before its COMMIT left a row naming the bytes
-- for the orphan collector. Its staging file, named by the same id and kept
-- until after COMMIT, now does that job with no commit of its own (see
-- docs/architecture.md); the rows are tus uploads alone. Rows of kind
-- 'multipart' written by earlier versions are still collected after the
-- grace period. Only comments change.
ALTER TABLE uploads
  MODIFY kind ENUM('multipart','tus') NOT NULL COMMENT 'tus: a resumable upload session. multipart: written only by versions before migration 005 (a POST /v1/videos body being received); the orphan collector still removes such rows',
  MODIFY upload_length BIGINT UNSIGNED NULL DEFAULT NULL COMMENT 'Bytes this upload reserves in staging: the declared total length (tus Upload-Length). NULL while a tus length is deferred (it then reserves limits.max_upload_bytes)',
  COMMENT = 'Uploads not yet committed as videos: tus sessions, inserted and committed before the first byte is staged and deleted in the same transaction that inserts the video. A multipart POST writes no row: its staging file (staging/<id>.part, kept until after COMMIT) is its mark, swept by the host''s supervisor. Any row here untouched past the grace period marks bytes the collector must remove (then it deletes the row)';
