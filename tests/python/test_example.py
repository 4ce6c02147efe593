"""examples/python/pull.py and the runnable example of docs/python.md, end to end."""

import json
import os
import re
import subprocess
import sys

import pytest

import registry

from conftest import SOURCE_ROOT, start_registry

PULL = os.path.join(SOURCE_ROOT, "examples", "python", "pull.py")
GUIDE = os.path.join(SOURCE_ROOT, "docs", "python.md")


@pytest.fixture(scope="module")
def reg():
    r = start_registry(auth="htpasswd", fixtures=["small:oci", "multi:v2s2"])
    yield r
    r.stop()


def run(args, stdin=None, env=None):
    return subprocess.run([sys.executable, PULL] + args, input=stdin, capture_output=True,
                          text=True, timeout=120, env=env)


def test_help():
    r = run(["--help"])
    assert r.returncode == 0 and "REFERENCE" in r.stdout.upper() and "--format" in r.stdout


def test_usage_errors():
    r = run(["--format", "oci", "x/y", "out.tar"])
    assert r.returncode == 2 and "docker tarball" in r.stderr
    r = run(["Bad/Ref", "out"])
    assert r.returncode == 2 and "lowercase" in r.stderr


def test_pull_to_oci_layout(reg, tmp_path):
    dest = tmp_path / "small"
    ref = "%s/fixtures/small-oci" % reg.host
    r = run(["--username", reg.user, "--password-stdin", ref, str(dest)], stdin=reg.password + "\n")
    assert r.returncode == 0, r.stderr
    want = reg.env["REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"]
    assert "pulled %s:latest to %s" % (ref, dest) in r.stdout
    assert "digest: %s" % want in r.stdout
    # Not a terminal: one line per finished blob.
    assert len(re.findall(r"^pulled sha256:[0-9a-f]{64} ", r.stderr, flags=re.M)) == 4
    with registry.Store(dest) as s:
        assert s.find("latest").digest == want
        assert s.verify() == []


def test_pull_platform(reg, tmp_path):
    dest = tmp_path / "arm"
    r = run(["-q", "--platform", "linux/arm64", "--username", reg.user, "--password-stdin",
             "%s/fixtures/multi-v2s2" % reg.host, str(dest)], stdin=reg.password)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # --quiet
    with registry.Client(reg.host, reg.user, reg.password) as c:
        want = c.inspect("fixtures/multi-v2s2", platform="linux/arm64")
    with registry.Store(dest) as s:
        assert s.verify() == [] and len(s.index) == 1
        m = s.manifest("latest")
        if m.is_index:
            entry = m.select_platform("linux/arm64")
            m = registry.Manifest.parse(s.read_blob(entry.digest), entry.media_type)
        assert [l.digest for l in m.layers] == [l.digest for l in want.layers]


def test_failure_is_reported(reg, tmp_path):
    r = run(["%s/fixtures/small-oci:nope" % reg.host, str(tmp_path / "x")])
    assert r.returncode == 1
    assert r.stderr.startswith("pull.py: %s/fixtures/small-oci:nope: " % reg.host)


def test_docker_formats(reg, tmp_path):
    if not registry.has_function("registry_pull_to"):
        pytest.skip("registry_pull_to is not in this build yet")
    r = run(["--format", "docker", "-u", reg.user, "--password-stdin",
             "%s/fixtures/small-oci" % reg.host, str(tmp_path / "d")], stdin=reg.password)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert len(manifest[0]["Layers"]) == 3


def test_guide_example_runs(reg, tmp_path):
    """The first ```python block of docs/python.md, run against the test registry."""
    with open(GUIDE) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert blocks, "docs/python.md has no python example"
    env = dict(os.environ, REGISTRY_HOST=reg.host, REGISTRY_USER=reg.user,
               REGISTRY_PASSWORD=reg.password)
    # The first program (Client.pull) and the same by parts.
    for i, block in enumerate(blocks[:2]):
        cwd = tmp_path / str(i)
        cwd.mkdir()
        r = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                           timeout=120, env=env, cwd=str(cwd))
        assert r.returncode == 0, r.stderr
        assert reg.env["REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"] in r.stdout
        assert os.path.isfile(cwd / "small-oci" / "index.json")
