#!/usr/bin/env bash
# The image test (CI runs it from .ci/run): builds both images with images/build.sh, checks
# their OCI layouts (skopeo, and every blob's digest and size), unpacks each image's one layer
# with plain tar and checks what is in it, then runs the binaries from the unpacked image:
# `--version`; the appliance's `init` into a fresh data folder, then `serve` chrooted into the
# image's root mounted read-only, as uid 65532, with only the data folder writable (what
# `podman run --read-only -v airlock-data:/data` gives), `/healthz` and the first sign-in over
# HTTPS, and a clean stop on SIGTERM; the bundler's `keygen` the same way into its /work.
#
# Needs root (mount namespace, chroot), buildah, skopeo, curl, openssl, python3:
#   apt-get install buildah skopeo curl openssl ca-certificates
# Prints one line per check and "N passed, N failed"; exits 1 if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
passed=0
failed=0
# check DESCRIPTION COMMAND...: runs COMMAND and counts it.
check() {
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok: $what"
    else
        failed=$((failed + 1))
        echo "FAILED: $what" >&2
    fi
}
die() {
    echo "images/test.sh: $*" >&2
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
}

for tool in buildah skopeo curl openssl python3 unshare chroot setpriv tar; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ "$(id -u)" = 0 ] || die "needs root (mount namespace and chroot)"

OUT=target/images
BIN_DIR=target/static/x86_64-unknown-linux-gnu/release
VERSION=$(cargo metadata --format-version 1 --locked --no-deps \
    | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "airlock-appliance"))')

echo "== images/build.sh"
build_started=$(date +%s)
bash images/build.sh || die "images/build.sh failed"
echo "build.sh took $(($(date +%s) - build_started)) s"

