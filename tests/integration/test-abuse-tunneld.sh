#!/usr/bin/env bash
# cable-tunneld under attack (tests/helpers/tunnel-abuse.c): slow-loris connections, connect/
# disconnect cycles, malformed requests and headers, bad frames, floods on one tunnel, clients
# that never read. Throughout, a well-behaved tunnel is opened and used every 100 ms and must work
# with normal latency; afterwards the server must be up, back to its starting memory (VmRSS within
# 5 %) and descriptor count, and exit cleanly on SIGTERM. Under the valgrind pass (CABLE_VALGRIND=1)
# the attack is smaller and memory/latency bounds are not checked (valgrind checks the server);
# under AddressSanitizer the memory bound is not checked (its quarantine keeps freed memory).
source "$(dirname "$0")/tunnel-lib.sh"

# Work files beside the build: other runs on this machine sweep /tmp/cable-*.
rmdir "$WORK"
WORK=$(mktemp -d "$CABLE_BUILD_DIR/abuse-tunneld.XXXXXX")
ABUSE="$CABLE_BUILD_DIR/tests/tunnel-abuse"
[ -x "$ABUSE" ] || { echo "missing $ABUSE" >&2; exit 1; }

if [ -n "${CABLE_VALGRIND:-}" ]; then
	N_SLOW=100 N_CHURN=400 N_FLOOD=200 N_PING=2000 SLOW_SECS=8 VG=1
else
	N_SLOW=1000 N_CHURN=10000 N_FLOOD=1000 N_PING=20000 SLOW_SECS=15 VG=0
fi
# AddressSanitizer keeps freed memory in quarantine: the memory bound means nothing there.
ASAN=0
nm "$TUNNELD" 2>/dev/null | grep ' __asan_init$' >/dev/null && ASAN=1 # (no -q: pipefail and SIGPIPE)
# Room for the slow-loris connections on both ends (the server provisions RLIMIT_NOFILE).
hard=$(ulimit -Hn)
want=$((N_SLOW * 2 + 512))
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
	echo "SKIP: RLIMIT_NOFILE hard limit $hard < $want" >&2
	exit 77
fi
ulimit -n "$want"

start_tunneld A --routing-id 0a0b0c --drain-timeout 5
PID=$PID_A
PORT=$PORT_A

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }
fds() { ls "/proc/$PID/fd" | wc -l; }
alive() { kill -0 "$PID" 2>/dev/null; }
field() { sed -n "s/.*$2=\\([0-9.]*\\).*/\\1/p" "$1" | head -1; }

# Settle: what a warmed-up server looks like (lws pools, OpenSSL, first tunnels).
"$ABUSE" --port "$PORT" probe 2 100 >"$WORK/warm.probe"
"$ABUSE" --port "$PORT" --attack-offset 40000 churn 200 >/dev/null
sleep 3
RSS0=$(rss)
FD0=$(fds)
"$ABUSE" --port "$PORT" probe 3 100 >"$WORK/base.probe"
echo "baseline: VmRSS ${RSS0} kB, ${FD0} fds; $(cat "$WORK/base.probe")"

# ---- the attack, with the well-behaved probe running throughout ---------------------------------
PROBE_SECS=$((SLOW_SECS + 10))
"$ABUSE" --port "$PORT" probe "$PROBE_SECS" 100 >"$WORK/attack.probe" &
PROBE=$!
PIDS+=("$PROBE")
"$ABUSE" --port "$PORT" --attack-offset 0 slowloris "$N_SLOW" "$SLOW_SECS" >"$WORK/slow.out" &
SLOW=$!
PIDS+=("$SLOW")
sleep 2
PEAK_FDS=$(fds)
"$ABUSE" --port "$PORT" --attack-offset 2000 churn "$N_CHURN" >"$WORK/churn.out"
"$ABUSE" --port "$PORT" --attack-offset 30000 badreq >"$WORK/badreq.out"
"$ABUSE" --port "$PORT" --attack-offset 31000 frames >"$WORK/frames.out"
"$ABUSE" --port "$PORT" --attack-offset 32000 flood "$N_FLOOD" >"$WORK/flood.out"
"$ABUSE" --port "$PORT" --attack-offset 32100 pingflood "$N_PING" >"$WORK/ping.out"
PEAK_RSS=$(rss)
wait "$SLOW" || fail "slow-loris client"
wait "$PROBE" || fail "probe client"
cat "$WORK/slow.out" "$WORK/churn.out" "$WORK/flood.out" "$WORK/ping.out"
echo "during: $(cat "$WORK/attack.probe"); peak ${PEAK_FDS} fds, VmRSS ${PEAK_RSS} kB"

