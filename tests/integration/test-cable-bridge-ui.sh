#!/usr/bin/env bash
# cable-bridge-ui for real, under Xvfb: cable-bridged (fake BlueZ, real cable-tunneld) starts the
# QR window through D-Bus activation on a private session bus when a request begins; a screenshot
# of the window is taken (ImageMagick import) and zbarimg must decode the exact FIDO:/ URL from it;
# cable-phone scans that URL and answers; the window closes itself when the request ends. Then the
# same with the system preferring dark (a stand-in desktop portal's color-scheme; the QR stays dark
# on light), ended by Cancel over D-Bus: the client
# gets CTAP2_ERR_OPERATION_DENIED and the window closes; the Cancel button clicked (xdotool); and
# on Wayland (weston headless). The screenshots are kept as
# $CABLE_BUILD_DIR/artifacts/ui-screenshot.png, ui-screenshot-dark.png, ui-screenshot-wayland.png.
source "$(dirname "$0")/lib-bus.sh"
source "$(dirname "$0")/lib-session.sh"
set -u

UI="$CABLE_BUILD_DIR/cable-bridge-ui"
BRIDGED="$CABLE_BUILD_DIR/cable-bridged"
PHONE="$CABLE_BUILD_DIR/cable-phone"
PY=/usr/bin/python3
FAILS=0

[ -x "$UI" ] || { echo "SKIP: cable-bridge-ui not built (GTK 4 development files missing)" >&2; exit 77; }
for t in Xvfb import zbarimg xwininfo; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed (scripts/setup.sh)" >&2; exit 77; }
done

ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

bus_setup
bus_start
fake_start --adapters hci0,hci1
W=$BUS_DIR
bg Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$W/display" 2>"$W/xvfb.log"
wait_line "$W/display" '^[0-9]+$' 15
export DISPLAY=":$(cat "$W/display")"
# Plain GTK on X11; the cairo renderer needs no GL in the virtual server.
export GDK_BACKEND=x11 GSK_RENDERER=cairo NO_AT_BRIDGE=1
unset WAYLAND_DISPLAY
mkdir -p "$W/services"
cat >"$W/services/org.cablebridge.BridgeUI.service" <<EOF2
[D-BUS Service]
Name=org.cablebridge.BridgeUI
Exec=/bin/sh -c 'exec $UI --idle-timeout 60 2>>$W/ui.log'
EOF2
session_bus_start "$W/services"
bg "$CABLE_BUILD_DIR/cable-tunneld" --listen 127.0.0.1:0 >"$W/tunneld.out" 2>"$W/tunneld.err"
wait_line "$W/tunneld.out" '^listening ' 10
SERVER="ws://127.0.0.1:$(awk '{print $3; exit}' "$W/tunneld.out")"
export WORK="$W" BRIDGE_SOCK="$W/key.sock"
mkdir -p "$W/run" && chmod 700 "$W/run"
QR_URL_FILE="$W/run/cable-bridge/qr.url"
UILOG="$W/ui.log" # the activated UI's stderr; the one started by hand writes ui-dark.log
XDG_RUNTIME_DIR="$W/run" bg "$BRIDGED" --hid "socket:$BRIDGE_SOCK" --adapter hci0 \
	--tunnel-server "$SERVER" 2>"$W/bridged.log"
BRIDGE_PID=$LAST_PID
wait_line "$W/bridged.log" 'running: HID socket:' 10

