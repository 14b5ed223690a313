/*
 * reserve.h - the uploads row that starts a tus upload, within the user's caps.
 *
 * A tus upload lives across requests, so its state is a committed `uploads`
 * row; the same INSERT is where the user's share of staging is enforced: it
 * inserts nothing when the user's unfinished uploads already reserve
 * limits.staging_bytes_per_user (each reserves its declared length; a
 * deferred length reserves limits.max_upload_bytes), or when the user already
 * has limits.open_uploads_per_user of them. One statement, no lock: two
 * uploads racing for the last room can both get it, which over-commits by
 * one upload at worst.
 *
 * The caps hold per metadata shard: a user's uploads on two shards are
 * counted apart (docs/operations.md, "Abuse and limits"). A multipart upload
 * lives for one request and writes no row: its staging bytes are capped per
 * host, in the scoreboard (scoreboard.h).
 */
#ifndef VG_APP_RESERVE_H
#define VG_APP_RESERVE_H

struct request;

struct reservation {
	const char *id;	       /* the upload id (the future video's) */
	const char *key;       /* its object key */
	long long length;      /* bytes reserved; -1: a tus length not known yet */
	const char *metadata;  /* the row's JSON, or NULL */
	long long ttl_seconds; /* expires_at = now + this */
};

/* Inserts the row on r's shard if the caps allow. 1 inserted; 0 refused
 * (answered: 429 too_many_open_uploads or 507 staging_quota_exceeded);
 * -1 the database did not answer (not answered: the caller may move on to
 * another shard). */
int reserve_upload(struct request *r, const struct reservation *v);

#endif