WORK=$(mktemp -d /tmp/airlock-images.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
# The unprivileged user (65532) must reach the files handed to it.
chmod 0755 "$WORK"

# inspect_ok NAME: skopeo reads the layout and its tag; the version label is the crate's.
inspect_ok() {
    skopeo inspect "oci:$OUT/$1:latest" >"$WORK/$1.inspect.json" &&
        python3 -c 'import json, sys
i = json.load(open(sys.argv[1]))
sys.exit(0 if i["Labels"]["org.opencontainers.image.version"] == sys.argv[2] else 1)' "$WORK/$1.inspect.json" "$VERSION"
}

# layout_ok NAME: the OCI layout's index, manifest, config and layer blobs exist with the
# digests and sizes that name them; one linux/amd64 manifest with exactly one layer, whose
# blob path is written to $WORK/NAME.layer.
layout_ok() {
    python3 - "$OUT/$1" >"$WORK/$1.layer" <<'EOF'
import hashlib, json, os, sys
root = sys.argv[1]
def blob(desc, media_prefix):
    algo, hexdigest = desc["digest"].split(":")
    path = os.path.join(root, "blobs", algo, hexdigest)
    data = open(path, "rb").read()
    assert algo == "sha256" and hashlib.sha256(data).hexdigest() == hexdigest, f"{path}: digest"
    assert len(data) == desc["size"], f"{path}: size {len(data)} != {desc['size']}"
    assert desc["mediaType"].startswith(media_prefix), desc["mediaType"]
    return data
assert json.load(open(os.path.join(root, "oci-layout")))["imageLayoutVersion"] == "1.0.0"
index = json.load(open(os.path.join(root, "index.json")))
assert len(index["manifests"]) == 1, index
desc = index["manifests"][0]
assert desc["annotations"]["org.opencontainers.image.ref.name"] == "latest", desc
manifest = json.loads(blob(desc, "application/vnd.oci.image.manifest.v1+json"))
config = json.loads(blob(manifest["config"], "application/vnd.oci.image.config.v1+json"))
assert (config["os"], config["architecture"]) == ("linux", "amd64"), config
assert len(manifest["layers"]) == 1, manifest["layers"]
for layer in manifest["layers"]:
    blob(layer, "application/vnd.oci.image.layer.v1.tar")
    print(os.path.join(root, "blobs", *layer["digest"].split(":")))
EOF
}

# config_ok NAME JSON-CHECK: skopeo's view of the image config passes the Python expression.
config_ok() {
    skopeo inspect --config "oci:$OUT/$1:latest" >"$WORK/$1.config.json" || return 1
    python3 - "$WORK/$1.config.json" "$2" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
ok = eval("(" + sys.argv[2] + ")", {"c": c})
if not ok:
    print(json.dumps(c, indent=1), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# contents_ok NAME EXPECTED...: NAME's layer holds exactly these entries ("path uid:gid
# mode"), nothing else (no shell, no libraries).
contents_ok() {
    local layer
    layer=$(cat "$WORK/$1.layer")
    shift
    python3 - "$layer" "$@" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    seen = sorted(f"{m.name.rstrip('/')} {m.uid}:{m.gid} {m.mode & 0o7777:04o}" for m in t.getmembers())
want = sorted(sys.argv[2:])
if seen != want:
    print("layer has:", *seen, "expected:", *want, sep="\n  ", file=sys.stderr)
sys.exit(0 if seen == want else 1)
EOF
}

# sbom_ok NAME BINARY MUST-HAVE...: the SBOM is CycloneDX, names the binary by its digest,
# lists the given crates with their Cargo.lock SHA-256 and a dependency entry for each.
sbom_ok() {
    python3 - "$OUT/$1.cdx.json" "$2" "${@:3}" <<'EOF'
import hashlib, json, sys, tomllib
bom = json.load(open(sys.argv[1]))
digest = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5", bom["specVersion"]
assert bom["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": digest}]
lock = {(p["name"], p["version"]): p.get("checksum") for p in tomllib.load(open("Cargo.lock", "rb"))["package"]}
names = {c["name"] for c in bom["components"]}
for need in sys.argv[3:]:
    assert need in names, f"{need} not in the SBOM"
for c in bom["components"]:
    if c.get("purl", "").startswith("pkg:cargo/"):
        assert c["hashes"][0]["content"] == lock[(c["name"], c["version"])], c["name"]
refs = {d["ref"] for d in bom["dependencies"]}
assert refs == {c["bom-ref"] for c in bom["components"]} | {bom["metadata"]["component"]["bom-ref"]}
print(f"{sys.argv[1]}: {len(bom['components'])} components", file=sys.stderr)
EOF
}

is_static() {
    ! readelf -lW "$1" | grep -q 'Requesting program interpreter' && ! readelf -dW "$1" | grep -q '(NEEDED)'
}

same_file() { cmp -s "$1" "$2"; }

version_is() {
    local got
    got=$("$1" --version) && [ "$got" = "$2" ] || { echo "--version said: ${got:-nothing}" >&2; return 1; }
}

for name in appliance bundler; do
    echo "== airlock-$name"
    check "$name: skopeo inspect reads oci:$OUT/$name:latest" inspect_ok "$name"
    check "$name: layout blobs match their digests; one linux/amd64 layer" layout_ok "$name"
    [ -s "$WORK/$name.layer" ] || die "$name: no layer to unpack"
    mkdir -p "$WORK/$name-rootfs"
    # The layer blob is a (gzip-compressed) tar: unpack it as it is, owners and modes kept.
    tar -xf "$(cat "$WORK/$name.layer")" -C "$WORK/$name-rootfs" --numeric-owner --same-owner --same-permissions \
        || die "$name: cannot unpack the layer"
    check "$name: the binary in the image is the static build" \
        same_file "$WORK/$name-rootfs/usr/local/bin/airlock-$name" "$BIN_DIR/airlock-$name"
    check "$name: statically linked" is_static "$WORK/$name-rootfs/usr/local/bin/airlock-$name"
    check "$name: --version" \
        version_is "$WORK/$name-rootfs/usr/local/bin/airlock-$name" "airlock-$name $VERSION"
    check "$name: SBOM names the binary and its crates" \
        sbom_ok "$name" "$BIN_DIR/airlock-$name" airlock-trust-root aws-lc-sys rustls libc6-dev rust-std
done

sbom_lacks() {
    python3 - "$OUT/$1.cdx.json" "${@:2}" <<'EOF'
import json, sys
names = {c["name"] for c in json.load(open(sys.argv[1]))["components"]}
linked = sorted(names & set(sys.argv[2:]))
assert not linked, f"the SBOM lists {linked}"
EOF
}
check "appliance: no network client, progress bar or prompt linked (SBOM)" \
    sbom_lacks appliance ureq indicatif rpassword
check "bundler: its HTTPS client is linked (SBOM)" sbom_ok bundler "$BIN_DIR/airlock-bundler" ureq

check "appliance: config (uid 65532, entrypoint, serve on 0.0.0.0:8443, /data volume)" config_ok appliance \
    'c["User"] == "65532:65532" and c["Entrypoint"] == ["/usr/local/bin/airlock-appliance"]
     and c["Cmd"] == ["serve", "--listen", "0.0.0.0:8443"] and "AIRLOCK_DATA=/data" in c["Env"]
     and list(c["Volumes"]) == ["/data"] and c["WorkingDir"] == "/data"
     and list(c["ExposedPorts"]) == ["8443/tcp"]'
check "bundler: config (uid 65532, entrypoint, /work volume)" config_ok bundler \
    'c["User"] == "65532:65532" and c["Entrypoint"] == ["/usr/local/bin/airlock-bundler"]
     and list(c["Volumes"]) == ["/work"] and c["WorkingDir"] == "/work"'
check "appliance: layer holds only the binary, passwd, group and /data" contents_ok appliance \
    "data 65532:65532 0700" "etc 0:0 0755" "etc/group 0:0 0644" "etc/passwd 0:0 0644" \
    "usr 0:0 0755" "usr/local 0:0 0755" "usr/local/bin 0:0 0755" "usr/local/bin/airlock-appliance 0:0 0755"
check "bundler: layer holds only the binary, CA bundle, passwd, group, /tmp and /work" contents_ok bundler \
    "work 65532:65532 0700" "tmp 0:0 1777" "etc 0:0 0755" "etc/group 0:0 0644" "etc/passwd 0:0 0644" \
    "etc/ssl 0:0 0755" "etc/ssl/certs 0:0 0755" "etc/ssl/certs/ca-certificates.crt 0:0 0644" \
    "usr 0:0 0755" "usr/local 0:0 0755" "usr/local/bin 0:0 0755" "usr/local/bin/airlock-bundler 0:0 0755"

# in_image NAME VOLUME ENV... -- COMMAND...: execs COMMAND chrooted into NAME's unpacked
# root, which is bind-mounted read-only in a private mount namespace, with VOLUME (a host
# folder) mounted writable on the image's /data or /work, as uid/gid 65532, with only ENV
# set. It replaces the shell it runs in: call it in a subshell or in the background (then $!
# is COMMAND's own pid).
in_image() {
    local root=$WORK/$1-rootfs volume=$2 mountpoint=/data
    [ "$1" = bundler ] && mountpoint=/work
    shift 2
    local env=()
    while [ "$1" != -- ]; do env+=("$1"); shift; done
    shift
    exec unshare --mount --propagation private -- /bin/sh -euc '
        root=$1 volume=$2 mountpoint=$3; shift 3
        mount --bind "$root" "$root"
        mount -o remount,bind,ro "$root"
        mount --bind "$volume" "$root$mountpoint"
        exec "$@"
    ' sh "$root" "$volume" "$mountpoint" \
        env -i "${env[@]}" "$(command -v chroot)" --userspec=65532:65532 "$root" "$@"
}

echo "== appliance: init, serve on a read-only root, /healthz, sign-in"
# A TUF root as a site pins one: one ed25519 root key, threshold 1, signed over the
# canonical JSON of "signed" (openssl signs, Python writes the JSON).
openssl genpkey -algorithm ed25519 -out "$WORK/tuf-root.key" 2>/dev/null || die "openssl genpkey"
python3 - "$WORK" <<'EOF' || die "cannot mint the test TUF root"
import hashlib, json, subprocess, sys
work = sys.argv[1]
der = subprocess.run(["openssl", "pkey", "-in", f"{work}/tuf-root.key", "-pubout", "-outform", "DER"],
                     check=True, capture_output=True).stdout
key = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": der[-32:].hex()}}
canonical = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")).encode()
keyid = hashlib.sha256(canonical(key)).hexdigest()
role = {"keyids": [keyid], "threshold": 1}
signed = {"_type": "root", "spec_version": "1.0.0", "version": 1, "consistent_snapshot": True,
          "expires": "2099-01-01T00:00:00Z", "keys": {keyid: key},
          "roles": {r: role for r in ("root", "snapshot", "targets", "timestamp")}}
open(f"{work}/signed.json", "wb").write(canonical(signed))
sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", f"{work}/tuf-root.key",
                      "-in", f"{work}/signed.json"], check=True, capture_output=True).stdout
