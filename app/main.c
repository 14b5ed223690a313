/*
 * main.c - vingest-fcgi: command line, configuration, socket, then the master.
 *
 *   vingest-fcgi [-c FILE] [-t]
 *
 * -c names the configuration (default $VINGEST_CONFIG, else
 * SYSCONFDIR/vingest/vingest.conf); -t checks it and exits. The process stays
 * in the foreground and logs to stderr: systemd, a shell's `&` or a web
 * server that spawns FastCGI apps all expect exactly that. When fd 0 is a
 * listening socket, a web server spawned us and that socket is used.
 */
#include "listen.h"
#include "master.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: vingest-fcgi [-c FILE] [-t]\n"
		   "  -c FILE  configuration file (default: $VINGEST_CONFIG or %s)\n"
		   "  -t       check the configuration and exit\n",
		vg_config_default_path());
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int test_only = 0, opt, fd;
	struct vg_config *cfg;
	struct vg_store store;
	char err[512];

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
	vg_log_init("vingest-fcgi", VG_LOG_INFO);

	cfg = vg_calloc(1, sizeof(*cfg));
	if (vg_config_load(cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vingest-fcgi: configuration refused: %s\n", err);
		free(cfg);
		return 1;
	}
	if (test_only) {
		fprintf(stderr, "vingest-fcgi: configuration %s is valid\n", path);
		vg_config_free(cfg);
		free(cfg);
		return 0;
	}

	/* Fail at start, not on the first upload, if the store is unusable. */
	if (vg_store_open(&store, cfg) < 0 || vg_store_check(&store) < 0) {
		fprintf(stderr, "vingest-fcgi: store %s is not writable\n", cfg->store.fs_root);
		vg_store_close(&store);
		vg_config_free(cfg);
		free(cfg);
		return 1;
	}
	vg_store_close(&store);

	if (listen_inherited()) {
		fd = 0;
		vg_info("msg=\"using the listening socket on fd 0 (spawned by a web server)\"");
	} else {
		fd = listen_open(cfg->http.listen, (int)cfg->http.backlog);
		if (fd < 0) {
			vg_config_free(cfg);
			free(cfg);
			return 1;
		}
	}
	{
		/* Copies: the master rewrites argv (where optarg points) for its title. */
		char *listen = vg_strdup(cfg->http.listen);
		char *config_path = vg_strdup(path);
		int status = master_run(config_path, cfg, fd, argc, argv);

		if (fd != 0)
			listen_unlink(listen);
		free(listen);
		free(config_path);
		return status;
	}
}
