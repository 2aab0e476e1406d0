#!/usr/bin/env bash
# The software authenticator's outputs checked by python-fido2 as client and relying party.
set -euo pipefail
helper="$CABLE_BUILD_DIR/tests/softauth-ctap"
[ -x "$helper" ] || { echo "missing $helper" >&2; exit 1; }
/usr/bin/python3 -c 'import fido2' 2>/dev/null || { echo "SKIP: python3-fido2 is not installed" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timeout 120 /usr/bin/python3 "$CABLE_SOURCE_DIR/tests/integration/softauth_fido2.py" "$helper" "$work"
