/*
 * scoreboard.c - the shared mapping (see scoreboard.h).
 */
#include "scoreboard.h"

#include <sys/mman.h>

struct scoreboard_slot *scoreboard_new(size_t n)
{
	void *p = mmap(NULL, n * sizeof(struct scoreboard_slot), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p; /* anonymous mappings start zeroed */
}

void scoreboard_free(struct scoreboard_slot *s, size_t n)
{
	if (s)
		munmap(s, n * sizeof(struct scoreboard_slot));
}
