#!/usr/bin/env python3
"""A hostile registry: a small fake registry that misbehaves on purpose.

Next to fault_proxy.py (which breaks a real registry's answers at random),
this server *is* the registry, so that it can say what no real registry
says: a blob other than the one asked for, a manifest naming a layer
`sha256:../../etc/passwd`, a 5 GiB size, a 100 MiB manifest, an upload
Location or a token realm on another host, twenty redirects, a Link loop, a
JSON nesting bomb, an endless header section, bad TLS certificates.

Two listeners run:
  registry  127.0.0.1:P (HTTP, or HTTPS with --tls / a certificate case)
  foreign   127.0.0.1:Q, always named "localhost:Q" in what the registry
            sends, so that it is another origin (host and port) that must
            never see a credential.
Every request to either is logged as one JSON line (origin, method, path,
all headers, body length and the first 64 KiB of the body as latin-1) before
the answer goes out, with the bytes of the answer added in a second
"sent" line when the connection ends, so tests can check what was sent where
and how much of a huge answer was actually read.

Content: one image "hostile/app:latest", Docker schema2, with a config and
N random layers (seeded). Credentials: user "hostile" and the password given;
auth modes none, basic, bearer (a token server at /token on the registry
origin that hands out "tok-..." tokens, recorded as secrets too).

Use from Python (tests/reliability/hostile_test.py):

    srv = HostileRegistry(case="redirect-20", auth="basic", password=pw, log=path)
    srv.start(); ...; srv.stop()

or as a program, for poking at it by hand:

    hostile_registry.py --case CASE [--auth none|basic|bearer] [--tls]

which prints the registry and foreign addresses and serves until killed.
"""
import argparse
import base64
import datetime
import gzip
import hashlib
import http.server
import io
import ipaddress
import json
import os
import random
import ssl
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse

from request_body import read_request_body

MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REPO = "hostile/app"
USER = "hostile"

