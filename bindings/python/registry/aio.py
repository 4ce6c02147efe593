"""Coroutines on asyncio: ``registry.aio.Client``, no threads.

``registry.aio.Client`` takes the same arguments as ``registry.Client`` and
adds coroutines whose transfers run on the running asyncio loop through
libregistry's event-loop driver (registry/loop.h, docs/event-loop.md): the
library's sockets are watched with ``loop.add_reader`` / ``add_writer``,
its timer is a ``loop.call_later``, and every callback runs on the loop's
thread. Many pulls and pushes may run at once on one client; they share its
connections. Cancelling the awaiting task cancels the operation (partial
blobs stay for a resume)::

    async with registry.aio.Client("localhost:5000") as c:
        digests = await asyncio.gather(*(c.pull(r, "out/%d" % i) for i, r in enumerate(refs)))
        await c.push("out/0", "localhost:5000/copy:latest")

The blocking methods of ``registry.Client`` stay available; do not call
them from a coroutine (they block the loop).
"""
from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
from typing import Any, AsyncIterator, Dict, Optional, Union

from . import _lib
from ._lib import C
from ._util import StrPath, cpath, cstr, take_string
from .client import Client as _SyncClient
from .client import _COPY_ALL_PLATFORMS, _COPY_REFERRERS, _PULL_UNPACK_DEVICES
from .client import _PULL_FOREIGN_LAYERS, _PULL_REFERRERS
from .client import PlatformLike, RefLike, _image_name, _layout_source, _list_options
from .errors import InvalidArgumentError, UnsupportedError, check, last_error
from .manifest import platform_c
from .progress import ProgressCallback, progress_bridge
from .store import ImageFormat, Store, image_format
from .trust import PolicyLike, as_policy
from .unpack import UnpackStats, unpack_options

__all__ = ["Client"]

_PRESERVE_DIGESTS = 0x1  # REGISTRY_PULL_PRESERVE_DIGESTS
_ALL_PLATFORMS = 0x2     # REGISTRY_PULL_ALL_PLATFORMS


