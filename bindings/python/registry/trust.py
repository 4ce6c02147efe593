"""Signature policies (containers-policy.json(5)) and their verdicts: ``registry.Policy``
and the ``VerifyResult`` of ``Client.verify``. See docs/signatures.md."""

from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass, field
from typing import Any, List, Optional, Union

from . import _lib
from ._lib import C, policy_p, verify_result_p
from ._util import Handle, as_bytes, cpath, text
from .errors import check

#: The system policy of containers tools.
SYSTEM_POLICY = "/etc/containers/policy.json"


class Policy(Handle):
    """A parsed policy: from a file (``Policy.load(path)``), JSON text or bytes
    (``Policy.parse``), or a dict (``Policy.from_dict``). Parsing is strict: an
    unknown field or a missing required one raises FormatError."""

    _kind = "policy"

    def __init__(self, ptr: Any) -> None:
        super().__init__(ptr, C.registry_policy_free)

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"] = SYSTEM_POLICY) -> "Policy":
        out = policy_p()
        check(C.registry_policy_load(ctypes.byref(out), cpath(path, "path"), None))
        return cls(out)

    @classmethod
    def parse(cls, data: Union[str, bytes]) -> "Policy":
        raw = data.encode() if isinstance(data, str) else as_bytes(data)
        out = policy_p()
        check(C.registry_policy_load_from_memory(ctypes.byref(out), raw, len(raw), None))
        return cls(out)

    @classmethod
    def from_dict(cls, doc: dict) -> "Policy":
        return cls.parse(json.dumps(doc))


PolicyLike = Union[Policy, dict, str, "os.PathLike[str]"]


def as_policy(policy: PolicyLike) -> Policy:
    """A Policy from a Policy, a dict (the JSON document) or a path to a file."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, dict):
        return Policy.from_dict(policy)
    return Policy.load(policy)


@dataclass(frozen=True)
class SignatureCheck:
    """One signature examined: its kind ("sigstore", "simple-signing"), where it
    was found, whether it satisfied its requirement, and why."""
    kind: str
    source: str
    accepted: bool
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    """The verdict of a policy on an image. ``bool(result)`` is ``accepted``."""
    accepted: bool
    reason: str
    digest: Optional[str]  #: the manifest digest verified: pull by it
    scope: str  #: the policy scope that applied ("default" for the global one)
    signatures: List[SignatureCheck] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.accepted

    @classmethod
    def _take(cls, ptr: Any) -> "VerifyResult":
        try:
            sigs = [SignatureCheck(kind=text(C.registry_verify_result_signature_kind(ptr, i)) or "",
                                   source=text(C.registry_verify_result_signature_source(ptr, i)) or "",
                                   accepted=bool(C.registry_verify_result_signature_accepted(ptr, i)),
                                   reason=text(C.registry_verify_result_signature_reason(ptr, i)) or "")
                    for i in range(C.registry_verify_result_signature_count(ptr))]
            return cls(accepted=bool(C.registry_verify_result_accepted(ptr)),
                       reason=text(C.registry_verify_result_reason(ptr)) or "",
                       digest=text(C.registry_verify_result_digest(ptr)),
                       scope=text(C.registry_verify_result_scope(ptr)) or "",
                       signatures=sigs)
        finally:
            C.registry_verify_result_free(ptr)


def verify_options(registries_d: Optional[Union[str, "os.PathLike[str]"]]) -> _lib.verify_options:
    return _lib.verify_options(_lib.VERIFY_OPTIONS_VERSION, 0, cpath(registries_d, "registries_d"))


def new_result() -> Any:
    return verify_result_p()
