/*
 * test_shards.c - unit tests for the shard list ([db] shards) and the choice
 * of a shard for a new video.
 *
 * The list's order is the shard numbering every video id carries, so parsing
 * must be exact and strict; the round robin must follow the weights, skip a
 * shard known to be down and never pick one of weight 0.
 */
#include "tap.h"
#include "vg_config.h"
#include "vg_id.h"
#include "vg_shards.h"

#include <string.h>

static struct vg_config cfg_with(const char *shards)
{
	struct vg_config c;

	memset(&c, 0, sizeof(c));
	c.db.host = (char *)"localhost";
	c.db.port = 3306;
	c.db.socket = (char *)"/run/mysqld/mysqld.sock";
	c.db.user = (char *)"vingest";
	c.db.password = (char *)"";
	c.db.name = (char *)"vingest";
	c.db.connect_timeout_seconds = 1;
	c.db.shards = (char *)shards;
	return c;
}

int main(void)
{
	struct vg_shard_addr a[VG_SHARDS_MAX];
	char why[200], buf[300];
	struct vg_config c;
	int n;

	c = cfg_with("");
	n = vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why));
	is_int(n, 1, "an empty list is the one [db] server");
	is_str(a[0].socket, "/run/mysqld/mysqld.sock", "with its socket");
	is_int((int)a[0].weight, 1, "and weight 1");

	c = cfg_with(" 10.0.0.1:3306, unix:/run/s2.sock*2 ,db-3.example:3307*0 ");
	n = vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why));
	is_int(n, 3, "three entries, spaces around them ignored");
	is_str(a[0].host, "10.0.0.1", "shard 0's host");
	is_int((int)a[0].port, 3306, "shard 0's port");
	is_str(a[1].socket, "/run/s2.sock", "shard 1 is a unix socket");
	is_int((int)a[1].weight, 2, "of weight 2");
	is_str(a[2].host, "db-3.example", "shard 2's host");
	is_int((int)a[2].weight, 0, "of weight 0 (drained)");
	is_str(vg_shard_addr_str(&a[1], buf, sizeof(buf)), "unix:/run/s2.sock", "shown for logs");

	c = cfg_with("10.0.0.1");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
	       "a host without port is refused");
	ok(strstr(why, "'10.0.0.1'") != NULL, "the refusal names the entry: %s", why);
	c = cfg_with("10.0.0.1:0");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1, "port 0 is refused");
	c = cfg_with("10.0.0.1:3306*x");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
	       "a bad weight is refused");
	c = cfg_with("10.0.0.1:3306*1001");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
	       "a weight over 1000 is refused");
	c = cfg_with("unix:relative.sock");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
	       "a relative socket is refused");
	c = cfg_with("a:1*0,b:2*0");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
	       "all weights 0 is refused");
	c = cfg_with("bad host:3306");
	is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
	       "a host with a space is refused");
	{
		char big[VG_SHARDS_MAX * 12 + 20] = "";

		for (int i = 0; i <= VG_SHARDS_MAX; i++)
			strcat(big, "h:1,");
		c = cfg_with(big);
		is_int(vg_shard_addrs(&c, a, VG_SHARDS_MAX, why, sizeof(why)), -1,
		       "more than VG_SHARDS_MAX entries are refused");
	}

	/* the round robin follows the weights and skips weight 0 */
	{
		struct vg_shards s;
		int count[3] = {0, 0, 0};

		c = cfg_with(
			"unix:/nonexistent/a.sock,unix:/nonexistent/b.sock*3,unix:/nonexistent/c.sock*0");
		vg_shards_init(&s, &c);
		is_int((int)s.n, 3, "three shards");
		for (int i = 0; i < 400; i++) {
			int k = vg_shards_pick(&s);

			if (k >= 0 && k < 3)
				count[k]++;
		}
		is_int(count[0], 100, "weight 1 of 4: a quarter of the picks");
		is_int(count[1], 300, "weight 3 of 4: three quarters");
		is_int(count[2], 0, "weight 0: none");

		/* a failed connect marks shard 1 down: everything goes to shard 0 */
		ok(vg_db_ensure(s.db[1]) < 0, "shard 1 cannot be reached");
		is_int(vg_db_known_down(s.db[1]), 1, "and is known down for a moment");
		count[0] = count[1] = 0;
		for (int i = 0; i < 10; i++) {
			int k = vg_shards_pick(&s);

			if (k >= 0 && k < 3)
				count[k]++;
		}
		is_int(count[0], 10, "while it is down, new videos go to shard 0");
		ok(vg_db_ensure(s.db[0]) < 0, "shard 0 cannot be reached either");
		is_int(vg_shards_pick(&s), -1, "every live shard down: no pick");
		is_int(vg_shards_by_hash(&s, 0), 0, "a hash picks among weighted shards: 0");
		is_int(vg_shards_by_hash(&s, 1), 1, "1");
		is_int(vg_shards_by_hash(&s, 3), 1, "3");
		is_int(vg_shards_by_hash(&s, 4), 0, "and wraps");
		{
			char id[VG_ID_LEN + 1];

			ok(vg_id_new(id, 2) == 0, "an id on shard 2");
			is_int(vg_shards_of_id(&s, id), 2, "routes to shard 2");
			ok(vg_id_new(id, 5) == 0, "an id naming shard 5");
			is_int(vg_shards_of_id(&s, id), -1, "names no shard of three");
		}
		vg_shards_close(&s);
	}
	{
		struct vg_shards one;
		char id[VG_ID_LEN + 1];

		c = cfg_with("");
		vg_shards_init(&one, &c);
		ok(vg_id_new(id, 7) == 0, "an id whose byte says shard 7");
		is_int(vg_shards_of_id(&one, id), 0, "with one shard, every id is shard 0's");
		vg_shards_close(&one);
	}
	is_int((int)vg_job_shard(17), 0, "job 17 is shard 0's");
	is_int((int)vg_job_shard(2 * VG_JOB_ID_SPAN + 5), 2, "job 2e12+5 is shard 2's");
	return tap_done();
}
