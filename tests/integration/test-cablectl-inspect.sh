#!/usr/bin/env bash
# Integration test: the real cablectl binary. qr new -> inspect qr round trips (terminal text,
# JSON, PNG through zbarimg), a known Chrome URL from the vectors, advert inspection of adverts
# built by tests/helpers/cable-make-advert, and the exit codes and one-line errors.
set -euo pipefail

build=${CABLE_BUILD_DIR:?run through ctest}
vectors=${CABLE_VECTORS:?run through ctest}
cablectl=$build/cablectl
make_advert=$build/tests/cable-make-advert
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
run() { timeout 20 "$@"; }
# json FILE EXPR: evaluates a Python expression over the parsed JSON document j.
json() { "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# expect_exit CODE PATTERN CMD...: the exit code, and stderr is exactly one line matching PATTERN.
expect_exit() {
  local want=$1 pat=$2 rc=0
  shift 2
  run "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "exit $rc, wanted $want: $*; stderr: $(cat "$work/err")"
  [ "$(wc -l <"$work/err")" -eq 1 ] || fail "stderr is not one line: $*: $(cat "$work/err")"
  grep -q -- "$pat" "$work/err" || fail "stderr does not mention '$pat': $(cat "$work/err")"
}

# --- help on every command -------------------------------------------------------------
for cmd in "" "inspect" "inspect qr" "inspect advert" "inspect domain" "qr" "qr new"; do
  # shellcheck disable=SC2086
  run "$cablectl" $cmd --help >"$work/help" || fail "cablectl $cmd --help failed"
  grep -q '^Usage: cablectl' "$work/help" || fail "cablectl $cmd --help prints no usage"
done

# --- qr new -> inspect qr ------------------------------------------------------------------
run "$cablectl" qr new --type mc --json >"$work/new.json"
url=$(json "$work/new.json" 'j["url"]')
[[ $url =~ ^FIDO:/[0-9]+$ ]] || fail "qr new made '$url'"
[ "$(json "$work/new.json" 'j["qr_version"]')" -ge 5 ] || fail "QR version below 5"
run "$cablectl" inspect qr --json "$url" >"$work/inspect.json"
[ "$(json "$work/inspect.json" 'j["request_type"]')" = mc ] || fail "request type lost"
[ "$(json "$work/inspect.json" 'j["supports_linking"]')" = True ] || fail "linking flag lost"
[ "$(json "$work/inspect.json" 'j["num_known_domains"]')" = 2 ] || fail "known domains"
[ "$(json "$work/inspect.json" 'j["tunnel_id"]')" = "$(json "$work/new.json" 'j["tunnel_id"]')" ] ||
  fail "tunnel ID differs between qr new and inspect qr"
now=$(date +%s)
t=$(json "$work/inspect.json" 'j["time_unix"]')
[ $((now - t)) -ge 0 ] && [ $((now - t)) -lt 60 ] || fail "QR time $t is not now ($now)"
iso=$(json "$work/inspect.json" 'j["time"]')
[ "$iso" = "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)" ] || fail "ISO time $iso does not match $t"
json "$work/inspect.json" '"secret" not in j' | grep -q True || fail "secret shown without --show-secrets"
run "$cablectl" inspect qr --json --show-secrets "$url" >"$work/secret.json"
[ ${#url} -gt 100 ] && [ "$(json "$work/secret.json" 'len(j["secret"])')" = 32 ] || fail "--show-secrets"

# Terminal form: half-block art with the quiet zone, then a blank line, then the URL.
run "$cablectl" qr new --no-linking >"$work/term.txt"
term_url=$(tail -n 1 "$work/term.txt")
[ "$(tail -n 2 "$work/term.txt" | head -n 1)" = "" ] || fail "no blank line before the URL"
grep -q '█' "$work/term.txt" || fail "no block characters in the terminal QR"
lines=$(($(wc -l <"$work/term.txt") - 2))
[ "$lines" -eq 23 ] || fail "terminal QR has $lines lines, 23 expected for version 5 with quiet zone"
run "$cablectl" inspect qr "$term_url" >"$work/term-inspect.txt"
grep -q '^linking: *no$' "$work/term-inspect.txt" || fail "--no-linking not in the QR"
grep -q '^request type: *ga$' "$work/term-inspect.txt" || fail "default type is not ga"
grep -q 'hidden' "$work/term-inspect.txt" || fail "human output shows the secret by default"

# The PNG really scans, and to the same URL.
if command -v zbarimg >/dev/null; then
  run "$cablectl" qr new --png "$work/qr.png" --json >"$work/png.json"
  [ "$(stat -c %a "$work/qr.png")" = 600 ] || fail "PNG is readable by others"
  scanned=$(run zbarimg -q --raw "$work/qr.png" 2>/dev/null)
  [ "$scanned" = "$(json "$work/png.json" 'j["url"]')" ] || fail "zbarimg read '$scanned'"
else
  echo "note: zbarimg not installed (zbar-tools); PNG scan check skipped" >&2
fi

# --- a known URL from the vectors ------------------------------------------------------
chrome=$("$py" -c 'import json,sys; print([v for v in json.load(open(sys.argv[1])) if v["name"]=="qr_url_generated_by_chrome_roundtrip"][0]["inputs"]["url"])' "$vectors")
run "$cablectl" inspect qr --json --show-secrets "$chrome" >"$work/chrome.json"
[ "$(json "$work/chrome.json" 'j["time"]')" = "$(date -u -d @1666589051 +%Y-%m-%dT%H:%M:%SZ)" ] ||
  fail "Chrome URL time"
[ "$(json "$work/chrome.json" '(j["request_type"], j["supports_linking"], j["num_known_domains"])')" = "('mc', True, 2)" ] ||
  fail "Chrome URL fields"
# The tunnel ID recomputed here from the secret: HKDF-SHA256(secret, zero salt, info 02000000, 16).
want_tid=$("$py" - "$(json "$work/chrome.json" 'j["secret"]')" <<'PY'
import hashlib, hmac, sys
prk = hmac.new(bytes(32), bytes.fromhex(sys.argv[1]), hashlib.sha256).digest()
print(hmac.new(prk, bytes.fromhex("02000000") + b"\x01", hashlib.sha256).digest()[:16].hex())
PY
)
[ "$(json "$work/chrome.json" 'j["tunnel_id"]')" = "$want_tid" ] || fail "tunnel ID of the Chrome URL"
# Lower-case prefix is the same code.
run "$cablectl" inspect qr --json "fido:/${chrome#FIDO:/}" >"$work/lower.json"
[ "$(json "$work/lower.json" 'j["public_key"]')" = "$(json "$work/chrome.json" 'j["public_key"]')" ] ||
  fail "lower-case prefix"

# --- adverts ---------------------------------------------------------------------------
tid_upper=$(json "$work/new.json" 'j["tunnel_id"].upper()')
adv=$(run "$make_advert" --qr "$url" --routing-id 090a0b --domain-id 0 --nonce 00112233445566778899)
run "$cablectl" inspect advert --json --qr "$url" "$adv" >"$work/adv.json"
[ "$(json "$work/adv.json" '(j["valid"], j["nonce"], j["routing_id"], j["domain_id"], j["tunnel_host"])')" = \
  "(True, '00112233445566778899', '090a0b', 0, 'cable.ua5v.com')" ] || fail "advert fields: $(cat "$work/adv.json")"
[ "$(json "$work/adv.json" 'j["connect_url"]')" = "wss://cable.ua5v.com/cable/connect/090A0B/$tid_upper" ] ||
  fail "connect URL"
adv=$(run "$make_advert" --qr "$url" --routing-id abcdef --domain-id 266)
run "$cablectl" inspect advert --qr "$url" "$adv" >"$work/adv.txt"
grep -q '^tunnel host: *cable.wufkweyy3uaxb.com$' "$work/adv.txt" || fail "hashed domain host"
grep -q "^connect URL: *wss://cable.wufkweyy3uaxb.com/cable/connect/ABCDEF/$tid_upper$" "$work/adv.txt" ||
  fail "hashed connect URL"
# CTAP 2.3 suffix: only with --allow-suffix.
adv=$(run "$make_advert" --qr "$url" --routing-id 010203 --domain-id 1 --suffix a101191234)
expect_exit 1 "wrong length" "$cablectl" inspect advert --qr "$url" "$adv"
run "$cablectl" inspect advert --json --allow-suffix --qr "$url" "$adv" >"$work/sfx.json"
[ "$(json "$work/sfx.json" '(j["ble_psm"], j["tunnel_host"])')" = "(4660, 'cable.auth.com')" ] || fail "suffix PSM"

# Each failure is reported with its own reason and exit code 1.
good=$(run "$make_advert" --qr "$url" --routing-id 090a0b --domain-id 0)
last=${good: -1}; flipped=$([ "$last" = 0 ] && echo 1 || echo 0)
expect_exit 1 "CABLE_ERR_ADVERT_TAG" "$cablectl" inspect advert --qr "$url" "${good%?}$flipped"
expect_exit 1 "CABLE_ERR_ADVERT_TAG" "$cablectl" inspect advert --qr "$term_url" "$good"
expect_exit 1 "CABLE_ERR_ADVERT_RESERVED" "$cablectl" inspect advert --qr "$url" \
  "$(run "$make_advert" --qr "$url" --routing-id 090a0b --domain-id 0 --reserved 1)"
expect_exit 1 "CABLE_ERR_ADVERT_DOMAIN" "$cablectl" inspect advert --qr "$url" \
  "$(run "$make_advert" --qr "$url" --routing-id 090a0b --domain-id 255)"
expect_exit 1 "CABLE_ERR_ADVERT_LENGTH" "$cablectl" inspect advert --qr "$url" "${good:0:38}"
expect_exit 1 "not an even number of hex" "$cablectl" inspect advert --qr "$url" "${good:0:39}"
run "$cablectl" inspect advert --json --qr "$url" "${good%?}$flipped" >"$work/bad.json" 2>/dev/null && fail "bad advert exit 0"
[ "$(json "$work/bad.json" '(j["valid"], j["error"])')" = "(False, 'CABLE_ERR_ADVERT_TAG')" ] || fail "JSON error"

# --- domains ---------------------------------------------------------------------------
[ "$(run "$cablectl" inspect domain 0)" = cable.ua5v.com ] || fail "domain 0"
[ "$(run "$cablectl" inspect domain 0xf980)" = cable.my4kstlhndi4c.net ] || fail "domain 0xf980"
run "$cablectl" inspect domain --json 266 >"$work/dom.json"
[ "$(json "$work/dom.json" '(j["kind"], j["host"])')" = "('hashed', 'cable.wufkweyy3uaxb.com')" ] || fail "domain JSON"

# --- exit codes and one-line errors ------------------------------------------------------
expect_exit 1 "not a FIDO:/ URL" "$cablectl" inspect qr "http://example.com"
expect_exit 1 "not a FIDO:/ URL" "$cablectl" inspect qr "FIDO:/"
expect_exit 1 "too large for its byte count" "$cablectl" inspect qr "FIDO:/999"
expect_exit 1 "other than 0-9" "$cablectl" inspect qr "FIDO://"
expect_exit 1 "number of digits" "$cablectl" inspect qr "FIDO:/0"
expect_exit 1 "invalid payload" "$cablectl" inspect qr "FIDO:/000"
expect_exit 1 "assigned but unknown" "$cablectl" inspect domain 200
expect_exit 2 "not a number" "$cablectl" inspect domain 70000
expect_exit 2 "not a number" "$cablectl" inspect domain -- -1
expect_exit 2 "expected one FIDO:/ URL" "$cablectl" inspect qr
expect_exit 2 "unknown option '--bogus'" "$cablectl" inspect qr --bogus "$url"
expect_exit 2 "unknown option '-x'" "$cablectl" inspect qr -x "$url"
expect_exit 2 "--qr is required" "$cablectl" inspect advert "$good"
expect_exit 2 "needs a value" "$cablectl" inspect advert "$good" --qr
expect_exit 2 "unknown thing to inspect" "$cablectl" inspect phone
expect_exit 2 "unknown command" "$cablectl" frobnicate
expect_exit 2 "ga, mc or dcp" "$cablectl" qr new --type xx
expect_exit 2 "unexpected argument" "$cablectl" qr new extra
rc=0; run "$cablectl" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "cablectl without a command exits $rc"

echo "test-cablectl-inspect: all checks passed"
