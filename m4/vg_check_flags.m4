# vg_check_flags.m4 - does the toolchain take a compiler or linker flag?
#
# VG_CHECK_FLAGS(CFLAGS, LDFLAGS, [ACTION-IF-TAKEN], [ACTION-IF-NOT])
#
# Compiles and links a small program that calls into libc (snprintf, puts:
# enough for the stack protector and _FORTIFY_SOURCE to reach for their libc
# symbols) with CFLAGS added to $CFLAGS $VG_CHECK_CFLAGS and LDFLAGS added to
# $LDFLAGS $VG_CHECK_LDFLAGS, and -Werror: a compiler that only warns about
# a flag it does not know or cannot use on this target (clang's "argument
# unused", gcc's "not supported for this target") does not take it. Set
# VG_CHECK_CFLAGS / VG_CHECK_LDFLAGS to the flags the build uses anyway (the
# sanitizers) so a flag is tried the way it will be used.
#
# Written here rather than taken from autoconf-archive (AX_CHECK_COMPILE_FLAG,
# AX_CHECK_LINK_FLAG) to keep that package out of the build dependencies.
AC_DEFUN([VG_CHECK_FLAGS], [
  AS_VAR_PUSHDEF([vg_cache], [vg_cv_flags_$1_$2])
  AC_CACHE_CHECK([whether $CC accepts m4_normalize([$1 $2])], [vg_cache], [
    vg_check_flags_save_CFLAGS=$CFLAGS
    vg_check_flags_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS $VG_CHECK_CFLAGS -Werror $1"
    LDFLAGS="$LDFLAGS $VG_CHECK_LDFLAGS $2"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <stdio.h>]],
        [[char buf[32];
          snprintf(buf, sizeof(buf), "%d", 42);
          puts(buf);]])],
      [AS_VAR_SET([vg_cache], [yes])], [AS_VAR_SET([vg_cache], [no])])
    CFLAGS=$vg_check_flags_save_CFLAGS
    LDFLAGS=$vg_check_flags_save_LDFLAGS])
  AS_VAR_IF([vg_cache], [yes], [$3], [$4])
  AS_VAR_POPDEF([vg_cache])
])
