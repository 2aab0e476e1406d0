#!/usr/bin/env bash
# The main job, end to end on one machine: installs what is needed (scripts/setup.sh), builds, then
# registers a passkey with `cablectl create` and signs in with `cablectl get`, the phone being
# cable-phone (a software authenticator) reached through a fake BlueZ on a private D-Bus bus (hci0
# the desktop, hci1 the phone) and cable-tunneld on loopback. python-fido2's Fido2Server plays
# the relying party: it makes the options and verifies both results. Everything started here is
# stopped on every exit path.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CABLE_DEMO_BUILD:-$ROOT/build}
ORIGIN=https://example.com
PY=/usr/bin/python3
RP="$ROOT/scripts/fido2-rp.py"

bash "$ROOT/scripts/setup.sh"
echo "== Building (in $BUILD)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null
ninja -C "$BUILD" -j2 cablectl cable-phone cable-tunneld fake-bluez >/dev/null

export CABLE_BUILD_DIR="$BUILD"
# shellcheck source=../tests/integration/lib-bus.sh
source "$ROOT/tests/integration/lib-bus.sh" # bus_setup sets the trap that stops everything
bus_setup
W=$BUS_DIR
echo "== Starting a private system bus with a fake BlueZ (hci0: desktop, hci1: phone)"
bus_start
fake_start --adapters hci0,hci1
echo "== Starting cable-tunneld on loopback"
bg "$BUILD/cable-tunneld" --listen 127.0.0.1:0 >"$W/tunneld.out" 2>"$W/tunneld.err"
wait_line "$W/tunneld.out" '^listening ' 10
SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$W/tunneld.out")"
echo "   tunnel server: $SERVER"
echo "== cablectl doctor bluetooth tunnel --adapter hci0 --tunnel-server $SERVER"
"$BUILD/cablectl" doctor bluetooth tunnel --adapter hci0 --tunnel-server "$SERVER" | sed 's/^/   /'
[ "${PIPESTATUS[0]}" = 0 ] || { echo "demo: cablectl doctor found a problem (above)" >&2; exit 1; }

# ceremony NAME CMD OPTIONS: cablectl CMD shows its QR code and progress here; cable-phone "scans"
# the URL under the code (from the same stderr) and answers at once. The result lands in W/NAME.json.
ceremony() {
	local name=$1 cmd=$2 opts=$3 url rc
	echo
	echo "== cablectl $cmd --origin $ORIGIN --options $(basename "$opts") --tunnel-server $SERVER"
	"$BUILD/cablectl" "$cmd" --origin "$ORIGIN" --options "$opts" --adapter hci0 \
		--tunnel-server "$SERVER" --timeout 30 >"$W/$name.json" 2> >(tee "$W/$name.err" >&2) &
	local cpid=$!
	BUS_PIDS+=("$cpid")
	wait_line "$W/$name.err" '^FIDO:/' 10
	url=$(grep -m1 '^FIDO:/' "$W/$name.err")
	timeout 30 "$BUILD/cable-phone" --qr "$url" --adapter hci1 --tunnel-server "$SERVER" \
		--store "$W/phone-store.cbor" </dev/null 2>&1 | sed 's/^/   [phone] /' >"$W/$name.phone"
	rc=0
	wait "$cpid" || rc=$?
	sleep 0.1 # let tee finish the last progress line
	cat "$W/$name.phone"
	if [ "$rc" -ne 0 ]; then
		echo "demo: cablectl $cmd failed (exit $rc)" >&2
		exit 1
	fi
	echo "-- $cmd result (stdout of cablectl):"
	$PY -m json.tool "$W/$name.json" | cut -c1-110 | sed 's/^/   /'
}

$PY "$RP" begin-create "$W" example.com alice >"$W/create-options.json"
ceremony create create "$W/create-options.json"
echo "-- relying party:"
$PY "$RP" finish-create "$W" "$ORIGIN" <"$W/create.json" | sed 's/^/   /'

$PY "$RP" begin-get "$W" >"$W/get-options.json"
ceremony get get "$W/get-options.json"
echo "-- relying party:"
$PY "$RP" finish-get "$W" "$ORIGIN" <"$W/get.json" | sed 's/^/   /'

echo
echo "verified"
