/*
 * vingest-upload.c - the command-line upload client.
 *
 *   vingest-upload [options] FILE
 *
 * Uploads one video over tus (tus_upload.c), resumable across runs: an interrupted
 * upload is remembered in a state file and the same command continues it.
 * Before anything goes out the file is hashed; after the last byte the
 * stored video's SHA-256 must equal the file's, so "exit 0" means the server
 * holds exactly this file. The video's id is the only thing on stdout.
 *
 * This file: options, signals, opening and hashing the file, and the order
 * of the steps. The exit codes are listed in usage() and client.h.
 *
 * The API key never comes from argv, which every user of the machine can
 * read (ps, /proc/PID/cmdline): it comes from a file (--key-file) or the
 * environment ($VINGEST_API_KEY, readable by the same user only). -k/--key
 * are still known, only to say so instead of being taken for something else
 * (getopt_long would read --key as an abbreviation of --key-file).
 */
#include "config.h"
#include "client.h"
#include "http.h"
#include "progress.h"
#include "tus_upload.h"
#include "videos.h"
#include "vg_alloc.h"
#include "vg_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BLOCK (1024 * 1024)
#define BYTES_MAX  (1LL << 40) /* the largest --chunk-size or --limit-rate */
#define KEY_MAX	   1024	       /* longest first line of a --key-file, far above any key */

volatile sig_atomic_t client_stop;

static void usage(FILE *f)
{
	fprintf(f, "usage: vingest-upload [options] FILE\n"
		   "\n"
		   "Uploads a video to vingest over tus, checks that the server stored exactly\n"
		   "the file's bytes (SHA-256) and prints the video's id on stdout. An\n"
		   "interrupted upload (ctrl-c, a lost connection) is remembered: run the same\n"
		   "command again and it continues where it stopped.\n"
		   "\n"
		   "options:\n"
		   "  -u, --url URL          the API's base URL (default: $VINGEST_URL)\n"
		   "      --key-file FILE    the API key: FILE's first line (default:\n"
		   "                         $VINGEST_API_KEY); refused if every user may read\n"
		   "                         FILE. -k/--key KEY is refused: a command line is\n"
		   "                         visible to every user of the machine\n"
		   "  -t, --title TITLE      the video's title\n"
		   "  -m, --metadata JSON    the video's metadata, a JSON object\n"
		   "      --chunk-size BYTES bytes per request (suffix K, M or G; default 8M)\n"
		   "      --limit-rate BYTES most bytes sent per second (suffix K, M or G)\n"
		   "      --wait             then wait for processing: exit 0 when processed,\n"
		   "                         3 when failed\n"
		   "      --multipart        one plain POST /v1/videos instead of tus (not\n"
		   "                         resumable)\n"
		   "      --state-dir DIR    where interrupted uploads are remembered (default:\n"
		   "                         $XDG_CACHE_HOME/vingest, else ~/.cache/vingest)\n"
		   "  -q, --quiet            no progress and no messages, only errors\n"
		   "  -v, --verbose          one line per HTTP request on stderr\n"
		   "  -h, --help             this text\n"
		   "\n"
		   "Progress goes to stderr: a bar on a terminal, a line per 10%% otherwise.\n"
		   "The API key is sent to the origin (scheme, host, port) of the URL only:\n"
		   "redirects are not followed, and an upload URL elsewhere is refused.\n"
		   "\n"
		   "exit status:\n"
		   "  0    stored and verified (with --wait: and processed)\n"
		   "  1    usage or local error, or the server unreachable after retries\n"
		   "  2    the server refused the upload (its message is printed)\n"
		   "  3    --wait: processing failed\n"
		   "  4    the server's SHA-256 of the video differs from the file's\n"
		   "  130  interrupted (ctrl-c); the same command resumes the upload\n");
}

static void on_signal(int sig)
{
	client_stop = sig;
}

static int catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end at once */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* "8M" -> 8388608; K, M and G are binary. -1 for anything else. (No
 * <limits.h> here: app/limits.h shadows it in the automake build.) */
static long long parse_bytes(const char *s)
{
	char *end;
	long long n, mult = 1;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n <= 0)
		return -1;
	if (*end && end[1] == '\0') {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1LL << 10;
			break;
		case 'm':
		case 'M':
			mult = 1LL << 20;
			break;
		case 'g':
		case 'G':
			mult = 1LL << 30;
			break;
		default:
			return -1;
		}
	} else if (*end) {
		return -1;
	}
	if (n > BYTES_MAX / mult)
		return -1;
	return n * mult;
}

