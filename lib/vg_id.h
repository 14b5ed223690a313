/*
 * vg_id.h - video ids: 26 characters, time-ordered, unguessable.
 *
 * 128 bits written in Crockford base32 (like ULID): 48 bits of Unix time in
 * milliseconds, 8 bits naming the database shard that holds the video, and 72
 * random bits. Time first means ids sort by creation, so InnoDB inserts append
 * to the primary key and "newest first" is an index walk; the random part
 * makes ids impossible to enumerate; the shard byte lets any process route a
 * request by id alone. The upload id of a tus session is the same id.
 */
#ifndef VG_ID_H
#define VG_ID_H

#include <stddef.h>
#include <stdint.h>

#define VG_ID_LEN 26

/* Writes a new id (NUL-terminated) into out. Returns 0, or -1 if the kernel's
 * random source failed (logged). */
int vg_id_new(char out[VG_ID_LEN + 1], unsigned shard);

/* 1 if s is exactly a well-formed id (upper-case Crockford base32, 26 chars). */
int vg_id_valid(const char *s);

/* The shard byte and the creation time of a valid id. */
unsigned vg_id_shard(const char *id);
int64_t vg_id_time_ms(const char *id);

/* Fills buf with n bytes from getrandom(2). Returns 0 or -1 (logged). */
int vg_random_bytes(void *buf, size_t n);

#endif
