/*
 * vg_store_db.c - video bytes in MariaDB itself (store.backend = db).
 *
 * For installs with no object store and one backup story: the object's bytes
 * go into object_chunks rows (store.db_chunk_bytes each, under the server's
 * max_allowed_packet) inside the very transaction that inserts the video and
 * its job, so object, metadata and job commit as one. Publishing does nothing
 * (the staging file stays until COMMIT); vg_store_put_rows() reads it back a
 * chunk at a time, so memory stays one chunk whatever the video's size.
 *
 * Reads look up the chunk sizes first (the `bytes` column: no blob is
 * touched) and then fetch only the chunks a range needs, one at a time.
 * The cost against fs is measured in docs/operations.md ("store.backend").
 */
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_store.h"
#include "vg_store_backend.h"
#include "vg_failpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char insert_sql[] =
	"INSERT INTO object_chunks (object_key, seq, bytes, data) VALUES (?, ?, ?, ?)";
static const char delete_sql[] = "DELETE FROM object_chunks WHERE object_key = ?";
static const char sizes_sql[] =
	"SELECT seq, bytes FROM object_chunks WHERE object_key = ? ORDER BY seq";
static const char chunk_sql[] = "SELECT data FROM object_chunks WHERE object_key = ? AND seq = ?";
static const char list_sql[] = "SELECT object_key, SUM(bytes) FROM object_chunks "
			       "GROUP BY object_key ORDER BY object_key";
static const char check_sql[] = "SELECT 1 FROM object_chunks LIMIT 1";

static enum vg_store_status db_publish(struct vg_store *s, const char *staged, int fd,
				       const char *key, uint64_t size, const char *sha256)
{
	(void)s, (void)staged, (void)fd, (void)key, (void)size, (void)sha256;
	return VG_STORE_OK; /* the bytes go in with the rows (db_put_rows) */
}

static enum vg_store_status db_put_rows(struct vg_store *s, struct vg_db *db, const char *staged,
					const char *key)
{
	size_t chunk = (size_t)s->cfg->store.db_chunk_bytes;
	char *buf = vg_malloc(chunk);
	enum vg_store_status st = VG_STORE_ERR;
	int fd = open(staged, O_RDONLY | O_CLOEXEC);
	long long seq = 0;

	if (fd < 0) {
		vg_error("msg=\"cannot open the staged object\" path=\"%s\" error=\"%s\"", staged,
			 strerror(errno));
		goto out;
	}
	for (;;) {
		size_t have = 0;

		while (have < chunk) {
			ssize_t n = read(fd, buf + have, chunk - have);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				vg_error("msg=\"cannot read the staged object\" path=\"%s\" "
					 "error=\"%s\"",
					 staged, strerror(errno));
				goto out;
			}
			if (n == 0)
				break;
			have += (size_t)n;
		}
		if (have == 0 && seq > 0)
			break;
		{
			struct vg_db_param p[] = {vg_p_str(key), vg_p_i64(seq),
						  vg_p_i64((long long)have), vg_p_blob(buf, have)};

			if (VG_FAILPOINT("store.db_chunk") < 0 ||
			    vg_db_exec(db, insert_sql, p, VG_DB_NPARAMS(p)) != 1) {
				vg_error("msg=\"cannot write an object chunk\" key=%s seq=%lld "
					 "error=\"%s\"",
					 key, seq, vg_db_error(db));
				goto out;
			}
		}
		seq++;
		if (have < chunk)
			break;
	}
	st = VG_STORE_OK;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}

static enum vg_store_status db_remove(struct vg_store *s, const char *key)
{
	struct vg_db_param p[] = {vg_p_str(key)};

	if (!s->db || vg_db_exec(s->db, delete_sql, p, VG_DB_NPARAMS(p)) < 0) {
		vg_error("msg=\"cannot delete object chunks\" key=%s error=\"%s\"", key,
			 s->db ? vg_db_error(s->db) : "no connection");
		return VG_STORE_ERR;
	}
	return VG_STORE_OK;
}

