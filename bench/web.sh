#!/usr/bin/env bash
# The pages under load: wrk on loopback against the imports list, the artifacts list (all, and
# the failed ones the dashboard's tile opens), an artifact report and the audit log (all, and
# filtered), with 10,000 imports and
# 100,000 artifacts in the database, over TLS 1.3 with a session cookie.
#
#   bench/web.sh [IMPORTS] [PER_IMPORT] [DURATION]      defaults: 10000 10 20s
#
# Needs: cargo build --release -p airlock-appliance -p airlock-tests, curl, and wrk (installed
# from Debian when missing). Uses $BENCH_DIR (default /tmp/airlock-bench-web) and port $BENCH_PORT
# (default 18443). Target: >= 2,000 requests/s with p99 <= 25 ms at 64 connections on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
IMPORTS=${1:-10000}
PER=${2:-10}
DURATION=${3:-20s}
DIR=${BENCH_DIR:-/tmp/airlock-bench-web}
PORT=${BENCH_PORT:-18443}
APPLIANCE=$PWD/target/release/airlock-appliance
FILL=$PWD/target/release/airlock-bench-web
BASE=https://127.0.0.1:$PORT

if ! command -v wrk > /dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null
fi

mapfile -t OUT < <("$FILL" "$DIR" "$IMPORTS" "$PER")
DATA=${OUT[0]}
PASSWORD=${OUT[1]}
ARTIFACT=${OUT[2]}

"$APPLIANCE" serve --data "$DATA" --listen "127.0.0.1:$PORT" \
  > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2> /dev/null; wait "$SERVER" 2> /dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -ksf "$BASE/healthz" > /dev/null && break
  sleep 0.1
done

TOKEN=$(curl -ksf -H 'Content-Type: application/json' \
  -d "{\"name\":\"admin\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/session" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
COOKIE="Cookie: airlock_session=$TOKEN"
PATHS=(/ /imports /artifacts "/artifacts?verdict=failed" "/artifacts/$ARTIFACT" /audit
  "/audit?action=verdict&actor=system" "/audit?subject=5000")
for path in "${PATHS[@]}"; do
  status=$(curl -ks -o /dev/null -w '%{http_code}' -H "$COOKIE" "$BASE$path")
  [ "$status" = 200 ] || { echo "GET $path: $status" >&2; exit 1; }
done

echo "data: $IMPORTS imports, $((IMPORTS * PER)) artifacts; $(nproc) cores; wrk -t2 -c64 -d$DURATION"
for path in "${PATHS[@]}"; do
  # Warm up (connections, page cache), then measure.
  wrk -t2 -c64 -d3s -H "$COOKIE" "$BASE$path" > /dev/null
  wrk -t2 -c64 -d"$DURATION" --latency -H "$COOKIE" "$BASE$path" > "$DIR/wrk.out"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$DIR/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$DIR/wrk.out")
  errors=$(grep -E 'Non-2xx|Socket errors' "$DIR/wrk.out" || true)
  printf '%-28s %10s req/s   p50 %8s   p99 %8s  %s\n' "GET $path" "$rps" "$p50" "$p99" "$errors"
done
