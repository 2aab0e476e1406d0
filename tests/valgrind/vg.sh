#!/usr/bin/env bash
# Runs one program under valgrind memcheck for the test suite's valgrind pass (scripts/test.sh).
# Usage: vg.sh PROGRAM ARGS...; logs go to $CABLE_VG_LOGDIR/<name>.<pid>.log, checked afterwards by
# check-logs.sh. Memory errors and definite leaks make the program exit 99.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${CABLE_VG_LOGDIR:?CABLE_VG_LOGDIR must name a directory for valgrind logs}"
name=$(basename "$1")
exec valgrind --tool=memcheck \
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--error-exitcode=99 --track-fds=yes --num-callers=40 \
	--suppressions="$here/cable.supp" \
	--log-file="$CABLE_VG_LOGDIR/$name.%p.log" "$@"
