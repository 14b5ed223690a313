/*
 * router.h - maps method and path to a handler, and answers 404/405 itself.
 */
#ifndef VG_APP_ROUTER_H
#define VG_APP_ROUTER_H

struct request;

/* Answers r (every path through here answers exactly once). */
void router_dispatch(struct request *r);

/* The methods path answers to, as an Allow header's value ("GET, POST"),
 * or NULL for a path that does not exist. Static. */
const char *router_allow(const char *path);

#endif
