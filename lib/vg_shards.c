/*
 * vg_shards.c - the shard list and one process's connections to it (see vg_shards.h).
 */
#include "vg_shards.h"
#include "vg_config.h"
#include "vg_id.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WEIGHT 1000

/* The reason, "ENTRY: what is wrong", and -1. */
static int set_why(char *why, size_t whysz, const char *entry, const char *what)
{
	if (entry && *entry)
		snprintf(why, whysz, "'%.200s': %s", entry, what);
	else
		snprintf(why, whysz, "%s", what);
	return -1;
}

/* One entry, trimmed, without its commas: HOST:PORT or unix:/path, then *W. */
static int parse_entry(const char *e, size_t len, struct vg_shard_addr *a, char *why, size_t whysz)
{
	char buf[600], orig[600];
	char *star, *colon, *end;
	long v;

	if (len == 0 || len >= sizeof(buf))
		return set_why(why, whysz, NULL, "an entry is empty or too long");
	memcpy(buf, e, len);
	buf[len] = '\0';
	memcpy(orig, buf, len + 1);
	memset(a, 0, sizeof(*a));
	a->weight = 1;
	star = strrchr(buf, '*');
	if (star) {
		*star = '\0';
		v = strtol(star + 1, &end, 10);
		if (star[1] == '\0' || *end != '\0' || v < 0 || v > MAX_WEIGHT)
			return set_why(why, whysz, orig, "the weight after * must be 0..1000");
		a->weight = (unsigned)v;
	}
	if (strncmp(buf, "unix:", 5) == 0) {
		if (buf[5] != '/' || strlen(buf + 5) >= sizeof(a->socket))
			return set_why(why, whysz, buf, "unix: needs an absolute socket path");
		snprintf(a->socket, sizeof(a->socket), "%s", buf + 5);
		return 0;
	}
	colon = strrchr(buf, ':');
	if (!colon || colon == buf)
		return set_why(why, whysz, buf, "is neither HOST:PORT nor unix:/path");
	*colon = '\0';
	v = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || v < 1 || v > 65535)
		return set_why(why, whysz, orig, "the port must be 1..65535");
	if (strlen(buf) >= sizeof(a->host))
		return set_why(why, whysz, orig, "the host name is too long");
	for (const char *p = buf; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_[]:", *p))
			return set_why(why, whysz, orig, "the host has a character not allowed");
	snprintf(a->host, sizeof(a->host), "%s", buf);
	a->port = (unsigned)v;
	return 0;
}

int vg_shard_addrs(const struct vg_config *cfg, struct vg_shard_addr *out, unsigned max, char *why,
		   size_t whysz)
{
	const char *s = cfg->db.shards ? cfg->db.shards : "";
	unsigned n = 0, weighted = 0;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s) {
		if (max == 0)
			return set_why(why, whysz, NULL, "no room for a shard");
		memset(&out[0], 0, sizeof(out[0]));
		snprintf(out[0].host, sizeof(out[0].host), "%s", cfg->db.host);
		out[0].port = (unsigned)cfg->db.port;
		snprintf(out[0].socket, sizeof(out[0].socket), "%s", cfg->db.socket);
		out[0].weight = 1;
		return 1;
	}
	while (*s) {
		const char *e = s, *stop;
		size_t len;

		while (*s && *s != ',')
			s++;
		stop = s;
		while (stop > e && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		while (e < stop && (*e == ' ' || *e == '\t'))
			e++;
		len = (size_t)(stop - e);
		if (len) {
			if (n >= max || n >= VG_SHARDS_MAX) {
				snprintf(why, whysz, "more than %u shards", VG_SHARDS_MAX);
				return -1;
			}
			if (parse_entry(e, len, &out[n], why, whysz) < 0)
				return -1;
			weighted += out[n].weight > 0;
			n++;
		}
		if (*s == ',')
			s++;
	}
	if (n == 0)
		return set_why(why, whysz, NULL, "lists no server");
	if (weighted == 0)
		return set_why(why, whysz, NULL,
			       "every shard has weight 0: new videos could go nowhere");
	return (int)n;
}

const char *vg_shard_addr_str(const struct vg_shard_addr *a, char *buf, size_t bufsz)
{
	if (a->socket[0])
		snprintf(buf, bufsz, "unix:%s", a->socket);
	else
		snprintf(buf, bufsz, "%s:%u", a->host, a->port);
	return buf;
}

void vg_shards_init(struct vg_shards *s, const struct vg_config *cfg)
{
	struct vg_shard_addr *a = calloc(VG_SHARDS_MAX, sizeof(*a));
	char why[200];
	int n;
	unsigned char seed[VG_SHARDS_MAX];

	if (!a)
		abort();
	n = vg_shard_addrs(cfg, a, VG_SHARDS_MAX, why, sizeof(why));
	if (n < 1)
		abort(); /* vg_config_load validated the list */
	memset(s, 0, sizeof(*s));
	s->n = (unsigned)n;
	/* Processes start the round at different places, or every fresh
	 * process would send its first upload to shard 0. */
	if (vg_random_bytes(seed, sizeof(seed)) < 0)
		memset(seed, 0, sizeof(seed));
	for (unsigned k = 0; k < s->n; k++) {
		s->db[k] = vg_db_new_shard(cfg, k);
		if (!s->db[k])
			abort();
		s->weight[k] = a[k].weight;
		s->current[k] = (long long)(seed[k] % (a[k].weight + 1));
	}
	free(a);
}

void vg_shards_close(struct vg_shards *s)
{
	for (unsigned k = 0; k < s->n; k++) {
		vg_db_free(s->db[k]);
		s->db[k] = NULL;
	}
}

void vg_shards_forget(struct vg_shards *s)
{
	for (unsigned k = 0; k < s->n; k++)
		vg_db_forget(s->db[k]);
}

struct vg_db *vg_shards_db(struct vg_shards *s, unsigned k)
{
	return k < s->n ? s->db[k] : NULL;
}

int vg_shards_pick(struct vg_shards *s)
{
	long long total = 0;
	int best = -1;

	/* nginx's smooth weighted round robin over the live shards */
	for (unsigned k = 0; k < s->n; k++) {
		if (s->weight[k] == 0 || vg_db_known_down(s->db[k]))
			continue;
		s->current[k] += s->weight[k];
		total += s->weight[k];
		if (best < 0 || s->current[k] > s->current[best])
			best = (int)k;
	}
	if (best >= 0)
		s->current[best] -= total;
	return best;
}

int vg_shards_of_id(const struct vg_shards *s, const char *id)
{
	unsigned k;

	if (s->n <= 1)
		return 0;
	k = vg_id_shard(id);
	return k < s->n ? (int)k : -1;
}

int vg_shards_by_hash(const struct vg_shards *s, uint64_t h)
{
	unsigned long long total = 0, at;

	for (unsigned k = 0; k < s->n; k++)
		total += s->weight[k];
	if (total == 0)
		return -1;
	at = h % total;
	for (unsigned k = 0; k < s->n; k++) {
		if (at < s->weight[k])
			return (int)k;
		at -= s->weight[k];
	}
	return -1;
}
