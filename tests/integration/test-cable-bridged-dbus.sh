#!/usr/bin/env bash
# cable-bridged's D-Bus interface (org.cablebridge.Bridge1) on a private session bus: a test client
# (tests/integration/bridged_dbus_client.py, python3-dbus) sees every signal of a whole request in
# order while python-fido2 registers through the bridge's HID socket and cable-phone answers the
# URL taken from the RequestStarted signal (fake BlueZ, real cable-tunneld); Cancel(id) ends a
# python-fido2 getAssertion with CTAP2_ERR_OPERATION_DENIED; the QR hook keeps working beside it;
# the daemon asks the bus to start the QR window and, when that fails, logs it once and goes on;
# without a session bus the daemon logs once and works with the hook.
source "$(dirname "$0")/lib-bus.sh"
source "$(dirname "$0")/lib-session.sh"
set -u

BRIDGED="$CABLE_BUILD_DIR/cable-bridged"
PHONE="$CABLE_BUILD_DIR/cable-phone"
PY=/usr/bin/python3
CLIENT="$CABLE_SOURCE_DIR/tests/integration/bridged_dbus_client.py"
FAILS=0

ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
expect() {
	if grep -Eq -- "$2" "$1"; then ok "$3"; else
		bad "$3 (no /$2/ in $1):"
		sed 's/^/    /' "$1" >&2
	fi
}
$PY -c 'import dbus, gi, fido2' 2>/dev/null || { echo "SKIP: python3-dbus, python3-gi or python3-fido2 missing" >&2; exit 77; }

bus_setup
bus_start
fake_start --adapters hci0,hci1
W=$BUS_DIR
# The QR window's activation file points at a program that fails: the daemon must try it and fall
# back to the hook (the real window is tested in test-cable-bridge-ui.sh).
mkdir -p "$W/services"
cat >"$W/services/org.cablebridge.BridgeUI.service" <<EOF2
[D-BUS Service]
Name=org.cablebridge.BridgeUI
Exec=/bin/sh -c 'echo started >>$W/ui-started; exit 3'
EOF2
session_bus_start "$W/services"
bg "$CABLE_BUILD_DIR/cable-tunneld" --listen 127.0.0.1:0 >"$W/tunneld.out" 2>"$W/tunneld.err"
wait_line "$W/tunneld.out" '^listening ' 10
SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$W/tunneld.out")"
export WORK="$W" BRIDGE_SOCK="$W/key.sock"
export PHONE_CMD="$PHONE --adapter hci1 --tunnel-server $SERVER --store $W/phone.cbor --timeout 20"
export EXPECT_VERSION=$(sed -n 's/^project(cable-bridge VERSION \([0-9.]*\).*/\1/p' "$CABLE_SOURCE_DIR/CMakeLists.txt")
mkdir -p "$W/run" && chmod 700 "$W/run"

XDG_RUNTIME_DIR="$W/run" bg "$BRIDGED" --hid "socket:$BRIDGE_SOCK" --adapter hci0 \
	--tunnel-server "$SERVER" \
	--qr-command "exec 2>/dev/null; trap 'echo withdrawn >>$W/hook.log; exit 0' TERM; echo show %u >>$W/hook.log; while :; do sleep 0.05; done" \
	2>"$W/bridged.log"
BRIDGE_PID=$LAST_PID
wait_line "$W/bridged.log" 'running: HID socket:' 10
expect "$W/bridged.log" 'on the session bus as org.cablebridge.Bridge1' "daemon owns org.cablebridge.Bridge1"
# cablectl doctor finds the daemon on the bus; in socket mode without cable-uhid-helper there is
# no key (no /dev/uhid here), and it says what the daemon needs.
rc=0
timeout 20 "$CABLE_BUILD_DIR/cablectl" doctor --timeout 5 key >"$W/doctor.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -Eq "^FAIL +key +cable-bridged $EXPECT_VERSION is on the session bus but no security key named \"cable-bridge \(phone via hybrid\)\" exists: it needs /dev/uhid, or cable-uhid-helper" "$W/doctor.out" &&
	ok "cablectl doctor key: the daemon $EXPECT_VERSION is on the bus, no key without the helper" ||
	bad "cablectl doctor key (exit $rc): $(cat "$W/doctor.out")"
