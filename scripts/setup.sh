#!/usr/bin/env bash
# Installs every Debian 12 package that cable-bridge's build, tests and demo need. Idempotent.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake ninja-build pkg-config git
  libssl-dev libcbor-dev libqrencode-dev libwebsockets-dev libsystemd-dev libcap-dev
  libjansson-dev libpsl-dev libev-dev
  # tests
  libcmocka-dev clang libclang-rt-14-dev valgrind cppcheck
  dbus dbus-daemon python3-dbus
  libfido2-dev fido2-tools python3-fido2
  openssl zbar-tools nginx-light
  # the real kernel in a QEMU guest (tests/vm): uhid/hidraw, real bluetoothd with btvirt radios,
  # real browsers (label vm-browser)
  qemu-system-x86 linux-image-amd64 busybox-static cpio
  bluez bluez-test-tools
  chromium firefox-esr
  # the desktop QR window (cable-bridge-ui, optional) and its test under Xvfb
  libgtk-4-dev xvfb xauth imagemagick x11-utils xdotool weston
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
