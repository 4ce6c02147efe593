"""``registry.ImageConfig``: an image's configuration (the config blob), as a dataclass."""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._lib import C, image_config_p
from ._util import as_bytes, take_string, text
from .errors import check

# enum registry_image_config_field / _list / _history_field (include/registry/config.h)
_ARCHITECTURE, _OS, _VARIANT, _OS_VERSION, _CREATED, _AUTHOR, _USER, _WORKING_DIR, \
    _STOP_SIGNAL, _ROOTFS_TYPE = range(1, 11)
_ENV, _ENTRYPOINT, _CMD, _EXPOSED_PORTS, _VOLUMES, _DIFF_IDS, _OS_FEATURES = range(101, 108)
_H_CREATED, _H_CREATED_BY, _H_AUTHOR, _H_COMMENT = range(201, 205)


@dataclass(frozen=True)
class ConfigHistory:
    """One entry of the config's ``history`` (oldest first)."""
    created: Optional[str] = None
    created_by: Optional[str] = None
    author: Optional[str] = None
    comment: Optional[str] = None
    empty_layer: bool = False  #: the step made no layer


@dataclass(frozen=True)
class ImageConfig:
    """An image configuration, with the image spec's fields under Python names.

    ``entrypoint`` and ``cmd`` are None when the image does not set them (which
    a runtime treats differently from an empty list). ``exposed_ports`` and
    ``volumes`` are the keys of the document's sets ("80/tcp", "/data").
    ``diff_ids`` are the digests of the uncompressed layers, base first.
    """
    architecture: str
    os: str
    variant: Optional[str] = None
    os_version: Optional[str] = None
    os_features: List[str] = field(default_factory=list)
    created: Optional[str] = None
    author: Optional[str] = None
    user: Optional[str] = None
    working_dir: Optional[str] = None
    stop_signal: Optional[str] = None
    env: List[str] = field(default_factory=list)
    entrypoint: Optional[List[str]] = None
    cmd: Optional[List[str]] = None
    exposed_ports: List[str] = field(default_factory=list)
    volumes: List[str] = field(default_factory=list)
    labels: Dict[str, str] = field(default_factory=dict)
    rootfs_type: Optional[str] = None
    diff_ids: List[str] = field(default_factory=list)
    history: List[ConfigHistory] = field(default_factory=list)
    json: str = field(default="", repr=False, compare=False)  #: the skopeo-shaped JSON

    @classmethod
    def parse(cls, data: Any) -> "ImageConfig":
        """Parse a config document (bytes); FormatError names a bad field."""
        raw = as_bytes(data)
        ptr = image_config_p()
        check(C.registry_image_config_parse(ctypes.byref(ptr), raw, len(raw), None))
        return cls._take(ptr)

    @classmethod
    def _take(cls, ptr: Any) -> "ImageConfig":
        """Copy everything out of a C registry_image_config, then free it."""
        try:
            return cls._read(ptr)
        finally:
            C.registry_image_config_free(ptr)

    @classmethod
    def _read(cls, p: Any) -> "ImageConfig":
        def s(f: int) -> Optional[str]:
            return text(C.registry_image_config_string(p, f))

        def items(lst: int) -> List[str]:
            n = C.registry_image_config_list_count(p, lst)
            return [text(C.registry_image_config_list_item(p, lst, i)) or "" for i in range(n)]

        def optional(lst: int) -> Optional[List[str]]:
            return items(lst) if C.registry_image_config_list_present(p, lst) else None

        labels = {text(C.registry_image_config_label_key(p, i)) or "":
                  text(C.registry_image_config_label_value(p, i)) or ""
                  for i in range(C.registry_image_config_label_count(p))}
        history = [ConfigHistory(*(text(C.registry_image_config_history(p, i, f))
                                   for f in (_H_CREATED, _H_CREATED_BY, _H_AUTHOR, _H_COMMENT)),
                                 empty_layer=bool(C.registry_image_config_history_empty_layer(p, i)))
                   for i in range(C.registry_image_config_history_count(p))]
        out = ctypes.c_void_p()
        check(C.registry_image_config_to_json(ctypes.byref(out), p))
        return cls(architecture=s(_ARCHITECTURE) or "", os=s(_OS) or "", variant=s(_VARIANT),
                   os_version=s(_OS_VERSION), os_features=items(_OS_FEATURES), created=s(_CREATED),
                   author=s(_AUTHOR), user=s(_USER), working_dir=s(_WORKING_DIR),
                   stop_signal=s(_STOP_SIGNAL), env=items(_ENV), entrypoint=optional(_ENTRYPOINT),
                   cmd=optional(_CMD), exposed_ports=items(_EXPOSED_PORTS), volumes=items(_VOLUMES),
                   labels=labels, rootfs_type=s(_ROOTFS_TYPE), diff_ids=items(_DIFF_IDS),
                   history=history, json=take_string(out) or "")

    def to_dict(self) -> Dict[str, Any]:
        """The OCI-shaped document (what ``skopeo inspect --config`` prints)."""
        return json.loads(self.json)