busctl --user introspect org.cablebridge.Bridge1 /org/cablebridge/Bridge org.cablebridge.Bridge1 \
	>"$W/introspect.out" 2>&1
for m in '\.Cancel +method +t ' '\.Requests +property +a\(tssss\)' '\.Version +property +s ' \
	'\.RequestStarted +signal +tsss' '\.RequestStateChanged +signal +tss' '\.RequestEnded +signal +tss'; do
	expect "$W/introspect.out" "$m" "introspection: $m"
done
# The shipped XML and the live object agree on every member and signature.
$PY - "$CABLE_SOURCE_DIR/contrib/dbus/org.cablebridge.Bridge1.xml" "$W/introspect.out" <<'EOF2' && ok "contrib/dbus/org.cablebridge.Bridge1.xml matches the live interface" || bad "XML and live interface differ"
import re, sys, xml.etree.ElementTree as ET
it = ET.parse(sys.argv[1]).getroot().find("interface")
want = set()
for el in it:
    if el.tag == "property":
        want.add((el.get("name"), "property", el.get("type")))
    elif el.tag in ("method", "signal"):
        sig = "".join(a.get("type") for a in el.findall("arg") if a.get("direction", "in") == "in")
        want.add((el.get("name"), el.tag, sig or "-"))
have = set()
for line in open(sys.argv[2]):
    m = re.match(r"\.(\w+)\s+(method|property|signal)\s+(\S+)", line)
    if m:
        have.add(m.groups())
if want != have:
    print("xml:", sorted(want), "\nlive:", sorted(have), file=sys.stderr)
    sys.exit(1)
EOF2

for sc in whole cancel unknown btfail; do
	# btfail: BlueZ refuses the next discovery on hci0, with words the reason must carry.
	[ "$sc" = btfail ] && fake_ctl fail-next hci0 StartDiscovery org.bluez.Error.Failed "no radio today" 1
	if timeout 120 $PY "$CLIENT" "$sc" >"$W/sc-$sc.out" 2>&1; then
		ok "scenario $sc: $(grep -c '^ok:' "$W/sc-$sc.out") checks"
		grep -E '^(signal|cancel):' "$W/sc-$sc.out" | sed 's/^/    /'
	else
		bad "scenario $sc:"
		sed 's/^/    /' "$W/sc-$sc.out" >&2
		echo "    --- daemon log:" >&2
		tail -20 "$W/bridged.log" | sed 's/^/    /' >&2
	fi
done
expect "$W/bridged.log" 'request 2 cancelled over D-Bus' "log: cancelled over D-Bus"
expect "$W/bridged.log" 'session failed in stage scan: BlueZ refused to start discovery: org\.bluez\.Error\.Failed: no radio today$' \
	"log: the failed session carries BlueZ's words"
grep -q "^show $(cat "$W/dbus-url" 2>/dev/null)\$" "$W/hook.log" && ok "the hook was run with the same URL as the signal" ||
	bad "hook did not get the signalled URL: $(cat "$W/hook.log")"
# (The hook sets its trap before it logs "show", so every "show" has its "withdrawn"; a hook
# cancelled before that logs neither.)
# The last withdrawal can land just after the client's answer: give it up to 5 s.
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c '^show' "$W/hook.log")" = "$(grep -c '^withdrawn' "$W/hook.log")" ] && break
	sleep 0.05
done
[ "$(grep -c '^show' "$W/hook.log")" -ge 1 ] && [ "$(grep -c '^show' "$W/hook.log")" = "$(grep -c '^withdrawn' "$W/hook.log")" ] &&
	ok "hook still run beside D-Bus and told of every withdrawal" || bad "hook log: $(tr '\n' ' ' <"$W/hook.log")"
