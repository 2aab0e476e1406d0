#!/usr/bin/env bash
# cable-bridged against a hostile local client (tests/integration/bridged_abuse.py): malformed
# INIT, bad sequence numbers, wrong lengths, interleaved channels, channel exhaustion and cancel
# storms on its HID socket, while another client on its own channel must be served correctly
# throughout. Afterwards the daemon is still up, has its starting descriptors and exits cleanly.
source "$(dirname "$0")/lib-bus.sh"
set -u

BRIDGED="$CABLE_BUILD_DIR/cable-bridged"
[ -x "$BRIDGED" ] || { echo "SKIP: no cable-bridged in this build" >&2; exit 77; }
SECS=20
[ -n "${CABLE_VALGRIND:-}" ] && SECS=10

bus_setup
bus_start
fake_start --adapters hci0,hci1
W=$BUS_DIR
mkdir -p "$W/run" && chmod 700 "$W/run"
SOCK=$W/key.sock
XDG_RUNTIME_DIR="$W/run" bg "$BRIDGED" --hid "socket:$SOCK" --adapter hci0 \
	--tunnel-server ws://127.0.0.1:9 --select deny 2>"$W/bridged.log"
PID=$LAST_PID
wait_line "$W/bridged.log" 'running: HID socket:' 20
FD0=$(ls "/proc/$PID/fd" | wc -l)
[ "$(stat -c %a "$SOCK")" = 600 ] && echo "ok: HID socket is 0600" || fail "HID socket mode $(stat -c %a "$SOCK")"

timeout $((SECS + 60)) /usr/bin/python3 "$CABLE_SOURCE_DIR/tests/integration/bridged_abuse.py" "$SOCK" "$SECS" \
	>"$W/abuse.out" 2>&1
rc=$?
cat "$W/abuse.out"
[ "$rc" = 0 ] || fail "hostile client run failed (exit $rc)"
kill -0 "$PID" 2>/dev/null && echo "ok: cable-bridged is up after the attack" || fail "cable-bridged died"
for ((i = 0; i < 50; i++)); do [ "$(ls "/proc/$PID/fd" | wc -l)" -le "$FD0" ] && break; sleep 0.1; done
FD1=$(ls "/proc/$PID/fd" | wc -l)
[ "$FD1" -le "$FD0" ] && echo "ok: descriptors back to $FD1 (start $FD0)" || fail "descriptors $FD1, start $FD0"
kill -TERM "$PID"
for ((i = 0; i < 100; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID"
rc=$?
[ "$rc" = 0 ] && echo "ok: clean exit on SIGTERM" || fail "exit status $rc on SIGTERM"
echo "all passed"
