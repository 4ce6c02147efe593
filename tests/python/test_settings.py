"""Client settings (issue 15): timeout=, low_speed=, ca_data=, client_cert= as
PEM bytes, key_password=, min_tls=, no_proxy=, headers=, trace=, credentials=."""

import socket
import time

import pytest

import registry
from registry import Client, TraceEvent

from conftest import start_registry


@pytest.fixture(scope="module")
def htpasswd_tls():
    reg = start_registry(auth="htpasswd", tls=True, fixtures=["small:oci"])
    yield reg
    reg.stop()


def test_bad_values_raise_before_any_request():
    with pytest.raises(registry.InvalidArgumentError):
        Client("localhost:1", timeout=-1, docker_config=False)
    with pytest.raises(TypeError):
        Client("localhost:1", timeout="5", docker_config=False)
    with pytest.raises(TypeError):
        Client("localhost:1", low_speed=1000, docker_config=False)
    with pytest.raises(registry.InvalidArgumentError):
        Client("localhost:1", low_speed=(0, 5), docker_config=False)
    with pytest.raises(registry.InvalidArgumentError):
        Client("localhost:1", min_tls="1.1", docker_config=False)
    with pytest.raises(registry.InvalidArgumentError) as ei:
        Client("localhost:1", headers={"Authorization": "Bearer x"}, docker_config=False)
    assert "Authorization" in str(ei.value)
    with pytest.raises(registry.InvalidArgumentError):
        Client("localhost:1", headers={"X-A": "1\r\nX-Evil: 2"}, docker_config=False)
    with pytest.raises(TypeError):
        Client("localhost:1", headers=["X-A: 1"], docker_config=False)
    with pytest.raises(TypeError):
        Client("localhost:1", trace=42, docker_config=False)
    with pytest.raises(TypeError):
        Client("localhost:1", credentials="user:pw", docker_config=False)
    with pytest.raises(registry.InvalidArgumentError):
        # a key without a certificate cannot be: the C check says so
        Client("localhost:1", client_cert=(None, b"-----BEGIN PRIVATE KEY-----\n"),
               docker_config=False)
    with pytest.raises(registry.InvalidArgumentError):
        Client("localhost:1", max_parallel=9, docker_config=False)


def test_tls_from_memory_trace_and_credentials(htpasswd_tls):
    reg = htpasswd_tls
    with open(reg.ca, "rb") as f:
        ca = f.read()
    events = []
    asked = []

    def provider(name):
        asked.append(name)
        return (reg.user, reg.password)

    with Client(reg.host, ca_data=ca, min_tls="1.2", timeout=30.0, connect_timeout=5,
                low_speed=(1024, 20), headers={"X-Py-Test": "1"}, no_proxy="*",
                trace=events.append, credentials=provider, docker_config=False) as c:
        c.ping()
        assert c.base_url.startswith("https://")
        assert c.inspect("fixtures/small-oci").digest
    assert asked == [reg.host]  # once, for the registry as given
    assert events and all(isinstance(e, TraceEvent) for e in events)
    whats = {e.what for e in events}
    assert {"sent", "done", "reauth"} <= whats
    done = [e for e in events if e.what == "done"]
    assert all(e.status in (200, 401) or e.status >= 200 for e in done)
    assert all("?" not in e.url and e.method for e in events)
    assert any(e.status == 200 and e.url.endswith("/v2/") for e in done)
    assert all(e.attempt >= 1 and e.elapsed >= 0 for e in events)
    assert reg.password not in repr(events)


def test_credentials_none_is_anonymous_and_an_exception_cancels(htpasswd_tls):
    reg = htpasswd_tls
    with Client(reg.host, ca_file=reg.ca, credentials=lambda r: None, retries=0,
                docker_config=False) as c:
        with pytest.raises(registry.AuthError):
            c.ping()

    def broken(name):
        raise RuntimeError("keychain locked")

    with Client(reg.host, ca_file=reg.ca, credentials=broken, retries=0,
                docker_config=False) as c:
        with pytest.raises(registry.CanceledError):
            c.ping()


def test_client_cert_pem_bytes_reach_the_library(htpasswd_tls):
    # The harness does not ask for client certificates: what matters is that
    # PEM bytes are accepted as PEM (not opened as a path), and the request
    # still works with them presented.
    reg = htpasswd_tls
    with open(reg.ca, "rb") as f:
        ca = f.read()
    with pytest.raises(registry.TLSError):
        with Client(reg.host, reg.user, reg.password, ca_data=ca, docker_config=False,
                    client_cert=(b"-----BEGIN CERTIFICATE-----\nnot a cert\n"
                                 b"-----END CERTIFICATE-----\n",
                                 b"-----BEGIN PRIVATE KEY-----\nnot a key\n"
                                 b"-----END PRIVATE KEY-----\n"),
                    key_password="secret-pass", retries=0) as c:
            c.ping()


def test_total_timeout_is_float_seconds():
    # A server that takes the connection and never answers: only the total
    # limit ends the request (the connect limit is 30 s, the TLS handshake
    # never starts).
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        host = "127.0.0.1:%d" % srv.getsockname()[1]
        with Client(host, timeout=0.5, retries=0, docker_config=False) as c:
            t0 = time.monotonic()
            with pytest.raises(registry.RegistryTimeoutError):
                # since 0.2 a time limit is its own code (and a TimeoutError)
                c.ping()
            assert time.monotonic() - t0 < 5
