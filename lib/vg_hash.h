/*
 * vg_hash.h - streaming SHA-256 (OpenSSL libcrypto) and hex helpers.
 */
#ifndef VG_HASH_H
#define VG_HASH_H

#include <stddef.h>

#define VG_SHA256_LEN 32
#define VG_SHA256_HEX (2 * VG_SHA256_LEN + 1)

struct vg_sha256 {
	void *ctx; /* EVP_MD_CTX, owned */
};

/* Starts a digest. Aborts on allocation failure like every small allocation. */
void vg_sha256_init(struct vg_sha256 *h);
void vg_sha256_update(struct vg_sha256 *h, const void *buf, size_t len);
/* Writes the lower-case hex digest (NUL-terminated) and frees the context. */
void vg_sha256_final_hex(struct vg_sha256 *h, char out[VG_SHA256_HEX]);
/* Frees an unfinished digest; safe after final and on a zeroed struct. */
void vg_sha256_free(struct vg_sha256 *h);

/* One-shot hex SHA-256 of len bytes. */
void vg_sha256_hex(const void *buf, size_t len, char out[VG_SHA256_HEX]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void vg_hex(const unsigned char *in, size_t n, char *out);

#endif
