/*
 * vg_shm.h - memory a parent shares with the children it forks, and a lock
 * that lives in it.
 *
 * The prefork master maps a region before its first fork; every child then
 * sees the same bytes. Counters use C11 atomics (vg_metrics.h); structures
 * that must change two fields together (a count checked and then taken)
 * use one process-shared mutex. A child can die holding it (SIGKILL, a
 * crash): the mutex is robust, so the next locker gets it back and the data
 * it guards stays usable, because every holder leaves it consistent after
 * each single store.
 */
#ifndef VG_SHM_H
#define VG_SHM_H

#include <pthread.h>
#include <stddef.h>

/* Maps size zeroed bytes shared with children forked afterwards; NULL on
 * failure. Never unmapped: it lives as long as the process. */
void *vg_shm_map(size_t size);

/* Makes m a process-shared, robust mutex. 0, or -1 (errno set). */
int vg_shm_mutex_init(pthread_mutex_t *m);

/* Locks m; a lock whose holder died is taken over (and made consistent). */
void vg_shm_lock(pthread_mutex_t *m);
void vg_shm_unlock(pthread_mutex_t *m);

#endif