[ "$(grep -c started "$W/ui-started" 2>/dev/null)" -ge 1 ] && ok "the daemon asked the bus to start the QR window" ||
	bad "QR window activation never tried"
[ "$(grep -c 'QR window (org.cablebridge.BridgeUI) cannot be started' "$W/bridged.log")" = 1 ] &&
	ok "failed activation logged once; the hook carries on" || bad "activation failure not logged exactly once"
grep -q 'FIDO:/' "$W/bridged.log" && bad "the daemon logged a FIDO:/ URL" || ok "no FIDO:/ URL in the daemon's log"

# Idle with the session bus attached: still no system calls.
if command -v strace >/dev/null; then
	sleep 2.5
	timeout 10 strace -f -p "$BRIDGE_PID" -o "$W/strace.out" 2>/dev/null &
	SPID=$!
	sleep 5
	kill -INT "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	N=$(grep -Ev 'restart_syscall|\+\+\+|---|<detached|resumed>' "$W/strace.out" | grep -c .)
	[ "$N" = 0 ] && ok "idle for 5 s with the session bus: no system calls" ||
		bad "idle daemon made $N system calls: $(head -5 "$W/strace.out" | tr '\n' '|')"
fi

# The session bus goes away: the daemon says so once and keeps serving.
kill -TERM "$SESSION_BUS_PID"
wait_line "$W/bridged.log" 'session bus connection lost' 10 && ok "lost session bus logged"
kill -0 "$BRIDGE_PID" && ok "daemon still running without its session bus" || bad "daemon died with the session bus"
kill -TERM "$BRIDGE_PID"
for ((i = 0; i < 100; i++)); do kill -0 "$BRIDGE_PID" 2>/dev/null || break; sleep 0.05; done
wait "$BRIDGE_PID" && ok "SIGTERM: clean exit" || bad "exit status $?"

# No session bus at all: one log line, the hook and files still work.
rm -f "$BRIDGE_SOCK"
DBUS_SESSION_BUS_ADDRESS="unix:path=$W/nonexistent" XDG_RUNTIME_DIR="$W/run" bg "$BRIDGED" \
	--hid "socket:$BRIDGE_SOCK" --adapter hci0 --tunnel-server "$SERVER" 2>"$W/nobus.log"
NPID=$LAST_PID
wait_line "$W/nobus.log" 'running: HID socket:' 10
[ "$(grep -c 'no session bus' "$W/nobus.log")" = 1 ] && ok "no session bus: logged once" || bad "no-bus log: $(cat "$W/nobus.log")"
$PY - <<'EOF2' && ok "without a session bus a request still shows its QR file" || bad "no QR file without a session bus"
import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(10); s.connect(os.environ["BRIDGE_SOCK"])
n = os.urandom(8); s.send(b"\0" + (b"\xff" * 4 + b"\x86\x00\x08" + n).ljust(64, b"\0"))
cid = s.recv(64)[15:19]
s.send(b"\0" + (cid + b"\x90\x00\x12\x02\xa2\x01\x6bexample.com\x02\x41\x00").ljust(64, b"\0"))
p = os.path.join(os.environ["WORK"], "run/cable-bridge/qr.url")
for _ in range(200):
    if os.path.exists(p) and open(p).read().startswith("FIDO:/"):
        s.send(b"\0" + (cid + b"\x91\x00\x00").ljust(64, b"\0"))
        raise SystemExit(0)
    time.sleep(0.05)
raise SystemExit(1)
EOF2
kill -TERM "$NPID"
wait "$NPID" && ok "no-bus daemon: clean exit" || bad "no-bus daemon exit $?"

[ "$FAILS" = 0 ] || { echo "$FAILS failure(s)" >&2; exit 1; }
echo "all passed"
