#!/usr/bin/env bash
# Installs what the registry tests need from Debian's packages, when missing: the OCI
# registry (distribution, `docker-registry`), `htpasswd` for its basic authentication, and
# skopeo to push test images (bundler/tests/it/collect.rs, appliance/tests/it/collect.rs).
set -euo pipefail

missing=()
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
[ -x /usr/bin/htpasswd ] || missing+=(apache2-utils)
[ -x /usr/bin/skopeo ] || missing+=(skopeo)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-registry: ${missing[*]} missing and not root; install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
# The package's own service is not wanted: the tests start their registries themselves.
/usr/bin/docker-registry --version
