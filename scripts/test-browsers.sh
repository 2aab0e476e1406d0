#!/usr/bin/env bash
# The browser scenario of the real-kernel bench (ctest label vm-browser): Debian's Chromium and
# Firefox ESR, headless in a QEMU guest, register and sign in through the real /dev/hidraw0.
# Kept out of scripts/test.sh for time (see docs/vm-bench.md). Usage: scripts/test-browsers.sh
# [BUILD-DIR] (default build/, configured and built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bash scripts/setup.sh
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCABLE_WERROR=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ctest --output-on-failure -L vm-browser)