json.dump({"signed": signed, "signatures": [{"keyid": keyid, "sig": sig.hex()}]},
          open(f"{work}/root.json", "w"), indent=1)
EOF
head -c 24 /dev/urandom | base64 | tr -d '+/=' >"$WORK/admin-password"
chmod 0644 "$WORK/root.json" "$WORK/admin-password"
install -d -o 65532 -g 65532 -m 0700 "$WORK/data"
APPLIANCE=$WORK/appliance-rootfs/usr/local/bin/airlock-appliance
check "appliance: init as uid 65532 into an empty data folder" \
    setpriv --reuid 65532 --regid 65532 --clear-groups -- "$APPLIANCE" init --data "$WORK/data" \
    --tuf-root "test=$WORK/root.json" --admin-password-file "$WORK/admin-password"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
in_image appliance "$WORK/data" AIRLOCK_DATA=/data -- \
    /usr/local/bin/airlock-appliance serve --listen "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER_PID=$!
healthz() { curl -sSk --max-time 5 -o "$WORK/healthz.json" -w '%{http_code}' "https://127.0.0.1:$PORT/healthz"; }
# Wait for the listener: up to 60 s, stopping early if the server died.
for _ in $(seq 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    [ "$(healthz 2>/dev/null)" = 200 ] && break
    sleep 0.1
done
healthz_ok() {
    [ "$(healthz)" = 200 ] && python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
sys.exit(0 if h == {"status": "ok", "version": sys.argv[2]} else 1)' "$WORK/healthz.json" "$VERSION"
}
check "appliance: serve from the read-only image root as 65532, GET /healthz 200 ok" healthz_ok
tls13_only() {
    ! curl -sk --max-time 5 --tls-max 1.2 -o /dev/null "https://127.0.0.1:$PORT/healthz" 2>/dev/null
}
check "appliance: refuses TLS 1.2" tls13_only
sign_in_ok() {
    python3 -c 'import json, sys; print(json.dumps({"name": "admin", "password": open(sys.argv[1]).read().strip()}))' \
        "$WORK/admin-password" >"$WORK/sign-in.json"
    curl -sSkf --max-time 10 -H 'content-type: application/json' --data-binary "@$WORK/sign-in.json" \
        "https://127.0.0.1:$PORT/api/v1/session" >"$WORK/session.json" &&
        python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if s["role"] == "admin" and s["token"] else 1)' \
            "$WORK/session.json"
}
check "appliance: first sign-in as admin (POST /api/v1/session)" sign_in_ok
stopped_cleanly() {
    kill -TERM "$SERVER_PID" && wait "$SERVER_PID"
    local rc=$?
    SERVER_PID=
    return $rc
}
check "appliance: stops with exit 0 on SIGTERM" stopped_cleanly
check "appliance: wrote its database in the data volume, owned by 65532" \
    test "$(stat -c %u:%g "$WORK/data/airlock.db")" = 65532:65532
