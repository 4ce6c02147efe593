#!/usr/bin/python3
"""Self-test of the registry harness (meson suite `integration`).

    harness_selftest.py MODE        driver: runs `registry_harness.py run <MODE's
                                    options> -- harness_selftest.py --check MODE`,
                                    then checks the exit code and that nothing
                                    (registry, token/redirect servers, temp dir)
                                    is left behind.
    harness_selftest.py --check MODE   the checks, run inside the harness.

Modes: open, htpasswd, token, token-options, tls-htpasswd, schema1, redirect,
redirect-tls, lifecycle, fixtures.
"""

import base64
import gzip
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "registry_harness.py")
PY = sys.executable

MODES = {
    "open": ["--fixture", "small:v2s2", "--fixture", "small:oci", "--fixture", "multi:oci"],
    "htpasswd": ["--auth", "htpasswd", "--fixture", "small:v2s2"],
    "token": ["--auth", "token", "--fixture", "small:v2s2", "--fixture", "multi:v2s2"],
    "token-options": ["--auth", "token", "--tls", "--token-expired", "--token-expiry", "30",
                      "--anonymous-pull", "no", "--token-oauth", "no"],
    "tls-htpasswd": ["--tls", "--auth", "htpasswd", "--fixture", "small:v2s2"],
    "schema1": ["--schema1", "--fixture", "small:v2s1", "--fixture", "small:v2s2"],
    "redirect": ["--redirect", "--delete", "--auth", "htpasswd", "--fixture", "small:oci"],
    "redirect-tls": ["--redirect", "--tls", "--fixture", "small:oci"],
}

MT_V2S2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_V1S = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MT_OCI = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT_ALL = ", ".join([MT_OCI_INDEX, MT_OCI, MT_LIST, MT_V2S2])


class Failure(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise Failure(message)


def expect_eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- HTTP without proxies, redirects or surprises ----------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(method, url, headers=None, data=None, ca=None, timeout=10):
    """(status, headers, body); never follows redirects, never raises on
    HTTP errors."""
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx),
                                         _NoRedirect())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def challenge_params(value):
    scheme, _, rest = (value or "").partition(" ")
    return scheme, dict(re.findall(r'(\w+)="([^"]*)"', rest))


class Env:
    def __init__(self):
        e = os.environ
        self.host = e["REGISTRY_TEST_HOST"]
        self.url = e["REGISTRY_TEST_URL"]
        self.auth = e["REGISTRY_TEST_AUTH"]
        self.user = e.get("REGISTRY_TEST_USER")
        self.password = e.get("REGISTRY_TEST_PASSWORD")
        self.ca = e.get("REGISTRY_TEST_CA")
        self.storage = e["REGISTRY_TEST_STORAGE"]
        self.token_url = e.get("REGISTRY_TEST_TOKEN_URL")
        self.token_log = e.get("REGISTRY_TEST_TOKEN_LOG")
        self.redirect_log = e.get("REGISTRY_TEST_REDIRECT_LOG")

    def get(self, path, headers=None, method="GET", data=None):
        return http(method, self.url + path, headers=headers, data=data, ca=self.ca)

    def token(self, scopes, user=None, password=None, extra=None):
        query = [("service", os.environ["REGISTRY_TEST_TOKEN_SERVICE"])]
        query += [("scope", s) for s in scopes] + list((extra or {}).items())
        headers = {"Authorization": basic(user, password)} if user else {}
        status, _, body = http("GET", self.token_url + "?" + urllib.parse.urlencode(query),
                               headers=headers, ca=self.ca)
        return status, json.loads(body or b"null")

    def auth_headers(self, repo, actions="pull"):
        if self.auth == "htpasswd":
            return {"Authorization": basic(self.user, self.password)}
        if self.auth == "token":
            status, body = self.token(["repository:%s:%s" % (repo, actions)],
                                      self.user, self.password)
            expect_eq(status, 200, "token request status")
            return {"Authorization": "Bearer " + body["token"]}
        return {}


def jws_payload_digest(body):
    """Digest of a signed schema1 manifest: sha256 of the JWS payload, cut
    with the protected header's formatLength and formatTail."""
    doc = json.loads(body)
    prot = doc["signatures"][0]["protected"]
    header = json.loads(base64.urlsafe_b64decode(prot + "=" * (-len(prot) % 4)))
    tail = base64.urlsafe_b64decode(header["formatTail"] + "=" * (-len(header["formatTail"]) % 4))
    return sha256(body[:header["formatLength"]] + tail)


