"""registry.Policy, Client.verify and policy= on pull/copy, against a real
docker-registry holding cosign signatures written by test code
(tests/harness/cosign_format.py) in cosign's published format."""

import json

import pytest

import registry
from registry import Client, Policy

import cosign_format as cf

REPO = "fixtures/small-oci"


@pytest.fixture(scope="module")
def reg(open_registry):
    return open_registry


@pytest.fixture
def client(reg):
    with Client(reg.host, retries=0) as c:
        yield c


def sigstore_policy(host, key_pem):
    import base64
    return {"default": [{"type": "reject"}],
            "transports": {"docker": {host: [{"type": "sigstoreSigned",
                                              "keyData": base64.b64encode(key_pem).decode(),
                                              "signedIdentity": {"type": "matchRepository"}}]}}}


def test_policy_parse_and_errors(tmp_path):
    Policy.from_dict({"default": [{"type": "insecureAcceptAnything"}]}).close()
    with pytest.raises(registry.FormatError, match='unknown field "keyPath"'):
        Policy.parse('{"default": [{"type": "reject", "keyPath": "/x"}]}')
    with pytest.raises(registry.FormatError, match="default"):
        Policy.from_dict({})
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"default": [{"type": "reject"}]}))
    Policy.load(path).close()
    with pytest.raises(registry.NotFoundError):
        Policy.load(tmp_path / "none.json")


def test_verify_cosign(reg, client, tmp_path):
    r = cf.Registry(reg.url)
    digest = client.resolve(REPO + ":latest")
    key, other = cf.new_key("p256"), cf.new_key("p256")
    good = cf.payload("%s/%s" % (reg.host, REPO), digest)
    policy = sigstore_policy(reg.host, cf.public_pem(key))

    r.push_signatures(REPO, digest, [(good, cf.sign(other, good), None)])
    res = client.verify(REPO + ":latest", policy)
    assert not res and not res.accepted
    assert "does not verify" in res.reason
    assert res.digest == digest and res.scope == reg.host
    assert [s.accepted for s in res.signatures] == [False]
    with pytest.raises(registry.DeniedError, match="not accepted by the policy"):
        client.pull(REPO + ":latest", tmp_path / "refused", policy=policy)
    assert not (tmp_path / "refused").exists()
    with pytest.raises(registry.DeniedError):
        client.copy(REPO + ":latest", "py/trust:refused", policy=policy)

    r.push_signatures(REPO, digest, [(good, cf.sign(key, good), None)])
    res = client.verify(REPO + ":latest", Policy.from_dict(policy))
    assert res and res.digest == digest
    assert res.signatures[0].kind == "sigstore" and res.signatures[0].accepted
    assert client.pull(REPO + ":latest", tmp_path / "ok", policy=policy) == digest
    assert client.copy(REPO + ":latest", "py/trust:ok", policy=policy) == digest

    keyless = {"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/x"}}]}
    res = client.verify(REPO + ":latest", keyless)
    assert not res and "keyless sigstore verification" in res.reason


def test_sign_then_verify(reg, client, tmp_path):
    key = cf.new_key("ed25519")
    path = tmp_path / "cosign.key"
    path.write_bytes(cf.encrypted_private_key(key, "pw", n=1024))
    digest = client.sign("fixtures/multi-oci:latest", path, password="pw")
    assert digest == client.resolve("fixtures/multi-oci:latest")
    policy = sigstore_policy(reg.host, cf.public_pem(key))
    assert client.verify("fixtures/multi-oci:latest", policy)
    with pytest.raises(registry.AuthError, match="wrong password"):
        client.sign("fixtures/multi-oci:latest", path.read_bytes(), password="nope")


def test_sign_referrer_then_verify(reg, client, tmp_path):
    """referrer=True: an OCI 1.1 referrer (read back through the referrers tag
    schema by the independent reader), accepted by verify; no .sig tag needed."""
    key = cf.new_key("p256")
    path = tmp_path / "cosign.key"
    path.write_bytes(cf.encrypted_private_key(key, "pw", n=1024))
    digest = client.sign("fixtures/small-v2s2:latest", path, password="pw", referrer=True)
    found = cf.Registry(reg.url).read_referrer_signatures("fixtures/small-v2s2", digest)
    assert any(cf.verify(key.public_key(), sig, data) and json.loads(data)["critical"]["image"][
        "docker-manifest-digest"] == digest for data, sig in found)
    assert client.verify("fixtures/small-v2s2:latest", sigstore_policy(reg.host, cf.public_pem(key)))
    with pytest.raises(registry.InvalidArgumentError, match="REGISTRY_SIGN_REPLACE"):
        client.sign("fixtures/small-v2s2:latest", path, password="pw", referrer=True, replace=True)


def test_sign_gpg_then_verify(reg, client, tmp_path, monkeypatch):
    import shutil
    import subprocess
    if not shutil.which("gpg"):
        pytest.skip("gpg is not installed")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    run = lambda *a: subprocess.run(["gpg", "--batch", "--homedir", str(home), *a], capture_output=True,
                                    check=True).stdout
    try:
        run("--passphrase", "", "--quick-gen-key", "py <py@example.org>", "ed25519", "sign", "never")
        fpr = next(line.split(":")[9] for line in run("--with-colons", "--list-secret-keys").decode().splitlines()
                   if line.startswith("fpr:"))
        (tmp_path / "key.gpg").write_bytes(run("--export", fpr))
        rd = tmp_path / "rd"
        rd.mkdir()
        (rd / "l.yaml").write_text("default-docker:\n  lookaside: file://%s\n" % (tmp_path / "sigs"))
        monkeypatch.setenv("GNUPGHOME", str(home))
        ref = "fixtures/small-v2s2:latest"
        try:
            digest = client.sign_gpg(ref, fpr, registries_d=rd)
        except registry.UnsupportedError:
            pytest.skip("libregistry was built without gpgme")
        policy = {"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(tmp_path / "key.gpg")}]}
        res = client.verify(ref, policy, registries_d=rd)
        assert res and res.digest == digest
        assert res.signatures[0].kind == "simple-signing"
        assert not client.verify("fixtures/small-oci:latest", policy, registries_d=rd)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
