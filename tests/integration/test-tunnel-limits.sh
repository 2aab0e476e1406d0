#!/usr/bin/env bash
# cable-tunneld's limits and refusals, each triggered by a raw client and answered as documented:
# the offender gets the documented HTTP status or close code, the event is counted in /metrics and
# logged, and other tunnels are not affected.
source "$(dirname "$0")/tunnel-lib.sh"

W="$WSRAW client"
counted() { # PORT REASON N
	expect_metric "$1" "cable_tunnel_rejections_total{reason=\"$2\"}" "$3"
}
logged() { # NAME REASON
	expect_line "$WORK/$1.err" "rejected $2: peer (127\\.0\\.0\\.[0-9]+|-) tunnel ([0-9a-f]{4}|-)\$" "$2 logged"
}

start_tunneld L --routing-id 0c0c0c --max-message 100 --max-messages 3 --max-pending 3 --max-header 512
PL=$PORT_L

# ---- requests refused before the upgrade --------------------------------------------------------
TID=$(random_tid)
$W --port $PL --path /cable/new/0011 >"$WORK/p1"
$W --port $PL --path "/cable/new/$TID/" >"$WORK/p2"
$W --port $PL --path "/cable/new/$TID?x=1" >"$WORK/p3"
$W --port $PL --path "/cable/nothing/$TID" >"$WORK/p4"
for i in 1 2 3 4; do expect_line "$WORK/p$i" '^http 404' "bad path $i -> 404"; done
counted $PL path 4
logged L path

$W --port $PL --path "/cable/new/$TID" --subprotocol none >"$WORK/s1"
$W --port $PL --path "/cable/new/$TID" --subprotocol chat >"$WORK/s2"
expect_line "$WORK/s1" '^http 400' "no subprotocol -> 400"
expect_line "$WORK/s2" '^http 400' "other subprotocol -> 400"
counted $PL subprotocol 2

$W --port $PL --path "/cable/new/$TID" --pad-header 600 >"$WORK/h1"
expect_line "$WORK/h1" '^http 431' "request headers over --max-header -> 431"
counted $PL header_size 1
logged L header_size

$W --port $PL --path "/cable/contact/AQIDBA" >"$WORK/c1"
expect_line "$WORK/c1" '^http 410' "contact -> 410 until linking exists"
counted $PL contact 1

$W --port $PL --path "/cable/connect/0C0C0C/$TID" >"$WORK/u1"
expect_line "$WORK/u1" '^http 404' "connect to an unknown tunnel -> 404"
counted $PL unknown_tunnel 1

# A phone holds a tunnel; a second new with the same ID, a second connect, a foreign routing ID.
$W --port $PL --path "/cable/new/$TID" sleep:4 >"$WORK/ph" &
PH=$!
PIDS+=("$PH")
wait_file "$WORK/ph" '^routing'
$W --port $PL --path "/cable/new/$TID" >"$WORK/d1"
expect_line "$WORK/d1" '^http 409' "second new with the same tunnel ID -> 409"
$W --port $PL --path "/cable/connect/0D0C0C/$TID" >"$WORK/r1"
expect_line "$WORK/r1" '^http 421' "connect carrying another instance's routing ID -> 421"
counted $PL routing_id 1
logged L routing_id
$W --port $PL --path "/cable/connect/0c0c0c/$(echo "$TID" | tr a-f A-F)" sleep:2 close >"$WORK/j1" &
J1=$!
PIDS+=("$J1")
wait_file "$WORK/j1" '^http'
$W --port $PL --path "/cable/connect/0C0C0C/$TID" >"$WORK/j2"
expect_line "$WORK/j1" '^http 101' "first connect joins (hex in either case)"
expect_line "$WORK/j2" '^http 409' "second connect for the same tunnel -> 409"
counted $PL duplicate 2
wait "$PH" "$J1" || true
expect_line "$WORK/ph" '^closed 1000' "the phone is closed normally when its desktop leaves"

# ---- limits inside a tunnel --------------------------------------------------------------------
# pair NAME DESKTOP_ACTIONS...: a phone that waits and a desktop that acts; outputs NAME.ph/.dk
pair() {
	local name=$1 tid
	shift
	tid=$(random_tid)
	$W --port $PL --path "/cable/new/$tid" >"$WORK/$name.ph" &
	local ph=$!
	PIDS+=("$ph")
	wait_file "$WORK/$name.ph" '^routing'
	$W --port $PL --path "/cable/connect/0C0C0C/$tid" "$@" >"$WORK/$name.dk"
	wait "$ph" || true
}

