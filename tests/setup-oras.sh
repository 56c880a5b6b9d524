#!/usr/bin/env bash
# Creates target/oras-venv with oras-py, the independent OCI client the registry tests list
# referrers and fetch the site's verdict with. Idempotent; CI calls it before `cargo test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/oras-venv"
version="${ORAS_PY_VERSION:-0.2.43}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('oras') != '$version')" 2>/dev/null; then
  echo "oras $version already in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "oras==$version"
"$venv/bin/python" -c "import importlib.metadata as m; print('oras', m.version('oras'))"