def layout_manifest(name, tag="latest"):
    layout = os.path.join(os.environ["REGISTRY_TEST_FIXTURES"], name)
    with open(os.path.join(layout, "index.json")) as f:
        for m in json.load(f)["manifests"]:
            if m["annotations"]["org.opencontainers.image.ref.name"] == tag:
                with open(os.path.join(layout, "blobs", "sha256", m["digest"][7:]), "rb") as b:
                    return m, json.loads(b.read())
    raise Failure("tag %s not in layout %s" % (tag, layout))


def check_manifest(env, repo, want_type, accept=ACCEPT_ALL, env_digest=None):
    """Fetches REPO:latest and checks type and digest; returns (digest, doc)."""
    headers = dict(env.auth_headers(repo), Accept=accept)
    status, h, body = env.get("/v2/%s/manifests/latest" % repo, headers)
    expect_eq(status, 200, "GET manifest of %s" % repo)
    expect_eq(h.get("Content-Type"), want_type, "Content-Type of %s" % repo)
    digest = h.get("Docker-Content-Digest")
    computed = jws_payload_digest(body) if want_type == MT_V1S else sha256(body)
    expect_eq(digest, computed, "Docker-Content-Digest of %s vs its bytes" % repo)
    if env_digest:
        expect_eq(digest, os.environ.get(env_digest), "%s vs %s" % (repo, env_digest))
    return digest, json.loads(body)


def check_blob(env, repo, digest, headers=None):
    headers = headers if headers is not None else env.auth_headers(repo)
    status, h, body = env.get("/v2/%s/blobs/%s" % (repo, digest), headers)
    expect_eq(status, 200, "GET blob %s" % digest)
    expect_eq(sha256(body), digest, "blob content digest")
    return body


def check_image(env, repo, doc):
    """Config and first layer of a single-platform manifest are fetchable."""
    check_blob(env, repo, doc["config"]["digest"])
    check_blob(env, repo, doc["layers"][0]["digest"])


# -- per-mode checks (inside the harness) --------------------------------------------

def check_env_common(env):
    expect(re.fullmatch(r"127\.0\.0\.1:\d+", env.host), "REGISTRY_TEST_HOST %r" % env.host)
    scheme = "https" if os.environ["REGISTRY_TEST_TLS"] == "1" else "http"
    expect_eq(env.url, "%s://%s" % (scheme, env.host), "REGISTRY_TEST_URL")
    expect(os.path.isdir(env.storage), "storage dir missing")
    expect(os.path.getsize(os.environ["REGISTRY_TEST_REGISTRY_LOG"]) > 0, "registry log empty")
    expect(os.path.samefile(os.environ["REGISTRY_TEST_HARNESS"], HARNESS), "REGISTRY_TEST_HARNESS")
    for var in ("REGISTRY_TEST_FIXTURES", "REGISTRY_TEST_TMPDIR"):
        expect(os.path.isdir(os.environ[var]), "%s is not a directory" % var)
    args = os.environ["REGISTRY_TEST_SKOPEO_ARGS"]
    src = os.environ["REGISTRY_TEST_SKOPEO_SRC_ARGS"]
    if env.user:
        expect("--dest-creds %s:%s" % (env.user, env.password) in args, "creds in SKOPEO_ARGS")
        expect("--src-creds %s:%s" % (env.user, env.password) in src, "creds in SKOPEO_SRC_ARGS")
    if env.ca:
        expect("--dest-cert-dir" in args and "--src-cert-dir" in src, "cert dir in skopeo args")
    else:
        expect("--dest-tls-verify=false" in args and "--src-tls-verify=false" in src,
               "tls-verify=false in skopeo args")


def skopeo_copy_back(env, repo):
    """skopeo reads the fixture back with REGISTRY_TEST_SKOPEO_SRC_ARGS."""
    dest = tempfile.mkdtemp(dir=os.environ["REGISTRY_TEST_TMPDIR"])
    skopeo = shlex.split(os.environ["REGISTRY_TEST_SKOPEO"])
    expect("--insecure-policy" in skopeo, "REGISTRY_TEST_SKOPEO has --insecure-policy")
    cmd = (skopeo + ["copy", "--quiet"]
           + shlex.split(os.environ["REGISTRY_TEST_SKOPEO_SRC_ARGS"])
           + ["docker://%s/%s:latest" % (env.host, repo), "oci:%s:x" % dest])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    expect_eq(proc.returncode, 0, "skopeo copy back: %s" % proc.stdout.decode(errors="replace"))
    cmd = (skopeo + ["inspect", "--raw"]
           + shlex.split(os.environ["REGISTRY_TEST_SKOPEO_INSPECT_ARGS"])
           + ["docker://%s/%s:latest" % (env.host, repo)])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    expect_eq(proc.returncode, 0, "skopeo inspect: %s" % proc.stdout.decode(errors="replace"))


