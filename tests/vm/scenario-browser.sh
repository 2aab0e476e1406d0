# Scenario browser: Debian's Chromium and Firefox ESR, headless, open a page on the guest's
# loopback (http://localhost is a secure context) that calls navigator.credentials.create() and
# .get(). The requests go through the real /dev/hidraw0 to a key on /dev/uhid; the page checks
# the assertion with WebCrypto and POSTs everything to webauthn-server.py, which checks both
# ceremonies again with python3-fido2.
# A mode is BROWSER-KEY: BROWSER chromium or firefox; KEY
#   bridged  cable-bridged, forwarding over BLE (real bluetoothd, btvirt) and cable-tunneld to
#            cable-phone (the phone robot answers each QR code); what the browser sent is in
#            cable-bridged's log ($VM_OUT/bridged-MODE.log);
#   softkey  tests/helpers/uhid-softkey (the software authenticator straight on uhid), which logs
#            every request whole: decoded into $VM_OUT/ctap-MODE.txt.
# Modes: BROWSER_MODES (default "firefox-bridged chromium-bridged"); BROWSER_DEADLINE seconds
# per mode (default 300).
# VM_SCENARIO_TIMEOUT=1400
. "$CABLE_SOURCE_DIR/tests/vm/lib-guest.sh"
W=$VM_OUT
need_file /dev/uhid "kernel module uhid"
MODES=${BROWSER_MODES:-firefox-bridged chromium-bridged}
DEADLINE=${BROWSER_DEADLINE:-300}

bg $PY "$CABLE_SOURCE_DIR/tests/vm/webauthn-server.py" "$W" >"$W/server.out" 2>"$W/server.err"
wait_line "$W/server.out" '^listening ' 60 || { bad "webauthn-server did not start: $(cat "$W/server.err")"; finish; }
PORT=$(awk '{print $2; exit}' "$W/server.out")
if [[ " $MODES" == *-bridged* ]]; then
	need_file "$B/cable-bridged" "cable-bridged is not built"
	bt_up
	tunneld_up
	phone_robot_start /tmp/phone-browser.cbor
fi

start_browser() { # MODE URL: sets BROWSER_PID (the leader of its own process group)
	local mode=$1 url=$2 home=/tmp/home-$1
	rm -rf "$home"
	mkdir -p "$home"
	case ${mode%-*} in
	chromium)
		# As root Chromium needs --no-sandbox.
		HOME=$home setsid chromium --headless=new --no-sandbox --no-first-run --disable-gpu \
			--disable-background-networking --disable-component-update --disable-sync \
			--disable-dev-shm-usage --enable-logging=stderr \
			${BROWSER_CHROMIUM_FLAGS---enable-features=NetworkServiceInProcess2} \
			--user-data-dir="$home/profile" "$url" \
			>"$W/browser-$mode.log" 2>&1 </dev/null &
		;;
	firefox)
		mkdir -p "$home/profile"
		cat >"$home/profile/user.js" <<'PREFS'
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("security.webauth.webauthn_enable_usbtoken", true);
PREFS
		HOME=$home MOZ_HEADLESS=1 setsid firefox-esr --headless --no-remote --profile "$home/profile" "$url" \
			>"$W/browser-$mode.log" 2>&1 </dev/null &
		;;
	esac
	BROWSER_PID=$!
	PIDS+=("$BROWSER_PID")
}
stop_browser() {
	kill -TERM -- -"$BROWSER_PID" 2>/dev/null
	wait_for 10 eval "! kill -0 $BROWSER_PID" || kill -KILL -- -"$BROWSER_PID" 2>/dev/null
	wait "$BROWSER_PID" 2>/dev/null
	kill -KILL -- -"$BROWSER_PID" 2>/dev/null
}

