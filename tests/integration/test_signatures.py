#!/usr/bin/python3
"""Signature verification against the real harness registry: cosign
signatures written by test code in cosign's format (tests/harness/
cosign_format.py, python3-cryptography), checked by registry-verify under
containers-policy.json files.

    test_signatures.py CASE EXAMPLES_BUILD_DIR

Cases: cosign (accepted and every rejection), referrers (cosign's OCI 1.1
referrers, read and written), hostile (bounded and refused).
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.error

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import cosign_format as cf  # noqa: E402

BIN = None
FAILURES = []
SIGNED = "fixtures/small-oci"
UNSIGNED = "fixtures/multi-v2s2"


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, file=sys.stderr)


def host():
    return os.environ["REGISTRY_TEST_HOST"]


def registry():
    return cf.Registry(os.environ["REGISTRY_TEST_URL"])


def policy_file(tmp, requirement, name="policy.json"):
    """A policy whose docker scope for the harness host is @requirement; default rejects."""
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump({"default": [{"type": "reject"}],
                   "transports": {"docker": {host(): [requirement]}}}, f)
    return path


def sigstore(key_path, identity="matchRepository"):
    return {"type": "sigstoreSigned", "keyPath": key_path, "signedIdentity": {"type": identity}}


def write_key(tmp, key, name):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(cf.public_pem(key))
    return path


def verify(policy, ref, expect, *extra):
    """registry-verify; check the exit status; return (stdout, stderr)."""
    cmd = [os.path.join(BIN, "registry-verify"), "--insecure", "--policy", policy, *extra, ref]
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    out, err = p.stdout.decode(), p.stderr.decode(errors="replace")
    check(p.returncode == expect, f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}: {err.strip()}")
    return out, err


def rejected(policy, ref, reason, what):
    _, err = verify(policy, ref, 1)
    check(reason in err, f"{what}: the reason should say '{reason}': {err.strip()}")


def image_descriptor(reg, repo):
    body, h = reg.get_manifest(repo, "latest", cf.OCI_MANIFEST + ", application/vnd.docker.distribution.manifest.v2+json"
                               ", application/vnd.docker.distribution.manifest.list.v2+json"
                               ", application/vnd.oci.image.index.v1+json")
    return {"mediaType": h["Content-Type"], "digest": h["Docker-Content-Digest"], "size": len(body)}


def image_digest(reg, repo):
    return image_descriptor(reg, repo)["digest"]


def case_cosign():
    reg = registry()
    digest = image_digest(reg, SIGNED)
    ref = f"{host()}/{SIGNED}:latest"
    identity = f"{host()}/{SIGNED}"
    good = cf.payload(identity, digest)
    with tempfile.TemporaryDirectory() as tmp:
        # Each key type cosign makes, accepted; by tag and by digest.
        for kind in ("p256", "p384", "ed25519", "rsa"):
            key = cf.new_key(kind)
            reg.push_signatures(SIGNED, digest, [(good, cf.sign(key, good), None)])
            policy = policy_file(tmp, sigstore(write_key(tmp, key, kind + ".pub")))
            out, err = verify(policy, ref, 0)
            check(out.startswith(f"accepted {ref} {digest}"), f"{kind}: stdout {out!r}")
            check("sigstore" in err and "accepted: verified" in err, f"{kind}: signature report: {err}")
        verify(policy, f"{host()}/{SIGNED}@{digest}", 0)
        out, _ = verify(policy, ref, 0, "--json")
        doc = json.loads(out)
        check(doc["accepted"] is True and doc["digest"] == digest and doc["scope"] == host()
              and len(doc["signatures"]) == 1, f"--json: {doc}")

        key = cf.new_key("p256")
        policy = policy_file(tmp, sigstore(write_key(tmp, key, "k.pub")))
        # keyData works as keyPath does.
        with_data = policy_file(tmp, {"type": "sigstoreSigned",
                                      "keyData": base64.b64encode(cf.public_pem(key)).decode(),
                                      "signedIdentity": {"type": "matchRepository"}}, "data.json")
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(key, good), None)])
        verify(with_data, ref, 0)
        # The default identity rule (matchRepoDigestOrExact) wants repo:tag signed for a tag.
        rejected(policy_file(tmp, {"type": "sigstoreSigned", "keyPath": write_key(tmp, key, "k2.pub")},
                             "exact.json"), ref, "does not name this tag", "default identity rule")

        # Wrong key: a valid signature by someone else.
        other = cf.new_key("p256")
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(other, good), None)])
        rejected(policy, ref, "does not verify with the key", "wrong key")
        # A payload for another digest, correctly signed.
        another = cf.payload(identity, "sha256:" + "1" * 64)
        reg.push_signatures(SIGNED, digest, [(another, cf.sign(key, another), None)])
        rejected(policy, ref, "the signature is for manifest sha256:1111", "payload for another digest")
        # A tampered payload: signed, then changed.
        tampered = good.replace(b"\"optional\":null", b"\"optional\":{\"x\":1}")
        reg.push_signatures(SIGNED, digest, [(tampered, cf.sign(key, good), None)])
        rejected(policy, ref, "does not verify with the key", "tampered payload")
        # Identity of another repository.
        elsewhere = cf.payload(f"{host()}/other/repo", digest)
        reg.push_signatures(SIGNED, digest, [(elsewhere, cf.sign(key, elsewhere), None)])
        rejected(policy, ref, "another repository", "identity mismatch")
        # One bad and one good signature: accepted, both reported.
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(other, good), None), (good, cf.sign(key, good), None)])
        out, _ = verify(policy, ref, 0, "--json")
        sigs = json.loads(out)["signatures"]
        check(len(sigs) == 2 and ": rejected: " in sigs[0] and ": accepted: " in sigs[1], f"two signatures: {sigs}")

        # No signature at all.
        rejected(policy, f"{host()}/{UNSIGNED}:latest", "no sigstore signature", "unsigned image")
        # Keyless: said so, not accepted.
        keyless = policy_file(tmp, {"type": "sigstoreSigned", "fulcio": {"caPath": "/x", "oidcIssuer": "https://i",
                                                                         "subjectEmail": "a@b"},
                                    "rekorPublicKeyPath": "/r"}, "keyless.json")
        rejected(keyless, ref, "keyless sigstore verification", "keyless")
        # The simple requirements and an unknown one (fail closed).
        verify(policy_file(tmp, {"type": "insecureAcceptAnything"}, "any.json"), f"{host()}/{UNSIGNED}:latest", 0)
        rejected(policy_file(tmp, {"type": "reject"}, "rej.json"), ref, "rejects this image", "reject")
        rejected(policy_file(tmp, {"type": "signedByQuantum"}, "unk.json"), ref, "does not know", "unknown type")
        # The default applies to another host.
        with open(os.path.join(tmp, "other.json"), "w") as f:
            json.dump({"default": [{"type": "reject"}],
                       "transports": {"docker": {"quay.io": [{"type": "insecureAcceptAnything"}]}}}, f)
        rejected(os.path.join(tmp, "other.json"), ref, "rejects this image", "default scope")
        # A broken policy is a failure, not an acceptance.
        with open(os.path.join(tmp, "broken.json"), "w") as f:
            f.write('{"default": [{"type": "insecureAcceptAnything", "keyPath": "/x"}]}')
        rejected(os.path.join(tmp, "broken.json"), ref, "unknown field \"keyPath\"", "broken policy")


def tool(name, *args, expect=0):
    cmd = [os.path.join(BIN, name), "--insecure", "--quiet", *args]
    p = subprocess.run(cmd, capture_output=True, timeout=300)
    err = p.stderr.decode(errors="replace")
    check(p.returncode == expect, f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}: {err.strip()}")
    return p.stdout.decode(), err


def manifest_exists(reg, repo, tag):
    try:
        reg.get_manifest(repo, tag)
        return True
    except urllib.error.HTTPError as e:
        return e.code != 404


def case_gate():
    """pull and copy with --policy: refused before anything is written; accepted pulls the digest verified."""
    reg = registry()
    digest = image_digest(reg, SIGNED)
    ref = f"{host()}/{SIGNED}:latest"
    good = cf.payload(f"{host()}/{SIGNED}", digest)
    key, other = cf.new_key("p256"), cf.new_key("ed25519")
    with tempfile.TemporaryDirectory() as tmp:
        policy = policy_file(tmp, sigstore(write_key(tmp, key, "k.pub")))
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(other, good), None)])
        for dest in ("oci-dest", "docker-dest", "image.tar"):
            extra = ["--format", "docker"] if dest == "docker-dest" else []
            _, err = tool("registry-pull", "--policy", policy, *extra, ref, os.path.join(tmp, dest), expect=1)
            check("not accepted by the policy" in err and "does not verify" in err, f"pull refused: {err}")
            check(not os.path.exists(os.path.join(tmp, dest)), f"a refused pull wrote {dest}")
        _, err = tool("registry-copy", "--policy", policy, ref, f"{host()}/gate/copy:refused", expect=1)
        check("not accepted by the policy" in err, f"copy refused: {err}")
        check(not manifest_exists(reg, "gate/copy", "refused"), "a refused copy pushed the image")

        reg.push_signatures(SIGNED, digest, [(good, cf.sign(key, good), None)])
        out, _ = tool("registry-pull", "--policy", policy, "--json", ref, os.path.join(tmp, "oci-dest"))
        check(json.loads(out)["digest"] == digest, f"accepted pull: {out}")
        with open(os.path.join(tmp, "oci-dest", "index.json")) as f:
            names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in json.load(f)["manifests"]]
        check(names == ["latest"], f"the layout names the image by its tag: {names}")
        tool("registry-copy", "--policy", policy, ref, f"{host()}/gate/copy:accepted")
        check(manifest_exists(reg, "gate/copy", "accepted"), "an accepted copy did not push")
        # Without --policy nothing changes.
        tool("registry-pull", f"{host()}/{UNSIGNED}:latest", os.path.join(tmp, "plain"))


def sign(key_file, ref, *extra, env_password=None, stdin=None, expect=0):
    cmd = [os.path.join(BIN, "registry-sign"), "--insecure", "--key", key_file, *extra, ref]
    env = dict(os.environ)
    env.pop("COSIGN_PASSWORD", None)
    if env_password is not None:
        env["COSIGN_PASSWORD"] = env_password
    p = subprocess.run(cmd, capture_output=True, timeout=120, env=env, input=stdin)
    err = p.stderr.decode(errors="replace")
    check(p.returncode == expect, f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}: {err.strip()}")
    return p.stdout.decode(), err


def independent_check(reg, repo, digest, public_key, identity):
    """What cosign verify --key checks, in a few lines of python3-cryptography:
    the .sig tag's layers, their payloads (digest-checked) and annotations."""
    return independent_ok(reg.read_signatures(repo, digest), digest, public_key, identity)


