/*
 * hooks.c - webhook deliveries (see hooks.h).
 *
 * The claim is its own short transaction: the due rows are read in index
 * order on ix_webhook_outbox_due with FOR UPDATE SKIP LOCKED (so claimers
 * never wait on each other or take a row twice), each is stamped with the
 * claim's token, one more attempt and a next_attempt_at past the time-out,
 * and COMMIT - before any HTTP call, never across one. Without that stamp a
 * worker killed mid-delivery would leave its rows claimed for ever; with
 * it they are simply due again once it has passed (at least once, same
 * event id). Outcomes say WHERE id = ? AND claim_token = ?, so a worker
 * whose claim ran out (it stalled longer than the time-out) cannot undo
 * what the newer claim wrote.
 *
 * The destination is checked on every address it resolves to, at connect
 * time (CURLOPT_OPENSOCKETFUNCTION), not on the name: a name that resolves
 * to 127.0.0.1 or 10.x is refused just like the literal address, and DNS
 * cannot change the answer between the check and the connect. No proxy
 * from the environment, no redirects.
 */
#include "config.h"
#include "hooks.h"
#include "backoff.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_time.h"
#include "vg_webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* How often an idle worker looks for due events on a shard. */
#define IDLE_CLAIM_MS 500
/* A claim holds a row this much longer than the delivery may take. */
#define CLAIM_SLACK_S 5

struct delivery {
	struct delivery *next;
	struct hooks *h;
	CURL *easy;
	struct curl_slist *headers;
	unsigned shard;
	long long id;
	unsigned attempts; /* with this one */
	char token[33];
	char event_id[40];
	char *body;
	char refused[INET6_ADDRSTRLEN]; /* an address refused as private, or "" */
};

static const char due_sql[] =
	"SELECT o.id, o.attempts FROM webhook_outbox o FORCE INDEX (ix_webhook_outbox_due) "
	"WHERE o.state = 'pending' AND o.next_attempt_at <= UTC_TIMESTAMP(6) "
	"ORDER BY o.state, o.next_attempt_at, o.id LIMIT ? FOR UPDATE SKIP LOCKED";
static const char stamp_sql[] =
	"UPDATE webhook_outbox SET attempts = attempts + 1, claim_token = ?, "
	"next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND WHERE id = ?";
static const char row_sql[] =
	"SELECT o.event_id, o.event_type, o.payload, "
	"DATE_FORMAT(o.created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), e.url, e.secret, "
	"IF(e.rotated_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND, e.previous_secret, NULL) "
	"FROM webhook_outbox o LEFT JOIN webhook_endpoints e ON e.user_id = o.user_id "
	"WHERE o.id = ? AND o.claim_token = ?";
static const char delivered_sql[] =
	"UPDATE webhook_outbox SET state = 'delivered', delivered_at = UTC_TIMESTAMP(6), "
	"last_status = ?, last_error = NULL, claim_token = NULL WHERE id = ? AND claim_token = ?";
static const char failed_sql[] =
	"UPDATE webhook_outbox SET state = IF(attempts >= ?, 'dead', 'pending'), "
	"next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, last_status = ?, "
	"last_error = ?, claim_token = NULL WHERE id = ? AND claim_token = ?";
static const char nowhere_sql[] =
	"UPDATE webhook_outbox SET state = 'dead', last_error = ?, claim_token = NULL "
	"WHERE id = ? AND claim_token = ?";
static const char release_sql[] =
	"UPDATE webhook_outbox SET attempts = attempts - 1, next_attempt_at = UTC_TIMESTAMP(6), "
	"claim_token = NULL WHERE id = ? AND claim_token = ? AND state = 'pending'";

int hooks_init(struct hooks *h, const struct vg_config *cfg, struct vg_shards *shards)
{
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->shards = shards;
	h->multi = curl_multi_init();
	return h->multi ? 0 : -1;
}

unsigned hooks_in_flight(const struct hooks *h)
{
	return h->n;
}

static void delivery_free(struct hooks *h, struct delivery *d)
{
	if (d->easy) {
		curl_multi_remove_handle(h->multi, d->easy);
		curl_easy_cleanup(d->easy);
	}
	curl_slist_free_all(d->headers);
	free(d->body);
	free(d);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *ud)
{
	(void)data;
	(void)ud;
	return size * nmemb;
}

/* Every address curl is about to connect to passes here first. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct delivery *d = ud;
	char text[INET6_ADDRSTRLEN] = "";

	(void)purpose;
	if (a->family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr, text,
			  sizeof(text));
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr, text,
			  sizeof(text));
	if (!d->h->cfg->webhooks.allow_private && vg_webhook_addr_private(text)) {
		snprintf(d->refused, sizeof(d->refused), "%s", text[0] ? text : "?");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* The body the receiver gets: {"id","type","created_at","data"}. */
