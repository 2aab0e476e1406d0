# Scenario uhid: the real /dev/uhid and /dev/hidraw0.
#  A. The CTAPHID layer: the test key (tests/helpers/hid-echo-key, a local getInfo) on /dev/uhid;
#     fido2-token, a libfido2 client (INIT, PING, CBOR, CANCEL, errors) and python3-fido2's raw
#     CTAPHID checks reach it through hidraw.
#  B. The whole chain: cable-bridged creates its key on /dev/uhid; libfido2's own tools, unmodified
#     (fido2-token -L/-I, fido2-cred -M/-V, fido2-assert -G/-V), and python3-fido2's CtapHidDevice
#     register and sign in through it, BLE (real bluetoothd, btvirt) and cable-tunneld, to
#     cable-phone.
# VM_SCENARIO_TIMEOUT=600
. "$CABLE_SOURCE_DIR/tests/vm/lib-guest.sh"
W=$VM_OUT
need fido2-token fido2-cred fido2-assert
need_file /dev/uhid "kernel module uhid"
UEV=/sys/class/hidraw/hidraw0/device/uevent

# cablectl doctor's uhid check on the real device (the host tests only its failures).
if "$B/cablectl" doctor uhid >"$W/doctor.log" 2>&1 &&
	grep -qx 'ok    uhid         /dev/uhid can be opened for writing (cable-bridged can make its key)' "$W/doctor.log"; then
	ok "cablectl doctor: /dev/uhid passes"
else
	bad "cablectl doctor uhid: $(cat "$W/doctor.log")"
fi

# ---- A. the test key -----------------------------------------------------------------------------
stamp "A: key start"
CABLE_HID_PACKET_TIMEOUT_MS=10000 bg "$T/hid-echo-key" uhid 300 2>"$W/echo-key.log"
KEY=$LAST_PID
wait_for 20 test -e /dev/hidraw0 || bad "A: no /dev/hidraw0"
grep -qx "HID_NAME=cable-bridge (phone via hybrid)" $UEV && ok "A: kernel names the device" || bad "A: HID_NAME: $(cat $UEV)"
grep -q "^HID_ID=0003:00001209:00000001" $UEV && ok "A: bus USB, vendor 1209, product 0001" || bad "A: HID_ID: $(grep HID_ID $UEV)"
fido2-token -L >"$W/echo-list.log" 2>&1 || bad "A: fido2-token -L failed"
# libfido2 1.12 takes the strings from a USB parent, which a uhid device lacks: it prints "( )".
grep -q "^/dev/hidraw0: vendor=0x1209, product=0x0001 " "$W/echo-list.log" &&
	ok "A: fido2-token -L lists /dev/hidraw0" || bad "A: not listed: $(cat "$W/echo-list.log")"
timeout 120 "$T/hid-libfido2-client" /dev/hidraw0 >"$W/echo-libfido2.log" 2>&1 &&
	ok "A: libfido2 client (INIT, PING, CBOR, cancel, errors)" || bad "A: libfido2 client: $(tail -5 "$W/echo-libfido2.log")"
timeout 200 $PY "$CABLE_SOURCE_DIR/tests/integration/hid-python-fido2.py" /dev/hidraw0 >"$W/echo-python-fido2.log" 2>&1 &&
	ok "A: python3-fido2 raw CTAPHID checks" || bad "A: python3-fido2: $(tail -5 "$W/echo-python-fido2.log")"
kill -TERM $KEY
wait $KEY && ok "A: key exits 0 on SIGTERM" || bad "A: hid-echo-key exit $?"
wait_for 10 test ! -e /dev/hidraw0 && ok "A: hidraw0 gone after UHID_DESTROY" || bad "A: hidraw0 still there"
stamp "A: done"

# ---- B. cable-bridged, through the radio and the tunnel, to cable-phone ---------------------------
need_file "$B/cable-bridged" "cable-bridged is not built"
bt_up
tunneld_up
# Packed self-attestation, so that fido2-cred -V can check the attestation and hand out the key.
phone_robot_start /tmp/phone-uhid.cbor --attestation packed
bridged_up
stamp "B: cable-bridged ready"
grep -qx "HID_NAME=cable-bridge (phone via hybrid)" $UEV && ok "B: cable-bridged's device on the real uhid" || bad "B: HID_NAME: $(cat $UEV)"
# cablectl doctor finds the key; as root it opens; as another user (no udev here to grant an
# ACL) it is refused, and the doctor names the udev rule.
DOC_KEY='^ok +key +/dev/hidraw0 is cable-bridge.s key and opens for reading and writing'
"$B/cablectl" doctor key >"$W/doctor-key.log" 2>&1 && grep -Eq "$DOC_KEY" "$W/doctor-key.log" &&
	ok "B: cablectl doctor key: /dev/hidraw0 found and opened" || bad "B: doctor key: $(cat "$W/doctor-key.log")"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$B/cablectl" doctor key >"$W/doctor-nobody.log" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -Eq '^FAIL +key +/dev/hidraw0 is cable-bridge.s key but this user cannot open it \(Permission denied\).*70-cable-bridge\.rules' "$W/doctor-nobody.log" &&
	ok "B: cablectl doctor key as nobody: refused, the udev rule named" ||
	bad "B: doctor key as nobody (exit $rc): $(cat "$W/doctor-nobody.log")"