# request NAME: a raw CTAPHID getAssertion for example.com in the background; its final CTAP
# status goes to $W/NAME.status.
request() {
	$PY - "$W/$1.status" <<'EOF2' &
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(60); s.connect(os.environ["BRIDGE_SOCK"])
n = os.urandom(8); s.send(b"\0" + (b"\xff" * 4 + b"\x86\x00\x08" + n).ljust(64, b"\0"))
cid = s.recv(64)[15:19]
body = b"\xa3\x01\x6bexample.com\x02\x58\x20" + os.urandom(32) + b"\x05\xa1\x62uv\xf5"
s.send(b"\0" + (cid + b"\x90" + struct.pack(">H", len(body) + 1) + b"\x02" + body[:56]).ljust(64, b"\0"))
if len(body) > 56:
    s.send(b"\0" + (cid + b"\x00" + body[56:]).ljust(64, b"\0"))
while True:
    p = s.recv(64)
    if p[:4] == cid and p[4] == 0x90:
        open(sys.argv[1], "w").write("%02x\n" % p[7])
        break
EOF2
	REQ_PID=$!
}
window_listed() { xwininfo -root -tree 2>/dev/null | grep -q '"cable-bridge: example.com"'; }
# shot NAME ID: screenshot of the window, decoded; the URL must be the one the daemon shows.
shot() {
	local name=$1 xid=$2 url decoded
	url=$(cat "$QR_URL_FILE")
	sleep 0.5 # the first frame
	if import -window "$xid" "$W/$name.png" 2>"$W/import.err"; then
		decoded=$(zbarimg --raw -q "$W/$name.png" 2>/dev/null)
		[ "$decoded" = "$url" ] && ok "$name: zbarimg decodes the exact FIDO:/ URL from the screenshot (${#url} characters)" ||
			bad "$name: decoded '$decoded' but the URL is '$url'"
		echo "    $name: $(identify -format '%wx%h' "$W/$name.png") px"
		crisp "$name"
	else
		bad "$name: import failed: $(cat "$W/import.err")"
	fi
}
# crisp NAME: the code's square, where the UI says it drew it, holds exactly two colours (pure black
# and white: every module edge on a whole pixel, nothing blended) and is (modules + 8) * px wide.
crisp() {
	local name=$1 geo x y side mods px colours qz
	geo=$(sed -n "s/.*request $CUR: QR drawn at \([0-9]*\),\([0-9]*\) size \([0-9]*\);.*/\1 \2 \3/p" "$UILOG" | tail -1)
	read -r x y side <<<"$geo"
	read -r mods px <<<"$(sed -n "s/.*request $CUR: window shown.*QR \([0-9]*\)+8 modules of \([0-9]*\) px.*/\1 \2/p" "$UILOG" | tail -1)"
	[ -n "$side" ] && [ -n "$px" ] && [ "$side" = $(((mods + 8) * px)) ] &&
		ok "$name: QR square ${side}x$side px = ($mods + 8 quiet) modules x $px px" || bad "$name: geometry '$geo' '$mods' '$px'"
	convert "$W/$name.png" -crop "${side}x$side+$x+$y" +repage "$W/$name-qr.png"
	colours=$(convert "$W/$name-qr.png" -format '%c' histogram:info: | awk '{print $3}' | sort | tr '\n' ' ')
	[ "$colours" = "#000000 #FFFFFF " ] && ok "$name: only pure black and white inside the code (crisp)" ||
		bad "$name: colours inside the code: $colours"
	qz=$(convert "$W/$name-qr.png" -crop "$((4 * px))x$side+0+0" +repage -format '%[fx:minima.intensity]' info:)
	[ "$qz" = 1 ] && ok "$name: 4-module quiet zone is white" || bad "$name: quiet zone min intensity $qz"
}
xid_of() { sed -n "s/.*request $1: window shown (X11 window \\(0x[0-9a-f]*\\).*/\\1/p" "$UILOG" | tail -1; }

# ---- 1: activated on demand, light theme, the phone answers ---------------------------------------
CUR=1
request light
wait_line "$W/bridged.log" 'QR code shown' 10
wait_line "$UILOG" 'request 1: window shown' 20
grep -q 'QR window started (org.cablebridge.BridgeUI)' "$W/bridged.log" && ok "the daemon started the QR window by D-Bus activation" ||
	bad "no activation in the daemon log"
window_listed && ok "window 'cable-bridge: example.com' on the X server" || bad "no window in xwininfo -tree"
XID=$(xid_of 1)
shot light "$XID"
mkdir -p "$CABLE_BUILD_DIR/artifacts"
cp "$W/light.png" "$CABLE_BUILD_DIR/artifacts/ui-screenshot.png" 2>/dev/null
grep -o 'request 1: getAssertion.*' "$UILOG" | sed 's/^/    /'
timeout 60 $PHONE --adapter hci1 --tunnel-server "$SERVER" --store "$W/phone.cbor" --timeout 20 \
	--qr "$(cat "$QR_URL_FILE")" >/dev/null 2>"$W/phone.err"
