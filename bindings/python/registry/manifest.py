"""Manifests: ``Manifest.parse(data, media_type=None)`` and the descriptors inside.

A :class:`Manifest` wraps a parsed, immutable ``registry_manifest``. Its
fields are copied into Python objects when it is created (descriptors are
small frozen dataclasses), so reading them needs no lock and no C call; the
C object is kept for platform selection, serialization and pushes, and freed
by ``close()`` or when the Manifest is garbage collected.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import C, builder_p, descriptor_p, manifest_p
from ._util import Handle, as_bytes, cstr, take_string, text
from .errors import InvalidArgumentError, check

# Media types (include/registry/manifest.h).
MEDIA_TYPE_DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_TYPE_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_TYPE_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_TYPE_DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
MEDIA_TYPE_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_TYPE_OCI_EMPTY = "application/vnd.oci.empty.v1+json"

#: Default and largest accepted manifest size (4 MiB).
MANIFEST_MAX_SIZE = 4 << 20

_KIND_IMAGE = 1
_KIND_INDEX = 2


@dataclass(frozen=True)
class Platform:
    """An OCI platform: ``str(p)`` is "os[(os.version)]/architecture[/variant]"."""
    os: str
    architecture: str
    variant: Optional[str] = None
    os_version: Optional[str] = None
    os_features: Tuple[str, ...] = ()
    features: Tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: Union[str, "Platform"]) -> "Platform":
        """"linux/arm64/v8" -> Platform("linux", "arm64", "v8"); containerd's
        "windows(10.0.17763.1234)/amd64" sets os_version. The C library's
        registry_platform_parse() decides: InvalidArgumentError says what is wrong."""
        if isinstance(value, Platform):
            return value
        if not isinstance(value, str):
            raise TypeError("platform must be a str such as 'linux/amd64' or a Platform")
        out = ctypes.POINTER(_lib.platform)()
        check(C.registry_platform_parse(ctypes.byref(out), cstr(value, "platform")))
        try:
            p = out.contents
            return cls(text(p.os) or "", text(p.architecture) or "", text(p.variant),
                       text(p.os_version))
        finally:
            C.registry_platform_free(out)

    def _c(self) -> Any:
        """A registry_platform pointing at this platform's strings (kept alive by the struct)."""
        p = _lib.platform(_lib.PLATFORM_VERSION, cstr(self.os) or None,
                          cstr(self.architecture) or None, cstr(self.variant),
                          cstr(self.os_version))
        p.os_features = _c_strings(self.os_features)
        return p

    def __str__(self) -> str:
        os = "%s(%s)" % (self.os, self.os_version) if self.os_version else self.os
        s = "%s/%s" % (os, self.architecture)
        return s + "/" + self.variant if self.variant else s


def platform_c(platform: Union[str, Platform, None]) -> Any:
    """A pointer to a registry_platform for @platform (str or Platform), or None: the host's."""
    return ctypes.pointer(Platform.parse(platform)._c()) if platform is not None else None


