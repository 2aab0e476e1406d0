#!/usr/bin/env bash
# cable-tunneld + the tunnel client, real processes on loopback: new -> connect -> relay both ways
# -> close over ws and over wss (certificate made here), strict TLS, metrics, SIGTERM drain.
source "$(dirname "$0")/tunnel-lib.sh"

# ---- plain ws -------------------------------------------------------------------------------
start_tunneld A --routing-id 0a0b0c
URL="ws://127.0.0.1:$PORT_A"
TID=$(random_tid)

# The phone sends one message before the desktop exists (queued by the server), then echoes.
$CLIENT --server "$URL" --send c0ffee --echo --expect 3 --close new "$TID" >"$WORK/phone.out" &
PHONE=$!
PIDS+=("$PHONE")
wait_file "$WORK/phone.out" '^opened'
expect_line "$WORK/phone.out" '^opened routing=0a0b0c$' "phone gets the instance's routing ID"
RID=$(sed -n 's/^opened routing=//p' "$WORK/phone.out")
expect_metric "$PORT_A" cable_tunnel_pending 1

$CLIENT --server "$URL" --send 0102 --send-size 16384 --send 0a0b0c0d --expect 4 connect "$RID" "$TID" \
	>"$WORK/desk.out"
wait "$PHONE" || fail "phone helper exit status"
expect_line "$WORK/desk.out" '^message 3 c0ffee$' "queued phone message reaches the late desktop"
expect_line "$WORK/desk.out" '^message 2 0102$' "small message relayed desktop->phone->desktop"
expect_line "$WORK/desk.out" '^message 16384 fnv=' "16 KiB message relayed both ways"
expect_line "$WORK/desk.out" '^message 4 0a0b0c0d$' "third message relayed in order"
expect_line "$WORK/desk.out" '^closed ok status=1000' "desktop closed normally when the phone left"
expect_line "$WORK/phone.out" '^closed ok' "phone closed cleanly after flushing its echoes"
if [ "$(grep '^message' "$WORK/desk.out" | cut -d' ' -f2 | tr '\n' ' ')" = "3 2 16384 4 " ]; then
	ok "one message for one message, in order"
else
	fail "message order: $(grep '^message' "$WORK/desk.out" | cut -d' ' -f2 | tr '\n' ' ')"