wait "$REQ_PID"
echo "    the phone answered: status $(cat "$W/light.status")"
wait_line "$UILOG" 'request 1: window closed' 10 && ok "window closed itself when the request ended"
grep -q 'request 1: ended (done' "$UILOG" && ok "the UI saw the request end as done" || bad "no done in the UI log"
for s in phone-found connected waiting-for-user; do
	grep -q "request 1: $s" "$UILOG" && ok "UI state: $s" || bad "the UI never showed $s"
done
sleep 0.3
window_listed && bad "window still on the X server" || ok "window gone from the X server (xwininfo -tree)"

# ---- 2: started by hand, the portal says dark; Cancel over D-Bus ------------------------------------
UI_PID=$(sed -n 's/.*listening for cable-bridged requests (pid \([0-9]*\)).*/\1/p' "$UILOG" | head -1)
[ -n "$UI_PID" ] && kill -TERM "$UI_PID"
for ((i = 0; i < 200; i++)); do kill -0 "$UI_PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$UI_PID" 2>/dev/null && bad "the activated UI did not stop on SIGTERM" || ok "the activated UI stopped on SIGTERM"
# The system prefers dark, as the desktop portal says (a stand-in portal on the session bus).
bg $PY "$CABLE_SOURCE_DIR/tests/integration/fake_portal.py" >"$W/portal.out" 2>&1
wait_line "$W/portal.out" '^ready' 10
UILOG="$W/ui-dark.log"
bg "$UI" --idle-timeout 0 2>"$UILOG"
DARK_PID=$LAST_PID
wait_line "$UILOG" 'listening for cable-bridged requests' 20
# Owning org.cablebridge.BridgeUI before the request, so the bus does not activate another one.
for ((i = 0; i < 200; i++)); do busctl --user status org.cablebridge.BridgeUI >/dev/null 2>&1 && break; sleep 0.05; done
CUR=2
request dark
wait_line "$UILOG" 'request 2: window shown' 20
XID=$(xid_of 2)
grep -q 'colour scheme from the portal: dark' "$UILOG" && ok "the UI read the portal's colour scheme (dark)" ||
	bad "the UI did not read the portal"
shot dark "$XID"
cp "$W/dark.png" "$CABLE_BUILD_DIR/artifacts/ui-screenshot-dark.png" 2>/dev/null
# The dark theme really is on: the window's corner pixel is dark, the QR's quiet zone stays white.
corner=$(convert "$W/dark.png" -format '%[fx:int(255*p{2,2}.intensity)]' info: 2>/dev/null)
[ -n "$corner" ] && [ "$corner" -lt 100 ] && ok "dark theme: window background is dark (intensity $corner)" ||
	bad "dark theme not applied (corner intensity '$corner')"
gdbus call --session -d org.cablebridge.Bridge1 -o /org/cablebridge/Bridge \
	-m org.cablebridge.Bridge1.Cancel 2 >/dev/null && ok "Cancel(2) over D-Bus" || bad "Cancel call failed"
wait "$REQ_PID"
[ "$(cat "$W/dark.status")" = 27 ] && ok "client got CTAP2_ERR_OPERATION_DENIED (0x27)" ||
	bad "client got '$(cat "$W/dark.status")'"
wait_line "$UILOG" 'request 2: window closed' 10 && ok "window closed after the cancel"
sleep 0.3
window_listed && bad "window still listed" || ok "window gone from the X server"

# ---- 3: the person presses Cancel in the window ----------------------------------------------------
if command -v xdotool >/dev/null; then
	CUR=3
	request click
	wait_line "$UILOG" 'request 3: QR drawn at' 20
	XID=$(xid_of 3)
	read -r bx by bw bh <<<"$(sed -n 's/.*request 3: QR drawn.*Cancel button at \([0-9]*\),\([0-9]*\) size \([0-9]*\)x\([0-9]*\).*/\1 \2 \3 \4/p' "$UILOG")"
	xdotool mousemove --window "$((XID))" $((bx + bw / 2)) $((by + bh / 2)) click 1
	wait "$REQ_PID"
	[ "$(cat "$W/click.status")" = 27 ] && ok "Cancel button: client got CTAP2_ERR_OPERATION_DENIED (0x27)" ||
		bad "Cancel button: client got '$(cat "$W/click.status")'"
	grep -q 'request 3 cancelled over D-Bus' "$W/bridged.log" && ok "the button called Cancel on the bridge" || bad "no D-Bus cancel in the daemon log"
	wait_line "$UILOG" 'request 3: window closed' 10 && ok "window closed after the button"
