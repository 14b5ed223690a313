/*
 * vg_cli.h - the command line both daemons share: `PROG [-c FILE] [-t]`.
 */
#ifndef VG_CLI_H
#define VG_CLI_H

struct vg_config;

/*
 * Parses -c FILE (default: $VINGEST_CONFIG, else SYSCONFDIR/vingest/vingest.conf),
 * -t (check the configuration and exit) and -h; starts logging as prog and
 * loads the configuration. Returns -1 to go on, with *cfg (heap-allocated,
 * the caller's) and *path (a copy: argv is later rewritten for the process
 * title; the caller frees it); otherwise the process's exit status, having
 * said why on stderr.
 */
int vg_cli_daemon(const char *prog, int argc, char **argv, struct vg_config **cfg, char **path);

#endif