fido2-token -L >"$W/list.log" 2>&1 || bad "B: fido2-token -L failed"
grep -q "^/dev/hidraw0: vendor=0x1209, product=0x0001 " "$W/list.log" &&
	ok "B: fido2-token -L lists it" || bad "B: not listed: $(cat "$W/list.log")"
fido2-token -I /dev/hidraw0 >"$W/info.log" 2>&1 || bad "B: fido2-token -I failed"
grep -q 'version strings: FIDO_2_0, FIDO_2_1' "$W/info.log" && ok "B: getInfo versions FIDO_2_0, FIDO_2_1" || bad "B: getInfo versions"
grep -q 'aaguid: 767bb5ca90e942ac8e3ebc3cc0a6c76d' "$W/info.log" && ok "B: getInfo AAGUID is the bridge's" || bad "B: AAGUID: $(grep aaguid "$W/info.log")"
grep -q 'maxmsgsiz: 7609' "$W/info.log" && ok "B: maxmsgsiz 7609" || bad "B: maxmsgsiz"
[ ! -s "$W/robot.log" ] && ok "B: getInfo answered locally (no QR code shown)" || bad "B: a QR code was shown for getInfo"
stamp "B: fido2-token done"

# fido2-cred -M: makeCredential through the chain; -V checks the packed attestation.
CDH=$(head -c 32 /dev/urandom | base64)
printf '%s\nexample.com\nvm\n%s\n' "$CDH" "$(printf 'vm-user-1' | base64)" >"$W/cred.in"
if timeout 200 fido2-cred -M -i "$W/cred.in" -o "$W/cred.out" /dev/hidraw0 es256 >"$W/cred-M.log" 2>&1; then
	ok "B: fido2-cred -M registered through the phone"
else
	bad "B: fido2-cred -M: $(cat "$W/cred-M.log")"
fi
stamp "B: fido2-cred -M done"
if fido2-cred -V -i "$W/cred.out" -o "$W/cred.key" es256 >"$W/cred-V.log" 2>&1; then
	ok "B: fido2-cred -V verifies the phone's packed attestation"
else
	bad "B: fido2-cred -V: $(cat "$W/cred-V.log")"
fi
CRED_ID=$(head -1 "$W/cred.key" 2>/dev/null)
tail -n +2 "$W/cred.key" >"$W/cred.pem" 2>/dev/null
printf '%s\nexample.com\n%s\n' "$(head -c 32 /dev/urandom | base64)" "$CRED_ID" >"$W/assert.in"
if timeout 200 fido2-assert -G -p -i "$W/assert.in" -o "$W/assert.out" /dev/hidraw0 >"$W/assert-G.log" 2>&1; then
	ok "B: fido2-assert -G -p signed in through the phone"
else
	bad "B: fido2-assert -G: $(cat "$W/assert-G.log")"
fi
stamp "B: fido2-assert -G done"
fido2-assert -V -p -i "$W/assert.out" "$W/cred.pem" es256 >"$W/assert-V.log" 2>&1 &&
	ok "B: fido2-assert -V verifies the signature with the registered key" || bad "B: fido2-assert -V: $(cat "$W/assert-V.log")"
# A wrong key must not verify (the check can fail).
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$W/other.pem" 2>/dev/null
! fido2-assert -V -p -i "$W/assert.out" "$W/other.pem" es256 >/dev/null 2>&1 &&
	ok "B: and not with another key" || bad "B: fido2-assert -V accepted another key"

timeout 300 $PY "$CABLE_SOURCE_DIR/tests/vm/hidraw-fido2.py" example.com >"$W/python-fido2.log" 2>&1
PYRC=$?
cat "$W/python-fido2.log" | grep -E '^(ok|FAIL)' 
[ $PYRC = 0 ] && ok "B: python3-fido2 CtapHidDevice + Fido2Client registered and signed in" || bad "B: python3-fido2: $(tail -5 "$W/python-fido2.log")"
stamp "B: python3-fido2 done"
N=$(grep -c 'QR code [0-9]* seen' "$W/robot.log")
[ "$N" = 4 ] && ok "B: four hybrid sessions (one QR code per real request)" || bad "B: $N QR codes for 4 real requests"
grep -c '"event":"closed","error":null' "$W"/phone-*.json | grep -q ':0$' && bad "B: a phone session did not close cleanly" || true

kill -TERM $BRIDGED_PID
wait $BRIDGED_PID && ok "B: cable-bridged exits 0 on SIGTERM" || bad "B: cable-bridged exit $?"
wait_for 10 test ! -e /dev/hidraw0 && ok "B: hidraw0 gone when cable-bridged stops" || bad "B: hidraw0 still there"
finish
