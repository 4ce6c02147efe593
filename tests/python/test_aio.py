"""registry.aio: pulls as coroutines on one asyncio loop, no threads (docs/event-loop.md)."""
import asyncio
import hashlib
import json
import os
import tarfile
import time

import pytest

import registry
import registry.aio
from registry import Store

from conftest import fixture_layout
from test_client import fixture_digest, reg  # noqa: F401  (the module's registry)


def threads():
    return len(os.listdir("/proc/self/task"))


def ticking(gaps, work):
    """Run coroutine @work() on a new asyncio loop beside a coroutine that ticks every
    10 ms (its gaps appended to @gaps); returns (work's result, threads before, during)."""
    async def main():
        stop = False

        async def ticker():
            last = time.monotonic()
            while not stop:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        t = asyncio.ensure_future(ticker())
        before = threads()
        result = await work()
        during = threads()
        stop = True
        await t
        return result, before, during

    return asyncio.run(main())


def test_concurrent_pulls_keep_the_loop_ticking(reg, tmp_path):  # noqa: F811
    """8 concurrent pulls complete with the blocking pull's digests while another
    coroutine ticks every 10 ms; no thread is started."""
    with registry.Client(reg.host, retries=0) as sync:
        want = sync.pull("fixtures/small-v2s2", Store(tmp_path / "sync", create=True))
    gaps = []

    async def work():
        async with registry.aio.Client(reg.host, retries=0) as c:
            pulls = [c.pull("fixtures/small-v2s2", tmp_path / ("aio%d" % i)) for i in range(8)]
            pulls.append(c.pull("fixtures/big-oci", tmp_path / "big"))
            return await asyncio.gather(*pulls), c.loop_step_stats()

    (results, (steps, max_us)), before, during = ticking(gaps, work)
    assert results[:8] == [want] * 8
    assert results[8] == fixture_digest(reg, "BIG_OCI")
    for i in range(8):
        with Store(tmp_path / ("aio%d" % i)) as s:
            assert s.verify() == []
            assert s.find("latest").digest == want
    assert during == before
    largest = max(gaps)
    print("aio: largest ticker gap %.1f ms over %d ticks; %d loop steps, longest %.1f ms"
          % (largest * 1000, len(gaps), steps, max_us / 1000))
    # Generous: a shared 2-core machine; a blocking pull would stall it for the whole pull.
    assert largest < 1.0


def test_errors_match_the_blocking_pull(reg, tmp_path):  # noqa: F811
    with registry.Client(reg.host, retries=0) as sync:
        with pytest.raises(registry.NotFoundError) as blocking:
            sync.pull("fixtures/small-v2s2:no-such-tag", tmp_path / "sync")

    async def main():
        async with registry.aio.Client(reg.host, retries=0) as c:
            await c.pull("fixtures/small-v2s2:no-such-tag", tmp_path / "aio")

    with pytest.raises(registry.NotFoundError) as looped:
        asyncio.run(main())
    assert str(looped.value) == str(blocking.value)
    assert looped.value.code == blocking.value.code


def test_cancel_mid_transfer(reg, tmp_path):  # noqa: F811
    """Cancelling the task stops the pull: no index entry, the store sound; a
    second pull resumes and completes."""
    async def main():
        async with registry.aio.Client(reg.host, retries=0) as c:
            started = asyncio.Event()

            def progress(p):
                if p.bytes_done > 0:
                    started.set()

            task = asyncio.ensure_future(c.pull("fixtures/big-oci", tmp_path / "big", progress=progress))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with Store(tmp_path / "big") as s:
                assert s.verify() == []
                assert s.find("latest") is None
            return await c.pull("fixtures/big-oci", tmp_path / "big")

    assert asyncio.run(main()) == fixture_digest(reg, "BIG_OCI")


def test_tags_async_for(reg):  # noqa: F811
    """``async for`` over the tags, a page of 2 at a time: the blocking list's names."""
    with registry.Client(reg.host, retries=0) as sync:
        m = sync.inspect("fixtures/small-oci")
        for t in ("a1", "a2", "a3", "a4", "a5"):
            sync.push_manifest("fixtures/small-oci:" + t, m)
        want = list(sync.tags("fixtures/small-oci", page_size=2))
    assert len(want) == 6  # latest and a1..a5

    async def main():
        async with registry.aio.Client(reg.host, retries=0) as c:
            return [t async for t in c.tags("fixtures/small-oci", page_size=2)]

    assert asyncio.run(main()) == want


