/*
 * status_url.h - which status_url a worker may poll: only one on the
 * processing service's own origin.
 *
 * A 202 names the URL to poll for the outcome. Polled as named, it would
 * let the service (compromised, misconfigured, or a proxy in front of it)
 * send the fleet's requests, with their Idempotency-Key, to any host the
 * workers can reach: internal admin ports, metadata services, the
 * database's HTTP plugins. So a status_url is resolved against
 * processor.url (a relative reference such as /status/123 is how a service
 * should name it) and followed only when its scheme, host and port are
 * processor.url's. Both URLs are parsed by libcurl's URL API, the parser
 * that makes the request, so what is checked is what is asked for.
 */
#ifndef VG_WORKERS_STATUS_URL_H
#define VG_WORKERS_STATUS_URL_H

#include <stddef.h>

/* Longest status_url taken. */
#define STATUS_URL_MAX 2048

enum status_url_verdict {
	STATUS_URL_OK,
	STATUS_URL_UNPARSABLE,	 /* empty, too long, or not a URL libcurl takes */
	STATUS_URL_USERINFO,	 /* user, password or login options in it */
	STATUS_URL_OTHER_SCHEME, /* https where processor.url is http, ftp, file, ... */
	STATUS_URL_OTHER_HOST,	 /* another host name or address (names are not resolved) */
	STATUS_URL_OTHER_PORT,	 /* another port (an absent port is the scheme's default) */
};

/*
 * Resolves status_url against processor_url and decides whether it may be
 * requested. Schemes and hosts compare case-insensitively, ports after
 * filling in the scheme's default; host names are compared as written
 * (localhost is not 127.0.0.1: no name is resolved to decide). On
 * STATUS_URL_OK *out is the URL to poll, a new string the caller frees
 * (carrying processor_url's own user and password, if it has any); otherwise
 * *out is NULL. host gets the status_url's host for the log, cleaned, or
 * "-" when it has none (hostsz > 1).
 */
enum status_url_verdict status_url_check(const char *processor_url, const char *status_url,
					 char **out, char *host, size_t hostsz);

/* The verdict in a few words, for logs: "other host", ... (static text). */
const char *status_url_why(enum status_url_verdict v);

#endif
