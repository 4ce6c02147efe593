"""registry.Manifest on the seed manifests: the same digests as tests/unit/test_manifest.c."""

import json
import os

import pytest

import registry
from registry import Manifest, ManifestBuilder
from registry import manifest as mf

from conftest import DATA_DIR

SEED_S1_DIGEST = "sha256:bc12321026b5d738dde7bd29ddf7b7330d95623b409597dc5c2ee84cf5ca1c7b"
SEED_S2_DIGEST = "sha256:e5dd9dbb37df5b731a6688fa49f4003359f6f126958c9c928f937bec69836320"
SEED_LAYERS = [
    "sha256:5bed26d33875e6da1d9ff9a1054c5fef3bbeb22ee979e14b72acf72528de007b",
    "sha256:f11b29a9c7306674a9479158c1b4259938af11b97359d9ac02030cc1095e9ed1",
    "sha256:930bda195c84cf132344bf38edcad255317382f910503fef234a9ce3bff0f4dd",
    "sha256:78bf9a5ad49e4ae42a83f4995ade4efc096f78fd38299cf05bc041e8cdda2a36",
]
CFG_4990 = "sha256:499089926705df5ac69a92d43d6b07468d1991165e52e49dfc404c09b2aa5e86"
L_72FE = "sha256:72fef7774741f55fd457b745ad08aa154285a016f030abaa9080c7467223173f"
L_E046 = "sha256:e046c43a7172454c79c73ec0f09ddee8f675655d33a6f626a9aad46fad04dcfd"
ARM64_ENTRY = "sha256:7ab57080816608199821e8edbd6a87cb4a59d3b700065eeb8ea6ead682e0ee75"


def headers(name):
    out = {}
    with open(os.path.join(DATA_DIR, name + ".headers")) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k.strip().lower()] = v.strip()
    return out


def test_seed_schema1_signed(data):
    raw = data("seed-ubuntu-schema1-signed.json")
    assert len(raw) == 5569
    m = Manifest.parse(raw)
    assert m.media_type == mf.MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED
    assert m.digest == SEED_S1_DIGEST
    assert registry.digest(raw) != SEED_S1_DIGEST  # the JWS payload's digest, not the body's
    assert m.size == 5569 and m.raw == raw and bytes(m) == raw
    assert m.signed and m.schema_version == 1 and m.kind == "image" and not m.is_index
    assert m.config is None
    assert [d.digest for d in m.layers] == SEED_LAYERS
    assert all(d.size is None and d.media_type == mf.MEDIA_TYPE_DOCKER_LAYER for d in m.layers)
    assert (m.name, m.tag, m.architecture) == ("ubuntu", "Kana-1", "amd64")
    assert len(m.history) == 5
    assert [h.throwaway for h in m.history] == [False, False, False, False, True]
    assert json.loads(m.history[0].v1_compatibility)["id"]
    assert m.manifests == () and m.annotations == {}


def test_seed_schema1_content_type_wins(data):
    m = Manifest.parse(data("seed-ubuntu-schema1-signed.json"), mf.MEDIA_TYPE_DOCKER_SCHEMA1)
    assert m.media_type == mf.MEDIA_TYPE_DOCKER_SCHEMA1
    assert m.digest == SEED_S1_DIGEST and m.signed


def test_seed_schema2(data):
    raw = data("seed-ubuntu-schema2.json")
    m = Manifest.parse(raw)
    assert m.digest == SEED_S2_DIGEST == registry.digest(raw)
    assert m.media_type == mf.MEDIA_TYPE_DOCKER_MANIFEST
    assert (m.size, m.signed, m.schema_version) == (1152, False, 2)
    assert m.config == registry.Descriptor(
        mf.MEDIA_TYPE_DOCKER_CONFIG,
        "sha256:4e5021d210f65ebe915670c7089120120bc0a303b90208592851708c1b8c04bd", 3408)
    assert [d.digest for d in m.layers] == SEED_LAYERS
    assert [d.size for d in m.layers] == [26690587, 35372, 848, 162]
    assert m.history == ()


