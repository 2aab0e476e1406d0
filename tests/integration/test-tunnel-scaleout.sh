#!/usr/bin/env bash
# Scale-out: two cable-tunneld instances behind a real nginx using contrib/nginx as shipped (only
# the ports changed). Tunnels created through the proxy land on both instances and are joined
# through the proxy by routing ID; a routing ID nobody owns is refused by the proxy.
source "$(dirname "$0")/tunnel-lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	echo "nginx not installed (scripts/setup.sh installs nginx-light)" >&2
	exit 77
fi

start_tunneld I1 --routing-id 000001 --trusted-proxy 127.0.0.1
start_tunneld I2 --routing-id 000002 --trusted-proxy 127.0.0.1

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
NPORT=$(free_port)
mkdir -p "$WORK/nginx"
sed -e "s/127\.0\.0\.1:8101/127.0.0.1:$PORT_I1/g" -e "s/127\.0\.0\.1:8102/127.0.0.1:$PORT_I2/g" \
	"$CABLE_SOURCE_DIR/contrib/nginx/cable-tunnel-upstreams.conf" >"$WORK/nginx/upstreams.conf"
cp "$CABLE_SOURCE_DIR/contrib/nginx/cable-tunnel-proxy.conf" "$WORK/nginx/proxy.conf"
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    include $WORK/nginx/upstreams.conf;
    server {
        listen 127.0.0.1:$NPORT;
        location /cable/ {
            include $WORK/nginx/proxy.conf;
        }
        location / { return 404; }
    }
}
CONF
"$NGINX" -t -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx-t.err" ||
	{ cat "$WORK/nginx-t.err" >&2; fail "nginx rejects the contrib configuration"; finish; }
ok "nginx accepts the contrib configuration"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx.err" &
PIDS+=("$!")
for i in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$NPORT/" && break
	sleep 0.05
done
URL="ws://127.0.0.1:$NPORT"

N=16
for i in $(seq $N); do
	TIDS[$i]=$(random_tid)
	$CLIENT --server "$URL" --echo --expect 1 --close new "${TIDS[$i]}" >"$WORK/ph$i" &
	PIDS+=("$!")
	PH[$i]=$!
done
for i in $(seq $N); do
	wait_file "$WORK/ph$i" '^opened' 10 || fail "phone $i did not open"
done
C1=$(grep -l '^opened routing=000001$' "$WORK"/ph* | wc -l)
C2=$(grep -l '^opened routing=000002$' "$WORK"/ph* | wc -l)
[ $((C1 + C2)) -eq $N ] && ok "all $N tunnels created through the proxy" || fail "created $C1 + $C2 of $N"
[ "$C1" -gt 0 ] && [ "$C2" -gt 0 ] && ok "new tunnels landed on both instances ($C1 / $C2)" ||
	fail "tunnels did not spread: $C1 / $C2"
expect_metric "$PORT_I1" cable_tunnel_pending "$C1"
expect_metric "$PORT_I2" cable_tunnel_pending "$C2"

for i in $(seq $N); do
	RID=$(sed -n 's/^opened routing=//p' "$WORK/ph$i")
	MSG=$(printf '%02x%s' "$i" deadbeef)
	$CLIENT --server "$URL" --send "$MSG" --expect 1 connect "$RID" "${TIDS[$i]}" >"$WORK/dk$i" &
	PIDS+=("$!")
	DK[$i]=$!
done
good=0
for i in $(seq $N); do
	wait "${DK[$i]}" || true
	MSG=$(printf '%02x%s' "$i" deadbeef)
	grep -q "^message 5 $MSG\$" "$WORK/dk$i" && grep -q '^closed ok status=1000' "$WORK/dk$i" &&
		good=$((good + 1))
done
[ "$good" -eq $N ] && ok "all $N tunnels joined through the proxy by routing ID and relayed" ||
	fail "only $good of $N tunnels relayed"
expect_metric "$PORT_I1" cable_tunnel_rejections_total'{reason="routing_id"}' 0
expect_metric "$PORT_I2" cable_tunnel_rejections_total'{reason="routing_id"}' 0
expect_metric "$PORT_I1" cable_tunnel_created_total "$C1"
expect_metric "$PORT_I2" cable_tunnel_created_total "$C2"

# A routing ID no instance owns: the proxy refuses it (421) instead of guessing.
$CLIENT --server "$URL" connect 0000ff "$(random_tid)" >"$WORK/mis"
expect_line "$WORK/mis" '^closed CABLE_ERR_TUNNEL_HTTP status=0 http=421' "unknown routing ID refused by the proxy"
$WSRAW client --port "$NPORT" --path "/cable/connect/000002/$(random_tid)" >"$WORK/unk"
expect_line "$WORK/unk" '^http 404' "unknown tunnel on the right instance: 404 through the proxy"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPORT/metrics")" = 404 ] &&
	ok "/metrics not exposed through the proxy" || fail "/metrics reachable through the proxy"

finish
