#!/usr/bin/env bash
# A longer libFuzzer campaign over every harness (the test suite only runs a bounded smoke pass).
# Usage: scripts/fuzz-campaign.sh [SECONDS_PER_HARNESS [HARNESS...]]   (default 300 s, all)
#   FUZZ_MERGE=1   afterwards, add the new inputs that bring coverage to tests/fuzz/corpus/<harness>
#                  (-merge=1 into the existing corpus: named seeds stay, only new coverage is added)
#   FUZZ_MINIMISE=1 instead rebuild each corpus as the minimal set covering everything (-merge=1
#                  into an empty directory; seeds lose their names)
# Needs the clang build: CC=clang cmake -S . -B build-asan -DCABLE_SANITIZE=ON -DCABLE_FUZZ=ON ...
# Crashes are written to build-asan/fuzz-campaign/artifacts/; the summary lists executions per
# harness and exits 1 if any harness found something.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
shift || true
bin=build-asan/tests/fuzz
[ -d "$bin" ] || { echo "no $bin: configure and build build-asan with -DCABLE_FUZZ=ON first" >&2; exit 2; }
out=build-asan/fuzz-campaign
mkdir -p "$out/artifacts"
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=($(cd "$bin" && ls fuzz-* | grep -v '\.')); fi
jobs=${FUZZ_JOBS:-1}
bad=0
printf '%-22s %12s %10s %8s %s\n' harness executions exec/s corpus result >"$out/summary.txt"
for h in "${harnesses[@]}"; do
	corpus=tests/fuzz/corpus/$h
	work=$out/$h.new
	mkdir -p "$work"
	log=$out/$h.log
	"$bin/$h" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/artifacts/$h-" "$work" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	result=ok
	if [ "$rc" -ne 0 ]; then
		result="FOUND (rc $rc, see $log)"
		bad=1
	fi
	if [ -n "${FUZZ_MINIMISE:-}" ] && [ "$rc" -eq 0 ]; then
		merged=$out/$h.merged
		rm -rf "$merged"
		mkdir -p "$merged"
		"$bin/$h" -merge=1 "$merged" "$corpus" "$work" >>"$log" 2>&1 &&
			rm -rf "$corpus" && mv "$merged" "$corpus"
	elif [ -n "${FUZZ_MERGE:-}" ] && [ "$rc" -eq 0 ]; then
		"$bin/$h" -merge=1 "$corpus" "$work" >>"$log" 2>&1
	fi
	printf '%-22s %12s %10s %8s %s\n' "$h" "${execs:-?}" "${rate:-?}" "$(ls "$corpus" | wc -l)" \
		"$result" | tee -a "$out/summary.txt"
done
cat "$out/summary.txt"
exit "$bad"
