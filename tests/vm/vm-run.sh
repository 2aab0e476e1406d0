#!/usr/bin/env bash
# The real-kernel bench: builds a QEMU guest (TCG) around the host's own /usr and /etc, boots it,
# runs the named scenarios (tests/vm/scenario-NAME.sh) inside one after the other, and brings back
# each one's exit status and logs. Exit: 0 all passed, 1 a scenario failed or the guest did not
# finish, 77 this machine cannot run the guest (the reason is printed), 2 usage.
#
#   tests/vm/vm-run.sh [--timeout SEC] [--mem MB] [--keep DIR] [--verbose] SCENARIO...
#
# Needs CABLE_BUILD_DIR (the binaries) and CABLE_SOURCE_DIR (defaults to this checkout); both are
# made visible in the guest at the same paths. See docs/vm-bench.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${CABLE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${CABLE_BUILD_DIR:-}
timeout_s=600
mem=1024
keep=
verbose=0
scenarios=()

usage() {
	echo "usage: $0 [--timeout SEC] [--mem MB] [--keep DIR] [--verbose] SCENARIO..." >&2
	echo "scenarios: $(cd "$here" && ls scenario-*.sh | sed 's/^scenario-//; s/\.sh$//' | tr '\n' ' ')" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--keep) keep=${2:?}; shift 2 ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) scenarios+=("$1"); shift ;;
	esac
done
[ ${#scenarios[@]} -gt 0 ] || usage
for s in "${scenarios[@]}"; do
	[ -f "$here/scenario-$s.sh" ] || { echo "vm-run: no scenario '$s'" >&2; usage; }
done
[ -n "$build" ] && [ -d "$build" ] || { echo "vm-run: set CABLE_BUILD_DIR to the build directory" >&2; exit 2; }
build=$(cd "$build" && pwd)
src=$(cd "$src" && pwd)

skip() {
	echo "SKIP: $* (the QEMU bench needs qemu-system-x86, linux-image-amd64, busybox-static; scripts/setup.sh installs them)"
	exit 77
}

# ---- can this machine run the guest? -----------------------------------------------------------
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || skip "qemu-system-x86_64 not installed"
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true)
[ -n "$kernel" ] || skip "no /boot/vmlinuz-*-amd64"
[ -r "$kernel" ] || skip "$kernel is not readable by uid $(id -u)"
kver=${kernel#/boot/vmlinuz-}
[ -d "/lib/modules/$kver" ] || skip "no modules for $kver in /lib/modules"
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list | grep -qx switch_root || skip "no static busybox with switch_root"
command -v cpio >/dev/null || skip "cpio not installed"
# The guest shares the host's /usr: what a scenario needs from it is checked inside
# (each scenario prints SKIP and exits 77 for a missing package).

work=$(mktemp -d /tmp/cable-vm.XXXXXX)
qpid=
finish() {
	local rc=$?
	if [ -n "$qpid" ]; then
		kill -TERM "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	if [ -n "$keep" ]; then
		mkdir -p "$keep" && cp -a "$work/out/." "$keep/" 2>/dev/null || true
		cp -f "$work/console.log" "$keep/" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

t0=$(date +%s.%N)

# ---- kernel: the uncompressed ELF boots through PVH, faster than the bzImage -------------------
vmlinux="$work/vmlinux"
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | head -1 | cut -d: -f1 || true)
if [ -n "$off" ] && tail -c +$((off + 1)) "$kernel" | xz -dc --single-stream >"$vmlinux" 2>/dev/null &&
	[ "$(head -c 4 "$vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
	:
else
	cp "$kernel" "$vmlinux"
fi

# ---- initramfs: busybox, modules (dependency order), init --------------------------------------
mkdir -p "$work/initrd/bin" "$work/initrd/mods" "$work/out"
cp "$busybox" "$work/initrd/bin/busybox"
: >"$work/initrd/mods/order"
for m in virtio_pci 9pnet_virtio 9p virtio_rng uhid hid_generic hci_vhci ecdh_generic; do
	modprobe -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	case "$ko" in
	*.xz) xz -dc "$ko" >"$work/initrd/mods/${base%.xz}"; base=${base%.xz} ;;
	*.zst) zstd -qdc "$ko" >"$work/initrd/mods/${base%.zst}"; base=${base%.zst} ;;
	*) cp "$ko" "$work/initrd/mods/$base" ;;
	esac
	echo "$base" >>"$work/initrd/mods/order"
done
grep -qx 9p.ko "$work/initrd/mods/order" || skip "modprobe found no 9p module for $kver"

