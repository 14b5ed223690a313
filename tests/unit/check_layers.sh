#!/bin/sh
# check_layers.sh - includes point down the tree (docs/architecture.md):
# lib/ includes only lib/; app/, workers/, ctl/ and client/ include their
# own directory and lib/, never one another. Every `#include "..."` in those
# directories is checked (config.h is configure's, and allowed everywhere).
# TAP output, one check a directory; run by `make check`.
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
echo "1..$n"
exit $failed
