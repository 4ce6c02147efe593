"""Cosign's signature format, written and read by test code, independently
of libregistry (Debian's skopeo has sigstore disabled, so the published
format is the reference):

- the signatures of manifest sha256:<hex> live in the same repository under
  the tag "sha256-<hex>.sig": an OCI image manifest whose layers are each one
  signature;
- a layer is the simple signing payload, media type
  application/vnd.dev.cosign.simplesigning.v1+json, JSON
  {"critical": {"identity": {"docker-reference": REPO}, "image":
  {"docker-manifest-digest": DIGEST}, "type": "cosign container image
  signature"}, "optional": null};
- its annotation dev.cosignproject.cosign/signature is the base64 of the
  signature over the payload bytes (ECDSA: ASN.1 DER over SHA-256;
  Ed25519: over the payload; RSA: PKCS#1 v1.5 SHA-256).
"""
import base64
import hashlib
import json
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
# Cosign's OCI 1.1 mode (--registry-referrers-mode=oci-1-1): each signature is
# a manifest of its own, a referrer of the image (distribution-spec 1.1).
ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sig_tag(digest):
    return digest.replace(":", "-") + ".sig"


def new_key(kind):
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(kind)


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def payload(docker_reference, digest):
    return json.dumps({"critical": {"identity": {"docker-reference": docker_reference},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": None}, separators=(",", ":")).encode()


def sign(key, data):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify(public_key, sig, data):
    """True when @sig is a valid cosign signature of @data by @public_key."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(sig, data)
        else:
            public_key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def encrypted_private_key(key, password, n=32768, r=8, p=1):
    """@key as `cosign generate-key-pair` writes it: PEM "ENCRYPTED SIGSTORE
    PRIVATE KEY" over JSON {kdf: scrypt(N, r, p, salt), cipher: nacl/secretbox
    (nonce), ciphertext}, the plaintext being the PKCS#8 DER key. scrypt comes
    from python3-cryptography; secretbox (XSalsa20-Poly1305) from libsodium
    through ctypes (Debian has no python3-nacl in the test dependencies)."""
    import ctypes
    import os as _os
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt, nonce = _os.urandom(32), _os.urandom(24)
    box_key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode())
    sodium = ctypes.CDLL("libsodium.so.23")
    assert sodium.sodium_init() >= 0
    out = ctypes.create_string_buffer(len(der) + 16)
    assert sodium.crypto_secretbox_easy(out, der, ctypes.c_ulonglong(len(der)), nonce, box_key) == 0
    doc = {"kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p},
                   "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(out.raw).decode()}
    body = base64.encodebytes(json.dumps(doc).encode()).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n" + "\n".join(lines)
            + "\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n").encode()


def referrers_tag(digest):
    return digest.replace(":", "-")


def _referrer_manifest(reg, repo, subject, body, sig, artifact_type):
    ann = sig if isinstance(sig, str) else base64.b64encode(sig).decode()
    layer = {"mediaType": PAYLOAD_TYPE, "size": len(body), "digest": reg.push_blob(repo, body),
             "annotations": {SIG_ANNOTATION: ann}}
    empty = reg.push_blob(repo, b"{}")
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                       "config": {"mediaType": OCI_EMPTY, "size": 2, "digest": empty},
                       "layers": [layer], "subject": subject}).encode()


class Registry:
    """Plain HTTP to the open harness registry (auth none)."""

    def __init__(self, url):
        self.url = url

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(path if path.startswith("http") else self.url + path,
                                     data=body, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.read(), resp.headers

    def push_blob(self, repo, data):
        digest = sha256(data)
        _, h = self.request("POST", f"/v2/{repo}/blobs/uploads/", b"")
        loc = h["Location"]
        loc = loc if loc.startswith("http") else self.url + loc
        self.request("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + digest, data,
                     {"Content-Type": "application/octet-stream"})
        return digest

    def push_manifest(self, repo, ref, body, media_type=OCI_MANIFEST):
        _, h = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body, {"Content-Type": media_type})
        return h["Docker-Content-Digest"]

    def get_manifest(self, repo, ref, accept=OCI_MANIFEST):
        return self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": accept})

    def get_blob(self, repo, digest):
        return self.request("GET", f"/v2/{repo}/blobs/{digest}")[0]

    def push_signatures(self, repo, digest, layers):
        """Write the .sig tag of @digest: @layers are (payload bytes, signature bytes
        or a str annotation value, declared size or None)."""
        descs = []
        for body, sig, size in layers:
            d = self.push_blob(repo, body)
            ann = sig if isinstance(sig, str) else base64.b64encode(sig).decode()
            descs.append({"mediaType": PAYLOAD_TYPE, "size": size if size is not None else len(body),
                          "digest": d, "annotations": {SIG_ANNOTATION: ann}})
        config = json.dumps({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                             "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                             "rootfs": {"type": "layers",
                                        "diff_ids": [d["digest"] for d in descs]}}).encode()
        cdigest = self.push_blob(repo, config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": cdigest},
                               "layers": descs}).encode()
        return self.push_manifest(repo, sig_tag(digest), manifest)

    def read_signatures(self, repo, digest):
        """[(payload, signature)] of the .sig tag, each payload checked against its digest."""
        body, _ = self.get_manifest(repo, sig_tag(digest))
        out = []
        for layer in json.loads(body)["layers"]:
            assert layer["mediaType"] == PAYLOAD_TYPE, layer["mediaType"]
            data = self.get_blob(repo, layer["digest"])
            assert sha256(data) == layer["digest"]
            out.append((data, base64.b64decode(layer["annotations"][SIG_ANNOTATION])))
        return out

    def push_referrer_signatures(self, repo, subject, signatures, artifact_type=ARTIFACT_TYPE, listed_under=None):
        """Push each (payload, signature) of @signatures as a cosign referrer of
        @subject (a descriptor) and write the referrers tag schema index of the
        digest @listed_under (default the subject's) holding exactly them: what a client does on a registry
        without the referrers API (registry 2.8). Returns the index's entries."""
        entries = []
        for body, sig in signatures:
            m = _referrer_manifest(self, repo, subject, body, sig, artifact_type)
            entries.append({"mediaType": OCI_MANIFEST, "size": len(m), "artifactType": artifact_type,
                            "digest": self.push_manifest(repo, sha256(m), m)})
        self.write_referrers(repo, listed_under or subject["digest"], entries)
        return entries


    def write_referrers(self, repo, digest, entries):
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        return self.push_manifest(repo, referrers_tag(digest), index, OCI_INDEX)


    def read_referrer_signatures(self, repo, digest):
        """[(payload, signature)] of the cosign referrers of @digest, read as a
        verifier must: the referrers API, else the tag schema; each manifest by
        digest, its subject and artifactType checked, its payload digest-checked."""
        try:
            body, _ = self.request("GET", f"/v2/{repo}/referrers/{digest}", headers={"Accept": OCI_INDEX})
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
            body, _ = self.get_manifest(repo, referrers_tag(digest), OCI_INDEX)
        out = []
        for entry in json.loads(body)["manifests"]:
            if entry.get("artifactType") != ARTIFACT_TYPE:
                continue
            raw, _ = self.get_manifest(repo, entry["digest"])
            assert sha256(raw) == entry["digest"]
            m = json.loads(raw)
            assert m["artifactType"] == ARTIFACT_TYPE and m["subject"]["digest"] == digest, m
            for layer in m["layers"]:
                assert layer["mediaType"] == PAYLOAD_TYPE, layer["mediaType"]
                data = self.get_blob(repo, layer["digest"])
                assert sha256(data) == layer["digest"]
                out.append((data, base64.b64decode(layer["annotations"][SIG_ANNOTATION])))
        return out
