# Shared by the tunnel integration tests: start/stop real processes on loopback, assertions.
# Sourced, not run. Every process started here is stopped by the EXIT trap.
set -euo pipefail

: "${CABLE_BUILD_DIR:?}" "${CABLE_SOURCE_DIR:?}"
TUNNELD="$CABLE_BUILD_DIR/cable-tunneld"
CLIENT="$CABLE_BUILD_DIR/tests/tunnel-client"
WSRAW="/usr/bin/python3 $CABLE_SOURCE_DIR/tests/helpers/wsraw.py"
WORK=$(mktemp -d /tmp/cable-tunnel-test.XXXXXX)
PIDS=()
FAILS=0
# Under the valgrind pass every program starts and answers many times slower: waits are scaled.
TIME_SCALE=1
[ -n "${CABLE_VALGRIND:-}" ] && TIME_SCALE=4

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "$FAILS" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
		rm -rf "$WORK"
	else
		echo "work dir kept: $WORK" >&2
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

ok() {
	echo "ok: $*"
}

# wait_file FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN (SECONDS x TIME_SCALE).
wait_file() {
	local f=$1 pat=$2 t=$((${3:-10} * TIME_SCALE)) i
	for ((i = 0; i < t * 20; i++)); do
		if [ -f "$f" ] && grep -qE "$pat" "$f"; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out waiting for /$pat/ in $f:" >&2
	cat "$f" >&2 2>/dev/null || true
	return 1
}

# start_tunneld NAME ARGS...: sets PORT_<NAME> and PID_<NAME>; logs in $WORK/NAME.err.
start_tunneld() {
	local name=$1
	shift
	"$TUNNELD" --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	local pid=$!
	PIDS+=("$pid")
	wait_file "$WORK/$name.out" '^listening ' 10
	printf -v "PID_$name" '%s' "$pid"
	printf -v "PORT_$name" '%s' "$(awk '{print $3; exit}' "$WORK/$name.out")"
}

# expect_line FILE PATTERN WHAT
expect_line() {
	if grep -qE "$2" "$1"; then
		ok "$3"
	else
		fail "$3 (no /$2/ in $1):"
		sed 's/^/    /' "$1" >&2
	fi
}

# metric PORT NAME_WITH_LABELS: prints the value (0 if absent).
metric() {
	# From its own source address, so that it never counts against a per-source limit under test.
	curl -s --max-time 5 --interface 127.0.0.9 "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2; f=1} END {if (!f) print 0}'
}

expect_metric() {
	local v
	v=$(metric "$1" "$2")
	if [ "$v" = "$3" ]; then
		ok "metric $2 = $3"
	else
		fail "metric $2 is $v, expected $3"
	fi
}

random_tid() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS failure(s)" >&2
		exit 1
	fi
	echo "all passed"
}
