/*
 * probe.c - what this machine allows, measured without vingest in the way:
 * the ceilings ./dev bench divides vingest's figures by.
 *
 *   probe fsync DIR SECONDS PROCS BYTES
 *       PROCS processes each create a file of BYTES in DIR, write it, fsync
 *       it and close it, one after another, for SECONDS. Prints files/s (all
 *       processes together). The files are removed afterwards. An upload
 *       costs at least one of these (the object), so its rate bounds
 *       small uploads.
 *
 *   probe claim SOCKET DATABASE JOBS PROCS BATCH
 *       The job queue with nothing but the database: a table shaped like
 *       `jobs` (the same claim index) in DATABASE (created, and emptied on
 *       every run) holds JOBS ready rows; PROCS processes, each its own
 *       connection under READ COMMITTED, loop: BEGIN; SELECT ... ORDER BY
 *       run_after, id LIMIT BATCH FOR UPDATE SKIP LOCKED; UPDATE each row by
 *       primary key (running, lease token); COMMIT; then finish each job in a
 *       transaction of its own (UPDATE ... WHERE id = ? AND lease_token = ?),
 *       the plain textbook shape, until the queue is empty. Prints jobs/s.
 *       The workers' claim also writes a job_attempts row and the video's
 *       status, each outcome also writes both of those, and each job makes
 *       an HTTP call: three times the rows of this probe. They win the
 *       statements back by writing sixteen jobs a statement and sharing one
 *       COMMIT among the outcomes of a loop turn (workers/lease.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

/* Shared between the forked processes: one counter each. */
static long *shared_counters(int procs)
{
	long *c = mmap(NULL, sizeof(long) * (size_t)procs, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (c == MAP_FAILED)
		die("mmap");
	memset(c, 0, sizeof(long) * (size_t)procs);
	return c;
}

static void wait_all(int procs)
{
	int status, bad = 0;

	for (int i = 0; i < procs; i++) {
		if (wait(&status) < 0)
			die("wait");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad = 1;
	}
	if (bad) {
		errno = 0;
		die("a probe process failed");
	}
}

static void fsync_child(const char *dir, double seconds, int id, size_t bytes, long *count)
{
	char *buf = malloc(bytes), path[4096];
	double end = now() + seconds;
	long n = 0;

	if (!buf)
		die("malloc");
	memset(buf, 'v', bytes);
	while (now() < end) {
		int fd;

		snprintf(path, sizeof(path), "%s/probe-%d-%ld", dir, id, n);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			die(path);
		if (write(fd, buf, bytes) != (ssize_t)bytes || fsync(fd) < 0 || close(fd) < 0)
			die("write/fsync");
		n++;
	}
	*count = n;
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/probe-%d-%ld", dir, id, i);
		unlink(path);
	}
	free(buf);
}

static int cmd_fsync(int argc, char **argv)
{
	const char *dir;
	double seconds, elapsed;
	int procs;
	size_t bytes;
	long *counts, total = 0;

	if (argc != 6)
		return 2;
	dir = argv[2];
	seconds = atof(argv[3]);
	procs = atoi(argv[4]);
	bytes = (size_t)atol(argv[5]);
	if (procs < 1 || bytes < 1 || seconds <= 0)
		return 2;
	counts = shared_counters(procs);
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			fsync_child(dir, seconds, i, bytes, &counts[i]);
			_exit(0);
		}
	}
	wait_all(procs);
	elapsed = seconds; /* each process stops writing after SECONDS; removal is not timed */
	for (int i = 0; i < procs; i++)
		total += counts[i];
	printf("fsync: procs=%d bytes=%zu files=%ld seconds=%.2f files_per_s=%.0f\n", procs, bytes,
	       total, elapsed, (double)total / elapsed);
	return 0;
}

static MYSQL *connect_db(const char *socket, const char *db)
{
	MYSQL *m = mysql_init(NULL);

	if (!m || !mysql_real_connect(m, NULL, "root", NULL, db, 0, socket, 0)) {
		fprintf(stderr, "probe: connect: %s\n", m ? mysql_error(m) : "mysql_init");
		exit(1);
	}
	return m;
}

static void sql(MYSQL *m, const char *q)
{
	if (mysql_query(m, q) != 0) {
		fprintf(stderr, "probe: %s: %s\n", q, mysql_error(m));
		exit(1);
	}
}

