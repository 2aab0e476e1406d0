# Scenario uhid: a FIDO key on the real /dev/uhid; libfido2's own tools (fido2-token), a libfido2
# client and python3-fido2's CtapHidDevice reach it through the real /dev/hidraw0.
# VM_SCENARIO_TIMEOUT=300
. "$CABLE_SOURCE_DIR/tests/vm/lib-guest.sh"
need fido2-token
need_file /dev/uhid "kernel module uhid"

# ---- the test key (tests/helpers/hid-echo-key): CTAPHID machine and a local getInfo -----------
stamp "key start"
CABLE_HID_PACKET_TIMEOUT_MS=10000 bg "$T/hid-echo-key" uhid 200 2>"$VM_OUT/key.log"
KEY=$LAST_PID
wait_for 10 test -e /dev/hidraw0 || bad "no /dev/hidraw0"
stamp "hidraw0 present"
UEV=/sys/class/hidraw/hidraw0/device/uevent
grep -qx "HID_NAME=cable-bridge (phone via hybrid)" $UEV && ok "kernel names the device" || bad "HID_NAME: $(cat $UEV)"
grep -q "^HID_ID=0003:00001209:00000001" $UEV && ok "bus USB, vendor 1209, product 0001" || bad "HID_ID: $(grep HID_ID $UEV)"
fido2-token -L >"$VM_OUT/list.log" 2>&1 || bad "fido2-token -L failed"
# libfido2 1.12 takes the strings from a USB parent, which a uhid device lacks: it prints "( )".
grep -q "^/dev/hidraw0: vendor=0x1209, product=0x0001 " "$VM_OUT/list.log" &&
	ok "fido2-token -L lists /dev/hidraw0" || bad "not listed by fido2-token -L: $(cat "$VM_OUT/list.log")"
fido2-token -I /dev/hidraw0 >"$VM_OUT/info.log" 2>&1 || bad "fido2-token -I failed"
grep -q 'version strings: FIDO_2_0, FIDO_2_1' "$VM_OUT/info.log" && ok "getInfo: versions" || bad "getInfo versions"
grep -q 'maxmsgsiz: 7609' "$VM_OUT/info.log" && ok "getInfo: maxmsgsiz 7609" || bad "getInfo maxmsgsiz"
stamp "fido2-token done"
timeout 120 "$T/hid-libfido2-client" /dev/hidraw0 >"$VM_OUT/libfido2.log" 2>&1 &&
	ok "libfido2 client (INIT, PING, CBOR, cancel, errors)" || bad "libfido2 client: $(tail -5 "$VM_OUT/libfido2.log")"
stamp "libfido2 client done"
timeout 150 $PY "$CABLE_SOURCE_DIR/tests/integration/hid-python-fido2.py" /dev/hidraw0 >"$VM_OUT/python-fido2.log" 2>&1 &&
	ok "python3-fido2 CtapHidDevice" || bad "python3-fido2: $(tail -5 "$VM_OUT/python-fido2.log")"
stamp "python-fido2 done"
kill -TERM $KEY
wait $KEY && ok "key exits 0 on SIGTERM" || bad "hid-echo-key exit $?"
wait_for 5 test ! -e /dev/hidraw0 && ok "hidraw0 gone after UHID_DESTROY" || bad "hidraw0 still there"
finish