# The paths the guest must see besides /usr and /etc (read-only, same place as on the host).
binds="$build $src"
[ -d "$src/../shared" ] && binds="$binds $(cd "$src/../shared" && pwd -P)"
cat >"$work/initrd/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /host /newroot
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in \$(cat /mods/order); do insmod /mods/\$m 2>/dev/null || echo "insmod \$m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /host
# A fresh root: the host's /usr and /etc, everything else new (chrooting into the 9p view of /
# breaks /proc and /sys).
mount -t tmpfs -o mode=755 root /newroot
for d in usr etc; do mkdir -p /newroot/\$d; mount --bind /host/\$d /newroot/\$d; done
for p in $binds; do mkdir -p /newroot\$p; mount --bind /host\$p /newroot\$p; done
for l in bin sbin lib lib64; do ln -s usr/\$l /newroot/\$l; done
mkdir -p /newroot/out /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run /newroot/var/tmp /newroot/var/lib /newroot/root
chmod 1777 /newroot/tmp /newroot/var/tmp
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot/out
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/shm /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
# switch_root, not chroot: the kernel refuses user namespaces inside a chroot (Chromium's sandbox).
exec switch_root /newroot /usr/bin/bash $here/guest-run.sh
EOF
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.gz"

{
	printf 'CABLE_BUILD_DIR=%q\nCABLE_SOURCE_DIR=%q\n' "$build" "$src"
	printf 'CABLE_VECTORS=%q\n' "${CABLE_VECTORS:-}"
	printf 'VM_SCENARIOS=%q\n' "${scenarios[*]}"
	printf 'VM_VERBOSE=%q\n' "$verbose"
	# Scenario knobs (BROWSER_MODES, BROWSER_DEADLINE, ...) pass through to the guest.
	for v in $(compgen -e | grep -E '^BROWSER_' || true); do printf '%s=%q\n' "$v" "${!v}"; done
} >"$work/out/config"

t_prep=$(date +%s.%N)
"$qemu" -accel tcg -m "$mem" -smp 2 -nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$vmlinux" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" \
	-device virtio-rng-pci \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on" \
	-virtfs "local,path=$work/out,mount_tag=out,security_model=none" >"$work/console.log" 2>&1 </dev/null &
qpid=$!
# The overall deadline: qemu is killed if the guest has not powered off by then.
deadline=$(($(date +%s) + timeout_s))
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "vm-run: guest still running after ${timeout_s}s: killed" >&2
		kill -TERM "$qpid" 2>/dev/null || true
		break
	fi
	sleep 0.2
done
qrc=0
wait "$qpid" || qrc=$?
qpid=
t_end=$(date +%s.%N)

# ---- results ------------------------------------------------------------------------------------
rc=0
nskip=0
for s in "${scenarios[@]}"; do
	d="$work/out/$s"
	src_rc=1
	if [ ! -f "$d/rc" ]; then
		echo "== $s: did not finish" >&2
		rc=1
		srclog=$d/scenario.log
	else
		src_rc=$(cat "$d/rc")
		secs=$(cat "$d/seconds" 2>/dev/null || echo "?")
		echo "== $s: exit $src_rc, ${secs}s in the guest"
		case $src_rc in
		0) ;;
		77) nskip=$((nskip + 1)) ;;
		*) rc=1 ;;
		esac
	fi
	if [ "$verbose" = 1 ] || [ "$src_rc" != 0 ]; then
		for f in "$d"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $s/$(basename "$f")"
			tail -n 200 "$f"
		done
	else
		grep -E '^(ok|FAIL|SKIP|note|time):' "$d/scenario.log" 2>/dev/null || true
	fi
done
if [ $rc != 0 ] || ! grep -q '^guest-run: done' "$work/out/guest.log" 2>/dev/null; then
	echo "---- guest.log"; cat "$work/out/guest.log" 2>/dev/null || true
	echo "---- console (qemu exit $qrc), last lines"; tail -n 30 "$work/console.log"
	rc=1
fi
awk -v a="$t0" -v b="$t_prep" -v c="$t_end" \
	'BEGIN { printf "time: prepare %.1fs, guest %.1fs (boot to power-off), total %.1fs\n", b - a, c - b, c - a }'
# The logs above can be long (bluetoothd's debug output): repeat what failed as the last lines,
# where a CI log's tail shows it.
if [ $rc != 0 ]; then
	for s in "${scenarios[@]}"; do
		grep -H -E '^(FAIL|note):' "$work/out/$s/scenario.log" 2>/dev/null | sed "s|^$work/out/||"
	done
fi
[ -n "$keep" ] && echo "logs kept in $keep"
if [ $rc = 0 ] && [ "$nskip" = ${#scenarios[@]} ]; then
	exit 77
fi
exit $rc
