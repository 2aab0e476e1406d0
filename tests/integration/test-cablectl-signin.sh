#!/usr/bin/env bash
# cablectl create / get end to end with real processes on loopback: cablectl (desktop, hci0) <->
# cable-tunneld <-> cable-phone (hci1) through the fake BlueZ on a private system bus. Checks:
# create then get verified by python-fido2's Fido2Server (signature, RP ID hash, flags,
# challenge, origin); progress text and JSON events; the QR PNG decodes (zbarimg) to the URL;
# usage and options errors before any QR; the phone refusing (exit 1, status by name); every
# cable-phone --misbehave with its documented exit code and no hang; Bluetooth faults (exit 4);
# tunnel failure (exit 5); Ctrl-C in the middle (exit 130, shutdown sent, discovery stopped,
# no process or temp file left).
source "$(dirname "$0")/lib-bus.sh"
set -u

CABLECTL="$CABLE_BUILD_DIR/cablectl"
PHONE="$CABLE_BUILD_DIR/cable-phone"
RP="$CABLE_SOURCE_DIR/scripts/fido2-rp.py"
PY=/usr/bin/python3
ORIGIN=https://example.com
FAILS=0
# Under the valgrind pass everything runs many times slower: scale every time limit.
S=1
[ -n "${CABLE_VALGRIND:-}" ] && S=10

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
expect_not() {
	if grep -Eq -- "$2" "$1"; then
		bad "$3 (/$2/ found in $1)"
	else ok "$3"; fi
}
expect_rc() {
	if [[ "$1" =~ ^($2)$ ]]; then ok "$3 (exit $1)"; else bad "$3: exit $1, wanted $2"; fi
}
# The value of KEY in the first JSON event EVENT of FILE.
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
DESK=(--adapter hci0 --tunnel-server "$SERVER")
PHONE_ARGS=(--adapter hci1 --tunnel-server "$SERVER" --json)
# cablectl gets its own TMPDIR: it must leave nothing there.
export TMPDIR="$W/tmp"
mkdir -p "$TMPDIR"

# signin NAME CMD PHONE_EXTRA... : runs cablectl CMD --json in the background, starts cable-phone
# with the URL of its qr event, waits for both. Sets CTL_RC, PHONE_RC, ELAPSED (seconds).
# CTL_EXTRA (array) adds cablectl options.
signin() {
	local name=$1 cmd=$2
	shift 2
	local t0=$SECONDS
	timeout $((40 * S)) "$CABLECTL" "$cmd" --origin "$ORIGIN" --json "${DESK[@]}" "${CTL_EXTRA[@]}" \
		>"$W/$name.out" 2>"$W/$name.err" &
	local cpid=$!
	wait_line "$W/$name.err" '"event":"(qr|failed)"' $((10 * S))
	local url
	url=$(jfield "$W/$name.err" qr url)
	if [ -n "$url" ]; then
		timeout $((40 * S)) "$PHONE" --qr "$url" "${PHONE_ARGS[@]}" "$@" <"${PHONE_STDIN:-/dev/null}" \
			>"$W/$name.phone" 2>"$W/$name.phone.err"
		PHONE_RC=$?
	else
		PHONE_RC=none
	fi
	wait "$cpid"
	CTL_RC=$?
	ELAPSED=$((SECONDS - t0))
}
CTL_EXTRA=()

# ---- usage, help, options errors: all before any QR code or Bluetooth -------------------------
"$CABLECTL" --help | grep -q '^  create ' && ok "cablectl --help lists create" || bad "--help: create"
"$CABLECTL" create --help >"$W/help.txt"
for code in 0 1 2 3 4 5 6 130; do
	grep -Eq "^  $code +" "$W/help.txt" || bad "create --help does not document exit $code"
