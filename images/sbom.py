#!/usr/bin/env python3
"""A CycloneDX 1.5 SBOM (JSON) of the crates linked into one of the workspace's binaries.

The crate set and its edges are cargo's own feature-resolved graph for building PACKAGE for
TARGET with normal dependencies only (`cargo tree -e normal,no-proc-macro`): build scripts,
proc macros and dev-dependencies run at build time and are not in the binary. Packages built
in the same `cargo build` unify features, so pass them with `--built-with`: the graph is then
cargo's for all of them, and the SBOM lists what PACKAGE reaches in it. Licenses,
descriptions and repositories come from `cargo metadata --locked`, each crate's SHA-256 from
Cargo.lock (the digest of the .crate file cargo verified). The binary itself is the
metadata component, with its SHA-256, so the SBOM names exactly the file in the image.
Debian packages whose files are linked in or copied beside the binary (static glibc, the CA
bundle) are listed with `--deb NAME=WHY`, and the Rust standard library with rustc's version.

Deterministic: the serial number is derived from the binary's digest and the timestamp is
SOURCE_DATE_EPOCH when set.

    images/sbom.py --package airlock-appliance --built-with airlock-bundler \
        --target x86_64-unknown-linux-gnu --binary target/static/.../airlock-appliance \
        --deb 'libc6-dev=statically linked' --out target/images/appliance.cdx.json
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
import uuid

# `cargo tree --prefix depth --format {p}` lines: depth, name, version, an optional source in
# parentheses (path, git or another registry; none for crates.io), and " (*)" after it when
# the subtree was printed before.
TREE_LINE = re.compile(r"^(\d+)(\S+) v(\S+)(?: \((.+)\))?$")
SEEN_BEFORE = " (*)"


def run(*args: str, cwd: str) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def crate_graph(root: str, package: str, built_with: list[str], target: str):
    """(nodes, edges) of PACKAGE's normal, linked dependency graph, PACKAGE first."""
    selection = [arg for p in [package, *built_with] for arg in ("--package", p)]
    out = run(
        "cargo", "tree", "--locked", *selection, "--target", target,
        "--edges", "normal,no-proc-macro", "--prefix", "depth", "--format", "{p}",
        cwd=root,
    )
    nodes: list[tuple[str, str, str]] = []
    edges: dict[tuple[str, str, str], set] = {}
    stack: list[tuple[str, str, str]] = []
    top = None
    for line in out.splitlines():
        if not line:  # between the trees of several packages
            continue
        m = TREE_LINE.match(line.removesuffix(SEEN_BEFORE))
        if not m:
            sys.exit(f"sbom.py: unexpected cargo tree line: {line!r}")
        depth = int(m.group(1))
        key = (m.group(2), m.group(3), m.group(4) or "")
        if key not in edges:
            nodes.append(key)
            edges[key] = set()
        if depth == 0 and key[0] == package:
            top = key
        del stack[depth:]
        if stack:
            edges[stack[-1]].add(key)
        stack.append(key)
    if top is None:
        sys.exit(f"sbom.py: cargo tree printed no tree for {package}")
    # The crates PACKAGE reaches, PACKAGE first, the others in the order cargo printed them.
    reached, todo = {top}, [top]
    while todo:
        for dep in edges[todo.pop()]:
            if dep not in reached:
                reached.add(dep)
                todo.append(dep)
    nodes = [top] + [n for n in nodes if n in reached and n != top]
    return nodes, {n: edges[n] for n in nodes}


def metadata_packages(root: str, target: str):
    meta = json.loads(run(
        "cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target,
        cwd=root,
    ))
    by_name_version: dict[tuple[str, str], list] = {}
    for pkg in meta["packages"]:
        by_name_version.setdefault((pkg["name"], pkg["version"]), []).append(pkg)
    return meta["workspace_root"], by_name_version


def lock_checksums(root: str) -> dict[tuple[str, str], str]:
    with open(os.path.join(root, "Cargo.lock"), "rb") as f:
        lock = tomllib.load(f)
    return {
        (p["name"], p["version"]): p["checksum"]
        for p in lock.get("package", [])
        if "checksum" in p
    }


def license_entry(pkg: dict) -> list:
    if pkg.get("license"):
        # Old manifests separate alternatives with "/"; SPDX says OR.
        expression = " OR ".join(part.strip() for part in pkg["license"].split("/"))
        return [{"expression": expression}]
    if pkg.get("license_file"):
        return [{"license": {"name": "see the crate's " + os.path.basename(pkg["license_file"])}}]
    return []


def crate_component(key, pkg: dict, workspace_root: str, checksums: dict, ref: str) -> dict:
    name, version, _ = key
    component = {"type": "library", "bom-ref": ref, "name": name, "version": version}
    if pkg.get("description"):
        component["description"] = " ".join(pkg["description"].split())
    licenses = license_entry(pkg)
    if licenses:
        component["licenses"] = licenses
    source = pkg.get("source")
    if source is None:
        # A workspace crate: no registry identity, only where it lives in this repository.
        manifest = os.path.relpath(pkg["manifest_path"], workspace_root)
        component["properties"] = [{"name": "airlock:cargo:workspace-manifest", "value": manifest}]
    elif source.startswith("registry+https://github.com/rust-lang/crates.io-index"):
        component["purl"] = f"pkg:cargo/{name}@{version}"
    else:
        component["purl"] = f"pkg:cargo/{name}@{version}"
        component["properties"] = [{"name": "airlock:cargo:source", "value": source}]
    if (name, version) in checksums:
        component["hashes"] = [{"alg": "SHA-256", "content": checksums[(name, version)]}]
    refs = []
    if pkg.get("repository"):
        refs.append({"type": "vcs", "url": pkg["repository"]})
    if pkg.get("homepage"):
        refs.append({"type": "website", "url": pkg["homepage"]})
    if refs:
        component["externalReferences"] = refs
    return component


