#!/usr/bin/env bash
# Every program the integration tests start, under valgrind memcheck (memory errors, definite
# leaks, descriptors left open with --track-fds=yes: tests/valgrind/). About 30 minutes on two
# cores; not part of scripts/test.sh yet (test-cable-phone and test-tunnel-scaleout still time
# out under valgrind). Usage: scripts/test-valgrind.sh [ctest -R REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build-valgrind -G Ninja -DCABLE_WERROR=ON -DCABLE_VALGRIND=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-valgrind -j"$(nproc)"
cd build-valgrind
if [ $# -gt 0 ]; then
  ctest --output-on-failure -j1 -L integration --timeout 900 -R "$1"
else
  ctest --output-on-failure -j1 -L integration --timeout 900
fi
