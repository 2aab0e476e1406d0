#!/usr/bin/env bash
# Integration: an independent relying party (python3-fido2's Fido2Server) verifies the
# RegistrationResponseJSON / AuthenticationResponseJSON that cable's WebAuthn translation produces.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
helper=${CABLE_BUILD_DIR:?CABLE_BUILD_DIR not set}/tests/webauthn-roundtrip
[ -x "$helper" ] || { echo "missing helper $helper" >&2; exit 1; }
if ! /usr/bin/python3 -c 'import fido2.server' 2>/dev/null; then
  echo "SKIP: python3-fido2 is not installed (scripts/setup.sh installs it)" >&2
  exit 77
fi
exec timeout 120 /usr/bin/python3 "$here/test-webauthn-fido2.py" "$helper"
