# Shared by the guest tests: a QEMU (TCG) guest on the host's own kernel, with uhid and 9p.
# Usage: source it, call guest_prepare (sets $work, $qemu, $kernel, $out), write $out/guest.sh,
# then guest_run SECONDS MEMORY_MB. The guest sees the host's /usr, /etc, the source, build and
# shared folders read-only (wherever the checkout lives) and
# $out read-write at /out; its init runs /out/guest.sh as root and powers off.

guest_prepare() {
	qemu=$(command -v qemu-system-x86_64 || true)
	kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true)
	local busybox=/bin/busybox
	if [ -z "$qemu" ] || [ -z "$kernel" ] || [ ! -x "$busybox" ] || ! "$busybox" --list | grep -x insmod >/dev/null; then
		echo "SKIP: needs qemu-system-x86, linux-image-amd64 and busybox-static (scripts/setup.sh)"
		exit 77
	fi
	local kver=${kernel#/boot/vmlinuz-}
	[ -d "/lib/modules/$kver" ] || { echo "SKIP: no modules for $kver"; exit 77; }
	work=$(mktemp -d)
	out=$work/out
	qpid=
	trap guest_cleanup EXIT
	mkdir -p "$work/initrd/bin" "$work/initrd/mods" "$out"
	cp "$busybox" "$work/initrd/bin/busybox"
	# Host folders the guest needs at the same paths: the checkout, the build and shared/.
	local p
	for p in "${CABLE_SOURCE_DIR:?}" "${CABLE_BUILD_DIR:?}" "${CABLE_SOURCE_DIR}/../shared"; do
		[ -d "$p" ] && (cd "$p" && pwd)
	done >"$work/initrd/binds"
	: >"$work/initrd/mods/order"
	local m ko base
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
ip link set lo up
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /host
mount -t tmpfs tmp /newroot
for d in usr etc; do mkdir -p /newroot/$d; mount --bind /host/$d /newroot/$d; done
for p in $(cat /binds); do mkdir -p /newroot$p; mount --bind /host$p /newroot$p; done
for l in bin sbin lib lib64; do ln -s usr/$l /newroot/$l; done
mkdir -p /newroot/out /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run /newroot/var/tmp /newroot/root
mount -t 9p -o trans=virtio,version=9p2000.L out /newroot/out
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/shm /newroot/dev/pts
mount -t tmpfs shm /newroot/dev/shm
mount -t devpts pts /newroot/dev/pts
chroot /newroot /bin/bash /out/guest.sh >/newroot/out/guest.log 2>&1
echo "guest script exit $?" >>/newroot/out/guest.log
sync
poweroff -f
EOF
	chmod +x "$work/initrd/init"
	(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.gz"
}

guest_cleanup() {
	if [ -n "${qpid:-}" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
	[ -n "${work:-}" ] && rm -rf "$work"
}

# Boots the guest and waits for it to power off (or for the time limit); returns qemu's status.
guest_run() {
	local secs=$1 mem=$2 rc=0
	timeout "$secs" "$qemu" -accel tcg -m "$mem" -smp 2 -nographic -no-reboot -nodefaults \
		-serial stdio -kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on" \
		-virtfs "local,path=$out,mount_tag=out,security_model=none" >"$work/console.log" 2>&1 &
	qpid=$!
	wait "$qpid" || rc=$?
	qpid=
	return "$rc"
}

guest_show_logs() {
	echo "== guest log"; cat "$out/guest.log" 2>/dev/null || true
	echo "== key log"; cat "$out/key.log" 2>/dev/null || true
	echo "== console"; tail -30 "$work/console.log" 2>/dev/null || true
}
