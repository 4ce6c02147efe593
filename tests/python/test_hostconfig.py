"""The host configuration from Python: Client(host_config=...) reads certs.d,
auth files and registries.conf (True by default, False for none, a dict to
name sources); Client.login()/logout() write auth files skopeo reads."""

import json
import os
import shutil
import stat

import pytest

import registry
from registry import Client

from conftest import start_registry

SMALL = "fixtures/small-v2s2"


@pytest.fixture(scope="module")
def tls_registry():
    reg = start_registry(auth="htpasswd", tls=True, fixtures=["small:v2s2"])
    yield reg
    reg.stop()


@pytest.fixture
def private_env(tmp_path, monkeypatch):
    """No auth file or registries.conf of the user's leaks into a test."""
    for var in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    conf = tmp_path / "registries.conf"
    conf.write_text("")
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    return tmp_path


def certs_d(tmp_path, reg):
    root = tmp_path / "certs.d"
    (root / reg.host).mkdir(parents=True)
    shutil.copy(reg.ca, root / reg.host / "ca.crt")
    return str(root)


def test_certs_d_and_auth_file(tls_registry, private_env):
    reg = tls_registry
    auth = private_env / "auth.json"
    auth.write_text(json.dumps({"auths": {reg.host + "/fixtures": {"username": reg.user,
                                                                   "password": reg.password}}}))
    sources = {"certs_dirs": [certs_d(private_env, reg)], "auth_files": [str(auth)]}
    with Client(reg.host, host_config=sources) as c:
        assert c.resolve(f"{reg.host}/{SMALL}:latest") == reg.pushed[SMALL + ":latest"]["digest"]
    # Without the configuration, the CA is unknown.
    with Client(reg.host, host_config=False, docker_config=False) as c:
        with pytest.raises(registry.TLSError):
            c.ping()
    # Turned off source by source.
    with Client(reg.host, host_config=dict(sources, no_certs=True)) as c:
        with pytest.raises(registry.TLSError):
            c.ping()
    with Client(reg.host, host_config=dict(sources, no_auth=True)) as c:
        with pytest.raises(registry.AuthError):
            c.resolve(f"{reg.host}/{SMALL}:latest")


def test_blocked(private_env):
    conf = private_env / "blocked.conf"
    conf.write_text('[[registry]]\nprefix = "127.0.0.1:1/evil"\nblocked = true\n')
    with Client("127.0.0.1:1", host_config={"registries_conf": str(conf)}) as c:
        with pytest.raises(registry.PolicyError) as ei:
            c.pull("127.0.0.1:1/evil/app:1", private_env / "out")
        assert "blocked" in str(ei.value) and "blocked.conf:1" in str(ei.value)
        assert ei.value.code == -19


def test_bad_host_config_values(private_env):
    with pytest.raises(registry.InvalidArgumentError):
        Client("localhost:1", host_config={"certs_dir": "/x"})
    bad = private_env / "bad.conf"
    bad.write_text("[[registry]\n")
    with pytest.raises(registry.FormatError) as ei:
        Client("localhost:1", host_config={"registries_conf": str(bad)})
    assert "bad.conf:1" in str(ei.value)


def test_login_logout(tls_registry, private_env):
    reg = tls_registry
    auth = private_env / "a" / "auth.json"
    sources = {"certs_dirs": [certs_d(private_env, reg)], "auth_files": [str(auth)]}
    with Client(reg.host, host_config=sources) as c:
        with pytest.raises(registry.AuthError):
            c.login(reg.user, "wrong", auth_file=auth)
        assert not auth.exists()
        c.login(reg.user, reg.password, auth_file=auth)
    assert stat.S_IMODE(os.stat(auth).st_mode) == 0o600
    entry = json.loads(auth.read_text())["auths"][reg.host]
    assert "auth" in entry
    with Client(reg.host, host_config=sources) as c:
        c.resolve(f"{reg.host}/{SMALL}:latest")
        c.logout(auth_file=auth)
        with pytest.raises(registry.NotFoundError):
            c.logout(auth_file=auth)
    with Client(reg.host, host_config=sources) as c:
        with pytest.raises(registry.AuthError):
            c.resolve(f"{reg.host}/{SMALL}:latest")
    # $REGISTRY_AUTH_FILE is where login writes by default, as podman.
    os.environ["REGISTRY_AUTH_FILE"] = str(private_env / "env-auth.json")
    try:
        with Client(reg.host, host_config=sources) as c:
            c.login(reg.user, reg.password)
        assert reg.host in json.loads((private_env / "env-auth.json").read_text())["auths"]
    finally:
        del os.environ["REGISTRY_AUTH_FILE"]


def test_credential_realms(private_env):
    """A token realm on another host gets the credentials only when listed."""
    reg = start_registry(auth="token", anonymous_pull=False, fixtures=["small:v2s2"])
    try:
        # The client names the registry "localhost:PORT"; the realm is on 127.0.0.1.
        host = "localhost:%d" % reg.port
        ref = "%s/%s:latest" % (host, SMALL)
        with Client(host, reg.user, reg.password, host_config=False) as c:
            # An anonymous token, which does not grant the pull.
            with pytest.raises((registry.AuthError, registry.DeniedError)):
                c.resolve(ref)
        with Client(host, reg.user, reg.password, host_config={"credential_realms": ["127.0.0.1"]}) as c:
            assert c.resolve(ref) == reg.pushed[SMALL + ":latest"]["digest"]
    finally:
        reg.stop()