/* One claimer: claim BATCH, commit, finish each in its own commit. */
static void claim_child(const char *socket, const char *db, int id, int batch, long *count)
{
	MYSQL *m = connect_db(socket, db);
	char q[512], token[33];
	long ids[1000], n = 0, seq = 0;

	sql(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	for (;;) {
		MYSQL_RES *res;
		MYSQL_ROW row;
		int got = 0;

		snprintf(token, sizeof(token), "%08x%08x%016lx", (unsigned)getpid(), (unsigned)id,
			 (unsigned long)++seq);
		sql(m, "BEGIN");
		snprintf(q, sizeof(q),
			 "SELECT id FROM probe_jobs FORCE INDEX (ix_claim) WHERE state = 'ready' "
			 "AND run_after <= UTC_TIMESTAMP(6) ORDER BY run_after, id LIMIT %d "
			 "FOR UPDATE SKIP LOCKED",
			 batch);
		sql(m, q);
		res = mysql_store_result(m);
		if (!res)
			die("mysql_store_result");
		while ((row = mysql_fetch_row(res)) && got < 1000)
			ids[got++] = atol(row[0]);
		mysql_free_result(res);
		for (int i = 0; i < got; i++) {
			snprintf(
				q, sizeof(q),
				"UPDATE probe_jobs SET state = 'running', attempts = attempts + 1, "
				"lease_token = '%s', lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL 300 "
				"SECOND WHERE id = %ld",
				token, ids[i]);
			sql(m, q);
		}
		sql(m, "COMMIT");
		if (got == 0)
			break;
		for (int i = 0; i < got; i++) {
			snprintf(
				q, sizeof(q),
				"UPDATE probe_jobs SET state = 'done', finished_at = UTC_TIMESTAMP(6), "
				"lease_token = NULL WHERE id = %ld AND lease_token = '%s'",
				ids[i], token);
			sql(m, q);
			n++;
		}
	}
	*count = n;
	mysql_close(m);
}

static int cmd_claim(int argc, char **argv)
{
	const char *socket, *db;
	long jobs, *counts, total = 0;
	int procs, batch;
	double t0, elapsed;
	char q[512];
	MYSQL *m;

	if (argc != 7)
		return 2;
	socket = argv[2];
	db = argv[3];
	jobs = atol(argv[4]);
	procs = atoi(argv[5]);
	batch = atoi(argv[6]);
	if (jobs < 1 || procs < 1 || batch < 1 || batch > 1000)
		return 2;

	m = connect_db(socket, NULL);
	snprintf(q, sizeof(q), "CREATE DATABASE IF NOT EXISTS `%s`", db);
	sql(m, q);
	if (mysql_select_db(m, db) != 0)
		die("select db");
	sql(m, "DROP TABLE IF EXISTS probe_jobs");
	sql(m,
	    "CREATE TABLE probe_jobs ("
	    " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,"
	    " video_id CHAR(26) CHARACTER SET ascii NOT NULL,"
	    " state ENUM('ready','running','done','dead','cancelled') NOT NULL DEFAULT 'ready',"
	    " run_after DATETIME(6) NOT NULL,"
	    " attempts INT UNSIGNED NOT NULL DEFAULT 0,"
	    " lease_token CHAR(32) CHARACTER SET ascii NULL,"
	    " lease_expires_at DATETIME(6) NULL,"
	    " updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),"
	    " finished_at DATETIME(6) NULL,"
	    " PRIMARY KEY (id), KEY ix_claim (state, run_after, id)"
	    ") ENGINE=InnoDB");
	snprintf(q, sizeof(q),
		 "INSERT INTO probe_jobs (video_id, run_after) SELECT LPAD(seq, 26, '0'), "
		 "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND FROM seq_1_to_%ld",
		 jobs);
	sql(m, q);
	mysql_close(m);

	counts = shared_counters(procs);
	t0 = now();
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			claim_child(socket, db, i, batch, &counts[i]);
			_exit(0);
		}
	}
	wait_all(procs);
	elapsed = now() - t0;
	for (int i = 0; i < procs; i++)
		total += counts[i];
	printf("claim: jobs=%ld procs=%d batch=%d seconds=%.2f jobs_per_s=%.0f\n", total, procs,
	       batch, elapsed, (double)total / elapsed);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "fsync") == 0)
		rc = cmd_fsync(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "claim") == 0)
		rc = cmd_claim(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: probe fsync DIR SECONDS PROCS BYTES\n"
				"       probe claim SOCKET DATABASE JOBS PROCS BATCH\n");
	return rc;
}
