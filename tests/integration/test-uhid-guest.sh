#!/usr/bin/env bash
# The real kernel: a QEMU guest (TCG) creates the virtual key on /dev/uhid; fido2-token, libfido2 and python-fido2 use /dev/hidraw0.
set -euo pipefail
build=${CABLE_BUILD_DIR:?}
src=${CABLE_SOURCE_DIR:?}
. "$src/tests/integration/uhid-guest-lib.sh"
guest_prepare

cat >"$out/guest.sh" <<GUEST
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ok=1
fail() { echo "FAIL: \$*"; ok=0; }
CABLE_HID_PACKET_TIMEOUT_MS=10000 $build/tests/hid-echo-key uhid 200 2>/out/key.log &
key=\$!
for _ in \$(seq 200); do [ -e /dev/hidraw0 ] && break; sleep 0.05; done
[ -e /dev/hidraw0 ] || fail "no /dev/hidraw0"
cat /sys/class/hidraw/hidraw0/device/uevent 2>/dev/null
fido2-token -L >/out/list.txt 2>&1 || fail "fido2-token -L"
cat /out/list.txt
# libfido2 1.12 takes the strings from a USB parent, which a uhid device lacks: it prints "( )".
grep -q "^/dev/hidraw0: vendor=0x1209, product=0x0001 " /out/list.txt || fail "not listed by libfido2"
grep -qx "HID_NAME=cable-bridge (phone via hybrid)" /sys/class/hidraw/hidraw0/device/uevent || fail "HID_NAME"
fido2-token -I /dev/hidraw0 >/out/info.txt 2>&1 || fail "fido2-token -I"
cat /out/info.txt
grep -q 'version strings: FIDO_2_0, FIDO_2_1' /out/info.txt || fail "versions"
grep -q 'maxmsgsiz: 7609' /out/info.txt || fail "maxmsgsiz"
timeout 120 $build/tests/hid-libfido2-client /dev/hidraw0 || fail "libfido2 client"
timeout 150 /usr/bin/python3 $src/tests/integration/hid-python-fido2.py /dev/hidraw0 || fail "python-fido2"
kill -TERM \$key
wait \$key || fail "hid-echo-key exit \$?"
sleep 0.2
[ ! -e /dev/hidraw0 ] || fail "hidraw0 still there after DESTROY"
[ \$ok = 1 ] && echo GUEST-PASS
GUEST

rc=0
guest_run 280 1024 || rc=$?
if ! grep -q GUEST-PASS "$out/guest.log" 2>/dev/null; then
	echo "qemu exit $rc"; guest_show_logs
	exit 1
fi
grep -E "GUEST-PASS|all checks passed" "$out/guest.log" || true
