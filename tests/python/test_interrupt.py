"""Ctrl-C during a pull: the pull is canceled within a second and Python raises
KeyboardInterrupt, with and without a progress callback.

A child Python process pulls fixtures/big-oci through fault_proxy.py, which
stalls the first blob answer halfway (1 byte a second for 30 s), so the pull
is certainly still running when the child gets SIGINT. Before the fix the
interrupt was lost inside the ctypes trampoline (with a callback: the pull
went on and completed) or waited for the C call to end (without one: until
the low-speed timeout, 30 s, and the resume).
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import start_registry

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "proxy"))
import fault_proxy  # noqa: E402

CHILD = r"""
import sys
import registry

mode, host, dest = sys.argv[1:4]
client = registry.Client(host, docker_config=False)
progress = (lambda p: None) if mode == "progress" else None
print("pulling", flush=True)
try:
    client.pull("fixtures/big-oci", dest, progress=progress)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(42)
except registry.RegistryError as e:
    print("error: %s" % e, flush=True)
    sys.exit(3)
print("completed", flush=True)
"""


@pytest.fixture(scope="module")
def stalling_proxy():
    reg = start_registry(auth="none", fixtures=["big:oci"])
    log = tempfile.NamedTemporaryFile(prefix="interrupt-proxy-", suffix=".jsonl", delete=False)
    log.close()
    rules = fault_proxy.Rules([], "/blobs/sha256:", stall=100)
    server = fault_proxy.serve(reg.url, rules, log.name, None)
    yield "127.0.0.1:%d" % server.server_address[1], log.name
    server.shutdown()
    server.server_close()
    os.unlink(log.name)
    reg.stop()


def stalled_requests(log_path):
    with open(log_path) as f:
        return sum(1 for line in f if "/blobs/sha256:" in line)


@pytest.mark.parametrize("mode", ["progress", "plain"])
def test_ctrl_c_cancels_the_pull(stalling_proxy, mode, tmp_path):
    host, log = stalling_proxy
    before = stalled_requests(log)
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, host, str(tmp_path / "out")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ))
    try:
        assert child.stdout.readline().strip() == "pulling"
        deadline = time.monotonic() + 20
        while stalled_requests(log) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stalled_requests(log) > before, "the pull never reached a blob"
        time.sleep(0.5)  # well inside the 30 s stall
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 42, "exit %d, stdout %r, stderr %r" % (child.returncode, out, err[-2000:])
    assert "KeyboardInterrupt" in out
    assert "Exception ignored" not in err
    # "within a second" in the issue; the bound leaves room for a loaded CI machine.
    assert took < 3.0, "the pull took %.1f s to stop after SIGINT" % took


def test_own_sigint_handler_is_left_alone(stalling_proxy):
    """A program with its own SIGINT handler keeps it: guard() changes nothing then."""
    import registry
    seen = []
    previous = signal.signal(signal.SIGINT, lambda s, f: seen.append(s))
    try:
        host, _ = stalling_proxy
        with registry.Client(host, docker_config=False) as c:
            c.ping()
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)
