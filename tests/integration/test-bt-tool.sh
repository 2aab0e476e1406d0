#!/usr/bin/env bash
# bt-tool end to end through a real dbus-daemon and the fake BlueZ, in the lws loop and the poll
# loop: advert on hci1 reaches the scan on hci0 byte for byte, exit paths clean up in BlueZ, foreign
# adverts are ignored, and faults print their documented errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-bus.sh"
bus_setup
bus_start
fake_start

HEX=00112233445566778899aabbccddeeff01020304

# Readiness: the same check cablectl doctor runs (test-cablectl-doctor.sh checks its wording).
"$BT_TOOL" ready >"$BUS_DIR/ready.out" || fail "ready failed: $(cat "$BUS_DIR/ready.out")"
grep -Eq '^discovery +ok$' "$BUS_DIR/ready.out" || fail "discovery not ok"
grep -Eq '^adapters +2$' "$BUS_DIR/ready.out" || fail "adapters != 2"
grep -Eq '^chosen +hci0 00:AA:BB:CC:00:00$' "$BUS_DIR/ready.out" || fail "wrong adapter chosen"

round=0
for loop in lws poll; do
	round=$((round + 1))
	hex=${HEX:0:38}$(printf '%02x' "$round")
	bg "$BT_TOOL" scan --adapter hci0 --count 1 --timeout 20 --loop "$loop" >"$BUS_DIR/scan.$loop"
	scan_pid=$LAST_PID
	wait_line "$BUS_DIR/scan.$loop" '^started hci0$'
	bg "$BT_TOOL" advertise "$hex" --adapter hci1 --timeout 20 --loop "$loop" >"$BUS_DIR/adv.$loop"
	adv_pid=$LAST_PID
	wait_line "$BUS_DIR/adv.$loop" '^registered hci1$'
	wait_line "$BUS_DIR/scan.$loop" '^payload '
	grep -Eq "^payload fff9 $hex ([0-9A-F]{2}:){5}[0-9A-F]{2} -50$" "$BUS_DIR/scan.$loop" ||
		fail "$loop: payload differs: $(cat "$BUS_DIR/scan.$loop")"
	rc=0; wait "$scan_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$loop: scan exited $rc"
	kill -TERM "$adv_pid"
	rc=0; wait "$adv_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$loop: advertise exited $rc"
	[ "$(fake_stat hci1 Unregistered)" = "$round" ] || fail "$loop: advert not unregistered"
	[ "$(fake_stat hci1 AdvertsGoneWithOwner)" = 0 ] || fail "$loop: advert left to the disconnect"
	[ "$(fake_stat hci0 Devices)" = 0 ] || fail "$loop: device left on hci0"
done
# The readiness check and both scans stopped what they started, explicitly.
[ "$(fake_stat hci0 StopDiscovery)" = "$(fake_stat hci0 StartDiscovery)" ] || fail "discovery not stopped"
[ "$(fake_stat hci0 StopByExit)" = 0 ] || fail "discovery left to the disconnect"

# Foreign UUIDs and unrelated devices never reach the output; a wrong length does (the core decides).
bg "$BT_TOOL" scan --adapter hci0 --count 3 --timeout 2 >"$BUS_DIR/scan.foreign"
scan_pid=$LAST_PID
wait_line "$BUS_DIR/scan.foreign" '^started'
fake_ctl inject hci0 11:22:33:44:55:01 -60 feaa "$HEX"
fake_ctl inject hci0 11:22:33:44:55:02 -61 fde2 "${HEX:0:38}"
fake_ctl add-device hci0 11:22:33:44:55:03 Keyboard -62
rc=0; wait "$scan_pid" || rc=$?
[ "$rc" -eq 124 ] || fail "foreign scan should time out with one payload, exited $rc"
[ "$(grep -c '^payload' "$BUS_DIR/scan.foreign")" = 1 ] || fail "foreign adverts leaked through"
grep -q "^payload fde2 ${HEX:0:38} 11:22:33:44:55:02 -61$" "$BUS_DIR/scan.foreign" ||
	fail "19-byte fde2 advert not handed on: $(cat "$BUS_DIR/scan.foreign")"

