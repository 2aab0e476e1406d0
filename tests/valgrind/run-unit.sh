#!/usr/bin/env bash
# Runs one unit test executable under valgrind (the valgrind pass); fails on its exit status or on
# any finding in its log.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CABLE_VG_LOGDIR=$(mktemp -d /tmp/cable-vg.XXXXXX)
export CABLE_VG_LOGDIR
trap 'rm -rf "$CABLE_VG_LOGDIR"' EXIT
"$here/vg.sh" "$@"
rc=$?
"$here/check-logs.sh" "$CABLE_VG_LOGDIR" || { [ "$rc" -eq 0 ] && rc=1; }
exit "$rc"
