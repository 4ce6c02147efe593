"""Python bindings for libregistry, a client library for Docker Registry V2 / OCI
distribution registries, through ctypes (no compile step).

    import registry
    with registry.Client("localhost:5000") as c:
        m = c.inspect("ubuntu:Kana-1")
        print(m.digest, [layer.digest for layer in m.layers])

The shared library is found through $REGISTRY_LIBRARY, then
``libregistry.so.1`` by soname, then ``ctypes.util.find_library``; see
``registry.library_path``. Failures raise :class:`RegistryError` subclasses.
"""

from ._lib import LibraryLoadError, library_path, library_version
from ._version import __version__
from ._util import StrPath
from .client import Client, NameIterator, PlatformLike, RefLike
from .config import ConfigHistory, ImageConfig
from .digest import Digest, digest, digest_backend, digests_equal, file_digest, validate_digest
from .errors import (AuthError, CanceledError, ConflictError, DeniedError, DigestMismatchError,
                     FormatError, InvalidArgumentError, NetworkError, NotFoundError,
                     OutOfMemoryError, ProtocolError, RateLimitError, RegistryError,
                     PolicyError, RegistryIOError, RegistryTimeoutError, ServerError, TLSError, TooLargeError, UnsupportedError,
                     error_class)
from .manifest import (Descriptor, HistoryEntry, Manifest, ManifestBuilder, Platform,
                       host_platform)
from .progress import Progress, ProgressCallback, ProgressState
from .reference import Reference, validate_repository, validate_tag
from ._settings import CredentialCallback, TraceCallback, TraceEvent
from .store import REF_NAME_ANNOTATION, ImageFormat, Store
from .trust import Policy, SignatureCheck, VerifyResult
from .unpack import UnpackStats, layer_apply, unpack


def version() -> str:
    """The version of the loaded libregistry ("MAJOR.MINOR.PATCH")."""
    return library_version


def has_function(name: str) -> bool:
    """Whether the loaded library exports the C function @name ("registry_pull_to").

    Methods built on a function an older library lacks raise UnsupportedError.
    """
    from ._lib import C
    return C.has(name)


__all__ = [
    "__version__", "version", "has_function", "library_path", "LibraryLoadError",
    "Client", "NameIterator", "ImageConfig", "ConfigHistory", "ImageFormat",
    "RefLike", "PlatformLike", "StrPath", "ProgressCallback",
    "Reference", "Manifest", "ManifestBuilder", "Descriptor",
    "Platform", "HistoryEntry", "Store", "REF_NAME_ANNOTATION", "Progress", "ProgressState",
    "Digest", "digest", "file_digest", "validate_digest", "digests_equal", "digest_backend",
    "host_platform", "validate_repository", "validate_tag",
    "TraceEvent", "TraceCallback", "CredentialCallback",
    "RegistryError", "error_class", "AuthError", "CanceledError", "ConflictError", "DeniedError",
    "DigestMismatchError", "FormatError", "InvalidArgumentError", "NetworkError",
    "NotFoundError", "OutOfMemoryError", "ProtocolError", "RateLimitError", "RegistryIOError",
    "TLSError", "TooLargeError", "UnsupportedError", "ServerError", "RegistryTimeoutError",
    "Policy", "VerifyResult", "SignatureCheck",
    "PolicyError",
    "unpack", "layer_apply", "UnpackStats",
]
