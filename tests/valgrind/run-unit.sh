#!/usr/bin/env bash
# Runs one unit test executable under valgrind (the valgrind pass); fails on its exit status or on
# any finding in its log.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "${CABLE_BUILD_DIR:?}/valgrind-work"
CABLE_VG_LOGDIR=$(mktemp -d "$CABLE_BUILD_DIR/valgrind-work/$(basename "$1").XXXXXX")
export CABLE_VG_LOGDIR
"$here/vg.sh" "$@"
rc=$?
"$here/check-logs.sh" "$CABLE_VG_LOGDIR" --require || { [ "$rc" -eq 0 ] && rc=1; }
if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then rm -rf "$CABLE_VG_LOGDIR"; else echo "valgrind logs kept in $CABLE_VG_LOGDIR" >&2; fi
exit "$rc"