if [ "$failed" -gt 0 ]; then sed 's/^/  serve: /' "$WORK/serve.log" >&2; fi

echo "== bundler: keygen on a read-only root"
install -d -o 65532 -g 65532 -m 0700 "$WORK/work"
keygen_ok() {
    (in_image bundler "$WORK/work" AIRLOCK_KEY_PASSPHRASE=image-test -- \
        /usr/local/bin/airlock-bundler keygen --out /work/publisher) >"$WORK/keygen.out" &&
        test -s "$WORK/work/publisher.key" && test -s "$WORK/work/publisher.pub"
}
check "bundler: keygen writes NAME.key/.pub into /work as 65532" keygen_ok

echo "== demo: the appliance verifies its own image"
demo_ok() {
    cargo run -q --locked -p airlock-tests --bin airlock-demo -- \
        --no-serve --out "$WORK/demo" --image "$OUT/appliance" >"$WORK/demo.out" 2>&1 &&
        grep -q "passed  airlock-appliance:" "$WORK/demo.out"
}
check "demo: the archive carries the appliance image, and the appliance passes it" demo_ok
if ! grep -q "passed  airlock-appliance:" "$WORK/demo.out" 2>/dev/null; then
    sed 's/^/  demo: /' "$WORK/demo.out" >&2 || true
fi

ls -l "$OUT"
du -sh "$OUT/appliance" "$OUT/bundler"
echo "images/test.sh took $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
