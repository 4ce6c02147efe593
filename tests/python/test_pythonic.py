"""The bindings behave like Python: TypeError for wrong types (never a raw
ctypes.ArgumentError), a str enum for formats, keyword data=/path= uploads,
seconds for timeouts, a useful repr on every public object, manifests equal
by digest, and the type aliases exported. No registry needed."""

import ctypes
import os

import pytest

import registry
from registry import _lib
from registry.store import image_format

from conftest import DATA_DIR


def manifest_bytes(name):
    with open(os.path.join(DATA_DIR, name), "rb") as f:
        return f.read()


def test_wrong_argument_types_raise_type_error():
    with pytest.raises(TypeError, match="registry_strerror"):
        _lib.C.registry_strerror("not an int")
    with registry.Client("127.0.0.1:1", docker_config=False) as c:
        with pytest.raises(TypeError) as ei:
            next(c.tags("repo", page_size="10"))   # reaches ctypes with a str for an int
        assert not isinstance(ei.value, ctypes.ArgumentError)
        assert "page_size must be an int, not str" in str(ei.value), str(ei.value)
        with pytest.raises(TypeError, match="last must be a str"):
            next(c.tags("repo", last=5))
        with pytest.raises(registry.InvalidArgumentError, match="page_size"):
            next(c.catalog(page_size=-1))
    with pytest.raises(TypeError, match="reference must be a str"):
        registry.Client("127.0.0.1:1", docker_config=False).inspect(42)


def test_formats_are_a_str_enum():
    assert isinstance(registry.ImageFormat.OCI, str)
    assert registry.ImageFormat("docker-archive") is registry.ImageFormat.DOCKER_ARCHIVE
    assert str(registry.ImageFormat.DOCKER) == "docker"
    assert image_format(registry.ImageFormat.OCI) == image_format("oci") == 0
    assert image_format("docker-dir") == image_format("docker") == 1   # documented aliases
    assert image_format("tar") == image_format("docker-archive") == 2
    with pytest.raises(registry.InvalidArgumentError, match="oci, docker, docker-archive"):
        image_format("zip")
    with pytest.raises(TypeError):
        image_format(2)


def test_upload_blob_takes_data_or_path():
    with registry.Client("127.0.0.1:1", docker_config=False) as c:
        with pytest.raises(TypeError, match="path="):
            c.upload_blob("repo", "/etc/hostname")          # a str is no longer a path
        with pytest.raises(TypeError, match="exactly one"):
            c.upload_blob("repo")
        with pytest.raises(TypeError, match="exactly one"):
            c.upload_blob("repo", b"x", path="/etc/hostname")


def test_timeouts_are_seconds():
    registry.Client("127.0.0.1:1", docker_config=False, connect_timeout=0.25).close()
    with pytest.raises(TypeError, match="seconds"):
        registry.Client("127.0.0.1:1", docker_config=False, connect_timeout="5")
    with pytest.raises(registry.InvalidArgumentError):
        registry.Client("127.0.0.1:1", docker_config=False, connect_timeout=-1)
    with pytest.raises(TypeError):
        registry.Client("127.0.0.1:1", docker_config=False, connect_timeout_ms=5000)


def test_every_public_object_has_a_repr(tmp_path):
    m = registry.Manifest.parse(manifest_bytes("oci-manifest.json"))
    objects = [
        registry.Client("127.0.0.1:1", docker_config=False),
        registry.Store(tmp_path / "s", create=True),
        m, m.config, m.layers[0],
        registry.ManifestBuilder(),
        registry.Digest(),
        registry.Reference.parse("ubuntu"),
        registry.Platform.parse("linux/arm64/v8"),
        registry.ImageConfig.parse(b'{"os":"linux","architecture":"amd64"}'),
        registry.ConfigHistory(created_by="x"),
        registry.ImageFormat.OCI,
        registry.NotFoundError("gone"),
    ]
    client = objects[0]
    objects.append(client.tags("repo"))
    for obj in objects:
        text = repr(obj)
        assert " object at 0x" not in text, text
        assert type(obj).__name__ in text or "Manifest" in text, text
    for obj in objects:
        if hasattr(obj, "close"):
            obj.close()
    assert "closed" in repr(client)


def test_manifests_are_equal_by_digest():
    raw = manifest_bytes("oci-manifest.json")
    a, b = registry.Manifest.parse(raw), registry.Manifest.parse(raw)
    other = registry.Manifest.parse(manifest_bytes("docker-schema2.json"))
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != other
    assert len({a, b, other}) == 2
    assert a != raw  # not equal to its bytes


def test_type_aliases_are_exported():
    for name in ("RefLike", "PlatformLike", "StrPath", "ProgressCallback", "ImageFormat",
                 "ImageConfig"):
        assert name in registry.__all__ and hasattr(registry, name), name