class _Driver:
    """One registry_loop per asyncio loop: its sockets and timer on that loop."""

    def __init__(self, aloop: asyncio.AbstractEventLoop) -> None:
        self.aloop = aloop
        self.watched: Dict[int, int] = {}
        self.timer: Optional[asyncio.TimerHandle] = None
        self.max_step_us = 0
        # Store creations, one per turn of the loop (Client._open_store).
        self.opening = asyncio.Lock()
        # Kept referenced: libregistry calls them until the loop is freed.
        self._socket_cb = _lib.LOOP_SOCKET_CB(self._on_socket)
        self._timer_cb = _lib.LOOP_TIMER_CB(self._on_timer)
        opts = _lib.loop_options(version=_lib.LOOP_OPTIONS_VERSION, flags=0,
                                 socket_cb=self._socket_cb, timer_cb=self._timer_cb)
        self.handle = _lib.loop_p()
        check(C.registry_loop_new(ctypes.byref(self.handle), ctypes.byref(opts)))

    def _on_socket(self, fd: int, events: int, _ud: Any) -> int:
        try:
            old = self.watched.pop(fd, 0)
            if old & _lib.LOOP_READ:
                self.aloop.remove_reader(fd)
            if old & _lib.LOOP_WRITE:
                self.aloop.remove_writer(fd)
            if events & _lib.LOOP_READ:
                self.aloop.add_reader(fd, self._ready, fd, _lib.LOOP_READ)
            if events & _lib.LOOP_WRITE:
                self.aloop.add_writer(fd, self._ready, fd, _lib.LOOP_WRITE)
            if events:
                self.watched[fd] = events
            return 0
        except Exception:  # a C callback must not raise
            return -1

    def _on_timer(self, ms: int, _ud: Any) -> int:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if ms >= 0:
            self.timer = self.aloop.call_later(ms / 1000.0, self._fire)
        return 0

    def _ready(self, fd: int, events: int) -> None:
        C.registry_loop_socket_action(self.handle, fd, events)

    def _fire(self) -> None:
        self.timer = None
        C.registry_loop_timeout(self.handle)

    def step_stats(self) -> tuple:
        steps, max_us = ctypes.c_uint64(), ctypes.c_int64()
        check(C.registry_loop_step_stats(ctypes.byref(steps), ctypes.byref(max_us), self.handle))
        return steps.value, max_us.value

    def close(self) -> None:
        if self.handle:
            C.registry_loop_free(self.handle)
            self.handle = _lib.loop_p()
        for fd, ev in self.watched.items():
            if ev & _lib.LOOP_READ:
                self.aloop.remove_reader(fd)
            if ev & _lib.LOOP_WRITE:
                self.aloop.remove_writer(fd)
        self.watched.clear()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Client(_SyncClient):
    """``registry.Client`` with coroutines on the running asyncio loop (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drivers: Dict[asyncio.AbstractEventLoop, _Driver] = {}

    def _driver(self) -> _Driver:
        aloop = asyncio.get_running_loop()
        d = self._drivers.get(aloop)
        if d is None:
            d = self._drivers[aloop] = _Driver(aloop)
        return d

    def loop_step_stats(self) -> tuple:
        """(steps, longest step in microseconds) of this client's driver on the running loop."""
        return self._driver().step_stats()

    async def pull(self, ref: RefLike, dest: Union[StrPath, Store], platform: PlatformLike = None,
                   preserve_digests: bool = False, progress: Optional[ProgressCallback] = None,
                   ref_name: Optional[str] = None, all_platforms: bool = False,
                   format: Union[str, ImageFormat] = ImageFormat.OCI, devices: bool = False,
                   policy: Optional[PolicyLike] = None, foreign_layers: bool = False,
                   referrers: bool = False) -> Optional[str]:
        """``Client.pull`` into a Store or a path, as a coroutine: the digest of the
        image manifest written. A path gets @format as in ``Client.pull``: "oci" (an
        OCI layout folder, created or added to), "docker" (a `docker load` folder),
        "docker-archive" (a tarball), "rootfs" or "rootfs-tar" (the unpacked root
        filesystem, its layers applied in ~2 ms steps of the loop; @devices as in
        ``Client.pull``; @foreign_layers as in ``Client.pull``: layers with "urls"
        fetched from there; @referrers as in ``Client.pull``: what refers to the
        image, recursively, into the same layout). With @policy (a Policy, a
        policy.json dict or a path), as ``Client.pull``: the image is verified on the
        loop first (a path is not touched before), then the digest verified is
        pulled. Raises what the blocking pull raises."""
        r = self.reference(ref)
        flags = (_PRESERVE_DIGESTS if preserve_digests else 0) | (_ALL_PLATFORMS if all_platforms else 0) | (
            _PULL_UNPACK_DEVICES if devices else 0) | (_PULL_FOREIGN_LAYERS if foreign_layers else 0) | (
            _PULL_REFERRERS if referrers else 0)
        fmt = image_format(format)
        if isinstance(dest, Store) or fmt == image_format(ImageFormat.OCI):
            own = not isinstance(dest, Store)
            store = await self._open_store(dest) if own else dest  # type: ignore[arg-type]
            try:
                return await self._pull(r, flags, platform, progress, lambda h, cref, opts, cb, op: (
                    C.registry_pull_start(op, h, self._ptr, cref, store._ptr, cstr(ref_name, "ref_name"),
                                          opts, cb, None)), policy)
            finally:
                if own:
                    store.close()
        if ref_name is not None:
            raise InvalidArgumentError("ref_name needs a Store destination")
        path = cpath(dest, "dest")  # type: ignore[arg-type]
        return await self._pull(r, flags, platform, progress, lambda h, cref, opts, cb, op: (
            C.registry_pull_to_start(op, h, self._ptr, cref, path, fmt, opts, cb, None)), policy)

    async def _open_store(self, dest: StrPath) -> Store:
        """Store(dest, create=True), one at a time with a turn of the loop after
        each: creating a layout fsyncs its files, which blocks, and eight pulls
        started at once each creating theirs in one turn stalled the loop for
        all eight (200-260 ms on a busy disk)."""
        async with self._driver().opening:
            store = Store(dest, create=True)
            try:
                await asyncio.sleep(0)
            except BaseException:
                store.close()
                raise
            return store

    async def _pull(self, r: Any, flags: int, platform: PlatformLike,
                    progress: Optional[ProgressCallback], start: Any,
                    policy: Optional[PolicyLike] = None) -> Optional[str]:
        with contextlib.ExitStack() as stack:
            pol = stack.enter_context(as_policy(policy).use()) if policy is not None else None
            return await self._pull_with(r, flags, platform, progress, start, pol)

    async def _pull_with(self, r: Any, flags: int, platform: PlatformLike,
                         progress: Optional[ProgressCallback], start: Any, pol: Any) -> Optional[str]:
        d = self._driver()
        fut: asyncio.Future = d.aloop.create_future()
        bridge = progress_bridge(progress)
        plat = platform_c(platform)
        opts = _lib.pull_options(version=_lib.PULL_OPTIONS_VERSION, flags=flags,
                                 platform=plat, progress=bridge.cfunc)
        if pol is not None:
            opts.policy = pol  # the Policy's handle, kept until the pull ends

        def done(op: Any, rc: int, _ud: Any) -> None:
            # The thread's error record is the operation's during this call.
            if fut.done():
                return
            if rc < 0:
                fut.set_exception(last_error(rc))
                return
            out = ctypes.c_void_p()
            C.registry_op_result_digest(ctypes.byref(out), op)
            fut.set_result(take_string(out))

        done_cb = _lib.OP_DONE_CB(done)
        op = _lib.op_p()
        with r._c() as cref:
            check(start(d.handle, cref, ctypes.byref(opts), done_cb, ctypes.byref(op)))
        try:
            digest = await fut
            bridge.reraise()
            return digest
        except asyncio.CancelledError:
            C.registry_op_cancel(op)
            raise
        finally:
            C.registry_op_free(op)
            del done_cb, plat, opts  # referenced by C until here

    async def push(self, source: Union[StrPath, Store], ref: RefLike, name: Optional[str] = None,
                   chunk_size: int = 0, progress: Optional[ProgressCallback] = None) -> str:
        """``Client.push`` from a Store (with @name) or an OCI layout "DIR[:NAME]", as a
        coroutine: the pushed manifest's digest. Raises what the blocking push raises.
        A ``docker save`` tarball ("FILE.tar") goes through registry_push_archive_start:
        read in ~2 ms steps of the loop into a temporary store under $TMPDIR, then
        pushed."""
        r = self.reference(ref)
        if isinstance(source, Store):
            return await self._push(source, name, r, chunk_size, progress)
        path = os.fsdecode(os.fspath(source))
        if path.endswith(".tar") and os.path.isfile(path):
            return await self._push_archive(path, r, chunk_size, progress)
        path, name = _layout_source(path, name)
        with Store(path) as store:
            return await self._push(store, name, r, chunk_size, progress)

    async def _push_archive(self, path: str, r: Any, chunk_size: int,
                            progress: Optional[ProgressCallback]) -> str:
        bridge = progress_bridge(progress)
        opts = _lib.push_archive_options(version=_lib.PUSH_ARCHIVE_OPTIONS_VERSION, chunk_size=chunk_size,
                                         progress=bridge.cfunc)
        with r._c() as cref:
            digest = await self._op(lambda h, cb, out: C.registry_push_archive_start(
                out, h, self._ptr, cpath(path), cref, ctypes.byref(opts), cb, None), True)
        bridge.reraise()
        del opts  # referenced by C until here
        return digest or ""

    async def _push(self, store: Store, name: Optional[str], r: Any, chunk_size: int,
                    progress: Optional[ProgressCallback]) -> str:
        cname = cstr(_image_name(store, name), "name")
        bridge = progress_bridge(progress)
        opts = _lib.push_options(version=_lib.PUSH_OPTIONS_VERSION, chunk_size=chunk_size,
                                 progress=bridge.cfunc)
        with r._c() as cref:
            digest = await self._op(lambda h, cb, out: C.registry_push_start(
                out, h, self._ptr, store._ptr, cname, cref, ctypes.byref(opts), cb, None), True)
        bridge.reraise()
        del opts  # referenced by C until here
        return digest or ""

    async def copy(self, source: RefLike, target: RefLike, to: Optional[_SyncClient] = None,
                   platform: PlatformLike = None, chunk_size: int = 0,
                   progress: Optional[ProgressCallback] = None, all_platforms: bool = False,
                   referrers: bool = False, policy: Optional[PolicyLike] = None) -> str:
        """``Client.copy`` as a coroutine (registry_copy_start): the same arguments and
        digest, the image going through a temporary store under $TMPDIR (see
        docs/event-loop.md); @progress sees the push to @to. Raises what the blocking
        copy raises; @referrers as in ``Client.copy``; with @policy, as ``Client.copy``,
        the source is verified on the loop before anything is fetched."""
        with contextlib.ExitStack() as stack:
            pol = stack.enter_context(as_policy(policy).use()) if policy is not None else None
            return await self._copy(source, target, to, platform, chunk_size, progress, all_platforms,
                                    referrers, pol)

    async def _copy(self, source: RefLike, target: RefLike, to: Optional[_SyncClient], platform: PlatformLike,
                    chunk_size: int, progress: Optional[ProgressCallback], all_platforms: bool,
                    referrers: bool, pol: Any) -> str:
        dest_client = to if to is not None else self
        src, dst = self.reference(source), dest_client.reference(target)
        bridge = progress_bridge(progress)
        plat = platform_c(platform)
        opts = _lib.copy_options(version=_lib.COPY_OPTIONS_VERSION,
                                 flags=(_COPY_ALL_PLATFORMS if all_platforms else 0) |
                                 (_COPY_REFERRERS if referrers else 0),
                                 platform=plat, chunk_size=chunk_size, progress=bridge.cfunc)
        if pol is not None:
            opts.policy = pol  # the Policy's handle, kept until the copy ends
        with src._c() as s_ref, dst._c() as d_ref:
            digest = await self._op(lambda h, cb, out: C.registry_copy_start(
                out, h, self._ptr, s_ref, dest_client._ptr, d_ref, ctypes.byref(opts), cb, None), True)
        bridge.reraise()
        del opts, plat  # referenced by C until here
        return digest or ""

    async def upload_blob(self, repository: RefLike, data: Any = None, *, path: Optional[StrPath] = None,
                          digest: Optional[str] = None, chunk_size: int = 0,
                          progress: Optional[ProgressCallback] = None) -> str:
        """``Client.upload_blob`` of a file (``path=``) as a coroutine; returns the digest.
        Loop mode needs ``digest=`` (hashing the file first would stall the loop) and a
        file: ``data=`` or a missing digest raise UnsupportedError."""
        if data is not None or path is None or digest is None:
            raise UnsupportedError("upload_blob in loop mode takes path= and digest= "
                                   "(use registry.Client.upload_blob for data= or to hash the file)")
        repo = cstr(self._repository(repository))
        bridge = progress_bridge(progress)
        opts = _lib.blob_upload_options(version=_lib.BLOB_UPLOAD_OPTIONS_VERSION,
                                        chunk_size=chunk_size, progress=bridge.cfunc)
        cdigest, cfile = cstr(digest, "digest"), cpath(path)
        await self._op(lambda h, cb, out: C.registry_blob_upload_file_start(
            out, h, self._ptr, repo, cdigest, cfile, ctypes.byref(opts), cb, None))
        bridge.reraise()
        del opts  # referenced by C until here
        return digest

    async def unpack(self, store: Union[StrPath, Store], ref_name: str, dest: StrPath, bundle: bool = False,
                     tar: bool = False, platform: Any = None, devices: bool = False, max_size: int = 0,
                     progress: Optional[ProgressCallback] = None) -> UnpackStats:
        """``Store.unpack`` as a coroutine (registry_store_unpack_start): the image
        @ref_name of @store (a Store, or an OCI layout folder) into the folder @dest,
        or with @bundle an OCI runtime bundle (@dest/rootfs and @dest/config.json),
        its layers applied in ~2 ms steps of the loop; the same arguments, tree,
        counts and errors as the blocking unpack. @tar is not in loop mode
        (UnsupportedError: use ``Client.pull(..., format="rootfs-tar")``)."""
        if tar:
            raise UnsupportedError("unpack to a tar is not in loop mode (use Store.unpack, or "
                                   "pull(..., format=\"rootfs-tar\"))")
        bridge = progress_bridge(progress)
        opts = unpack_options(platform, bundle, devices, max_size, bridge)
        st = _lib.unpack_stats(version=_lib.UNPACK_STATS_VERSION)
        name, path = cstr(ref_name, "ref_name"), cpath(dest, "dest")
        own = not isinstance(store, Store)
        s = Store(store) if own else store  # type: ignore[arg-type]
        try:
            await self._op(lambda h, cb, out: C.registry_store_unpack_start(
                out, ctypes.byref(st), h, s._ptr, name, path, ctypes.byref(opts), cb, None))
        finally:
            if own:
                s.close()
        bridge.reraise()
        del opts  # referenced by C until here
        return UnpackStats.from_c(st)

    async def _op(self, start: Any, want_digest: bool = False) -> Optional[str]:
        """Run one operation started by @start(done_cb, op_out) to its end; with
        @want_digest, its result digest (registry_op_result_digest)."""
        d = self._driver()
        fut: asyncio.Future = d.aloop.create_future()

        def done(op: Any, rc: int, _ud: Any) -> None:
            # The thread's error record is the operation's during this call.
            if fut.done():
                return
            if rc < 0:
                fut.set_exception(last_error(rc))
            elif want_digest:
                out = ctypes.c_void_p()
                C.registry_op_result_digest(ctypes.byref(out), op)
                fut.set_result(take_string(out))
            else:
                fut.set_result(None)

        done_cb = _lib.OP_DONE_CB(done)
        op = _lib.op_p()
        check(start(d.handle, done_cb, ctypes.byref(op)))
        try:
            return await fut
        except asyncio.CancelledError:
            C.registry_op_cancel(op)
            raise
        finally:
            C.registry_op_free(op)
            del done_cb

    async def tags(self, repository: RefLike, page_size: int = 0,
                   last: Optional[str] = None) -> AsyncIterator[str]:
        """``Client.tags`` as an asynchronous iterator: ``async for tag in c.tags(repo)``;
        each page is fetched on the loop when the names of the last one are used up."""
        repo = cstr(self._repository(repository))
        lst = _lib.list_p()
        check(C.registry_list_tags_open(ctypes.byref(lst), self._ptr, repo,
                                        ctypes.byref(_list_options(page_size, last))))
        try:
            while True:
                if not C.registry_list_buffered(lst):
                    if C.registry_list_at_end(lst):
                        return
                    await self._op(lambda h, cb, out: C.registry_list_fetch_start(out, h, lst, cb, None))
                    continue
                name = ctypes.c_char_p()
                check(C.registry_list_next(ctypes.byref(name), lst))
                if name.value is None:
                    return
                yield name.value.decode()
        finally:
            C.registry_list_free(lst)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for d in getattr(self, "_drivers", {}).values():
            d.close()
        if hasattr(self, "_drivers"):
            self._drivers.clear()
        super().close()