# The older busctl-style calls still work (scripts written against the first lib-bus.sh).
fake_ctl SetPowered sb hci1 false
[ "$(fake_stat hci1 Powered)" = 0 ] || fail "busctl-style SetPowered"
fake_ctl SetPowered sb hci1 true
fake_ctl GetStats s hci1 | grep -q '^a{su} 13 "DiscoveringClients" 0 ' || fail "busctl-style GetStats"

# Injected faults through the control tool.
fake_ctl fail-next hci0 StartDiscovery org.bluez.Error.InProgress "Operation already in progress" 1
rc=0; "$BT_TOOL" scan --adapter hci0 --timeout 5 >"$BUS_DIR/scan.busy" || rc=$?
[ "$rc" -eq 1 ] || fail "refused discovery: exit $rc"
grep -qx 'error CABLE_ERR_BT_DISCOVERY org.bluez.Error.InProgress: Operation already in progress (the adapter is still busy with an earlier discovery; switching Bluetooth off and on clears it)' \
	"$BUS_DIR/scan.busy" || fail "refused discovery: $(cat "$BUS_DIR/scan.busy")"
bg "$BT_TOOL" scan --adapter hci0 --timeout 20 >"$BUS_DIR/scan.off"
scan_pid=$LAST_PID
wait_line "$BUS_DIR/scan.off" '^started'
fake_ctl power hci0 off
rc=0; wait "$scan_pid" || rc=$?
[ "$rc" -eq 1 ] && grep -q '^error CABLE_ERR_BT_NOT_POWERED ' "$BUS_DIR/scan.off" ||
	fail "power off: $(cat "$BUS_DIR/scan.off")"
fake_ctl power hci0 on
bg "$BT_TOOL" advertise "$HEX" --adapter hci1 --timeout 20 >"$BUS_DIR/adv.removed"
adv_pid=$LAST_PID
wait_line "$BUS_DIR/adv.removed" '^registered'
fake_ctl remove-adapter hci1
rc=0; wait "$adv_pid" || rc=$?
[ "$rc" -eq 1 ] && grep -q '^error CABLE_ERR_BT_ADAPTER_GONE BlueZ released' "$BUS_DIR/adv.removed" ||
	fail "adapter removed: $(cat "$BUS_DIR/adv.removed")"

# BlueZ goes away in the middle of a scan; the fake itself exits cleanly (no leak under ASan).
bg "$BT_TOOL" scan --adapter hci0 --timeout 20 >"$BUS_DIR/scan.gone"
scan_pid=$LAST_PID
wait_line "$BUS_DIR/scan.gone" '^started'
fake_stop || fail "fake-bluez exited with $?"
rc=0; wait "$scan_pid" || rc=$?
[ "$rc" -eq 1 ] || fail "scan after BlueZ left exited $rc"
grep -q '^error CABLE_ERR_BT_ADAPTER_GONE org.bluez left the bus' "$BUS_DIR/scan.gone" ||
	fail "wrong error: $(cat "$BUS_DIR/scan.gone")"

# No BlueZ at all; no bus at all.
rc=0; "$BT_TOOL" scan --timeout 5 >"$BUS_DIR/scan.none" || rc=$?
[ "$rc" -eq 1 ] && grep -q '^error CABLE_ERR_BT_NO_BLUEZ ' "$BUS_DIR/scan.none" ||
	fail "no BlueZ: $(cat "$BUS_DIR/scan.none")"
rc=0; "$BT_TOOL" ready >"$BUS_DIR/ready.none" || rc=$?
[ "$rc" -eq 1 ] && grep -Eq '^bluez +CABLE_ERR_BT_NO_BLUEZ$' "$BUS_DIR/ready.none" ||
	fail "ready without BlueZ: $(cat "$BUS_DIR/ready.none")"
rc=0
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS_DIR/nonexistent" "$BT_TOOL" advertise "$HEX" \
	>"$BUS_DIR/adv.nobus" || rc=$?
[ "$rc" -eq 1 ] && grep -q '^error CABLE_ERR_BT_BUS ' "$BUS_DIR/adv.nobus" ||
	fail "no bus: $(cat "$BUS_DIR/adv.nobus")"
echo "test-bt-tool: ok"