def independent_ok(found, digest, public_key, identity):
    """One of the (payload, signature) pairs @found is a valid cosign signature."""
    for data, sig in found:
        doc = json.loads(data)
        crit = doc["critical"]
        if (cf.verify(public_key, sig, data) and crit["type"] == "cosign container image signature"
                and crit["image"]["docker-manifest-digest"] == digest
                and crit["identity"]["docker-reference"] == identity):
            return True
    return False


def case_sign():
    """registry-sign writes what cosign writes: checked independently, and by registry-verify."""
    reg = registry()
    digest = image_digest(reg, UNSIGNED)
    ref = f"{host()}/{UNSIGNED}:latest"
    identity = f"{host()}/{UNSIGNED}"
    with tempfile.TemporaryDirectory() as tmp:
        keys = {}
        for kind in ("p256", "ed25519", "rsa"):
            key = cf.new_key(kind)
            path = os.path.join(tmp, kind + ".key")
            with open(path, "wb") as f:
                f.write(cf.encrypted_private_key(key, "pw-" + kind, n=1024))
            keys[kind] = (key, path)
        key, path = keys["p256"]
        out, _ = sign(path, ref, env_password="pw-p256")
        check(out.strip() == f"signed {ref} {digest}", f"registry-sign output: {out!r}")
        check(independent_check(reg, UNSIGNED, digest, key.public_key(), identity),
              "the signature of registry-sign does not pass the independent check")
        check(not independent_check(reg, UNSIGNED, digest, cf.new_key("p256").public_key(), identity),
              "the independent check accepts any key")
        verify(policy_file(tmp, sigstore(write_key(tmp, key, "p256.pub"))), ref, 0)
        # More signers append; --key-password-stdin; the others' signatures stay valid.
        sign(keys["ed25519"][1], ref, "--key-password-stdin", stdin=b"pw-ed25519\n")
        sign(keys["rsa"][1], ref, env_password="pw-rsa")
        check(len(reg.read_signatures(UNSIGNED, digest)) == 3, "signatures are appended")
        for kind, (k, _) in keys.items():
            check(independent_check(reg, UNSIGNED, digest, k.public_key(), identity), f"{kind} signature")
            verify(policy_file(tmp, sigstore(write_key(tmp, k, kind + ".pub"))), ref, 0)
        # The default key parameters of cosign (N=32768, r=8) work too.
        with open(os.path.join(tmp, "default.key"), "wb") as f:
            f.write(cf.encrypted_private_key(key, "pw"))
        sign(os.path.join(tmp, "default.key"), ref, "--replace", env_password="pw")
        check(len(reg.read_signatures(UNSIGNED, digest)) == 1, "--replace drops the old signatures")
        # Wrong password, not a key, scrypt parameters a hostile file could use to exhaust memory.
        _, err = sign(path, ref, env_password="wrong", expect=1)
        check("wrong password" in err, f"wrong password: {err}")
        with open(os.path.join(tmp, "bad.key"), "wb") as f:
            f.write(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
        _, err = sign(os.path.join(tmp, "bad.key"), ref, env_password="x", expect=1)
        check("cosign key" in err, f"bad key: {err}")
        with open(os.path.join(tmp, "huge.key"), "wb") as f:
            f.write(huge_scrypt_key())
        _, err = sign(os.path.join(tmp, "huge.key"), ref, env_password="pw", expect=1)
        check("at most 256 MiB" in err or "out of range" in err, f"huge scrypt: {err}")


def case_referrers():
    """Cosign signatures as OCI 1.1 referrers (cosign's oci-1-1 mode), written by
    test code; the registry (2.8) has no referrers API, so they are listed in the
    sha256-<hex> tag schema index as distribution-spec 1.1 asks of clients."""
    reg = registry()
    subject = image_descriptor(reg, SIGNED)
    digest = subject["digest"]
    ref = f"{host()}/{SIGNED}:latest"
    good = cf.payload(f"{host()}/{SIGNED}", digest)
    key, other = cf.new_key("p256"), cf.new_key("p256")
    with tempfile.TemporaryDirectory() as tmp:
        policy = policy_file(tmp, sigstore(write_key(tmp, key, "k.pub")))
        rejected(policy, ref, "no cosign referrer", "no tag, no referrer")
        reg.push_referrer_signatures(SIGNED, subject, [(good, cf.sign(key, good))])
        out, err = verify(policy, ref, 0, "--json")
        sigs = json.loads(out)["signatures"]
        check(len(sigs) == 1 and sigs[0].startswith("sigstore referrer sha256:") and ": accepted: " in sigs[0],
              f"accepted through a referrer: {sigs}")
        # Rejections: wrong key, a payload for another digest, a tampered payload.
        reg.push_referrer_signatures(SIGNED, subject, [(good, cf.sign(other, good))])
        rejected(policy, ref, "does not verify with the key", "referrer: wrong key")
        another = cf.payload(f"{host()}/{SIGNED}", "sha256:" + "1" * 64)
        reg.push_referrer_signatures(SIGNED, subject, [(another, cf.sign(key, another))])
        rejected(policy, ref, "the signature is for manifest sha256:1111", "referrer: payload for another digest")
        tampered = good.replace(b"\"optional\":null", b"\"optional\":{\"x\":1}")
        reg.push_referrer_signatures(SIGNED, subject, [(tampered, cf.sign(key, good))])
        rejected(policy, ref, "does not verify with the key", "referrer: tampered payload")
        # A good signature of this image whose manifest names another subject, listed here: refused.
        elsewhere = dict(subject, digest=image_digest(reg, UNSIGNED))
        reg.push_referrer_signatures(SIGNED, elsewhere, [(good, cf.sign(key, good))], listed_under=digest)
        rejected(policy, ref, "not this image", "referrer of another subject")
        # A manifest listed as a cosign signature that is another artifact: refused.
        entries = reg.push_referrer_signatures(SIGNED, subject, [(good, cf.sign(key, good))],
                                               artifact_type="application/vnd.example.other")
        reg.write_referrers(SIGNED, digest, [dict(entries[0], artifactType=cf.ARTIFACT_TYPE)])
        rejected(policy, ref, "is not a cosign signature manifest", "listed as cosign, another artifact")
        # Bounded: more cosign referrers than examined is refused, the good one last.
        good_entries = reg.push_referrer_signatures(SIGNED, subject, [(good, cf.sign(key, good))])
        bad = reg.push_referrer_signatures(SIGNED, subject, [(good, f"bad-{i}") for i in range(64)])
        reg.write_referrers(SIGNED, digest, bad + good_entries)
        rejected(policy, ref, "65 cosign referrers, more than the 64 examined", "65 referrers")
        # A bad .sig tag and a good referrer: accepted, both examined.
        reg.write_referrers(SIGNED, digest, good_entries)
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(other, good), None)])
        out, _ = verify(policy, ref, 0, "--json")
        sigs = json.loads(out)["signatures"]
        check(len(sigs) == 2 and ": rejected: " in sigs[0] and "referrer" in sigs[1] and ": accepted: " in sigs[1],
              f".sig tag and referrer: {sigs}")
        # registry-sign --referrer: the independent check reads the referrer; no .sig tag is written.
        udesc = image_descriptor(reg, UNSIGNED)
        uref = f"{host()}/{UNSIGNED}:latest"
        identity = f"{host()}/{UNSIGNED}"
        pem = os.path.join(tmp, "signer.key")
        with open(pem, "wb") as f:
            f.write(cf.encrypted_private_key(key, "pw", n=1024))
        out, _ = sign(pem, uref, "--referrer", env_password="pw")
        check(out.strip() == f"signed {uref} {udesc['digest']}", f"registry-sign --referrer: {out!r}")
        check(not manifest_exists(reg, UNSIGNED, cf.sig_tag(udesc["digest"])), "--referrer wrote the .sig tag")
        found = reg.read_referrer_signatures(UNSIGNED, udesc["digest"])
        check(len(found) == 1 and independent_ok(found, udesc["digest"], key.public_key(), identity),
              f"registry-sign --referrer does not pass the independent check: {found}")
        check(not independent_ok(found, udesc["digest"], other.public_key(), identity),
              "the independent check accepts any key")
        verify(policy, uref, 0)
        # A second signer adds a referrer; the first stays listed.
        with open(os.path.join(tmp, "ed.key"), "wb") as f:
            f.write(cf.encrypted_private_key(cf.new_key("ed25519"), "pw", n=1024))
        sign(os.path.join(tmp, "ed.key"), uref, "--referrer", env_password="pw")
        check(len(reg.read_referrer_signatures(UNSIGNED, udesc["digest"])) == 2, "referrers are added")
        verify(policy, uref, 0)
        _, err = sign(pem, uref, "--referrer", "--replace", env_password="pw", expect=1)
        check("REGISTRY_SIGN_REPLACE" in err, f"--referrer --replace: {err}")


