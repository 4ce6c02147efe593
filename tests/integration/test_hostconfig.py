#!/usr/bin/python3
"""The host configuration (docs/host-config.md) through the example
programs, against real docker-registry instances started here
(tests/harness/registry_harness.py): certs.d, auth files, registries.conf
mirrors and blocks, registry-login/-logout with skopeo.

    test_hostconfig.py CASE EXAMPLES_BUILD_DIR

Cases: certs-ca, mtls, authfile, mirror, blocked, login, and loop-mirror,
loop-certs-ca, loop-mtls, loop-authfile, loop-blocked (the same through an event-loop
example: registry_pull_start). Every case points
the programs at files in a temporary folder (--certs-dir, --authfile,
--registries-conf, a private HOME): nothing under /etc is written or read
for what is tested.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.dont_write_bytecode = True

import registry_harness  # noqa: E402

BIN = None
FAILURES = []
TMP = None
SMALL = "fixtures/small-v2s2"


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, file=sys.stderr)


def env():
    """A private environment: no user's auth files or registries.conf leak in."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("REGISTRY_TEST_") and k not in (
             "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG")}
    home = os.path.join(TMP, "home")
    os.makedirs(home, exist_ok=True)
    e["HOME"] = home
    e["CONTAINERS_REGISTRIES_CONF"] = os.path.join(TMP, "empty-registries.conf")
    open(e["CONTAINERS_REGISTRIES_CONF"], "a").close()
    e["no_proxy"] = e["NO_PROXY"] = "127.0.0.1,localhost"
    return e


def run(name, *args, stdin=None, expect=0):
    """Run an example; check its exit status; return (stdout text, stderr text)."""
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        print(f"SKIP: {name} is not built")
        sys.exit(77)
    cmd = [path, *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, env=env(), timeout=300)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    check(expect is None or p.returncode == expect,
          f"{' '.join(shlex.quote(a) for a in cmd)}: exit {p.returncode}, expected {expect}; stderr: {err.strip()}")
    return out, err


def pull(ref, *args, expect=0):
    dest = tempfile.mkdtemp(dir=TMP, prefix="pull-")
    shutil.rmtree(dest)
    out, err = run("registry-pull", "--quiet", "--json", *args, ref, dest, expect=expect)
    digest = json.loads(out)["digest"] if expect == 0 and out.strip() else None
    return digest, err


LOOP_EXAMPLES = ["registry-loop-pull-glib", "registry-loop-pull-uv", "registry-loop-pull-sdevent"]


def loop_pull(ref, *args, expect=0):
    """pull() through an event-loop example (registry_pull_start: examples/loop)."""
    name = next((os.path.join("loop", n) for n in LOOP_EXAMPLES
                 if os.access(os.path.join(BIN, "loop", n), os.X_OK)), "loop/" + LOOP_EXAMPLES[0])
    dest = tempfile.mkdtemp(dir=TMP, prefix="loop-pull-")
    shutil.rmtree(dest)
    out, err = run(name, "--quiet", *args, ref, dest, expect=expect)
    if expect != 0 or len(out.split()) != 2:
        return None, err
    # The layout holds the image converted to OCI: the registry's digest is
    # the one its index entry keeps (registry-pull --json prints that one).
    with open(os.path.join(dest, "index.json")) as f:
        entry = json.load(f)["manifests"][0]
    check(entry["digest"] == out.split()[1], f"printed {out.strip()!r}, index.json names {entry['digest']}")
    return entry.get("annotations", {}).get("io.libregistry.source.digest", entry["digest"]), err


def start(**kwargs):
    try:
        return registry_harness.Registry(**kwargs).__enter__()
    except registry_harness.Unavailable as e:
        print("SKIP:", e)
        sys.exit(77)


def certs_d(reg, *files):
    """A certs.d root with ROOT/HOST:PORT/ holding @files (name, source path)."""
    root = tempfile.mkdtemp(dir=TMP, prefix="certs.d-")
    d = os.path.join(root, reg.host)
    os.makedirs(d)
    for name, src in files:
        shutil.copy(src, os.path.join(d, name))
    return root


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def blobs(reg):
    root = os.path.join(reg.storage, "docker", "registry", "v2", "blobs", "sha256")
    return {os.path.basename(d) for d, _, files in os.walk(root) if "data" in files}


def wait_cached(cache, primary, timeout=20):
    """The cache stores what it served in the background (the reference
    registry's proxy fetches each blob again): wait until it holds every
    blob of the primary."""
    want = blobs(primary)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if want <= blobs(cache):
            return True
        time.sleep(0.1)
    return False


def log_mark(reg):
    with open(reg.registry_log, "rb") as f:
        return len(f.read())


def log_since(reg, mark):
    with open(reg.registry_log, "rb") as f:
        return f.read()[mark:].decode(errors="replace")


