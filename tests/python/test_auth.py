"""Credentials, token auth and TLS against real registries."""

import json
import os

import pytest

import registry
from registry import Client, Store

from conftest import start_registry


@pytest.fixture(scope="module")
def reg(token_registry):
    return token_registry


def digest_of(reg):
    return reg.env["REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"]


def test_token_ping_and_inspect(reg):
    events = []
    with Client(reg.host, reg.user, reg.password, trace=events.append) as c:
        c.ping()
        assert c.auth_scheme == "bearer"
        # A token was fetched: a finished request to the realm, not the registry.
        assert any(e.what == "done" and not e.url.startswith(c.base_url) for e in events)
        m = c.inspect("fixtures/small-v2s2")
        assert m.digest == digest_of(reg)
        assert sorted(c.catalog()) == ["fixtures/small-v2s2"]


def test_wrong_password_raises_auth_error(reg):
    with Client(reg.host, reg.user, "not-" + reg.password, retries=0) as c:
        with pytest.raises(registry.AuthError) as ei:
            c.ping()
    e = ei.value
    assert e.code == -6 and e.http_status == 401
    assert isinstance(e, PermissionError)
    assert reg.password not in str(e)
    with Client(reg.host, "nobody", "x", retries=0) as c:
        with pytest.raises(registry.AuthError):
            c.inspect("fixtures/small-v2s2")


def test_anonymous_pull_but_no_push(reg):
    with Client(reg.host, retries=0) as c:
        assert c.resolve("fixtures/small-v2s2") == digest_of(reg)
        with pytest.raises(registry.AuthError) as ei:
            c.upload_blob("py/anon", b"data")
        assert ei.value.http_status == 401


def test_read_only_user_is_denied_push(reg):
    with Client(reg.host, reg.ro_user, reg.ro_password, retries=0) as c:
        assert c.inspect("fixtures/small-v2s2").digest == digest_of(reg)
        with pytest.raises(registry.DeniedError) as ei:
            c.upload_blob("py/ro", b"data")
        assert isinstance(ei.value, PermissionError)


def test_fetch_with_token(reg, tmp_path):
    with Client(reg.host, reg.user, reg.password) as c, Store(tmp_path / "s", create=True) as s:
        m = c.inspect("fixtures/small-v2s2")
        states = []
        c.fetch_blobs("fixtures/small-v2s2", [m.config] + list(m.layers), s,
                      progress=lambda p: states.append(p.state))
        assert states.count(registry.ProgressState.DONE) == 4
        assert s.verify() == []


def test_credentials_from_docker_config(reg, tmp_path):
    import base64
    auth = base64.b64encode(("%s:%s" % (reg.user, reg.password)).encode()).decode()
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    with Client(reg.host, docker_config=str(cfg)) as c:
        c.upload_blob("py/cfg", b"pushed with config.json credentials")
    # $DOCKER_CONFIG is what docker_config=True reads.
    old = os.environ["DOCKER_CONFIG"]
    os.environ["DOCKER_CONFIG"] = str(tmp_path)
    try:
        with Client(reg.host) as c:
            c.upload_blob("py/cfg", b"again")
        with Client(reg.host, docker_config=False, retries=0) as c:
            with pytest.raises(registry.AuthError):
                c.upload_blob("py/cfg", b"anonymous")
    finally:
        os.environ["DOCKER_CONFIG"] = old
    with pytest.raises(registry.InvalidArgumentError):
        Client(reg.host, docker_config=str(tmp_path / "missing.json"))
    with pytest.raises(registry.InvalidArgumentError):
        Client(reg.host, password="no user")


@pytest.fixture(scope="module")
def tls_registry():
    reg = start_registry(auth="htpasswd", tls=True, fixtures=["small:oci"])
    yield reg
    reg.stop()


def test_tls_with_ca_file(tls_registry):
    reg = tls_registry
    with Client(reg.host, reg.user, reg.password, ca_file=reg.ca) as c:
        c.ping()
        assert c.base_url == "https://" + reg.host
        assert c.auth_scheme == "basic"
        assert c.inspect("fixtures/small-oci").digest == (
            reg.env["REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"])


def test_tls_untrusted_certificate(tls_registry):
    reg = tls_registry
    with Client(reg.host, reg.user, reg.password, retries=0) as c:
        with pytest.raises(registry.TLSError) as ei:
            c.ping()
    assert isinstance(ei.value, ConnectionError)
    # Without verification the same server is reachable (never over plain HTTP).
    with Client(reg.host, reg.user, reg.password, tls_verify=False) as c:
        c.ping()
        assert c.base_url.startswith("https://")
