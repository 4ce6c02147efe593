"""The local content store: an OCI image layout on disk (``registry.Store``)."""

from __future__ import annotations

import contextlib
import ctypes
import enum
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import C, descriptor_p, store_p
from ._util import Handle, StrPath, as_bytes, cpath, cstr, take_string, text
from .errors import (EDIGEST, ENOTFOUND, FormatError, InvalidArgumentError, NotFoundError,
                     UnsupportedError, check)
from .manifest import Descriptor, Manifest, Platform, descriptor_spec
from .progress import CallbackBridge, ProgressCallback, progress_bridge

_CREATE = 1
#: The annotation that names an index.json entry.
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

class ImageFormat(str, enum.Enum):
    """What a pull or an export writes at a path (a ``str``: "oci" works too).

    The C names are accepted as aliases: "docker-dir" for DOCKER and "tar"
    for DOCKER_ARCHIVE.
    """
    OCI = "oci"                        #: an OCI image layout, created or added to
    DOCKER = "docker"                  #: a `docker load` folder
    DOCKER_ARCHIVE = "docker-archive"  #: a `docker load` tarball
    ROOTFS = "rootfs"                  #: the image's root filesystem, unpacked into a folder (pull only)
    ROOTFS_TAR = "rootfs-tar"          #: that root filesystem as one tar file (pull only)

    def __str__(self) -> str:
        return self.value


_C_FORMATS = {ImageFormat.OCI: 0, ImageFormat.DOCKER: 1, ImageFormat.DOCKER_ARCHIVE: 2,
              ImageFormat.ROOTFS: 3, ImageFormat.ROOTFS_TAR: 4}
_ALIASES = {"docker-dir": ImageFormat.DOCKER, "tar": ImageFormat.DOCKER_ARCHIVE}


def image_format(name: Union[str, ImageFormat]) -> int:
    """enum registry_image_format for an ImageFormat or its value (or an alias)."""
    if not isinstance(name, str):
        raise TypeError("format must be an ImageFormat or a str, not %s" % type(name).__name__)
    try:
        return _C_FORMATS[ImageFormat(_ALIASES.get(name, name))]
    except ValueError:
        raise InvalidArgumentError("format must be one of %s, not %r" % (
            ", ".join(f.value for f in ImageFormat), name)) from None