def check_open(env):
    status, h, body = env.get("/v2/")
    expect_eq(status, 200, "GET /v2/ (open)")
    expect_eq(h.get("Docker-Distribution-Api-Version"), "registry/2.0", "API version header")
    _, doc = check_manifest(env, "fixtures/small-v2s2", MT_V2S2,
                            env_digest="REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST")
    check_image(env, "fixtures/small-v2s2", doc)
    expect_eq(len(doc["layers"]), 3, "small has 3 layers")
    # OCI pushed unchanged: the registry's digest is the layout's.
    desc, layout_doc = layout_manifest("small")
    digest, doc = check_manifest(env, "fixtures/small-oci", MT_OCI,
                                 env_digest="REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST")
    expect_eq(digest, desc["digest"], "small-oci digest vs layout")
    expect_eq([l["digest"] for l in doc["layers"]], [l["digest"] for l in layout_doc["layers"]],
              "small-v2s2/oci layers")
    digest, index = check_manifest(env, "fixtures/multi-oci", MT_OCI_INDEX,
                                   env_digest="REGISTRY_TEST_FIXTURE_MULTI_OCI_DIGEST")
    plats = sorted("%s/%s" % (m["platform"]["os"], m["platform"]["architecture"])
                   for m in index["manifests"])
    expect_eq(plats, ["linux/amd64", "linux/arm64"], "multi platforms")
    # The `push` subcommand, from inside a harness run.
    proc = subprocess.run([PY, HARNESS, "push", "small:oci", "--repo", "selftest/pushed",
                           "--tag", "t1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expect_eq(proc.returncode, 0, "push subcommand: %s" % proc.stderr.decode(errors="replace"))
    pushed_digest = proc.stdout.decode().strip()
    status, h, _ = env.get("/v2/selftest/pushed/manifests/t1", {"Accept": MT_OCI}, method="HEAD")
    expect_eq(status, 200, "HEAD pushed manifest")
    expect_eq(h.get("Docker-Content-Digest"), pushed_digest, "push subcommand digest")
    with open(os.environ["REGISTRY_TEST_PUSHED"]) as f:
        pushed = json.load(f)
    expect_eq(pushed.get("selftest/pushed:t1", {}).get("digest"), pushed_digest, "pushed.json")
    expect_eq(pushed["fixtures/small-v2s2:latest"]["digest"],
              os.environ["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"], "pushed.json fixture")
    skopeo_copy_back(env, "fixtures/small-v2s2")


def check_basic_auth(env):
    status, h, _ = env.get("/v2/")
    expect_eq(status, 401, "GET /v2/ without credentials")
    expect_eq(h.get("WWW-Authenticate"), 'Basic realm="registry-harness"', "Basic challenge")
    status, _, _ = env.get("/v2/", {"Authorization": basic(env.user, env.password)})
    expect_eq(status, 200, "GET /v2/ with valid credentials")
    status, _, _ = env.get("/v2/", {"Authorization": basic(env.user, env.password + "x")})
    expect_eq(status, 401, "GET /v2/ with a wrong password")
    status, _, _ = env.get("/v2/", {"Authorization": basic("nobody", env.password)})
    expect_eq(status, 401, "GET /v2/ with an unknown user")
    _, doc = check_manifest(env, "fixtures/small-v2s2", MT_V2S2,
                            env_digest="REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST")
    check_image(env, "fixtures/small-v2s2", doc)


def check_htpasswd(env):
    check_basic_auth(env)


def check_tls_htpasswd(env):
    expect(env.url.startswith("https://"), "https URL")
    with open(env.ca) as f:
        expect("BEGIN CERTIFICATE" in f.read(), "REGISTRY_TEST_CA is a PEM certificate")
    try:
        http("GET", env.url + "/v2/")  # system CAs only: must not verify
        raise Failure("TLS verification succeeded without the harness CA")
    except urllib.error.URLError as e:
        expect(isinstance(e.reason, ssl.SSLCertVerificationError), "expected a verify error: %r" % e)
    port = env.host.split(":")[1]
    status, _, _ = http("GET", "https://localhost:%s/v2/" % port, ca=env.ca)
    expect_eq(status, 401, "GET via https://localhost (SAN)")
    from cryptography import x509
    with open(os.path.join(os.path.dirname(env.ca), "server.pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = sorted(str(i) for i in san.get_values_for_type(x509.IPAddress))
    expect_eq(ips, ["127.0.0.1", "::1"], "server certificate IP SANs")
    expect_eq(san.get_values_for_type(x509.DNSName), ["localhost"], "server certificate DNS SAN")
    check_basic_auth(env)
    skopeo_copy_back(env, "fixtures/small-v2s2")


def _log_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _untrusted_token(claims):
    """Same claims, signed by a key and certificate the registry never saw."""
    import datetime
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intruder")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return jwt.encode(claims, key, algorithm="ES256",
                      headers={"x5c": [base64.b64encode(der).decode()]})


def check_token(env):
    service = os.environ["REGISTRY_TEST_TOKEN_SERVICE"]
    repo = "fixtures/small-v2s2"
    status, h, _ = env.get("/v2/")
    expect_eq(status, 401, "GET /v2/ without a token")
    scheme, params = challenge_params(h.get("WWW-Authenticate"))
    expect_eq(scheme, "Bearer", "challenge scheme")
    expect_eq(params.get("realm"), env.token_url, "Bearer realm")
    expect_eq(params.get("service"), service, "Bearer service")
    status, h, _ = env.get("/v2/%s/manifests/latest" % repo)
    _, params = challenge_params(h.get("WWW-Authenticate"))
    expect_eq(params.get("scope"), "repository:%s:pull" % repo, "challenge scope")

    lines_before = len(_log_lines(env.token_log))
    status, body = env.token(["repository:%s:pull" % repo], env.user, env.password)
    expect_eq(status, 200, "token with valid Basic credentials")
    expect_eq(body["token"], body["access_token"], "token == access_token")
    expect_eq(body["expires_in"], 300, "expires_in")
    expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["issued_at"]), "issued_at RFC3339")
    good = body["token"]
    accept = {"Accept": MT_V2S2}
    status, h, _ = env.get("/v2/%s/manifests/latest" % repo, dict(accept, Authorization="Bearer " + good))
    expect_eq(status, 200, "registry accepts the token")
    expect_eq(h.get("Docker-Content-Digest"), os.environ["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"],
              "manifest digest with token")

    # Tampered tokens: payload changed (signature kept), signature changed, foreign key.
    head, payload, sig = good.split(".")
    claims = _claims(good)
    claims["access"] = [{"type": "repository", "name": "fixtures/multi-v2s2", "actions": ["pull", "push"]}]
    forged = "%s.%s.%s" % (head, _b64url(json.dumps(claims).encode()), sig)
    bad_sig = "%s.%s.%s" % (head, payload, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB"))
    for name, tok in (("forged payload", forged), ("altered signature", bad_sig),
                      ("untrusted signer", _untrusted_token(_claims(good)))):
        status, _, _ = env.get("/v2/%s/manifests/latest" % repo, dict(accept, Authorization="Bearer " + tok))
        expect_eq(status, 401, "registry rejects a token with %s" % name)

    # Scope is enforced: a token for one repository does not open another.
    status, h, _ = env.get("/v2/fixtures/multi-v2s2/manifests/latest",
                           {"Authorization": "Bearer " + good, "Accept": MT_LIST})
    expect_eq(status, 401, "token for another repository")
    expect('error="insufficient_scope"' in (h.get("WWW-Authenticate") or ""), "insufficient_scope")

    status, body = env.token(["repository:%s:pull" % repo], env.user, env.password + "x")
    expect_eq(status, 401, "token with a wrong password")
    expect("error" in body, "401 body is a JSON error")

    # Several scopes, actions in any order; anonymous and read-only users get pull only.
    status, body = env.token(["repository:a/b:push,pull", "repository:c:pull",
                              "registry:catalog:*"], env.user, env.password)
    expect_eq(status, 200, "token for several scopes")
    expect_eq(_claims(body["token"])["access"],
              [{"type": "repository", "name": "a/b", "actions": ["push", "pull"]},
               {"type": "repository", "name": "c", "actions": ["pull"]},
               {"type": "registry", "name": "catalog", "actions": ["*"]}], "granted access")
    status, h, cat = env.get("/v2/_catalog", {"Authorization": "Bearer " + body["token"]})
    expect_eq(status, 200, "catalog with registry:catalog:*")
    expect("fixtures/small-v2s2" in json.loads(cat)["repositories"], "catalog content")
    status, body = env.token(["repository:%s:pull,push" % repo])
    expect_eq(status, 200, "anonymous token")
    expect_eq(_claims(body["token"])["access"],
              [{"type": "repository", "name": repo, "actions": ["pull"]}], "anonymous access")
    status, _, _ = env.get("/v2/%s/manifests/latest" % repo, dict(accept, Authorization="Bearer " + body["token"]))
    expect_eq(status, 200, "anonymous pull")
    status, body = env.token(["repository:%s:pull,push" % repo],
                             os.environ["REGISTRY_TEST_RO_USER"], os.environ["REGISTRY_TEST_RO_PASSWORD"])
    expect_eq(_claims(body["token"])["access"][0]["actions"], ["pull"], "read-only user access")

    # OAuth2: password grant with a refresh token, then the refresh grant.
    def post(form):
        status, _, b = http("POST", env.token_url, data=urllib.parse.urlencode(form).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}, ca=env.ca)
        return status, json.loads(b)
    status, body = post({"grant_type": "password", "username": env.user, "password": env.password,
                         "service": service, "client_id": "selftest", "access_type": "offline",
                         "scope": "repository:%s:pull" % repo})
    expect_eq(status, 200, "OAuth2 password grant")
    expect("refresh_token" in body and body["scope"] == "repository:%s:pull" % repo, "OAuth2 body")
    status, body2 = post({"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                          "service": service, "client_id": "selftest",
                          "scope": "repository:fixtures/multi-v2s2:pull"})
    expect_eq(status, 200, "OAuth2 refresh grant")
    status, _, _ = env.get("/v2/fixtures/multi-v2s2/manifests/latest",
                           {"Authorization": "Bearer " + body2["access_token"], "Accept": MT_LIST})
    expect_eq(status, 200, "token from the refresh grant")
    status, _ = post({"grant_type": "refresh_token", "refresh_token": "nope", "service": service})
    expect_eq(status, 401, "unknown refresh token")
    status, _ = post({"grant_type": "password", "username": env.user, "password": "wrong",
                      "service": service})
    expect_eq(status, 401, "OAuth2 wrong password")

    lines = _log_lines(env.token_log)[lines_before:]
    expect_eq(len(lines), 9, "token log lines for this test's requests")
    first = lines[0]
    for key in ("method", "path", "query", "scopes", "basic", "basic_valid", "granted", "expires_in"):
        expect(key in first, "token log field %s" % key)
    expect_eq((first["basic"], first["basic_valid"], first["scopes"]),
              (True, True, ["repository:%s:pull" % repo]), "token log record")
    wrong = [l for l in lines if l["status"] == 401 and l["method"] == "GET"]
    expect_eq([(l["basic"], l["basic_valid"]) for l in wrong], [(True, False)], "401 logged")
    expect_eq(sum(1 for l in lines if l.get("refresh_token_issued")), 2, "refresh tokens logged")

    _, index = check_manifest(env, "fixtures/multi-v2s2", MT_LIST,
                              env_digest="REGISTRY_TEST_FIXTURE_MULTI_V2S2_DIGEST")
    expect_eq(len(index["manifests"]), 2, "multi-v2s2 entries")
    child = index["manifests"][1]
    headers = dict(env.auth_headers("fixtures/multi-v2s2"), Accept=child["mediaType"])
    status, h, body = env.get("/v2/fixtures/multi-v2s2/manifests/" + child["digest"], headers)
    expect_eq((status, sha256(body)), (200, child["digest"]), "child manifest by digest")


def check_token_options(env):
    service = os.environ["REGISTRY_TEST_TOKEN_SERVICE"]
    status, body = env.token(["repository:x/y:pull,push"], env.user, env.password)
    expect_eq(status, 200, "token request (expired mode)")
    expect_eq(body["expires_in"], 30, "--token-expiry")
    expect(_claims(body["token"])["exp"] < time.time() - 60, "token already expired")
    status, _, _ = env.get("/v2/", {"Authorization": "Bearer " + body["token"]})
    expect_eq(status, 401, "registry rejects an expired token")
    status, body = env.token(["repository:x/y:pull"])
    expect_eq((status, _claims(body["token"])["access"]), (200, []), "--anonymous-pull no")
    expect(env.token_url.startswith("https://"), "token server uses HTTPS with --tls")
    status, _, _ = http("POST", env.token_url, data=b"grant_type=password&username=a&password=b",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}, ca=env.ca)
    expect_eq(status, 404, "--token-oauth no answers POST with 404")
    expect(service, "service exported")


