/*
 * vg_hash.c - SHA-256 through OpenSSL's EVP interface (see vg_hash.h).
 */
#include "vg_hash.h"

#include <openssl/evp.h>
#include <stdlib.h>

void vg_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void vg_sha256_init(struct vg_sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	h->ctx = ctx;
}

void vg_sha256_update(struct vg_sha256 *h, const void *buf, size_t len)
{
	if (EVP_DigestUpdate(h->ctx, buf, len) != 1)
		abort();
}

void vg_sha256_final_hex(struct vg_sha256 *h, char out[VG_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != VG_SHA256_LEN)
		abort();
	vg_hex(md, n, out);
	vg_sha256_free(h);
}

void vg_sha256_free(struct vg_sha256 *h)
{
	if (h && h->ctx) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
	}
}

void vg_sha256_hex(const void *buf, size_t len, char out[VG_SHA256_HEX])
{
	struct vg_sha256 h;

	vg_sha256_init(&h);
	vg_sha256_update(&h, buf, len);
	vg_sha256_final_hex(&h, out);
}
