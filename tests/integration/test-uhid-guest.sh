#!/usr/bin/env bash
# The real kernel: a QEMU guest (TCG) creates the virtual key on /dev/uhid; fido2-token, libfido2 and python-fido2 use /dev/hidraw0.
set -euo pipefail
build=${CABLE_BUILD_DIR:?}
src=${CABLE_SOURCE_DIR:?}

qemu=$(command -v qemu-system-x86_64 || true)
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true)
busybox=/bin/busybox
if [ -z "$qemu" ] || [ -z "$kernel" ] || [ ! -x "$busybox" ] || ! "$busybox" --list | grep -qx insmod; then
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
for d in usr etc work; do mkdir -p /newroot/$d; mount --bind /host/$d /newroot/$d; done
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
EOF

timeout 280 "$qemu" -accel tcg -m 1024 -smp 2 -nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on" \
	-virtfs "local,path=$work/out,mount_tag=out,security_model=none" >"$work/console.log" 2>&1 &
qpid=$!
rc=0
wait "$qpid" || rc=$?
qpid=
echo "== guest log"; cat "$work/out/guest.log" 2>/dev/null || true
echo "== key log"; cat "$work/out/key.log" 2>/dev/null || true
if ! grep -q GUEST-PASS "$work/out/guest.log" 2>/dev/null; then
	echo "== console (qemu exit $rc)"; tail -40 "$work/console.log"
	exit 1
fi