done
expect "$W/help.txt" 'CTAP2_ERR_OPERATION_DENIED' "--help says the CTAP status is reported by name"
"$CABLECTL" get --help | grep -q 'AuthenticationResponseJSON' && ok "get --help" || bad "get --help"
"$CABLECTL" create 2>"$W/u1"; expect_rc $? 2 "no --origin"
expect "$W/u1" '^cablectl: --origin is required' "one-line usage message"
"$CABLECTL" create --origin "$ORIGIN" --timeout 0 2>/dev/null; expect_rc $? 2 "--timeout 0"
"$CABLECTL" get --origin "$ORIGIN" --bogus 2>/dev/null; expect_rc $? 2 "unknown option"
"$CABLECTL" get --origin "$ORIGIN" --tunnel-server ws://example.com 2>/dev/null
expect_rc $? 2 "ws:// off loopback refused"
STARTS0=$(fake_stat hci0 StartDiscovery)
echo '{"challenge": "AAAA", "rp": {"name": "x"}, "user": {"id": "not base64!", "name": "a", "displayName": "a"}, "pubKeyCredParams": []}' >"$W/bad.json"
"$CABLECTL" create --origin "$ORIGIN" --options "$W/bad.json" "${DESK[@]}" >"$W/bad.out" 2>"$W/bad.err"
expect_rc $? 2 "bad options JSON"
expect "$W/bad.err" '^cablectl: options\.user\.id: not valid base64url$' "the bad field is named in one line"
[ "$(wc -l <"$W/bad.err")" = 1 ] && ok "exactly one line" || bad "more than one line: $(cat "$W/bad.err")"
expect_not "$W/bad.err" 'FIDO:/' "no QR code shown for bad options"
echo '{"challenge": "AAAA"' | "$CABLECTL" get --origin "$ORIGIN" --options - 2>"$W/bad2.err"
expect_rc $? 2 "truncated JSON on stdin"
expect "$W/bad2.err" '^cablectl: options' "JSON error named"
echo '{"challenge": "AAAA", "rpId": "other.org"}' | "$CABLECTL" get --origin "$ORIGIN" --options - 2>"$W/bad3.err"
expect_rc $? 2 "RP ID of another site"
expect "$W/bad3.err" 'rpId' "RP ID error names options.rpId"
"$CABLECTL" get --origin http://example.com 2>/dev/null; expect_rc $? 2 "plain http origin refused"
[ "$(fake_stat hci0 StartDiscovery)" = "$STARTS0" ] && ok "no discovery started by failed starts" ||
	bad "discovery started for a usage error"

# ---- create, then get, verified by python-fido2 ------------------------------------------------
$PY "$RP" begin-create "$W" example.com alice >"$W/create-opts.json" || fail "fido2-rp begin-create"
CTL_EXTRA=(--options "$W/create-opts.json" --qr-png "$W/qr.png")
signin create create --store "$W/store.cbor"
expect_rc "$CTL_RC" 0 "create: success"
expect_rc "$PHONE_RC" 0 "create: the phone answered"
URL=$(jfield "$W/create.err" qr url)
for ev in qr phone_found connected waiting response done; do
	expect "$W/create.err" "\"event\":\"$ev\"" "create: JSON event $ev"
done
expect "$W/create.err" '"event":"phone_found","uuid":"fff9","domain_id":0' "phone found under fff9, domain 0"
expect "$W/create.err" '"event":"waiting","revision":1' "revision-1 phone"
[ "$(jfield "$W/create.err" qr qr_version)" -ge 5 ] && ok "QR version >= 5" || bad "QR version"
expect "$W/create.phone" '"event":"shutdown"' "create: the phone got our shutdown"
if $PY "$RP" finish-create "$W" "$ORIGIN" <"$W/create.out" >"$W/verify1.out" 2>&1; then
	ok "$(cat "$W/verify1.out")"
else
	bad "python-fido2 refused the registration: $(cat "$W/verify1.out")"
fi
[ "$(stat -c %a "$W/qr.png")" = 600 ] && ok "QR PNG written 0600" || bad "QR PNG mode"
if command -v zbarimg >/dev/null; then
	DEC=$(zbarimg --quiet --raw "$W/qr.png" 2>/dev/null)
	[ "$DEC" = "$URL" ] && ok "the QR PNG decodes (zbarimg) to the same FIDO:/ URL" ||
		bad "zbarimg read '$DEC', wanted '$URL'"
else
	bad "zbarimg missing (zbar-tools is in scripts/setup.sh)"
fi

