"""Helpers shared by the modules: strings in and out, handle ownership, callbacks."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from typing import Any, Callable, Iterator, Optional, Union

from ._lib import C
from .errors import InvalidArgumentError

StrPath = Union[str, "os.PathLike[str]"]


def cstr(value: Optional[Union[str, bytes]], what: str = "argument") -> Optional[bytes]:
    """A Python string as the NUL-terminated UTF-8 bytes C expects (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, bytes):
        data = value
    else:
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if b"\0" in data:
        raise InvalidArgumentError("%s contains a NUL character" % what)
    return data


def cpath(value: Optional[StrPath], what: str = "path") -> Optional[bytes]:
    """A file system path as bytes for C (None stays None)."""
    if value is None:
        return None
    data = os.fsencode(value)
    if b"\0" in data:
        raise InvalidArgumentError("%s contains a NUL character" % what)
    return data


def text(value: Optional[bytes]) -> Optional[str]:
    """Bytes from C as str (None stays None)."""
    return None if value is None else value.decode("utf-8", "replace")


def take_string(ptr: ctypes.c_void_p) -> Optional[str]:
    """Read a string the library handed over, and free it with registry_free()."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        C.registry_free(ptr)


def as_bytes(data: Any, what: str = "data") -> bytes:
    """Any bytes-like object as bytes (copied when it is not bytes already)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        raise TypeError("%s must be bytes-like, not str (encode it first)" % what)
    return bytes(memoryview(data))


class Handle:
    """Owns one C handle: freed once by close(), usable by one thread at a time.

    libregistry handles are not thread-safe. Each call goes through use(),
    which holds a lock for the duration of the C call, so that two threads
    sharing one Python object are serialized instead of corrupting it (use
    separate objects to run in parallel). A callback that calls back into
    the handle it runs under gets a RuntimeError instead of a deadlock.
    """

    _kind = "handle"

    def __init__(self, ptr: Any, free: Callable[[Any], None]) -> None:
        self._lock = threading.Lock()
        self._owner: Optional[int] = None
        self._free = free  # kept here: module globals may be gone when __del__ runs
        self._ptr = ptr

    @contextlib.contextmanager
    def use(self) -> Iterator[Any]:
        me = threading.get_ident()
        if self._owner == me:
            raise RuntimeError("this %s is busy in a call on this thread (used from its own "
                               "callback?)" % self._kind)
        with self._lock:
            if self._ptr is None:
                raise ValueError("this %s is closed" % self._kind)
            self._owner = me
            try:
                yield self._ptr
            finally:
                self._owner = None

    @property
    def closed(self) -> bool:
        return getattr(self, "_ptr", None) is None

    def __repr__(self) -> str:
        return "<registry.%s%s>" % (type(self).__name__, " closed" if self.closed else "")

    def close(self) -> None:
        """Free the C handle. Idempotent; waits for a call running in another thread."""
        if getattr(self, "_ptr", None) is None:
            return
        if self._owner == threading.get_ident():
            raise RuntimeError("cannot close this %s from inside its own call" % self._kind)
        with self._lock:
            self._release()

    def _release(self) -> None:
        """Free the C object (the lock is held or nobody else can reach self)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._free(ptr)

    def __del__(self) -> None:
        # Nothing else can reach self now, so no lock; never raise from here.
        try:
            if getattr(self, "_ptr", None) is not None:
                self._release()
        except Exception:
            pass


@contextlib.contextmanager
def use_all(*handles: Handle) -> Iterator[list]:
    """Hold several handles at once (in a fixed order, so two threads cannot deadlock)."""
    unique = {id(h): h for h in handles}
    order = sorted(unique.values(), key=id)
    with contextlib.ExitStack() as stack:
        ptrs = {id(h): stack.enter_context(h.use()) for h in order}
        yield [ptrs[id(h)] for h in handles]