pair big size:100 size:101
expect_line "$WORK/big.ph" "^recv 2 $(printf '0%.0s' $(seq 200))\$" "a 100-byte message (the limit) is relayed"
expect_line "$WORK/big.dk" '^closed 1009' "a 101-byte message closes its sender with 1009"
expect_line "$WORK/big.ph" '^closed 1000' "the other side just sees a normal close"
counted $PL message_size 1
logged L message_size

pair many bin:01 bin:02 bin:03 bin:04
expect_line "$WORK/many.ph" '^recv 2 03$' "messages up to --max-messages are relayed"
expect_line "$WORK/many.dk" '^closed 1008' "one more closes the sender with 1008"
if grep -q '^recv 2 04$' "$WORK/many.ph"; then fail "message over the count was relayed"; else ok "message over the count not relayed"; fi
counted $PL message_count 1

pair txt bin:0a text:hello
expect_line "$WORK/txt.ph" '^recv 2 0a$' "binary before the text frame is relayed"
expect_line "$WORK/txt.dk" '^closed 1003' "a text frame closes its sender with 1003"
counted $PL text_frame 1

pair frag frag:aabb
expect_line "$WORK/frag.ph" '^recv 2 aabbaabb$' "a fragmented message is relayed as one message"

# Only the offender: a tunnel running alongside the violations is untouched.
expect_metric $PL cable_tunnel_messages_relayed_total 6

# Pending tunnels in total.
for i in 1 2 3; do
	$W --port $PL --path "/cable/new/$(random_tid)" sleep:4 close >"$WORK/pend$i" &
	PIDS+=("$!")
	wait_file "$WORK/pend$i" '^routing'
done
$W --port $PL --path "/cable/new/$(random_tid)" >"$WORK/pend4"
expect_line "$WORK/pend4" '^http 503' "pending tunnels over --max-pending -> 503"
counted $PL pending_limit 1
expect_metric $PL cable_tunnel_pending 3
wait_file "$WORK/pend1" "^closed" 10
sleep 0.2
$W --port $PL --path "/cable/new/$(random_tid)" close >"$WORK/pend5"
expect_line "$WORK/pend5" '^http 101' "room again once pending tunnels left"

# ---- connections per source address ------------------------------------------------------------
start_tunneld P --max-per-source 3
for i in 1 2 3; do
	$W --port $PORT_P --path "/cable/new/$(random_tid)" sleep:4 close >"$WORK/src$i" &
	PIDS+=("$!")
	wait_file "$WORK/src$i" '^routing'
done
$W --port $PORT_P --path "/cable/new/$(random_tid)" >"$WORK/src4"
expect_line "$WORK/src4" '^http none' "a 4th connection from 127.0.0.1 is dropped"
$W --port $PORT_P --source 127.0.0.2 --path "/cable/new/$(random_tid)" close >"$WORK/src5"
expect_line "$WORK/src5" '^http 101' "another source address is not affected"
counted $PORT_P source_limit 1
logged P source_limit
wait_file "$WORK/src1" "^closed" 10
sleep 0.2
$W --port $PORT_P --path "/cable/new/$(random_tid)" close >"$WORK/src6"
expect_line "$WORK/src6" '^http 101' "slots come back when connections close"

# Behind a trusted proxy, X-Real-IP names the client: its limit is its own, answered with 429.
start_tunneld X --max-per-source 2 --trusted-proxy 127.0.0.1
for i in 1 2; do
	$W --port $PORT_X --header "X-Real-IP: 10.1.2.3" --path "/cable/new/$(random_tid)" sleep:4 close >"$WORK/px$i" &
	PIDS+=("$!")
	wait_file "$WORK/px$i" '^routing'
