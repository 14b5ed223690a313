/*
 * vg_video_cache.c - cached video JSON with tombstones (see vg_video_cache.h).
 *
 * Value: "<user_id>\n<json>" - the owner is checked on every hit, so a
 * cached video is never shown to anyone but its owner. Tombstone: "-".
 */
#include "vg_video_cache.h"
#include "vg_alloc.h"
#include "vg_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_of(const char *id, char key[64])
{
	snprintf(key, 64, "vingest:video:%s", id);
}

int vg_video_cache_get(struct vg_cache *c, const char *id, long long user_id, char *buf,
		       size_t bufsz)
{
	char key[64], *nl;

	key_of(id, key);
	if (vg_cache_get(c, key, buf, bufsz) != 1 || buf[0] == '-')
		return 0;
	nl = strchr(buf, '\n');
	if (!nl || strtoll(buf, NULL, 10) != user_id)
		return 0;
	memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return 1;
}

void vg_video_cache_add(struct vg_cache *c, const char *id, long long user_id, const char *json)
{
	char key[64];
	char *val = vg_asprintf("%lld\n%s", user_id, json);

	key_of(id, key);
	vg_cache_add(c, key, val, strlen(val), c->status_ttl);
	free(val);
}

void vg_video_cache_invalidate(struct vg_cache *c, const char *id)
{
	char key[64];

	key_of(id, key);
	vg_cache_set(c, key, "-", 1, c->status_ttl);
}
