"""registry.Store: an OCI layout on disk, without a network."""

import ctypes
import json
import os

import pytest

import registry
from registry import ManifestBuilder, Store
from registry import manifest as mf


def make_image(store, layer_bytes=b"layer-bytes", config_bytes=b'{"architecture":"amd64"}'):
    layer = store.add_blob(layer_bytes)
    config = store.add_blob(config_bytes)
    m = (ManifestBuilder(mf.MEDIA_TYPE_OCI_MANIFEST)
         .set_config(mf.MEDIA_TYPE_OCI_CONFIG, config, len(config_bytes))
         .add_layer(mf.MEDIA_TYPE_OCI_LAYER_GZIP, layer, len(layer_bytes))
         .build())
    assert store.add_blob(m.raw, m.digest) == m.digest
    return m, layer, config


def test_create_and_reopen(tmp_path):
    path = tmp_path / "a" / "b"
    with pytest.raises(registry.NotFoundError):
        Store(path)
    with Store(path, create=True) as s:
        assert s.path == str(path)
        assert s.index == []
        assert "closed" not in repr(s)
    assert s.closed and "closed" in repr(s)
    s.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        s.has("sha256:" + "0" * 64)
    assert json.loads((path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    with Store(str(path)) as again:
        assert again.index == []


def test_blobs(tmp_path):
    with Store(tmp_path / "s", create=True) as s:
        d = s.add_blob(b"hello")
        assert d == registry.digest(b"hello")
        assert s.has(d) and d in s and "nope" not in s
        assert s.blob_size(d) == 5
        assert s.read_blob(d) == b"hello"
        with open(s.blob_path(d), "rb") as f:
            assert f.read() == b"hello"
        with pytest.raises(registry.DigestMismatchError) as ei:
            s.add_blob(b"other", d)
        assert "digest mismatch" in str(ei.value)
        missing = registry.digest(b"missing")
        assert not s.has(missing)
        with pytest.raises(registry.NotFoundError):
            s.read_blob(missing)
        with pytest.raises(registry.FormatError):
            s.has("sha256:../../etc/passwd")
        big = os.urandom(100_000)
        f = tmp_path / "big.bin"
        f.write_bytes(big)
        assert s.import_file(f) == registry.digest(big)
        with pytest.raises(registry.TooLargeError):
            s.read_blob(registry.digest(big), max_size=1000)


def test_index_verify_gc(tmp_path):
    with Store(tmp_path / "s", create=True) as s:
        m, layer, config = make_image(s)
        s.index_add(m.media_type, m.digest, m.size, "v1", {"org.example": "yes"})
        orphan = s.add_blob(b"nobody refers to me")
        entry = s.find("v1")
        assert entry.digest == m.digest and entry.ref_name == "v1"
        assert entry.annotations == {"org.example": "yes",
                                     registry.REF_NAME_ANNOTATION: "v1"}
        assert s.find("v2") is None
        assert [d.digest for d in s.index] == [m.digest]
        assert s.manifest("v1").digest == m.digest
        assert s.manifest(m.digest).layers[0].digest == layer
        assert s.verify() == []
        with pytest.raises(registry.ConflictError):
            with Store(tmp_path / "s") as other:
                other.gc()  # self still has the store open
    with Store(tmp_path / "s") as s:
        assert s.gc(dry_run=True) == 1 and s.has(orphan)  # counted, not deleted
        removed = s.gc()
        assert removed == 1
        assert not s.has(orphan) and s.has(layer) and s.has(config)
        # Damage a blob: verify names it, and the reason.
        with open(s.blob_path(layer), "r+b") as f:
            f.write(b"X")
        problems = s.verify()
        assert [p[0] for p in problems] == [layer]
        assert problems[0][1]
        s.index_remove("v1")
        assert s.index == []
        with pytest.raises(registry.NotFoundError):
            s.index_remove("v1")


def test_index_batch(tmp_path):
    with Store(tmp_path / "s", create=True) as s:
        m, _, _ = make_image(s)
        with s.index_batch():
            for i in range(500):
                s.index_add(m.media_type, m.digest, m.size, f"t{i}")
            assert s.index == []  # written at the end of the block
        assert len(s.index) == 500 and s.find("t499").digest == m.digest
        with pytest.raises(RuntimeError):
            with s.index_batch():
                s.index_add(m.media_type, m.digest, m.size, "dropped")
                raise RuntimeError("stop")
        assert s.find("dropped") is None and len(s.index) == 500


def test_verify_callback_exception_is_reraised(tmp_path):
    """The bridge re-raises what a Python callback raised, after C returns."""
    from registry import progress
    calls = []

    def boom(*args):
        calls.append(args)
        raise KeyError("from the callback")

    with Store(tmp_path / "s", create=True) as s:
        make_image(s)
        damaged = s.add_blob(b"x")
        with open(s.blob_path(damaged), "wb") as f:
            f.write(b"y")  # one problem: the callback runs once
        bridge = progress.CallbackBridge(boom, registry._lib.VERIFY_CB,
                                         lambda d, r, ud: (d, r))
        opts = registry._lib.store_verify_options(
            version=registry._lib.STORE_VERIFY_OPTIONS_VERSION, problem=bridge.cfunc)
        with s.use() as ptr:
            rc = registry._lib.C.registry_store_verify(None, ptr, ctypes.byref(opts))
        assert rc == registry.CanceledError.default_code  # non-zero return canceled
        with pytest.raises(KeyError, match="from the callback"):
            bridge.reraise()
        bridge.reraise()  # raised once only
        assert calls == [(damaged.encode(), calls[0][1])]


def test_export_when_available(tmp_path):
    if not registry._lib.C.has("registry_store_export"):
        pytest.skip("registry_store_export is not in this build yet")
    with Store(tmp_path / "s", create=True) as s:
        m, _, _ = make_image(s)
        s.index_add(m.media_type, m.digest, m.size, "v1")
        s.export("v1", tmp_path / "docker", "docker", "app:v1")
    manifest = json.loads((tmp_path / "docker" / "manifest.json").read_text())
    assert manifest[0]["RepoTags"] == ["app:v1"]


def test_index_entry_with_platform(tmp_path):
    """A multi-platform layout's index.json entry keeps its platform and urls."""
    with Store(tmp_path / "s", create=True) as s:
        m, _, _ = make_image(s)
        s.index_add(m.media_type, m.digest, m.size, "arm", platform="linux/arm64/v8",
                    urls=["https://example.com/m"])
    with Store(tmp_path / "s") as s:
        entry = s.find("arm")
        assert entry.platform == registry.Platform("linux", "arm64", "v8")
        assert entry.urls == ("https://example.com/m",)


def test_export_progress(tmp_path):
    if not registry._lib.C.has("registry_store_export"):
        pytest.skip("registry_store_export is not in this build yet")
    events = []
    with Store(tmp_path / "s", create=True) as s:
        m, _, _ = make_image(s)
        s.index_add(m.media_type, m.digest, m.size, "v1")
        s.export("v1", tmp_path / "docker", "docker", "app:v1", progress=events.append)
    assert events and events[-1].blobs_done == events[-1].blobs_total


def test_bad_format_name(tmp_path):
    with Store(tmp_path / "s", create=True) as s:
        with pytest.raises(registry.InvalidArgumentError):
            s.export("v1", tmp_path / "x", "zip")