# get in text mode: the QR drawing, the URL under it, the progress lines in order.
$PY "$RP" begin-get "$W" >"$W/get-opts.json" || fail "fido2-rp begin-get"
timeout $((40 * S)) "$CABLECTL" get --origin "$ORIGIN" --options "$W/get-opts.json" "${DESK[@]}" \
	>"$W/get.out" 2>"$W/get.err" &
CPID=$!
wait_line "$W/get.err" '^FIDO:/' $((10 * S))
URL=$(grep -m1 '^FIDO:/' "$W/get.err")
timeout $((40 * S)) "$PHONE" --qr "$URL" --adapter hci1 --tunnel-server "$SERVER" --store "$W/store.cbor" \
	>"$W/get.phone" 2>&1
expect_rc $? 0 "get: the phone answered"
wait "$CPID"
expect_rc $? 0 "get: success"
expect "$W/get.err" '▀|▄|█' "QR drawn with half blocks"
$PY - "$W/get.err" <<'PY' && ok "progress lines in order" || bad "progress lines: $(cat "$W/get.err" | grep -v '[▀▄█]')"
import sys
want = ["Scan this QR code with your phone", "Phone found nearby", "Connected",
        "Waiting for you to confirm on the phone", "Done"]
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip() in want]
sys.exit(0 if lines == want else 1)
PY
if $PY "$RP" finish-get "$W" "$ORIGIN" <"$W/get.out" >"$W/verify2.out" 2>&1; then
	ok "$(cat "$W/verify2.out")"
else
	bad "python-fido2 refused the assertion: $(cat "$W/verify2.out")"
fi
# The RP really checks: the same assertion against a fresh challenge is refused.
$PY "$RP" begin-get "$W" >/dev/null
$PY "$RP" finish-get "$W" "$ORIGIN" <"$W/get.out" >/dev/null 2>&1 &&
	bad "python-fido2 accepted an assertion for another challenge" || ok "assertion for another challenge refused by the RP"

# ---- the phone refuses: exit 1, the CTAP status by name ----------------------------------------
CTL_EXTRA=(--qr-svg "$W/qr.svg")
signin noCreds get --ephemeral
expect_rc "$CTL_RC" 1 "get with no passkey on the phone"
expect "$W/noCreds.err" 'the phone refused: CTAP2_ERR_NO_CREDENTIALS \(0x2e' "status reported by name"
expect "$W/noCreds.err" '"event":"response","status":46,"status_name":"CTAP2_ERR_NO_CREDENTIALS"' "JSON response event names the status"
expect "$W/noCreds.err" '"event":"done","exit":1' "done event with exit 1"
[ "$(stat -c %a "$W/qr.svg")" = 600 ] && grep -q '<svg' "$W/qr.svg" && ok "QR SVG written 0600" || bad "QR SVG"
CTL_EXTRA=()
printf 'n\n' >"$W/no.txt"
PHONE_STDIN="$W/no.txt" signin declined create --ephemeral --user-presence prompt
expect_rc "$CTL_RC" 1 "the person declines on the phone"
expect "$W/declined.err" 'CTAP2_ERR_OPERATION_DENIED' "declined reported as CTAP2_ERR_OPERATION_DENIED"
expect_not "$W/declined.out" '.' "nothing on stdout when refused"

# ---- every misbehaviour of cable-phone: the documented exit code, no hang -------------------------
CTL_EXTRA=(--timeout $((8 * S)))
# Under the valgrind pass (15 minutes at most) one misbehaviour per kind of failure path is enough:
# the protocol outcome of each is checked in the ordinary pass.
VG_SUBSET=" wrong-psk revision-0 garbage shutdown-after drop-tunnel bad-update "
while read -r name want err; do
	[ -n "${CABLE_VALGRIND:-}" ] && [[ "$VG_SUBSET" != *" $name "* ]] && continue
	signin "mb-$name" create --ephemeral --misbehave "$name"
	expect_rc "$CTL_RC" "$want" "--misbehave $name"
	[ "$ELAPSED" -le $((12 * S)) ] && ok "--misbehave $name: done in ${ELAPSED}s" || bad "--misbehave $name took ${ELAPSED}s"
	if [ "$err" != "-" ]; then
		expect "$W/mb-$name.err" "\"event\":\"failed\",\"error\":\"$err\"" "--misbehave $name: $err"
	else
		expect "$W/mb-$name.err" '"event":"done","exit":0' "--misbehave $name: success"
	fi
