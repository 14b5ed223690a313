/*
 * main.c - vingest-workers: command line, configuration, then the supervisor.
 *
 *   vingest-workers [-c FILE] [-t]
 *
 * Runs in the foreground and logs to stderr, like vingest-fcgi.
 */
#include "supervisor.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: vingest-workers [-c FILE] [-t]\n"
		   "  -c FILE  configuration file (default: $VINGEST_CONFIG or %s)\n"
		   "  -t       check the configuration and exit\n",
		vg_config_default_path());
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int test_only = 0, opt, status;
	struct vg_config *cfg;
	char err[512], *config_path;

	while ((opt = getopt(argc, argv, "c:th")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!path)
		path = vg_config_default_path();
	vg_log_init("vingest-workers", VG_LOG_INFO);
	cfg = vg_calloc(1, sizeof(*cfg));
	if (vg_config_load(cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vingest-workers: configuration refused: %s\n", err);
		free(cfg);
		return 1;
	}
	if (test_only) {
		fprintf(stderr, "vingest-workers: configuration %s is valid\n", path);
		vg_config_free(cfg);
		free(cfg);
		return 0;
	}
	config_path = vg_strdup(path); /* argv is rewritten for the process title */
	status = supervisor_run(config_path, cfg, argc, argv);
	free(config_path);
	return status;
}
