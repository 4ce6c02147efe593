"""Exceptions raised by the bindings, one class per libregistry error code.

Every failure of a C call becomes a :class:`RegistryError` built from the
thread's last-error record (``registry_error_last()``): ``code`` (the negative
``REGISTRY_E...`` value), ``message``, ``http_status`` (0 when there was no
HTTP response), ``registry_code`` (the registry's own code such as
``"MANIFEST_UNKNOWN"``, or ``""``), ``detail`` and ``url``. Subclasses also
inherit the matching builtin exception where one fits, so that, for example,
``except LookupError`` catches :class:`NotFoundError`.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

# Error codes of include/registry/errors.h (fixed values, never renumbered).
OK = 0
EINVAL = -1
ENOMEM = -2
EIO = -3
ENETWORK = -4
ETLS = -5
EAUTH = -6
EDENIED = -7
ENOTFOUND = -8
EDIGEST = -9
EFORMAT = -10
EUNSUPPORTED = -11
ETOOLARGE = -12
ERATELIMIT = -13
ECANCELED = -14
EPROTOCOL = -15
ECONFLICT = -16
ESERVER = -17
ETIMEDOUT = -18
EPOLICY = -19


class RegistryError(Exception):
    """A libregistry call failed. ``str(e)`` is the library's one-line message."""

    #: The code this class stands for (instances carry the actual one in ``code``).
    default_code: int = 0

    def __init__(self, message: str, code: Optional[int] = None, http_status: int = 0,
                 registry_code: str = "", detail: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = self.default_code if code is None else code
        self.http_status = http_status
        self.registry_code = registry_code
        self.detail = detail
        self.url = url

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = ""
        if self.http_status:
            extra += ", http_status=%d" % self.http_status
        if self.registry_code:
            extra += ", registry_code=%r" % self.registry_code
        return "%s(%r, code=%d%s)" % (type(self).__name__, self.message, self.code, extra)


class InvalidArgumentError(RegistryError, ValueError):
    """REGISTRY_EINVAL: a bad argument (also raised by the bindings before calling C)."""
    default_code = EINVAL


class OutOfMemoryError(RegistryError, MemoryError):
    """REGISTRY_ENOMEM."""
    default_code = ENOMEM


class RegistryIOError(RegistryError, OSError):
    """REGISTRY_EIO: local I/O failure (disk, file, pipe). A registry's 5xx is ServerError."""
    default_code = EIO


class NetworkError(RegistryError, ConnectionError):
    """REGISTRY_ENETWORK: cannot resolve, connect, or the connection broke."""
    default_code = ENETWORK


class TLSError(RegistryError, ConnectionError):
    """REGISTRY_ETLS: TLS handshake or certificate verification failed."""
    default_code = ETLS


class AuthError(RegistryError, PermissionError):
    """REGISTRY_EAUTH: authentication required, or the credentials were refused."""
    default_code = EAUTH


class DeniedError(RegistryError, PermissionError):
    """REGISTRY_EDENIED: authenticated, but not allowed."""
    default_code = EDENIED


class NotFoundError(RegistryError, LookupError):
    """REGISTRY_ENOTFOUND: repository, manifest, blob, platform or file not found."""
    default_code = ENOTFOUND


class DigestMismatchError(RegistryError):
    """REGISTRY_EDIGEST: content does not match its digest."""
    default_code = EDIGEST


class FormatError(RegistryError, ValueError):
    """REGISTRY_EFORMAT: a malformed reference, manifest, digest or response."""
    default_code = EFORMAT


class UnsupportedError(RegistryError, NotImplementedError):
    """REGISTRY_EUNSUPPORTED: valid but not supported, by libregistry or the registry.

    Also raised when the loaded library lacks a function these bindings need.
    """
    default_code = EUNSUPPORTED


class TooLargeError(RegistryError):
    """REGISTRY_ETOOLARGE: input exceeds a configured size limit."""
    default_code = ETOOLARGE


class RateLimitError(RegistryError):
    """REGISTRY_ERATELIMIT: the registry is rate-limiting us (HTTP 429)."""
    default_code = ERATELIMIT


class CanceledError(RegistryError):
    """REGISTRY_ECANCELED: a callback asked to stop."""
    default_code = ECANCELED


class ProtocolError(RegistryError):
    """REGISTRY_EPROTOCOL: the server broke the protocol (bad status, headers)."""
    default_code = EPROTOCOL


class ConflictError(RegistryError):
    """REGISTRY_ECONFLICT: the operation conflicts with the current state."""
    default_code = ECONFLICT


class ServerError(RegistryError):
    """REGISTRY_ESERVER: the registry failed (HTTP 5xx after the retries); ``http_status`` says which.

    Before 0.2 this was RegistryIOError.
    """
    default_code = ESERVER


class RegistryTimeoutError(RegistryError, TimeoutError):
    """REGISTRY_ETIMEDOUT: a connect, total or low-speed time limit ran out (after the retries).

    Before 0.2 this was NetworkError. ``except TimeoutError`` catches it.
    """
    default_code = ETIMEDOUT


class PolicyError(RegistryError):
    """REGISTRY_EPOLICY: refused by the host's configuration (a blocked registry in registries.conf).

    Since 1.1. The message names the rule (file, line and prefix).
    """
    default_code = EPOLICY


ERROR_CLASSES: Dict[int, Type[RegistryError]] = {
    cls.default_code: cls
    for cls in (InvalidArgumentError, OutOfMemoryError, RegistryIOError, NetworkError, TLSError,
                AuthError, DeniedError, NotFoundError, DigestMismatchError, FormatError,
                UnsupportedError, TooLargeError, RateLimitError, CanceledError, ProtocolError,
                ConflictError, ServerError, RegistryTimeoutError, PolicyError)
}


def error_class(code: int) -> Type[RegistryError]:
    """The exception class for a REGISTRY_E... code (RegistryError for unknown codes)."""
    return ERROR_CLASSES.get(code, RegistryError)


def _text(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value else ""


def last_error(code: int) -> RegistryError:
    """The exception for a failed call that returned @code, from this thread's record.

    Call it right after the failing C call, on the same thread.
    """
    from ._lib import C
    e = C.registry_error_last()
    recorded = C.registry_error_code(e)
    if recorded != code:
        # The record describes another call: only the code is known.
        return error_class(code)(_text(C.registry_strerror(code)), code=code)
    message = _text(C.registry_error_message(e)) or _text(C.registry_strerror(code))
    return error_class(code)(message, code=code,
                             http_status=C.registry_error_http_status(e),
                             registry_code=_text(C.registry_error_registry_code(e)),
                             detail=_text(C.registry_error_detail(e)),
                             url=_text(C.registry_error_url(e)))


def check(rc: int) -> int:
    """Raise the matching RegistryError when @rc is negative, else return it."""
    if rc < 0:
        raise last_error(rc)
    return rc