alive && ok "server up after the attack" || fail "server died"
expect_line "$WORK/slow.out" "^slowloris opened=$N_SLOW " "all $N_SLOW slow-loris connections were accepted"
if [ "$VG" -eq 0 ]; then # under valgrind the server accepts too slowly for these two
	expect_line "$WORK/slow.out" "closed_by_server=$N_SLOW\$" "the server closed every slow-loris connection itself"
	[ "$PEAK_FDS" -ge $((FD0 + N_SLOW / 2)) ] && ok "slow-loris connections were really held ($PEAK_FDS fds)" ||
		fail "slow-loris connections never reached the server ($PEAK_FDS fds)"
fi
expect_line "$WORK/churn.out" "^churn cycles=$N_CHURN failed=0\$" "$N_CHURN connect/disconnect cycles"
# Each malformed request gets an HTTP refusal or a close, never an upgrade (except the percent-
# encoded path, which lws decodes before the server sees it: see docs/SECURITY.md).
for i in 0 1 3 4 5 6 7 9 10 11; do
	expect_line "$WORK/badreq.out" "^badreq $i (http (4[0-9][0-9]|200)|closed)\$" "malformed request $i refused"
done
expect_line "$WORK/badreq.out" '^badreq huge closed' "a 1 MiB request head is cut off"
expect_line "$WORK/frames.out" '^frames text close 1003$' "text frame -> 1003"
for f in unmasked reserved-opcode rsv-bits continuation-first len-2\\^63 len-1MiB ping-oversized; do
	expect_line "$WORK/frames.out" "^frames $f close (0|100[0-9])\$" "bad frame $f closes the connection"
done
expect_line "$WORK/flood.out" '^flood sent=[0-9]+ of [0-9]+ close 1008$' "flooded tunnel closed with 1008"
expect_line "$WORK/ping.out" "^pingflood sent=" "ping flood without reading pongs survived"

OK_N=$(field "$WORK/attack.probe" ok)
FAIL_N=$(field "$WORK/attack.probe" fail)
[ "${FAIL_N:-1}" -eq 0 ] && [ "${OK_N:-0}" -ge 10 ] && ok "well-behaved tunnels all worked during the attack ($OK_N)" ||
	fail "well-behaved tunnels failed during the attack: $(cat "$WORK/attack.probe")"
if [ "$VG" -eq 0 ]; then
	P50=$(field "$WORK/attack.probe" p50_ms)
	P99=$(field "$WORK/attack.probe" p99_ms)
	B50=$(field "$WORK/base.probe" p50_ms)
	# Normal latency: the median stays within 20 ms of the idle median and the 99th percentile
	# under half a second. (Quiet machine: idle p50 0.7 ms; during the attack p50 0.7-0.8 ms, p99
	# 1-4 ms. The margins are for the sanitizer pass and a loaded CI machine.)
	awk -v a="$P50" -v b="$B50" -v m="$P99" 'BEGIN {exit !(a <= b + 20 && m < 500)}' &&
		ok "latency during the attack: p50 $P50 ms (idle $B50 ms), p99 $P99 ms" ||
		fail "latency during the attack: p50 $P50 ms (idle $B50 ms), p99 $P99 ms"
fi

# ---- recovery: descriptors and memory back to where they started ------------------------------
for ((i = 0; i < 150; i++)); do
	[ "$(fds)" -le "$FD0" ] && break
	sleep 0.2
done
FD1=$(fds)
[ "$FD1" -le "$FD0" ] && ok "descriptors back to $FD1 (start $FD0)" || {
	fail "descriptors: $FD1 after, $FD0 before"
	ls -l "/proc/$PID/fd" >&2
}
sleep 5 # the server returns freed heap every 2 s
RSS1=$(rss)
echo "after: VmRSS ${RSS1} kB (start ${RSS0} kB, peak ${PEAK_RSS} kB), ${FD1} fds (start ${FD0})"
if [ "$VG" -eq 0 ] && [ "$ASAN" -eq 0 ]; then
	[ "$RSS1" -le $((RSS0 * 105 / 100)) ] && ok "memory back within 5 % ($RSS1 kB vs $RSS0 kB)" ||
		fail "memory not back: $RSS1 kB after, $RSS0 kB before"
fi
"$ABUSE" --port "$PORT" probe 1 100 >"$WORK/after.probe"
expect_line "$WORK/after.probe" '^probe ok=[1-9][0-9]* fail=0 ' "a new tunnel works after the attack"

# A clean exit on SIGTERM (under valgrind: where leaks and open descriptors are reported).
kill -TERM "$PID"
for ((i = 0; i < 300; i++)); do alive || break; sleep 0.1; done
if alive; then
	fail "no exit within 30 s of SIGTERM"
else
	wait "$PID" && ok "clean exit on SIGTERM" || fail "exit status $? on SIGTERM"
fi
finish
