#!/usr/bin/env bash
# Bounded smoke run of one libFuzzer harness over its seed corpus; fails on any crash, leak or report.
set -euo pipefail
harness=$1 corpus=$2 runs=$3
[ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ] || { echo "no seed corpus at $corpus" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# New inputs go to $work, the committed corpus stays untouched.
"$harness" -runs="$runs" -max_total_time=120 -print_final_stats=1 "$work" "$corpus" 2>"$work.log" || {
  tail -50 "$work.log" >&2; rm -f "$work.log"; exit 1; }
grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$work.log" || true
rm -f "$work.log"
