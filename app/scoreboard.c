/*
 * scoreboard.c - the children's upload slots (see scoreboard.h).
 */
#include "scoreboard.h"
#include "vg_log.h"
#include "vg_shm.h"

#include <errno.h>
#include <string.h>

#define SLOTS_MAX 1024 /* http.processes' upper bound */

struct scoreboard {
	pthread_mutex_t lock;
	long long user[SLOTS_MAX];  /* user whose upload the child serves, 0: none */
	long long bytes[SLOTS_MAX]; /* ... the staging bytes it may take */
};

static struct scoreboard *board;
static unsigned my_slot = SLOTS_MAX; /* in a child: its slot */
static int holding;		     /* this child holds its slot */

void scoreboard_open(void)
{
	if (board)
		return;
	board = vg_shm_map(sizeof(*board));
	if (!board || vg_shm_mutex_init(&board->lock) < 0) {
		vg_warn("msg=\"cannot map the upload scoreboard; "
			"limits.concurrent_uploads_per_user is not enforced\" error=\"%s\"",
			strerror(errno));
		board = NULL;
	}
}

void scoreboard_attach(unsigned slot)
{
	my_slot = slot < SLOTS_MAX ? slot : SLOTS_MAX;
	holding = 0;
}

void scoreboard_clear(unsigned slot)
{
	if (!board || slot >= SLOTS_MAX)
		return;
	vg_shm_lock(&board->lock);
	board->user[slot] = 0;
	board->bytes[slot] = 0;
	vg_shm_unlock(&board->lock);
}

static unsigned count_locked(long long user_id, long long *bytes)
{
	unsigned n = 0;

	*bytes = 0;
	for (unsigned i = 0; i < SLOTS_MAX; i++)
		if (board->user[i] == user_id) {
			n++;
			*bytes += board->bytes[i];
		}
	return n;
}

unsigned scoreboard_count(long long user_id, long long *bytes)
{
	unsigned n;

	*bytes = 0;
	if (!board || user_id <= 0)
		return 0;
	vg_shm_lock(&board->lock);
	n = count_locked(user_id, bytes);
	vg_shm_unlock(&board->lock);
	return n;
}

int scoreboard_enter(long long user_id, unsigned cap, long long bytes, long long bytes_cap)
{
	int rc = 0;
	long long held;

	if (!board || my_slot >= SLOTS_MAX || user_id <= 0)
		return 0;
	vg_shm_lock(&board->lock);
	if (count_locked(user_id, &held) >= cap && cap > 0)
		rc = -1;
	else if (bytes_cap > 0 && bytes > 0 && held + bytes > bytes_cap)
		rc = -2;
	else {
		board->user[my_slot] = user_id;
		board->bytes[my_slot] = bytes;
	}
	vg_shm_unlock(&board->lock);
	holding = rc == 0;
	return rc;
}

void scoreboard_leave(void)
{
	if (!board || !holding)
		return;
	holding = 0;
	vg_shm_lock(&board->lock);
	board->user[my_slot] = 0;
	board->bytes[my_slot] = 0;
	vg_shm_unlock(&board->lock);
}