# ---- cases -------------------------------------------------------------------

def case_certs_ca(pull=pull):
    """TLS with the CA only in a certs.d folder for HOST:PORT."""
    reg = start(tls=True, fixtures=["small:v2s2"])
    try:
        ref = f"{reg.host}/{SMALL}:latest"
        want = reg.pushed[SMALL + ":latest"]["digest"]
        good = certs_d(reg, ("ca.crt", reg.ca))
        got, _ = pull(ref, "--certs-dir", good)
        check(got == want, f"certs.d CA: pulled {got}, expected {want}")
        # Without it (an empty root, or no host configuration) the server is untrusted.
        empty = tempfile.mkdtemp(dir=TMP)
        _, err = pull(ref, "--certs-dir", empty, expect=1)
        check("certificate" in err.lower() or "tls" in err.lower(), f"no CA: message {err!r}")
        pull(ref, "--no-host-config", expect=1)
        # Another host's folder is not used.
        other = tempfile.mkdtemp(dir=TMP)
        os.makedirs(os.path.join(other, "127.0.0.1:1"))
        shutil.copy(reg.ca, os.path.join(other, "127.0.0.1:1", "ca.crt"))
        pull(ref, "--certs-dir", other, expect=1)
    finally:
        reg.stop()


def case_mtls(pull=pull):
    """Mutual TLS: the client pair only in certs.d (NAME.cert + NAME.key), or --cert/--key."""
    reg = start(mtls=True, fixtures=["small:v2s2"])
    try:
        ref = f"{reg.host}/{SMALL}:latest"
        want = reg.pushed[SMALL + ":latest"]["digest"]
        full = certs_d(reg, ("ca.crt", reg.ca), ("me.cert", reg.client_cert), ("me.key", reg.client_key))
        got, _ = pull(ref, "--certs-dir", full)
        check(got == want, f"mTLS with the pair in certs.d: pulled {got}, expected {want}")
        ca_only = certs_d(reg, ("ca.crt", reg.ca))
        pull(ref, "--certs-dir", ca_only, expect=1)
        got, _ = pull(ref, "--no-host-config", "--ca", reg.ca, "--cert", reg.client_cert, "--key", reg.client_key)
        check(got == want, f"mTLS with --cert/--key: pulled {got}, expected {want}")
        if pull is not loop_pull:
            run("registry-pull", "--cert", reg.client_cert, ref, os.path.join(TMP, "x"), expect=2)
        # A key without its certificate in certs.d is refused with the file's name.
        half = certs_d(reg, ("ca.crt", reg.ca), ("me.key", reg.client_key))
        _, err = pull(ref, "--certs-dir", half, expect=1)
        check("me.key" in err, f"lone key: message {err!r}")
    finally:
        reg.stop()


def case_authfile(pull=pull):
    """auth.json with namespaced keys: the longest key for the repository wins."""
    reg = start(auth="htpasswd")
    try:
        for repo in ("org/app", "other/img"):
            reg.push("small", "v2s2", repo=repo)
        good = "%s:%s" % (reg.user, reg.password)
        import base64
        enc = lambda s: base64.b64encode(s.encode()).decode()
        auth = write("auth.json", json.dumps({"auths": {
            f"{reg.host}/org/app": {"auth": enc(good)},
            f"{reg.host}/org": {"auth": enc("wrong-org:nope")},
            reg.host: {"auth": enc("wrong-host:nope")},
        }}))
        want = reg.pushed["org/app:latest"]["digest"]
        got, _ = pull(f"{reg.host}/org/app:latest", "--authfile", auth)
        check(got == want, f"namespaced credentials: pulled {got}, expected {want}")
        _, err = pull(f"{reg.host}/other/img:latest", "--authfile", auth, expect=1)
        check("wrong-host" in err, f"the host's entry for other/img: {err!r}")
        if pull is loop_pull:
            return
        # The same through the search order: $REGISTRY_AUTH_FILE before Docker's config.
        e = env()
        e["REGISTRY_AUTH_FILE"] = auth
        docker = os.path.join(e["HOME"], ".docker")
        os.makedirs(docker, exist_ok=True)
        with open(os.path.join(docker, "config.json"), "w") as f:
            json.dump({"auths": {reg.host: {"auth": enc(good)}}}, f)
        dest = os.path.join(TMP, "pull-env")
        p = subprocess.run([os.path.join(BIN, "registry-pull"), "--quiet", f"{reg.host}/other/img:latest", dest],
                           env=e, capture_output=True, timeout=300)
        check(p.returncode == 1 and b"wrong-host" in p.stderr,
              f"REGISTRY_AUTH_FILE comes before Docker's config: exit {p.returncode} {p.stderr!r}")
        p = subprocess.run([os.path.join(BIN, "registry-pull"), "--quiet", "--no-host-config",
                            f"{reg.host}/other/img:latest", dest], env=e, capture_output=True, timeout=300)
        check(p.returncode == 0, f"--no-host-config reads Docker's config alone: {p.stderr!r}")
        os.remove(os.path.join(docker, "config.json"))
    finally:
        reg.stop()


