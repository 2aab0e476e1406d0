#!/usr/bin/env bash
# The tunnel client against a fake server that misbehaves in one chosen way per run: each fault
# must end in its own error code (no routing header, wrong subprotocol, 410, redirect loop,
# oversized message, text frame, timeouts), and the request must look like Chrome's.
source "$(dirname "$0")/tunnel-lib.sh"

TID=$(random_tid)
N=0
# fake MODE: starts the fake server, sets FAKE (URL) and FLOG (its request log).
fake() {
	N=$((N + 1))
	FLOG="$WORK/fake$N.log"
	: >"$FLOG"
	$WSRAW server --mode "$1" --port-file "$WORK/fake$N.port" --log "$FLOG" --timeout 30 ${2:-} &
	PIDS+=("$!")
	wait_file "$WORK/fake$N.port" '^[0-9]+$'
	FAKE="ws://127.0.0.1:$(cat "$WORK/fake$N.port")"
}

run() {
	local out=$1
	shift
	$CLIENT --guard-ms 10000 "$@" >"$out" 2>&1 || true
}

fake no-routing
run "$WORK/e1" --server "$FAKE" new "$TID"
expect_line "$WORK/e1" '^closed CABLE_ERR_TUNNEL_ROUTING_ID' "new without X-caBLE-Routing-ID fails"
expect_line "$FLOG" "^header origin: $FAKE\$" "Origin is the URL's own origin"
expect_line "$FLOG" '^header sec-websocket-protocol: fido.cable$' "fido.cable requested"
expect_line "$FLOG" "^request /cable/new/$(echo "$TID" | tr a-f A-F)\$" "new path with upper-case tunnel ID"
if grep -q '^header cookie' "$FLOG"; then fail "a cookie was sent"; else ok "no cookies"; fi

fake bad-routing
run "$WORK/e2" --server "$FAKE" new "$TID"
expect_line "$WORK/e2" '^closed CABLE_ERR_TUNNEL_ROUTING_ID' "malformed X-caBLE-Routing-ID fails"

fake echo
run "$WORK/e2b" --server "$FAKE" --send 01 --expect 1 --close connect abcdef "$TID"
expect_line "$WORK/e2b" '^opened routing=abcdef$' "routing header read on connect too (not required)"
expect_line "$FLOG" "^request /cable/connect/ABCDEF/$(echo "$TID" | tr a-f A-F)\$" "connect path"

fake wrong-subprotocol
run "$WORK/e3" --server "$FAKE" new "$TID"
expect_line "$WORK/e3" '^closed CABLE_ERR_TUNNEL_SUBPROTOCOL' "wrong subprotocol in the answer fails"

fake no-subprotocol
run "$WORK/e4" --server "$FAKE" new "$TID"
expect_line "$WORK/e4" '^closed CABLE_ERR_TUNNEL_SUBPROTOCOL' "missing subprotocol in the answer fails"

fake gone
run "$WORK/e5" --server "$FAKE" contact 0102030405 a10102
expect_line "$WORK/e5" '^closed CABLE_ERR_TUNNEL_GONE status=0 http=410' "410 Gone has its own code"

fake notfound
run "$WORK/e6" --server "$FAKE" new "$TID"
expect_line "$WORK/e6" '^closed CABLE_ERR_TUNNEL_HTTP status=0 http=404' "other HTTP errors map to TUNNEL_HTTP"

fake redirect-loop
run "$WORK/e7" --server "$FAKE" --signal contact 0102030405 a10102
expect_line "$WORK/e7" '^closed CABLE_ERR_TUNNEL_REDIRECTS' "redirect loop stops with TUNNEL_REDIRECTS"
R=$(grep -c '^request ' "$FLOG")
[ "$R" -eq 6 ] && ok "followed exactly 5 redirects (6 requests)" || fail "$R requests in the redirect loop"
P=$(grep -c '^header x-cable-client-payload: A10102$' "$FLOG")
S=$(grep -c '^header x-cable-signal-connection: true$' "$FLOG")
[ "$P" -eq 6 ] && [ "$S" -eq 6 ] && ok "contact headers re-sent on every redirect (upper-case hex)" ||
	fail "contact headers on $P/$S of 6 requests"
