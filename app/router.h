/*
 * router.h - maps method and path to a handler, and answers 404/405 itself.
 */
#ifndef VG_APP_ROUTER_H
#define VG_APP_ROUTER_H

struct request;

/* Answers r (every path through here answers exactly once). */
void router_dispatch(struct request *r);

#endif
