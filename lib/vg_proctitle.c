/*
 * vg_proctitle.c - rewriting argv[] for ps, and prctl(PR_SET_NAME) for top.
 *
 * The argv strings are contiguous in memory; the title is written over them
 * (never past their end) and the rest is zeroed, as setproctitle(3) does.
 */
#include "vg_proctitle.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static char *title_start;
static size_t title_room;

void vg_proctitle_init(int argc, char **argv)
{
	char *end;

	if (argc < 1 || !argv[0])
		return;
	end = argv[0] + strlen(argv[0]);
	for (int i = 1; i < argc; i++)
		if (argv[i] == end + 1)
			end = argv[i] + strlen(argv[i]);
	title_start = argv[0];
	title_room = (size_t)(end - argv[0]);
	for (int i = 1; i < argc; i++)
		argv[i] = end; /* later arguments read as empty strings */
}

void vg_proctitle_set(const char *prog, const char *role, const char *shortname)
{
	if (title_start && title_room > 0) {
		snprintf(title_start, title_room + 1, "%s: %s", prog, role);
		memset(title_start + strlen(title_start), 0, title_room - strlen(title_start));
	}
	prctl(PR_SET_NAME, shortname, 0, 0, 0);
}