def _c_strings(items: Sequence[str]) -> Any:
    """A NULL-terminated char *[] for a descriptor spec, or None when empty."""
    if not items:
        return None
    return (ctypes.c_char_p * (len(items) + 1))(*[cstr(i) for i in items], None)


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: a config, a layer, an index entry or a subject."""
    media_type: str
    digest: str
    size: Optional[int]  #: None when unknown (schema1 layers)
    artifact_type: Optional[str] = None
    urls: Tuple[str, ...] = ()
    annotations: Dict[str, str] = field(default_factory=dict, hash=False)
    platform: Optional[Platform] = None

    @classmethod
    def _from_c(cls, d: Any) -> Optional["Descriptor"]:
        if not d:
            return None
        platform = None
        if C.registry_descriptor_has_platform(d):
            platform = Platform(
                os=text(C.registry_descriptor_platform_os(d)) or "",
                architecture=text(C.registry_descriptor_platform_architecture(d)) or "",
                variant=text(C.registry_descriptor_platform_variant(d)),
                os_version=text(C.registry_descriptor_platform_os_version(d)),
                os_features=tuple(text(C.registry_descriptor_platform_os_feature(d, i)) or ""
                                  for i in range(C.registry_descriptor_platform_os_feature_count(d))),
                features=tuple(text(C.registry_descriptor_platform_feature(d, i)) or ""
                               for i in range(C.registry_descriptor_platform_feature_count(d))))
        size = C.registry_descriptor_size(d)
        return cls(
            media_type=text(C.registry_descriptor_media_type(d)) or "",
            digest=text(C.registry_descriptor_digest(d)) or "",
            size=None if size < 0 else size,
            artifact_type=text(C.registry_descriptor_artifact_type(d)),
            urls=tuple(text(C.registry_descriptor_url(d, i)) or ""
                       for i in range(C.registry_descriptor_url_count(d))),
            annotations={text(C.registry_descriptor_annotation_key(d, i)) or "":
                         text(C.registry_descriptor_annotation_value(d, i)) or ""
                         for i in range(C.registry_descriptor_annotation_count(d))},
            platform=platform)

    @property
    def ref_name(self) -> Optional[str]:
        """The org.opencontainers.image.ref.name annotation (names in an OCI layout)."""
        return self.annotations.get("org.opencontainers.image.ref.name")


@dataclass(frozen=True)
class HistoryEntry:
    """A Docker schema1 v1 history entry, base first."""
    v1_compatibility: str
    throwaway: bool  #: its layer is the empty a3ed95caeb02... blob and is not in ``layers``


class Manifest(Handle):
    """A parsed manifest of any format, normalized to one read-only view."""

    _kind = "manifest"

    def __init__(self, ptr: Any) -> None:
        """Take ownership of a parsed registry_manifest (use Manifest.parse())."""
        if not ptr:
            raise InvalidArgumentError("NULL manifest")
        super().__init__(ptr, C.registry_manifest_free)
        n = ctypes.c_size_t(0)
        raw = C.registry_manifest_raw(ptr, ctypes.byref(n))
        #: The bytes exactly as served.
        self.raw: bytes = ctypes.string_at(raw, n.value) if raw else b""
        self.media_type: str = text(C.registry_manifest_media_type(ptr)) or ""
        #: The canonical digest (for signed schema1: of the JWS payload).
        self.digest: str = text(C.registry_manifest_digest(ptr)) or ""
        self.size: int = C.registry_manifest_size(ptr)
        kind = C.registry_manifest_kind(ptr)
        #: "image" or "index".
        self.kind: str = "index" if kind == _KIND_INDEX else "image"
        self.schema_version: int = C.registry_manifest_schema_version(ptr)
        #: The document carries JWS signatures (not verified).
        self.signed: bool = bool(C.registry_manifest_signed(ptr))
        self.config: Optional[Descriptor] = Descriptor._from_c(C.registry_manifest_config(ptr))
        #: Layers, base first (schema1: throwaway layers dropped, sizes None).
        self.layers: Tuple[Descriptor, ...] = tuple(
            Descriptor._from_c(C.registry_manifest_layer(ptr, i))  # type: ignore[misc]
            for i in range(C.registry_manifest_layer_count(ptr)))
        #: Entries of a list or index, in document order.
        self.manifests: Tuple[Descriptor, ...] = tuple(
            Descriptor._from_c(C.registry_manifest_entry(ptr, i))  # type: ignore[misc]
            for i in range(C.registry_manifest_entry_count(ptr)))
        self.artifact_type: Optional[str] = text(C.registry_manifest_artifact_type(ptr))
        self.subject: Optional[Descriptor] = Descriptor._from_c(C.registry_manifest_subject(ptr))
        self.annotations: Dict[str, str] = {
            text(C.registry_manifest_annotation_key(ptr, i)) or "":
            text(C.registry_manifest_annotation_value(ptr, i)) or ""
            for i in range(C.registry_manifest_annotation_count(ptr))}
        #: Schema1 "name", "tag" and "architecture" (None for other formats).
        self.name: Optional[str] = text(C.registry_manifest_schema1_name(ptr))
        self.tag: Optional[str] = text(C.registry_manifest_schema1_tag(ptr))
        self.architecture: Optional[str] = text(C.registry_manifest_schema1_architecture(ptr))
        self.history: Tuple[HistoryEntry, ...] = tuple(
            HistoryEntry(text(C.registry_manifest_history(ptr, i)) or "",
                         bool(C.registry_manifest_history_throwaway(ptr, i)))
            for i in range(C.registry_manifest_history_count(ptr)))

    @classmethod
    def parse(cls, data: Union[bytes, bytearray, memoryview], media_type: Optional[str] = None,
              max_size: int = 0) -> "Manifest":
        """Parse a manifest as served by a registry.

        @media_type is the response's Content-Type (None: from the body).
        @max_size caps the document (0: 4 MiB). Raises FormatError,
        UnsupportedError or TooLargeError.
        """
        raw = as_bytes(data)
        ptr = manifest_p()
        opts = _lib.manifest_parse_options(version=_lib.MANIFEST_PARSE_OPTIONS_VERSION,
                                           max_size=max_size)
        check(C.registry_manifest_parse(ctypes.byref(ptr), raw, len(raw),
                                        cstr(media_type, "media_type"), ctypes.byref(opts)))
        return cls(ptr)

    @property
    def is_index(self) -> bool:
        return self.kind == "index"

    @property
    def platforms(self) -> List[Optional[Platform]]:
        """The platform of each entry of a list or index (None where absent)."""
        return [d.platform for d in self.manifests]

    def to_dict(self) -> Dict[str, Any]:
        """The normalized view (registry_manifest_to_json) as a dict; every key present."""
        out = ctypes.c_void_p()
        with self.use() as ptr:
            rc = C.registry_manifest_to_json(ctypes.byref(out), ptr)
        check(rc)
        return json.loads(take_string(out) or "null")

    def select_platform(self, platform: Union[str, Platform, None] = None) -> Descriptor:
        """The entry of a list or index for @platform (None: this machine's), as containerd picks.

        Raises NotFoundError (the message lists the platforms offered) or
        InvalidArgumentError for an image manifest.
        """
        p = platform_c(platform)
        out = descriptor_p()
        with self.use() as ptr:
            check(C.registry_manifest_select_platform(ctypes.byref(out), ptr, p))
            d = Descriptor._from_c(out)
        assert d is not None
        return d

    def __bytes__(self) -> bytes:
        return self.raw

    def __repr__(self) -> str:
        return "<Manifest %s %s, %d bytes>" % (self.media_type, self.digest, self.size)

    def __eq__(self, other: object) -> bool:
        """Manifests are equal when their digests are (the same bytes)."""
        if not isinstance(other, Manifest):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)


def host_platform() -> Platform:
    """The platform this process runs on, in OCI terms."""
    os_, arch, variant = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
    check(C.registry_manifest_host_platform(ctypes.byref(os_), ctypes.byref(arch),
                                            ctypes.byref(variant)))
    return Platform(text(os_.value) or "", text(arch.value) or "", text(variant.value))


def descriptor_spec(media_type: str, digest: str, size: int,
                    platform: Union[str, Platform, None] = None,
                    annotations: Optional[Dict[str, str]] = None,
                    urls: Sequence[str] = (),
                    artifact_type: Optional[str] = None) -> Tuple[Any, List[Any]]:
    """A registry_descriptor_spec, and the C arrays it points into (keep them
    alive for the call)."""
    p = Platform.parse(platform) if platform is not None else None
    pairs = [x for kv in (annotations or {}).items() for x in kv]
    keep = [_c_strings(urls), _c_strings(pairs), _c_strings(p.os_features if p else ())]
    spec = _lib.descriptor_spec(
        version=_lib.DESCRIPTOR_SPEC_VERSION, media_type=cstr(media_type, "media_type"),
        digest=cstr(digest, "digest"), size=size, artifact_type=cstr(artifact_type),
        urls=keep[0], annotations=keep[1],
        os=cstr(p.os) if p else None, architecture=cstr(p.architecture) if p else None,
        variant=cstr(p.variant) if p else None,
        os_version=cstr(p.os_version) if p else None, os_features=keep[2])
    return spec, keep


class ManifestBuilder(Handle):
    """Builds a Docker schema2 manifest, OCI manifest, Docker list or OCI index.

    Serialization is deterministic (what docker/distribution writes). Methods
    return the builder, so calls chain.
    """

    _kind = "manifest builder"

    def __init__(self, media_type: str = MEDIA_TYPE_OCI_MANIFEST) -> None:
        ptr = builder_p()
        check(C.registry_manifest_builder_new(ctypes.byref(ptr), cstr(media_type, "media_type")))
        super().__init__(ptr, C.registry_manifest_builder_free)
        self.media_type = media_type

    def __repr__(self) -> str:
        return "<registry.ManifestBuilder %s%s>" % (self.media_type, " closed" if self.closed else "")

    def _call(self, fn: Any, *args: Any) -> "ManifestBuilder":
        with self.use() as ptr:
            check(fn(ptr, *args))
        return self

    def set_config(self, media_type: str, digest: str, size: int,
                   annotations: Optional[Dict[str, str]] = None, *,
                   urls: Sequence[str] = (),
                   artifact_type: Optional[str] = None) -> "ManifestBuilder":
        """Set the config of an image manifest."""
        spec, _keep = descriptor_spec(media_type, digest, size, annotations=annotations, urls=urls,
                                      artifact_type=artifact_type)
        return self._call(C.registry_manifest_builder_set_config, ctypes.byref(spec))

    def add_layer(self, media_type: str, digest: str, size: int,
                  annotations: Optional[Dict[str, str]] = None, *,
                  urls: Sequence[str] = (),
                  artifact_type: Optional[str] = None) -> "ManifestBuilder":
        """Append a layer (base first) to an image manifest; @urls make a foreign layer."""
        spec, _keep = descriptor_spec(media_type, digest, size, annotations=annotations, urls=urls,
                                      artifact_type=artifact_type)
        return self._call(C.registry_manifest_builder_add_layer, ctypes.byref(spec))

    def add_manifest(self, media_type: str, digest: str, size: int,
                     platform: Union[str, Platform, None] = None,
                     annotations: Optional[Dict[str, str]] = None, *,
                     urls: Sequence[str] = (),
                     artifact_type: Optional[str] = None) -> "ManifestBuilder":
        """Append an entry to a list or index (a platform is required for a Docker list).

        @platform is "os/arch[/variant]" or a Platform, whose os_version and
        os_features are written too ("os.version", "os.features").
        """
        spec, _keep = descriptor_spec(media_type, digest, size, platform, annotations, urls,
                                      artifact_type)
        return self._call(C.registry_manifest_builder_add_manifest, ctypes.byref(spec))

    def set_subject(self, media_type: str, digest: str, size: int,
                    annotations: Optional[Dict[str, str]] = None) -> "ManifestBuilder":
        """Set the OCI subject (the manifest this one refers to)."""
        spec, _keep = descriptor_spec(media_type, digest, size, annotations=annotations)
        return self._call(C.registry_manifest_builder_set_subject, ctypes.byref(spec))

    def set_artifact_type(self, artifact_type: Optional[str]) -> "ManifestBuilder":
        """Set (or with None clear) the OCI artifactType."""
        return self._call(C.registry_manifest_builder_set_artifact_type, cstr(artifact_type))

    def add_annotation(self, key: str, value: str) -> "ManifestBuilder":
        """Set a top-level annotation."""
        return self._call(C.registry_manifest_builder_set_annotation, cstr(key), cstr(value))

    def build(self) -> Manifest:
        """Serialize and parse back: ``.raw`` is what to push, ``.digest`` its name."""
        out = manifest_p()
        self._call(lambda ptr: C.registry_manifest_builder_build(ctypes.byref(out), ptr))
        return Manifest(out)