/* The chunk sizes of key: rows of (seq, bytes). -1 on error. */
static long long sizes(struct vg_store *s, const char *key, struct vg_db_result *res)
{
	struct vg_db_param p[] = {vg_p_str(key)};

	if (!s->db)
		return -1;
	return vg_db_query(s->db, sizes_sql, p, VG_DB_NPARAMS(p), res);
}

static enum vg_store_status db_stat(struct vg_store *s, const char *key, long long *size)
{
	struct vg_db_result res;
	long long n = sizes(s, key, &res);

	if (n < 0)
		return VG_STORE_ERR;
	*size = 0;
	for (long long i = 0; i < n; i++)
		*size += strtoll(vg_db_cell(&res, (size_t)i, 1), NULL, 10);
	vg_db_result_free(&res);
	return n == 0 ? VG_STORE_MISSING : VG_STORE_OK;
}

static enum vg_store_status db_read(struct vg_store *s, const char *key, long long from,
				    long long to, vg_store_sink sink, void *arg)
{
	struct vg_db_result res;
	long long n = sizes(s, key, &res), start = 0;
	enum vg_store_status st = VG_STORE_OK;

	if (n < 0)
		return VG_STORE_ERR;
	if (n == 0) {
		vg_db_result_free(&res);
		return VG_STORE_MISSING;
	}
	for (long long i = 0; i < n && start <= to && st == VG_STORE_OK; i++) {
		long long len = strtoll(vg_db_cell(&res, (size_t)i, 1), NULL, 10);
		long long end = start + len - 1; /* this chunk holds [start, end] */

		if (end >= from) {
			struct vg_db_param p[] = {vg_p_str(key),
						  vg_p_i64(strtoll(vg_db_cell(&res, (size_t)i, 0),
								   NULL, 10))};
			struct vg_db_result c;
			long long a = from > start ? from - start : 0;
			long long b = (to < end ? to : end) - start;

			if (vg_db_query(s->db, chunk_sql, p, VG_DB_NPARAMS(p), &c) != 1 ||
			    (long long)c.lens[0] != len) {
				vg_error("msg=\"object chunk missing or short\" key=%s seq=%s", key,
					 vg_db_cell(&res, (size_t)i, 0));
				st = VG_STORE_ERR;
			} else if (sink(arg, vg_db_cell(&c, 0, 0) + a, (size_t)(b - a + 1)) < 0) {
				st = VG_STORE_ERR;
			}
			vg_db_result_free(&c);
		}
		start = end + 1;
	}
	vg_db_result_free(&res);
	return st;
}

static int db_list(struct vg_store *s, int (*each)(void *arg, const char *key, long long size),
		   void *arg)
{
	struct vg_db_result res;
	long long n = s->db ? vg_db_query(s->db, list_sql, NULL, 0, &res) : -1;

	if (n < 0)
		return -1;
	for (long long i = 0; i < n; i++)
		if (each(arg, vg_db_cell(&res, (size_t)i, 0),
			 strtoll(vg_db_cell(&res, (size_t)i, 1), NULL, 10)) < 0)
			break;
	vg_db_result_free(&res);
	return 0;
}

static int db_check(struct vg_store *s)
{
	struct vg_db_result res;
	long long n = s->db ? vg_db_query(s->db, check_sql, NULL, 0, &res) : -1;

	if (n < 0) {
		vg_error("msg=\"the object_chunks table is not usable (vingestctl migrate?)\" "
			 "error=\"%s\"",
			 s->db ? vg_db_error(s->db) : "no connection");
		return -1;
	}
	vg_db_result_free(&res);
	return 0;
}

const struct vg_store_backend vg_store_backend_db = {
	.name = "db",
	.publish = db_publish,
	.put_rows = db_put_rows,
	.remove = db_remove,
	.stat = db_stat,
	.read = db_read,
	.list = db_list,
	.check = db_check,
};
