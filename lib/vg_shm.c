/*
 * vg_shm.c - shared memory and a robust process-shared lock (see vg_shm.h).
 */
#include "vg_shm.h"

#include <errno.h>
#include <sys/mman.h>

void *vg_shm_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p; /* anonymous mappings start zeroed */
}

int vg_shm_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int rc;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
	rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

void vg_shm_lock(pthread_mutex_t *m)
{
	/* EOWNERDEAD: the last holder died while holding it; what it guards
	 * is consistent after every single store, so carry on. */
	if (pthread_mutex_lock(m) == EOWNERDEAD)
		pthread_mutex_consistent(m);
}

void vg_shm_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}