def check_schema1(env):
    status, _, _ = env.get("/v2/")
    expect_eq(status, 200, "GET /v2/")
    digest, doc = check_manifest(env, "fixtures/small-v2s1", MT_V1S, accept=MT_V1S,
                                 env_digest="REGISTRY_TEST_FIXTURE_SMALL_V2S1_DIGEST")
    _, layout_doc = layout_manifest("small")
    base_first = [l["digest"] for l in layout_doc["layers"]]
    expect_eq([l["blobSum"] for l in doc["fsLayers"]], base_first[::-1], "fsLayers top-first")
    expect(doc.get("signatures"), "pushed schema1 manifest is signed")
    # The registry converts schema2 for a client that accepts only schema1.
    status, h, body = env.get("/v2/fixtures/small-v2s2/manifests/latest", {"Accept": MT_V1S})
    expect_eq((status, h.get("Content-Type")), (200, MT_V1S), "schema2 served as schema1")
    expect_eq(h.get("Docker-Content-Digest"), jws_payload_digest(body), "converted digest")
    expect(h.get("Docker-Content-Digest") != sha256(body), "signed digest differs from body hash")
    expect_eq([l["blobSum"] for l in json.loads(body)["fsLayers"]], base_first[::-1],
              "converted fsLayers")


def check_redirect(env):
    repo = "fixtures/small-oci"
    _, doc = check_manifest(env, repo, MT_OCI, env_digest="REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST")
    layer = doc["layers"][0]["digest"]
    auth = env.auth_headers(repo)
    status, h, _ = env.get("/v2/%s/blobs/%s" % (repo, layer), auth)
    expect_eq(status, 307, "blob GET redirects")
    location = h.get("Location")
    base = os.environ["REGISTRY_TEST_REDIRECT_URL"]
    expect(location.startswith(base + "/"), "Location %r under %s" % (location, base))
    before = len(_log_lines(env.redirect_log))
    status, h, body = http("GET", location, ca=env.ca)
    expect_eq((status, sha256(body)), (200, layer), "blob from the redirect server")
    status, h, part = http("GET", location, headers={"Range": "bytes=10-19"}, ca=env.ca)
    expect_eq((status, part, h.get("Content-Range")),
              (206, body[10:20], "bytes 10-19/%d" % len(body)), "range from the redirect server")
    leak = auth or {"Authorization": "Bearer leak"}
    status, _, _ = http("GET", location, headers=leak, ca=env.ca)  # a leak the log must show
    lines = _log_lines(env.redirect_log)[before:]
    expect_eq(len(lines), 3, "redirect log lines")
    path = urllib.parse.urlsplit(location).path
    expect_eq([(l["method"], l["path"], l["status"], l["authorization"]) for l in lines],
              [("GET", path, 200, False), ("GET", path, 206, False), ("GET", path, 200, True)],
              "redirect log records")
    expect_eq(lines[1]["headers"].get("Range"), ["bytes=10-19"], "logged request headers")
    status, _, _ = http("GET", base + "/../../etc/passwd", ca=env.ca)
    expect(status in (400, 404), "redirect server stays inside storage")
    if os.environ["REGISTRY_TEST_DELETE"] != "1":
        status, _, _ = env.get("/v2/%s/manifests/%s" % (repo, os.environ[
            "REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"]), auth, method="DELETE")
        expect_eq(status, 405, "DELETE without --delete")
        return
    # --delete: manifests can be deleted by digest.
    digest = os.environ["REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"]
    status, _, _ = env.get("/v2/%s/manifests/%s" % (repo, digest), auth, method="DELETE")
    expect_eq(status, 202, "DELETE manifest (--delete)")
    status, _, _ = env.get("/v2/%s/manifests/%s" % (repo, digest), dict(auth, Accept=MT_OCI))
    expect_eq(status, 404, "manifest gone after DELETE")