done <<'EOF'
wrong-psk 6 CABLE_ERR_AUTH
truncated-handshake 6 CABLE_ERR_HANDSHAKE_LENGTH
revision-0 0 -
garbage 6 CABLE_ERR_AUTH
shutdown 6 CABLE_ERR_PEER_SHUTDOWN
shutdown-after 0 -
out-of-order 6 CABLE_ERR_AUTH
drop-tunnel 5 CABLE_ERR_TUNNEL_CLOSED
no-update 0 -
bad-update 6 CABLE_ERR_UPDATE
EOF
expect "$W/mb-revision-0.err" '"event":"waiting","revision":0' "revision 0 detected"
CTL_EXTRA=(--timeout $((2 * S)))
signin mb-bad-advert-tag create --ephemeral --misbehave bad-advert-tag --timeout $((2 * S + 2))
expect_rc "$CTL_RC" 3 "--misbehave bad-advert-tag: no phone found, timeout"
expect "$W/mb-bad-advert-tag.err" '"event":"failed","error":"CABLE_ERR_TIMEOUT".*"stage":"scan"' "timeout in the scan stage"

# ---- tunnel failure: the desktop cannot reach the phone's tunnel server -------------------------
CTL_EXTRA=(--timeout $((8 * S)))
DESK=(--adapter hci0 --tunnel-server ws://127.0.0.1:9)
signin tunnel create --ephemeral --timeout $((S + 2))
expect_rc "$CTL_RC" 5 "tunnel server unreachable"
expect "$W/tunnel.err" '"error":"CABLE_ERR_TUNNEL_CONNECT"' "CABLE_ERR_TUNNEL_CONNECT reported"
expect "$W/tunnel.err" '"detail":"[^"]+"' "the tunnel failure carries libwebsockets' reason"
DESK=(--adapter hci0 --tunnel-server "$SERVER")

# ---- Bluetooth faults: exit 4 -------------------------------------------------------------------
timeout $((20 * S)) "$CABLECTL" get --origin "$ORIGIN" --json --adapter hci7 --tunnel-server "$SERVER" 2>"$W/bt1.err"
expect_rc $? 4 "no such adapter"
expect "$W/bt1.err" '"error":"CABLE_ERR_BT_NO_ADAPTER"' "CABLE_ERR_BT_NO_ADAPTER"
fake_ctl SetPowered sb hci0 false
timeout $((20 * S)) "$CABLECTL" get --origin "$ORIGIN" --json "${DESK[@]}" 2>"$W/bt2.err"
expect_rc $? 4 "adapter powered off"
expect "$W/bt2.err" '"error":"CABLE_ERR_BT_NOT_POWERED"' "CABLE_ERR_BT_NOT_POWERED"
expect "$W/bt2.err" '"detail":"adapter hci0 is not powered"' "the failure names the adapter"
fake_ctl SetPowered sb hci0 true
fake_ctl FailNext ssssu hci0 StartDiscovery org.bluez.Error.Failed "no radio today" 1
timeout $((20 * S)) "$CABLECTL" get --origin "$ORIGIN" --json "${DESK[@]}" 2>"$W/bt3.err"
expect_rc $? 4 "StartDiscovery failing"
expect "$W/bt3.err" '"error":"CABLE_ERR_BT_DISCOVERY"' "CABLE_ERR_BT_DISCOVERY"
expect "$W/bt3.err" '"detail":"org.bluez.Error.Failed: no radio today"' "BlueZ's own error text passed on"
# Without --json: one line, BlueZ's words after the code's.
timeout $((20 * S)) "$CABLECTL" get --origin "$ORIGIN" --adapter hci7 --tunnel-server "$SERVER" 2>"$W/bt1.txt"
expect "$W/bt1.txt" '^cablectl: no Bluetooth adapter \(while in stage [a-z-]+\): no adapter named hci7$' "the text error has the detail"
fake_stop
timeout $((20 * S)) "$CABLECTL" get --origin "$ORIGIN" --json "${DESK[@]}" 2>"$W/bt4.err"
expect_rc $? 4 "no BlueZ on the bus"
fake_start --adapters hci0,hci1

# ---- Ctrl-C ---------------------------------------------------------------------------------------
# While scanning (no phone): exit 130, discovery stopped, nothing left.
# (--foreground: plain timeout(1) sends the signal to the child and again to its process group;
# a second SIGINT means "stop waiting" to cablectl, and the cancelled event was lost 9 times in 25.)
S0=$(fake_stat hci0 StopDiscovery)
timeout --foreground $((20 * S)) "$CABLECTL" get --origin "$ORIGIN" --json "${DESK[@]}" >"$W/int1.out" 2>"$W/int1.err" &
CPID=$!
wait_line "$W/int1.err" '"event":"qr"' $((10 * S))
sleep 0.3
kill -INT "$CPID"
wait "$CPID"
expect_rc $? 130 "Ctrl-C while scanning"
expect "$W/int1.err" '"event":"cancelled","stage":"scan","exit":130' "cancelled event in the scan stage"
[ "$(fake_stat hci0 StopDiscovery)" -gt "$S0" ] && ok "StopDiscovery called" || bad "discovery not stopped"
[ "$(fake_stat hci0 DiscoveringClients)" = 0 ] && ok "no discovery client left on hci0" || bad "discovery client left"
[ "$(fake_stat hci0 StopByExit)" = 0 ] && ok "discovery stopped by cablectl, not by its exit" || bad "discovery left to BlueZ's exit cleanup"

# While the person decides on the phone: shutdown reaches the phone, which stops too.
mkfifo "$W/prompt"
exec 7<>"$W/prompt" # held open: the phone's prompt never gets an answer
timeout --foreground $((40 * S)) "$CABLECTL" create --origin "$ORIGIN" --json "${DESK[@]}" >"$W/int2.out" 2>"$W/int2.err" &
CPID=$!
wait_line "$W/int2.err" '"event":"qr"' $((10 * S))
URL=$(jfield "$W/int2.err" qr url)
timeout $((40 * S)) "$PHONE" --qr "$URL" "${PHONE_ARGS[@]}" --ephemeral --user-presence prompt <&7 \
	>"$W/int2.phone" 2>"$W/int2.phone.err" &
PPID_=$!
wait_line "$W/int2.err" '"event":"waiting"' $((10 * S))
wait_line "$W/int2.phone" '"event":"prompt"' $((10 * S))
T0=$SECONDS
kill -INT "$CPID"
wait "$CPID"
expect_rc $? 130 "Ctrl-C while waiting for the person"
[ $((SECONDS - T0)) -le $((3 * S)) ] && ok "exits at once" || bad "took $((SECONDS - T0))s to exit"
expect "$W/int2.err" '"event":"cancelled","stage":"response","exit":130' "cancelled in the response stage"
wait "$PPID_"
PRC=$?
expect "$W/int2.phone" '"event":"shutdown"' "the phone got the shutdown frame"
expect_rc "$PRC" "8" "the phone ends as cancelled by the desktop"
exec 7>&-
expect_not "$W/int2.out" '.' "nothing on stdout"
[ "$(fake_stat hci0 DiscoveringClients)" = 0 ] && ok "no discovery client left" || bad "discovery client left"
# Every process this script started, except the bus, the fake BlueZ and the tunnel server, is gone.
LEFT=""
for p in $(ps -o pid= --ppid $$); do
	[[ " ${BUS_PIDS[*]} " == *" $p "* ]] || ! kill -0 "$p" 2>/dev/null || LEFT+=" $(ps -o pid=,args= -p "$p")"
done
[ -z "$LEFT" ] && ok "no cablectl or cable-phone process left" || bad "processes left:$LEFT"
# (valgrind's own vgdb FIFOs aside, under the valgrind pass)
[ -z "$(ls -A "$TMPDIR" | grep -v '^vgdb-pipe-')" ] && ok "no temp file left" ||
	bad "temp files left: $(ls -A "$TMPDIR")"

echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
