#!/usr/bin/env bash
# cable-phone against real processes on loopback: a private system bus with the fake BlueZ (phone
# on hci1, desktop on hci0), the real cable-tunneld, and desk-client (a desktop made of the core
# and the real tunnel client and BLE scanner). Checks the advert a desktop adapter sees (and that
# it decrypts with the QR's EID key), makeCredential then getAssertion verified by python-fido2,
# the terminal prompt, every --misbehave option with what the desktop's core reports, exit codes.
source "$(dirname "$0")/lib-bus.sh"
set -u

PHONE="$CABLE_BUILD_DIR/cable-phone"
DESK="$CABLE_BUILD_DIR/tests/desk-client"
CABLECTL="$CABLE_BUILD_DIR/cablectl"
PY=/usr/bin/python3
FAILS=0
# Under the valgrind pass every program runs many times slower: every time limit below is scaled
# by S, keeping each pair of limits in the order the check relies on.
S=1
[ -n "${CABLE_VALGRIND:-}" ] && S=4

ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
# expect FILE REGEX WHAT
expect() {
	if grep -Eq -- "$2" "$1"; then
		ok "$3"
	else
		bad "$3 (no /$2/ in $1):"
		sed 's/^/    /' "$1" >&2
	fi
}
# expect_rc GOT WANTED(regex) WHAT
expect_rc() {
	if [[ "$1" =~ ^($2)$ ]]; then ok "$3 (exit $1)"; else bad "$3: exit $1, wanted $2"; fi
}
# jfield FILE EVENT KEY: the KEY of the first JSON event EVENT in FILE.
jfield() {
	$PY -c 'import json,sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l.startswith("{"):
        e = json.loads(l)
        if e.get("event") == sys.argv[2]:
            v = e.get(sys.argv[3]); print("" if v is None else v); break' "$1" "$2" "$3"
}

bus_setup
bus_start
fake_start --adapters hci0,hci1
W=$BUS_DIR
bg "$CABLE_BUILD_DIR/cable-tunneld" --listen 127.0.0.1:0 >"$W/tunneld.out" 2>"$W/tunneld.err"
wait_line "$W/tunneld.out" '^listening ' $((10 * S))
SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$W/tunneld.out")"
COMMON=(--adapter hci1 --tunnel-server "$SERVER")