def huge_scrypt_key():
    doc = {"kdf": {"name": "scrypt", "params": {"N": 1 << 24, "r": 64, "p": 1}, "salt": "AAAA"},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(b"n" * 24).decode()},
           "ciphertext": base64.b64encode(b"c" * 64).decode()}
    body = base64.b64encode(json.dumps(doc).encode()).decode()
    return ("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n" + body
            + "\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n").encode()


def gpg(home, *args, input=None):
    p = subprocess.run(["gpg", "--batch", "--homedir", home, *args], capture_output=True, timeout=120, input=input)
    check(p.returncode == 0, f"gpg {' '.join(args)}: {p.stderr.decode(errors='replace')}")
    return p.stdout


def new_gpg_key(home, name):
    os.makedirs(home, mode=0o700)
    gpg(home, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", "never")
    out = gpg(home, "--with-colons", "--list-secret-keys").decode()
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def skopeo_cmd(*args, env=None):
    cmd = os.environ["REGISTRY_TEST_SKOPEO"].split() + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=300, env=env)
    return p.returncode, p.stderr.decode(errors="replace")


def case_gpg():
    """Simple signing as skopeo writes it (--sign-by, lookaside in registries.d), verified with gpgme."""
    reg = registry()
    with tempfile.TemporaryDirectory() as tmp:
        home, other_home = os.path.join(tmp, "gnupg"), os.path.join(tmp, "gnupg-other")
        fpr, _ = new_gpg_key(home, "signer"), new_gpg_key(other_home, "other")
        try:
            sigs, rd = os.path.join(tmp, "sigs"), os.path.join(tmp, "registries.d")
            os.makedirs(rd)
            with open(os.path.join(rd, "lookaside.yaml"), "w") as f:
                f.write(f"default-docker:\n  lookaside: file://{sigs}\n  lookaside-staging: file://{sigs}\n")
            env = dict(os.environ, GNUPGHOME=home)
            src = "oci:" + os.path.join(os.environ["REGISTRY_TEST_FIXTURES"], "small") + ":latest"
            rc, err = skopeo_cmd("--registries.d", rd, "copy", "--dest-tls-verify=false", "--sign-by", fpr, src,
                                 f"docker://{host()}/signed/img:v1", env=env)
            check(rc == 0, f"skopeo copy --sign-by: {err}")
            rc, err = skopeo_cmd("copy", "--dest-tls-verify=false", src, f"docker://{host()}/signed/img:v2")
            check(rc == 0, f"skopeo copy: {err}")
            keyfile, other_key = os.path.join(tmp, "key.gpg"), os.path.join(tmp, "other.gpg")
            with open(keyfile, "wb") as f:
                f.write(gpg(home, "--export", "--armor", fpr))
            with open(other_key, "wb") as f:
                f.write(gpg(other_home, "--export"))
            policy = policy_file(tmp, {"type": "signedBy", "keyType": "GPGKeys", "keyPath": keyfile})
            ref = f"{host()}/signed/img:v1"
            probe = subprocess.run([os.path.join(BIN, "registry-verify"), "--insecure", "--policy", policy,
                                    "--registries-d", rd, ref], capture_output=True, timeout=120)
            if b"built with gpgme" in probe.stderr:
                print("SKIP: libregistry was built without gpgme (-Dgpgme=disabled)")
                sys.exit(77)
            out, err = verify(policy, ref, 0, "--registries-d", rd)
            check("simple-signing" in err and "accepted: verified" in err, f"gpg signature report: {err}")
            # skopeo agrees with the same policy and registries.d.
            rc, err = skopeo_cmd("--policy", policy, "--registries.d", rd, "copy", "--src-tls-verify=false",
                                 f"docker://{ref}", "dir:" + os.path.join(tmp, "skopeo-ok"))
            check(rc == 0, f"skopeo accepts what libregistry accepts: {err}")
            # A signature of v1 read for v2 (same digest, same lookaside path): the identity does not match.
            _, err = verify(policy, f"{host()}/signed/img:v2", 1, "--registries-d", rd)
            check("does not name this tag" in err, f"identity mismatch: {err}")
            exact = policy_file(tmp, {"type": "signedBy", "keyType": "GPGKeys", "keyPath": keyfile,
                                      "signedIdentity": {"type": "exactReference",
                                                         "dockerReference": f"{host()}/other/img:v1"}}, "exact.json")
            _, err = verify(exact, ref, 1, "--registries-d", rd)
            check("exactReference" in err, f"exactReference mismatch: {err}")
            # A key that did not sign.
            _, err = verify(policy_file(tmp, {"type": "signedBy", "keyType": "GPGKeys", "keyPath": other_key},
                                        "other.json"), ref, 1, "--registries-d", rd)
            check("not by a key of the policy" in err, f"wrong key: {err}")
            # No lookaside configured, an unsigned image.
            _, err = verify(policy, ref, 1)
            check("no simple signing signature" in err or "no lookaside" in err, f"no registries.d: {err}")
            unsigned = f"{host()}/{UNSIGNED}:latest"
            _, err = verify(policy, unsigned, 1, "--registries-d", rd)
            check("no simple signing signature in" in err, f"unsigned: {err}")
            # The signed image's signature copied to the unsigned image: for another digest.
            sig_dirs = [d for d in os.listdir(os.path.join(sigs, "signed")) if d.startswith("img@sha256=")]
            check(len(sig_dirs) == 1, f"skopeo's lookaside layout: {sig_dirs}")
            signature = os.path.join(sigs, "signed", sig_dirs[0], "signature-1")
            udigest = image_digest(reg, UNSIGNED)
            os.makedirs(os.path.join(sigs, "fixtures", "multi-v2s2@sha256=" + udigest.split(":")[1]))
            with open(signature, "rb") as f:
                good = f.read()
            with open(os.path.join(sigs, "fixtures", "multi-v2s2@sha256=" + udigest.split(":")[1], "signature-1"),
                      "wb") as f:
                f.write(good)
            _, err = verify(policy, unsigned, 1, "--registries-d", rd)
            check("the signature is for manifest" in err, f"signature for another digest: {err}")
            # A tampered signature.
            bad = bytearray(good)
            bad[len(bad) // 2] ^= 0x55
            with open(signature, "wb") as f:
                f.write(bytes(bad))
            _, err = verify(policy, ref, 1, "--registries-d", rd)
            check("gpg:" in err, f"tampered signature: {err}")
            with open(signature, "wb") as f:
                f.write(good)
            verify(policy, ref, 0, "--registries-d", rd)

            https_lookaside(tmp, policy, ref, sigs)
            registry_signature_storage(tmp, env, fpr, keyfile, other_key)

            # libregistry signs with GPG (registry-sign --gpg); skopeo's policy check accepts it.
            staging = os.path.join(tmp, "staging")
            rd2 = os.path.join(tmp, "registries2.d")
            os.makedirs(rd2)
            with open(os.path.join(rd2, "a.yaml"), "w") as f:
                f.write(f"docker:\n  {host()}/fixtures:\n    lookaside: file://{staging}\n")
            cmd = [os.path.join(BIN, "registry-sign"), "--insecure", "--gpg", fpr, "--registries-d", rd2, unsigned]
            p = subprocess.run(cmd, capture_output=True, timeout=120, env=env)
            check(p.returncode == 0 and p.stdout.decode().strip() == f"signed {unsigned} {udigest}",
                  f"registry-sign --gpg: {p.returncode} {p.stdout!r} {p.stderr.decode(errors='replace')}")
            check(os.path.exists(os.path.join(staging, UNSIGNED + "@sha256=" + udigest.split(":")[1], "signature-1")),
                  "registry-sign --gpg wrote skopeo's lookaside layout")
            rc, err = skopeo_cmd("--policy", policy, "--registries.d", rd2, "copy", "--src-tls-verify=false",
                                 f"docker://{unsigned}", "dir:" + os.path.join(tmp, "skopeo-ours"))
            check(rc == 0, f"skopeo accepts libregistry's GPG signature: {err}")
            verify(policy, unsigned, 0, "--registries-d", rd2)
            # ... and a second signer's signature goes to signature-2, the first stays.
            p = subprocess.run(cmd, capture_output=True, timeout=120, env=env)
            check(os.path.exists(os.path.join(staging, UNSIGNED + "@sha256=" + udigest.split(":")[1], "signature-2")),
                  "a second signature is added, not overwritten")
            # A registries.d that configures one scope twice is refused, not guessed.
            with open(os.path.join(rd2, "b.yaml"), "w") as f:
                f.write(f"docker:\n  {host()}/fixtures:\n    lookaside: file:///elsewhere\n")
            _, err = verify(policy, unsigned, 1, "--registries-d", rd2)
            check("configured twice" in err, f"conflicting registries.d: {err}")
        finally:
            for h in (home, other_home):
                subprocess.run(["gpgconf", "--homedir", h, "--kill", "all"], capture_output=True)


def case_hostile():
    """A hostile registry's signature lists: bounded and refused, never accepted."""
    reg = registry()
    digest = image_digest(reg, SIGNED)
    ref = f"{host()}/{SIGNED}:latest"
    good = cf.payload(f"{host()}/{SIGNED}", digest)
    key = cf.new_key("p256")
    with tempfile.TemporaryDirectory() as tmp:
        policy = policy_file(tmp, sigstore(write_key(tmp, key, "k.pub")))
        # More signatures than examined (even if the last one is good).
        bad = cf.sign(cf.new_key("p256"), good)
        reg.push_signatures(SIGNED, digest, [(good, bad, None)] * 64 + [(good, cf.sign(key, good), None)])
        rejected(policy, ref, "more than the 64 examined", "65 signatures")
        # A payload declared larger than 64 KiB is not fetched.
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(key, good), 1 << 20)])
        rejected(policy, ref, "more than the 65536 allowed", "huge payload")
        # A payload whose bytes do not match its digest... the registry checks that; a
        # size that lies (shorter) makes the fetch fail instead of trusting it.
        reg.push_signatures(SIGNED, digest, [(good, cf.sign(key, good), 10)])
        verify(policy, ref, 1)
        # Malformed payloads, validly signed.
        for body, reason in ((b"[1,2", "not a JSON object"),
                             (b'{"critical":{"type":"cosign container image signature"}}', "exactly type, image"),
                             (good.replace(b"cosign container image signature", b"atomic container signature"),
                              "type is not")):
            reg.push_signatures(SIGNED, digest, [(body, cf.sign(key, body), None)])
            rejected(policy, ref, reason, f"malformed payload {body[:30]!r}")
        # A signature annotation that is not base64, or too long.
        reg.push_signatures(SIGNED, digest, [(good, "%%%not base64%%%", None)])
        rejected(policy, ref, "is not base64", "annotation not base64")
        reg.push_signatures(SIGNED, digest, [(good, base64.b64encode(b"x" * 4096).decode(), None)])
        rejected(policy, ref, "is not base64 of at most 1 KiB", "annotation too long")
        hostile_lookaside(tmp, digest, ref)


