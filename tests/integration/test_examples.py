#!/usr/bin/python3
"""The example programs, each run with real arguments against the harness
registry (tests/harness/registry_harness.py), their output checked against
what the registry and skopeo say.

    test_examples.py CASE EXAMPLES_BUILD_DIR

Cases: usage, tags, inspect, delete, auth, pull, push, copy, enospc, signals. A case whose
program was not built (its library function is not exported yet) skips (77).
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = None
FAILURES = []

SMALL = "fixtures/small-v2s2"
MULTI = "fixtures/multi-v2s2"
NTAGS = 250
MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, file=sys.stderr)


def prog(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        print(f"SKIP: {name} is not built (its library function is not exported yet)")
        sys.exit(77)
    return path


def run(name, *args, stdin=None, env=None, expect=0):
    """Run an example; check its exit status; return (stdout bytes, stderr text)."""
    cmd = [prog(name), *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=300)
    err = p.stderr.decode(errors="replace")
    check(expect is None or p.returncode == expect,
          f"{' '.join(shlex.quote(a) for a in cmd)}: exit {p.returncode}, expected {expect}; stderr: {err.strip()}")
    return p.stdout, err


def login():
    """--username/--password-stdin arguments and stdin for the harness user (none in open mode)."""
    user = os.environ.get("REGISTRY_TEST_USER")
    if not user:
        return [], None
    return ["--username", user, "--password-stdin"], os.environ["REGISTRY_TEST_PASSWORD"].encode()


def run_as_user(name, *args, expect=0):
    extra, stdin = login()
    return run(name, *extra, *args, stdin=stdin, expect=expect)


def host():
    return os.environ["REGISTRY_TEST_HOST"]


def skopeo(*args, global_args=()):
    base = shlex.split(os.environ["REGISTRY_TEST_SKOPEO"]) + list(global_args)
    inspect_args = shlex.split(os.environ.get("REGISTRY_TEST_SKOPEO_INSPECT_ARGS", ""))
    sub, rest = args[0], list(args[1:])
    return subprocess.run(base + [sub] + (inspect_args if sub in ("inspect", "list-tags", "delete") else [])
                          + rest, capture_output=True, timeout=300)


def raw_manifest(repo, ref):
    p = skopeo("inspect", "--raw", f"docker://{host()}/{repo}:{ref}")
    check(p.returncode == 0, f"skopeo inspect --raw {repo}:{ref}: {p.stderr.decode()}")
    return p.stdout


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def api(method, path, body=None, content_type=None):
    """A plain HTTP request to the open (auth none) harness registry."""
    req = urllib.request.Request(os.environ["REGISTRY_TEST_URL"] + path, data=body, method=method)
    req.add_header("Accept", MANIFEST_ACCEPT)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read(), resp.headers


def expected_tags():
    return sorted(["latest"] + [f"t{i:03d}" for i in range(NTAGS)])


# ---- cases -------------------------------------------------------------------

def case_usage():
    """Usage errors exit 2 without touching the network; --help exits 0."""
    for name in ("registry-tags", "registry-inspect", "registry-delete"):
        out, _ = run(name, "--help")
        text = out.decode()
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMON OPTIONS", "EXIT STATUS"):
            check(section in text, f"{name} --help lacks {section}")
        check(f"{name} [OPTIONS]" in text, f"{name} --help lacks the synopsis")
        run(name, expect=2)
        _, err = run(name, "--no-such-option", "x", expect=2)
        check("unknown option '--no-such-option'" in err, f"{name}: message for an unknown option: {err}")
        run(name, "--jobs", "0", "localhost:1/x", expect=2)
        run(name, "--jobs", "many", "localhost:1/x", expect=2)
        run(name, "--platform", "linux", "localhost:1/x", expect=2)
        _, err = run(name, "--platform", "windows(10.0/amd64", "localhost:1/x", expect=2)
        check("lacks its ')'" in err, f"{name}: the parser's message for a bad --platform: {err}")
        run(name, "--password-stdin", "localhost:1/x", stdin=b"pw", expect=2)
        run(name, "--username", "u", "localhost:1/x", expect=2)
        _, err = run(name, "localhost:1/UPPER", expect=2)
        check("lowercase" in err, f"{name}: the library's message for a bad reference: {err}")
        run(name, "localhost:1/a", "localhost:1/b", "localhost:1/c", expect=2)
    run("registry-tags", "--page-size", "0", "localhost:1/x", expect=2)
    run("registry-inspect", "--raw", "--digest", "localhost:1/x", expect=2)
    run("registry-inspect", "--file", "/dev/null", "localhost:1/x", expect=2)
    run("registry-inspect", "--media-type", "a/b", "localhost:1/x", expect=2)
    run("registry-inspect", "--platform", "linux/amd64", "--file", "/dev/null", expect=2)
    run("registry-inspect", "--raw=yes", "localhost:1/x", expect=2)
    # A failure of the library (nothing listens there) is 1, with its message.
    _, err = run("registry-tags", "127.0.0.1:1/x", expect=1)
    check(err.startswith("registry-tags: x: ") and len(err.strip()) > len("registry-tags: x: "),
          f"registry-tags: failure message: {err}")
    for name, args in (("registry-pull", ["--format", "zip", "localhost:1/x", "dest"]),
                       ("registry-push", ["--platform", "linux/amd64", "dir", "localhost:1/x"]),
                       ("registry-copy", ["--all-platforms", "--platform", "linux/amd64",
                                          "localhost:1/x", "localhost:1/y"])):
        if os.access(os.path.join(BIN, name), os.X_OK):
            run(name, *args, expect=2)
            run(name, "--help")
    # --header: the library refuses a header it writes itself (1, its message).
    _, err = run("registry-tags", "--header", "Authorization: Basic eA==", "127.0.0.1:1/x",
                 expect=1)
    check("Authorization" in err and "eA==" not in err, f"registry-tags --header: {err}")
    run("registry-tags", "--header", "localhost:1/x", expect=2)  # the value is missing
    # Errors (issue 14): an image author's strings reach the terminal escaped.
    # DEL, C1 (CSI U+009B) and a bidi override in an annotation: cJSON passes
    # them raw; registry-inspect prints them as \uNNNN (the same JSON).
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                      "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
           "layers": [], "annotations": {"x": "a\u009b2J\u001b[31m\u202eb\u007f"}}
    with tempfile.NamedTemporaryFile(dir=os.environ.get("REGISTRY_TEST_TMPDIR")) as f:
        f.write(json.dumps(doc).encode())
        f.flush()
        out, _ = run("registry-inspect", "--file", f.name)
        raw = [b for b in (b"\x1b", b"\x7f", b"\xc2\x9b", b"\xe2\x80\xae") if b in out]
        check(not raw, f"registry-inspect printed terminal controls raw: {raw}")
        check(json.loads(out)["annotations"] == doc["annotations"], f"escaped JSON differs: {out!r}")
    # --json escapes the same, in the library's JSON and in its own strings
    # (here a file name with quotes, a backslash, ESC, CSI and a bidi override).
    with tempfile.NamedTemporaryFile(dir=os.environ.get("REGISTRY_TEST_TMPDIR"),
                                     suffix='-"q\\\x1b[2J\u009b\u202e') as f:
        f.write(json.dumps(doc).encode())
        f.flush()
        out, _ = run("registry-inspect", "--json", "--file", f.name)
        raw = [b for b in (b"\x1b", b"\x7f", b"\xc2\x9b", b"\xe2\x80\xae") if b in out]
        check(not raw, f"registry-inspect --json printed terminal controls raw: {raw}")
        got = json.loads(out)
        check(got["manifest"]["annotations"] == doc["annotations"] and got["inspected"] == f.name,
              f"--json escaping: {out!r}")


def case_tags():
    """250 tags pushed; listed in pages of 100 through the fault proxy (which
    pages tags lists as registry 2.8 does not), and straight from the registry."""
    raw, headers = api("GET", f"/v2/{SMALL}/manifests/latest")
    ctype = headers["Content-Type"]
    for i in range(NTAGS):
        api("PUT", f"/v2/{SMALL}/manifests/t{i:03d}", raw, ctype)
    proxy = os.environ["REGISTRY_TEST_PROXY_HOST"]
    out, _ = run("registry-tags", "--page-size", "100", f"{proxy}/{SMALL}")
    lines = out.decode().splitlines()
    check(lines == expected_tags(), f"paged tags: {len(lines)} lines, first {lines[:3]}")
    check(len(set(lines)) == len(lines), "paged tags repeat")
    with open(os.environ["REGISTRY_TEST_PROXY_LOG"]) as f:
        pages = [json.loads(line) for line in f]
    pages = [e for e in pages if "/tags/list" in e["path"] and e["status"] == 200]
    check([e["path"].split("?")[1] for e in pages] == ["n=100", "last=t098&n=100", "last=t198&n=100"],
          f"pages fetched: {[e['path'] for e in pages]}")
    # The registry itself: everything in one answer, in its own order.
    out, _ = run("registry-tags", f"{host()}/{SMALL}:ignored-tag")
    lines = out.decode().splitlines()
    check(sorted(lines) == expected_tags(), f"tags: {len(lines)} lines")
    check(len(set(lines)) == len(lines), "tags repeat")
    # skopeo agrees.
    p = skopeo("list-tags", f"docker://{host()}/{SMALL}")
    check(p.returncode == 0 and sorted(json.loads(p.stdout)["Tags"]) == expected_tags(),
          "skopeo list-tags disagrees")
    _, err = run("registry-tags", f"{host()}/no/such/repo", expect=1)
    check("NAME_UNKNOWN" in err, f"unknown repository: {err}")
    # --json: one object, the same tags as skopeo's.
    out, _ = run("registry-tags", "--json", "--page-size", "100", f"{proxy}/{SMALL}")
    doc = json.loads(out)
    check(doc == {"registry": proxy, "repository": SMALL, "tags": expected_tags()}, f"--json: {out[:200]!r}")
    out, _ = run("registry-tags", "--json", f"{host()}/no/such/repo", expect=1)
    check(out == b"" or not out.endswith(b"}\n"), f"--json after a failure is not a whole object: {out!r}")


def case_inspect():
    raw = raw_manifest(SMALL, "latest")
    digest = sha256(raw)
    check(digest == os.environ["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"], "fixture digest")
    doc = json.loads(raw)
    out, _ = run("registry-inspect", f"{host()}/{SMALL}")
    view = json.loads(out)
    check(view["digest"] == digest, f"digest {view['digest']} != {digest}")
    check(view["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json", "mediaType")
    check(view["size"] == len(raw), "size")
    check(view["kind"] == "image" and view["schemaVersion"] == 2 and view["signed"] is False, "kind")
    check(view["config"]["digest"] == doc["config"]["digest"], "config digest")
    check([l["digest"] for l in view["layers"]] == [l["digest"] for l in doc["layers"]], "layers")
    check([l["size"] for l in view["layers"]] == [l["size"] for l in doc["layers"]], "layer sizes")
    check(view["manifests"] is None or view["manifests"] == [], "manifests of an image")

    out, _ = run("registry-inspect", "--raw", f"{host()}/{SMALL}")
    check(out == raw, "--raw differs from skopeo inspect --raw")
    out, _ = run("registry-inspect", "--digest", f"{host()}/{SMALL}")
    check(out.decode() == digest + "\n", f"--digest: {out!r}")
    out, _ = run("registry-inspect", "--header", "X-Example: 1", "--digest", f"{host()}/{SMALL}")
    check(out.decode() == digest + "\n", f"--header --digest: {out!r}")
    out, _ = run("registry-inspect", "--quiet", f"{host()}/{SMALL}@{digest}")
    check(json.loads(out)["digest"] == digest, "by digest")
    # --json: digest, media type and size as skopeo's bytes say, and the view.
    out, _ = run("registry-inspect", "--json", f"{host()}/{SMALL}")
    doc_json = json.loads(out)
    check(doc_json == {"inspected": f"{host()}/{SMALL}", "digest": digest, "size": len(raw),
                       "media_type": "application/vnd.docker.distribution.manifest.v2+json",
                       "manifest": view}, f"--json: {doc_json!r}")
    out, _ = run("registry-inspect", "--json", "--digest", f"{host()}/{SMALL}")
    check(json.loads(out) == {"inspected": f"{host()}/{SMALL}", "digest": digest}, f"--json --digest: {out!r}")
    out, _ = run("registry-inspect", "--json", "--config", f"{host()}/{SMALL}")
    cfg = json.loads(out)
    check(cfg.get("inspected") == f"{host()}/{SMALL}" and cfg.get("config", {}).get("rootfs"),
          f"--json --config: {out[:200]!r}")
    run("registry-inspect", "--json", "--raw", f"{host()}/{SMALL}", expect=2)

    # Offline, from a file: the same view.
    with tempfile.NamedTemporaryFile(dir=os.environ.get("REGISTRY_TEST_TMPDIR")) as f:
        f.write(raw)
        f.flush()
        out, _ = run("registry-inspect", "--file", f.name)
        check(json.loads(out) == view, "--file gives another view")
        out, _ = run("registry-inspect", "--file", f.name, "--digest")
        check(out.decode() == digest + "\n", "--file --digest")
        out, _ = run("registry-inspect", "--file", f.name, "--json")
        check(json.loads(out).get("digest") == digest and json.loads(out).get("inspected") == f.name,
              f"--file --json: {out[:200]!r}")
        run("registry-inspect", "--file", f.name, "--media-type",
            "application/vnd.oci.image.index.v1+json", expect=1)

    # A manifest list: the list itself, or one platform's manifest.
    lraw = raw_manifest(MULTI, "latest")
    ldoc = json.loads(lraw)
    out, _ = run("registry-inspect", f"{host()}/{MULTI}")
    lview = json.loads(out)
    check(lview["kind"] == "index" and lview["digest"] == sha256(lraw), "list view")
    check(len(lview["manifests"]) == 2, "list entries")
    arm = [m for m in ldoc["manifests"] if m["platform"]["architecture"] == "arm64"][0]
    out, _ = run("registry-inspect", "--platform", "linux/arm64/v8", f"{host()}/{MULTI}")
    check(json.loads(out)["digest"] == arm["digest"], "--platform linux/arm64/v8 picks another entry")
    out, _ = run("registry-inspect", "--platform", "linux/arm64", "--digest", f"{host()}/{MULTI}")
    check(out.decode() == arm["digest"] + "\n", "--platform --digest")
    _, err = run("registry-inspect", "--platform", "linux/s390x", f"{host()}/{MULTI}", expect=1)
    check("arm64" in err, f"no such platform: the message lists what there is: {err}")
    # containerd's os(os.version) form: the version must match too (the fixture entries have none).
    _, err = run("registry-inspect", "--platform", "linux(5.15)/arm64/v8", f"{host()}/{MULTI}", expect=1)
    check("linux(5.15)/arm64" in err, f"an os.version no entry has: {err}")
    _, err = run("registry-inspect", f"{host()}/{SMALL}:nope", expect=1)
    check("MANIFEST_UNKNOWN" in err or "not found" in err, f"unknown tag: {err}")
    inspect_config()


def inspect_config():
    """--config: the same document skopeo inspect --config prints, field by field."""
    for repo, extra in ((SMALL, []), (MULTI, ["--platform", "linux/arm64/v8"])):
        out, _ = run("registry-inspect", "--config", *extra, f"{host()}/{repo}")
        ours = json.loads(out)
        sk = ["--override-arch", "arm64", "--override-variant", "v8"] if extra else []
        p = skopeo("inspect", "--config", f"docker://{host()}/{repo}:latest", global_args=sk)
        check(p.returncode == 0, f"skopeo inspect --config {repo}: {p.stderr.decode()}")
        if p.returncode:
            continue
        theirs = json.loads(p.stdout)
        # skopeo prints an empty "config" object and a null diff_ids list when absent.
        for key in sorted(set(ours) | set(theirs)):
            check(ours.get(key) == theirs.get(key),
                  f"--config {repo}: {key}: ours {ours.get(key)!r}, skopeo {theirs.get(key)!r}")
        check(ours["rootfs"]["diff_ids"], f"--config {repo}: no diff_ids")
    run("registry-inspect", "--config", "--raw", f"{host()}/{SMALL}", expect=2)


def case_delete():
    """A tag whose manifest another tag shares is refused, naming it; --force
    deletes both; the digest printed is the manifest's; skopeo no longer finds it."""
    digest = os.environ["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"]
    run_as_user("registry-copy", "--quiet", f"{host()}/{SMALL}:latest", f"{host()}/{SMALL}:other")
    run_as_user("registry-copy", "--quiet", f"{host()}/{SMALL}:latest", f"{host()}/solo/small:v1")
    out, _ = run_as_user("registry-delete", f"{host()}/solo/small:v1")
    check(out.decode() == f"deleted {host()}/solo/small:v1 {digest}\n", f"delete output {out!r}")
    _, err = run_as_user("registry-delete", f"{host()}/{SMALL}:latest", expect=1)
    check("also tagged other" in err, f"a shared manifest: the refusal names the other tag: {err}")
    p = skopeo("inspect", "--raw", f"docker://{host()}/{SMALL}:latest")
    check(p.returncode == 0, f"the refused delete deleted: {p.stderr.decode()}")
    _, err = run_as_user("registry-delete", f"{host()}/{SMALL}@{digest}", expect=1)
    check("also tagged latest, other" in err or "also tagged other, latest" in err,
          f"by digest: the refusal names every tag: {err}")
    out, _ = run_as_user("registry-delete", "--json", "--force", f"{host()}/{SMALL}:latest")
    doc = json.loads(out)
    check(doc == {"deleted": f"{host()}/{SMALL}:latest", "digest": digest}, f"--json output {doc!r}")
    _, err = run_as_user("registry-inspect", f"{host()}/{SMALL}@{digest}", expect=1)
    check("MANIFEST_UNKNOWN" in err or "not found" in err, f"after delete: {err}")
    for tag in ("latest", "other"):
        _, err = run_as_user("registry-inspect", f"{host()}/{SMALL}:{tag}", expect=1)
        check("MANIFEST_UNKNOWN" in err or "not found" in err, f"tag {tag} after delete: {err}")
        p = skopeo("inspect", "--raw", f"docker://{host()}/{SMALL}:{tag}")
        check(p.returncode != 0, f"skopeo still finds the deleted manifest as {tag}")
    _, err = run_as_user("registry-delete", "--force", f"{host()}/{SMALL}@{digest}", expect=1)
    check("not found" in err.lower() or "UNKNOWN" in err, f"deleting twice: {err}")


