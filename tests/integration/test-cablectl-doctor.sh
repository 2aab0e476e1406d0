#!/usr/bin/env bash
# cablectl doctor against real components: a private dbus-daemon with the fake BlueZ (powered,
# unpowered, no advertising manager, a stuck discovery, BlueZ gone, no bus), cable-tunneld on
# loopback over ws and wss (its own CA, a wrong CA, a closed port, a name that does not resolve),
# and the uhid check on paths that are not the uhid device. Each failure must say what failed
# and what to do; the exit status and --json must agree with the lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-bus.sh"
bus_setup
CABLECTL=$CABLE_BUILD_DIR/cablectl
TUNNELD=$CABLE_BUILD_DIR/cable-tunneld
PY=/usr/bin/python3
W=$BUS_DIR

# doctor NAME ARGS...: runs cablectl doctor (bounded), output in $W/NAME.out, status in RC.
doctor() {
	local name=$1
	shift
	RC=0
	timeout 60 "$CABLECTL" doctor --timeout 5 "$@" >"$W/$name.out" 2>"$W/$name.err" || RC=$?
}
# has NAME REGEX: a line of the output matches.
has() {
	grep -Eq -- "$2" "$W/$1.out" || fail "$1: no line like /$2/ in: $(cat "$W/$1.out" "$W/$1.err")"
}
want_rc() {
	[ "$RC" = "$2" ] || fail "$1: exit $RC, wanted $2: $(cat "$W/$1.out" "$W/$1.err")"
}
# json NAME EXPR: a Python expression over the parsed --json output j.
json() {
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$W/$1.out" "$2"
}

# ---- usage -------------------------------------------------------------------------------------
doctor help --help
want_rc help 0
has help '^Usage: cablectl doctor'
doctor badcheck bluetoth
want_rc badcheck 2
grep -q "unknown check 'bluetoth'" "$W/badcheck.err" || fail "bad check name: $(cat "$W/badcheck.err")"
doctor badtimeout --timeout 0 uhid
want_rc badtimeout 2
doctor insecure --tunnel-server ws://192.0.2.1:80 tunnel
want_rc insecure 2
grep -q 'only to loopback' "$W/insecure.err" || fail "ws:// off loopback: $(cat "$W/insecure.err")"

# ---- Bluetooth ---------------------------------------------------------------------------------
# No bus at all.
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$W/nobus doctor nobus bluetooth
want_rc nobus 1
has nobus '^FAIL +bluetooth +cannot reach the system bus'
has nobus '^note +bluetooth +is dbus-daemon running'
has nobus '^1 check failed\.$'

bus_start
# A bus without BlueZ.
doctor nobluez bluetooth
want_rc nobluez 1
has nobluez '^FAIL +bluetooth +BlueZ \(org\.bluez\) is not on the system bus'
has nobluez '^note +bluetooth +start bluetoothd'

# Both adapters powered; hci1 has no advertising manager.
fake_start --no-adv-manager hci1
doctor bt bluetooth
want_rc bt 0
has bt '^ok +bluetooth +hci0 \(00:AA:BB:CC:00:00\) powered, LE discovery starts \(2 adapters\)$'
has bt '^note +advertising +hci0 can advertise'
has bt '^Everything checked works\.$'
[ "$(fake_stat hci0 StartDiscovery)" = 1 ] && [ "$(fake_stat hci0 StopDiscovery)" = 1 ] ||
	fail "the discovery check did not start and stop discovery once"
[ "$(fake_stat hci0 DiscoveringClients)" = 0 ] || fail "the discovery check left a discovery running"
doctor bt1 --adapter hci1 bluetooth
want_rc bt1 0
has bt1 '^note +advertising +hci1 offers no LE advertising'
doctor btjson --json bluetooth
want_rc btjson 0
[ "$(json btjson 'j["ok"], [c["check"] + ":" + c["result"] for c in j["checks"]]')" = \
	"(True, ['bluetooth:ok', 'advertising:note'])" ] || fail "--json: $(cat "$W/btjson.out")"

# Powered off.
fake_ctl power hci1 off
doctor off --adapter hci1 bluetooth
want_rc off 1
has off '^FAIL +bluetooth +Bluetooth adapter is not powered: adapter hci1 is not powered$'
has off '^note +bluetooth +switch Bluetooth on'
doctor offjson --json --adapter hci1 bluetooth
[ "$(json offjson 'j["ok"], j["checks"][0]["error"]')" = "(False, 'CABLE_ERR_BT_NOT_POWERED')" ] ||
	fail "--json off: $(cat "$W/offjson.out")"
fake_ctl power hci1 on
# A discovery the kernel still holds (seen after bluetoothd crashed): the fix is named.
fake_ctl fail-next hci0 StartDiscovery org.bluez.Error.InProgress "Operation already in progress" 1
doctor busy --adapter hci0 bluetooth
want_rc busy 1
has busy '^FAIL +bluetooth +BlueZ refused to start discovery \(hci0\): org\.bluez\.Error\.InProgress: .*switching Bluetooth off and on clears it'
# An adapter that does not exist.
doctor noadapter --adapter hci7 bluetooth
want_rc noadapter 1
has noadapter '^FAIL +bluetooth +no Bluetooth adapter'
fake_stop || fail "fake BlueZ did not stop cleanly"

