/*
 * vg_cli.c - option parsing and configuration loading for the daemons (see vg_cli.h).
 */
#include "vg_cli.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void usage(const char *prog, FILE *f)
{
	fprintf(f,
		"usage: %s [-c FILE] [-t]\n"
		"  -c FILE  configuration file (default: $VINGEST_CONFIG or %s)\n"
		"  -t       check the configuration and exit\n",
		prog, vg_config_default_path());
}

int vg_cli_daemon(const char *prog, int argc, char **argv, struct vg_config **cfg, char **path)
{
	const char *file = NULL;
	int test_only = 0, opt;
	char err[512];

	*cfg = NULL;
	*path = NULL;
	while ((opt = getopt(argc, argv, "c:th")) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'h':
			usage(prog, stdout);
			return 0;
		default:
			usage(prog, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(prog, stderr);
		return 2;
	}
	if (!file)
		file = vg_config_default_path();
	vg_log_init(prog, VG_LOG_INFO);
	*cfg = vg_calloc(1, sizeof(**cfg));
	if (vg_config_load(*cfg, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: configuration refused: %s\n", prog, err);
		free(*cfg);
		*cfg = NULL;
		return 1;
	}
	if (test_only) {
		fprintf(stderr, "%s: configuration %s is valid\n", prog, file);
		vg_config_free(*cfg);
		free(*cfg);
		*cfg = NULL;
		return 0;
	}
	vg_log_configure((*cfg)->log.format, (*cfg)->log.target);
	*path = vg_strdup(file);
	return -1;
}
