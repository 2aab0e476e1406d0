#!/usr/bin/env bash
# No secret in any output or log (docs/SECURITY.md): a whole sign-in (cablectl create, cable-phone,
# cable-tunneld, fake BlueZ) with every log turned up (CABLE_DEBUG, CABLE_LWS_LOG all levels,
# cable-tunneld --log-level debug, --json events). Then every byte any of them wrote is searched
# for the QR secret, the EID key and the PSK (hex either case, base64, base64url, raw), and for any
# hex or base64 run long enough to hold a 32-byte traffic key (none may appear apart from the
# public values the test knows: the advert, public keys, the response's public fields).
source "$(dirname "$0")/lib-bus.sh"
set -u

CABLECTL="$CABLE_BUILD_DIR/cablectl"
PHONE="$CABLE_BUILD_DIR/cable-phone"
PY=/usr/bin/python3
$PY -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing" >&2; exit 77; }

bus_setup
bus_start
fake_start --adapters hci0,hci1
W=$BUS_DIR
LOGS=$W/logs
SECRETS=$W/private
mkdir -p "$LOGS" "$SECRETS"
export CABLE_DEBUG=1 CABLE_LWS_LOG=2047 TMPDIR="$W/tmp"
mkdir -p "$TMPDIR"

bg "$CABLE_BUILD_DIR/cable-tunneld" --listen 127.0.0.1:0 --log-level debug >"$LOGS/tunneld.out" 2>"$LOGS/tunneld.err"
TD_PID=$LAST_PID
wait_line "$LOGS/tunneld.out" '^listening ' 10
SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$LOGS/tunneld.out")"

timeout 60 "$CABLECTL" create --origin https://example.com --json --adapter hci0 \
	--tunnel-server "$SERVER" --timeout 40 >"$LOGS/cablectl.out" 2>"$LOGS/cablectl.err" &
CTL=$!
wait_line "$LOGS/cablectl.err" '"event":"(qr|failed)"' 20
URL=$($PY -c 'import json,sys
for l in open(sys.argv[1]):
    if l.startswith("{") and json.loads(l).get("event") == "qr":
        print(json.loads(l)["url"]); break' "$LOGS/cablectl.err")
[ -n "$URL" ] || fail "no QR event"
timeout 60 "$PHONE" --qr "$URL" --ephemeral --json --adapter hci1 --tunnel-server "$SERVER" \
	>"$LOGS/phone.out" 2>"$LOGS/phone.err"
PRC=$?
wait "$CTL"
CRC=$?
[ "$CRC" = 0 ] && [ "$PRC" = 0 ] || fail "sign-in failed: cablectl $CRC, phone $PRC"
echo "ok: sign-in at full verbosity ($(cat "$LOGS"/* | wc -c) bytes of output and logs)"
kill -TERM "$TD_PID" 2>/dev/null || true # cable-tunneld: its drain and exit lines too
wait "$TD_PID" 2>/dev/null || true

# The secrets, worked out from the QR code and the phone's advert (kept outside $LOGS).
"$CABLECTL" inspect qr --show-secrets --json "$URL" >"$SECRETS/qr.json"
ADV=$($PY -c 'import json,sys
for l in open(sys.argv[1]):
    if l.startswith("{") and json.loads(l).get("event") == "advertising":
        print(json.loads(l)["advert"]); break' "$LOGS/phone.out")
[ -n "$ADV" ] || fail "no advertising event from cable-phone"

$PY - "$SECRETS/qr.json" "$ADV" "$LOGS" "$URL" <<'EOF'
import base64, hashlib, hmac, json, os, re, struct, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

qr = json.load(open(sys.argv[1]))
advert = bytes.fromhex(sys.argv[2])
logs, url = sys.argv[3], sys.argv[4]
secret, eid_key = bytes.fromhex(qr["secret"]), bytes.fromhex(qr["eid_key"])
dec = Cipher(algorithms.AES(eid_key[:32]), modes.ECB()).decryptor()
plain = dec.update(advert[:16]) + dec.finalize()
assert hmac.compare_digest(hmac.new(eid_key[32:], advert[:16], hashlib.sha256).digest()[:4], advert[16:20]), \
    "the advert does not belong to this QR code"
prk = hmac.new(plain, secret, hashlib.sha256).digest()            # HKDF-Extract(salt, IKM)
psk = hmac.new(prk, struct.pack("<I", 3) + b"\x01", hashlib.sha256).digest()  # Expand, L = 32

def forms(b):
    yield b
    yield b.hex().encode()
    yield b.hex().upper().encode()
    yield base64.b64encode(b).rstrip(b"=")
    yield base64.urlsafe_b64encode(b).rstrip(b"=")

secrets = {"QR secret": secret, "EID key": eid_key, "EID key (AES half)": eid_key[:32],
           "EID key (HMAC half)": eid_key[32:], "PSK": psk}
public = {advert.hex(), qr["public_key"], qr["public_key_uncompressed"], qr["tunnel_id"]}
bad = 0
files = sorted(os.listdir(logs))
for name in files:
    data = open(os.path.join(logs, name), "rb").read()
    for what, val in secrets.items():
        for f in forms(val):
            if f in data:
                print("FAIL: %s appears in %s" % (what, name)); bad += 1
    # Anything that could hold a 32-byte key: 64+ hex digits or 43+ base64 characters in a run.
    # cablectl's stdout is the RegistrationResponseJSON (public by design): only the exact checks.
    if name == "cablectl.out":
        continue
    text = data.decode("latin-1").replace(url, "")
    for m in re.finditer(r"[0-9a-fA-F]{64,}", text):
        if m.group(0).lower() not in public:
            print("FAIL: %s holds a long hex run: %s..." % (name, m.group(0)[:16])); bad += 1
    for m in re.finditer(r"[A-Za-z0-9+/_-]{43,}", text):
        s = m.group(0)
        if re.fullmatch(r"[0-9a-fA-F]+", s) or s.startswith("/"):
            continue  # hex (checked above) or a file path
        print("FAIL: %s holds a long base64 run: %s..." % (name, s[:16])); bad += 1
print("searched %d files (%s) for %d secrets in 5 encodings and for key-sized runs: %d finding(s)"
      % (len(files), ", ".join(files), len(secrets), bad))
sys.exit(1 if bad else 0)
EOF
rc=$?
[ "$rc" = 0 ] && echo "ok: no secret in any output or log" || fail "secrets found in output or logs"
echo "all passed"
