#!/usr/bin/env bash
# Runs one program under valgrind memcheck for the test suite's valgrind pass (scripts/test.sh).
# Usage: vg.sh PROGRAM ARGS...; logs go to $CABLE_VG_LOGDIR/<name>.<pid>.log, checked afterwards by
# check-logs.sh. Memory errors and definite leaks make the program exit 99.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${CABLE_VG_LOGDIR:?CABLE_VG_LOGDIR must name a directory for valgrind logs}"
name=$(basename "$1")
extra=(--track-fds=yes)
# The GTK presenter: GTK's and fontconfig's process-lifetime state is suppressed (gtk.supp, each
# entry inside a system library), and descriptors are not judged: GLib's main contexts, the bus
# connection and the display connection are singletons GTK never closes, and the program opens
# no descriptor of its own.
[ "$name" = cable-bridge-ui ] && extra=(--track-fds=no --suppressions="$here/gtk.supp")
exec valgrind --tool=memcheck \
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--error-exitcode=99 --num-callers=40 --vgdb=no \
	--suppressions="$here/cable.supp" "${extra[@]}" \
	--log-file="$CABLE_VG_LOGDIR/$name.%p.log" "$@"
