#!/usr/bin/env python3
"""Runs docs/examples/pull.c (the getting-started example) the way the guide
says, inside `registry_harness.py run --auth htpasswd --fixture small:v2s2`:

- with credentials in a Docker config.json, it pulls the fixture into a new
  OCI layout and prints "REFERENCE DIGEST"; the layout's index.json names
  that digest as "latest", with the registry's digest in the source
  annotation, and every blob the manifest names is there and hashes to its
  name;
- a second run finds everything in place and prints the same line;
- without credentials it fails with exit 1 and "authentication failed";
- the guide quotes the source file exactly (its ```c block).

    check-pull.py PULL_EXECUTABLE PULL_C GETTING_STARTED_MD
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys

SOURCE_ANNOTATION = "io.libregistry.source.digest"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def blob(layout, digest):
    alg, hexpart = digest.split(":", 1)
    path = os.path.join(layout, "blobs", alg, hexpart)
    if not os.path.isfile(path):
        fail(f"{digest} is not in {layout}")
    data = open(path, "rb").read()
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        fail(f"{path} does not hash to its name")
    return data


def run(exe, args, config_dir):
    env = dict(os.environ, DOCKER_CONFIG=config_dir, HOME=config_dir)
    r = subprocess.run([exe] + args, capture_output=True, text=True, env=env, timeout=120)
    print(f"$ {os.path.basename(exe)} {' '.join(args)}  -> exit {r.returncode}")
    print(r.stdout + r.stderr, end="")
    return r


def check_guide(source, guide):
    blocks = re.findall(r"^```c\n(.*?)^```$", open(guide, encoding="utf-8").read(), re.M | re.S)
    if blocks != [open(source, encoding="utf-8").read()]:
        fail(f"{guide} does not quote {source} exactly (one ```c block)")


def main():
    exe, source, guide = sys.argv[1:4]
    check_guide(source, guide)
    host = os.environ["REGISTRY_TEST_HOST"]
    tmp = os.environ["REGISTRY_TEST_TMPDIR"]
    served = os.environ["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"]
    image = f"{host}/fixtures/small-v2s2:latest"

    with_creds = os.path.join(tmp, "docker-with-creds")
    os.makedirs(with_creds)
    auth = base64.b64encode(("%s:%s" % (os.environ["REGISTRY_TEST_USER"],
                                        os.environ["REGISTRY_TEST_PASSWORD"])).encode()).decode()
    with open(os.path.join(with_creds, "config.json"), "w") as f:
        json.dump({"auths": {host: {"auth": auth}}}, f)
    no_creds = os.path.join(tmp, "docker-empty")
    os.makedirs(no_creds)

    layout = os.path.join(tmp, "small-oci")
    r = run(exe, [image, layout], with_creds)
    if r.returncode != 0:
        fail("the pull failed")
    words = r.stdout.split()
    if len(words) != 2 or words[0] != image or not words[1].startswith("sha256:"):
        fail(f"expected '{image} sha256:...', got {r.stdout!r}")
    digest = words[1]

    index = json.load(open(os.path.join(layout, "index.json")))
    entries = [m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"]
    if len(entries) != 1 or entries[0]["digest"] != digest:
        fail(f"index.json does not name {digest} as latest: {index}")
    if entries[0]["annotations"].get(SOURCE_ANNOTATION) != served:
        fail(f"the entry's {SOURCE_ANNOTATION} is not the registry's digest {served}")
    manifest = json.loads(blob(layout, digest))
    if manifest.get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
        fail(f"not an OCI manifest: {manifest.get('mediaType')}")
    for d in [manifest["config"]] + manifest["layers"]:
        if len(blob(layout, d["digest"])) != d["size"]:
            fail(f"{d['digest']} has not {d['size']} bytes")
    print(f"ok: {len(manifest['layers'])} layers and the config in {layout}")

    again = run(exe, [image, layout], with_creds)
    if again.returncode != 0 or again.stdout != r.stdout:
        fail("a second pull into the same layout did not give the same line")

    denied = run(exe, [image, os.path.join(tmp, "denied")], no_creds)
    if denied.returncode != 1 or not denied.stderr.startswith("authentication failed: "):
        fail("without credentials, expected exit 1 and 'authentication failed: ...'")
    print("ok: the example pulls with config.json credentials and fails cleanly without")


if __name__ == "__main__":
    main()