def case_auth():
    """htpasswd: --username/--password-stdin, Docker's config file, wrong and no credentials."""
    user, password = os.environ["REGISTRY_TEST_USER"], os.environ["REGISTRY_TEST_PASSWORD"]
    tmp = tempfile.mkdtemp(dir=os.environ.get("REGISTRY_TEST_TMPDIR"))
    env = dict(os.environ, DOCKER_CONFIG=tmp)  # an empty folder: no config file
    out, _ = run("registry-tags", "--username", user, "--password-stdin", f"{host()}/{SMALL}",
                 stdin=(password + "\n").encode(), env=env)
    check(out.decode() == "latest\n", f"tags with --password-stdin: {out!r}")
    _, err = run("registry-tags", f"{host()}/{SMALL}", env=env, expect=1)
    check("401" in err or "auth" in err.lower(), f"no credentials: {err}")
    _, err = run("registry-tags", "--username", user, "--password-stdin", f"{host()}/{SMALL}",
                 stdin=b"wrong\n", env=env, expect=1)
    check(password not in err and "wrong" not in err, "a password in a message")
    import base64
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump({"auths": {host(): {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}, f)
    out, _ = run("registry-tags", f"{host()}/{SMALL}", env=env)
    check(out.decode() == "latest\n", f"tags with Docker's config: {out!r}")


def case_pull():
    digest = os.environ["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"]
    raw = raw_manifest(SMALL, "latest")
    doc = json.loads(raw)
    tmp = os.environ["REGISTRY_TEST_TMPDIR"]

    def blob(layout, d):
        return os.path.join(layout, "blobs", *d.split(":"))

    # OCI layout, converted to OCI media types (what skopeo reads).
    oci = os.path.join(tmp, "small-oci")
    out, err = run("registry-pull", f"{host()}/{SMALL}", oci)
    lines = out.decode().splitlines()
    check(lines[:1] == [f"pulled {host()}/{SMALL}:latest to {oci}"], f"pull output: {out!r}")
    pulled = lines[1].split("digest: ")[1] if len(lines) > 1 and "digest: " in lines[1] else ""
    check(len(err.splitlines()) >= 1 + len(doc["layers"]), f"one progress line per blob: {err!r}")
    for layer in doc["layers"]:
        check(os.path.exists(blob(oci, layer["digest"])) and
              os.path.getsize(blob(oci, layer["digest"])) == layer["size"], f"layer {layer['digest']}")
    p = skopeo("inspect", "--raw", f"oci:{oci}:latest")
    check(p.returncode == 0 and sha256(p.stdout) == pulled, f"skopeo reads the OCI layout: {p.stderr!r}")
    if p.returncode == 0:
        check([l["digest"] for l in json.loads(p.stdout)["layers"]] == [l["digest"] for l in doc["layers"]],
              "converted manifest, other layers")

    # Digests preserved: the manifest byte for byte.
    kept = os.path.join(tmp, "small-kept")
    out, _ = run("registry-pull", "--quiet", "--preserve-digests", f"{host()}/{SMALL}", kept)
    check(f"digest: {digest}" in out.decode(), f"--preserve-digests output: {out!r}")
    if os.path.exists(blob(kept, digest)):
        with open(blob(kept, digest), "rb") as f:
            check(f.read() == raw, "preserved manifest differs")
    else:
        check(False, "preserved manifest missing")

    # A `docker load` folder and tarball.
    docker_dir = os.path.join(tmp, "small-docker")
    run("registry-pull", "--quiet", "--format", "docker", f"{host()}/{SMALL}", docker_dir)
    mpath = os.path.join(docker_dir, "manifest.json")
    m = json.load(open(mpath)) if os.path.exists(mpath) else []
    check(len(m) == 1 and len(m[0].get("Layers", [])) == len(doc["layers"]), f"docker manifest.json {m}")
    tar = os.path.join(tmp, "small.tar")
    out, err = run("registry-pull", "--quiet", f"{host()}/{SMALL}", tar, expect=None)
    check(os.path.exists(tar) or "libarchive" in err, f"tarball: {err}")

    # --json: the registry's digest and the layout's, which skopeo reads back.
    jl = os.path.join(tmp, "small-json")
    out, _ = run("registry-pull", "--json", "--quiet", f"{host()}/{SMALL}", jl)
    doc_json = json.loads(out)
    p = skopeo("inspect", "--raw", f"oci:{jl}:latest")
    check(p.returncode == 0 and doc_json == {"pulled": f"{host()}/{SMALL}:latest", "to": jl, "format": "oci",
                                             "digest": digest, "layout_digest": sha256(p.stdout)},
          f"pull --json: {doc_json!r}")
    dj = os.path.join(tmp, "small-docker-json")
    out, _ = run("registry-pull", "--json", "--quiet", "--format", "docker", f"{host()}/{SMALL}", dj)
    check(json.loads(out) == {"pulled": f"{host()}/{SMALL}:latest", "to": dj, "format": "docker",
                              "digest": digest, "layout_digest": None}, f"pull --json docker: {out!r}")

    _, err = run("registry-pull", f"{host()}/{SMALL}:nope", os.path.join(tmp, "x"), expect=1)
    check("MANIFEST_UNKNOWN" in err or "not found" in err, f"unknown tag: {err}")


def case_push():
    layout = os.path.join(os.environ["REGISTRY_TEST_FIXTURES"], "small")
    out, _ = run_as_user("registry-push", "--quiet", f"{layout}:latest", f"{host()}/copies/small:pushed")
    digest = out.decode().strip()
    check(digest == os.environ["REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"], f"pushed digest {digest}")
    check(sha256(raw_manifest("copies/small", "pushed")) == digest, "skopeo sees another digest")
    out, _ = run_as_user("registry-push", "--quiet", layout, f"{host()}/copies/small:again")
    check(out.decode().strip() == digest, "DIR without a name")
    run_as_user("registry-push", "--quiet", f"{layout}:nope", f"{host()}/copies/small:x", expect=1)
    out, _ = run_as_user("registry-push", "--json", "--quiet", f"{layout}:latest", f"{host()}/copies/small:json")
    check(json.loads(out) == {"pushed": f"{layout}:latest", "image": "latest",
                              "to": f"{host()}/copies/small:json", "digest": digest}, f"push --json: {out!r}")
    check(sha256(raw_manifest("copies/small", "json")) == digest, "push --json: skopeo sees another digest")


def case_copy():
    src = os.environ["REGISTRY_TEST_FIXTURE_MULTI_V2S2_DIGEST"]
    out, _ = run_as_user("registry-copy", "--quiet", "--all-platforms", f"{host()}/{MULTI}",
                         f"{host()}/copies/multi:all")
    check(out.decode().strip() == src, f"copied digest {out!r}")
    check(sha256(raw_manifest("copies/multi", "all")) == src, "skopeo sees another digest")
    out, _ = run_as_user("registry-copy", "--quiet", "--platform", "linux/amd64", f"{host()}/{MULTI}",
                 f"{host()}/copies/multi:amd64")
    ldoc = json.loads(raw_manifest(MULTI, "latest"))
    amd = [m for m in ldoc["manifests"] if m["platform"]["architecture"] == "amd64"][0]
    check(out.decode().strip() == amd["digest"], "one platform copied")
    out, _ = run_as_user("registry-copy", "--quiet", f"{host()}/{MULTI}", f"{host()}/copies/multi:host")
    check(out.decode().strip() in [m["digest"] for m in ldoc["manifests"]],
          f"without --all-platforms one platform (this machine's) is copied: {out!r}")
    out, _ = run_as_user("registry-copy", "--json", "--quiet", "--all-platforms", f"{host()}/{MULTI}",
                         f"{host()}/copies/multi:json")
    check(json.loads(out) == {"copied": f"{host()}/{MULTI}:latest", "to": f"{host()}/copies/multi:json",
                              "digest": src}, f"copy --json: {out!r}")
    check(sha256(raw_manifest("copies/multi", "json")) == src, "copy --json: skopeo sees another digest")


def push_image(name, layers, size):
    """A deterministic image (@layers uncompressed layers of @size bytes) pushed as @name:latest."""
    harness = os.environ["REGISTRY_TEST_HARNESS"]
    layout = os.path.join(os.environ["REGISTRY_TEST_TMPDIR"], name.replace("/", "-") + "-layout")
    for cmd in (["make-fixture", layout, "--layers", str(layers), "--size", str(size), "--seed", name,
                 "--gzip-level", "0"],
                ["push", layout, "--repo", name]):
        p = subprocess.run([sys.executable, harness, *cmd], capture_output=True, timeout=300)
        if p.returncode != 0:
            print(f"FAIL: harness {cmd[0]}: {p.stderr.decode(errors='replace')}", file=sys.stderr)
            sys.exit(1)


def files_under(top):
    return [os.path.join(d, f) for d, _, names in os.walk(top) for f in names]


def case_enospc():
    """A pull into a store on a full disk: the partial is removed (and the
    message says so), so the next pull, with space again, works."""
    if os.geteuid() != 0:
        print("SKIP: mounting a small tmpfs needs root")
        sys.exit(77)
    push_image("full/img", 1, 2 << 20)
    mnt = os.path.join(os.environ["REGISTRY_TEST_TMPDIR"], "small-tmpfs")
    os.makedirs(mnt, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], capture_output=True)
    if p.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs: {p.stderr.decode(errors='replace').strip()}")
        sys.exit(77)
    try:
        dest = os.path.join(mnt, "store")
        _, err = run("registry-pull", "--quiet", f"{host()}/full/img", dest, expect=1)
        check("no space left on device writing blob sha256:" in err and "the partial file was removed" in err,
              f"message for a full disk: {err!r}")
        left = files_under(os.path.join(dest, "blobs", ".partial"))
        check(left == [], f"partial files left on the full disk: {left}")
        subprocess.run(["mount", "-o", "remount,size=8m", mnt], check=True)
        run("registry-pull", "--quiet", f"{host()}/full/img", dest)
    finally:
        subprocess.run(["umount", mnt])


def case_signals():
    """SIGTERM or SIGINT in the middle of a pull to a docker folder or
    tarball (blobs stalled by fault_proxy --stall): the program cancels, the
    library removes its temporary store and partial output, and the program
    dies of the signal."""
    import signal
    tmp = os.environ["REGISTRY_TEST_TMPDIR"]
    for sig, dest, extra in ((signal.SIGTERM, "sig-docker", ["--format", "docker"]),
                             (signal.SIGINT, "sig-image.tar", []),
                             (signal.SIGHUP, "sig-hup.tar", [])):
        out = os.path.join(tmp, dest)
        proxy = os.environ["REGISTRY_TEST_PROXY_HOST"]
        p = subprocess.Popen([prog("registry-pull"), "--quiet", *extra, f"{proxy}/{SMALL}", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The temporary store appears before any blob is fetched, and the
        # blobs then stall: the signal lands mid-pull.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None and \
                not any(n.startswith(dest + ".pull-") for n in os.listdir(tmp)):
            time.sleep(0.05)
        time.sleep(0.3)
        check(p.poll() is None, f"{dest}: registry-pull ended before the signal: {p.returncode}")
        p.send_signal(sig)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            check(False, f"{dest}: registry-pull ignored {sig.name}")
        err = err.decode(errors="replace")
        check(p.returncode == -sig, f"{dest}: exit {p.returncode} after {sig.name}, expected death by it; {err}")
        check("interrupted by signal" in err, f"{dest}: message after {sig.name}: {err!r}")
        left = [n for n in os.listdir(tmp) if n.startswith(dest)]
        check(left == [], f"{dest}: left after {sig.name}: {left}")


def main():
    global BIN
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    case, BIN = sys.argv[1], sys.argv[2]
    cases = {"usage": case_usage, "tags": case_tags, "inspect": case_inspect, "delete": case_delete,
             "auth": case_auth, "pull": case_pull, "push": case_push, "copy": case_copy,
             "enospc": case_enospc, "signals": case_signals}
    if case not in cases:
        print(f"unknown case {case}", file=sys.stderr)
        return 2
    if case != "usage" and "REGISTRY_TEST_HOST" not in os.environ:
        print("SKIP: run through tests/harness/registry_harness.py")
        return 77
    cases[case]()
    print(f"{'FAIL' if FAILURES else 'ok  '} examples {case} ({len(FAILURES)} failed checks)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