for mode in $MODES; do
	case ${mode%-*} in
	chromium) bin=chromium ;;
	firefox) bin=firefox-esr ;;
	*) bad "unknown browser in mode $mode"; continue ;;
	esac
	if ! command -v $bin >/dev/null; then
		bad "$mode: $bin is not installed (scripts/setup.sh installs it)"
		continue
	fi
	stamp "$mode: key start"
	case ${mode#*-} in
	softkey)
		bg "$T/uhid-softkey" uhid $((DEADLINE + 60)) >"$W/key-$mode.log" 2>"$W/key-$mode.err"
		KEY=$LAST_PID
		wait_for 20 test -e /dev/hidraw0 || { bad "$mode: no /dev/hidraw0"; kill $KEY; continue; }
		;;
	bridged)
		BRIDGED_LOG=$W/bridged-$mode.log bridged_up
		KEY=$BRIDGED_PID
		;;
	*) bad "unknown key in mode $mode"; continue ;;
	esac
	stamp "$mode: browser start"
	start_browser $mode "http://localhost:$PORT/?mode=$mode"
	if wait_for "$DEADLINE" test -s "$W/result-$mode.json"; then
		stamp "$mode: result posted"
	else
		bad "$mode: no result within ${DEADLINE}s"
	fi
	grep -q 'page requested' "$W/server-$mode.log" 2>/dev/null && note "$mode: page loaded at $(awk '/page requested/ {print $1; exit}' "$W/server-$mode.log")" ||
		note "$mode: the browser never loaded the page"
	stop_browser
	kill -TERM $KEY
	wait $KEY
	wait_for 10 test ! -e /dev/hidraw0 || bad "$mode: hidraw0 still there after the key stopped"
	if [ -f "$W/key-$mode.log" ]; then
		$PY "$CABLE_SOURCE_DIR/tests/vm/ctap-log.py" "$W/key-$mode.log" >"$W/ctap-$mode.txt" 2>&1
	else
		# cable-bridged's own account: one line per request it answered or forwarded.
		grep -E 'answered locally|starting a hybrid session|answered .* status|request|cancel|QR code shown' \
			"$W/bridged-$mode.log" | sed 's/^cable-bridged: //' >"$W/ctap-$mode.txt"
	fi
	echo "---- what $mode sent to the key:"
	sed 's/^/    /' "$W/ctap-$mode.txt"
	if [ -s "$W/result-$mode.json" ]; then
		$PY - "$W/result-$mode.json" "$mode" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1])); m = sys.argv[2]; p = r["page"]; s = r["server"]
def say(ok, what): print(("ok: " if ok else "FAIL: ") + m + ": " + what)
say("error" not in p, "page ceremonies ran" + ("" if "error" not in p else " (page error: %s)" % p.get("error")))
say(p.get("webcryptoVerified") is True, "the page verified the assertion signature with WebCrypto")
say(p.get("sameCredential") is True, "get() returned the credential create() made")
say(s.get("assertion") == "verified", "python3-fido2 (server) verified registration and assertion" + ("" if "error" not in s else ": " + s["error"]))
print("note: %s: create %s ms, get %s ms; transports %s; AAGUID in the page's authData %s; server saw fmt %s, AAGUID %s, flags 0x%02x" % (
    m, p.get("times", {}).get("create_ms"), p.get("times", {}).get("get_ms"), p.get("transports"),
    p.get("createAaguid"), s.get("registration", {}).get("fmt"), s.get("registration", {}).get("aaguid"),
    s.get("registration", {}).get("flags", 0)))
print("note: %s: %s" % (m, p.get("userAgent")))
PYEOF
	fi | tee "$W/checks-$mode.txt"
	FAILS=$((FAILS + $(grep -c '^FAIL' "$W/checks-$mode.txt")))
	if [ -f "$W/key-$mode.log" ]; then
		grep -q 'request cbor 01' "$W/key-$mode.log" && ok "$mode: makeCredential reached the key through hidraw" || bad "$mode: no makeCredential reached the key"
		grep -q 'request cbor 02' "$W/key-$mode.log" && ok "$mode: getAssertion reached the key through hidraw" || bad "$mode: no getAssertion reached the key"
	else
		grep -q 'makeCredential for localhost: starting a hybrid session' "$W/bridged-$mode.log" &&
			ok "$mode: makeCredential forwarded to the phone" || bad "$mode: no makeCredential forwarded"
		grep -q 'getAssertion for localhost: starting a hybrid session' "$W/bridged-$mode.log" &&
			ok "$mode: getAssertion forwarded to the phone" || bad "$mode: no getAssertion forwarded"
	fi
done
finish