def deb_component(spec: str) -> dict:
    name, _, why = spec.partition("=")
    version, arch = run("dpkg-query", "-W", "-f", "${Version} ${Architecture}", name, cwd="/").split()
    component = {
        "type": "library",
        "bom-ref": f"deb:{name}@{version}",
        "name": name,
        "version": version,
        "purl": f"pkg:deb/debian/{name}@{version}?arch={arch}",
    }
    if why:
        component["description"] = why
    return component


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, help="the binary's cargo package")
    parser.add_argument("--built-with", action="append", default=[], metavar="PACKAGE",
                        help="another package the same cargo build built (features unify)")
    parser.add_argument("--target", required=True, help="the target triple it was built for")
    parser.add_argument("--binary", required=True, help="the built binary (hashed)")
    parser.add_argument("--rustflags", default="", help="RUSTFLAGS it was built with (recorded)")
    parser.add_argument("--build-setting", action="append", default=[], metavar="VAR=VALUE",
                        help="another setting it was built with (recorded)")
    parser.add_argument("--deb", action="append", default=[], metavar="NAME=WHY",
                        help="a Debian package whose files are in the binary or the image")
    parser.add_argument("--out", required=True)
    parser.add_argument("--workspace", default=".", help="the cargo workspace (default: .)")
    args = parser.parse_args()

    root = os.path.abspath(args.workspace)
    nodes, edges = crate_graph(root, args.package, args.built_with, args.target)
    workspace_root, packages = metadata_packages(root, args.target)
    checksums = lock_checksums(root)

    refs: dict[tuple[str, str, str], str] = {}
    for key in nodes:
        ref = f"{key[0]}@{key[1]}"
        refs[key] = ref if ref not in refs.values() else f"{ref}+{key[2]}"

    def package_of(key) -> dict:
        candidates = packages.get((key[0], key[1]), [])
        if key[2]:  # a path, git or other-registry crate: match on where it comes from
            candidates = [p for p in candidates if p.get("source") is None
                          or key[2] in (p.get("source") or "")] or candidates
        else:
            candidates = [p for p in candidates if p.get("source") is not None] or candidates
        if not candidates:
            sys.exit(f"sbom.py: {key[0]} {key[1]} is in cargo tree but not in cargo metadata")
        return candidates[0]

    top_key = nodes[0]
    top_pkg = package_of(top_key)
    binary_digest = sha256_file(args.binary)
    rustc = dict(
        line.split(": ", 1) for line in run("rustc", "-vV", cwd=root).splitlines() if ": " in line
    )

    top = {
        "type": "application",
        "bom-ref": refs[top_key],
        "name": os.path.basename(args.binary),
        "version": top_key[1],
        "hashes": [{"alg": "SHA-256", "content": binary_digest}],
        "properties": [
            {"name": "airlock:cargo:package", "value": args.package},
            {"name": "airlock:build:target", "value": args.target},
            {"name": "airlock:build:rustflags", "value": args.rustflags},
            {"name": "airlock:build:rustc", "value": f"{rustc.get('release')} ({rustc.get('commit-hash')})"},
        ] + [{"name": "airlock:build:setting", "value": s} for s in args.build_setting],
    }
    if top_pkg.get("description"):
        top["description"] = " ".join(top_pkg["description"].split())
    if license_entry(top_pkg):
        top["licenses"] = license_entry(top_pkg)

    std = {
        "type": "library",
        "bom-ref": f"rust-std@{rustc.get('release')}",
        "name": "rust-std",
        "version": rustc.get("release", "unknown"),
        "description": "the Rust standard library (core, alloc, std), linked statically",
        "licenses": [{"expression": "MIT OR Apache-2.0"}],
        "purl": f"pkg:generic/rust-std@{rustc.get('release')}",
    }
    debs = [deb_component(spec) for spec in args.deb]

    components = [
        crate_component(key, package_of(key), workspace_root, checksums, refs[key])
        for key in nodes[1:]
    ] + [std] + debs
    dependencies = [
        {"ref": refs[key], "dependsOn": sorted(refs[d] for d in edges[key])} for key in nodes
    ]
    for dep in dependencies:
        if dep["ref"] == refs[top_key]:
            dep["dependsOn"] = sorted(dep["dependsOn"] + [std["bom-ref"]] + [d["bom-ref"] for d in debs])
    dependencies += [{"ref": c["bom-ref"], "dependsOn": []} for c in [std] + debs]

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"airlock-sbom:{args.package}:{binary_digest}")),
        "version": 1,
        "metadata": {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "airlock images/sbom.py"}]},
            "component": top,
        },
        "components": components,
        "dependencies": dependencies,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(bom, f, indent=2, sort_keys=False)
        f.write("\n")
    print(f"{args.out}: {len(components)} components ({len(nodes) - 1} crates)", file=sys.stderr)


if __name__ == "__main__":
    main()
