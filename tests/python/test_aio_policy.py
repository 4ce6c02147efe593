"""registry.aio with a signature policy: GPG simple signing (skopeo --sign-by) in
the registry's signature storage, verified on the asyncio loop (lib/loop/verify.c)
exactly as the blocking pull verifies it."""
import asyncio
import os
import shutil
import subprocess
import sys
import types

import pytest

import registry
import registry.aio
from registry import Store

HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proxy", "hostile_registry.py")
PASSWORD = "pw-aio-policy"
# What tests/proxy/hostile_registry.py serves and accepts.
hr = types.SimpleNamespace(REPO="hostile/app", USER="hostile")


def gpg(home, *args):
    p = subprocess.run(["gpg", "--batch", "--homedir", str(home), *args], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


def new_key(home, name):
    os.makedirs(home, mode=0o700)
    gpg(home, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", "never")
    fpr = [line.split(":")[9] for line in gpg(home, "--with-colons", "--list-secret-keys").decode().splitlines()
           if line.startswith("fpr:")][0]
    return fpr


@pytest.fixture
def signed(tmp_path):
    """The hostile registry playing a registry with signature storage, its
    image signed by real skopeo with a new GPG key as :signed; the policy
    files for that key and for another one."""
    if not shutil.which("gpg") or not shutil.which("skopeo"):
        pytest.skip("gpg and skopeo are needed")
    home, other_home = tmp_path / "gnupg", tmp_path / "gnupg-other"
    fpr = new_key(home, "signer")
    new_key(other_home, "other")
    (tmp_path / "key.gpg").write_bytes(gpg(home, "--export", fpr))
    (tmp_path / "other.gpg").write_bytes(gpg(other_home, "--export"))
    rd = tmp_path / "rd"
    rd.mkdir()
    # Its own process: its server threads are not counted as this process's.
    proc = subprocess.Popen([sys.executable, HOSTILE, "--case", "signatures", "--auth", "basic", "--password",
                             PASSWORD], stdout=subprocess.PIPE, text=True, env=dict(os.environ, TMPDIR=str(tmp_path)))
    try:
        srv = types.SimpleNamespace(host=proc.stdout.readline().split()[1].split("://")[1])
        creds = f"{hr.USER}:{PASSWORD}"
        p = subprocess.run(["skopeo", "--insecure-policy", "--registries.d", str(rd), "copy",
                            "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds,
                            "--dest-creds", creds, "--sign-by", fpr, f"docker://{srv.host}/{hr.REPO}:latest",
                            f"docker://{srv.host}/{hr.REPO}:signed"],
                           capture_output=True, timeout=120, env=dict(os.environ, GNUPGHOME=str(home)))
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        policies = {name: {"default": [{"type": "signedBy", "keyType": "GPGKeys",
                                        "keyPath": str(tmp_path / (name + ".gpg"))}]}
                    for name in ("key", "other")}
        yield srv, policies
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()
        for h in (home, other_home):
            subprocess.run(["gpgconf", "--homedir", str(h), "--kill", "all"], capture_output=True)


def blocking(srv, tag, dest, policy):
    """registry.Client.pull with @policy: (digest, None) or (None, the error)."""
    with registry.Client(srv.host, username=hr.USER, password=PASSWORD, retries=0) as c:
        try:
            return c.pull(f"{hr.REPO}:{tag}", Store(dest, create=True), policy=policy), None
        except registry.RegistryError as e:
            return None, e


def on_loop(srv, tag, dest, policy):
    """The same on an asyncio loop: (digest or error, threads during, longest step in us)."""
    async def main():
        async with registry.aio.Client(srv.host, username=hr.USER, password=PASSWORD, retries=0) as c:
            try:
                got = await c.pull(f"{hr.REPO}:{tag}", dest, policy=policy)
            except registry.RegistryError as e:
                got = e
            return got, len(os.listdir("/proc/self/task")), c.loop_step_stats()[1]

    return asyncio.run(main())


def test_gpg_signed_pull_on_the_loop(signed, tmp_path):
    srv, policies = signed
    try:
        want, err = blocking(srv, "signed", tmp_path / "b-ok", policies["key"])
    except registry.UnsupportedError:
        pytest.skip("libregistry was built without gpgme")
    assert err is None, err
    threads_before = len(os.listdir("/proc/self/task"))
    got, threads, longest_us = on_loop(srv, "signed", tmp_path / "l-ok", policies["key"])
    assert got == want
    assert threads == threads_before
    with Store(tmp_path / "l-ok") as s:
        assert [d.digest for d in s.index] == [want]
    # The GPG check runs inside a step (docs/event-loop.md): reported, bounded by the test's timeout.
    print("longest step with a GPG verification: %.1f ms" % (longest_us / 1000.0))


@pytest.mark.parametrize("tag,policy", [("signed", "other"), ("latest", "key")])
def test_gpg_refusals_on_the_loop(signed, tmp_path, tag, policy):
    """Another key; a signature whose identity names another tag: the blocking
    pull's error, type and message, and nothing written."""
    srv, policies = signed
    _, want = blocking(srv, tag, tmp_path / "b", policies[policy])
    assert want is not None
    got, _, _ = on_loop(srv, tag, tmp_path / "l", policies[policy])
    assert type(got) is type(want)
    assert str(got) == str(want)
    with Store(tmp_path / "l") as s:
        assert s.index == []
    blobs = tmp_path / "l" / "blobs" / "sha256"
    assert not blobs.exists() or not os.listdir(blobs)


def test_gpg_signed_copy_on_the_loop(signed, tmp_path):
    srv, policies = signed

    async def main():
        async with registry.aio.Client(srv.host, username=hr.USER, password=PASSWORD, retries=0) as c:
            return await c.copy(f"{hr.REPO}:signed", f"{hr.REPO}:copied", policy=policies["key"])

    with registry.Client(srv.host, username=hr.USER, password=PASSWORD, retries=0) as c:
        try:
            want = c.copy(f"{hr.REPO}:signed", f"{hr.REPO}:copied-blocking", policy=policies["key"])
        except registry.UnsupportedError:
            pytest.skip("libregistry was built without gpgme")
    assert asyncio.run(main()) == want
