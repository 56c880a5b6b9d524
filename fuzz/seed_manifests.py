#!/usr/bin/env python3
"""Writes seed manifests for the `manifest` fuzz target into the folder given (default
corpus/manifest): a minimal one and one using every field (trust, logs, file and OCI
artifacts, evidence). Corpora are not committed; run this before fuzzing."""

import hashlib
import json
import os
import sys


def digest(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


MINIMAL = {
    "version": 1,
    "archive_id": "0123456789abcdef0123456789abcdef",
    "created_at": "2026-11-22T12:00:00Z",
    "publisher": {"name": "p", "sequence": 0},
    "blobs": [],
}

FULL = {
    "version": 1,
    "archive_id": "0123456789abcdef0123456789abcdef",
    "created_at": "2026-11-22T12:00:00Z",
    "publisher": {"name": "release-team", "sequence": 7},
    "site": "plant-3",
    "notes": "first line\n\ttabbed",
    "trust": [
        {
            "name": "sigstore-public-good",
            "metadata": [{"path": "1.root.json", "digest": digest("root")}],
            "targets": [{"path": "trusted_root.json", "digest": digest("tr")}],
        }
    ],
    "logs": [
        {
            "origin": "log.example/1",
            "checkpoint": "log.example/1\n5\nAAAA\n",
            "hashes": ["00" * 32, "11" * 32],
            "consistency": [
                {"from_size": 3, "to_size": 5, "path": [0, 1]},
                {"from_size": 4, "to_size": 5, "path": [1]},
            ],
        }
    ],
    "artifacts": [
        {
            "name": "tool",
            "kind": "file",
            "digest": digest("tool"),
            "size": 4,
            "media_type": "application/octet-stream",
            "files": [{"path": "tool.bin", "digest": digest("tool")}],
            "evidence": {"bundles": [digest("bundle")], "attestations": [], "sboms": []},
        },
        {
            "name": "image",
            "kind": "oci-image",
            "digest": digest("x"),
            "size": 6,
            "media_type": "application/vnd.oci.image.manifest.v1+json",
            "files": [
                {"path": "oci-layout", "digest": digest("ol")},
                {"path": "index.json", "digest": digest("idx")},
                {"path": "blobs/sha256/" + digest("x")[7:], "digest": digest("x")},
            ],
        },
    ],
    # Sizes are the lengths of the strings hashed, so artifact sizes add up.
    "blobs": [
        {"digest": digest(s), "size": len(s)}
        for s in ["root", "tr", "tool", "bundle", "ol", "idx", "x"]
    ],
}

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/manifest"
os.makedirs(out, exist_ok=True)
for name, manifest in [("minimal.json", MINIMAL), ("full.json", FULL)]:
    with open(os.path.join(out, name), "w") as f:
        f.write(json.dumps(manifest, separators=(",", ":")))