fi
F1=$(grep '^message 16384' "$WORK/phone.out" | cut -d' ' -f3)
F2=$(grep '^message 16384' "$WORK/desk.out" | cut -d' ' -f3)
[ -n "$F1" ] && [ "$F1" = "$F2" ] && ok "16 KiB payload byte-identical after two hops" || fail "16 KiB payload differs"
expect_metric "$PORT_A" cable_tunnel_messages_relayed_total 7
expect_metric "$PORT_A" cable_tunnel_bytes_relayed_total $((3 + 2 * (2 + 16384 + 4)))
expect_metric "$PORT_A" cable_tunnel_pending 0
expect_metric "$PORT_A" cable_tunnel_active 0
expect_metric "$PORT_A" 'cable_tunnel_lifetime_seconds_count' 1
[ "$(curl -s "http://127.0.0.1:$PORT_A/healthz")" = "ok" ] && ok "/healthz" || fail "/healthz"
if grep -q "$TID" "$WORK/A.err" || grep -qi "$(echo "$TID" | tr a-f A-F)" "$WORK/A.err"; then
	fail "a whole tunnel ID appears in the server log"
else
	ok "no whole tunnel ID in the server log"
fi

# Lower-case hex is accepted as well as Chrome's upper case.
TID2=$(random_tid)
$WSRAW client --port "$PORT_A" --path "/cable/new/$TID2" sleep:0.3 close >"$WORK/lower.out"
expect_line "$WORK/lower.out" '^http 101' "lower-case tunnel ID accepted"
expect_line "$WORK/lower.out" '^subprotocol fido.cable$' "server selects fido.cable"
expect_line "$WORK/lower.out" '^routing 0A0B0C$' "X-caBLE-Routing-ID on the 101"

# Plain ws:// is refused off loopback, before any connection.
$CLIENT --server "ws://192.0.2.1:80" new "$TID" >"$WORK/insecure.out" || true
expect_line "$WORK/insecure.out" 'CABLE_ERR_TUNNEL_INSECURE' "ws:// to a non-loopback host refused"
$CLIENT --server "ftp://127.0.0.1/" new "$TID" >"$WORK/badurl.out" || true
expect_line "$WORK/badurl.out" 'CABLE_ERR_TUNNEL_URL' "malformed server URL refused"

# Per-domain override: domain 266 goes to the server, the default (domain 0) would go elsewhere.
TID3=$(random_tid)
$CLIENT --server "266=$URL" --domain 266 --close new "$TID3" >"$WORK/dom.out"
expect_line "$WORK/dom.out" '^opened routing=0a0b0c' "per-domain server override used"

# The same relay with the server on lws's poll() loop instead of epoll (libev).
start_tunneld PL --routing-id 0b0b0b --event-lib poll
TID=$(random_tid)
$CLIENT --server "ws://127.0.0.1:$PORT_PL" --echo --expect 1 --close new "$TID" >"$WORK/pphone.out" &
PHONE=$!
PIDS+=("$PHONE")
wait_file "$WORK/pphone.out" '^opened'
$CLIENT --server "ws://127.0.0.1:$PORT_PL" --send 5a5a --expect 1 connect 0b0b0b "$TID" >"$WORK/pdesk.out"
wait "$PHONE" || true
expect_line "$WORK/pdesk.out" '^message 2 5a5a$' "poll() server: relayed both ways"
expect_line "$WORK/pdesk.out" '^closed ok status=1000' "poll() server: closed normally"

# IPv6 loopback: listen on [::1], client URL with a bracketed literal.
if [ -e /proc/net/if_inet6 ]; then
	"$TUNNELD" --listen '[::1]:0' --routing-id 060606 >"$WORK/v6.out" 2>"$WORK/v6.err" &
	PIDS+=("$!")
	wait_file "$WORK/v6.out" '^listening '
	P6=$(awk '{print $3; exit}' "$WORK/v6.out")
	$CLIENT --server "ws://[::1]:$P6" --close new "$(random_tid)" >"$WORK/v6c.out"
	expect_line "$WORK/v6c.out" '^opened routing=060606' "IPv6 loopback server and client"
fi

# ---- wss with a certificate made now -----------------------------------------------------------
cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout key.pem -out cert.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=other -addext "subjectAltName=DNS:other.example" \
	-keyout okey.pem -out ocert.pem 2>/dev/null
start_tunneld S --routing-id 112233 --cert cert.pem --key key.pem
start_tunneld O --routing-id 445566 --cert ocert.pem --key okey.pem
SURL="wss://127.0.0.1:$PORT_S"
TID=$(random_tid)
$CLIENT --ca cert.pem --server "$SURL" --echo --expect 2 --close new "$TID" >"$WORK/sphone.out" &
PHONE=$!
PIDS+=("$PHONE")
wait_file "$WORK/sphone.out" '^opened'
$CLIENT --ca cert.pem --server "wss://localhost:$PORT_S" --send aabb --send-size 5000 --expect 2 \
	connect 112233 "$TID" >"$WORK/sdesk.out"
wait "$PHONE" || fail "wss phone exit"
expect_line "$WORK/sphone.out" '^opened routing=112233' "wss: phone opened, routing ID"
expect_line "$WORK/sdesk.out" '^message 2 aabb$' "wss: relayed both ways"
expect_line "$WORK/sdesk.out" '^message 5000 ' "wss: 5000-byte message relayed"
expect_line "$WORK/sdesk.out" '^closed ok status=1000' "wss: closed normally"
# Strictness: the system store does not know this CA; a CA for another name does not fit.
$CLIENT --server "$SURL" new "$(random_tid)" >"$WORK/noca.out" || true
expect_line "$WORK/noca.out" '^closed CABLE_ERR_TUNNEL_TLS' "wss: self-signed refused without --tunnel-ca"
$CLIENT --ca ocert.pem --server "$SURL" new "$(random_tid)" >"$WORK/wrongca.out" || true
expect_line "$WORK/wrongca.out" '^closed CABLE_ERR_TUNNEL_TLS' "wss: wrong CA refused"
$CLIENT --ca ocert.pem --server "wss://127.0.0.1:$PORT_O" new "$(random_tid)" >"$WORK/host.out" || true
expect_line "$WORK/host.out" '^closed CABLE_ERR_TUNNEL_TLS' "wss: trusted cert for another host name refused"
cd - >/dev/null

# ---- SIGTERM: no new tunnels, active ones finish, exit 0 ---------------------------------------
start_tunneld D --routing-id 0d0d0d --drain-timeout 20
TID=$(random_tid)
$WSRAW client --port "$PORT_D" --path "/cable/new/$TID" sleep:2.5 bin:aa sleep:0.3 close >"$WORK/dphone.out" &
DP=$!
PIDS+=("$DP")
wait_file "$WORK/dphone.out" '^routing'
$WSRAW client --port "$PORT_D" --path "/cable/connect/0D0D0D/$TID" >"$WORK/ddesk.out" &
DD=$!
PIDS+=("$DD")
wait_file "$WORK/ddesk.out" '^subprotocol'
kill -TERM "$PID_D"
sleep 0.2
$WSRAW client --port "$PORT_D" --path "/cable/new/$(random_tid)" >"$WORK/dnew.out"
expect_line "$WORK/dnew.out" '^http 503' "draining: new tunnels refused with 503"
[ "$(curl -s "http://127.0.0.1:$PORT_D/healthz")" = "draining" ] && ok "/healthz says draining" || fail "/healthz while draining"
T0=$(date +%s%N)
rc=0
wait "$PID_D" || rc=$?
T1=$(date +%s%N)
wait "$DD" || true
expect_line "$WORK/ddesk.out" '^recv 2 aa$' "draining: active tunnel still relays"
expect_line "$WORK/ddesk.out" '^closed 1000' "draining: active tunnel closed normally"
[ "$rc" -eq 0 ] && ok "exit status 0 after drain" || fail "drain exit status $rc"
[ $(((T1 - T0) / 1000000)) -lt 5000 ] && ok "exited once the last tunnel ended" || fail "drain took too long"
expect_line "$WORK/D.err" 'no tunnels left' "drain logged"

# Deadline: an idle tunnel that never ends does not hold the server beyond --drain-timeout.
start_tunneld E --drain-timeout 1
$WSRAW client --port "$PORT_E" --path "/cable/new/$(random_tid)" --timeout 8 >"$WORK/ephone.out" &
PIDS+=("$!")
wait_file "$WORK/ephone.out" '^routing'
kill -TERM "$PID_E"
rc=0
T0=$(date +%s%N)
wait "$PID_E" || rc=$?
T1=$(date +%s%N)
[ "$rc" -eq 0 ] && ok "exit 0 at the drain deadline" || fail "deadline exit status $rc"
MS=$(((T1 - T0) / 1000000))
[ "$MS" -ge 700 ] && [ "$MS" -lt 6000 ] && ok "deadline honoured (${MS} ms)" || fail "deadline took ${MS} ms"
expect_line "$WORK/E.err" 'drain deadline reached' "deadline logged"

# SIGTERM still drains when the parent left it ignored (nohup, job runners).
(trap '' TERM; exec "$TUNNELD" --listen 127.0.0.1:0 >"$WORK/ign.out" 2>"$WORK/ign.err") &
IGN=$!
PIDS+=("$IGN")
wait_file "$WORK/ign.out" '^listening '
kill -TERM "$IGN"
rc=0
timeout 5 tail --pid="$IGN" -f /dev/null || rc=124
wait "$IGN" || rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM handled even when inherited as ignored" || fail "ignored SIGTERM: status $rc"

finish