expect_line "$FLOG" '^request /cable/contact/AQIDBAU$' "contact path is base64url of the ID"

# One redirect to the real server: it requires fido.cable, so success proves it was re-sent.
start_tunneld R --routing-id 777777
fake "redirect-to=ws://127.0.0.1:$PORT_R"
run "$WORK/e8" --server "$FAKE" --close new "$TID"
expect_line "$WORK/e8" '^opened routing=777777' "redirect followed to the real server"

fake redirect-rel
run "$WORK/e8r" --server "$FAKE" --close new "$TID"
expect_line "$WORK/e8r" '^opened routing=abcdef' "relative redirect followed"
expect_line "$FLOG" "^request /r/cable/new/" "relative Location resolved against the same server"

fake echo
run "$WORK/e8b" --server "$FAKE" --signal --close contact 0102 a1
expect_line "$WORK/e8b" '^opened.* signal=1' "echoed X-caBLE-Signal-Connection reported"

fake oversize "--size $((1 << 20))"
run "$WORK/e9" --server "$FAKE" --expect 1 --close new "$TID"
expect_line "$WORK/e9" '^message 1048576 ' "a message of exactly 1 MiB is accepted"
fake oversize "--size $(((1 << 20) + 1))"
run "$WORK/e10" --server "$FAKE" new "$TID"
expect_line "$WORK/e10" '^closed CABLE_ERR_TUNNEL_MESSAGE_SIZE' "1 MiB + 1 is refused"
wait_file "$FLOG" '^client-close 1009$' 5 && ok "and closed with 1009" || fail "no 1009 close"


fake text
run "$WORK/e11" --server "$FAKE" new "$TID"
expect_line "$WORK/e11" '^closed CABLE_ERR_TUNNEL_TEXT_FRAME' "text frame refused"
wait_file "$FLOG" '^client-close 1003$' 5 && ok "and closed with 1003" || fail "no 1003 close"

fake fragmented
run "$WORK/e12" --server "$FAKE" --expect 1 --close new "$TID"
expect_line "$WORK/e12" '^message 3 010203$' "fragmented binary message joined"

fake close-1008
run "$WORK/e13" --server "$FAKE" new "$TID"
expect_line "$WORK/e13" '^closed CABLE_ERR_TUNNEL_CLOSED status=1008' "server close status reported"

fake hang
run "$WORK/e14" --server "$FAKE" --connect-timeout-ms 500 new "$TID"
expect_line "$WORK/e14" '^closed CABLE_ERR_TIMEOUT' "connect timeout"

fake echo
T0=$(date +%s%N)
run "$WORK/e15" --server "$FAKE" --idle-timeout-ms 600 --send 01 new "$TID"
MS=$((($(date +%s%N) - T0) / 1000000))
expect_line "$WORK/e15" '^message 1 01$' "echo before going idle"
expect_line "$WORK/e15" '^closed CABLE_ERR_TIMEOUT' "idle timeout"
[ "$MS" -ge 500 ] && [ "$MS" -lt 5000 ] && ok "idle timeout after ${MS} ms" || fail "idle timeout took ${MS} ms"

# Nothing listening: a port held by a bound socket that never listens refuses every connection,
# unlike a fixed port number, which something else on a shared machine may be listening on.
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$WORK/closed.port" &
PIDS+=("$!")
wait_file "$WORK/closed.port" '^[0-9]+$'
run "$WORK/e16" --server "ws://127.0.0.1:$(cat "$WORK/closed.port")" new "$TID"
expect_line "$WORK/e16" '^closed CABLE_ERR_TUNNEL_CONNECT' "connection refused maps to TUNNEL_CONNECT"

finish