def hostile_lookaside(tmp, digest, ref):
    """A lookaside storage that is hostile: too many signatures, one too large, a
    malformed payload well signed, a directory where a file should be."""
    home = os.path.join(tmp, "gnupg")
    fpr = new_gpg_key(home, "hostile")
    try:
        keyfile = os.path.join(tmp, "key.gpg")
        with open(keyfile, "wb") as f:
            f.write(gpg(home, "--export", fpr))
        policy = policy_file(tmp, {"type": "signedBy", "keyType": "GPGKeys", "keyPath": keyfile}, "gpg.json")
        sigs, rd = os.path.join(tmp, "sigs"), os.path.join(tmp, "rd")
        os.makedirs(rd)
        with open(os.path.join(rd, "x.yaml"), "w") as f:
            f.write(f"default-docker:\n  lookaside: file://{sigs}\n")
        sigdir = os.path.join(sigs, SIGNED + "@sha256=" + digest.split(":")[1])
        os.makedirs(sigdir)

        def put(i, data):
            with open(os.path.join(sigdir, f"signature-{i}"), "wb") as f:
                f.write(data)

        probe = subprocess.run([os.path.join(BIN, "registry-verify"), "--insecure", "--policy", policy,
                                "--registries-d", rd, ref], capture_output=True, timeout=120)
        if b"built with gpgme" in probe.stderr:
            return
        bad_payload = gpg(home, "--sign", "--local-user", fpr, input=b'{"critical": 1}')
        for i in range(1, 66):
            put(i, bad_payload)
        _, err = verify(policy, ref, 1, "--registries-d", rd)
        check("more than the 64 signatures" in err, f"65 lookaside signatures: {err}")
        for i in range(2, 66):
            os.unlink(os.path.join(sigdir, f"signature-{i}"))
        _, err = verify(policy, ref, 1, "--registries-d", rd)
        check("exactly type, image" in err, f"malformed payload, well signed: {err}")
        put(1, b"\x00" * (5 << 20))
        _, err = verify(policy, ref, 1, "--registries-d", rd)
        check("larger than" in err, f"5 MiB signature: {err}")
        os.unlink(os.path.join(sigdir, "signature-1"))
        os.makedirs(os.path.join(sigdir, "signature-1"))
        verify(policy, ref, 1, "--registries-d", rd)
        # A lookaside on a scheme that is not file, https or http: refused.
        with open(os.path.join(rd, "x.yaml"), "w") as f:
            f.write("default-docker:\n  lookaside: ftp://lookaside.invalid/sigs\n")
        _, err = verify(policy, ref, 1, "--registries-d", rd)
        check("only file://, https:// and http://" in err, f"ftp lookaside: {err}")
        hostile_http_lookaside(tmp, keyfile)
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)