@pytest.mark.parametrize("name, media_type, kind, layers, entries, signed", [
    ("docker-schema2.json", mf.MEDIA_TYPE_DOCKER_MANIFEST, "image", 2, 0, False),
    ("oci-manifest.json", mf.MEDIA_TYPE_OCI_MANIFEST, "image", 2, 0, False),
    ("oci-index.json", mf.MEDIA_TYPE_OCI_INDEX, "index", 0, 2, False),
    ("docker-list.json", mf.MEDIA_TYPE_DOCKER_LIST, "index", 0, 2, False),
    ("oci-artifact.json", mf.MEDIA_TYPE_OCI_MANIFEST, "image", 1, 0, False),
    ("schema1-signed.json", mf.MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, "image", 2, 0, True),
    ("schema1-converted.json", mf.MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, "image", 2, 0, True),
])
@pytest.mark.parametrize("with_content_type", [False, True])
def test_captured_fixtures(data, name, media_type, kind, layers, entries, signed,
                           with_content_type):
    h = headers(name)
    assert h["content-type"] == media_type
    raw = data(name)
    m = Manifest.parse(raw, h["content-type"] if with_content_type else None)
    assert m.digest == h["docker-content-digest"]  # what the registry said
    assert m.size == int(h["content-length"]) == len(raw)
    assert (m.media_type, m.kind, len(m.layers), len(m.manifests), m.signed) == (
        media_type, kind, layers, entries, signed)


def test_config_and_layers_across_formats(data):
    d2 = Manifest.parse(data("docker-schema2.json"))
    oci = Manifest.parse(data("oci-manifest.json"))
    assert d2.config.digest == oci.config.digest == CFG_4990
    assert d2.config.size == 513
    assert (d2.config.media_type, oci.config.media_type) == (mf.MEDIA_TYPE_DOCKER_CONFIG,
                                                             mf.MEDIA_TYPE_OCI_CONFIG)
    for m, layer_type in ((d2, mf.MEDIA_TYPE_DOCKER_LAYER), (oci, mf.MEDIA_TYPE_OCI_LAYER_GZIP)):
        assert [d.digest for d in m.layers] == [L_72FE, L_E046]
        assert m.layers[1].media_type == layer_type
        assert m.layers[0].size == d2.layers[0].size


def test_index_entries_platforms_and_selection(data):
    oci = Manifest.parse(data("oci-manifest.json"))
    idx = Manifest.parse(data("oci-index.json"))
    assert idx.is_index and idx.layers == () and idx.config is None
    first = idx.manifests[0]
    assert (first.digest, first.size) == (oci.digest, oci.size)
    assert idx.platforms == [registry.Platform("linux", "amd64"),
                             registry.Platform("linux", "arm64", "v8")]
    assert [str(p) for p in idx.platforms] == ["linux/amd64", "linux/arm64/v8"]
    assert idx.select_platform("linux/arm64").digest == ARM64_ENTRY
    assert idx.select_platform(registry.Platform("linux", "amd64")).digest == oci.digest
    with pytest.raises(registry.NotFoundError) as ei:
        idx.select_platform("windows/amd64")
    assert "linux/amd64" in str(ei.value)  # names what the index offers
    with pytest.raises(registry.InvalidArgumentError):
        oci.select_platform("linux/amd64")
    with pytest.raises(registry.InvalidArgumentError):
        idx.select_platform("linux")
    host = registry.host_platform()
    assert host.os == "linux" and host.architecture


