#!/usr/bin/env bash
# End-to-end hybrid sign-in on loopback: wall time from the QR code being shown to the response
# printed, and cablectl's CPU time, as medians over N runs (default 25) of `cablectl get` against
# cable-phone answering at once, through the fake BlueZ and a local cable-tunneld.
#   bench/signin-bench.sh [N] [BUILD_DIR]
# env FAKE_TICK_MS=N: the fake BlueZ's announce period; BENCH_CA=1: both sides get --tunnel-ca with
# a throwaway one-certificate CA, so that neither parses the system CA bundle at start-up.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-25}
export CABLE_BUILD_DIR=${2:-$ROOT/build}
source "$ROOT/tests/integration/lib-bus.sh"
bus_setup
bus_start
fake_start --adapters hci0,hci1 ${FAKE_TICK_MS:+--tick-ms "$FAKE_TICK_MS"}
W=$BUS_DIR
bg "$CABLE_BUILD_DIR/cable-tunneld" --listen 127.0.0.1:0 >"$W/tunneld.out" 2>"$W/tunneld.err"
wait_line "$W/tunneld.out" '^listening ' 10
SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$W/tunneld.out")"
PY=/usr/bin/python3
if [ -n "${BENCH_CA:-}" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
		-out "$W/ca.pem" -days 1 -subj /CN=bench-ca 2>/dev/null
	export BENCH_CA="$W/ca.pem"
fi
# One passkey to sign in with (discoverable get with a fixed challenge: no RP round trip needed).
echo '{"challenge": "YmVuY2gtY2hhbGxlbmdlLTAxMjM0NTY3ODk", "rp": {"name": "bench"},
 "user": {"id": "YmVuY2g", "name": "bench", "displayName": "bench"},
 "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
 "authenticatorSelection": {"residentKey": "required"}}' >"$W/create.json"
echo '{"challenge": "YmVuY2gtY2hhbGxlbmdlLTAxMjM0NTY3ODk"}' >"$W/get.json"
$PY "$ROOT/bench/signin-bench.py" "$CABLE_BUILD_DIR" "$SERVER" 1 create https://example.com \
	"$W/create.json" "$W/store.cbor" >/dev/null
echo "fake BlueZ announce period: ${FAKE_TICK_MS:-100 (default)} ms; --tunnel-ca: $([ -n "${BENCH_CA:-}" ] && echo "a one-certificate CA" || echo "no (the system CA bundle is loaded only for wss://)")"
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $(uname -r)"
$PY "$ROOT/bench/signin-bench.py" "$CABLE_BUILD_DIR" "$SERVER" "$N" get https://example.com \
	"$W/get.json" "$W/store.cbor"