done
$W --port $PORT_X --header "X-Real-IP: 10.1.2.3" --path "/cable/new/$(random_tid)" >"$WORK/px3"
expect_line "$WORK/px3" '^http 429' "trusted proxy: a 3rd connection for the same client -> 429"
$W --port $PORT_X --header "X-Real-IP: 10.9.9.9" --path "/cable/new/$(random_tid)" close >"$WORK/px4"
expect_line "$WORK/px4" '^http 101' "trusted proxy: another client behind the same proxy is not affected"
expect_line "$WORK/X.err" 'rejected source_limit: peer 10\.1\.2\.3 ' "the client's address is logged, not the proxy's"
# From an untrusted peer the header means nothing (no spoofing around the limit).
$W --port $PORT_P --header "X-Real-IP: 10.7.7.7" --path "/cable/new/$(random_tid)" sleep:4 close >"$WORK/sp1" &
PIDS+=("$!")
$W --port $PORT_P --header "X-Real-IP: 10.7.7.8" --path "/cable/new/$(random_tid)" sleep:4 close >"$WORK/sp2" &
PIDS+=("$!")
$W --port $PORT_P --header "X-Real-IP: 10.7.7.9" --path "/cable/new/$(random_tid)" sleep:4 close >"$WORK/sp3" &
PIDS+=("$!")
wait_file "$WORK/sp1" '^routing'
wait_file "$WORK/sp2" '^routing'
wait_file "$WORK/sp3" '^routing'
$W --port $PORT_P --header "X-Real-IP: 10.7.7.10" --path "/cable/new/$(random_tid)" >"$WORK/sp4"
expect_line "$WORK/sp4" '^http none' "X-Real-IP from an untrusted peer is ignored"

# ---- bytes waiting for a side that has not joined (per side, then in total) ------------------------
start_tunneld Q --max-message 600 --max-queued 1000 --max-queued-total 1500
$W --port $PORT_Q --path "/cable/new/$(random_tid)" size:600 size:600 >"$WORK/q1"
expect_line "$WORK/q1" '^closed 1008' "more than --max-queued bytes waiting: sender closed with 1008"
$W --port $PORT_Q --path "/cable/new/$(random_tid)" size:600 sleep:3 close >"$WORK/q2" &
PIDS+=("$!")
$W --port $PORT_Q --path "/cable/new/$(random_tid)" size:600 sleep:3 close >"$WORK/q3" &
PIDS+=("$!")
wait_file "$WORK/q2" '^routing'
wait_file "$WORK/q3" '^routing'
for i in $(seq 50); do [ "$(metric $PORT_Q cable_tunnel_queued_bytes)" = 1200 ] && break; sleep 0.05; done
expect_metric $PORT_Q cable_tunnel_queued_bytes 1200
$W --port $PORT_Q --path "/cable/new/$(random_tid)" size:600 >"$WORK/q4"
expect_line "$WORK/q4" '^closed 1008' "more than --max-queued-total bytes waiting: the newcomer is closed"
counted $PORT_Q queue_full 2
logged Q queue_full
wait_file "$WORK/q2" '^closed' 10
wait_file "$WORK/q3" '^closed' 10
for i in $(seq 50); do [ "$(metric $PORT_Q cable_tunnel_queued_bytes)" = 0 ] && break; sleep 0.05; done
expect_metric $PORT_Q cable_tunnel_queued_bytes 0

# ---- time limits ----------------------------------------------------------------------------------
start_tunneld T --lifetime 3 --connect-wait 10 --routing-id 0e0e0e
TID=$(random_tid)
$W --port $PORT_T --path "/cable/new/$TID" >"$WORK/lt.ph" &
PIDS+=("$!")
wait_file "$WORK/lt.ph" '^routing'
T0=$(date +%s%N)
$W --port $PORT_T --path "/cable/connect/0E0E0E/$TID" >"$WORK/lt.dk"
MS=$((($(date +%s%N) - T0) / 1000000))
wait_file "$WORK/lt.ph" '^closed' 5
expect_line "$WORK/lt.dk" '^closed 1008' "tunnel lifetime: connect side closed with 1008"
expect_line "$WORK/lt.ph" '^closed 1008' "tunnel lifetime: new side closed with 1008"
[ "$MS" -lt 8000 ] && ok "lifetime enforced (${MS} ms)" || fail "lifetime took ${MS} ms"
counted $PORT_T lifetime 1
logged T lifetime

start_tunneld C --connect-wait 1
T0=$(date +%s%N)
$W --port $PORT_C --path "/cable/new/$(random_tid)" >"$WORK/cw.ph"
MS=$((($(date +%s%N) - T0) / 1000000))
expect_line "$WORK/cw.ph" '^closed 1008' "nobody joined: new side closed with 1008"
[ "$MS" -ge 800 ] && [ "$MS" -lt 6000 ] && ok "connect wait enforced (${MS} ms)" || fail "connect wait took ${MS} ms"
counted $PORT_C connect_wait 1
expect_metric $PORT_C cable_tunnel_pending 0

finish
