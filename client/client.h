/*
 * client.h - what every part of vingest-upload shares: the options, the exit
 * codes and the stop flag set by SIGINT / SIGTERM.
 *
 * The exit codes are a contract with scripts (see usage() in
 * vingest-upload.c): 0 the video is stored (and, with --wait, processed),
 * 1 a usage or local error, 2 the server refused the upload, 3 processing
 * failed, 4 the server holds other bytes than the file's, 130 interrupted.
 */
#ifndef VG_CLIENT_CLIENT_H
#define VG_CLIENT_CLIENT_H

#include "vg_hash.h"

#include <signal.h>

#define EXIT_OK		 0
#define EXIT_LOCAL	 1
#define EXIT_REFUSED	 2
#define EXIT_FAILED	 3
#define EXIT_CHECKSUM	 4
#define EXIT_INTERRUPTED 130

#define DEFAULT_CHUNK_SIZE (8LL * 1024 * 1024)

struct options {
	const char *url; /* base URL, no trailing slash */
	const char *key;
	const char *title;    /* NULL: none */
	const char *metadata; /* a JSON object's text, NULL: none */
	long long chunk_size;
	long long limit_rate; /* bytes per second, 0: unlimited */
	const char *state_dir;
	int wait;
	int multipart;
	int quiet;
	int verbose;
};

/* The file being uploaded, opened and hashed once by main. */
struct upload_file {
	const char *path;
	const char *name; /* its base name: the filename the server records */
	const char *type; /* media type by extension, application/octet-stream */
	int fd;
	long long size;
	char sha256[VG_SHA256_HEX];
};

/* The signal that asked us to stop (SIGINT or SIGTERM), 0 while none did.
 * Set by the handler in vingest-upload.c; everything that waits checks it. */
extern volatile sig_atomic_t client_stop;

#endif