def case_mirror(pull=pull):
    """A pull-through cache (proxy.remoteurl) as the mirror of a primary; the
    cache speaks TLS with a CA that only its own certs.d folder holds."""
    primary = start(fixtures=["small:v2s2"])
    cache = start(proxy_remote=primary.url, tls=True)
    try:
        want = primary.pushed[SMALL + ":latest"]["digest"]
        conf = write("mirror.conf", f'''
[[registry]]
location = "{primary.host}"
[[registry.mirror]]
location = "{cache.host}"
''')
        certs = certs_d(cache, ("ca.crt", cache.ca))
        mark = log_mark(cache)
        got, _ = pull(f"{primary.host}/{SMALL}:latest", "--registries-conf", conf, "--certs-dir", certs)
        check(got == want, f"through the cache: pulled {got}, expected {want}")
        seen = log_since(cache, mark)
        check(f"/v2/{SMALL}/manifests/latest" in seen, "the tag was not asked of the mirror")
        check(f"/v2/{SMALL}/blobs/sha256:" in seen, "no blob came through the mirror")
        # The primary goes away: a digest pull of what the cache holds still works.
        check(wait_cached(cache, primary), "the cache did not store the blobs it served")
        primary.stop()
        got, _ = pull(f"{primary.host}/{SMALL}@{want}", "--registries-conf", conf, "--certs-dir", certs)
        check(got == want, f"primary down, digest through the cache: pulled {got}, expected {want}")
        pull(f"{primary.host}/{SMALL}@{want}", "--no-host-config", expect=1)
        # The mirror's CA comes from the mirror's own certs.d folder: without it, nothing works,
        # and the message says what the mirror said too.
        _, err = pull(f"{primary.host}/{SMALL}@{want}", "--registries-conf", conf, "--certs-dir",
                      tempfile.mkdtemp(dir=TMP), expect=1)
        check(f"the mirrors failed first: {cache.host}:" in err and "certificate" in err.lower(),
              f"both failures named: {err!r}")
    finally:
        cache.stop()
        primary.stop()


def case_blocked(pull=pull):
    """blocked = true fails with exit 1 naming the rule; a by-digest-only mirror is not asked for a tag."""
    primary = start(fixtures=["small:v2s2"])
    mirror = start(fixtures=["small:v2s2"])
    try:
        want = primary.pushed[SMALL + ":latest"]["digest"]
        conf = write("blocked.conf", f'''
[[registry]]
prefix = "{primary.host}/fixtures"
blocked = true
''')
        _, err = pull(f"{primary.host}/{SMALL}:latest", "--registries-conf", conf, expect=1)
        check("blocked" in err and f'"{primary.host}/fixtures"' in err and "blocked.conf:2" in err,
              f"blocked: message {err!r}")
        conf = write("digest-only.conf", f'''
[[registry]]
location = "{primary.host}"
mirror-by-digest-only = true
[[registry.mirror]]
location = "{mirror.host}"
''')
        mark = log_mark(mirror)
        got, _ = pull(f"{primary.host}/{SMALL}:latest", "--registries-conf", conf)
        check(got == want, f"tag with a by-digest-only mirror: pulled {got}, expected {want}")
        check("/v2/" + SMALL not in log_since(mirror, mark), "the by-digest-only mirror was asked for a tag")
        mark = log_mark(mirror)
        got, _ = pull(f"{primary.host}/{SMALL}@{want}", "--registries-conf", conf)
        check(got == want and f"/v2/{SMALL}/manifests/{want}" in log_since(mirror, mark),
              "a digest pull did not go to the by-digest-only mirror")
    finally:
        mirror.stop()
        primary.stop()


def skopeo(reg, *args, stdin=None):
    base = shlex.split(reg.env["REGISTRY_TEST_SKOPEO"])
    return subprocess.run(base + list(args), input=stdin, capture_output=True, env=env(), timeout=120)