def https_lookaside(tmp, policy, ref, sigs):
    """The lookaside folder skopeo signed into, served over HTTPS on loopback by
    python3's http.server (SimpleHTTPRequestHandler) in TLS with a throwaway
    CA: verified through an https:// lookaside, the CA given with --ca."""
    import http.server
    import ssl
    import threading
    from harness_http import TLSThreadingServer
    from harness_pki import Pki

    pki = Pki(os.path.join(tmp, "pki"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert_path, pki.server_key_path)

    class Owner:
        tls_context = ctx

    class Static(http.server.SimpleHTTPRequestHandler):
        timeout = 30  # read by TLSThreadingServer for the handshake

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=sigs, **kwargs)

        def log_message(self, fmt, *args):
            pass

    srv = TLSThreadingServer(("127.0.0.1", 0), Static, Owner())
    threading.Thread(target=srv.serve_forever, args=(0.1,), daemon=True).start()
    try:
        rd = os.path.join(tmp, "registries-https.d")
        os.makedirs(rd)
        with open(os.path.join(rd, "a.yaml"), "w") as f:
            f.write(f"docker:\n  {host()}/signed:\n    lookaside: https://127.0.0.1:{srv.server_address[1]}/\n")
        _, err = verify(policy, ref, 0, "--registries-d", rd, "--ca", pki.ca_path)
        check("https://127.0.0.1" in err and "accepted: verified" in err, f"https lookaside: {err}")
        # TLS is verified: without the CA the lookaside is not trusted, and nothing is accepted.
        _, err = verify(policy, ref, 1, "--registries-d", rd)
        check("cannot read the simple signing signature" in err, f"https lookaside, unknown CA: {err}")
    finally:
        srv.shutdown()
        srv.server_close()