else
	echo "skip: xdotool not installed: the Cancel button is not clicked (scripts/setup.sh installs it)"
fi

# ---- 4: Wayland (weston's headless backend), screenshot through weston-screenshooter -------------
if command -v weston >/dev/null && command -v weston-screenshooter >/dev/null; then
	kill -TERM "$DARK_PID"
	for ((i = 0; i < 200; i++)); do kill -0 "$DARK_PID" 2>/dev/null || break; sleep 0.05; done
	mkdir -p "$W/wl" && chmod 700 "$W/wl"
	XDG_RUNTIME_DIR="$W/wl" bg weston --backend=headless-backend.so --socket=cable-wl --idle-time=0 \
		--debug --use-pixman --width=1024 --height=768 >"$W/weston.log" 2>&1
	for ((i = 0; i < 200; i++)); do [ -S "$W/wl/cable-wl" ] && break; sleep 0.05; done
	UILOG="$W/ui-wayland.log"
	(cd "$W" && XDG_RUNTIME_DIR="$W/wl" WAYLAND_DISPLAY=cable-wl GDK_BACKEND=wayland DISPLAY= \
		exec "$UI" --idle-timeout 0 2>"$UILOG") &
	BUS_PIDS+=("$!")
	wait_line "$UILOG" 'listening for cable-bridged requests' 20
	for ((i = 0; i < 200; i++)); do busctl --user status org.cablebridge.BridgeUI >/dev/null 2>&1 && break; sleep 0.05; done
	CUR=4
	request wayland
	wait_line "$UILOG" 'request 4: QR drawn at' 20
	grep -o 'request 4: getAssertion.*' "$UILOG" | sed 's/^/    /'
	grep -q 'request 4: window shown (.*GdkWaylandToplevel' "$UILOG" && ok "Wayland: the window is a Wayland toplevel" ||
		bad "Wayland: $(grep 'request 4: window shown' "$UILOG")"
	sleep 0.5
	rm -f "$W"/wayland-screenshot-*.png
	(cd "$W" && XDG_RUNTIME_DIR="$W/wl" WAYLAND_DISPLAY=cable-wl timeout 10 weston-screenshooter) >/dev/null 2>&1
	WLSHOT=$(ls "$W"/wayland-screenshot-*.png 2>/dev/null | head -1)
	if [ -n "$WLSHOT" ]; then
		cp "$WLSHOT" "$CABLE_BUILD_DIR/artifacts/ui-screenshot-wayland.png"
		decoded=$(zbarimg --raw -q "$WLSHOT" 2>/dev/null)
		[ "$decoded" = "$(cat "$QR_URL_FILE")" ] && ok "Wayland: zbarimg decodes the exact FIDO:/ URL from weston's screenshot" ||
			bad "Wayland: decoded '$decoded'"
	else
		bad "Wayland: weston-screenshooter made no screenshot"
	fi
	gdbus call --session -d org.cablebridge.Bridge1 -o /org/cablebridge/Bridge \
		-m org.cablebridge.Bridge1.Cancel 4 >/dev/null || bad "Cancel(4) failed"
	wait "$REQ_PID"
	[ "$(cat "$W/wayland.status")" = 27 ] && ok "Wayland: Cancel -> 0x27" || bad "Wayland: client got '$(cat "$W/wayland.status")'"
	wait_line "$UILOG" 'request 4: window closed' 10 && ok "Wayland: window closed when the request ended"
else
	echo "skip: weston not installed: no Wayland run"
fi

kill -TERM "$BRIDGE_PID"
wait "$BRIDGE_PID" && ok "daemon: clean exit" || bad "daemon exit $?"
[ "$FAILS" = 0 ] || { echo "--- ui logs:" >&2; cat "$W"/ui*.log >&2; echo "$FAILS failure(s)" >&2; exit 1; }
echo "all passed"
