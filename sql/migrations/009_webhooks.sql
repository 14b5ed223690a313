-- 009_webhooks: per-user webhook endpoints and the transactional outbox.
--
-- A user's endpoint (URL and signing secret) is copied to every shard, like
-- users and api_keys, so the transaction that changes a video - on that
-- video's shard - can see whether an event is wanted and write it to the
-- outbox in the same COMMIT: an event is never lost, and never sent for a
-- change that rolled back. The workers deliver outbox rows at least once
-- (a claim moves next_attempt_at past the call's time-out, so a worker that
-- dies mid-delivery lets the row come due again with the same event_id).
CREATE TABLE webhook_endpoints (
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

CREATE TABLE webhook_outbox (
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