def test_concurrent_pushes(reg, tmp_path):  # noqa: F811
    """8 concurrent ``await client.push(...)`` of an OCI layout (and an index) beside a
    ticking coroutine, no thread started: the blocking push's digests, pulled back."""
    small, multi = fixture_layout(reg, "small"), fixture_layout(reg, "multi")
    with registry.Client(reg.host, retries=0) as sync:
        want = sync.push(small, "aio/blocking:latest")
        want_multi = sync.push(multi, "aio/blocking-multi:latest")
    gaps = []

    async def work():
        async with registry.aio.Client(reg.host, retries=0) as c:
            pushes = [c.push(small, "aio/push%d:latest" % i, chunk_size=(i % 2) * 32768)
                      for i in range(8)]
            pushes.append(c.push(multi, "aio/multi:latest"))
            return await asyncio.gather(*pushes)

    results, before, during = ticking(gaps, work)
    assert results == [want] * 8 + [want_multi]
    assert during == before
    with registry.Client(reg.host, retries=0) as sync:
        assert sync.pull("aio/push3", Store(tmp_path / "back", create=True)) == want
        assert sync.resolve("aio/multi:latest") == want_multi
    print("aio push: largest ticker gap %.1f ms over %d ticks" % (max(gaps) * 1000, len(gaps)))
    assert max(gaps) < 1.0


def test_push_errors_match_the_blocking_push(reg, tmp_path):  # noqa: F811
    small = fixture_layout(reg, "small")
    with registry.Client(reg.host, retries=0) as sync:
        with pytest.raises(registry.NotFoundError) as blocking:
            sync.push(small + ":no-such-name", "aio/errors:latest")

    async def main(source):
        async with registry.aio.Client(reg.host, retries=0) as c:
            await c.push(source, "aio/errors:latest")

    with pytest.raises(registry.NotFoundError) as looped:
        asyncio.run(main(small + ":no-such-name"))
    assert str(looped.value) == str(blocking.value)
    tarball = tmp_path / "image.tar"
    tarball.write_bytes(b"\0" * 1024)  # an empty tar: no manifest.json
    with registry.Client(reg.host, retries=0) as sync:
        with pytest.raises(registry.RegistryError) as blocking_tar:
            sync.push(str(tarball), "aio/errors:latest")
    with pytest.raises(type(blocking_tar.value)) as looped_tar:
        asyncio.run(main(str(tarball)))
    assert str(looped_tar.value) == str(blocking_tar.value)


def docker_save_archive(path):
    """A small `docker save` tarball: manifest.json, a config and one layer tar."""
    import io
    import json
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        data = os.urandom(200000)
        info = tarfile.TarInfo("etc/data.bin")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(
                             layer.getvalue()).hexdigest()]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["aio/archive:v1"],
                            "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, mode="w") as t:
        for name, data in (("config.json", config), ("layer/layer.tar", layer.getvalue()),
                           ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_push_docker_save_archive(reg, tmp_path):  # noqa: F811
    """``await client.push("FILE.tar", ...)`` (registry_push_archive_start): the blocking
    push's digest, the image there; its temporary store under $TMPDIR removed."""
    tarball = tmp_path / "saved.tar"
    docker_save_archive(tarball)
    with registry.Client(reg.host, retries=0) as sync:
        want = sync.push(str(tarball), "aio/archive-sync:v1")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    saved_tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)

    async def main():
        async with registry.aio.Client(reg.host, retries=0) as c:
            return await c.push(str(tarball), "aio/archive:v1")

    try:
        assert asyncio.run(main()) == want
    finally:
        if saved_tmpdir is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved_tmpdir
    assert os.listdir(tmp) == []
    with registry.Client(reg.host, retries=0) as sync:
        assert sync.resolve("aio/archive:v1") == want