/* A header value must not be able to end its header line. */
static int header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/*
 * The API key: the first line of path, trailing white space removed. The
 * caller wipes (explicit_bzero) and frees it. NULL, with the reason printed,
 * for anything but a regular file, a file others may read or write, or no
 * key on the first line. A file its group may read or write only gets a
 * warning, as a key shared through a group can be meant; one open to every
 * user of the machine is the leak --key-file exists to avoid.
 */
static char *read_key_file(const char *path)
{
	char buf[KEY_MAX + 2], *key = NULL;
	size_t len = 0;
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		progress_complain("cannot open the key file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		progress_complain("the key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & S_IRWXO) {
		progress_complain(
			"the key file %s is open to every user (mode %03o): not using it; "
			"chmod 600 %s",
			path, (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	if (st.st_mode & S_IRWXG)
		progress_complain("warning: the key file %s is open to its group (mode %03o); "
				  "chmod 600 %s unless the group is meant to share the key",
				  path, (unsigned)(st.st_mode & 0777), path);
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			progress_complain("cannot read the key file %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	len = strcspn(buf, "\n");
	if (len > KEY_MAX) {
		progress_complain(
			"the key file %s: its first line is longer than %d bytes, not a key", path,
			KEY_MAX);
		goto out;
	}
	while (len > 0 && strchr(" \t\r\v\f", buf[len - 1]))
		len--;
	if (len == 0) {
		progress_complain("the key file %s holds no key on its first line", path);
		goto out;
	}
	key = vg_strndup(buf, len);
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return key;
}

static char *default_state_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *dir;

	if (xdg && xdg[0] == '/')
		dir = vg_asprintf("%s/vingest", xdg);
	else if (home && home[0])
		dir = vg_asprintf("%s/.cache/vingest", home);
	else
		dir = NULL;
	return dir;
}

/* The media type the server is told, from the name's extension. Metadata
 * only: the server looks at the bytes to decide what the file is. */
static const char *media_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{".mp4", "video/mp4"},
		     {".m4v", "video/mp4"},
		     {".mov", "video/quicktime"},
		     {".webm", "video/webm"},
		     {".mkv", "video/x-matroska"}};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Opens and hashes the file. Returns an exit code. */
static int open_file(const char *path, struct upload_file *f)
{
	static unsigned char buf[HASH_BLOCK];
	struct vg_sha256 sha;
	struct stat st;
	long long total = 0;
	const char *slash;

	f->path = path;
	slash = strrchr(path, '/');
	f->name = slash ? slash + 1 : path;
	f->type = media_type(f->name);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		progress_complain("cannot open %s: %s", path, strerror(errno));
		return EXIT_LOCAL;
	}
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		progress_complain("%s is not a regular file", path);
		return EXIT_LOCAL;
	}
	if (st.st_size == 0) {
		progress_complain("%s is empty", path);
		return EXIT_LOCAL;
	}
	if (!f->name[0]) {
		progress_complain("%s names no file", path);
		return EXIT_LOCAL;
	}
	f->size = (long long)st.st_size;
	vg_sha256_init(&sha);
	for (;;) {
		ssize_t n = read(f->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR && !client_stop)
			continue;
		if (client_stop) {
			vg_sha256_free(&sha);
			progress_complain("interrupted before the upload began; nothing to resume");
			return EXIT_INTERRUPTED;
		}
		if (n < 0) {
			progress_complain("cannot read %s: %s", path, strerror(errno));
			vg_sha256_free(&sha);
			return EXIT_LOCAL;
		}
		if (n == 0)
			break;
		vg_sha256_update(&sha, buf, (size_t)n);
		total += n;
	}
	vg_sha256_final_hex(&sha, f->sha256);
	if (total != f->size) {
		progress_complain("%s changed while it was read (%lld bytes, then %lld)", path,
				  f->size, total);
		return EXIT_LOCAL;
	}
	progress_trace("%s: %lld bytes, sha256 %s", path, f->size, f->sha256);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options o = {.chunk_size = DEFAULT_CHUNK_SIZE};
	struct upload_file f = {.fd = -1};
	struct json_object *meta;
	struct http h = {0};
	char *state_dir = NULL, *id = NULL, *file_key = NULL, *origin;
	const char *key_file = NULL;
	int opt, rc = EXIT_LOCAL, http_ready = 0;
	enum { OPT_CHUNK = 256, OPT_RATE, OPT_WAIT, OPT_MULTIPART, OPT_STATE, OPT_KEY_FILE };
	static const struct option longopts[] = {{"url", required_argument, NULL, 'u'},
						 {"key-file", required_argument, NULL,
						  OPT_KEY_FILE},
						 {"key", optional_argument, NULL, 'k'},
						 {"title", required_argument, NULL, 't'},
						 {"metadata", required_argument, NULL, 'm'},
						 {"chunk-size", required_argument, NULL, OPT_CHUNK},
						 {"limit-rate", required_argument, NULL, OPT_RATE},
						 {"wait", no_argument, NULL, OPT_WAIT},
						 {"multipart", no_argument, NULL, OPT_MULTIPART},
						 {"state-dir", required_argument, NULL, OPT_STATE},
						 {"quiet", no_argument, NULL, 'q'},
						 {"verbose", no_argument, NULL, 'v'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};

	o.url = getenv("VINGEST_URL");
	o.key = getenv("VINGEST_API_KEY");
	while ((opt = getopt_long(argc, argv, "u:k::t:m:qvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			o.url = optarg;
			break;
		case OPT_KEY_FILE:
			key_file = optarg;
			break;
		case 'k': /* known only to be refused (see the top of this file) */
			fprintf(stderr,
				"vingest-upload: -k/--key is not accepted: a key on the "
				"command line is visible to every user of the machine (ps); "
				"give --key-file FILE (the key on its first line) or set "
				"VINGEST_API_KEY\n");
			return EXIT_LOCAL;
		case 't':
			o.title = optarg;
			break;
		case 'm':
			o.metadata = optarg;
			break;
		case OPT_CHUNK:
			o.chunk_size = parse_bytes(optarg);
			if (o.chunk_size < 0) {
				fprintf(stderr,
					"vingest-upload: --chunk-size wants a positive "
					"number of bytes, not '%s'\n",
					optarg);
				return EXIT_LOCAL;
			}
			break;
		case OPT_RATE:
			o.limit_rate = parse_bytes(optarg);
			if (o.limit_rate < 0) {
				fprintf(stderr,
					"vingest-upload: --limit-rate wants a positive "
					"number of bytes, not '%s'\n",
					optarg);
				return EXIT_LOCAL;
			}
			break;
		case OPT_WAIT:
			o.wait = 1;
			break;
		case OPT_MULTIPART:
			o.multipart = 1;
			break;
		case OPT_STATE:
			o.state_dir = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_LOCAL;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_LOCAL;
	}
	progress_setup(o.quiet, o.verbose);
	if (!o.url || !o.url[0]) {
		progress_complain("no server: give -u URL or set VINGEST_URL");
		return EXIT_LOCAL;
	}
	origin = http_origin(o.url);
	if (!origin) {
		progress_complain("the URL must be an absolute http:// or https:// URL, not '%s'",
				  o.url);
		return EXIT_LOCAL;
	}
	free(origin);
	if (key_file) {
		file_key = read_key_file(key_file);
		if (!file_key)
			return EXIT_LOCAL;
		o.key = file_key;
	}
	if (!o.key || !o.key[0] || !header_safe(o.key)) {
		progress_complain("no usable API key: give --key-file FILE or set VINGEST_API_KEY");
		goto out;
	}
	if (o.metadata) {
		meta = json_tokener_parse(o.metadata);
		if (!meta || !json_object_is_type(meta, json_type_object)) {
			progress_complain("-m wants a JSON object, like '{\"camera\":\"front\"}'");
			json_object_put(meta);
			goto out;
		}
		json_object_put(meta);
	}
	if (!o.state_dir) {
		state_dir = default_state_dir();
		if (!state_dir && !o.multipart) {
			progress_complain("no state directory: set HOME or give --state-dir DIR");
			goto out;
		}
		o.state_dir = state_dir;
	}
	if (catch_signals() < 0) {
		progress_complain("cannot install signal handlers: %s", strerror(errno));
		goto out;
	}

	rc = open_file(argv[optind], &f);
	if (rc != EXIT_OK)
		goto out;
	http_ready = 1; /* http_free undoes a half-done http_init too */
	if (http_init(&h, o.url, o.key, o.limit_rate) < 0) {
		progress_complain("cannot initialise libcurl");
		rc = EXIT_LOCAL;
		goto out;
	}
	if (o.multipart)
		rc = multipart_upload(&h, &o, &f, &id);
	else
		rc = tus_upload(&h, &o, &f, &id);
	if (rc != EXIT_OK)
		goto out;
	printf("%s\n", id);
	fflush(stdout);
	if (o.wait)
		rc = video_wait(&h, id);
out:
	if (http_ready)
		http_free(&h);
	if (f.fd >= 0)
		close(f.fd);
	free(id);
	free(state_dir);
	if (file_key) /* the key should not linger in freed memory */
		explicit_bzero(file_key, strlen(file_key));
	free(file_key);
	/* A stop by SIGTERM says so in the conventional way (143). */
	if (rc == EXIT_INTERRUPTED && client_stop)
		rc = 128 + client_stop;
	return rc;
}
