/*
 * main.c - vingest-workers: command line, configuration, then the supervisor.
 *
 *   vingest-workers [-c FILE] [-t]
 *
 * Runs in the foreground and logs to stderr, like vingest-fcgi.
 */
#include "supervisor.h"
#include "vg_cli.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
	struct vg_config *cfg;
	char *config_path;
	int status = vg_cli_daemon("vingest-workers", argc, argv, &cfg, &config_path);

	if (status >= 0)
		return status;
	status = supervisor_run(config_path, cfg, argc, argv);
	free(config_path);
	return status;
}
