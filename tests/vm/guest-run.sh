#!/usr/bin/bash
# PID 1 of the bench's guest (after switch_root): brings up loopback, runs each scenario named in
# /out/config with its own deadline, records its exit status and time in /out/NAME/, powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
exec >/out/guest.log 2>&1
set -a
. /out/config
set +a
echo "guest-run: up $(cut -d" " -f1 /proc/uptime)s; kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
hostname cable-vm 2>/dev/null || true
ip link set lo up || busybox ip link set lo up
for s in $VM_SCENARIOS; do
	d=/out/$s
	mkdir -p "$d"
	start=$(date +%s.%N)
	echo "guest-run: scenario $s"
	# A deadline per scenario (VM_SCENARIO_TIMEOUT in the scenario's first lines, default 300 s).
	limit=$(sed -n 's/^# *VM_SCENARIO_TIMEOUT=\([0-9]*\).*/\1/p' "$CABLE_SOURCE_DIR/tests/vm/scenario-$s.sh" | head -1)
	VM_OUT=$d timeout -k 5 "${limit:-300}" bash "$CABLE_SOURCE_DIR/tests/vm/scenario-$s.sh" >"$d/scenario.log" 2>&1 </dev/null
	rc=$?
	[ $rc = 124 ] && echo "FAIL: scenario $s hit its ${limit:-300}s deadline" >>"$d/scenario.log"
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' >"$d/seconds"
	echo $rc >"$d/rc"
	echo "guest-run: scenario $s exit $rc in $(cat "$d/seconds")s"
	# Nothing a scenario started may outlive it.
	# Builtins only: every fork costs a lot under emulation.
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = 1 ] && continue
		first=
		IFS= read -r -d '' first <"/proc/$p/cmdline" 2>/dev/null
		[ -n "$first" ] || continue
		echo "guest-run: left over after $s: $p $first"
		kill -KILL "$p" 2>/dev/null
	done
done
echo "guest-run: done at $(cut -d" " -f1 /proc/uptime)s"
sync
busybox poweroff -f
