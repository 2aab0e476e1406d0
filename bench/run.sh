#!/usr/bin/env bash
# Runs the tunnel benchmarks against a fresh cable-tunneld pinned to CPU 1 (generator on CPU 0):
# cycle at full speed, cycle at 1,000 setups/s, and hold N idle tunnels for RSS per tunnel.
# Usage: bench/run.sh [BUILD_DIR] [HOLD_TUNNELS]   (plain ws on loopback; needs 2 cores)
set -euo pipefail
B=${1:-build}
HOLD=${2:-9000}
TUNNELD="$B/cable-tunneld"
BENCH="$B/bench/cable-tunnel-bench"
OUT=$(mktemp -d /tmp/cable-bench.XXXXXX)
PID=

start() {
	taskset -c 1 "$TUNNELD" --listen 127.0.0.1:0 --max-per-source 1000000 --max-pending 1000000 \
		--log-level warn >"$OUT/srv.out" 2>"$OUT/srv.err" &
	PID=$!
	for _ in $(seq 100); do grep -q '^listening' "$OUT/srv.out" 2>/dev/null && break; sleep 0.05; done
	PORT=$(awk '{print $3; exit}' "$OUT/srv.out")
}
stop() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	PID=
}
trap 'stop; rm -rf "$OUT"' EXIT

echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), RLIMIT_NOFILE $(ulimit -Hn)"
start
echo "== cycle, as fast as possible (128 in flight, 1 message each way)"
taskset -c 0 "$BENCH" --url "ws://127.0.0.1:$PORT" --tunnels 30000 --concurrency 128 --messages 1 \
	--server-pid "$PID" || true
echo "== cycle at 1,000 setups/s (4 messages each way)"
taskset -c 0 "$BENCH" --url "ws://127.0.0.1:$PORT" --tunnels 10000 --rate 1000 --concurrency 256 \
	--messages 4 --server-pid "$PID" || true
stop
start
echo "== hold $HOLD idle tunnels (RSS per tunnel)"
taskset -c 0 "$BENCH" --url "ws://127.0.0.1:$PORT" --hold "$HOLD" --concurrency 256 --server-pid "$PID" \
	--duration 100 || true
stop
