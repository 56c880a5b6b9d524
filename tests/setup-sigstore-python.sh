#!/usr/bin/env bash
# Creates target/sigstore-venv with sigstore-python, the independent verifier the testkit's
# cross-check test runs against minted bundles. Idempotent; CI calls it before `cargo test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/sigstore-venv"
version="${SIGSTORE_PYTHON_VERSION:-4.5.1}"
if [ -x "$venv/bin/sigstore" ] && "$venv/bin/python" -c "import sigstore, sys; sys.exit(sigstore.__version__ != '$version')" 2>/dev/null; then
  echo "sigstore-python $version already in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "sigstore==$version"
"$venv/bin/sigstore" --version
