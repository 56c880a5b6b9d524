#!/usr/bin/env bash
# Pulling an image from a loopback registry into an archive, side by side with its baseline
# in one run: `create` with `image = …` against `skopeo copy docker://… oci:…` followed by
# `tar | zstd -T0 -3`. Medians of 3 runs each, peak RSS by GNU time.
#
#   bench/collect.sh [LAYERS] [LAYER_MIB]      default: 16 layers of 64 MiB (1 GiB)
#
# Needs: a release build (cargo build --release -p airlock-bundler), docker-registry, skopeo,
# openssl, zstd, tar, GNU time (/usr/bin/time) — bash tests/setup-registry.sh installs the
# first two. Uses $BENCH_DIR (default /tmp/airlock-bench) and 127.0.0.1:$BENCH_PORT (5443).
set -euo pipefail
cd "$(dirname "$0")/.."
LAYERS=${1:-16}
LAYER_MIB=${2:-64}
DIR=${BENCH_DIR:-/tmp/airlock-bench}/collect-${LAYERS}x${LAYER_MIB}m
PORT=${BENCH_PORT:-5443}
HOST=127.0.0.1:$PORT
BIN=${AIRLOCK_BUNDLER:-$PWD/target/release/airlock-bundler}
# Everything (about three times the image at the peak) is made afresh and removed at the end.
rm -rf "$DIR"
mkdir -p "$DIR/layout/blobs/sha256" "$DIR/certs"

# The image: random layers (incompressible, like the gzip layers of real images), a config,
# a manifest, as an OCI layout.
blob() { # FILE MEDIA_TYPE -> descriptor JSON; moves FILE into the layout
  local hex size
  hex=$(sha256sum "$1" | cut -c1-64)
  size=$(stat -c %s "$1")
  mv "$1" "$DIR/layout/blobs/sha256/$hex"
  printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$hex" "$size"
}
layers=""
for i in $(seq 1 "$LAYERS"); do
  head -c $((LAYER_MIB * 1024 * 1024)) /dev/urandom > "$DIR/layer"
  layers="$layers${layers:+,}$(blob "$DIR/layer" application/vnd.oci.image.layer.v1.tar+gzip)"
done
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$DIR/config"
config=$(blob "$DIR/config" application/vnd.oci.image.config.v1+json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
  "$config" "$layers" > "$DIR/manifest"
manifest=$(blob "$DIR/manifest" application/vnd.oci.image.manifest.v1+json)
printf '{"imageLayoutVersion":"1.0.0"}' > "$DIR/layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[%s]}' "$manifest" > "$DIR/layout/index.json"
bytes=$(du -cb "$DIR"/layout/blobs/sha256/* | tail -1 | cut -f1)

# A CA and a certificate for 127.0.0.1; the registry, anonymous, over TLS.
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench-ca -keyout "$DIR/ca.key" -out "$DIR/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$DIR/server.key" -out "$DIR/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$DIR/ext"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
    -days 2 -extfile "$DIR/ext" -out "$DIR/server.pem" 2>/dev/null
  cp "$DIR/ca.pem" "$DIR/certs/ca.crt"
}
cat > "$DIR/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $DIR/registry
http:
  addr: $HOST
  tls:
    certificate: $DIR/server.pem
    key: $DIR/server.key
EOF
/usr/bin/docker-registry serve "$DIR/registry.yml" > "$DIR/registry.log" 2>&1 &
registry=$!
trap 'kill $registry 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  curl -sf --cacert "$DIR/ca.pem" "https://$HOST/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
skopeo --insecure-policy copy --quiet --preserve-digests --dest-cert-dir "$DIR/certs" \
  "oci:$DIR/layout" "docker://$HOST/bench:1"
rm -rf "$DIR/layout"

cat > "$DIR/spec.toml" <<EOF
[publisher]
name = "bench"
sequence = 1

[[registry]]
host = "$HOST"
ca_file = "$DIR/ca.pem"

[[artifact]]
name = "bench"
image = "$HOST/bench:1"
EOF
"$BIN" keygen --out "$DIR/bench" >/dev/null 2>&1

# Before each timed run: write back dirty pages and drop the page cache (where allowed), then
# read the registry's blobs into memory, so both sides start alike.
warm() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; find "$DIR/registry" -type f -exec cat {} + > /dev/null; }
secs() { /usr/bin/time -f '%e %M' -o "$DIR/time" bash -c "$1" >/dev/null 2>&1; cat "$DIR/time"; }
median() { sort -n | sed -n 2p; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }

: > "$DIR/ours"; : > "$DIR/base"
for run in 1 2 3; do
  rm -rf "$DIR/out.airlock.tar.zst" "$DIR/pulled" "$DIR/base.tar.zst"
  warm
  secs "'$BIN' create --spec '$DIR/spec.toml' --key '$DIR/bench.key' -o '$DIR/out.airlock.tar.zst' --allow-unsigned -q" >> "$DIR/ours"
  rm -rf "$DIR/out.airlock.tar.zst"
  warm
  secs "skopeo --insecure-policy copy --quiet --src-cert-dir '$DIR/certs' 'docker://$HOST/bench:1' 'oci:$DIR/pulled' && tar -C '$DIR' -c pulled | zstd -T0 -3 -q -o '$DIR/base.tar.zst'" >> "$DIR/base"
done
rm -rf "$DIR/pulled" "$DIR/base.tar.zst"
t_ours=$(cut -d' ' -f1 "$DIR/ours" | median)
rss_ours=$(cut -d' ' -f2 "$DIR/ours" | sort -n | tail -1)
t_base=$(cut -d' ' -f1 "$DIR/base" | median)
rss_base=$(cut -d' ' -f2 "$DIR/base" | sort -n | tail -1)

echo "image: $LAYERS layers of $LAYER_MIB MiB (random), $bytes bytes, from https://$HOST (loopback)"
echo "runs (s): create $(cut -d' ' -f1 "$DIR/ours" | tr '\n' ' ')| skopeo+tar+zstd $(cut -d' ' -f1 "$DIR/base" | tr '\n' ' ')"
echo "create (pull + pack), median       ${t_ours}s $(mbps "$t_ours")  peak RSS $((rss_ours / 1024)) MiB"
echo "skopeo copy + tar | zstd -T0 -3    ${t_base}s $(mbps "$t_base")  peak RSS $((rss_base / 1024)) MiB (largest process)"
echo "  create / baseline throughput     $(awk -v a="$t_ours" -v b="$t_base" 'BEGIN { printf "%.2f", b / a }')"
