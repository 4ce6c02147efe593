"""Progress reports and the bridge that lets Python callables run as C callbacks.

A progress callback is any callable taking one :class:`Progress`. Its return
value is ignored. To stop the operation, raise an exception: the bridge
catches it (it must never unwind through C frames), returns non-zero so that
libregistry cancels, and re-raises the same exception object in the calling
thread once the C call has returned. The ctypes callback object is owned by
the bridge, which the calling frame keeps alive until the C call is over.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import _lib
from ._lib import C


class ProgressState(enum.IntEnum):
    """State of one blob in a report (enum registry_progress_state)."""
    STARTED = 1  #: transfer began (or resumed)
    RUNNING = 2  #: bytes moved (at most ~10 reports per second per blob)
    DONE = 3     #: verified and committed
    SKIPPED = 4  #: already present: nothing to move
    FAILED = 5   #: this blob failed (others may go on)


@dataclass(frozen=True)
class Progress:
    """A snapshot of one progress report (copied: safe to keep)."""
    digest: str
    state: ProgressState
    bytes_done: int
    bytes_total: Optional[int]  #: None when unknown
    overall_done: int
    overall_total: Optional[int]  #: None when unknown
    blobs_done: int
    blobs_total: int

    @classmethod
    def _from_c(cls, p: Any) -> "Progress":
        raw_state = C.registry_progress_state(p)
        try:
            state = ProgressState(raw_state)
        except ValueError:
            state = raw_state  # a state added by a newer library
        total = C.registry_progress_bytes_total(p)
        overall = C.registry_progress_overall_total(p)
        return cls(digest=(C.registry_progress_digest(p) or b"").decode("ascii", "replace"),
                   state=state,
                   bytes_done=C.registry_progress_bytes_done(p),
                   bytes_total=None if total < 0 else total,
                   overall_done=C.registry_progress_overall_done(p),
                   overall_total=None if overall < 0 else overall,
                   blobs_done=C.registry_progress_blobs_done(p),
                   blobs_total=C.registry_progress_blobs_total(p))


ProgressCallback = Callable[[Progress], Any]


class CallbackBridge:
    """Runs a Python callable as a C callback; an exception inside cancels and is kept.

    ``cfunc`` is the ctypes function pointer to hand to C (a NULL pointer when
    there is no callable). Keep the bridge referenced until the C call that
    uses it has returned, then call ``reraise()``.
    """

    def __init__(self, fn: Optional[Callable[..., Any]], cftype: Any,
                 convert: Callable[..., tuple]) -> None:
        if fn is not None and not callable(fn):
            raise TypeError("callback must be callable, not %s" % type(fn).__name__)
        self._fn = fn
        self._convert = convert
        self._exc: Optional[BaseException] = None
        self.cfunc = cftype(self._trampoline) if fn is not None else cftype()

    def _trampoline(self, *args: Any) -> int:
        if self._exc is not None:
            return 1  # already canceling
        try:
            self._fn(*self._convert(*args))  # type: ignore[misc]
        except BaseException as e:  # never let it unwind through C
            self._exc = e
            return 1
        return 0

    @property
    def failed(self) -> bool:
        return self._exc is not None

    def reraise(self) -> None:
        """Raise the exception the callable raised, if any (whatever C returned)."""
        exc, self._exc = self._exc, None
        if exc is not None:
            raise exc


def progress_bridge(fn: Optional[ProgressCallback]) -> CallbackBridge:
    return CallbackBridge(fn, _lib.PROGRESS_CB, lambda p, ud: (Progress._from_c(p),))