def case_login():
    """registry-login/-logout and skopeo login/inspect read each other's auth files."""
    reg = start(auth="htpasswd", fixtures=["small:v2s2"])
    try:
        ref = f"{reg.host}/{SMALL}:latest"
        want = reg.pushed[SMALL + ":latest"]["digest"]
        ours = os.path.join(TMP, "new", "dir", "auth.json")
        # A refused password stores nothing.
        _, err = run("registry-login", "--authfile", ours, "--username", reg.user, "--password-stdin",
                     reg.host, stdin=b"wrong", expect=1)
        check(not os.path.exists(ours), "a refused login wrote the auth file")
        run("registry-login", "--authfile", ours, "--username", reg.user, "--password-stdin", reg.host,
            stdin=reg.password.encode())
        check(os.stat(ours).st_mode & 0o777 == 0o600, "the auth file is not mode 0600")
        check(os.stat(os.path.dirname(ours)).st_mode & 0o777 == 0o700, "the auth file's folder is not 0700")
        p = skopeo(reg, "inspect", "--tls-verify=false", "--authfile", ours, f"docker://{ref}")
        check(p.returncode == 0 and json.loads(p.stdout)["Digest"] == want,
              f"skopeo inspect with our auth file: {p.stderr.decode()}")
        got, _ = pull(ref, "--authfile", ours)
        check(got == want, "pull with the auth file registry-login wrote")
        run("registry-logout", "--authfile", ours, reg.host)
        p = skopeo(reg, "inspect", "--tls-verify=false", "--authfile", ours, f"docker://{ref}")
        check(p.returncode != 0, "skopeo still gets in after registry-logout")
        run("registry-logout", "--authfile", ours, reg.host, expect=1)
        # The other way round: skopeo login writes, we read and log out.
        theirs = os.path.join(TMP, "skopeo-auth.json")
        p = skopeo(reg, "login", "--tls-verify=false", "--authfile", theirs, "-u", reg.user, "--password-stdin",
                   reg.host, stdin=reg.password.encode())
        check(p.returncode == 0, f"skopeo login: {p.stderr.decode()}")
        got, _ = pull(ref, "--authfile", theirs)
        check(got == want, "pull with skopeo login's auth file")
        run("registry-logout", "--authfile", theirs, reg.host)
        pull(ref, "--authfile", theirs, expect=1)
        p = skopeo(reg, "logout", "--authfile", theirs, reg.host)
        check(p.returncode != 0, "skopeo logout found an entry registry-logout should have removed")
        run("registry-login", "--username", reg.user, reg.host, expect=2)
        # A credential helper the auth file names for the host gets them instead.
        bindir = os.path.join(TMP, "bin")
        os.makedirs(bindir)
        store = os.path.join(TMP, "helper-store.json")
        helper = os.path.join(bindir, "docker-credential-h4test")
        with open(helper, "w") as f:
            f.write(f"""#!/bin/sh
case "$1" in
store) cat > {store} ;;
get) read server; [ -f {store} ] && exec cat {store}; echo "credentials not found in native keychain"; exit 1 ;;
erase) rm -f {store} ;;
esac
""")
        os.chmod(helper, 0o755)
        with_helper = write("helper-auth.json", json.dumps({"credHelpers": {reg.host: "h4test"}}))
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]
        run("registry-login", "--authfile", with_helper, "--username", reg.user, "--password-stdin", reg.host,
            stdin=reg.password.encode())
        with open(store) as f:
            stored = json.load(f)
        check(stored.get("Username") == reg.user and stored.get("Secret") == reg.password
              and stored.get("ServerURL") == reg.host, f"what the helper was given to store: {stored}")
        check("auths" not in json.load(open(with_helper)), "the auth file got the secret despite its helper")
        got, _ = pull(ref, "--authfile", with_helper)
        check(got == want, "pull with the helper's credentials")
        run("registry-logout", "--authfile", with_helper, reg.host)
        check(not os.path.exists(store), "registry-logout did not erase through the helper")
    finally:
        reg.stop()


def case_loop_mirror():
    """case_mirror through registry_pull_start: the same endpoints, results and messages."""
    case_mirror(loop_pull)


def case_loop_certs_ca():
    """case_certs_ca through registry_pull_start (TLS, the CA from certs.d)."""
    case_certs_ca(loop_pull)


def case_loop_mtls():
    """case_mtls through registry_pull_start (mutual TLS)."""
    case_mtls(loop_pull)


def case_loop_blocked():
    """case_blocked through registry_pull_start (a blocked prefix, a by-digest-only mirror)."""
    case_blocked(loop_pull)


def case_loop_authfile():
    """case_authfile through registry_pull_start (credentials from auth.json)."""
    case_authfile(loop_pull)


CASES = {
    "loop-mirror": case_loop_mirror,
    "loop-certs-ca": case_loop_certs_ca,
    "loop-mtls": case_loop_mtls,
    "loop-authfile": case_loop_authfile,
    "loop-blocked": case_loop_blocked,
    "certs-ca": case_certs_ca,
    "mtls": case_mtls,
    "authfile": case_authfile,
    "mirror": case_mirror,
    "blocked": case_blocked,
    "login": case_login,
}


def main():
    global BIN, TMP
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    BIN = sys.argv[2]
    TMP = tempfile.mkdtemp(prefix="itest-hostconfig-")
    try:
        CASES[sys.argv[1]]()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
