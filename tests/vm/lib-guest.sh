# lib-guest.sh: helpers for scenarios running inside the bench's guest. Source it, then:
#   ok MSG / bad MSG / note MSG      one result line (bad counts a failure); finish exits 1 on any
#   need CMD... / need_file PATH     SKIP (exit 77) when the host lacks a package the scenario uses
#   bg CMD...                        background process, stopped by the cleanup trap
#   wait_for SECONDS CMD...          poll CMD every 50 ms until it succeeds (1 when it never does)
#   wait_line FILE REGEX SECONDS     wait until FILE has a matching line
#   bt_up / bt_down                  btvirt -L -l2, system dbus-daemon, bluetoothd; both adapters
#                                    powered (hci0 and hci1) / stop all three; btmon records the
#                                    HCI traffic to $VM_OUT/hci.btsnoop (btmon -r FILE reads it)
#   bluetoothd_start / bluetoothd_stop   the daemon alone (for restart tests)
#   adapter_powered hciN             true when BlueZ reports Powered
#   finish                           print the summary, exit 0 or 1
# Logs go to $VM_OUT (one file per process).
set -u
: "${CABLE_BUILD_DIR:?}" "${CABLE_SOURCE_DIR:?}" "${VM_OUT:?}"
B=$CABLE_BUILD_DIR
T=$CABLE_BUILD_DIR/tests
PY=/usr/bin/python3
FAILS=0
PIDS=()

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
note() { echo "note: $*"; }
# elapsed since the scenario started, for "time:" lines
SCEN_T0=$(date +%s%N)
elapsed() { echo $((($(date +%s%N) - SCEN_T0) / 1000000)); }
stamp() { echo "time: $* at $(elapsed) ms"; }

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "SKIP: $c is not installed on the host (scripts/setup.sh)"; exit 77; }
	done
}
need_file() {
	[ -e "$1" ] || { echo "SKIP: $1 missing (${2:-scripts/setup.sh})"; exit 77; }
}

