#!/usr/bin/env bash
# Appliance import throughput and memory, each figure beside its baseline in one run.
#
#   bench/import.sh small [N]              N small artifacts, each with its own bundle (10000)
#   REUSE_SITE=1 bench/import.sh small     the last small run's site and archive again
#   bench/import.sh large [MIB] [FILES]    MIB of signed random data in FILES artifacts (2048 64)
#   FS=xfs bench/import.sh large           the same on a fresh XFS filesystem (reflinks; root)
#
# Needs: cargo build --release -p airlock-appliance -p airlock-tests, zstd, openssl,
# GNU time. Uses $BENCH_DIR (default /tmp/airlock-bench-import).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-small}
DIR=${BENCH_DIR:-/tmp/airlock-bench-import}/$MODE
APPLIANCE=$PWD/target/release/airlock-appliance
SITE=$PWD/target/release/airlock-bench-site
case "$MODE" in
  small) N=${2:-10000}
    # REUSE_SITE=1 imports the site minted by the last small run again (as root it is imported on a
    # copy, so it stays as minted): repeated runs of one archive, without minting's minute.
    if [ "${REUSE_SITE:-}" = 1 ] && [ "$(id -u)" = 0 ] && [ -d "$DIR/data" ] && [ -f "$DIR/world/bench.airlock.tar.zst" ]; then
      OUT=("$DIR/data" "$DIR/world/bench.airlock.tar.zst")
    else
      mapfile -t OUT < <("$SITE" "$DIR" small "$N")
    fi ;;
  large) MIB=${2:-2048}; FILES=${3:-64}; mapfile -t OUT < <("$SITE" "$DIR" large "$MIB" "$FILES") ;;
  *) echo "usage: $0 small [N] | large [MIB] [FILES]" >&2; exit 2 ;;
esac
DATA=${OUT[0]}
ARCHIVE=${OUT[1]}
# Creating files on ext4 within minutes of deleting many (as building the site just did:
# it replaces the last run's) is several times slower: the allocator skips recently freed
# inodes. A site's data folder sees no such mass deletes, so the small run imports into a
# fresh ext4 filesystem (a loop device; needs root), with the site copied onto it.
# FS=xfs (or FS=ext4) does the same for any mode: on XFS (reflink=1) the appliance's own
# copies of the archive and of released files are reflinks, which share extents.
if { [ "$MODE" = small ] || [ -n "${FS:-}" ]; } && [ "$(id -u)" = 0 ]; then
  MNT=$DIR/mnt
  mkdir -p "$MNT"
  truncate -s "$([ "$MODE" = small ] && echo 4G || echo 16G)" "$DIR/fs.img"
  case "${FS:-ext4}" in
    xfs) mkfs.xfs -q -f -m reflink=1 "$DIR/fs.img" ;;
    *) mkfs.ext4 -q -F "$DIR/fs.img" ;;
  esac
  if mount -o loop "$DIR/fs.img" "$MNT"; then
    trap 'umount "$MNT"; rm -f "$DIR/fs.img"' EXIT
    cp -a "$DATA" "$MNT/data"
    cp "$ARCHIVE" "$MNT/"
    DATA=$MNT/data
    ARCHIVE=$MNT/$(basename "$ARCHIVE")
    echo "(importing on a fresh ${FS:-ext4} filesystem at $MNT)"
  else
    rm -f "$DIR/fs.img"
  fi
fi
# Write back, drop the page cache where allowed, then read the archive into memory (see
# bench/archive.sh: reclaiming earlier runs' pages otherwise dominates).
warm() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; cat "$@" > /dev/null; }
warm "$ARCHIVE"
/usr/bin/time -f '%e %M' -o "$DIR/time" "$APPLIANCE" import --data "$DATA" "$ARCHIVE" > "$DIR/import.out"
read -r t_import rss_import < "$DIR/time"
artifacts=$(grep -c '^  passed' "$DIR/import.out" || true)
size=$(stat -c %s "$ARCHIVE")
echo "archive: $(basename "$ARCHIVE"), $size bytes, $artifacts artifacts passed"
echo "import                          ${t_import}s  peak RSS $((rss_import / 1024)) MiB"
if command -v sqlite3 > /dev/null; then
  echo "steps (ms): $(sqlite3 "$DATA/airlock.db" \
    "SELECT group_concat(step || ' ' || (duration_us / 1000), ', ') FROM import_steps")"
fi
if [ "$MODE" = small ]; then
  awk -v n="$artifacts" -v s="$t_import" 'BEGIN { printf "  artifacts/s                   %.0f\n", n / s }'
else
  warm "$ARCHIVE"
  /usr/bin/time -f '%e' -o "$DIR/time" bash -c "zstd -dc '$ARCHIVE' | openssl dgst -sha256" > /dev/null
  read -r t_base < "$DIR/time"
  echo "zstd -dc | openssl dgst -sha256 ${t_base}s"
  awk -v a="$t_import" -v b="$t_base" 'BEGIN { printf "  import / zstd|openssl         %.2f\n", b / a }'
fi
