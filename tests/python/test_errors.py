"""The exception hierarchy: codes, builtins, and the fields of the last-error record."""

import ctypes
import threading

import pytest

import registry
from registry import errors
from registry._lib import C

# code -> (class, builtin it must also be, C name of the code in errors.h)
MAPPING = {
    -1: (registry.InvalidArgumentError, ValueError, "invalid argument"),
    -2: (registry.OutOfMemoryError, MemoryError, "out of memory"),
    -3: (registry.RegistryIOError, OSError, "I/O error"),
    -4: (registry.NetworkError, ConnectionError, "network error"),
    -5: (registry.TLSError, ConnectionError, "TLS error"),
    -6: (registry.AuthError, PermissionError, "authentication failed"),
    -7: (registry.DeniedError, PermissionError, "access denied"),
    -8: (registry.NotFoundError, LookupError, "not found"),
    -9: (registry.DigestMismatchError, None, "digest mismatch"),
    -10: (registry.FormatError, ValueError, "malformed input"),
    -11: (registry.UnsupportedError, NotImplementedError, "unsupported"),
    -12: (registry.TooLargeError, None, "too large"),
    -13: (registry.RateLimitError, None, "rate limited"),
    -14: (registry.CanceledError, None, "canceled"),
    -15: (registry.ProtocolError, None, "protocol error"),
    -16: (registry.ConflictError, None, "conflict"),
    -17: (registry.ServerError, None, "server error"),
    -18: (registry.RegistryTimeoutError, TimeoutError, "timed out"),
    -19: (registry.PolicyError, registry.RegistryError, "refused by local policy"),
}


@pytest.mark.parametrize("code", sorted(MAPPING))
def test_each_code_has_its_class(code):
    cls, builtin, name = MAPPING[code]
    assert registry.error_class(code) is cls
    assert cls.default_code == code
    assert issubclass(cls, registry.RegistryError)
    if builtin is not None:
        assert issubclass(cls, builtin)
    assert C.registry_strerror(code).decode() == name
    e = cls("boom", http_status=503, registry_code="X", url="http://h/")
    assert (e.code, e.message, str(e), e.http_status, e.registry_code, e.url) == (
        code, "boom", "boom", 503, "X", "http://h/")


def test_every_code_of_the_header_is_mapped():
    # strerror names codes up to the last one; the next is "unknown error".
    last = min(MAPPING)
    assert C.registry_strerror(last - 1) == b"unknown error"
    assert set(errors.ERROR_CLASSES) == set(MAPPING)


def test_unknown_code_is_plain_registry_error():
    assert registry.error_class(-99) is registry.RegistryError
    assert registry.error_class(0) is registry.RegistryError


def test_raised_error_carries_the_record():
    with pytest.raises(registry.FormatError) as ei:
        registry.Reference.parse("Ubuntu")
    e = ei.value
    assert e.code == -10
    assert e.message == str(e) and "lowercase" in e.message
    assert (e.http_status, e.registry_code, e.url) == (0, "", "")
    assert "FormatError(" in repr(e)
    # except ValueError works, as for any bad value.
    with pytest.raises(ValueError):
        registry.Reference.parse("Ubuntu")


def test_record_is_per_thread():
    """A failure on one thread does not leak into another's exception."""
    seen = {}

    def other():
        try:
            registry.validate_digest("sha256:xyz")
        except registry.FormatError as e:
            seen["other"] = e.message

    with pytest.raises(registry.NotFoundError):
        registry.Store("/nonexistent/store/path")
    t = threading.Thread(target=other)
    t.start()
    t.join()
    e = errors.last_error(-8)  # this thread's record is still the store's
    assert "/nonexistent/store/path" in e.message
    assert "digest" in seen["other"] or "sha256" in seen["other"]


def test_stale_record_does_not_lend_its_message():
    registry.Reference.parse("ubuntu")  # success clears the record
    e = errors.last_error(-9)
    assert type(e) is registry.DigestMismatchError
    assert e.message == "digest mismatch" and e.http_status == 0


def test_digests():
    assert registry.digest(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert registry.digest(b"abc", "sha512").startswith("sha512:ddaf35a193617aba")
    with registry.Digest() as d:
        assert d.update(b"a").update(bytearray(b"bc")).final() == registry.digest(b"abc")
        assert d.final() == registry.digest(b"")  # reset after final
    with pytest.raises(registry.InvalidArgumentError):
        registry.digest(b"", "md5")
    registry.validate_digest("sha256:" + "0" * 64)
    with pytest.raises(registry.FormatError):
        registry.validate_digest("sha256:" + "A" * 64)
    with pytest.raises(registry.UnsupportedError):
        registry.validate_digest("md5:" + "0" * 32)
    a = registry.digest(b"x")
    assert registry.digests_equal(a, a)
    assert not registry.digests_equal(a, registry.digest(b"y"))
    with pytest.raises(registry.FormatError):
        registry.digests_equal("nope", a)
    assert registry.digest_backend() in ("openssl", "libsodium")


def test_nul_in_any_string_argument():
    with pytest.raises(registry.InvalidArgumentError):
        registry.validate_tag("a\0b")
    with pytest.raises(registry.InvalidArgumentError):
        registry.Store("/tmp/x\0y")


def test_error_code_values_match_the_c_enum():
    # errors.h pins the values; a NULL argument gives REGISTRY_EINVAL.
    assert C.registry_digest_validate(None) == errors.EINVAL == -1
    out = ctypes.c_void_p()
    assert C.registry_manifest_to_json(ctypes.byref(out), None) == errors.EINVAL
