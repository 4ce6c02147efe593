"""Shared fixtures of the python suite.

Meson runs one pytest process per test file with REGISTRY_LIBRARY pointing at
the build tree's lib/libregistry.so.1 and PYTHONPATH at bindings/python and
tests/harness. Run by hand the same way:

    REGISTRY_LIBRARY=BUILD/lib/libregistry.so.1 \\
    PYTHONPATH=bindings/python:tests/harness /usr/bin/python3 -m pytest tests/python

Exit statuses are made explicit: pytest's 5 (nothing collected) becomes a
failure with a message, and a run where every test was skipped exits 77 so
that meson shows SKIP rather than OK.
"""

import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
for sub in ("bindings/python", "tests/harness"):
    path = os.path.join(SOURCE_ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

# No test may read the user's Docker credentials.
_DOCKER_CONFIG = tempfile.mkdtemp(prefix="registry-pytest-docker-")
os.environ["DOCKER_CONFIG"] = _DOCKER_CONFIG

DATA_DIR = os.path.join(SOURCE_ROOT, "tests", "data", "manifests")
EXIT_SKIP = 77


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_DOCKER_CONFIG, ignore_errors=True)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter else {}
    passed, skipped = len(stats.get("passed", [])), len(stats.get("skipped", []))
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        sys.stderr.write("python suite: no tests were collected: this is a failure\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif exitstatus == pytest.ExitCode.OK and passed == 0 and skipped > 0:
        sys.stderr.write("python suite: every test was skipped\n")
        session.exitstatus = EXIT_SKIP


def start_registry(**kwargs):
    """A registry_harness.Registry, started; skips when the tools are missing."""
    import registry_harness
    reg = registry_harness.Registry(**kwargs)
    try:
        reg.start()
    except registry_harness.Unavailable as e:
        pytest.skip("real-registry harness unavailable: %s" % e)
    return reg


@pytest.fixture(scope="module")
def open_registry():
    """Registry without auth, delete enabled, with small (v2s2, oci), multi and big."""
    reg = start_registry(auth="none", delete=True,
                         fixtures=["small:v2s2", "small:oci", "multi:oci", "big:oci"])
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def token_registry():
    """Registry with token auth (anonymous pull allowed) and small:v2s2."""
    reg = start_registry(auth="token", fixtures=["small:v2s2"])
    yield reg
    reg.stop()


@pytest.fixture
def data():
    """Bytes of a file in tests/data/manifests."""
    def read(name):
        with open(os.path.join(DATA_DIR, name), "rb") as f:
            return f.read()
    return read


def fixture_layout(reg, name):
    """The OCI layout the harness made for a preset (reg.fixtures_dir/NAME)."""
    return os.path.join(reg.fixtures_dir, name)