# ---- options and exit codes -------------------------------------------------------------------
URL=$("$CABLECTL" qr new --type mc --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["url"])')
[[ "$URL" == FIDO:/* ]] || fail "cablectl qr new gave no URL"
"$PHONE" --help | grep -q -- '--misbehave NAME' && ok "--help lists --misbehave" || bad "--help"
for name in wrong-psk bad-advert-tag truncated-handshake revision-0 garbage shutdown shutdown-after \
	out-of-order drop-tunnel no-update bad-update; do
	"$PHONE" --help | grep -q -- "^ *$name " || bad "--help does not document $name"
done
"$PHONE" --ephemeral >/dev/null 2>"$W/e1"; expect_rc $? 2 "no --qr is a usage error"
expect "$W/e1" '^cable-phone: --qr URL is required' "one-line usage message"
"$PHONE" --qr "$URL" --misbehave nope 2>/dev/null; expect_rc $? 2 "unknown --misbehave name"
"$PHONE" --qr "$URL" --store x --ephemeral 2>/dev/null; expect_rc $? 2 "--store with --ephemeral"
"$PHONE" --qr "$URL" --domain-id 70000 2>/dev/null; expect_rc $? 2 "--domain-id out of range"
"$PHONE" --qr 'FIDO:/12345' --ephemeral 2>"$W/e2"; expect_rc $? 3 "invalid QR URL"
expect "$W/e2" '^cable-phone: invalid QR URL: ' "QR error names the problem"
"$PHONE" --qr "$URL" --ephemeral --tunnel-server ws://example.com 2>/dev/null
expect_rc $? 2 "plain ws:// off loopback refused"
XDG_STATE_HOME="$W/state" "$PHONE" --qr 'FIDO:/12345' 2>/dev/null
[ "$(stat -c %a "$W/state/cable-bridge/cable-phone.cbor" 2>/dev/null)" = 600 ] &&
	ok "default store made under \$XDG_STATE_HOME/cable-bridge, 0600" || bad "default store not made"
printf 'not a store' >"$W/corrupt.cbor"
"$PHONE" --qr "$URL" --store "$W/corrupt.cbor" 2>"$W/e3"; expect_rc $? 9 "corrupt store refused"
expect "$W/e3" '^cable-phone: credential store .*corrupt' "store error in one line"
[ "$(cat "$W/corrupt.cbor")" = "not a store" ] && ok "corrupt store left untouched" || bad "corrupt store replaced"
timeout $((20 * S)) "$PHONE" --qr "$URL" --ephemeral --json --adapter hci7 --tunnel-server "$SERVER" >"$W/noad.json" 2>/dev/null
expect_rc $? 5 "missing adapter is a Bluetooth failure"
expect "$W/noad.json" '"error":"CABLE_ERR_BT_NO_ADAPTER"' "JSON names the Bluetooth error"

# ---- the advert as a desktop adapter sees it ---------------------------------------------------
timeout $((20 * S)) "$PHONE" --qr "$URL" --ephemeral --json --timeout $((3 * S)) "${COMMON[@]}" >"$W/adv.json" 2>"$W/adv.err" &
PPID_=$!
timeout $((15 * S)) "$CABLE_BUILD_DIR/tests/bt-tool" scan --adapter hci0 --count 1 --timeout $((10 * S)) >"$W/scan.out" 2>&1
wait "$PPID_"
expect_rc $? 6 "nobody connects: advertising times out"
expect "$W/adv.json" '"event":"closed","error":"CABLE_ERR_TIMEOUT".*"stage":"advertising"' "timeout reported for the advertising stage"
ADV=$(jfield "$W/adv.json" advertising advert)
RID=$(jfield "$W/adv.json" tunnel routing_id)
SEEN=$(awk '$1 == "payload" && $2 == "fff9" {print $3; exit}' "$W/scan.out")
[ -n "$ADV" ] && [ "$ADV" = "$SEEN" ] && ok "hci0 sees the phone's 20-byte advert under fff9" ||
	bad "advert seen on hci0 ($SEEN) differs from the phone's ($ADV)"
[ "${#SEEN}" = 40 ] && ok "service data is exactly 20 bytes" || bad "service data length ${#SEEN}"
"$CABLECTL" inspect advert --qr "$URL" --json "$SEEN" >"$W/inspect.json"
expect_rc $? 0 "cablectl decrypts the advert with the QR's EID key"
$PY -c 'import json,sys; d = json.load(open(sys.argv[1])); s = json.dumps(d)
assert sys.argv[2] in s and "routing" in s, s' "$W/inspect.json" "$RID" &&
	ok "decrypted advert carries the tunnel's routing ID $RID" || bad "routing ID $RID not in $(cat "$W/inspect.json")"
OTHER=$("$CABLECTL" qr new --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["url"])')
"$CABLECTL" inspect advert --qr "$OTHER" "$SEEN" >/dev/null 2>&1
[ $? -ne 0 ] && ok "another QR code's key does not open it" || bad "another QR key opened the advert"

# ---- makeCredential, then getAssertion with the same store; python-fido2 checks both -----------
CDH=$(printf 'cable-phone test' | sha256sum | cut -c1-64)
STORE="$W/store.cbor"
# run_pair NAME DESK_ARGS... -- PHONE_ARGS...: desk-client first (it makes the QR), then the phone.
run_pair() {
	local name=$1 dargs=() pargs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do dargs+=("$1"); shift; done
	shift
	pargs=("$@")
	timeout $((30 * S)) "$DESK" --adapter hci0 --tunnel-server "$SERVER" --cdh "$CDH" "${dargs[@]}" >"$W/$name.desk" 2>&1 &
	local dpid=$!
	wait_line "$W/$name.desk" '^url ' $((10 * S))
	local url
	url=$(sed -n 's/^url //p' "$W/$name.desk")
	timeout $((30 * S)) "$PHONE" --qr "$url" --json "${COMMON[@]}" "${pargs[@]}" <"${PHONE_STDIN:-/dev/null}" \
		>"$W/$name.json" 2>"$W/$name.err"
	PHONE_RC=$?
	wait "$dpid"
	DESK_RC=$?
}

run_pair mc --mc example.com --timeout $((15 * S)) -- --store "$STORE"
expect_rc $PHONE_RC 0 "makeCredential: phone answered"
expect_rc $DESK_RC 0 "makeCredential: desktop got a valid registration"
expect "$W/mc.desk" '^advert fff9 20 [0-9a-f]{6} 0$' "desktop matched the advert (domain 0)"
expect "$W/mc.desk" '^revision 1$' "revision-1 post-handshake message"
expect "$W/mc.desk" '^updates 1 528$' "one update message, 528 bytes of ciphertext"
expect "$W/mc.json" '"event":"request","command":"makeCredential","command_byte":1,"rp_id":"example.com"' "phone reports request type and RP ID"
expect "$W/mc.json" '"event":"shutdown"' "desktop's shutdown reached the phone"
expect "$W/mc.json" '"event":"closed","error":null' "phone closed cleanly"
[ "$(stat -c %a "$STORE")" = 600 ] && ok "store written 0600" || bad "store mode $(stat -c %a "$STORE")"
MC_RESP=$(sed -n 's/^response //p' "$W/mc.desk")
CRED="$(sed -n 's/^mc-ok //p' "$W/mc.desk"):$(sed -n 's/^mc-pub //p' "$W/mc.desk" | tr ' ' ':')"

run_pair ga --ga example.com --cred "$CRED" --timeout $((15 * S)) -- --store "$STORE"
expect_rc $PHONE_RC 0 "getAssertion: phone answered"
expect_rc $DESK_RC 0 "getAssertion: signature verifies with the registered key"
expect "$W/ga.desk" '^ga-ok$' "assertion checked by the desktop"
GA_RESP=$(sed -n 's/^response //p' "$W/ga.desk")
if $PY "$CABLE_SOURCE_DIR/tests/integration/phone_fido2.py" example.com "$CDH" "$MC_RESP" "$GA_RESP" >"$W/fido2.out" 2>&1; then
	ok "$(cat "$W/fido2.out")"
else
	bad "python-fido2 rejected the answers:"
	sed 's/^/    /' "$W/fido2.out" >&2
fi

# ---- wss with a certificate made here (--tunnel-ca) ---------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null || fail "openssl could not make a certificate"
bg "$CABLE_BUILD_DIR/cable-tunneld" --listen 127.0.0.1:0 --routing-id 0a0b0c --cert "$W/cert.pem" \
	--key "$W/key.pem" >"$W/tls.out" 2>"$W/tls.err"
wait_line "$W/tls.out" '^listening ' $((10 * S))
PLAIN_SERVER=$SERVER
SERVER="wss://127.0.0.1:$(awk '{print $3; exit}' "$W/tls.out")"
COMMON=(--adapter hci1 --tunnel-server "$SERVER" --tunnel-ca "$W/cert.pem")
run_pair tls --ga example.com --cred "$CRED" --tunnel-ca "$W/cert.pem" --timeout $((15 * S)) -- --store "$STORE"
expect_rc $PHONE_RC 0 "wss: phone answered through a TLS tunnel server"
expect "$W/tls.desk" '^advert fff9 20 0a0b0c 0$' "wss: advert carries that server's routing ID"
expect "$W/tls.desk" '^ga-ok$' "wss: assertion verifies"
timeout $((20 * S)) "$PHONE" --qr "$URL" --ephemeral --json --adapter hci1 --tunnel-server "$SERVER" >"$W/noca.json" 2>/dev/null
expect_rc $? 4 "wss without --tunnel-ca: tunnel failure"
expect "$W/noca.json" '"error":"CABLE_ERR_TUNNEL_TLS".*"stage":"tunnel"' "wss without --tunnel-ca: TLS error reported"
SERVER=$PLAIN_SERVER
COMMON=(--adapter hci1 --tunnel-server "$SERVER")

# ---- the terminal prompt (stdin read through the loop) ------------------------------------------
prompt_run() {
	local name=$1 answer=$2
	mkfifo "$W/$name.fifo"
	# Hold the fifo open; answer only once the phone has asked.
	(
		exec 9>"$W/$name.fifo"
		for ((i = 0; i < 200; i++)); do
			grep -q '"event":"prompt"' "$W/$name.json" 2>/dev/null && break
			sleep 0.05
		done
		sleep 0.2
		echo "$answer" >&9
	) &
	PHONE_STDIN="$W/$name.fifo" run_pair "$name" --ga example.com --timeout $((15 * S)) -- --store "$STORE" --user-presence prompt
}
prompt_run yes y
expect_rc $PHONE_RC 0 "prompt answered y: phone signs"
expect "$W/yes.json" '"event":"prompt","command":"getAssertion","rp_id":"example.com"' "prompt names the request and RP"
expect "$W/yes.json" '"event":"user","approved":true' "answer read from stdin"
expect "$W/yes.desk" '^response 00' "desktop gets CTAP2_OK"
prompt_run no n
expect_rc $PHONE_RC 1 "prompt answered n: answered with a CTAP error"
expect "$W/no.desk" '^response 27$' "desktop gets CTAP2_ERR_OPERATION_DENIED"

# ---- slow phone ---------------------------------------------------------------------------------
run_pair slow --ga example.com --timeout $((15 * S)) -- --store "$STORE" --delay-ms 800
T_REQ=$(jfield "$W/slow.json" request ms)
T_ANS=$(jfield "$W/slow.json" answered ms)
[ -n "$T_REQ" ] && [ -n "$T_ANS" ] && [ $((T_ANS - T_REQ)) -ge 800 ] &&
	ok "--delay-ms 800 holds the answer ($((T_ANS - T_REQ)) ms)" || bad "delay not applied ($T_REQ -> $T_ANS)"
# The desktop gives up long after the phone is found (even on a loaded machine), long before it answers.
run_pair slow2 --ga example.com --timeout $((6 * S)) -- --store "$STORE" --delay-ms $((15000 * S))
expect "$W/slow2.desk" '^error CABLE_ERR_TIMEOUT response$' "a desktop that gives up first reports a timeout"

# ---- misbehaviour: what the desktop's core reports ---------------------------------------------
# misbehave NAME PHONE_EXIT DESK_REGEX...
misbehave() {
	local name=$1 want=$2
	shift 2
	run_pair "mb-$name" --ga example.com --timeout $((5 * S)) -- --store "$STORE" --timeout $((3 * S)) --misbehave "$name"
	expect_rc $PHONE_RC "$want" "--misbehave $name: phone exit status"
	for re in "$@"; do
		expect "$W/mb-$name.desk" "$re" "--misbehave $name: desktop reports /$re/"
	done
}
misbehave wrong-psk 7 '^error CABLE_ERR_AUTH handshake$'
misbehave bad-advert-tag 6 '^advert-error CABLE_ERR_ADVERT_TAG$' '^error CABLE_ERR_TIMEOUT scan$'
misbehave truncated-handshake 4 '^error CABLE_ERR_HANDSHAKE_LENGTH handshake$'
misbehave revision-0 0 '^revision 0$' '^updates 0 0$' '^response 00' '^result ok$'
misbehave garbage 4 '^error CABLE_ERR_AUTH post-handshake$'
misbehave shutdown 0 '^error CABLE_ERR_PEER_SHUTDOWN response$'
misbehave shutdown-after 0 '^response 00' '^after-error CABLE_ERR_PEER_SHUTDOWN$'
misbehave out-of-order 4 '^error CABLE_ERR_AUTH post-handshake$'
misbehave drop-tunnel 4 '^error CABLE_ERR_TUNNEL_CLOSED response$'
misbehave no-update 0 '^updates 0 0$' '^result ok$'
# The desktop sends its request before it reads the update, so the phone may have answered (0)
# or not (4) by the time the desktop's close reaches it.
misbehave bad-update '0|4' '^error CABLE_ERR_UPDATE '

# ---- signals ------------------------------------------------------------------------------------
timeout $((20 * S)) "$PHONE" --qr "$URL" --ephemeral --json "${COMMON[@]}" >"$W/sig.json" 2>/dev/null &
SPID=$!
wait_line "$W/sig.json" '"event":"advertising"' $((10 * S))
kill -INT "$SPID"
wait "$SPID"
expect_rc $? 8 "SIGINT cancels"
expect "$W/sig.json" '"error":"CABLE_ERR_CANCELLED"' "cancel reported"

[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed; logs in $W" >&2; exit 1; }
echo "all cable-phone checks passed"
