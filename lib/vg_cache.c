/*
 * vg_cache.c - libmemcached with short timeouts and consistent hashing (see vg_cache.h).
 */
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_log.h"

#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg_cache_open(struct vg_cache *c, const struct vg_config *cfg)
{
	const char *servers = cfg->cache.servers;
	memcached_server_st *list;
	memcached_return_t rc;
	memcached_st *mc;

	c->mc = NULL;
	c->status_ttl = (unsigned)cfg->cache.status_ttl_seconds;
	if (!servers || !*servers)
		return 0;
	list = memcached_servers_parse(servers);
	if (!list) {
		vg_error("msg=\"cannot parse cache.servers\" servers=\"%s\"", servers);
		return -1;
	}
	mc = memcached_create(NULL);
	if (!mc) {
		memcached_server_list_free(list);
		return -1;
	}
	/* Binary protocol: increment-with-initial is one round trip. */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
			       MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
	/* Not NO_BLOCK: in that mode storage commands return before their reply
	 * is read, and the next command of the connection reads a stale reply. */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 200); /* ms */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 200);    /* ms */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, 200000);  /* us */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, 200000);  /* us */
	/* A dead server is skipped for a while instead of costing a timeout per call. */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 2);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 2); /* s */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 5);	 /* s */
	/* A pool: a server that keeps failing leaves the ring, so its keys move
	 * to the others (ketama moves only those) instead of failing open until
	 * it is back; it rejoins once it answers again (checked every
	 * RETRY_TIMEOUT). Not with one server: with it ejected the ring would be
	 * empty, and failing open is all there is to do anyway. */
	if (memcached_server_list_count(list) > 1)
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 1);
	rc = memcached_server_push(mc, list);
	memcached_server_list_free(list);
	if (rc != MEMCACHED_SUCCESS) {
		vg_error("msg=\"cannot use cache.servers\" servers=\"%s\" error=\"%s\"", servers,
			 memcached_strerror(mc, rc));
		memcached_free(mc);
		return -1;
	}
	c->mc = mc;
	return 0;
}

void vg_cache_close(struct vg_cache *c)
{
	if (c && c->mc) {
		memcached_free(c->mc);
		c->mc = NULL;
	}
}

static void note(struct vg_cache *c, const char *op, memcached_return_t rc)
{
	/* debug: the caller logs the consequence (fail open, fail closed) once */
	vg_debug("msg=\"cache %s failed\" error=\"%s\"", op, memcached_strerror(c->mc, rc));
}

long long vg_cache_incr(struct vg_cache *c, const char *key, uint64_t delta, unsigned ttl)
{
	uint64_t value = 0;
	memcached_return_t rc;

	if (!c->mc)
		return -1;
	rc = memcached_increment_with_initial(c->mc, key, strlen(key), delta, delta, (time_t)ttl,
					      &value);
	if (rc != MEMCACHED_SUCCESS) {
		note(c, "incr", rc);
		return -1;
	}
	return (long long)value;
}

int vg_cache_get(struct vg_cache *c, const char *key, char *buf, size_t bufsz)
{
	memcached_return_t rc;
	size_t len = 0;
	uint32_t flags = 0;
	char *v;

	if (!c->mc)
		return -1;
	v = memcached_get(c->mc, key, strlen(key), &len, &flags, &rc);
	if (!v) {
		if (rc == MEMCACHED_NOTFOUND)
			return 0;
		note(c, "get", rc);
		return -1;
	}
	if (len >= bufsz) {
		free(v);
		return 0; /* too big for the caller: treat as a miss */
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	free(v);
	return 1;
}

int vg_cache_set(struct vg_cache *c, const char *key, const char *val, size_t len, unsigned ttl)
{
	memcached_return_t rc;

	if (!c->mc)
		return -1;
	rc = memcached_set(c->mc, key, strlen(key), val, len, (time_t)ttl, 0);
	if (rc != MEMCACHED_SUCCESS) {
		note(c, "set", rc);
		return -1;
	}
	return 0;
}

int vg_cache_add(struct vg_cache *c, const char *key, const char *val, size_t len, unsigned ttl)
{
	memcached_return_t rc;

	if (!c->mc)
		return -1;
	rc = memcached_add(c->mc, key, strlen(key), val, len, (time_t)ttl, 0);
	if (rc == MEMCACHED_SUCCESS)
		return 1;
	if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
		return 0;
	note(c, "add", rc);
	return -1;
}

int vg_cache_delete(struct vg_cache *c, const char *key)
{
	memcached_return_t rc;

	if (!c->mc)
		return -1;
	rc = memcached_delete(c->mc, key, strlen(key), 0);
	if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
		note(c, "delete", rc);
		return -1;
	}
	return 0;
}
