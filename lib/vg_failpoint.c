/*
 * vg_failpoint.c - the fault-test build's failpoints (see vg_failpoint.h).
 *
 * Compiled into every build so the file list stays one, but empty unless
 * VG_FAILPOINTS is defined. The spec is small (a few lines), re-read only
 * when its mtime or size changes, and looked up linearly.
 */
#include "vg_failpoint.h"

#ifdef VG_FAILPOINTS

#include "vg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FP_MAX 64

struct fp {
	char name[64];
	char action[16];
	long arg;   /* stall: milliseconds */
	long count; /* 0: unlimited */
};

static struct fp fps[FP_MAX];
static size_t nfps;
static struct timespec seen_mtime;
static off_t seen_size = -1;

static void reload(const char *path)
{
	struct stat st;
	FILE *f;
	char line[256];

	if (stat(path, &st) < 0) {
		nfps = 0;
		seen_size = -1;
		return;
	}
	if (st.st_size == seen_size && st.st_mtim.tv_sec == seen_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == seen_mtime.tv_nsec)
		return;
	seen_size = st.st_size;
	seen_mtime = st.st_mtim;
	nfps = 0;
	f = fopen(path, "r");
	if (!f)
		return;
	while (nfps < FP_MAX && fgets(line, sizeof(line), f)) {
		struct fp *p = &fps[nfps];
		char action[32] = "";
		long count = 0;
		int n = sscanf(line, "%63s %31s %ld", p->name, action, &count);

		if (n < 2 || p->name[0] == '#')
			continue;
		p->arg = 0;
		if (strncmp(action, "stall:", 6) == 0) {
			p->arg = strtol(action + 6, NULL, 10);
			action[5] = '\0';
		}
		snprintf(p->action, sizeof(p->action), "%s", action);
		p->count = n == 3 ? count : 0;
		nfps++;
	}
	fclose(f);
}

/* 1 if this firing is one of the first `count` across every process. */
static int take_turn(const char *path, const struct fp *p)
{
	char marker[4096];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 1;

	for (long i = 0; i < p->count; i++) {
		int fd;

		snprintf(marker, sizeof(marker), "%.*s/%s.fired.%ld", dirlen, slash ? path : ".",
			 p->name, i);
		fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 1;
		}
	}
	return 0;
}

int vg_failpoint(const char *name)
{
	const char *path = getenv("VINGEST_FAILPOINTS_FILE");

	if (!path || !*path)
		return 0;
	reload(path);
	for (size_t i = 0; i < nfps; i++) {
		const struct fp *p = &fps[i];

		if (strcmp(p->name, name) != 0)
			continue;
		if (p->count > 0 && !take_turn(path, p))
			return 0;
		vg_warn("msg=\"failpoint fires\" failpoint=%s action=%s pid=%ld", name, p->action,
			(long)getpid());
		if (strcmp(p->action, "crash") == 0) {
			raise(SIGKILL);
			_exit(137);
		}
		if (strcmp(p->action, "error") == 0) {
			errno = EIO;
			return -1;
		}
		if (strcmp(p->action, "enospc") == 0) {
			errno = ENOSPC;
			return -1;
		}
		if (strcmp(p->action, "stall") == 0) {
			struct timespec ts = {p->arg / 1000, (p->arg % 1000) * 1000000L};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		return 0;
	}
	return 0;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int vg_failpoint_unused;
#endif
