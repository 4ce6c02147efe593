"""registry.Reference: parsing and normalization as Docker does it."""

import pytest

import registry
from registry import Reference

HEX = "a" * 64
DIGEST = "sha256:" + HEX


@pytest.mark.parametrize("text, canonical, familiar, reg, api_host, repo, tag, digest", [
    ("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest", "docker.io",
     "registry-1.docker.io", "library/ubuntu", "latest", None),
    ("index.docker.io/library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest",
     "docker.io", "registry-1.docker.io", "library/ubuntu", "latest", None),
    ("localhost:5000/ubuntu:Kana-1", "localhost:5000/ubuntu:Kana-1",
     "localhost:5000/ubuntu:Kana-1", "localhost:5000", "localhost:5000", "ubuntu", "Kana-1", None),
    ("ubuntu@" + DIGEST, "docker.io/library/ubuntu@" + DIGEST, "ubuntu@" + DIGEST, "docker.io",
     "registry-1.docker.io", "library/ubuntu", None, DIGEST),
    ("host:5000/a/b:tag@" + DIGEST, "host:5000/a/b:tag@" + DIGEST, "host:5000/a/b:tag@" + DIGEST,
     "host:5000", "host:5000", "a/b", "tag", DIGEST),
    ("user/app:1", "docker.io/user/app:1", "user/app:1", "docker.io", "registry-1.docker.io",
     "user/app", "1", None),
    ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest", "[::1]:5000", "[::1]:5000",
     "x", "latest", None),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest", "localhost", "localhost", "x",
     "latest", None),
])
def test_parse(text, canonical, familiar, reg, api_host, repo, tag, digest):
    r = Reference.parse(text)
    assert str(r) == canonical == r.canonical
    assert r.familiar == familiar
    assert (r.registry, r.api_host, r.repository, r.tag, r.digest) == (reg, api_host, repo, tag,
                                                                        digest)
    assert Reference.parse(str(r)) == r
    assert Reference.parse(r.familiar) == r
    assert repr(r) == "Reference(%r)" % canonical


@pytest.mark.parametrize("text, exc, words", [
    ("Ubuntu", registry.FormatError, "lowercase"),
    ("ubuntu:", registry.FormatError, "tag"),
    ("ubuntu@sha256:abc", registry.FormatError, "digest"),
    ("ubuntu@md5:" + "a" * 32, registry.UnsupportedError, ""),
    ("", registry.FormatError, ""),
    ("a//b", registry.FormatError, ""),
    ("host:99999/x", registry.FormatError, ""),
    ("x/" + "a" * 300, registry.FormatError, ""),
])
def test_parse_errors(text, exc, words):
    with pytest.raises(exc) as ei:
        Reference.parse(text)
    e = ei.value
    assert e.code == exc.default_code
    assert words in e.message
    assert e.http_status == 0


def test_nul_is_refused_before_c_sees_it():
    # C would silently cut the string at the NUL and parse "ubuntu".
    with pytest.raises(registry.InvalidArgumentError, match="NUL"):
        Reference.parse("ubuntu\0evil")


def test_type_errors():
    with pytest.raises(TypeError):
        Reference.parse(42)  # type: ignore[arg-type]


def test_from_parts_and_helpers():
    r = Reference.from_parts("ubuntu")
    assert str(r) == "docker.io/library/ubuntu:latest"
    r = Reference.from_parts("app", registry="localhost:5000", tag="v1")
    assert str(r) == "localhost:5000/app:v1"
    assert r.name == "localhost:5000/app"
    assert r.tag_or_digest == "v1"
    pinned = r.with_digest(DIGEST)
    assert str(pinned) == "localhost:5000/app:v1@" + DIGEST
    assert pinned.tag_or_digest == DIGEST
    assert str(pinned.with_tag("v2")) == "localhost:5000/app:v2"
    with pytest.raises(registry.FormatError):
        Reference.from_parts("Bad")


def test_references_are_values():
    a, b = Reference.parse("ubuntu"), Reference.parse("docker.io/library/ubuntu:latest")
    assert a == b and hash(a) == hash(b)
    assert len({a, b, Reference.parse("ubuntu:22.04")}) == 2
    with pytest.raises(AttributeError):
        a.tag = "x"  # type: ignore[misc]


def test_validators():
    registry.validate_repository("library/ubuntu")
    registry.validate_tag("Kana-1")
    with pytest.raises(registry.FormatError):
        registry.validate_repository("Library/ubuntu")
    with pytest.raises(registry.FormatError):
        registry.validate_tag(".hidden")