def test_upload_blob_from_a_file(reg, tmp_path):  # noqa: F811
    """``await client.upload_blob(repo, path=..., digest=...)``: stored with its digest,
    in chunks; data= (or no digest) is refused in loop mode."""
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(300000))
    with registry.Client(reg.host, retries=0) as sync:
        want = sync.upload_blob("aio/blobs-sync", path=blob)  # hashes the file

    async def main(**kw):
        async with registry.aio.Client(reg.host, retries=0) as c:
            return await c.upload_blob("aio/blobs", **kw)

    assert asyncio.run(main(path=blob, digest=want, chunk_size=65536)) == want
    with registry.Client(reg.host, retries=0) as sync, Store(tmp_path / "back", create=True) as s:
        sync.fetch_blob("aio/blobs", want, s)
        assert s.read_blob(want) == blob.read_bytes()
    with pytest.raises(registry.UnsupportedError):
        asyncio.run(main(data=b"x"))
    with pytest.raises(registry.UnsupportedError):
        asyncio.run(main(path=blob))


def tar_members(path):
    """A root filesystem tar's members and file bytes; a directory's mtime only when a
    layer gave it (the root and parents made on the way have the unpack's time)."""
    with tarfile.open(path) as t:
        return [(m.name, m.type, m.mode, m.uid, m.gid, m.size, m.linkname,
                 None if m.isdir() else m.mtime,
                 t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]


def test_all_platforms_and_docker_formats_match_the_blocking_pull(reg, tmp_path):  # noqa: F811
    """``all_platforms`` and ``format`` as ``Client.pull`` takes them: the same
    digests and the same files, also for a root filesystem (unpacked on the loop)."""
    with registry.Client(reg.host, retries=0) as sync:
        want_all = sync.pull("fixtures/multi-oci", tmp_path / "sync-all", all_platforms=True)
        want_dir = sync.pull("fixtures/small-v2s2", tmp_path / "sync-dir", format="docker")
        want_tar = sync.pull("fixtures/small-v2s2", tmp_path / "sync.tar", format="docker-archive")
        want_root = sync.pull("fixtures/small-v2s2", tmp_path / "sync-rootfs", format="rootfs")
        sync.pull("fixtures/small-v2s2", tmp_path / "sync-rootfs.tar", format="rootfs-tar")

    async def main():
        async with registry.aio.Client(reg.host, retries=0) as c:
            got = await asyncio.gather(
                c.pull("fixtures/multi-oci", tmp_path / "aio-all", all_platforms=True),
                c.pull("fixtures/small-v2s2", tmp_path / "aio-dir", format="docker"),
                c.pull("fixtures/small-v2s2", tmp_path / "aio.tar", format="docker-archive"),
                c.pull("fixtures/small-v2s2", tmp_path / "aio-rootfs", format="rootfs"),
                c.pull("fixtures/small-v2s2", tmp_path / "aio-rootfs.tar", format="rootfs-tar"))
            with pytest.raises(registry.InvalidArgumentError):
                await c.pull("fixtures/small-v2s2", tmp_path / "x", format="docker", ref_name="x")
            return got

    assert asyncio.run(main()) == [want_all, want_dir, want_tar, want_root, want_root]
    with Store(tmp_path / "aio-all") as s:
        assert s.find("latest").digest == want_all
    for root, _dirs, files in os.walk(tmp_path / "sync-dir"):
        rel = os.path.relpath(root, tmp_path / "sync-dir")
        for f in files:
            with open(os.path.join(root, f), "rb") as a, open(tmp_path / "aio-dir" / rel / f, "rb") as b:
                assert a.read() == b.read(), os.path.join(rel, f)
    assert sorted(os.listdir(tmp_path / "aio-dir")) == sorted(os.listdir(tmp_path / "sync-dir"))
    assert (tmp_path / "aio.tar").read_bytes() == (tmp_path / "sync.tar").read_bytes()
    assert tar_members(tmp_path / "aio-rootfs.tar") == tar_members(tmp_path / "sync-rootfs.tar")
    for root, dirs, files in os.walk(tmp_path / "sync-rootfs"):
        rel = os.path.relpath(root, tmp_path / "sync-rootfs")
        assert sorted(os.listdir(tmp_path / "aio-rootfs" / rel)) == sorted(dirs + files), rel
        for f in files:
            a, b = os.lstat(os.path.join(root, f)), os.lstat(tmp_path / "aio-rootfs" / rel / f)
            assert (a.st_mode, a.st_size, a.st_mtime_ns) == (b.st_mode, b.st_size, b.st_mtime_ns), f
            with open(os.path.join(root, f), "rb") as fa, open(tmp_path / "aio-rootfs" / rel / f, "rb") as fb:
                assert fa.read() == fb.read(), os.path.join(rel, f)


def test_copy_matches_the_blocking_copy(reg, tmp_path, monkeypatch):  # noqa: F811
    """``await client.copy(...)`` with ``registry.Client.copy``'s arguments: the blocking
    copy's digest (an image, 4 at once, and an index with all_platforms), its error,
    no thread started, no temporary store left; referrers/policy refused."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with registry.Client(reg.host, retries=0) as sync:
        want = sync.copy("fixtures/small-v2s2:latest", "aio/copy-blocking:latest")
        want_all = sync.copy("fixtures/multi-oci:latest", "aio/copy-blocking-multi:latest", all_platforms=True)
        with pytest.raises(registry.NotFoundError) as blocking:
            sync.copy("fixtures/small-v2s2:no-such-tag", "aio/copy-errors:latest")
    gaps = []

    async def work():
        async with registry.aio.Client(reg.host, retries=0) as c:
            copies = [c.copy("fixtures/small-v2s2:latest", "aio/copy%d:latest" % i, chunk_size=(i % 2) * 32768)
                      for i in range(4)]
            copies.append(c.copy("fixtures/multi-oci:latest", "aio/copy-multi:latest", all_platforms=True))
            return await asyncio.gather(*copies)

    results, before, during = ticking(gaps, work)
    assert results == [want] * 4 + [want_all]
    assert during == before
    with registry.Client(reg.host, retries=0) as sync:
        assert sync.resolve("aio/copy3:latest") == want
        assert sync.resolve("aio/copy-multi:latest") == want_all

    async def main(**kw):
        async with registry.aio.Client(reg.host, retries=0) as c:
            return await c.copy("fixtures/small-v2s2:no-such-tag" if not kw else "fixtures/small-v2s2:latest",
                                "aio/copy-errors:latest", **kw)

    with pytest.raises(registry.NotFoundError) as looped:
        asyncio.run(main())
    assert str(looped.value) == str(blocking.value)
    # A policy applies in loop mode (test_aio_policy.py has signed images):
    # "reject" refuses as the blocking copy does, and nothing is pushed.
    reject = {"default": [{"type": "reject"}]}
    with registry.Client(reg.host, retries=0) as sync:
        with pytest.raises(registry.DeniedError) as denied:
            sync.copy("fixtures/small-v2s2:latest", "aio/copy-errors:latest", policy=reject)
    with pytest.raises(registry.DeniedError) as looped:
        asyncio.run(main(policy=reject))
    assert str(looped.value) == str(denied.value)
    assert os.listdir(tmp_path) == []


def test_copy_referrers_matches_the_blocking_copy(reg, tmp_path_factory, monkeypatch):  # noqa: F811
    """``await client.copy(..., referrers=True)`` on registry 2.8 (no referrers API):
    the blocking copy's digest, and the same referrers at the destination (the
    loop push of a referrer kept the referrers tag)."""
    work = tmp_path_factory.mktemp("aio-referrers")
    monkeypatch.setenv("TMPDIR", str(work))
    sig = tmp_path_factory.mktemp("aio-sig") / "sig.json"
    sig.write_bytes(b'{"signed": true}')
    with registry.Client(reg.host, retries=0) as sync:
        sync.copy("fixtures/small-v2s2:latest", "aio/ref-src:latest")
        sync.push_artifact("aio/ref-src:sig", [sig], artifact_type="application/vnd.example.sig",
                           subject="aio/ref-src:latest")
        want = sync.copy("aio/ref-src:latest", "aio/ref-blocking:latest", referrers=True)

    async def main():
        async with registry.aio.Client(reg.host, retries=0) as c:
            return await c.copy("aio/ref-src:latest", "aio/ref-loop:latest", referrers=True)

    assert asyncio.run(main()) == want
    with registry.Client(reg.host, retries=0) as sync:
        blocking = [(d.digest, d.artifact_type) for d in sync.referrers("aio/ref-blocking:latest")]
        looped = [(d.digest, d.artifact_type) for d in sync.referrers("aio/ref-loop:latest")]
    assert len(blocking) == 1 and blocking[0][1] == "application/vnd.example.sig"
    assert looped == blocking
    assert os.listdir(work) == []

    # ``await client.pull(..., referrers=True)``: the image and its referrer in the
    # layout, index.json as the blocking pull writes it.
    layouts = tmp_path_factory.mktemp("aio-ref-pull")
    with registry.Client(reg.host, retries=0) as sync:
        want_pull = sync.pull("aio/ref-src:latest", str(layouts / "blocking"), referrers=True)

    async def pull():
        async with registry.aio.Client(reg.host, retries=0) as c:
            return await c.pull("aio/ref-src:latest", str(layouts / "loop"), referrers=True)

    assert asyncio.run(pull()) == want_pull
    with open(layouts / "blocking" / "index.json") as f:
        b_index = json.load(f)
    with open(layouts / "loop" / "index.json") as f:
        l_index = json.load(f)
    assert len(b_index["manifests"]) == 2  # the image and its referrer
    assert l_index == b_index


def tree_of(top):
    """Every path under @top with its type, mode, size, mtime and bytes (a bundle's
    config.json is written by the unpack: its mtime is the unpack's)."""
    out = {}
    for root, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            data = None
            if os.path.islink(p):
                data = os.readlink(p)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    data = f.read()
            rel = os.path.relpath(p, top)
            out[rel] = (st.st_mode, st.st_size,
                        None if os.path.isdir(p) or rel == "config.json" else st.st_mtime_ns, data)
    return out


def test_unpack_matches_store_unpack(reg, tmp_path):  # noqa: F811
    """``await client.unpack(store, ref_name, dest)`` (registry_store_unpack_start):
    the tree and counts of ``Store.unpack``, also as an OCI runtime bundle (the same
    config.json), from a Store or a layout path, while the loop keeps ticking; its
    errors are the blocking ones; a tar is refused in loop mode."""
    with registry.Client(reg.host, retries=0) as sync:
        with Store(tmp_path / "layout", create=True) as s:
            sync.pull("fixtures/big-oci", s, ref_name="img")
    with Store(tmp_path / "layout") as s:
        want = s.unpack("img", tmp_path / "sync-root")
        want_b = s.unpack("img", tmp_path / "sync-bundle", bundle=True)
        with pytest.raises(registry.NotFoundError) as blocking:
            s.unpack("no-such", tmp_path / "sync-missing")
    gaps = []

    async def work():
        async with registry.aio.Client(reg.host, retries=0) as c:
            with Store(tmp_path / "layout") as s:
                got = await c.unpack(s, "img", tmp_path / "aio-root")
            got_b = await c.unpack(tmp_path / "layout", "img", tmp_path / "aio-bundle", bundle=True)
            return got, got_b, c.loop_step_stats()

    (got, got_b, (steps, max_us)), before, during = ticking(gaps, work)
    assert got == want and got_b == want_b
    assert steps > 2
    assert during == before
    assert tree_of(tmp_path / "aio-root") == tree_of(tmp_path / "sync-root")
    assert sorted(os.listdir(tmp_path / "aio-bundle")) == ["config.json", "rootfs"]
    assert tree_of(tmp_path / "aio-bundle") == tree_of(tmp_path / "sync-bundle")
    print("aio unpack: %d steps, longest %.2f ms, largest tick gap %.1f ms"
          % (steps, max_us / 1000.0, max(gaps) * 1000.0))

    async def main(ref_name, **kw):
        async with registry.aio.Client(reg.host, retries=0) as c:
            return await c.unpack(tmp_path / "layout", ref_name, tmp_path / "aio-missing", **kw)

    with pytest.raises(registry.NotFoundError) as looped:
        asyncio.run(main("no-such"))
    assert str(looped.value) == str(blocking.value)
    with pytest.raises(registry.UnsupportedError):
        asyncio.run(main("img", tar=True))
