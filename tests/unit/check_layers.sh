#!/bin/sh
# check_layers.sh - includes point down the tree (docs/architecture.md):
# lib/ includes only lib/; app/, workers/, ctl/ and client/ include their
# own directory and lib/, never one another. Every `#include "..."` in those
# directories is checked (config.h is configure's, and allowed everywhere).
#
# Then the same rule as the compiler sees it: Makefile.am's AM_CPPFLAGS puts
# only lib/ on the include path, each program's _CPPFLAGS adds its own
# directory and no other, and each unit test's adds tests/ and at most one
# program's directory. A program that included another's header would then
# not build, whatever its #include line says (a "../app/x.h" included).
# TAP output, one check a directory and one a set of flags; run by `make check`.
src=${VG_SRCDIR:-$(dirname "$0")/../..}
n=0
failed=0
for dir in lib app workers ctl client; do
	n=$((n + 1))
	bad=
	for f in "$src/$dir"/*.c "$src/$dir"/*.h; do
		[ -f "$f" ] || continue
		for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
			[ "$inc" = config.h ] && continue
			[ -f "$src/$dir/$inc" ] && continue
			[ "$dir" != lib ] && [ -f "$src/lib/$inc" ] && continue
			bad="$bad ${f#"$src"/}:$inc"
		done
	done
	if [ -z "$bad" ]; then
		echo "ok $n - $dir/ includes only $( [ "$dir" = lib ] && echo 'lib/' || echo "$dir/ and lib/")"
	else
		echo "not ok $n - $dir/ includes only $( [ "$dir" = lib ] && echo 'lib/' || echo "$dir/ and lib/")"
		for b in $bad; do echo "#   $b"; done
		failed=1
	fi
done

# -I directories of Makefile.am variable $1, relative to the source tree,
# one a line ($(AM_CPPFLAGS) and $(VG_TEST_INCLUDES) are named, not expanded).
# shellcheck disable=SC2016 # the $(...) are make's, matched as text
include_dirs() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$src/Makefile.am" |
		sed -n "s/^$1[[:space:]]*=//p" | tr '\t' ' ' | tr ' ' '\n' |
		sed -n -e 's|^-I\$(top_srcdir)/||p' -e 's|^-I\$(top_builddir)$|(builddir)|p' \
			-e 's|^\$(AM_CPPFLAGS)$|AM_CPPFLAGS|p' -e 's|^\$(VG_TEST_INCLUDES)$|VG_TEST_INCLUDES|p'
}

# check_flags NAME WANT...: NAME's include directories are exactly WANT.
check_flags() {
	name=$1
	shift
	n=$((n + 1))
	got=$(include_dirs "$name" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	got=${got% } want=${want% }
	if [ "$got" = "$want" ]; then
		echo "ok $n - $name puts $want on the include path"
	else
		echo "not ok $n - $name puts $want on the include path"
		echo "#   got: $got"
		failed=1
	fi
}

check_flags AM_CPPFLAGS lib '(builddir)'
check_flags VG_TEST_INCLUDES AM_CPPFLAGS tests
check_flags app_vingest_fcgi_CPPFLAGS AM_CPPFLAGS app
check_flags workers_vingest_workers_CPPFLAGS AM_CPPFLAGS workers
check_flags ctl_vingestctl_CPPFLAGS AM_CPPFLAGS ctl
check_flags client_vingest_upload_CPPFLAGS AM_CPPFLAGS client

# Every unit test: tests/ and lib/, plus the directory of the one program
# whose module it tests, if any.
n=$((n + 1))
bad=
for t in $(sed -n 's/^\(tests_unit_test_[a-z0-9_]*\)_SOURCES[[:space:]]*=.*/\1/p' "$src/Makefile.am"); do
	dirs=$(include_dirs "${t}_CPPFLAGS" | tr '\n' ',')
	case "$dirs" in
	VG_TEST_INCLUDES, | VG_TEST_INCLUDES,app, | VG_TEST_INCLUDES,workers, | \
		VG_TEST_INCLUDES,ctl, | VG_TEST_INCLUDES,client,) ;;
	*) bad="$bad ${t}_CPPFLAGS:${dirs%,}" ;;
	esac
done
if [ -z "$bad" ]; then
	echo "ok $n - each unit test sees tests/, lib/ and at most one program's directory"
else
	echo "not ok $n - each unit test sees tests/, lib/ and at most one program's directory"
	for b in $bad; do echo "#   $b"; done
	failed=1
fi

echo "1..$n"
exit $failed