def hostile(case, tmp, password):
    """tests/proxy/hostile_registry.py in @case, basic auth with @password."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proxy"))
    import hostile_registry as hr
    return hr, hr.HostileRegistry(case, "basic", password, log=os.path.join(tmp, case + ".jsonl"),
                                  cert_dir=os.path.join(tmp, case + "-certs")).start()


def verify_hostile(hr, srv, password, policy, tag, expect, rd):
    cmd = [os.path.join(BIN, "registry-verify"), "--insecure", "--username", hr.USER, "--password-stdin",
           "--policy", policy, "--registries-d", rd, f"{srv.host}/{hr.REPO}:{tag}"]
    p = subprocess.run(cmd, capture_output=True, timeout=120, input=password.encode() + b"\n")
    err = p.stderr.decode(errors="replace")
    check(p.returncode == expect, f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}: {err}")
    return err


def registry_signature_storage(tmp, env, fpr, keyfile, other_key):
    """The registry's own signature storage (X-Registry-Supports-Signatures):
    Debian's docker-registry has none, so the hostile registry plays it. Real
    skopeo signs into it (copy --sign-by PUTs to /extensions/v2/...), and
    libregistry reads what skopeo wrote, in place of lookaside storage."""
    password = "pw-storage-secret"
    empty_rd = os.path.join(tmp, "rd-empty")
    os.makedirs(empty_rd, exist_ok=True)
    # The hostile registry is another host than the harness's: the default scope.
    policy, other = os.path.join(tmp, "storage.json"), os.path.join(tmp, "storage-other.json")
    for path, key in ((policy, keyfile), (other, other_key)):
        with open(path, "w") as f:
            json.dump({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": key}]}, f)
    hr, srv = hostile("signatures", tmp, password)
    try:
        creds = f"{hr.USER}:{password}"
        rc, err = skopeo_cmd("--registries.d", empty_rd, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                             "--src-creds", creds, "--dest-creds", creds, "--sign-by", fpr,
                             f"docker://{srv.host}/{hr.REPO}:latest", f"docker://{srv.host}/{hr.REPO}:signed", env=env)
        check(rc == 0, f"skopeo copy --sign-by into the registry's signature storage: {err}")
        stored = [e for entries in srv.stored_signatures.values() for e in entries]
        check(len(stored) == 1, f"skopeo wrote its signature through the extension: {stored}")
        err = verify_hostile(hr, srv, password, policy, "signed", 0, empty_rd)
        check("/extensions/v2/hostile/app/signatures/sha256:" in err and "accepted: verified" in err,
              f"the registry's signature storage: {err}")
        err = verify_hostile(hr, srv, password, policy, "latest", 1, empty_rd)
        check("does not name this tag" in err, f"storage: signed identity of another tag: {err}")
        err = verify_hostile(hr, srv, password, other, "signed", 1, empty_rd)
        check("not by a key of the policy" in err, f"storage: wrong key: {err}")
        with srv.lock:
            for entries in srv.stored_signatures.values():
                raw = bytearray(base64.b64decode(entries[0]["content"]))
                raw[len(raw) // 2] ^= 0x55
                entries[0]["content"] = base64.b64encode(bytes(raw)).decode()
        err = verify_hostile(hr, srv, password, policy, "signed", 1, empty_rd)
        check("gpg:" in err, f"storage: tampered signature: {err}")
        # libregistry signs into the storage (registry-sign --gpg), and skopeo accepts what it wrote.
        cmd = [os.path.join(BIN, "registry-sign"), "--insecure", "--username", hr.USER, "--password-stdin",
               "--gpg", fpr, "--registries-d", empty_rd, f"{srv.host}/{hr.REPO}:ours"]
        p = subprocess.run(cmd, capture_output=True, timeout=120, env=env, input=password.encode() + b"\n")
        check(p.returncode == 0, f"registry-sign --gpg into the storage: {p.stderr.decode(errors='replace')}")
        check(sum(len(v) for v in srv.stored_signatures.values()) == 2, "registry-sign --gpg added an entry")
        rc, err = skopeo_cmd("--policy", policy, "--registries.d", empty_rd, "copy", "--src-tls-verify=false",
                             "--src-creds", creds, f"docker://{srv.host}/{hr.REPO}:ours",
                             "dir:" + os.path.join(tmp, "skopeo-storage"))
        check(rc == 0, f"skopeo accepts libregistry's signature in the registry's storage: {err}")
        verify_hostile(hr, srv, password, policy, "ours", 0, empty_rd)
    finally:
        srv.stop()
    # Hostile lists: more signatures than examined, a list of 16 MiB.
    for case, reason in (("signatures-many", "more than the 64 examined"), ("signatures-huge", "larger than")):
        hr, srv = hostile(case, tmp, password)
        try:
            err = verify_hostile(hr, srv, password, policy, "latest", 1, empty_rd)
            check(reason in err, f"{case}: {err}")
        finally:
            srv.stop()


def hostile_http_lookaside(tmp, keyfile):
    """A hostile lookaside on the network (tests/proxy/hostile_registry.py, case
    lookaside, beside the image it serves with basic auth): a redirect to another
    host, a redirect loop, endless signature-N, 16 MiB signatures; no credential
    of the registry's ever sent there."""
    password = "pw-lookaside-secret"
    hr, srv = hostile("lookaside", tmp, password)
    try:
        policy = os.path.join(tmp, "hostile-policy.json")
        with open(policy, "w") as f:
            json.dump({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": keyfile}]}, f)
        rd = os.path.join(tmp, "rd-hostile")
        os.makedirs(rd, exist_ok=True)

        def run(mode, reason):
            with open(os.path.join(rd, "x.yaml"), "w") as f:
                f.write(f"default-docker:\n  lookaside: http://{srv.host}/sigs/{mode}\n")
            cmd = [os.path.join(BIN, "registry-verify"), "--insecure", "--username", hr.USER, "--password-stdin",
                   "--policy", policy, "--registries-d", rd, f"{srv.host}/{hr.REPO}:latest"]
            p = subprocess.run(cmd, capture_output=True, timeout=120, input=password.encode() + b"\n")
            err = p.stderr.decode(errors="replace")
            check(p.returncode == 1 and reason in err, f"hostile lookaside {mode}: exit {p.returncode}: {err}")
            return [e for e in srv.entries() if e.get("path", "").startswith(f"/sigs/{mode}/") and "headers" in e]

        reqs = run("foreign", "redirects to another host")
        check(len(reqs) == 1, f"a refused redirect is not retried: {len(reqs)} requests")
        check(not [e for e in srv.entries() if e.get("origin") == "foreign"], "the other host was contacted")
        reqs = run("loop", "more than 4 redirects")
        check(len(reqs) == 5, f"redirect loop: {len(reqs)} requests")
        reqs = run("moved", "no simple signing signature in")
        reqs = run("endless", "more than the 64 signatures examined")
        check(len(reqs) == 65, f"endless signature-N: {len(reqs)} requests, not 65")
        for mode in ("huge", "huge-chunked"):
            run(mode, "larger than")
            sent = [e["sent"] for e in srv.entries() if e.get("path", "").startswith(f"/sigs/{mode}/") and "sent" in e]
            check(sent and max(sent) < (16 << 20), f"{mode}: the whole 16 MiB was read: {sent}")
        looked = [e for e in srv.entries() if e.get("path", "").startswith("/sigs/") and "headers" in e]
        leaked = [e["path"] for e in looked for k, v in e["headers"]
                  if k.lower() == "authorization" or password in v]
        check(looked and not leaked, f"credentials sent to the lookaside: {leaked[:3]}")
    finally:
        srv.stop()


def main():
    global BIN
    case, BIN = sys.argv[1], sys.argv[2]
    if not os.access(os.path.join(BIN, "registry-verify"), os.X_OK):
        print("FAIL: registry-verify is not built", file=sys.stderr)
        return 1
    globals()["case_" + case]()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print(f"{case}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
