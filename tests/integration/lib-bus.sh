# lib-bus.sh: a private "system" bus and the fake BlueZ for host-level tests. Source it, then:
#   bus_setup                          temp dir, cleanup trap (kills everything started here)
#   bus_start [POLICY_XML]             dbus-daemon; exports DBUS_SYSTEM_BUS_ADDRESS
#   fake_start [fake-bluez args...]    fake org.bluez (default adapters hci0,hci1), waits until ready
#   fake_stop                          SIGTERM to the fake; returns its exit status (0 = clean)
#   fake_ctl CMD ARGS...               fake-bluez-ctl (inject, add-device, power, fail-next, ...),
#                                      or METHOD SIG ARGS... (busctl syntax, e.g. SetPowered sb hci0 false)
#   fake_stat ADAPTER KEY              one counter from GetStats (StartDiscovery, Devices, ...)
#   bg CMD...                          start a background process that the trap will stop
#   wait_line FILE REGEX [SECONDS]     wait until FILE has a line matching REGEX
#   fail MSG                           print and exit 1
#   hex_ay HEX                         "N b1 b2 ..." for an ay argument of fake_ctl METHOD calls
# Needs CABLE_BUILD_DIR (ctest sets it). Everything is bounded by timeouts.

: "${CABLE_BUILD_DIR:?CABLE_BUILD_DIR must point at the build directory}"
FAKE_BLUEZ="$CABLE_BUILD_DIR/tests/fake-bluez"
BT_TOOL="$CABLE_BUILD_DIR/tests/bt-tool"
FAKE_CTL="$CABLE_BUILD_DIR/tests/fake-bluez-ctl"
BUS_PIDS=()

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

bus_cleanup() {
	local p
	for p in "${BUS_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BUS_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	BUS_PIDS=()
	[ -n "${BUS_DIR:-}" ] && rm -rf "$BUS_DIR"
}

bus_setup() {
	command -v dbus-daemon >/dev/null || { echo "SKIP: dbus-daemon not installed" >&2; exit 77; }
	BUS_DIR=$(mktemp -d /tmp/cable-bus.XXXXXX)
	trap bus_cleanup EXIT
	trap 'exit 130' INT TERM
}

bg() {
	"$@" &
	BUS_PIDS+=("$!")
	LAST_PID=$!
}

wait_line() {
	local file=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "--- $file:" >&2
	cat "$file" >&2 2>/dev/null || true
	fail "timed out waiting for /$re/ in $file"
}

bus_start() {
	local policy=${1:-}
	cat >"$BUS_DIR/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$BUS_DIR/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  $policy
</busconfig>
CONF
	bg dbus-daemon --config-file="$BUS_DIR/bus.conf" --nofork --nopidfile --print-address=3 \
		3>"$BUS_DIR/address" 2>"$BUS_DIR/dbus.log"
	BUS_PID=$LAST_PID
	wait_line "$BUS_DIR/address" '^unix:' 10
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS_DIR/bus"
}

fake_start() {
	rm -f "$BUS_DIR/fake.ready"
	bg "$FAKE_BLUEZ" --ready-file "$BUS_DIR/fake.ready" "$@"
	FAKE_PID=$LAST_PID
	wait_line "$BUS_DIR/fake.ready" '^:' 10
}

fake_stop() {
	local rc=0
	kill -TERM "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" || rc=$?
	return $rc
}

# Also accepts the older busctl form (fake_ctl SetPowered sb hci0 false): a D-Bus method name,
# its signature and busctl-style arguments.
fake_ctl() {
	if [[ $1 =~ ^[A-Z] ]]; then
		"$FAKE_CTL" call "$@"
	else
		"$FAKE_CTL" "$@"
	fi
}

fake_stat() {
	"$FAKE_CTL" stats "$1" "$2"
}

# hex string -> busctl-style "ay" arguments ("N b1 b2 ..."), for fake_ctl METHOD calls.
hex_ay() {
	local h=$1 out="" i
	for ((i = 0; i < ${#h}; i += 2)); do
		out+=" $((16#${h:i:2}))"
	done
	echo "$((${#h} / 2))$out"
}
