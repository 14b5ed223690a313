/*
 * scoreboard.h - which user's upload each vingest-fcgi child is serving.
 *
 * A child serving an upload is the scarce thing a greedy or hostile user
 * can take: http.processes of them on a host, one request each. The master
 * maps one slot per child before it forks; a child writes the user whose
 * upload it is serving into its slot for as long as the request lasts, and
 * limits.concurrent_uploads_per_user caps how many slots one user may hold
 * at once. A multipart upload's slot also holds its Content-Length: the
 * staging bytes it may take, which limits.staging_bytes_per_user caps per
 * host (a tus upload's bytes are reserved in its uploads row instead, see
 * reserve.h). The count and the take happen under one process-shared lock, so
 * two children of one user cannot both take the last place. A child that
 * dies mid-upload has its slot cleared by the master when it reaps it.
 */
#ifndef VG_APP_SCOREBOARD_H
#define VG_APP_SCOREBOARD_H

/* Maps the slots; the master calls it once, before the first fork. On
 * failure (logged) nothing is capped. */
void scoreboard_open(void);

/* In a new child: its slot (the master's slot index for it). */
void scoreboard_attach(unsigned slot);

/* In the master: the child of slot died or exited; its upload is over. */
void scoreboard_clear(unsigned slot);

/* Uploads of user_id the host's children are serving now, and in *bytes
 * the staging bytes those hold. */
unsigned scoreboard_count(long long user_id, long long *bytes);

/* Takes this child's slot for an upload of user_id holding bytes (0 for
 * none), unless cap (> 0) of them are being served already (-1) or their
 * bytes and these would pass bytes_cap (> 0) (-2). 0 taken. */
int scoreboard_enter(long long user_id, unsigned cap, long long bytes, long long bytes_cap);

/* The upload this child was serving is over (safe when none was). */
void scoreboard_leave(void);

#endif
