"""Fetches an image's site verdict from an Airlock appliance's registry with oras-py.

Usage: oras_verdict.py HOST REPOSITORY TAG TOKEN CA_FILE OUT_FILE

Resolves the tag to its digest, lists the image's referrers (OCI 1.1 referrers API), picks the
one the appliance marks as its verdict, fetches that artifact manifest and its one layer (a
Sigstore bundle) into OUT_FILE, and prints {"digest", "referrers", "verdict"} as JSON.
"""

import json
import sys

import oras.provider

host, repository, tag, token, ca_file, out_file = sys.argv[1:7]
registry = oras.provider.Registry(hostname=host, tls_verify=ca_file)
registry.auth.set_basic_auth("machine", token)

head = registry.do_request(
    f"https://{host}/v2/{repository}/manifests/{tag}",
    "HEAD",
    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
)
head.raise_for_status()
digest = head.headers["Docker-Content-Digest"]

listing = registry.do_request(f"https://{host}/v2/{repository}/referrers/{digest}")
listing.raise_for_status()
referrers = listing.json()["manifests"]
verdict = next(
    r for r in referrers if r.get("annotations", {}).get("dev.airlock.evidence") == "site-verdict"
)
manifest = registry.get_manifest(f"{host}/{repository}@{verdict['digest']}")
layer = manifest["layers"][0]
container = registry.get_container(f"{host}/{repository}@{verdict['digest']}")
registry.download_blob(container, layer["digest"], out_file)
print(json.dumps({"digest": digest, "referrers": len(referrers), "verdict": verdict}))