# Every case the server knows; the test driver holds what each must cause.
CASES = [
    "normal",                  # behaves (a control: pull works, push works)
    "wrong-blob-bytes",        # GET blob A answers the bytes of blob B
    "wrong-blob-header",       # right bytes, Docker-Content-Digest names another blob
    "wrong-manifest-digest",   # GET manifests/<digest> answers another manifest
    "wrong-manifest-header",   # GET by tag: Docker-Content-Digest names another digest
    "layer-traversal",         # a layer digest sha256:../../etc/passwd
    "layer-63hex",             # a layer digest with 63 hex characters
    "layer-blake3",            # a layer digest of an algorithm we do not implement (OCI grammar)
    "delete-by-tag",           # DELETE manifests/TAG is answered (OCI distribution 1.1)
    "layer-blake3-traversal",  # the same algorithm, the encoded part ../../etc/passwd
    "size-5gib",               # a layer descriptor claiming 5 GiB (the blob is small)
    "size-understated",        # a layer claims 4 KiB, the server streams 64 MiB
    "manifest-100mib",         # a 100 MiB manifest, with Content-Length
    "manifest-100mib-chunked", # the same, chunked (no length announced)
    "upload-foreign-location", # upload session Location on another origin
    "realm-foreign",           # bearer realm on another host (plain http)
    "realm-http",              # bearer realm http:// while the registry is https
    "realm-file",              # bearer realm file:///etc/passwd
    "realm-metadata",          # bearer realm http://169.254.169.254/...
    "realm-userinfo",          # bearer realm with user:password@ in it
    "realm-resolves-metadata", # bearer realm on a name the client resolves to
                               # 169.254.169.254 (run in a private netns)
    "redirect-20",             # a chain of 20 redirects on the registry origin
    "redirect-foreign-blob",   # blobs redirect to another origin (allowed: no credentials)
    "redirect-pingpong",       # redirects alternating between the origins, forever
    "link-loop",               # tags/list Link pointing at the same page
    "link-foreign",            # tags/list Link to a page on another origin
    "json-bomb-manifest",      # a manifest of 100000 nested arrays
    "json-bomb-token",         # a token response nesting bomb
    "json-bomb-tags",          # a tags page nesting bomb
    "json-bomb-error",         # a 404 whose error body is a nesting bomb
    "header-flood",            # an endless header section
    "tls-expired",             # certificate expired (signed by the trusted CA)
    "tls-wrong-host",          # certificate for another host name
    "tls-self-signed",         # a self-signed certificate (not the trusted CA)
    # -- the request path (issue 14: re-requests, CDN redirects, headers, insecure)
    "blob-416",                # the first layer: 416 to every request
    "blob-206-no-range",       # the first layer: 206 from byte 1, whatever was asked
    "blob-206-wrong-offset",   # the first layer: half then a dropped connection,
                               # and 206 from byte 0 to every Range request
    "redirect-cdn-expiring",   # blobs redirect to the other origin with a one-use
                               # signature; the first layer's first answer there
                               # stops half-way (a dropped connection)
    "token-16k",               # bearer tokens of 16 KiB
    "link-oversized",          # tags/list: a Link header of 10 KiB (to a real page)
    "foreign-tls-untrusted",   # registry and other origin on HTTPS with certificates
                               # nobody trusts; blobs redirect there (insecure client)
    "realm-tls-untrusted",     # as above; the token realm is on the other origin
    # -- issue 14, uploads / pagination / fan-out (one block) --
    "link-long-urls",          # LONG_PAGES tag pages, each Link URL near the header
                               # limit, the last one linking back to page 1
    "upload-crawl",            # each PATCH: only its first byte is taken (Range 0-N+1)
    "upload-retry-after",      # each PATCH: 503 with Retry-After: 30
    "fanout-same",             # the tag is an OCI index of FANOUT_ENTRIES entries, all
                               # naming one ~3 MiB child (copy target: hostile/copy)
    "fanout-distinct",         # an index of FANOUT_DISTINCT distinct ~3 MiB children
    # -- errors (issue 14): what the error record must hold
    "close-at-contact",        # the registry closes every connection before reading a byte
    "server-error-5xx",        # manifests answer 500 with an error JSON
    "escape-error-message",    # a 404 whose error message holds ESC sequences and newlines
    "escape-realm",            # a bearer realm with ESC sequences in it
    # -- artifacts (issue 18): the tag picks the title(s), see ARTIFACT_TITLES
    "artifact-titles",         # OCI artifact manifests whose layer titles are hostile
    # -- pipelined unpack (issue 16): layers that are real gzip tars (see Image),
    # the last one's GET held by HostileRegistry.hold_last (a knob set by the test)
    "unpack-layers",           # behaves, with tar layers: marker-I and layerI/ files
    "unpack-bad-diff-id",      # the same, the config's first diff_id wrong
]

# unpack-*: how long the last layer's GET waits for hold_last() to turn true;
# then it answers 404 BLOB_UNKNOWN (the client saw no overlap).
HOLD_TIMEOUT = 20

# Cases whose two origins serve HTTPS with a certificate nobody trusts.
UNTRUSTED_FOREIGN = ("foreign-tls-untrusted", "realm-tls-untrusted")

# link-long-urls: pages, and the length of each Link URL (a Link line stays
# under the client's 8 KiB header limit).
LONG_PAGES = 5000
LONG_URL = 8000
# fanout-*: entries of the index, distinct children, the size of each child.
FANOUT_ENTRIES = 100
FANOUT_DISTINCT = 16
FANOUT_CHILD = 3 << 20
COPY_REPO = "hostile/copy"  # where the copy operation writes
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# artifact-titles: tag -> the titles of its layers (one file's bytes each).
ARTIFACT_FILE = b"an artifact file\n"
ARTIFACT_TITLES = {
    "ok": ["ok.txt"],
    "dotdot-x": ["../x"],
    "abs": ["/etc/x"],
    "slash": ["a/b"],
    "empty": [""],
    "dotdot": [".."],
    "nul": ["a\u0000b"],
    "ctrl": ["a\x1b[31mb"],
    "newline": ["x\ny"],
    "dup": ["dup.txt", "dup.txt"],
    "many": ["f%04d" % i for i in range(1001)],
}

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade"}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def bomb(depth=100000):
    return b"[" * depth + b"]" * depth


