#!/usr/bin/env bash
# Peak memory of an import whose archive carries heavy SBOMs (issue 16: a 27 KB archive with
# three 63 MiB SBOMs took an import to 10 GB).
#
#   bench/sbom.sh [COUNT] [MIB] [ARTIFACTS]   COUNT SBOMs of MIB each on each of ARTIFACTS
#                                             artifacts (3 63 1)
#
# Each SBOM lists 100,000 components (the most the appliance reads) padded with an unread
# field to MIB. Needs: cargo build --release -p airlock-appliance -p airlock-tests, GNU time.
# Uses $BENCH_DIR (default /tmp/airlock-bench-sbom).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-3}
MIB=${2:-63}
ARTIFACTS=${3:-1}
DIR=${BENCH_DIR:-/tmp/airlock-bench-sbom}/sboms
APPLIANCE=$PWD/target/release/airlock-appliance
SITE=$PWD/target/release/airlock-bench-site
mapfile -t OUT < <("$SITE" "$DIR" sboms "$COUNT" "$MIB" "$ARTIFACTS")
DATA=${OUT[0]}
ARCHIVE=${OUT[1]}
echo "archive: $(basename "$ARCHIVE"), $(stat -c %s "$ARCHIVE") bytes, $ARTIFACTS artifact(s) each carrying $COUNT SBOMs of $(stat -c %s "$DIR.sboms/padded-0-0.cdx.json") bytes"
set +e
/usr/bin/time -v -o "$DIR/time" "$APPLIANCE" import --data "$DATA" "$ARCHIVE" > "$DIR/import.out"
status=$?
set -e
cat "$DIR/import.out"
echo "exit $status"
grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "$DIR/time"