cleanup() {
	local p i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[$i]}" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
	[ -f /tmp/bluetoothd.log ] && cp /tmp/bluetoothd.log "$VM_OUT/bluetoothd.log"
	[ -f /tmp/hci.btsnoop ] && cp /tmp/hci.btsnoop "$VM_OUT/hci.btsnoop"
	dmesg >"$VM_OUT/dmesg.log" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bg() {
	"$@" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# Bounded by wall time, not by a count: one try can itself be slow under emulation.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}
wait_line() {
	wait_for "$3" grep -Eq -- "$2" "$1"
}

# --auto-start=no: asking for org.bluez must not make dbus-daemon try to activate another bluetoothd.
BUSCTL=(busctl --system --auto-start=no --timeout=5)
adapter_powered() {
	"${BUSCTL[@]}" get-property org.bluez "/org/bluez/$1" org.bluez.Adapter1 Powered 2>/dev/null | grep -qx 'b true'
}

bluetoothd_start() {
	# Chatty logs go to the guest's tmpfs (every write to the 9p share is a round trip to the
	# host) and are copied to $VM_OUT when the scenario ends.
	bg /usr/libexec/bluetooth/bluetoothd -n -E -d >>/tmp/bluetoothd.log 2>&1
	BLUETOOTHD_PID=$LAST_PID
}
bluetoothd_stop() {
	kill -TERM "$BLUETOOTHD_PID" 2>/dev/null
	wait "$BLUETOOTHD_PID" 2>/dev/null
}
# Both adapters known to bluetoothd and powered (bluetoothd powers them itself; power any that
# it left off, as a real desktop's settings would).
adapters_ready() {
	local a
	for a in hci0 hci1; do
		wait_for 20 "${BUSCTL[@]}" get-property org.bluez "/org/bluez/$a" org.bluez.Adapter1 Powered || return 1
		if ! wait_for 3 adapter_powered "$a"; then
			"${BUSCTL[@]}" set-property org.bluez "/org/bluez/$a" org.bluez.Adapter1 Powered b true || true
			wait_for 10 adapter_powered "$a" || return 1
		fi
	done
}

bt_up() {
	need btvirt dbus-daemon busctl
	need_file /usr/libexec/bluetooth/bluetoothd "package bluez"
	need_file /dev/vhci "kernel module hci_vhci"
	stamp "bluetooth start"
	mkdir -p /run/dbus /var/lib/bluetooth
	chmod 700 /var/lib/bluetooth
	rm -f /run/dbus/pid
	bg dbus-daemon --system --nofork --nopidfile >"$VM_OUT/dbus.log" 2>&1
	wait_for 20 test -S /run/dbus/system_bus_socket || { bad "no system bus"; finish; }
	# On a loaded host the guest's kernel can time out a controller's HCI reset (btvirt is a
	# process that must be scheduled to answer; dmesg: "Opcode 0x0c03 failed: -110"): then the
	# controller never registers. Try the whole radio bring-up again, at most three times.
	local try
	# Read the daemons once first: paging them in over 9p while the kernel waits for the
	# controller's answer makes the first bring-up slower.
	cat "$(command -v btvirt)" /usr/libexec/bluetooth/bluetoothd /usr/bin/dbus-daemon >/dev/null 2>&1
	bg btmon -w /tmp/hci.btsnoop >/dev/null 2>&1
	for try in 1 2 3; do
		bg btvirt -L -l2 >>"$VM_OUT/btvirt.log" 2>&1
		BTVIRT_PID=$LAST_PID
		if wait_for 20 test -e /sys/class/bluetooth/hci0 -a -e /sys/class/bluetooth/hci1; then
			bluetoothd_start
			adapters_ready && break
			bluetoothd_stop
		fi
		note "radio bring-up attempt $try failed; dmesg: $(dmesg | grep -i bluetooth | tail -3 | tr '\n' ' ')"
		kill -TERM $BTVIRT_PID 2>/dev/null
		wait $BTVIRT_PID 2>/dev/null
		wait_for 10 test ! -e /sys/class/bluetooth/hci0 -a ! -e /sys/class/bluetooth/hci1
		[ $try = 3 ] && { bad "hci0 and hci1 not both powered after 3 attempts"; finish; }
	done
	stamp "bluetooth ready (btvirt, dbus-daemon, bluetoothd, hci0+hci1 powered; attempt $try)"
}
bt_down() {
	cleanup
}

finish() {
	if [ "$FAILS" -eq 0 ]; then
		echo "PASS ($(elapsed) ms)"
		exit 0
	fi
	echo "FAILED: $FAILS check(s) ($(elapsed) ms)"
	exit 1
}

# ---- the full chain: cable-tunneld, cable-bridged on /dev/uhid, a phone robot -------------------
# tunneld_up: cable-tunneld on the guest's loopback; sets SERVER.
tunneld_up() {
	bg "$B/cable-tunneld" --listen 127.0.0.1:0 >"$VM_OUT/tunneld.log" 2>"$VM_OUT/tunneld.err"
	wait_line "$VM_OUT/tunneld.log" '^listening ' 30 || { bad "cable-tunneld did not start"; finish; }
	SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$VM_OUT/tunneld.log")"
}
# bridged_up [ARGS...]: cable-bridged on the real /dev/uhid, desktop radio hci0, QR codes written
# to $QR_DIR; waits for /dev/hidraw0. Its log: $BRIDGED_LOG (default $VM_OUT/bridged.log).
QR_DIR=/tmp/cable-qr
bridged_up() {
	mkdir -p "$QR_DIR" && chmod 700 "$QR_DIR"
	bg "$B/cable-bridged" --hid uhid --adapter hci0 --tunnel-server "$SERVER" --qr-dir "$QR_DIR" \
		--timeout 120 "$@" 2>"${BRIDGED_LOG:=$VM_OUT/bridged.log}"
	BRIDGED_PID=$LAST_PID
	wait_line "$BRIDGED_LOG" 'virtual security key ready' 30 && wait_for 20 test -e /dev/hidraw0 ||
		{ bad "cable-bridged made no /dev/hidraw0: $(cat "$BRIDGED_LOG")"; finish; }
}
# phone_robot_start STORE [cable-phone ARGS...]: plays the person with the phone. Each time a QR
# code appears it runs cable-phone (radio hci1) on it, one session after the other (at most 20);
# logs $VM_OUT/phone-N.json. The robot is a background job stopped by the cleanup.
phone_robot_start() {
	local store=$1
	shift
	(
		last= n=0
		while [ $n -lt 20 ]; do
			url=
			[ -f "$QR_DIR/qr.url" ] && url=$(<"$QR_DIR/qr.url")
			if [[ "$url" == FIDO:/* ]] && [ "$url" != "$last" ]; then
				n=$((n + 1))
				last=$url
				echo "robot: QR code $n seen at $(elapsed) ms"
				timeout 150 "$B/cable-phone" --qr "$url" --json --adapter hci1 --tunnel-server "$SERVER" \
					--store "$store" --timeout 90 "$@" >"$VM_OUT/phone-$n.json" 2>&1
				echo "robot: cable-phone $n exit $? at $(elapsed) ms"
			fi
			sleep 0.05
		done
	) >>"$VM_OUT/robot.log" 2>&1 &
	PIDS+=("$!")
}