static char *event_body(const char *event_id, const char *type, const char *payload,
			const char *created_at)
{
	struct json_object *o = json_object_new_object(), *data = json_tokener_parse(payload);
	char *s;

	json_object_object_add(o, "id", json_object_new_string(event_id));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "created_at", json_object_new_string(created_at));
	json_object_object_add(o, "data", data ? data : json_object_new_object());
	s = vg_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* The outcome of a failed attempt: back-off, or dead when used up. */
static void write_failure(struct hooks *h, struct delivery *d, long status, const char *error)
{
	struct vg_db *db = vg_shards_db(h->shards, d->shard);
	double delay = backoff_delay(d->attempts, (double)h->cfg->webhooks.backoff_base_seconds,
				     (double)h->cfg->webhooks.backoff_max_seconds, -1);
	struct vg_db_param p[] = {vg_p_i64(h->cfg->webhooks.max_attempts),
				  vg_p_i64((long long)(delay * 1e6)),
				  status > 0 ? vg_p_i64(status) : vg_p_str(NULL),
				  vg_p_str(error),
				  vg_p_i64(d->id),
				  vg_p_str(d->token)};
	int dead = d->attempts >= (unsigned)h->cfg->webhooks.max_attempts;

	if (vg_db_exec(db, failed_sql, p, VG_DB_NPARAMS(p)) < 0)
		return; /* the claim runs out and the row comes due again */
	vg_warn("msg=\"webhook delivery failed\" event_id=%s shard=%u attempt=%u status=%ld "
		"error=\"%s\"%s",
		d->event_id, d->shard, d->attempts, status, error, dead ? " state=dead" : "");
}

/* Starts the delivery of claimed row id; on a row that cannot be sent
 * (no endpoint any more) writes it dead. */
static void start(struct hooks *h, unsigned k, long long id, unsigned attempts, const char *token)
{
	struct vg_db *db = vg_shards_db(h->shards, k);
	struct vg_db_param p[] = {vg_p_i64(h->cfg->webhooks.rotation_grace_seconds), vg_p_i64(id),
				  vg_p_str(token)};
	struct vg_db_result res;
	struct delivery *d;
	char sig[VG_SHA256_HEX], old[VG_SHA256_HEX], *hdr;
	long long t = (long long)time(NULL);
	const char *url, *secret, *prev;

	if (vg_db_query(db, row_sql, p, VG_DB_NPARAMS(p), &res) != 1) {
		vg_db_result_free(&res);
		return; /* the claim runs out: due again */
	}
	url = vg_db_cell(&res, 0, 4);
	secret = vg_db_cell(&res, 0, 5);
	prev = vg_db_cell(&res, 0, 6);
	if (!url || !secret) {
		struct vg_db_param np[] = {vg_p_str("the user has no webhook endpoint"),
					   vg_p_i64(id), vg_p_str(token)};

		vg_db_exec(db, nowhere_sql, np, VG_DB_NPARAMS(np));
		vg_warn("msg=\"webhook event dead: no endpoint\" event_id=%s shard=%u",
			vg_db_cell(&res, 0, 0), k);
		vg_db_result_free(&res);
		return;
	}
	d = vg_calloc(1, sizeof(*d));
	d->h = h;
	d->shard = k;
	d->id = id;
	d->attempts = attempts;
	snprintf(d->token, sizeof(d->token), "%s", token);
	snprintf(d->event_id, sizeof(d->event_id), "%s", vg_db_cell(&res, 0, 0));
	d->body = event_body(d->event_id, vg_db_cell(&res, 0, 1), vg_db_cell(&res, 0, 2),
			     vg_db_cell(&res, 0, 3));
	if (vg_webhook_sign(secret, t, d->body, strlen(d->body), sig) < 0 ||
	    (prev && vg_webhook_sign(prev, t, d->body, strlen(d->body), old) < 0)) {
		vg_db_result_free(&res);
		write_failure(h, d, 0, "cannot sign the event");
		delivery_free(h, d);
		return;
	}
	hdr = prev ? vg_asprintf("Vingest-Signature: t=%lld,v1=%s,v1=%s", t, sig, old)
		   : vg_asprintf("Vingest-Signature: t=%lld,v1=%s", t, sig);
	d->headers = curl_slist_append(d->headers, hdr);
	free(hdr);
	hdr = vg_asprintf("Vingest-Event-Id: %s", d->event_id);
	d->headers = curl_slist_append(d->headers, hdr);
	free(hdr);
	hdr = vg_asprintf("Vingest-Event-Type: %s", vg_db_cell(&res, 0, 1));
	d->headers = curl_slist_append(d->headers, hdr);
	free(hdr);
	d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
	d->headers = curl_slist_append(d->headers, "Expect:");
	d->easy = curl_easy_init();
	if (!d->easy) {
		vg_db_result_free(&res);
		write_failure(h, d, 0, "cannot start the call");
		delivery_free(h, d);
		return;
	}
	curl_easy_setopt(d->easy, CURLOPT_URL, url);
	vg_db_result_free(&res);
	curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
	curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
	curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(d->easy, CURLOPT_TIMEOUT, (long)h->cfg->webhooks.timeout_seconds);
	curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(d->easy, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->easy, CURLOPT_PROXY, ""); /* no proxy from the environment */
	curl_easy_setopt(d->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(d->easy, CURLOPT_OPENSOCKETDATA, d);
	curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "vingest-webhooks/" PACKAGE_VERSION);
	if (curl_multi_add_handle(h->multi, d->easy) != CURLM_OK) {
		write_failure(h, d, 0, "cannot start the call");
		delivery_free(h, d);
		return;
	}
	d->next = h->list;
	h->list = d;
	h->n++;
}

