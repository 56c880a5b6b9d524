#!/usr/bin/env bash
# The site registry under load, each figure beside its baseline in one run:
# - one large layer pulled over TLS 1.3 on loopback by curl, from the appliance and from nginx
#   (Debian) serving the same file with the same certificate (medians of RUNS);
# - 64 concurrent manifest requests by tag with a pull token (wrk, --latency);
# - the server's peak RSS (VmHWM) over all of it.
#
#   bench/registry.sh [MIB] [LAYERS] [RUNS]     defaults: 1024 1 3
#
# Needs: cargo build --release -p airlock-appliance -p airlock-tests, curl, and wrk and nginx
# (installed from Debian when missing). Uses $BENCH_DIR (default /tmp/airlock-bench-registry),
# ports $BENCH_PORT (18444) and $NGINX_PORT (18445).
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-1024}
LAYERS=${2:-1}
RUNS=${3:-3}
DIR=${BENCH_DIR:-/tmp/airlock-bench-registry}
PORT=${BENCH_PORT:-18444}
NPORT=${NGINX_PORT:-18445}
APPLIANCE=$PWD/target/release/airlock-appliance
SITE=$PWD/target/release/airlock-bench-site
BASE=https://127.0.0.1:$PORT

for tool in wrk nginx; do
  if ! command -v "$tool" > /dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light > /dev/null
  fi
done

mapfile -t OUT < <("$SITE" "$DIR/site" image "$MIB" "$LAYERS")
DATA=${OUT[0]}
ARCHIVE=${OUT[1]}
"$APPLIANCE" import "$ARCHIVE" --data "$DATA" > "$DIR/import.log"
TOKEN=$("$APPLIANCE" registry issue-token --name bench --data "$DATA" 2> /dev/null)
REPO=release-team/bench-image
AUTH="Authorization: Bearer $TOKEN"

"$APPLIANCE" serve --data "$DATA" --listen "127.0.0.1:$PORT" > "$DIR/serve.log" 2>&1 &
SERVER=$!
NGINX_CONF=$DIR/nginx.conf
cleanup() {
  kill "$SERVER" 2> /dev/null; wait "$SERVER" 2> /dev/null || true
  [ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2> /dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -ksf "$BASE/healthz" > /dev/null && break
  sleep 0.1
done

MANIFEST=$(curl -ksf -H "$AUTH" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$BASE/v2/$REPO/manifests/1.0")
LAYER=$(printf '%s' "$MANIFEST" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(max(m["layers"], key=lambda l: l["size"])["digest"])')
LAYER_FILE=$(find "$DATA/released" -path "*/blobs/sha256/${LAYER#sha256:}" | head -1)
SIZE=$(stat -c %s "$LAYER_FILE")

# nginx: the same file, the same certificate, TLS 1.3 only, sendfile off (TLS in userspace).
mkdir -p "$DIR/www/blob" "$DIR/nginx-tmp"
ln -sf "$LAYER_FILE" "$DIR/www/blob/layer"
cat > "$NGINX_CONF" <<CONF
user root;
worker_processes 2;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx-tmp;
  proxy_temp_path $DIR/nginx-tmp;
  fastcgi_temp_path $DIR/nginx-tmp;
  uwsgi_temp_path $DIR/nginx-tmp;
  scgi_temp_path $DIR/nginx-tmp;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $DATA/tls/cert.pem;
    ssl_certificate_key $DATA/tls/key.pem;
    ssl_protocols TLSv1.3;
    root $DIR/www;
  }
}
CONF
nginx -c "$NGINX_CONF"
sleep 0.5

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pull() { # URL [HEADER] -> bytes/s
  curl -ksf --tlsv1.3 -o /dev/null -w '%{speed_download}\n' ${2:+-H "$2"} "$1"
}
echo "layer: $SIZE bytes; $(nproc) cores; curl over TLS 1.3 on loopback, median of $RUNS"
pull "$BASE/v2/$REPO/blobs/$LAYER" "$AUTH" > /dev/null
pull "https://127.0.0.1:$NPORT/blob/layer" > /dev/null
ours=$(for _ in $(seq "$RUNS"); do pull "$BASE/v2/$REPO/blobs/$LAYER" "$AUTH"; done | median)
theirs=$(for _ in $(seq "$RUNS"); do pull "https://127.0.0.1:$NPORT/blob/layer"; done | median)
awk -v o="$ours" -v t="$theirs" 'BEGIN {
  printf "appliance  %8.1f MiB/s\nnginx      %8.1f MiB/s\nratio      %8.2f (target >= 0.80)\n", o/1048576, t/1048576, o/t }'

echo "manifests: wrk -t2 -c64 -d20s GET /v2/$REPO/manifests/1.0 with a pull token"
wrk -t2 -c64 -d3s -H "$AUTH" "$BASE/v2/$REPO/manifests/1.0" > /dev/null
wrk -t2 -c64 -d20s --latency -H "$AUTH" "$BASE/v2/$REPO/manifests/1.0" > "$DIR/wrk.out"
rps=$(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk.out")
p50=$(awk '$1 == "50%" {print $2}' "$DIR/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$DIR/wrk.out")
errors=$(grep -E 'Non-2xx|Socket errors' "$DIR/wrk.out" || true)
printf 'manifests  %10s req/s   p50 %8s   p99 %8s  %s (target >= 5000/s, p99 <= 25 ms)\n' "$rps" "$p50" "$p99" "$errors"
echo "server peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$SERVER/status") (target <= 100 MiB)"
