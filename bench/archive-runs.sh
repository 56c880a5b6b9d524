#!/usr/bin/env bash
# bench/archive.sh N times in a row: each run's ratios, then the median of every time and the
# ratios of those medians. On a shared 2-core VM one run's baseline swings by a third; the
# medians say what is typical.
#
#   bench/archive-runs.sh [RUNS] [SIZE_MIB] [FILES]      default: 5 runs of 2048 MiB in 64 files
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SIZE_MIB=${2:-2048}
FILES=${3:-64}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

for run in $(seq 1 "$RUNS"); do
  # Each timed line of bench/archive.sh: the figure's name, then its seconds as "1.23s".
  bench/archive.sh "$SIZE_MIB" "$FILES" | tee /dev/stderr | awk -v run="$run" '
    function secs(field) { sub(/s$/, "", field); return field }
    /^create /       { print run, "create", secs($2) }
    /^tar -c/        { print run, "tarzstd", secs($7) }
    /^extract /      { print run, "extract", secs($3) }
    /^zstd -dc/      { print run, "zstdsha", secs($7) }
    /^openssl dgst/  { print run, "sha", secs($5) }' >> "$OUT"
done

awk -v runs="$RUNS" '
  function median(name,   n, i, j, t, v) {
    n = 0
    for (i = 1; i <= runs; i++) if ((i, name) in time) v[++n] = time[i, name]
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  { time[$1, $2] = $3 }
  END {
    print ""
    print "run  create/tar|zstd  extract/zstd|openssl  extract/openssl"
    for (i = 1; i <= runs; i++)
      printf "%3d  %15.2f  %20.2f  %15.2f\n", i, time[i, "tarzstd"] / time[i, "create"],
        time[i, "zstdsha"] / time[i, "extract"], time[i, "sha"] / time[i, "extract"]
    printf "medians (s): create %.2f, tar|zstd %.2f, extract %.2f, zstd|openssl %.2f, openssl %.2f\n",
      median("create"), median("tarzstd"), median("extract"), median("zstdsha"), median("sha")
    printf "ratios of medians: create/tar|zstd %.2f, extract/zstd|openssl %.2f, extract/openssl %.2f\n",
      median("tarzstd") / median("create"), median("zstdsha") / median("extract"),
      median("sha") / median("extract")
  }' "$OUT"