def _windows_index():
    def entry(n, platform):
        return {"mediaType": mf.MEDIA_TYPE_OCI_MANIFEST, "size": n,
                "digest": "sha256:" + str(n) * 64, "platform": platform}
    return Manifest.parse(json.dumps({
        "schemaVersion": 2, "mediaType": mf.MEDIA_TYPE_OCI_INDEX, "manifests": [
            entry(1, {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5329"}),
            entry(2, {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2227",
                      "os.features": ["win32k"]})]}).encode())


def test_platform_text_and_windows_selection():
    # The C parser decides (registry_platform_parse): containerd's os(os.version) form too.
    p = registry.Platform.parse("windows(10.0.20348.2227)/amd64")
    assert (p.os, p.os_version, p.architecture, p.variant) == ("windows", "10.0.20348.2227", "amd64", None)
    assert str(p) == "windows(10.0.20348.2227)/amd64"
    assert registry.Platform.parse("linux/arm64/v8") == registry.Platform("linux", "arm64", "v8")
    for bad in ("linux", "linux/amd64/v8/x", "windows(1/amd64", "linux/amd 64", "x" * 300):
        with pytest.raises(registry.InvalidArgumentError):
            registry.Platform.parse(bad)
    idx = _windows_index()
    assert idx.select_platform("windows/amd64").size == 1
    assert idx.select_platform("windows(10.0.20348.2227)/amd64").size == 2
    assert idx.select_platform(registry.Platform("windows", "amd64", os_features=("win32k",))).size == 2
    with pytest.raises(registry.NotFoundError):
        idx.select_platform(registry.Platform("windows", "amd64", os_features=("gpu",)))
    with pytest.raises(registry.NotFoundError):
        idx.select_platform("windows(10.0.14393.0)/amd64")


def test_docker_list(data):
    d2 = Manifest.parse(data("docker-schema2.json"))
    lst = Manifest.parse(data("docker-list.json"))
    assert lst.manifests[0].digest == d2.digest
    assert lst.manifests[0].media_type == mf.MEDIA_TYPE_DOCKER_MANIFEST
    assert lst.select_platform("linux/amd64").digest == d2.digest


def test_artifact_subject_annotations(data):
    oci = Manifest.parse(data("oci-manifest.json"))
    art = Manifest.parse(data("oci-artifact.json"))
    assert art.artifact_type == "application/vnd.example.signature.v1"
    assert (art.subject.digest, art.subject.size) == (oci.digest, oci.size)
    assert art.config.media_type == mf.MEDIA_TYPE_OCI_EMPTY
    assert list(art.annotations) == ["org.opencontainers.image.created", "com.example.note"]
    assert art.annotations["com.example.note"] == "<b>&amp;</b>"
    layer = art.layers[0]
    assert layer.annotations == {"org.opencontainers.image.title": "sig.txt"}
    assert layer.size == 18


def test_to_dict(data):
    m = Manifest.parse(data("seed-ubuntu-schema2.json"))
    d = m.to_dict()
    assert d["digest"] == SEED_S2_DIGEST and d["kind"] == "image" and d["size"] == 1152
    assert [l["digest"] for l in d["layers"]] == SEED_LAYERS
    assert d["manifests"] == [] and d["subject"] is None
    assert sorted(d) == sorted(["annotations", "architecture", "artifactType", "config", "digest",
                                "history", "kind", "layers", "manifests", "mediaType", "name",
                                "schemaVersion", "signed", "size", "subject", "tag"])
    s1 = Manifest.parse(data("seed-ubuntu-schema1-signed.json")).to_dict()
    assert s1["signed"] is True and s1["config"] is None
    assert [l["size"] for l in s1["layers"]] == [None] * 4
    assert [h["throwaway"] for h in s1["history"]] == [False] * 4 + [True]
    idx = Manifest.parse(data("oci-index.json")).to_dict()
    assert idx["manifests"][1]["platform"]["variant"] == "v8"


def test_close_is_idempotent_and_fields_stay(data):
    m = Manifest.parse(data("oci-index.json"))
    m.close()
    m.close()
    assert m.digest.startswith("sha256:") and len(m.manifests) == 2
    with pytest.raises(ValueError, match="closed"):
        m.to_dict()


@pytest.mark.parametrize("raw, exc", [
    (b"", registry.FormatError),
    (b"{", registry.FormatError),
    (b"[]", registry.FormatError),
    (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",'
     b' "config": {"mediaType": "a/b", "digest": "sha256:../../etc/passwd", "size": 1},'
     b' "layers": []}', registry.FormatError),
    (b'{"schemaVersion": 3}', registry.UnsupportedError),
    (b'{"a": 1, "a": 2}', registry.FormatError),
])
def test_hostile_input(raw, exc):
    with pytest.raises(exc) as ei:
        Manifest.parse(raw)
    assert ei.value.code == exc.default_code and ei.value.message


def test_size_cap():
    big = b'{"schemaVersion": 2, "x": "' + b"a" * (4 << 20) + b'"}'
    with pytest.raises(registry.TooLargeError):
        Manifest.parse(big)
    small = b'{"schemaVersion": 2, "x": "' + b"a" * 2000 + b'"}'
    with pytest.raises(registry.TooLargeError):
        Manifest.parse(small, max_size=1000)


def test_accepts_bytes_like(data):
    raw = data("oci-manifest.json")
    assert Manifest.parse(bytearray(raw)).digest == Manifest.parse(memoryview(raw)).digest
    with pytest.raises(TypeError):
        Manifest.parse(raw.decode())  # type: ignore[arg-type]


def test_builder_round_trip(data):
    oci = Manifest.parse(data("oci-manifest.json"))
    b = ManifestBuilder(mf.MEDIA_TYPE_OCI_MANIFEST)
    b.set_config(oci.config.media_type, oci.config.digest, oci.config.size)
    for layer in oci.layers:
        b.add_layer(layer.media_type, layer.digest, layer.size, annotations={"k": "v"})
    b.add_annotation("org.example", "x<y")
    built = b.build()
    assert built.digest == registry.digest(built.raw)
    assert [l.digest for l in built.layers] == [L_72FE, L_E046]
    assert built.layers[0].annotations == {"k": "v"}
    # config, layers and subject take a whole descriptor: urls for a foreign layer
    foreign = (ManifestBuilder(mf.MEDIA_TYPE_OCI_MANIFEST)
               .set_config(oci.config.media_type, oci.config.digest, oci.config.size,
                           annotations={"c": "1"})
               .add_layer(oci.layers[0].media_type, oci.layers[0].digest, oci.layers[0].size,
                          urls=["https://example.com/l"], artifact_type="application/x.y")
               .build())
    assert foreign.config.annotations == {"c": "1"}
    assert foreign.layers[0].urls == ("https://example.com/l",)
    assert foreign.layers[0].artifact_type == "application/x.y"
    assert built.annotations == {"org.example": "x<y"}
    assert b"\\u003c" in built.raw  # escaped as Go does
    assert b.build().raw == built.raw  # deterministic, builder reusable
    idx = (ManifestBuilder(mf.MEDIA_TYPE_OCI_INDEX)
           .add_manifest(built.media_type, built.digest, built.size, platform="linux/arm/v7")
           .build())
    assert idx.platforms == [registry.Platform("linux", "arm", "v7")]
    # Everything an index entry may carry (registry_descriptor_spec).
    win = registry.Platform("windows", "amd64", os_version="10.0.17763.1234",
                            os_features=("win32k",))
    full = (ManifestBuilder(mf.MEDIA_TYPE_OCI_INDEX)
            .add_manifest(built.media_type, built.digest, built.size, platform=win,
                          annotations={"org.example.b": "2", "org.example.a": "1"},
                          urls=["https://example.com/m"],
                          artifact_type="application/vnd.example+json")
            .build())
    entry = full.manifests[0]
    assert entry.platform == win
    assert entry.annotations == {"org.example.a": "1", "org.example.b": "2"}
    assert entry.urls == ("https://example.com/m",)
    assert entry.artifact_type == "application/vnd.example+json"
    with pytest.raises(registry.InvalidArgumentError):
        ManifestBuilder(mf.MEDIA_TYPE_OCI_INDEX).add_manifest(
            built.media_type, built.digest, built.size, urls=[""])
    with pytest.raises(registry.InvalidArgumentError):
        ManifestBuilder(mf.MEDIA_TYPE_OCI_MANIFEST).build()  # no config
    with pytest.raises(registry.UnsupportedError):
        ManifestBuilder(mf.MEDIA_TYPE_DOCKER_SCHEMA1)
    b.close()
    with pytest.raises(ValueError):
        b.build()
