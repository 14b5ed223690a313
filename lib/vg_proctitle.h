/*
 * vg_proctitle.h - process titles, so `ps` tells a master from its children.
 */
#ifndef VG_PROCTITLE_H
#define VG_PROCTITLE_H

/* Remembers argv (its strings are overwritten by later titles: copy what you
 * still need from it first, e.g. optarg). */
void vg_proctitle_init(int argc, char **argv);

/* Shows "PROG: role" in ps and "short" (at most 15 chars) in top/comm. */
void vg_proctitle_set(const char *prog, const char *role, const char *shortname);

#endif