CHECKS = {
    "open": check_open, "htpasswd": check_htpasswd, "token": check_token,
    "token-options": check_token_options, "tls-htpasswd": check_tls_htpasswd,
    "schema1": check_schema1, "redirect": check_redirect, "redirect-tls": check_redirect,
}


def find_registry_pids(marker):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "registry" in cmdline and "harness_selftest" not in cmdline:
            pids.append(int(entry))
    return pids


def write_state():
    """Tell the driver what must be gone after the harness exits."""
    path = os.environ.get("HARNESS_SELFTEST_STATE")
    if not path:
        return
    tmp = os.path.dirname(os.environ["REGISTRY_TEST_STORAGE"])
    ports = [int(os.environ["REGISTRY_TEST_HOST"].rsplit(":", 1)[1])]
    for var in ("REGISTRY_TEST_TOKEN_URL", "REGISTRY_TEST_REDIRECT_URL"):
        if os.environ.get(var):
            ports.append(urllib.parse.urlsplit(os.environ[var]).port)
    marker = os.path.join(tmp, "registry.yml")
    pids = find_registry_pids(marker)
    with open(path, "w") as f:
        json.dump({"tmpdir": tmp, "ports": ports, "marker": marker, "registry_pids": pids,
                   "check_pid": os.getpid()}, f)


