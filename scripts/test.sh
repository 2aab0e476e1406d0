#!/usr/bin/env bash
# The whole test suite: installs what is needed, then two passes of the same ctest suite:
#   1. gcc, -Werror, optimised build;
#   2. clang with AddressSanitizer + UndefinedBehaviorSanitizer, plus the fuzz harness smoke runs.
# Any sanitizer report fails the run. Usage: scripts/test.sh [--quick] (quick = pass 1 only).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/setup.sh

jobs=$(nproc)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

echo "== pass 1: gcc, -Werror =="
cmake -S . -B build -G Ninja -DCABLE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600 -LE vm-browser)

if [ "$quick" -eq 1 ]; then
  exit 0
fi

echo "== pass 2: clang, ASan+UBSan, fuzz smoke =="
CC=clang cmake -S . -B build-asan -G Ninja -DCABLE_WERROR=ON -DCABLE_SANITIZE=ON -DCABLE_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 600 -LE vm-browser)
echo "== all passes done ($root) =="
