#!/usr/bin/env bash
# Pass 3 of scripts/test.sh on its own: the unit tests, and every program the integration tests
# start, under valgrind memcheck (memory errors, definite leaks, descriptors left open with
# --track-fds=yes: tests/valgrind/). About 6 minutes on two quiet cores.
# Usage: scripts/test-valgrind.sh [--no-setup] [ctest -R REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --no-setup ]; then
  shift
else
  bash scripts/setup.sh
fi
jobs=$(nproc)
cmake -S . -B build-valgrind -G Ninja -DCABLE_WERROR=ON -DCABLE_VALGRIND=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-valgrind -j"$jobs"
cd build-valgrind
# Every test here carries the valgrind label (the QEMU guest test is not built in: valgrind cannot
# follow into the guest). A failed test is rerun once, as in the other passes.
args=(--output-on-failure -j"$jobs" -L valgrind --timeout 900 --repeat until-pass:2)
[ $# -gt 0 ] && args+=(-R "$1")
ctest "${args[@]}"