def run_check(mode):
    write_state()
    env = Env()
    try:
        check_env_common(env)
        CHECKS[mode](env)
    except Failure as e:
        sys.stderr.write("harness self-test %s FAILED: %s\n" % (mode, e))
        return 1
    print("harness self-test %s: ok" % mode)
    return 0


# -- driver (outside the harness) ------------------------------------------------------

def port_closed(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def verify_teardown(state, what):
    expect(state.get("registry_pids"), "%s: registry process was not found while running" % what)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and find_registry_pids(state["marker"]):
        time.sleep(0.1)
    expect_eq(find_registry_pids(state["marker"]), [], "%s: registry processes left" % what)
    for port in state["ports"]:
        expect(port_closed(port), "%s: something still listens on port %d" % (what, port))
    expect(not os.path.exists(state["tmpdir"]), "%s: temp dir %s left" % (what, state["tmpdir"]))
    expect(not os.path.exists("/proc/%d" % state["check_pid"]), "%s: command still running" % what)


def harness(args, state_path, timeout=60, extra_env=None):
    env = dict(os.environ, HARNESS_SELFTEST_STATE=state_path, **(extra_env or {}))
    return subprocess.run([PY, HARNESS] + args, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def drive_mode(mode, work):
    state_path = os.path.join(work, "state.json")
    proc = harness(["run"] + MODES[mode] + ["--", PY, os.path.abspath(__file__), "--check", mode],
                   state_path)
    sys.stdout.write(proc.stdout.decode(errors="replace"))
    sys.stderr.write(proc.stderr.decode(errors="replace"))
    if proc.returncode == 77:
        return 77
    expect_eq(proc.returncode, 0, "harness exit code for mode %s" % mode)
    with open(state_path) as f:
        verify_teardown(json.load(f), mode)
    return 0


def drive_lifecycle(work):
    state_path = os.path.join(work, "state.json")
    inner = [PY, os.path.abspath(__file__), "--state-only"]
    # Exit codes pass through, 77 included; a crash becomes 128+signal.
    for code in (0, 3, 77):
        proc = harness(["run", "--", "sh", "-c", '"$0" "$1" "$2" && exit %d' % code] + inner,
                       state_path)
        expect_eq(proc.returncode, code, "exit code passthrough")
        with open(state_path) as f:
            verify_teardown(json.load(f), "exit %d" % code)
        os.unlink(state_path)
    proc = harness(["run", "--auth", "token", "--redirect", "--", "sh", "-c",
                    '"$0" "$1" "$2" && kill -SEGV $$'] + inner, state_path)
    expect_eq(proc.returncode, 128 + signal.SIGSEGV, "crashing command")
    with open(state_path) as f:
        verify_teardown(json.load(f), "crash")
    os.unlink(state_path)

    # SIGTERM to the harness while the command runs.
    env = dict(os.environ, HARNESS_SELFTEST_STATE=state_path)
    p = subprocess.Popen([PY, HARNESS, "run", "--auth", "token", "--redirect", "--", "sh", "-c",
                          '"$0" "$1" "$2" && exec sleep 60'] + inner, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not os.path.exists(state_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    expect(os.path.exists(state_path), "SIGTERM case: harness did not start")
    time.sleep(0.3)
    with open(state_path) as f:
        state = json.load(f)
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Failure("harness did not exit within 20 s of SIGTERM")
    expect_eq(p.returncode, 128 + signal.SIGTERM, "exit code after SIGTERM")
    verify_teardown(state, "SIGTERM")
    sleepers = [pid for pid in os.listdir("/proc") if pid.isdigit() and
                _cmdline(pid).startswith("sleep 60")]
    expect_eq([s for s in sleepers if _ppid(s) == p.pid], [], "command left after SIGTERM")
    os.unlink(state_path)

    # SIGINT to the whole process group, as a terminal's Ctrl-C does.
    p = subprocess.Popen([PY, HARNESS, "run", "--auth", "htpasswd", "--", "sh", "-c",
                          '"$0" "$1" "$2" && exec sleep 60'] + inner, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(state_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    expect(os.path.exists(state_path), "SIGINT case: harness did not start")
    time.sleep(0.3)
    with open(state_path) as f:
        state = json.load(f)
    os.killpg(p.pid, signal.SIGINT)
    try:
        p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raise Failure("harness did not exit within 20 s of a group SIGINT")
    expect_eq(p.returncode, 128 + signal.SIGINT, "exit code after group SIGINT")
    verify_teardown(state, "group SIGINT")
    os.unlink(state_path)

    # A port that looked free but is taken: the harness tries another one.
    sys.path.insert(0, HERE)
    import registry_harness
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    real_free_port, calls = registry_harness._free_port, []
    registry_harness._free_port = lambda: (calls.append(1), taken if len(calls) == 1
                                           else real_free_port())[1]
    try:
        with registry_harness.Registry() as reg:
            expect(reg.host != "127.0.0.1:%d" % taken and len(calls) == 2, "port race retry")
            status, _, _ = http("GET", reg.url + "/v2/")
            expect_eq(status, 200, "registry after a port race")
    finally:
        registry_harness._free_port = real_free_port
        busy.close()

    # --keep leaves the temp dir (we remove it), a registry that dies at start is an error.
    proc = harness(["run", "--keep", "--"] + inner, state_path)
    expect_eq(proc.returncode, 0, "--keep run")
    with open(state_path) as f:
        state = json.load(f)
    expect(os.path.isdir(state["tmpdir"]), "--keep kept the temp dir")
    expect(state["tmpdir"] in proc.stderr.decode(), "--keep names the temp dir")
    import shutil
    shutil.rmtree(state["tmpdir"])
    proc = harness(["run", "--startup-timeout", "5", "--", "true"], state_path,
                   extra_env={"REGISTRY_HARNESS_REGISTRY": "/bin/false"})
    expect_eq(proc.returncode, 99, "registry failing at startup")
    expect(b"exited with 1" in proc.stderr, "startup failure is explained: %r" % proc.stderr)
    proc = harness(["run", "--fixture", "nosuch:v2s2", "--", "true"], state_path)
    expect_eq(proc.returncode, 99, "unknown fixture")
    proc = harness(["run", "--", "/nonexistent/cmd"], state_path)
    expect_eq(proc.returncode, 127, "missing command")
    return 0


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def drive_fixtures(work):
    def make(name, *extra):
        out = subprocess.run([PY, HARNESS, "make-fixture", os.path.join(work, name)] + list(extra),
                             stdout=subprocess.PIPE, check=True).stdout.decode().strip()
        return out
    a = make("a", "--layers", "2", "--size", "100000", "--seed", "s1")
    b = make("b", "--layers", "2", "--size", "100000", "--seed", "s1")
    c = make("c", "--layers", "2", "--size", "100000", "--seed", "s2")
    expect_eq(a, b, "same seed, same digest")
    expect(a != c, "another seed, another digest")
    layout = os.path.join(work, "a")
    with open(os.path.join(layout, "oci-layout")) as f:
        expect_eq(json.load(f), {"imageLayoutVersion": "1.0.0"}, "oci-layout")
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    top = index["manifests"][0]
    expect_eq((top["digest"], top["annotations"]["org.opencontainers.image.ref.name"]),
              (a, "latest"), "index.json entry")

    def blob(digest):
        with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "rb") as f:
            data = f.read()
        expect_eq(sha256(data), digest, "blob file name is its digest")
        return data
    manifest = json.loads(blob(a))
    config = json.loads(blob(manifest["config"]["digest"]))
    expect_eq(len(manifest["layers"]), 2, "layer count")
    for desc, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        data = blob(desc["digest"])
        expect_eq(desc["size"], len(data), "layer size field")
        raw = gzip.decompress(data)
        expect_eq(sha256(raw), diff_id, "diff_id is the digest of the uncompressed tar")
        with tarfile.open(fileobj=__import__("io").BytesIO(raw)) as tar:
            members = tar.getmembers()
            expect_eq([m.size for m in members], [100000], "layer file size")
            content = tar.extractfile(members[0]).read()
        expect(len(gzip.compress(content)) > 99000, "layer data is incompressible")
    m = make("m", "--layers", "1", "--size", "1000", "--platforms", "linux/amd64,linux/arm64/v8")
    with open(os.path.join(work, "m", "blobs", "sha256", m[7:])) as f:
        idx = json.load(f)
    expect_eq(idx["mediaType"], MT_OCI_INDEX, "--platforms makes an index")
    expect_eq([x["platform"] for x in idx["manifests"]],
              [{"os": "linux", "architecture": "amd64"},
               {"os": "linux", "architecture": "arm64", "variant": "v8"}], "index platforms")
    expect(idx["manifests"][0]["digest"] != idx["manifests"][1]["digest"], "per-platform images differ")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "--state-only":
        write_state()
        return 0
    if len(argv) == 3 and argv[1] == "--check":
        return run_check(argv[2])
    if len(argv) != 2 or argv[1] not in list(MODES) + ["lifecycle", "fixtures"]:
        sys.stderr.write(__doc__)
        return 2
    mode = argv[1]
    work = tempfile.mkdtemp(prefix="harness-selftest-")
    try:
        if mode == "lifecycle":
            rc = drive_lifecycle(work)
        elif mode == "fixtures":
            rc = drive_fixtures(work)
        else:
            rc = drive_mode(mode, work)
    except Failure as e:
        sys.stderr.write("harness self-test %s FAILED: %s\n" % (mode, e))
        rc = 1
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    if rc == 0:
        print("harness self-test %s: ok" % mode)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
