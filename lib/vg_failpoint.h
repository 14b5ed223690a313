/*
 * vg_failpoint.h - named failpoints for the fault tests (tests/fault/).
 *
 * SQLite-style: every step where a crash or an error would test the
 * durability promise calls VG_FAILPOINT("name"). In a normal build that is
 * the constant 0 and compiles to nothing; only `configure
 * --enable-failpoints` (the fault-test build) makes it look at a spec file.
 *
 * The spec file is named by $VINGEST_FAILPOINTS_FILE and re-read when it
 * changes, so a test switches failpoints on a running stack. One line per
 * failpoint:
 *
 *     NAME ACTION [COUNT]
 *
 * ACTION: crash (SIGKILL itself: nothing is flushed or cleaned up, as with
 * kill -9 or a power cut for the process), error (the step fails as if its
 * system call had, errno EIO), enospc (the same with ENOSPC: a full disk),
 * stall:MS (sleeps, then goes on). COUNT: how many times
 * it fires across every process sharing the file (default: every time);
 * counted with marker files NAME.fired.N beside the spec, created O_EXCL, so
 * "crash 1" crashes exactly one process once even in a prefork pool.
 * Every firing is logged at warn level before it acts.
 */
#ifndef VG_FAILPOINT_H
#define VG_FAILPOINT_H

#ifdef VG_FAILPOINTS
/* 0: go on; -1: the step must fail (errno set to EIO). May not return. */
int vg_failpoint(const char *name);
#define VG_FAILPOINT(name) vg_failpoint(name)
#else
#define VG_FAILPOINT(name) 0
#endif

#endif
