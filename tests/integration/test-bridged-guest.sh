#!/usr/bin/env bash
# The real kernel for cable-bridged: in a QEMU guest (TCG), cable-uhid-helper creates the key on
# /dev/uhid and relays to cable-bridged's socket, then fido2-token, libfido2 and python-fido2 use
# /dev/hidraw0: getInfo, Firefox's probe sequence, and registrations and assertions forwarded to
# cable-phone through cable-tunneld and the fake BlueZ, all inside the guest. Also: the helper runs
# as nobody, and the hidraw node goes away when the daemon stops.
set -euo pipefail
build=${CABLE_BUILD_DIR:?}
src=${CABLE_SOURCE_DIR:?}

qemu=$(command -v qemu-system-x86_64 || true)
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true)
busybox=/bin/busybox
if [ -z "$qemu" ] || [ -z "$kernel" ] || [ ! -x "$busybox" ] || ! "$busybox" --list | grep -x insmod >/dev/null; then
	echo "SKIP: needs qemu-system-x86, linux-image-amd64 and busybox-static (scripts/setup.sh)"
	exit 77
fi
kver=${kernel#/boot/vmlinuz-}
[ -d "/lib/modules/$kver" ] || { echo "SKIP: no modules for $kver"; exit 77; }

work=$(mktemp -d)
qpid=
cleanup() {
	if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# Initramfs: busybox, the modules uhid and 9p need (in dependency order), and an init that mounts
# the host read-only, builds a fresh root around it and runs the guest script.
mkdir -p "$work/initrd/bin" "$work/initrd/mods" "$work/out"
cp "$busybox" "$work/initrd/bin/busybox"
# Host folders the guest needs at the same paths, wherever the checkout lives: the source, the
# build and shared/ beside the source.
for p in "$src" "$build" "$src/../shared"; do
	if [ -d "$p" ]; then (cd "$p" && pwd); fi
done >"$work/initrd/binds"
: >"$work/initrd/mods/order"
for m in virtio_pci 9pnet_virtio 9p uhid hid_generic; do
	modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	case "$ko" in
	*.xz) xz -dc "$ko" >"$work/initrd/mods/${base%.xz}"; base=${base%.xz} ;;
	*.zst) zstd -qdc "$ko" >"$work/initrd/mods/${base%.zst}"; base=${base%.zst} ;;
	*) cp "$ko" "$work/initrd/mods/$base" ;;
	esac
	echo "$base" >>"$work/initrd/mods/order"
done
cat >"$work/initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /host /newroot
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m || echo "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /host
mount -t tmpfs tmp /newroot
for d in usr etc; do mkdir -p /newroot/$d; mount --bind /host/$d /newroot/$d; done
for p in $(cat /binds); do mkdir -p /newroot$p; mount --bind /host$p /newroot$p; done
for l in bin sbin lib lib64; do ln -s usr/$l /newroot/$l; done
mkdir -p /newroot/out /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run /newroot/var/tmp
mount -t 9p -o trans=virtio,version=9p2000.L out /newroot/out
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
chroot /newroot /bin/bash /out/guest.sh >/newroot/out/guest.log 2>&1
echo "guest script exit $?" >>/newroot/out/guest.log
sync
poweroff -f
EOF
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.gz"

# The test inside the guest.
cat >"$work/out/guest.sh" <<EOF
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export CABLE_BUILD_DIR=$build CABLE_SOURCE_DIR=$src
ok=1
fail() { echo "FAIL: \$*"; ok=0; }
# The guest's loopback is down until someone brings it up (cable-tunneld listens on 127.0.0.1).
ip link set lo up 2>/dev/null || /bin/busybox ifconfig lo 127.0.0.1 up
source $src/tests/integration/lib-bus.sh
bus_setup
bus_start
fake_start --adapters hci0,hci1
W=\$BUS_DIR
bg $build/cable-tunneld --listen 127.0.0.1:0 >\$W/tunneld.out 2>\$W/tunneld.err
wait_line \$W/tunneld.out '^listening ' 20
SERVER="ws://127.0.0.1:\$(awk '{print \$3; exit}' \$W/tunneld.out)"
mkdir -p /run/u && chmod 700 /run/u
export WORK=\$W QR_DIR=/run/u/cable-bridge BRIDGE_SOCK=/dev/hidraw0
# The phone is not under test here, and LeakSanitizer's exit scan is very slow under TCG.
export PHONE_CMD="env ASAN_OPTIONS=detect_leaks=0 $build/cable-phone --adapter hci1 --tunnel-server \$SERVER --store \$W/phone.cbor --timeout 60"
XDG_RUNTIME_DIR=/run/u $build/cable-bridged --hid socket:/run/u/hid.sock --adapter hci0 \
	--tunnel-server \$SERVER --select-timeout 30 --timeout 90 2>/out/bridged.log &