class Image:
    """A seeded Docker schema2 image: config, layers, manifest bytes."""

    def __init__(self, seed=7, layers=3, size=6000, tars=False, bad_diff_id=False):
        rnd = random.Random(seed)
        self.layers = [rnd.randbytes(size + 111 * i) for i in range(layers)]
        diff_ids = [sha256(b) for b in self.layers]
        self.files = {}  # tars: path -> content of the unpacked tree
        if tars:
            tars = [self.tar_layer(rnd, i) for i in range(layers)]
            self.layers = [gzip.compress(t, 6, mtime=0) for t in tars]
            diff_ids = [sha256(t) for t in tars]
            if bad_diff_id:
                diff_ids[0] = sha256(b"not the first layer")
        config = {"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "config": {}, "history": [{"created_by": "hostile"} for _ in self.layers]}
        self.config = json.dumps(config, sort_keys=True).encode()
        self.blobs = {sha256(b): b for b in self.layers + [self.config]}

    def tar_layer(self, rnd, i):
        """Layer @i as a tar: marker-I and 40 files of 8 KiB under layerI/."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            members = [("marker-%d" % i, b"layer %d\n" % i)] + \
                [("layer%d/f%02d" % (i, j), rnd.randbytes(8192)) for j in range(40)]
            d = tarfile.TarInfo("layer%d" % i)
            d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1600000000
            tf.addfile(d)
            for name, data in members:
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode, ti.mtime = len(data), 0o644, 1600000000
                tf.addfile(ti, io.BytesIO(data))
                self.files[name] = data
        return buf.getvalue()

    def manifest(self, layer_digest=None, layer_size=None):
        """Manifest bytes; the first layer's digest and size may be replaced."""
        layers = []
        for i, b in enumerate(self.layers):
            d = {"mediaType": MT_LAYER, "size": len(b), "digest": sha256(b)}
            if i == 0 and layer_digest is not None:
                d["digest"] = layer_digest
            if i == 0 and layer_size is not None:
                d["size"] = layer_size
            layers.append(d)
        doc = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
               "config": {"mediaType": MT_CONFIG, "size": len(self.config),
                          "digest": sha256(self.config)},
               "layers": layers}
        return json.dumps(doc, indent=3).encode()


    def fanout(self, distinct):
        """An OCI index and its children {digest: bytes}: OCI manifests of
        this image, padded by an annotation to about FANOUT_CHILD bytes."""
        children = {}
        for i in range(distinct):
            doc = json.loads(self.manifest())
            doc["mediaType"] = MT_OCI_MANIFEST
            doc["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json"
            for layer in doc["layers"]:
                layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
            doc["annotations"] = {"pad": "%d-" % i + "x" * FANOUT_CHILD}
            data = json.dumps(doc).encode()
            children[sha256(data)] = data
        digests = sorted(children)
        entries = [{"mediaType": MT_OCI_MANIFEST, "digest": digests[i % distinct],
                    "size": len(children[digests[i % distinct]]),
                    "platform": {"os": "linux", "architecture": "amd64", "variant": "v%d" % i}}
                   for i in range(max(FANOUT_ENTRIES if distinct == 1 else distinct, 1))]
        index = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": entries}).encode()
        return index, children


# ---- certificates -------------------------------------------------------------

def make_certs(directory):
    """CA, a good server cert (127.0.0.1, ::1, localhost), an expired one, one
    for another host name and a self-signed one. Returns a dict of paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(subject_cn, key, issuer_key, issuer_cn, ca, start, end, san):
        b = (x509.CertificateBuilder().subject_name(name(subject_cn))
             .issuer_name(name(issuer_cn)).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def write(fname, data):
        path = os.path.join(directory, fname)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def key_pem(k):
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    def cert_pem(c):
        return c.public_bytes(serialization.Encoding.PEM)

    loop_san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")), x509.DNSName("localhost")]
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("hostile test CA", ca_key, ca_key, "hostile test CA", True, now - day, now + 2 * day, None)
    paths = {"ca": write("ca.pem", cert_pem(ca))}
    variants = {
        "good": ("127.0.0.1", ca_key, "hostile test CA", now - day, now + 2 * day, loop_san),
        "expired": ("127.0.0.1", ca_key, "hostile test CA", now - 30 * day, now - 2 * day, loop_san),
        "wrong-host": ("other.example", ca_key, "hostile test CA", now - day, now + 2 * day,
                       [x509.DNSName("other.example")]),
        "self-signed": ("127.0.0.1", None, "127.0.0.1", now - day, now + 2 * day, loop_san),
    }
    for v, (cn, issuer_key, issuer_cn, start, end, san) in variants.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue(cn, key, issuer_key or key, issuer_cn, False, start, end, san)
        paths[v] = (write(v + ".pem", cert_pem(cert)), write(v + "-key.pem", key_pem(key)))
    return paths


# ---- the server -----------------------------------------------------------------

class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # refused handshakes and dropped connections are the point here


class HostileRegistry:
    def __init__(self, case="normal", auth="basic", password="", log=None, tls=False,
                 cert_dir=None, seed=7):
        if case not in CASES:
            raise ValueError("unknown case " + case)
        self.case = case
        self.auth = auth
        self.password = password
        self.tls = tls or case.startswith("tls-") or case == "realm-http" or \
            case in UNTRUSTED_FOREIGN
        self.signatures = set()  # redirect-cdn-expiring: the unused ones
        self.cut = set()         # digests whose first answer was cut short
        self.image = Image(seed, tars=case.startswith("unpack-"), bad_diff_id=case == "unpack-bad-diff-id")
        # unpack-*: the last layer's GET waits until hold_last() is true (set
        # by the test), HOLD_TIMEOUT at most; held records how it ended.
        self.hold_last = None
        self.held = None
        self.fanout = None
        if case.startswith("fanout-"):
            self.fanout = self.image.fanout(1 if case == "fanout-same" else FANOUT_DISTINCT)
        self.tokens = set()
        self.uploads = {}
        self.lock = threading.Lock()
        self.log_path = log or tempfile.mkstemp(prefix="hostile-", suffix=".jsonl")[1]
        self.cert_dir = cert_dir or tempfile.mkdtemp(prefix="hostile-certs-")
        self.certs = make_certs(self.cert_dir) if self.tls else None
        self.servers = []

    # -- addresses
    @property
    def host(self):
        return "127.0.0.1:%d" % self.servers[0].server_address[1]

    @property
    def foreign(self):
        return "localhost:%d" % self.servers[1].server_address[1]

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def foreign_scheme(self):
        return "https" if self.case in UNTRUSTED_FOREIGN else "http"

    @property
    def ca(self):
        return self.certs["ca"] if self.certs else None

    def secrets(self):
        """Every string whose appearance at the foreign origin is a leak."""
        basic = base64.b64encode(("%s:%s" % (USER, self.password)).encode()).decode()
        with self.lock:
            return [self.password, basic] + sorted(self.tokens)

    # -- lifecycle
    def start(self):
        for origin in ("registry", "foreign"):
            srv = QuietServer(("127.0.0.1", 0), make_handler(self, origin))
            if (origin == "registry" and self.tls) or self.foreign_scheme == "https":
                variant = {"tls-expired": "expired", "tls-wrong-host": "wrong-host",
                           "tls-self-signed": "self-signed"}.get(self.case, "good")
                if self.case in UNTRUSTED_FOREIGN:
                    variant = "self-signed"
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.certs[variant])
                srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                             do_handshake_on_connect=False)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers.append(srv)
        return self

    def stop(self):
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def log(self, entry):
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def entries(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    # -- what the registry says
    def realm(self):
        c = self.case
        if c == "realm-foreign":
            return "http://%s/token" % self.foreign
        if c == "realm-http":
            return "http://127.0.0.1:%d/token" % self.servers[1].server_address[1]
        if c == "realm-file":
            return "file:///etc/passwd"
        if c == "realm-metadata":
            return "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
        if c == "realm-userinfo":
            return "%s://evil:pw@%s/token" % (self.scheme, self.host)
        if c == "realm-resolves-metadata":
            return "http://metadata-alias.test:%s/token" % self.host.rsplit(":", 1)[1]
        if c == "realm-tls-untrusted":
            return "https://%s/token" % self.foreign
        if c == "escape-realm":
            return "%s://%s/tok\x1b[2J\x1b[1;1Hregistry: login succeeded\x9b31men" % (self.scheme, self.host)
        return "%s://%s/token" % (self.scheme, self.host)

    def authorized(self, header):
        if self.auth == "none":
            return True
        if self.auth == "basic":
            want = base64.b64encode(("%s:%s" % (USER, self.password)).encode()).decode()
            return header == "Basic " + want
        with self.lock:
            return header.startswith("Bearer ") and header[7:] in self.tokens

    def new_token(self):
        size = 16384 if self.case == "token-16k" else 32
        token = "tok-" + "%x" % random.getrandbits(size * 4)
        with self.lock:
            self.tokens.add(token)
        return token

    def sign(self, digest):
        """A one-use signed CDN URL on the other origin for @digest."""
        sig = "%032x" % random.getrandbits(128)
        with self.lock:
            self.signatures.add(sig)
        return "http://%s/cdn/%s?sig=%s" % (self.foreign, digest, sig)

    def first_time(self, digest):
        """True once per digest: the answer that gets cut short."""
        with self.lock:
            if digest in self.cut:
                return False
            self.cut.add(digest)
            return True

    def challenge(self):
        if self.auth == "basic":
            return 'Basic realm="hostile"'
        return 'Bearer realm="%s",service="hostile"' % self.realm()


def make_handler(reg, origin):
    img = reg.image

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY each
        # answer waits ~40 ms for a delayed ACK (cases of thousands of requests).
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            pass

        # ---- plumbing
        def read_body(self):
            return read_request_body(self)

        def send(self, status, body=b"", headers=None, ctype="application/json"):
            self.send_response(status)
            hdrs = dict(headers or {})
            if ctype and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = ctype
            hdrs.setdefault("Content-Length", str(len(body)))
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)
            self.sent += len(body)

        def error(self, status, code, message="hostile"):
            body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
            extra = {"WWW-Authenticate": reg.challenge()} if status == 401 else None
            self.send(status, body, extra)

        def stream(self, total, chunked=False, ctype="application/octet-stream"):
            """Send @total pseudo-random bytes, stopping when the client goes."""
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(total))
            self.end_headers()
            block = b"{" + b" " * 65535
            try:
                while self.sent < total:
                    n = min(len(block), total - self.sent)
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (n, block[:n]))
                    else:
                        self.wfile.write(block[:n])
                    self.sent += n
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True

        def handle_one_request(self):
            self.sent = 0
            if reg.case == "close-at-contact" and origin == "registry":
                self.close_connection = True  # not a byte read, not a byte sent
                return
            try:
                super().handle_one_request()
            except OSError:
                self.close_connection = True
            if getattr(self, "entry_logged", False):
                reg.log({"origin": origin, "sent": self.sent, "path": self.path,
                         "method": self.command})
            self.entry_logged = False

        def dispatch(self):
            body = self.read_body()
            reg.log({"origin": origin, "time": time.time(), "method": self.command,
                     "path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
                     "body_len": len(body), "body": body[:65536].decode("latin-1")})
            self.entry_logged = True
            if origin == "foreign":
                return self.foreign(body)
            return self.registry(body)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = dispatch

        # ---- the other origin
        def foreign(self, body):
            path = urllib.parse.urlsplit(self.path).path
            if path == "/token":
                token = "foreign-token-%d" % random.randrange(1 << 30)
                return self.send(200, json.dumps({"token": token, "expires_in": 300}).encode())
            if path.startswith("/blobs/"):
                data = img.blobs.get(path[len("/blobs/"):])
                return self.send(200 if data else 404, data or b"", ctype="application/octet-stream")
            if path.startswith("/cdn/"):
                return self.cdn(path[len("/cdn/"):])
            if path.startswith("/pingpong/"):
                n = int(path.rsplit("/", 1)[1])
                return self.send(302, b"", {"Location": "%s://%s/v2/%s/manifests/pp%d" %
                                            (reg.scheme, reg.host, REPO, n + 1)})
            if path.endswith("/tags/list"):
                return self.send(200, json.dumps({"name": REPO, "tags": ["z1", "z2"]}).encode())
            # Uploads sent here: ask for credentials, which must not come.
            self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"foreign"}]}',
                      {"WWW-Authenticate": 'Basic realm="foreign"'})

        def cdn(self, digest):
            """A CDN stand-in: signatures work once (they expire)."""
            sig = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("sig", [""])[0]
            with reg.lock:
                fresh = sig in reg.signatures
                reg.signatures.discard(sig)
            data = img.blobs.get(digest)
            if not fresh or data is None:
                return self.send(403, b"<Error>expired signature</Error>", ctype="application/xml")
            if data == img.layers[0] and reg.first_time(digest):
                return self.send_cut(data)
            self.send_ranged(data)

        def send_cut(self, data):
            """Announce all of @data, send half, drop the connection."""
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.sent += len(data) // 2
            self.wfile.flush()
            self.close_connection = True

        def send_ranged(self, data):
            """200, or 206 from the first byte of a "Range: bytes=N-"."""
            rng = self.headers.get("Range", "")
            if not rng.startswith("bytes=") or not rng.endswith("-"):
                return self.send(200, data, ctype="application/octet-stream")
            start = int(rng[6:-1])
            self.send(206, data[start:], {"Content-Range": "bytes %d-%d/%d" % (
                start, len(data) - 1, len(data))}, ctype="application/octet-stream")

        def misplaced_range(self, data, digest):
            """The first layer's Range trouble, or None to answer normally."""
            case = reg.case
            n = len(data)
            if case == "blob-416":
                return self.send(416, b"", {"Content-Range": "bytes */%d" % n})
            if case == "blob-206-no-range":
                return self.send(206, data[1:], {"Content-Range": "bytes 1-%d/%d" % (n - 1, n)},
                                 ctype="application/octet-stream")
            if "Range" not in self.headers:
                return self.send_cut(data)
            return self.send(206, data, {"Content-Range": "bytes 0-%d/%d" % (n - 1, n)},
                             ctype="application/octet-stream")

        # ---- the registry
        def registry(self, body):
            case = reg.case
            split = urllib.parse.urlsplit(self.path)
            path, query = split.path, urllib.parse.parse_qs(split.query)
            if path == "/token":
                return self.token()
            if path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                nxt = "/redirect/%d" % (n + 1) if n < 20 else "/v2/%s/manifests/r-final" % REPO
                return self.send(302, b"", {"Location": nxt})
            if not path.startswith("/v2/"):
                return self.error(404, "NOT_FOUND")
            if not reg.authorized(self.headers.get("Authorization", "")):
                return self.error(401, "UNAUTHORIZED", "authentication required")
            if case == "header-flood":
                self.send_response(200)
                try:
                    for i in range(20000):
                        self.send_header("X-Flood-%d" % i, "x" * 100)
                        self.sent += 120
                    self.end_headers()
                except OSError:
                    self.close_connection = True
                return
            if path == "/v2/":
                return self.send(200, b"{}")
            rest = path[len("/v2/"):]
            for kind in ("/manifests/", "/blobs/uploads/", "/blobs/", "/tags/list"):
                if kind in rest:
                    name, ref = rest.split(kind, 1)
                    break
            else:
                return self.error(404, "NAME_UNKNOWN")
            if name != REPO and not (reg.fanout and name == COPY_REPO):
                return self.error(404, "NAME_UNKNOWN")
            if kind == "/manifests/" and case == "server-error-5xx":
                return self.error(500, "UNKNOWN", "backend storage unavailable")
            if kind == "/manifests/" and case == "escape-error-message":
                return self.error(404, "MANIFEST_UNKNOWN",
                                  "\x1b[2J\x1b[H\nregistry-pull: success\r\n\x1b]0;pwned\x07\u009b2J")
            if kind == "/manifests/":
                return self.manifest(ref, body)
            if kind == "/blobs/uploads/":
                return self.upload(ref, query, body)
            if kind == "/blobs/":
                return self.blob(ref)
            return self.tags(query)

        def token(self):
            if reg.case == "json-bomb-token":
                return self.send(200, b'{"token":' + bomb())
            authz = self.headers.get("Authorization", "")
            want = base64.b64encode(("%s:%s" % (USER, reg.password)).encode()).decode()
            if authz != "Basic " + want:
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
            token = reg.new_token()
            self.send(200, json.dumps({"token": token, "expires_in": 300}).encode())

        def artifact(self, ref):
            titles = ARTIFACT_TITLES.get(ref)
            if titles is None:
                return self.error(404, "MANIFEST_UNKNOWN")
            layer = {"mediaType": "text/plain", "size": len(ARTIFACT_FILE), "digest": sha256(ARTIFACT_FILE)}
            doc = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                   "artifactType": "application/vnd.example.hostile",
                   "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                              "digest": sha256(b"{}")},
                   "layers": [dict(layer, annotations={"org.opencontainers.image.title": t}) for t in titles]}
            data = json.dumps(doc, indent=3).encode()
            self.send(200, data, {"Docker-Content-Digest": sha256(data)}, ctype=MT_OCI_MANIFEST)

        def manifest(self, ref, body):
            case = reg.case
            if case == "artifact-titles" and self.command == "GET":
                return self.artifact(ref)
            if self.command == "PUT":
                return self.send(201, b"", {"Docker-Content-Digest": sha256(body)})
            if self.command == "DELETE":
                # Registry 2.8 deletes by digest only and answers a tag so.
                if ref.startswith("sha256:") or case == "delete-by-tag":
                    return self.send(202, b"")
                return self.error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            if reg.fanout:
                index, children = reg.fanout
                data, mt = (children.get(ref), MT_OCI_MANIFEST) if ref.startswith("sha256:") \
                    else (index, MT_OCI_INDEX)
                if data is None:
                    return self.error(404, "MANIFEST_UNKNOWN")
                return self.send(200, data, {"Docker-Content-Digest": sha256(data)}, ctype=mt)
            if case == "json-bomb-error":
                return self.send(404, bomb())
            if case == "redirect-20" and not ref.startswith("r"):
                return self.send(302, b"", {"Location": "/redirect/1"})
            if case == "redirect-pingpong":
                n = int(ref[2:]) if ref.startswith("pp") else 0
                return self.send(302, b"", {"Location": "http://%s/pingpong/%d" % (reg.foreign, n)})
            if case in ("manifest-100mib", "manifest-100mib-chunked"):
                return self.stream(100 << 20, chunked=case.endswith("chunked"), ctype=MT_MANIFEST)
            if case == "json-bomb-manifest":
                data = bomb()
            elif case == "layer-traversal":
                data = img.manifest(layer_digest="sha256:../../etc/passwd")
            elif case == "layer-63hex":
                data = img.manifest(layer_digest=sha256(b"x")[:-1])
            elif case == "layer-blake3":
                data = img.manifest(layer_digest="blake3:" + sha256(b"x")[7:])
            elif case == "layer-blake3-traversal":
                data = img.manifest(layer_digest="blake3:../../etc/passwd")
            elif case == "size-5gib":
                data = img.manifest(layer_size=5 << 30)
            elif case == "size-understated":
                data = img.manifest(layer_size=4096)
            else:
                data = img.manifest()
            digest = sha256(data)
            if case == "wrong-manifest-digest" and ref.startswith("sha256:"):
                data = img.manifest(layer_size=len(img.layers[0]) + 1)  # another manifest
                digest = ref
            if case == "wrong-manifest-header":
                digest = sha256(data + b" ")
            self.send(200, data, {"Docker-Content-Digest": digest}, ctype=MT_MANIFEST)

        def blob(self, digest):
            case = reg.case
            data = reg.image.blobs.get(digest)
            if case == "artifact-titles":
                data = {sha256(ARTIFACT_FILE): ARTIFACT_FILE, sha256(b"{}"): b"{}"}.get(digest)
            if data is None:
                return self.error(404, "BLOB_UNKNOWN")
            if case in ("redirect-foreign-blob",) + UNTRUSTED_FOREIGN:
                return self.send(307, b"", {"Location": "%s://%s/blobs/%s" % (
                    reg.foreign_scheme, reg.foreign, digest)})
            if case == "redirect-cdn-expiring":
                return self.send(307, b"", {"Location": reg.sign(digest)})
            if case in ("blob-416", "blob-206-no-range", "blob-206-wrong-offset") and \
                    data == img.layers[0]:
                return self.misplaced_range(data, digest)
            if case == "size-understated" and data == img.layers[0]:
                return self.stream(64 << 20)
            if case.startswith("unpack-") and data == img.layers[-1] and reg.hold_last and \
                    self.command == "GET" and not self.hold():
                return self.error(404, "BLOB_UNKNOWN", "held until the timeout: no overlap")
            headers = {"Docker-Content-Digest": digest}
            if case == "wrong-blob-bytes" and data == img.layers[0]:
                data = img.layers[1][:len(data)]  # same size, other bytes
                headers = {}
            if case == "wrong-blob-header" and data == img.layers[0]:
                headers["Docker-Content-Digest"] = sha256(img.layers[1])
            self.send(200, data, headers, ctype="application/octet-stream")

        def hold(self):
            """Wait for reg.hold_last() (HOLD_TIMEOUT at most); True if it came."""
            end = time.monotonic() + HOLD_TIMEOUT
            while not reg.hold_last():
                if time.monotonic() > end:
                    reg.held = "timeout"
                    return False
                time.sleep(0.02)
            reg.held = "released"
            return True

        def upload(self, ref, query, body):
            case = reg.case
            if self.command == "POST":
                uid = "u%d" % random.randrange(1 << 30)
                if case == "upload-foreign-location":
                    loc = "http://%s/upload/%s" % (reg.foreign, uid)
                else:
                    loc = "/v2/%s/blobs/uploads/%s" % (REPO, uid)
                return self.send(202, b"", {"Location": loc, "Range": "0-0",
                                            "Docker-Upload-UUID": uid})
            if self.command == "PUT":
                digest = query.get("digest", [""])[0]
                data = reg.uploads.pop(ref, b"") + body
                if sha256(data) != digest:
                    return self.error(400, "DIGEST_INVALID")
                img.blobs[digest] = data
                return self.send(201, b"", {"Docker-Content-Digest": digest,
                                            "Location": "/v2/%s/blobs/%s" % (REPO, digest)})
            if self.command == "PATCH" and case == "upload-retry-after":
                return self.send(503, b'{"errors":[{"code":"UNAVAILABLE","message":"later"}]}',
                                 {"Retry-After": "30"})
            if self.command == "PATCH" and case == "upload-crawl":
                body = body[:1]
            if self.command == "GET":  # where the session stands
                n = len(reg.uploads.get(ref, b""))
                return self.send(204, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (REPO, ref),
                                            "Range": "0-%d" % max(n - 1, 0)})
            if self.command == "PATCH":
                reg.uploads[ref] = reg.uploads.get(ref, b"") + body
                n = len(reg.uploads[ref])
                return self.send(202, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (REPO, ref),
                                            "Range": "0-%d" % (n - 1)})
            if self.command == "DELETE":
                reg.uploads.pop(ref, None)
                return self.send(204, b"")
            return self.error(405, "UNSUPPORTED")

        def tags(self, query):
            case = reg.case
            if case == "json-bomb-tags":
                return self.send(200, bomb())
            headers = {}
            if case == "link-long-urls":
                return self.long_url_page(query)
            if case == "link-loop":
                headers["Link"] = '<%s>; rel="next"' % self.path
            if case == "link-oversized" and "last" not in query:
                headers["Link"] = '</v2/%s/tags/list?last=c&pad=%s>; rel="next"' % (REPO, "p" * 10240)
            if case == "link-foreign" and "last" not in query:
                headers["Link"] = '<http://%s/v2/%s/tags/list?last=c>; rel="next"' % (reg.foreign, REPO)
            self.send(200, json.dumps({"name": REPO, "tags": ["a", "b", "c"]}).encode(), headers)

        # ---- issue 14: uploads, pagination, fan-out
        def long_url_page(self, query):
            """Page p links to page p+1 by a URL of LONG_URL characters; the
            last links back to page 1, which the client has seen."""
            p = int(query.get("p", ["0"])[0])
            nxt = p + 1 if p < LONG_PAGES else 1
            base = "/v2/%s/tags/list?p=%d&pad=" % (REPO, nxt)
            url = base + "x" * (LONG_URL - len(base))
            tags = ["a", "b", "c"] if p == 0 else []
            self.send(200, json.dumps({"name": REPO, "tags": tags}).encode(),
                      {"Link": '<%s>; rel="next"' % url})

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="normal", choices=CASES)
    ap.add_argument("--auth", default="basic", choices=["none", "basic", "bearer"])
    ap.add_argument("--password", default="hostile-secret")
    ap.add_argument("--tls", action="store_true")
    opts = ap.parse_args()
    reg = HostileRegistry(opts.case, opts.auth, opts.password, tls=opts.tls).start()
    print("registry %s://%s foreign http://%s log %s%s" % (
        reg.scheme, reg.host, reg.foreign, reg.log_path, " ca " + reg.ca if reg.ca else ""))
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        reg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
