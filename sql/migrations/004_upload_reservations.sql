-- 004_upload_reservations: what an unfinished upload reserves.
--
-- limits.staging_bytes_per_user caps the bytes one user's unfinished uploads
-- may hold in staging, and limits.open_uploads_per_user the number of their
-- unfinished tus uploads. Both are checked by the INSERT that starts an
-- upload, over the user's rows on ix_uploads_user: upload_length is what a
-- row reserves, so a multipart upload now records its body's Content-Length
-- there too (the file is at most that long). Only the comment changes.
ALTER TABLE uploads
  MODIFY upload_length BIGINT UNSIGNED NULL DEFAULT NULL COMMENT 'Bytes this upload reserves in staging: the declared total length (tus Upload-Length), or a multipart body''s Content-Length. NULL while a tus length is deferred (it then reserves limits.max_upload_bytes)';
