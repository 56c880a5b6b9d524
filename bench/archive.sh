#!/usr/bin/env bash
# Archive throughput and memory, each figure side by side with its baseline in one run.
#
#   bench/archive.sh [SIZE_MIB] [FILES]      default: 2048 MiB of random data in 64 files
#
# Needs: a release build (cargo build --release -p airlock-bundler), zstd, openssl, tar,
# GNU time (/usr/bin/time). Uses $BENCH_DIR (default /tmp/airlock-bench); the page cache is
# warmed before each timed run so every command reads from memory.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-2048}
FILES=${2:-64}
DIR=${BENCH_DIR:-/tmp/airlock-bench}/${SIZE_MIB}m
BIN=${AIRLOCK_BUNDLER:-$PWD/target/release/airlock-bundler}
mkdir -p "$DIR/data"

per_file=$((SIZE_MIB * 1024 * 1024 / FILES))
for i in $(seq -w 1 "$FILES"); do
  f="$DIR/data/f$i.bin"
  [ -f "$f" ] && [ "$(stat -c %s "$f")" = "$per_file" ] || head -c "$per_file" /dev/urandom > "$f"
done
{
  echo '[publisher]'
  echo 'name = "bench"'
  echo 'sequence = 1'
  for f in "$DIR"/data/*.bin; do
    printf '[[artifact]]\nfile = "%s"\n' "$f"
  done
} > "$DIR/spec.toml"
[ -f "$DIR/bench.key" ] || "$BIN" keygen --out "$DIR/bench" >/dev/null 2>&1

# Before each timed run: write back dirty pages and drop the page cache (where allowed), then
# read the run's input into memory. Otherwise a run pays for reclaiming the pages earlier runs
# filled (measured here: a 2 GiB extract takes 1.3 s on a clean cache, 6.7 s beside 6 GiB of
# cached earlier output).
warm() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; cat "$@" > /dev/null; }
secs() { /usr/bin/time -f '%e %M' -o "$DIR/time" bash -c "$1" >/dev/null 2>&1; cat "$DIR/time"; }
bytes=$((per_file * FILES))
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }

rm -f "$DIR/out.airlock.tar.zst" "$DIR/base.tar.zst"
warm "$DIR"/data/*.bin
read -r t_create rss_create < <(secs "'$BIN' create --spec '$DIR/spec.toml' --key '$DIR/bench.key' -o '$DIR/out.airlock.tar.zst' --allow-failing -q")
warm "$DIR"/data/*.bin
read -r t_tarzstd _ < <(secs "tar -C '$DIR' -c data | zstd -T0 -3 -q -o '$DIR/base.tar.zst'")

zstd -dc "$DIR/out.airlock.tar.zst" > "$DIR/plain.tar"
rm -rf "$DIR/staging"
warm "$DIR/out.airlock.tar.zst"
read -r t_read rss_read < <(secs "'$BIN' extract '$DIR/out.airlock.tar.zst' --pub '$DIR/bench.pub' --to '$DIR/staging' -q")
warm "$DIR/out.airlock.tar.zst"
read -r t_zstd_sha _ < <(secs "zstd -dc '$DIR/out.airlock.tar.zst' | openssl dgst -sha256")
warm "$DIR/plain.tar"
read -r t_sha _ < <(secs "openssl dgst -sha256 '$DIR/plain.tar'")
rm -rf "$DIR/staging" "$DIR/plain.tar"

echo "data: ${SIZE_MIB} MiB random in ${FILES} files"
echo "create                          ${t_create}s $(mbps "$t_create")  peak RSS $((rss_create / 1024)) MiB"
echo "tar -c | zstd -T0 -3            ${t_tarzstd}s $(mbps "$t_tarzstd")"
echo "  create / baseline throughput  $(awk -v a="$t_create" -v b="$t_tarzstd" 'BEGIN { printf "%.2f", b / a }')"
echo "extract (verify+hash+write)     ${t_read}s $(mbps "$t_read")  peak RSS $((rss_read / 1024)) MiB"
echo "zstd -dc | openssl dgst -sha256 ${t_zstd_sha}s $(mbps "$t_zstd_sha")"
echo "openssl dgst -sha256 (plain)    ${t_sha}s $(mbps "$t_sha")"
echo "  extract / zstd|openssl        $(awk -v a="$t_read" -v b="$t_zstd_sha" 'BEGIN { printf "%.2f", b / a }')"
echo "  extract / openssl             $(awk -v a="$t_read" -v b="$t_sha" 'BEGIN { printf "%.2f", b / a }')"