class Store(Handle):
    """An OCI image layout (``oci-layout``, ``index.json``, ``blobs/``), opened.

    ``Store(path, create=True)`` creates the folder and an empty layout when
    there is none. A Store keeps a shared lock on the layout until close()
    (``gc()`` needs the store to itself). Use it as a context manager.
    """

    _kind = "store"

    def __init__(self, path: StrPath, create: bool = False) -> None:
        ptr = store_p()
        check(C.registry_store_open(ctypes.byref(ptr), cpath(path), _CREATE if create else 0))
        super().__init__(ptr, C.registry_store_free)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def path(self) -> str:
        """The layout's absolute directory."""
        with self.use() as s:
            return os.fsdecode(C.registry_store_path(s) or b"")

    def __repr__(self) -> str:
        return "<registry.Store %s>" % ("closed" if self.closed else self.path)

    # -- blobs -------------------------------------------------------------------
    def has(self, digest: str) -> bool:
        """Whether the store holds the blob (its content is not read)."""
        with self.use() as s:
            return bool(check(C.registry_store_has(s, cstr(digest, "digest"))))

    def __contains__(self, digest: object) -> bool:
        """``digest in store``: False also for a string that is not a valid digest."""
        if not isinstance(digest, str):
            return False
        try:
            return self.has(digest)
        except (FormatError, UnsupportedError, InvalidArgumentError):
            return False

    def blob_size(self, digest: str) -> int:
        size = ctypes.c_int64(0)
        with self.use() as s:
            check(C.registry_store_blob_size(ctypes.byref(size), s, cstr(digest, "digest")))
        return size.value

    def blob_path(self, digest: str) -> str:
        """Absolute path of a stored blob (read it, never write to it)."""
        out = ctypes.c_void_p()
        with self.use() as s:
            check(C.registry_store_blob_path(ctypes.byref(out), s, cstr(digest, "digest")))
        return take_string(out) or ""

    def read_blob(self, digest: str, max_size: int = 0) -> bytes:
        """A small blob's bytes, checked against @digest (max_size 0: 4 MiB)."""
        data, n = ctypes.c_void_p(), ctypes.c_size_t(0)
        with self.use() as s:
            check(C.registry_store_read_blob(ctypes.byref(data), ctypes.byref(n), s,
                                             cstr(digest, "digest"), max_size))
        try:
            return ctypes.string_at(data.value, n.value) if data.value else b""
        finally:
            C.registry_free(data)

    def add_blob(self, data: Union[bytes, bytearray, memoryview],
                 digest: Optional[str] = None) -> str:
        """Store bytes (verified against @digest when given); returns their digest."""
        raw = as_bytes(data)
        out = ctypes.c_void_p()
        with self.use() as s:
            check(C.registry_store_add_blob(ctypes.byref(out), s, cstr(digest, "digest"), raw,
                                            len(raw)))
        return take_string(out) or ""

    def import_file(self, path: StrPath, digest: Optional[str] = None) -> str:
        """Copy a file in, streamed and verified; returns its digest."""
        out = ctypes.c_void_p()
        with self.use() as s:
            check(C.registry_store_add_blob_file(ctypes.byref(out), s, cstr(digest, "digest"),
                                                 cpath(path)))
        return take_string(out) or ""

    # -- index.json ------------------------------------------------------------------
    @property
    def index(self) -> List[Descriptor]:
        """The entries of index.json, in file order (a snapshot)."""
        with self.use() as s:
            return [Descriptor._from_c(C.registry_store_index_entry(s, i))  # type: ignore[misc]
                    for i in range(C.registry_store_index_count(s))]

    def find(self, ref_name: str) -> Optional[Descriptor]:
        """The index.json entry named @ref_name, or None."""
        out = descriptor_p()
        with self.use() as s:
            rc = C.registry_store_index_find(ctypes.byref(out), s, cstr(ref_name, "ref_name"))
            if rc == ENOTFOUND:
                return None
            check(rc)
            return Descriptor._from_c(out)

    def index_add(self, media_type: str, digest: str, size: int, ref_name: Optional[str] = None,
                  annotations: Optional[Dict[str, str]] = None, *,
                  platform: Union[str, Platform, None] = None,
                  urls: Sequence[str] = (),
                  artifact_type: Optional[str] = None) -> None:
        """Add (or replace, by ref name) a root in index.json; the blob must be stored.

        @platform ("os/arch[/variant]" or a Platform), @urls and @artifact_type are
        recorded in the entry, as a multi-platform layout needs.
        """
        spec, _keep = descriptor_spec(media_type, digest, size, platform, annotations, urls,
                                      artifact_type)
        with self.use() as s:
            check(C.registry_store_index_add(s, ctypes.byref(spec), cstr(ref_name, "ref_name")))

    @contextlib.contextmanager
    def index_batch(self) -> Iterator[None]:
        """Additions inside the ``with`` block are written to index.json in one
        rewrite when it ends (dropped if it raises); see
        registry_store_index_batch_begin()."""
        with self.use() as s:
            check(C.registry_store_index_batch_begin(s))
        try:
            yield
        except BaseException:
            with self.use() as s:
                C.registry_store_index_batch_abort(s)
            raise
        with self.use() as s:
            check(C.registry_store_index_batch_commit(s))

    def index_remove(self, ref_name_or_digest: str) -> None:
        """Remove the index.json entries with that ref name or digest (blobs stay)."""
        with self.use() as s:
            check(C.registry_store_index_remove(s, cstr(ref_name_or_digest, "name")))

    def manifest(self, name: str) -> Manifest:
        """The manifest an index.json entry names (by ref name or digest), parsed."""
        entry = self.find(name)
        if entry is None:
            entry = next((d for d in self.index if d.digest == name), None)
        if entry is None:
            raise NotFoundError("no image named %r in %s" % (name, self.path))
        return Manifest.parse(self.read_blob(entry.digest), entry.media_type)

    # -- maintenance -------------------------------------------------------------------
    def verify(self) -> List[Tuple[str, str]]:
        """Hash every blob and walk everything index.json reaches.

        Returns the problems as (digest or path, reason) pairs; [] when sound.
        Nothing is changed.
        """
        problems: List[Tuple[str, str]] = []
        bridge = CallbackBridge(lambda d, r: problems.append((d, r)), _lib.VERIFY_CB,
                                lambda d, r, ud: (text(d) or "", text(r) or ""))
        nbad = ctypes.c_size_t(0)
        opts = _lib.store_verify_options(version=_lib.STORE_VERIFY_OPTIONS_VERSION,
                                         problem=bridge.cfunc)
        with self.use() as s:
            rc = C.registry_store_verify(ctypes.byref(nbad), s, ctypes.byref(opts))
            bridge.reraise()
            if rc != EDIGEST:
                check(rc)
        return problems

    def gc(self, dry_run: bool = False, partial_max_age: Optional[int] = None) -> int:
        """Delete blobs nothing in index.json reaches, and partial downloads untouched
        for @partial_max_age seconds (default: a day); returns how many files went
        (with @dry_run, how many would go: nothing is deleted).

        Raises ConflictError while another handle has the store open.
        """
        opts = _lib.store_gc_options(version=_lib.STORE_GC_OPTIONS_VERSION,
                                     flags=_lib.STORE_GC_DRY_RUN if dry_run else 0,
                                     partial_max_age_s=partial_max_age or 0)
        removed = ctypes.c_size_t(0)
        with self.use() as s:
            check(C.registry_store_gc(ctypes.byref(removed), s, ctypes.byref(opts)))
        return removed.value

    def unpack(self, ref_name: str, dest: StrPath, bundle: bool = False, tar: bool = False,
               platform: Any = None, devices: bool = False, max_size: int = 0,
               progress: Optional[ProgressCallback] = None) -> "UnpackStats":
        """Unpack the image @ref_name (ref name or manifest digest) into the
        folder @dest (which must not exist or be empty; it appears whole or not
        at all), or with @bundle into @dest/rootfs plus @dest/config.json, or
        with @tar into the tar file @dest. @platform picks an index's entry (by
        default this machine's); @devices creates device nodes (root only);
        @max_size bounds the uncompressed tar bytes of all layers. Returns the
        counts (entries, bytes, what was skipped without root)."""
        from .unpack import UnpackStats, unpack_options
        bridge = progress_bridge(progress)
        opts = unpack_options(platform, bundle, devices, max_size, bridge)
        st = _lib.unpack_stats(version=_lib.UNPACK_STATS_VERSION)
        with self.use() as s:
            if tar:
                rc = C.registry_store_unpack_tar(ctypes.byref(st), s, cstr(ref_name, "ref_name"), cpath(dest), -1,
                                                 ctypes.byref(opts))
            else:
                rc = C.registry_store_unpack(ctypes.byref(st), s, cstr(ref_name, "ref_name"), cpath(dest),
                                             ctypes.byref(opts))
            bridge.reraise()
            check(rc)
        return UnpackStats.from_c(st)

    def export(self, ref_name: str, dest: StrPath,
               format: Union[str, ImageFormat] = ImageFormat.DOCKER,
               repo_tag: Optional[str] = None,
               progress: Optional[ProgressCallback] = None) -> None:
        """Write the image @ref_name as a `docker load` folder ("docker") or tarball
        ("docker-archive"), tagged @repo_tag ("name:tag"); @progress is called as
        layers are written."""
        fmt = image_format(format)
        bridge = progress_bridge(progress)
        opts = _lib.store_export_options(version=_lib.STORE_EXPORT_OPTIONS_VERSION,
                                         repo_tag=cstr(repo_tag, "repo_tag"),
                                         progress=bridge.cfunc)
        args = (cstr(ref_name, "ref_name"), cpath(dest), fmt, ctypes.byref(opts))
        with self.use() as s:
            rc = C.registry_store_export(s, *args)
            bridge.reraise()
            check(rc)

