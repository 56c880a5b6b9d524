#!/usr/bin/env bash
# Builds the appliance and bundler images: the release binaries linked statically, FROM
# scratch images made with buildah (vfs storage, chroot isolation, no registry, no daemon)
# into OCI image layouts, and a CycloneDX SBOM of each binary's crates beside its layout:
#
#   target/images/appliance/           OCI image layout, tag "latest"
#   target/images/appliance.cdx.json   CycloneDX 1.5 SBOM of the airlock-appliance binary
#   target/images/bundler/             OCI image layout, tag "latest"
#   target/images/bundler.cdx.json     CycloneDX 1.5 SBOM of the airlock-bundler binary
#
# The static build has its own target folder (target/static), so target/debug and
# target/release stay as they are. Needs cargo, python3, buildah and Debian's
# ca-certificates (`apt-get install buildah ca-certificates`); aws-lc-sys builds its C with
# the system cc. Load an image with `skopeo copy oci:target/images/appliance:latest
# containers-storage:airlock-appliance:latest` (podman) or `docker-archive:…`.
#
# Environment: CARGO_BUILD_JOBS (default 2), SOURCE_DATE_EPOCH (default: the last commit's
# time; fixes the images' created time and file times, and the SBOM timestamp).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
RUSTFLAGS_STATIC="-C target-feature=+crt-static"
STATIC_DIR=target/static
BIN_DIR="$STATIC_DIR/$TARGET/release"
OUT=target/images
# buildah's own storage, inside target/ and thrown away after each build: nothing is left in
# /var/lib/containers, and no other build's images are touched.
STORE="$OUT/.buildah"

for tool in cargo python3 buildah readelf; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found" >&2; exit 2; }
done
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA_BUNDLE" ] || { echo "build.sh: $CA_BUNDLE missing (apt-get install ca-certificates)" >&2; exit 2; }

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION=$(cargo metadata --format-version 1 --locked --no-deps \
    | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "airlock-appliance"))')

echo "== static release build ($TARGET, $RUSTFLAGS_STATIC) into $STATIC_DIR" >&2
# RUSTFLAGS with an explicit --target applies to the target only, not to build scripts and
# proc macros, which stay dynamic host programs as they must. The shipped binaries keep their
# symbols (backtraces name functions) but not the release profile's debug info: that is
# 80% of the file (appliance 113 MB with it, 20 MB without), mostly aws-lc's C built with -g.
# One build per package: built together, features would unify and the appliance would link the
# bundler's connected side (its HTTPS client, progress bars, prompts), which the site must not.
for package in airlock-appliance airlock-bundler; do
    CARGO_TARGET_DIR="$STATIC_DIR" RUSTFLAGS="$RUSTFLAGS_STATIC" CARGO_PROFILE_RELEASE_STRIP=debuginfo \
        cargo build --release --locked -j "${CARGO_BUILD_JOBS:-2}" --target "$TARGET" -p "$package"
done

for bin in airlock-appliance airlock-bundler; do
    # Static means no program interpreter and no shared libraries (a static-pie is fine).
    if readelf -lW "$BIN_DIR/$bin" | grep -q 'Requesting program interpreter' \
        || readelf -dW "$BIN_DIR/$bin" | grep -q '(NEEDED)'; then
        echo "build.sh: $BIN_DIR/$bin is not statically linked" >&2
        exit 1
    fi
done

buildah_() {
    buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "$@"
}

# stage NAME: the build context of images/NAME/Containerfile, in $OUT/context/NAME. Folders
# are copied as entries of root-dirs/ and user-dirs/ (`COPY DIR/ /`), which keeps their
# modes; `COPY DIR /path` would make /path 0755.
stage() {
    local name=$1 ctx="$OUT/context/$1"
    rm -rf "$ctx"
    mkdir -p "$ctx"
    install -m 0644 images/common/passwd images/common/group "$ctx/"
    install -m 0755 "$BIN_DIR/airlock-$name" "$ctx/airlock-$name"
    case $name in
        appliance)
            install -d -m 0700 "$ctx/user-dirs/data"
            ;;
        bundler)
            install -m 0644 "$CA_BUNDLE" "$ctx/ca-certificates.crt"
            install -d -m 0700 "$ctx/user-dirs/work"
            install -d -m 1777 "$ctx/root-dirs/tmp"
            ;;
    esac
}

rm -rf "$STORE"
mkdir -p "$OUT"
for name in appliance bundler; do
    echo "== image airlock-$name" >&2
    stage "$name"
    buildah_ bud --isolation chroot --timestamp "$SOURCE_DATE_EPOCH" \
        --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
        -f "images/$name/Containerfile" -t "localhost/airlock-$name:latest" "$OUT/context/$name"
    rm -rf "${OUT:?}/$name"
    buildah_ push "localhost/airlock-$name:latest" "oci:$OUT/$name:latest"

    # The SBOM, of the package's own build graph. Debian files linked in or copied beside the
    # binary are listed.
    debs=(--deb "libc6-dev=the C library, linked statically (-C target-feature=+crt-static)")
    if [ "$name" = bundler ]; then
        debs+=(--deb "ca-certificates=the CA bundle copied to /etc/ssl/certs/ca-certificates.crt")
    fi
    python3 images/sbom.py --package "airlock-$name" --target "$TARGET" \
        --binary "$BIN_DIR/airlock-$name" --rustflags "$RUSTFLAGS_STATIC" \
        --build-setting CARGO_PROFILE_RELEASE_STRIP=debuginfo "${debs[@]}" \
        --out "$OUT/$name.cdx.json"
done
rm -rf "$STORE" "$OUT/context"

for name in appliance bundler; do
    echo "$OUT/$name: $(du -sh "$OUT/$name" | cut -f1) (binary $(du -h "$BIN_DIR/airlock-$name" | cut -f1)), SBOM $OUT/$name.cdx.json" >&2
done