# ---- uhid --------------------------------------------------------------------------------------
doctor uhid-missing --uhid "$W/no-such-uhid" uhid
want_rc uhid-missing 1
has uhid-missing "^FAIL +uhid +$W/no-such-uhid: No such file or directory: load the uhid module \(modprobe uhid"
doctor uhid-null --uhid /dev/null uhid
want_rc uhid-null 1
has uhid-null '^FAIL +uhid +/dev/null is not the uhid device \(want character device 10:239\)$'
: >"$W/plain-file"
doctor uhid-file --uhid "$W/plain-file" uhid
want_rc uhid-file 1
has uhid-file 'is not the uhid device'
# (The passing case needs the kernel's uhid: the QEMU scenario vm/uhid runs it.)

# ---- cable-bridged's key -----------------------------------------------------------------------
# No daemon (no session bus) and no hidraw node named for cable-bridge here: the check says to
# start it. (With the daemon on a session bus: test-cable-bridged-dbus.sh; a real key, opened as
# root and refused to another user: the QEMU scenario vm/uhid.)
DBUS_SESSION_BUS_ADDRESS=unix:path=$W/no-session-bus doctor key key
want_rc key 1
has key '^FAIL +key +no security key named "cable-bridge \(phone via hybrid\)": cable-bridged is not running \(systemctl --user start cable-bridged'

# ---- tunnel servers ----------------------------------------------------------------------------
bg "$TUNNELD" --listen 127.0.0.1:0 --routing-id a1b2c3 >"$W/plain.log" 2>"$W/plain.err"
wait_line "$W/plain.log" '^listening ' 10
PORT=$(awk '{print $3; exit}' "$W/plain.log")
doctor ws --tunnel-server "ws://127.0.0.1:$PORT" tunnel
want_rc ws 0
has ws "^ok +tunnel +ws://127\.0\.0\.1:$PORT: a tunnel opened in [0-9]+ ms \(routing ID a1b2c3\) and closed$"
# One domain ID overridden: only that one is checked.
doctor ws1 --tunnel-server "1=ws://localhost:$PORT" tunnel
want_rc ws1 0
has ws1 "^ok +tunnel 1 +ws://localhost:$PORT: a tunnel opened"
[ "$(grep -c '^ok\|^FAIL' "$W/ws1.out")" = 1 ] || fail "DOMAIN=URL checked more than one server"
# The server saw the tunnels open and close again: nothing left pending.
curl -s "http://127.0.0.1:$PORT/metrics" >"$W/metrics"
grep -q '^cable_tunnel_pending 0$' "$W/metrics" || fail "a doctor tunnel was left open: $(grep pending "$W/metrics")"

# wss with a certificate made here: trusted with --tunnel-ca, refused with a different CA.
(cd "$W" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout key.pem -out cert.pem 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=other -keyout okey.pem -out ocert.pem 2>/dev/null) || fail "openssl req"
bg "$TUNNELD" --listen 127.0.0.1:0 --routing-id 0d0e0f --cert "$W/cert.pem" --key "$W/key.pem" \
	>"$W/tls.log" 2>"$W/tls.err"
wait_line "$W/tls.log" '^listening ' 10
TPORT=$(awk '{print $3; exit}' "$W/tls.log")
doctor wss --tunnel-server "wss://localhost:$TPORT" --tunnel-ca "$W/cert.pem" tunnel
want_rc wss 0
has wss "^ok +tunnel +wss://localhost:$TPORT: a tunnel opened in [0-9]+ ms \(routing ID 0d0e0f\)"
doctor wrongca --tunnel-server "wss://localhost:$TPORT" --tunnel-ca "$W/ocert.pem" tunnel
want_rc wrongca 1
has wrongca "^FAIL +tunnel +wss://localhost:$TPORT: TLS failure with the tunnel server after [0-9]+ ms \(a TLS-inspecting proxy, or --tunnel-ca\?\)$"

# A closed port, and a name that cannot resolve: a 64-character label is refused by the resolver
# itself, so no DNS query leaves the machine (strace shows none; "cable.invalid" would ask).
CLOSED=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
doctor closed --tunnel-server "ws://127.0.0.1:$CLOSED" tunnel
want_rc closed 1
has closed "^FAIL +tunnel +ws://127\.0\.0\.1:$CLOSED: cannot connect to the tunnel server after [0-9]+ ms"
BADHOST=$(printf 'x%.0s' $(seq 64)).invalid
doctor unresolved --tunnel-server "wss://$BADHOST" tunnel
want_rc unresolved 1
has unresolved "^FAIL +tunnel +wss://$BADHOST: cannot connect to the tunnel server after [0-9]+ ms: cannot resolve $BADHOST: .* \(no network, or DNS\?\)\$"

# ---- everything at once, JSON ------------------------------------------------------------------
fake_start
DBUS_SESSION_BUS_ADDRESS=unix:path=$W/no-session-bus doctor all --json --uhid /dev/null \
	--tunnel-server "ws://127.0.0.1:$PORT"
want_rc all 1
[ "$(json all '[c["check"] + ":" + c["result"] for c in j["checks"]]')" = \
	"['bluetooth:ok', 'advertising:note', 'uhid:fail', 'key:fail', 'tunnel:ok']" ] || fail "--json all: $(cat "$W/all.out")"
[ "$(json all 'j["ok"]')" = False ] || fail "--json all: ok should be false"

echo "PASS: cablectl doctor"
