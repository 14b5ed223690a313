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
#include "vg_cli.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_db.h"
#include "vg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct vg_config *cfg;
	struct vg_store store;
	struct vg_db *db;
	char *path;
	int fd, status = vg_cli_daemon("vingest-fcgi", argc, argv, &cfg, &path);

	if (status >= 0)
		return status;

	/* Fail at start, not on the first upload, if the store is unusable: no
	 * staging directory, no credentials, an fs store that cannot be written.
	 * A remote store (s3, db) that does not answer yet is only a warning:
	 * it may be starting too, and /readyz says so until it answers. */
	db = vg_db_new(cfg);
	if (vg_store_open(&store, cfg, db) < 0 ||
	    (vg_store_check(&store) < 0 && strcmp(cfg->store.backend, "fs") == 0)) {
		fprintf(stderr, "vingest-fcgi: store %s (backend %s) is not usable\n",
			cfg->store.fs_root, cfg->store.backend);
		vg_store_close(&store);
		vg_db_free(db);
		vg_config_free(cfg);
		free(cfg);
		free(path);
		return 1;
	}
	vg_store_close(&store);
	vg_db_free(db);

	if (listen_inherited()) {
		fd = 0;
		vg_info("msg=\"using the listening socket on fd 0 (spawned by a web server)\"");
	} else {
		fd = listen_open(cfg->http.listen, (int)cfg->http.backlog);
		if (fd < 0) {
			vg_config_free(cfg);
			free(cfg);
			free(path);
			return 1;
		}
	}
	{
		/* A copy: the master may replace cfg on reload. */
		char *listen = vg_strdup(cfg->http.listen);

		status = master_run(path, cfg, fd, argc, argv);
		if (fd != 0)
			listen_unlink(listen);
		free(listen);
		free(path);
		return status;
	}
}