BRIDGE_PID=\$!
export BRIDGE_PID
wait_line /out/bridged.log 'running: HID socket:' 20
$build/cable-uhid-helper --connect /run/u/hid.sock --uid 0 --user nobody 2>/out/helper.log &
helper=\$!
for _ in \$(seq 200); do [ -e /dev/hidraw0 ] && break; sleep 0.05; done
[ -e /dev/hidraw0 ] || fail "no /dev/hidraw0"
grep -qx "HID_NAME=cable-bridge (phone via hybrid)" /sys/class/hidraw/hidraw0/device/uevent || fail "HID_NAME"
grep -q '^Uid:.*65534' /proc/\$helper/status && echo "ok: helper runs as nobody" || fail "helper uid"
fido2-token -L >/out/list.txt 2>&1 || fail "fido2-token -L"
cat /out/list.txt
grep -q "^/dev/hidraw0: vendor=0x1209, product=0x0001 " /out/list.txt || fail "not listed by libfido2"
fido2-token -I /dev/hidraw0 >/out/info.txt 2>&1 || fail "fido2-token -I"
cat /out/info.txt
grep -q 'version strings: FIDO_2_0, FIDO_2_1' /out/info.txt || fail "versions"
grep -q 'aaguid: 767bb5ca90e942ac8e3ebc3cc0a6c76d' /out/info.txt || fail "aaguid"
grep -q 'options: rk, up, uv, noplat' /out/info.txt || fail "options"
grep -q 'clientPin' /out/info.txt && fail "clientPin advertised"
# libfido2 registers and signs in through the phone; a watcher plays the phone for each QR code.
/usr/bin/python3 - >/out/runner.log 2>&1 <<'PYEOF2' &
import os, time, subprocess, shlex
qr = os.path.join(os.environ["QR_DIR"], "qr.url")
for n in range(2):
    url = ""
    for _ in range(2400):
        try:
            url = open(qr).read().strip()
        except FileNotFoundError:
            pass
        if url.startswith("FIDO:/"):
            break
        time.sleep(0.025)
    with open("/out/phone-%d.log" % n, "w") as log:
        subprocess.run(shlex.split(os.environ["PHONE_CMD"]) + ["--qr", url], stdout=log,
                       stderr=subprocess.STDOUT, timeout=90)
    for _ in range(1200):
        if not os.path.exists(qr):
            break
        time.sleep(0.025)
PYEOF2
runner=\$!
sleep 0.5
timeout 150 $build/tests/hid-libfido2-client /dev/hidraw0 webauthn example.com >/out/libfido2.out 2>&1 || fail "libfido2 webauthn"
cat /out/libfido2.out
wait \$runner
for sc in fido2 firefox; do
	if timeout 200 /usr/bin/python3 $src/tests/integration/bridged_client.py \$sc >/out/sc-\$sc.out 2>&1; then
		echo "ok: scenario \$sc on hidraw0: \$(grep -c '^ok:' /out/sc-\$sc.out) checks"
	else
		cat /out/sc-\$sc.out
		fail "scenario \$sc"
	fi
done
kill -TERM \$BRIDGE_PID
wait \$BRIDGE_PID || fail "cable-bridged exit \$?"
wait \$helper || fail "helper exit \$?"
sleep 0.2
[ ! -e /dev/hidraw0 ] || fail "hidraw0 still there after the daemon stopped"
grep -q 'device destroyed' /out/helper.log || fail "helper did not destroy the device"
[ \$ok = 1 ] && echo GUEST-PASS
EOF

timeout 570 "$qemu" -accel tcg -m 1024 -smp 2 -nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on" \
	-virtfs "local,path=$work/out,mount_tag=out,security_model=none" >"$work/console.log" 2>&1 &
qpid=$!
rc=0
wait "$qpid" || rc=$?
qpid=
echo "== guest log"; cat "$work/out/guest.log" 2>/dev/null || true
echo "== daemon log"; cat "$work/out/bridged.log" 2>/dev/null || true
echo "== helper log"; cat "$work/out/helper.log" 2>/dev/null || true
echo "== phone/runner logs"; tail -n 15 "$work/out"/phone-*.log "$work/out/runner.log" 2>/dev/null || true
if ! grep -q GUEST-PASS "$work/out/guest.log" 2>/dev/null; then
	echo "== console (qemu exit $rc)"; tail -40 "$work/console.log"
	exit 1
fi
