#!/usr/bin/env bash
# Runs one integration script with every program and helper it starts under valgrind: the script
# sees CABLE_BUILD_DIR pointing at a shim directory whose executables exec vg.sh on the real ones.
# Fails on the script's status or on any finding in the logs (check-logs.sh). Exit 77 passes through.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${CABLE_BUILD_DIR:?}"
real=$CABLE_BUILD_DIR
mkdir -p "$real/valgrind-work"
work=$(mktemp -d "$real/valgrind-work/$(basename "$1" .sh).XXXXXX")
export CABLE_VG_LOGDIR=$work/logs CABLE_VALGRIND=1
mkdir -p "$work/logs" "$work/shim/tests"

shim_dir() { # SRC DST
	local f
	for f in "$1"/*; do
		[ "$(basename "$f")" = tests ] && [ "$1" = "$real" ] && continue
		# Run natively: test doubles (the fake BlueZ), which stand for other people's daemons.
		if [ -f "$f" ] && [ -x "$f" ] && head -c4 "$f" | grep -q 'ELF' &&
			[[ "$(basename "$f")" != fake-bluez* ]]; then
			printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$here/vg.sh" "$f" >"$2/$(basename "$f")"
			chmod +x "$2/$(basename "$f")"
		else
			ln -s "$f" "$2/$(basename "$f")"
		fi
	done
}
shim_dir "$real" "$work/shim"
shim_dir "$real/tests" "$work/shim/tests"
export CABLE_BUILD_DIR=$work/shim
bash "$@"
rc=$?
[ "$rc" -eq 77 ] && { rm -rf "$work"; exit 77; }
"$here/check-logs.sh" "$CABLE_VG_LOGDIR" --require || { [ "$rc" -eq 0 ] && rc=1; }
if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then rm -rf "$work"; else echo "valgrind logs kept in $work" >&2; fi
exit "$rc"
