"""Content digests ("sha256:<64 hex>", "sha512:<128 hex>")."""

from __future__ import annotations

import ctypes
from typing import Any, BinaryIO, Union

from ._lib import C, digest_p
from ._util import Handle, as_bytes, cstr, take_string, text
from .errors import InvalidArgumentError, check

DIGEST_STRING_MAX = 136
_ALGORITHMS = {"sha256": 1, "sha512": 2}
_CHUNK = 1 << 20

BytesLike = Union[bytes, bytearray, memoryview]


def _algorithm(name: str) -> int:
    try:
        return _ALGORITHMS[name]
    except KeyError:
        raise InvalidArgumentError("unknown digest algorithm %r (use sha256 or sha512)"
                                   % (name,)) from None


def digest(data: BytesLike, algorithm: str = "sha256") -> str:
    """The digest of @data: "sha256:<hex>" (or sha512)."""
    raw = as_bytes(data)
    out = ctypes.c_void_p()
    check(C.registry_digest_buffer(ctypes.byref(out), _algorithm(algorithm), raw, len(raw)))
    return take_string(out) or ""


def validate_digest(value: str) -> None:
    """Raise FormatError (or UnsupportedError for another algorithm) unless @value is a
    well-formed sha256/sha512 digest; the only check that makes a digest safe in a path."""
    check(C.registry_digest_validate(cstr(value, "digest")))


def digests_equal(expected: str, actual: str) -> bool:
    """Compare two digests in constant time; FormatError when @expected is malformed."""
    rc = C.registry_digest_compare(cstr(expected, "expected"), cstr(actual, "actual"))
    if rc == -9:  # REGISTRY_EDIGEST: a mismatch is an answer, not an error
        return False
    check(rc)
    return True


def digest_backend() -> str:
    """The hashing backend in use: "openssl" or "libsodium"."""
    return text(C.registry_digest_backend()) or ""


class Digest(Handle):
    """A streaming hasher: ``Digest().update(b"...").hexdigest()`` style.

    ``final()`` returns "sha256:<hex>" and resets the hasher.
    """

    _kind = "digest"

    def __init__(self, algorithm: str = "sha256") -> None:
        ptr = digest_p()
        check(C.registry_digest_new(ctypes.byref(ptr), _algorithm(algorithm)))
        super().__init__(ptr, C.registry_digest_free)
        self.algorithm = algorithm

    def __repr__(self) -> str:
        return "<registry.Digest %s%s>" % (self.algorithm, " closed" if self.closed else "")

    def update(self, data: BytesLike) -> "Digest":
        raw = as_bytes(data)
        with self.use() as ptr:
            check(C.registry_digest_update(ptr, raw, len(raw)))
        return self

    def update_from(self, stream: BinaryIO) -> "Digest":
        """Hash everything left in a binary file object."""
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return self
            self.update(chunk)

    def final(self) -> str:
        out = ctypes.c_void_p()
        with self.use() as ptr:
            check(C.registry_digest_final(ctypes.byref(out), ptr))
        return take_string(out) or ""

    def __enter__(self) -> "Digest":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def file_digest(path: Any, algorithm: str = "sha256") -> str:
    """The digest of a file's content, streamed."""
    with open(path, "rb") as f, Digest(algorithm) as d:
        return d.update_from(f).final()
