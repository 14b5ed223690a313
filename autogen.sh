#!/bin/sh
# Regenerates configure and Makefile.in from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all
# The TAP test driver is not installed by autoreconf; take automake's own.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
