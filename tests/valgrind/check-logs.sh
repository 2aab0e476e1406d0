#!/usr/bin/env bash
# Checks the valgrind logs in DIR (written by vg.sh): any memory error or definite leak, and any
# file descriptor still open at exit that the program opened itself (not inherited), is a failure.
# Descriptors are not judged for a process that a signal ended (SIGTERM from timeout(1), ...):
# nothing closes them then, by design.
# A log without a summary is a process that was killed (SIGKILL) before valgrind could report: it
# is listed, not failed, because memory errors are still written the moment they happen.
# Usage: check-logs.sh DIR [--require]; exit 0 when clean. With --require, a directory without any
# log fails too: the test ran nothing under valgrind, so it proved nothing there.
set -uo pipefail
dir=$1
require=${2:-}
bad=0 n=0 killed=0
shopt -s nullglob
for log in "$dir"/*.log; do
	n=$((n + 1))
	out=$(awk '
		/Process terminating with default action of signal/ { signalled = 1 }
		/== Open [^ ]+.* [0-9]+:/ { fd = $0; if ((getline nxt) > 0 && nxt !~ /inherited from parent/ && !signalled) { sub(/^==[0-9]+== /, "", fd); print "fd left open: " fd } }
		/ERROR SUMMARY: [1-9]/ { print "memcheck: " $0 }
		/ERROR SUMMARY:/ { done = 1 }
		END { if (!done) print "NOSUMMARY" }' "$log")
	if [ "$out" = "NOSUMMARY" ]; then
		killed=$((killed + 1))
		# A killed process may still have reported errors before it died.
		if grep -q '^==[0-9]*== \(Invalid\|Conditional\|Use of uninit\|Syscall param\|Mismatched\|Source and destination\)' "$log"; then
			echo "valgrind: errors before $(basename "$log") was killed:" >&2
			sed 's/^/    /' "$log" >&2
			bad=$((bad + 1))
		fi
		continue
	fi
	out=${out//NOSUMMARY/}
	if [ -n "$out" ]; then
		echo "valgrind: $(basename "$log"): $out" >&2
		sed 's/^/    /' "$log" >&2
		bad=$((bad + 1))
	fi
done
echo "valgrind: $n process log(s), $killed killed before exit, $bad with findings"
if [ "$require" = --require ] && [ "$n" -eq 0 ]; then
	echo "valgrind: no program ran under valgrind" >&2
	exit 1
fi
[ "$bad" -eq 0 ]
