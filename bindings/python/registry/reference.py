"""Image references: ``Reference.parse("localhost:5000/ubuntu:Kana-1")``."""

from __future__ import annotations

import contextlib
import ctypes
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ._lib import C, reference_p
from ._util import cstr, text
from .errors import check


@dataclass(frozen=True)
class Reference:
    """A parsed, normalized image reference (immutable).

    Parsing normalizes as ``docker pull`` does: ``"ubuntu"`` is
    ``docker.io/library/ubuntu:latest``. ``str(ref)`` is the canonical form,
    which parses back to an equal reference.
    """

    registry: str  #: as written in references: "docker.io", "localhost:5000"
    api_host: str  #: where API requests go: "registry-1.docker.io" for docker.io
    repository: str  #: "library/ubuntu"
    tag: Optional[str]  #: None for a reference by digest only
    digest: Optional[str]  #: "sha256:..." or None
    canonical: str  #: "docker.io/library/ubuntu:latest"
    familiar: str  #: Docker's short form: "ubuntu:latest"

    @classmethod
    def parse(cls, text_: str) -> "Reference":
        """Parse and normalize @text_.

        Raises FormatError (the message names the wrong part) or
        UnsupportedError (a digest algorithm other than sha256/sha512).
        """
        if isinstance(text_, Reference):
            return text_
        ptr = reference_p()
        check(C.registry_reference_parse(ctypes.byref(ptr), cstr(text_, "reference")))
        return cls._take(ptr)

    @classmethod
    def from_parts(cls, repository: str, registry: Optional[str] = None, tag: Optional[str] = None,
                   digest: Optional[str] = None) -> "Reference":
        """Build a reference from its parts, validated and normalized as parse() does.

        @registry None means docker.io; with neither @tag nor @digest the tag is "latest".
        """
        ptr = reference_p()
        check(C.registry_reference_new(ctypes.byref(ptr), cstr(registry, "registry"),
                                       cstr(repository, "repository"), cstr(tag, "tag"),
                                       cstr(digest, "digest")))
        return cls._take(ptr)

    @classmethod
    def _take(cls, ptr: Any) -> "Reference":
        try:
            return cls(registry=text(C.registry_reference_registry(ptr)) or "",
                       api_host=text(C.registry_reference_api_host(ptr)) or "",
                       repository=text(C.registry_reference_repository(ptr)) or "",
                       tag=text(C.registry_reference_tag(ptr)),
                       digest=text(C.registry_reference_digest(ptr)),
                       canonical=text(C.registry_reference_string(ptr)) or "",
                       familiar=text(C.registry_reference_familiar(ptr)) or "")
        finally:
            C.registry_reference_free(ptr)

    @property
    def name(self) -> str:
        """"registry/repository", without tag or digest."""
        return "%s/%s" % (self.registry, self.repository)

    @property
    def tag_or_digest(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> "Reference":
        """The same repository with another tag (and no digest)."""
        return Reference.from_parts(self.repository, self.registry, tag=tag)

    def with_digest(self, digest: str) -> "Reference":
        """The same repository pinned to @digest (the tag is kept)."""
        return Reference.from_parts(self.repository, self.registry, tag=self.tag, digest=digest)

    def __str__(self) -> str:
        return self.canonical

    def __repr__(self) -> str:
        return "Reference(%r)" % self.canonical

    @contextlib.contextmanager
    def _c(self) -> Iterator[Any]:
        """A temporary C registry_reference equal to this one."""
        ptr = reference_p()
        check(C.registry_reference_parse(ctypes.byref(ptr), cstr(self.canonical)))
        try:
            yield ptr
        finally:
            C.registry_reference_free(ptr)


def validate_repository(name: str) -> None:
    """Raise FormatError unless @name is a valid repository path ("library/ubuntu")."""
    check(C.registry_reference_validate_repository(cstr(name, "repository")))


def validate_tag(tag: str) -> None:
    """Raise FormatError unless @tag is a valid tag."""
    check(C.registry_reference_validate_tag(cstr(tag, "tag")))
