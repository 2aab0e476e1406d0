#!/usr/bin/env bash
# Real CTAPHID clients (libfido2 and python-fido2) against the CTAPHID machine on the socket transport.
set -euo pipefail
build=${CABLE_BUILD_DIR:?}
src=${CABLE_SOURCE_DIR:?}
key=$build/tests/hid-echo-key
work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

start_key() {
	rm -f "$work/key.sock"
	"$key" "$work/key.sock" 120 2>>"$work/key.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/key.sock" ] && return 0; sleep 0.05; done
	echo "hid-echo-key did not come up"; cat "$work/key.log"; exit 1
}

stop_key() {
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	pid=
	# A clean exit on SIGTERM (under ASan this includes the leak check).
	[ "$rc" -eq 0 ] || { echo "hid-echo-key exited with $rc"; cat "$work/key.log"; exit 1; }
	[ ! -e "$work/key.sock" ] || { echo "socket not removed"; exit 1; }
}

status=0
start_key
if [ -x "$build/tests/hid-libfido2-client" ]; then
	timeout 60 "$build/tests/hid-libfido2-client" "$work/key.sock" || status=1
else
	echo "libfido2 client not built (libfido2-dev missing)"; status=1
fi
grep -q "cancel" "$work/key.log" || { echo "key saw no CANCEL from libfido2"; status=1; }
# Four raw clients at once, each checking the whole report stream and its own PINGs.
timeout 60 /usr/bin/python3 "$src/tests/integration/hid-stress.py" "$work/key.sock" 4 3 || status=1
stop_key

start_key
if /usr/bin/python3 -c 'import fido2' 2>/dev/null; then
	timeout 60 /usr/bin/python3 "$src/tests/integration/hid-python-fido2.py" "$work/key.sock" || status=1
else
	echo "python3-fido2 missing"; status=1
fi
stop_key
[ "$status" -eq 0 ] || cat "$work/key.log"
exit "$status"
