#!/usr/bin/env bash
# The whole test suite (`cargo test --workspace --locked`), then one line per test that was
# skipped for want of something outside the repository (../shared/testdata, an installed
# tool). Under CI such a test fails instead of skipping.
set -uo pipefail
cd "$(dirname "$0")/.."
skipped="${CARGO_TARGET_DIR:-target}/tmp/airlock-skipped.txt"
rm -f "$skipped"
cargo test --workspace --locked "$@"
status=$?
if [ -s "$skipped" ]; then
    echo "== $(wc -l < "$skipped") test(s) skipped for want of something outside the repository:"
    sort "$skipped"
else
    echo "== no test skipped"
fi
exit "$status"
