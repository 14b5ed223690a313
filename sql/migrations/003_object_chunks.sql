-- 003_object_chunks: the bytes of videos when store.backend = db.
--
-- Small installs can keep everything in MariaDB: the object's chunks are
-- written in the same transaction as its videos and jobs rows, so object,
-- metadata and job commit as one, and one backup holds all of it. Each row is
-- at most store.db_chunk_bytes (1 MiB by default), well under the server's
-- max_allowed_packet. Empty unless store.backend = db.
CREATE TABLE object_chunks (
  object_key VARCHAR(255) CHARACTER SET ascii NOT NULL COMMENT 'The object (videos.object_key) this chunk belongs to',
  seq INT UNSIGNED NOT NULL COMMENT 'Chunk number, from 0, in byte order',
  bytes INT UNSIGNED NOT NULL COMMENT 'Length of data (so sizes are known without reading it)',
  data LONGBLOB NOT NULL COMMENT 'The bytes: object offset = sum of bytes of the chunks before it',
  PRIMARY KEY (object_key, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC
  COMMENT='Video bytes for store.backend=db, written with the video in one transaction';
