"""Ctrl-C during a long C call: cancel it, then raise KeyboardInterrupt.

CPython runs a Python signal handler only when the main thread executes
bytecode. During a pull the main thread sits in C, so a plain Ctrl-C waits
for the pull to end; and when the handler does run, it runs at the entry of
whatever Python callback C is calling (a progress callback), where the
KeyboardInterrupt escapes the ctypes trampoline and is printed and lost.

So while a client call runs on the main thread with Python's default SIGINT
handler in place, ``guard`` swaps in a handler that only sets a flag, and
gives the client a cancellation hook (which the library calls on the
caller's thread at least about once a second, and every 100 ms while it
waits). That Python hook is where the pending signal gets handled; it then
sees the flag and cancels, the C call returns REGISTRY_ECANCELED, and
``guard`` restores the handler and raises KeyboardInterrupt in place of the
cancel error. On other threads, or when the program installed its own SIGINT
handler, nothing changes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator, Optional

from . import _lib
from ._lib import C


class _Interrupt:
    """One outermost guarded call: the flag and the C hook that reads it."""

    def __init__(self) -> None:
        self.hit = False
        self.cfunc = _lib.CANCEL_CB(self._cancel)

    def _cancel(self, _userdata: Any) -> int:
        # Nothing here may raise: an exception would be lost inside ctypes.
        return 1 if self.hit else 0

    def on_sigint(self, _signum: int, _frame: Any) -> None:
        self.hit = True


_active = threading.local()


def _no_hook() -> Any:
    return _lib.CANCEL_CB()


@contextlib.contextmanager
def guard(client_ptr: Any) -> Iterator[None]:
    """Make Ctrl-C cancel the C calls made on @client_ptr inside the block."""
    current: Optional[_Interrupt] = getattr(_active, "state", None)
    if current is None and (threading.current_thread() is not threading.main_thread()
                            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    outermost = current is None
    state = current or _Interrupt()
    if outermost:
        previous = signal.signal(signal.SIGINT, state.on_sigint)
        _active.state = state
    C.registry_client_set_cancel(client_ptr, state.cfunc, None)
    try:
        yield
    finally:
        C.registry_client_set_cancel(client_ptr, _no_hook(), None)
        if outermost:
            _active.state = None
            signal.signal(signal.SIGINT, previous)
            if state.hit:
                # Replaces the CanceledError the interrupted call raised.
                raise KeyboardInterrupt