/* Claims up to room due rows of shard k and starts them. Returns the
 * number claimed, -1 on a database failure. */
static int claim(struct hooks *h, unsigned k, unsigned room)
{
	struct vg_db *db = vg_shards_db(h->shards, k);
	struct vg_db_param p[] = {vg_p_i64(room)};
	struct vg_db_result res = {0};
	unsigned char raw[16];
	char token[33];
	long long n, i;

	if (vg_random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	vg_hex(raw, sizeof(raw), token);
	if (vg_db_begin(db) < 0)
		return -1;
	n = vg_db_query(db, due_sql, p, VG_DB_NPARAMS(p), &res);
	for (i = 0; n > 0 && i < n; i++) {
		struct vg_db_param sp[] = {vg_p_str(token),
					   vg_p_i64(h->cfg->webhooks.timeout_seconds +
						    CLAIM_SLACK_S),
					   vg_p_i64(strtoll(vg_db_cell(&res, (size_t)i, 0), NULL,
							    10))};

		if (vg_db_exec(db, stamp_sql, sp, VG_DB_NPARAMS(sp)) != 1)
			n = -1;
	}
	if (n < 0 || vg_db_commit(db) < 0) {
		vg_db_rollback(db);
		vg_db_result_free(&res);
		return -1;
	}
	for (i = 0; i < n; i++)
		start(h, k, strtoll(vg_db_cell(&res, (size_t)i, 0), NULL, 10),
		      (unsigned)strtoul(vg_db_cell(&res, (size_t)i, 1), NULL, 10) + 1, token);
	vg_db_result_free(&res);
	return (int)n;
}

static void unlink_delivery(struct hooks *h, struct delivery *d)
{
	struct delivery **pp = &h->list;

	while (*pp && *pp != d)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = d->next;
		h->n--;
	}
}

/* A finished call: its outcome, fenced by the claim's token. */
static void finished(struct hooks *h, struct delivery *d, CURLcode rc)
{
	long status = 0;
	char why[300];

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		struct vg_db_param p[] = {vg_p_i64(status), vg_p_i64(d->id), vg_p_str(d->token)};

		if (vg_db_exec(vg_shards_db(h->shards, d->shard), delivered_sql, p,
			       VG_DB_NPARAMS(p)) >= 0)
			vg_info("msg=\"webhook delivered\" event_id=%s shard=%u attempt=%u "
				"status=%ld",
				d->event_id, d->shard, d->attempts, status);
		return;
	}
	if (d->refused[0])
		snprintf(why, sizeof(why),
			 "refused: %s is not a public address (webhooks.allow_private = 0)",
			 d->refused);
	else if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
	else
		snprintf(why, sizeof(why), "the endpoint answered %ld", status);
	write_failure(h, d, rc == CURLE_OK ? status : 0, why);
}

void hooks_turn(struct hooks *h, int want_claim)
{
	int running = 0, left = 0;
	CURLMsg *msg;
	int64_t now;

	if (!h->multi)
		return;
	if (h->n)
		curl_multi_perform(h->multi, &running);
	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct delivery *d = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
		finished(h, d, msg->data.result);
		unlink_delivery(h, d);
		delivery_free(h, d);
	}
	if (!want_claim)
		return;
	now = vg_mono_ms();
	for (unsigned k = 0; k < h->shards->n; k++) {
		unsigned room = (unsigned)h->cfg->webhooks.concurrency - h->n;
		int got;

		if (h->n >= (unsigned)h->cfg->webhooks.concurrency)
			break;
		if (now < h->next_claim_ms[k])
			continue;
		got = claim(h, k, room);
		/* a full claim: there may be more, look again next turn */
		if (got < (int)room)
			h->next_claim_ms[k] = now + IDLE_CLAIM_MS;
	}
	if (h->n)
		curl_multi_perform(h->multi, &running);
}

void hooks_free(struct hooks *h)
{
	while (h->list) {
		struct delivery *d = h->list;
		struct vg_db_param p[] = {vg_p_i64(d->id), vg_p_str(d->token)};

		vg_db_exec(vg_shards_db(h->shards, d->shard), release_sql, p, VG_DB_NPARAMS(p));
		h->list = d->next;
		delivery_free(h, d);
	}
	h->n = 0;
	if (h->multi)
		curl_multi_cleanup(h->multi);
	h->multi = NULL;
}
