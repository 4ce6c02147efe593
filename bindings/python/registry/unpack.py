"""Unpack: an image as a root filesystem (include/registry/unpack.h).

    import registry
    stats = registry.unpack("./debian-oci:latest", "./rootfs")
    registry.unpack("./app-oci", "./app", bundle=True)   # rootfs/ + config.json for runc
    registry.unpack("docker-archive:./app.tar:example.com/app:1.0", "./rootfs")  # a docker save tarball
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
from typing import Any, Optional

from . import _lib
from ._lib import C
from ._util import StrPath, cpath, cstr
from .errors import check, InvalidArgumentError
from .progress import ProgressCallback, progress_bridge
from .manifest import platform_c


@dataclasses.dataclass(frozen=True)
class UnpackStats:
    """What an unpack did. The skipped_* counts are what a non-root unpack
    could not apply (owners, device nodes, extended attributes)."""
    layers: int
    entries: int
    bytes: int
    whiteouts: int
    skipped_owners: int
    skipped_devices: int
    skipped_xattrs: int

    @classmethod
    def from_c(cls, st: Any) -> "UnpackStats":
        return cls(**{f.name: int(getattr(st, f.name)) for f in dataclasses.fields(cls)})


def unpack_options(platform: Any, bundle: bool, devices: bool, max_size: int, bridge: Any) -> Any:
    if max_size < 0:
        raise InvalidArgumentError("max_size must be >= 0")
    flags = (_lib.UNPACK_BUNDLE if bundle else 0) | (_lib.UNPACK_DEVICES if devices else 0)
    plat = platform_c(platform)
    return _lib.unpack_options(version=_lib.UNPACK_OPTIONS_VERSION, flags=flags, platform=plat,
                               max_size=max_size, progress=bridge.cfunc)


DOCKER_ARCHIVE = "docker-archive:"  # skopeo's transport name


def _unpack_archive(spec: str, dest: StrPath, bundle: bool, devices: bool, max_size: int,
                    progress: Optional[ProgressCallback]) -> UnpackStats:
    path, sep, ref = spec.partition(":")
    bridge = progress_bridge(progress)
    opts = unpack_options(None, bundle, devices, max_size, bridge)
    st = _lib.unpack_stats(version=_lib.UNPACK_STATS_VERSION)
    rc = C.registry_archive_unpack(ctypes.byref(st), cpath(path), cstr(ref, "ref") if sep else None, cpath(dest),
                                   ctypes.byref(opts))
    bridge.reraise()
    check(rc)
    return UnpackStats.from_c(st)


def unpack(layout: StrPath, dest: StrPath, bundle: bool = False, platform: Any = None,
           devices: bool = False, max_size: int = 0,
           progress: Optional[ProgressCallback] = None) -> UnpackStats:
    """Unpack an image of the OCI layout @layout ("DIR[:NAME]": NAME is a ref
    name or manifest digest, optional when DIR holds one image) into @dest, as
    `registry-unpack` does (see Store.unpack for the arguments). A
    "docker-archive:FILE[:REF]" @layout is a docker save tarball instead
    (REF: one of its RepoTags, optional when it holds one image; @platform
    is then not used)."""
    from .store import REF_NAME_ANNOTATION, Store
    text = os.fsdecode(os.fspath(layout))
    if text.startswith(DOCKER_ARCHIVE):
        return _unpack_archive(text[len(DOCKER_ARCHIVE):], dest, bundle, devices, max_size, progress)
    path, sep, name = text.partition(":")
    with Store(path) as store:
        if not sep:
            entries = store.index
            if len(entries) != 1:
                raise InvalidArgumentError("%s holds %d images; name one as DIR:NAME" % (path, len(entries)))
            name = entries[0].annotations.get(REF_NAME_ANNOTATION) or entries[0].digest
        return store.unpack(name, dest, bundle=bundle, platform=platform, devices=devices,
                            max_size=max_size, progress=progress)


def layer_apply(root: StrPath, layer: StrPath, diff_id: Optional[str] = None, max_size: int = 0,
                devices: bool = False) -> UnpackStats:
    """Apply the layer file @layer (gzip, zstd or tar) onto the existing folder
    @root, checking @diff_id when given: for callers that keep their own
    snapshots. Whiteouts remove what @root holds."""
    bridge = progress_bridge(None)
    opts = unpack_options(None, False, devices, max_size, bridge)
    st = _lib.unpack_stats(version=_lib.UNPACK_STATS_VERSION)
    fd = os.open(layer, os.O_RDONLY | os.O_CLOEXEC)
    try:
        rc = C.registry_layer_apply(ctypes.byref(st), cpath(root), fd, cstr(diff_id, "diff_id"),
                                    ctypes.byref(opts))
    finally:
        os.close(fd)
    check(rc)
    return UnpackStats.from_c(st)
