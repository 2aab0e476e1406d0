# lib-session.sh: a private session bus for tests (source after lib-bus.sh and bus_setup):
#   session_bus_start [SERVICEDIR]   dbus-daemon (session type, D-Bus activation from SERVICEDIR);
#                                    exports DBUS_SESSION_BUS_ADDRESS. Activated services inherit
#                                    the caller's environment (DISPLAY, ...). Stopped by the trap.
session_bus_start() {
	local sdir=${1:-$BUS_DIR/services}
	mkdir -p "$sdir"
	cat >"$BUS_DIR/session.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$BUS_DIR/session-bus</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$sdir</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
	bg dbus-daemon --config-file="$BUS_DIR/session.conf" --nofork --nopidfile --print-address=3 \
		3>"$BUS_DIR/session-address" 2>"$BUS_DIR/session-dbus.log"
	SESSION_BUS_PID=$LAST_PID
	wait_line "$BUS_DIR/session-address" '^unix:' 10
	export DBUS_SESSION_BUS_ADDRESS="unix:path=$BUS_DIR/session-bus"
}
