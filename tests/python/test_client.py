"""registry.Client against a real docker-registry (open mode, delete enabled)."""

import gc
import io
import os
import subprocess
import sys
import threading
import time
import weakref

import pytest

import registry
from registry import Client, ProgressState, Store
from registry import manifest as mf
from registry._lib import C

from conftest import fixture_layout


def have(name):
    return C.has(name)


@pytest.fixture(scope="module")
def reg(open_registry):
    return open_registry


@pytest.fixture
def client(reg):
    with Client(reg.host, retries=0) as c:
        yield c


def fixture_digest(reg, name):
    return reg.env["REGISTRY_TEST_FIXTURE_%s_DIGEST" % name]


def layout_manifest(reg, preset):
    """The manifest of a preset's OCI layout, as the harness wrote it."""
    with Store(fixture_layout(reg, preset)) as s:
        return s.manifest(s.index[0].ref_name or s.index[0].digest)


def mount_image(client, m, repo, source="fixtures/small-oci"):
    """Make the blobs of image @m (in @source) available in @repo."""
    for blob in [m.config] + list(m.layers):
        assert client.mount_blob(repo, blob.digest, source)


def requests_in_log(reg, fragment):
    with open(reg.registry_log) as f:
        return sum(1 for line in f if 'msg="response completed"' in line and fragment in line)


# -- registry-level calls ------------------------------------------------------------

def test_ping_and_properties(reg, client):
    assert client.base_url is None and client.auth_scheme is None
    client.ping()
    assert client.base_url == "http://" + reg.host
    assert client.auth_scheme == "none"
    assert client.rate_limit == (None, None)
    assert client.registry == reg.host


def test_no_token_without_auth(reg):
    events = []
    with Client(reg.host, trace=events.append) as c:
        c.ping()
        # Every request went to the registry itself: no token realm.
        assert events and all(e.url.startswith(c.base_url) for e in events)


def test_inspect_gives_the_registry_digest(reg, client):
    for name, repo in (("SMALL_V2S2", "fixtures/small-v2s2"), ("SMALL_OCI", "fixtures/small-oci")):
        m = client.inspect(repo)
        assert m.digest == fixture_digest(reg, name)
        assert m.digest == registry.digest(m.raw)
        assert client.resolve(repo) == m.digest
        st = client.stat(repo + ":latest")
        assert (st.digest, st.media_type, st.size) == (m.digest, m.media_type, m.size)
    oci = client.inspect("fixtures/small-oci")
    layout = layout_manifest(reg, "small")
    assert oci.media_type == mf.MEDIA_TYPE_OCI_MANIFEST
    assert oci.raw == layout.raw  # pushed unchanged
    v2 = client.inspect("fixtures/small-v2s2")
    assert v2.media_type == mf.MEDIA_TYPE_DOCKER_MANIFEST
    assert [l.digest for l in v2.layers] == [l.digest for l in layout.layers]
    assert len(v2.layers) == 3
    by_digest = client.inspect("fixtures/small-v2s2@" + v2.digest)
    assert by_digest.raw == v2.raw


def test_references_are_relative_to_the_client(reg, client):
    digest = fixture_digest(reg, "SMALL_OCI")
    assert client.reference("fixtures/small-oci").canonical == (
        "%s/fixtures/small-oci:latest" % reg.host)
    assert client.inspect("%s/fixtures/small-oci" % reg.host).digest == digest
    assert client.inspect(registry.Reference.parse(
        "%s/fixtures/small-oci:latest" % reg.host)).digest == digest
    with pytest.raises(registry.InvalidArgumentError, match="names the registry"):
        client.inspect("docker.io/library/ubuntu")
    with pytest.raises(registry.InvalidArgumentError):
        client.inspect(registry.Reference.parse("ubuntu"))
    with pytest.raises(registry.FormatError):
        client.inspect("fixtures/Small")


def test_inspect_platform(reg, client):
    index = client.inspect("fixtures/multi-oci")
    assert index.is_index and index.digest == fixture_digest(reg, "MULTI_OCI")
    assert [str(p) for p in index.platforms] == ["linux/amd64", "linux/arm64/v8"]
    arm = client.inspect("fixtures/multi-oci", platform="linux/arm64")
    assert not arm.is_index
    assert arm.digest == index.manifests[1].digest
    amd = client.inspect("fixtures/multi-oci", platform=registry.Platform("linux", "amd64"))
    assert amd.digest == index.manifests[0].digest
    with pytest.raises(registry.NotFoundError):
        client.inspect("fixtures/multi-oci", platform="linux/s390x")
    # An image is what it is, whatever the platform asked.
    assert client.inspect("fixtures/small-oci", platform="linux/s390x").digest == (
        fixture_digest(reg, "SMALL_OCI"))


def test_not_found_carries_http_details(reg, client):
    with pytest.raises(registry.NotFoundError) as ei:
        client.inspect("fixtures/small-oci:no-such-tag")
    e = ei.value
    assert isinstance(e, LookupError)
    assert e.http_status == 404
    assert e.registry_code == "MANIFEST_UNKNOWN"
    assert e.url == "http://%s/v2/fixtures/small-oci/manifests/no-such-tag" % reg.host


def test_network_error():
    with Client("127.0.0.1:1", retries=0) as c:
        with pytest.raises(registry.NetworkError) as ei:
            c.ping()
    assert isinstance(ei.value, ConnectionError)


# -- lists ---------------------------------------------------------------------------------

def test_tags(reg, client):
    m = client.inspect("fixtures/small-oci")
    mount_image(client, m, "py/tags")
    for tag in ("t1", "t2", "t3"):
        client.push_manifest("py/tags:" + tag, m)
    it = client.tags("py/tags")
    assert sorted(it) == ["t1", "t2", "t3"]
    assert list(it) == []  # exhausted
    with pytest.raises(registry.InvalidArgumentError):
        client.tags("py/tags:t1")


def test_tags_are_lazy(reg, client):
    it = client.tags("py/never-pushed")  # no request yet
    with pytest.raises(registry.NotFoundError):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_catalog_pages_lazily(reg, client):
    m = client.inspect("fixtures/small-oci")
    for i in range(5):
        mount_image(client, m, "py/cat%d" % i)
        client.push_manifest("py/cat%d:x" % i, m)
    before = requests_in_log(reg, "/v2/_catalog")
    it = client.catalog(page_size=2)
    assert requests_in_log(reg, "/v2/_catalog") == before
    first = next(it)
    assert requests_in_log(reg, "/v2/_catalog") == before + 1
    names = [first] + list(it)
    pages = requests_in_log(reg, "/v2/_catalog") - before
    assert pages >= len(names) // 2  # one request per page of 2
    assert {"py/cat%d" % i for i in range(5)} <= set(names)
    assert "fixtures/small-v2s2" in names
    assert len(names) == len(set(names))
    # Resumed after a name (the spec's last): only the names after it.
    rest = list(client.catalog(page_size=2, last="py/cat2"))
    assert rest and all(n > "py/cat2" for n in rest), rest
    assert {"py/cat3", "py/cat4"} <= set(rest)


def test_iterator_close_early(reg, client):
    it = client.catalog(page_size=1)
    next(it)
    it.close()
    it.close()
    with pytest.raises(StopIteration):
        next(it)


# -- blobs ---------------------------------------------------------------------------------

def test_fetch_blob_with_progress(reg, client, tmp_path):
    m = client.inspect("fixtures/small-v2s2")
    layer = m.layers[0]
    events = []
    with Store(tmp_path / "s", create=True) as s:
        client.fetch_blob("fixtures/small-v2s2", layer, s, progress=events.append)
        assert s.has(layer.digest) and s.blob_size(layer.digest) == layer.size
        assert events[0].state == ProgressState.STARTED
        assert events[-1].state == ProgressState.DONE
        assert events[-1].bytes_done == events[-1].bytes_total == layer.size
        assert all(e.digest == layer.digest for e in events)
        assert (events[-1].blobs_done, events[-1].blobs_total) == (1, 1)
        again = []
        client.fetch_blob("fixtures/small-v2s2", layer.digest, s, progress=again.append)
        assert [e.state for e in again] == [ProgressState.SKIPPED]
        assert s.verify() == []


def test_fetch_blobs_in_parallel(reg, client, tmp_path):
    m = client.inspect("fixtures/small-oci")
    blobs = [m.config] + list(m.layers)
    done = set()

    def on_progress(p):
        if p.state == ProgressState.DONE:
            done.add(p.digest)

    with Store(tmp_path / "s", create=True) as s:
        client.fetch_blobs("fixtures/small-oci", blobs, s, progress=on_progress)
        assert all(s.has(b.digest) for b in blobs)
    assert done == {b.digest for b in blobs}


def test_blob_bytes_and_head(reg, client):
    m = client.inspect("fixtures/small-oci")
    config = client.read_blob("fixtures/small-oci", m.config.digest)
    assert registry.digest(config) == m.config.digest and len(config) == m.config.size
    buf = io.BytesIO()
    client.fetch_blob_to("fixtures/small-oci", m.layers[0].digest, buf)
    assert registry.digest(buf.getvalue()) == m.layers[0].digest
    assert client.blob_size("fixtures/small-oci", m.layers[1].digest) == m.layers[1].size
    assert client.blob_size("fixtures/small-oci", registry.digest(b"absent")) is None


def test_upload_mount_push_delete(reg, client, tmp_path):
    layer = os.urandom(200_000)
    path = tmp_path / "layer.bin"
    path.write_bytes(layer)
    config = b'{"architecture":"amd64","os":"linux"}'
    ld = client.upload_blob("py/built", path=path)  # from a file
    assert ld == registry.digest(layer)
    cd = client.upload_blob("py/built", config, chunk_size=16)  # chunked, from bytes
    assert client.read_blob("py/built", cd) == config
    assert client.blob_size("py/built", ld) == len(layer)
    assert client.mount_blob("py/mounted", ld, "py/built") is True
    assert client.blob_size("py/mounted", ld) == len(layer)
    m = (registry.ManifestBuilder(mf.MEDIA_TYPE_OCI_MANIFEST)
         .set_config(mf.MEDIA_TYPE_OCI_CONFIG, cd, len(config))
         .add_layer(mf.MEDIA_TYPE_OCI_LAYER_GZIP, ld, len(layer))
         .build())
    assert client.push_manifest("py/built:v1", m) == m.digest
    assert client.inspect("py/built:v1").raw == m.raw
    with pytest.raises(registry.DigestMismatchError):
        client.upload_blob("py/built", b"not what the digest says", digest=registry.digest(b"x"))
    assert client.push_manifest("py/built:v2", m) == m.digest
    with pytest.raises(registry.ConflictError, match="also tagged v2"):
        client.delete("py/built:v1")
    assert client.inspect("py/built:v1").digest == m.digest
    assert client.delete("py/built:v1", force=True) == m.digest
    with pytest.raises(registry.NotFoundError):
        client.inspect("py/built:v1")
    with pytest.raises(registry.NotFoundError):
        client.inspect("py/built:v2")


def test_referrers_through_the_tag_fallback(reg, client):
    subject = client.inspect("fixtures/small-oci")
    empty = client.upload_blob("py/ref", b"{}")
    mount_image(client, subject, "py/ref")
    client.push_manifest("py/ref:subject", subject)
    sig = (registry.ManifestBuilder(mf.MEDIA_TYPE_OCI_MANIFEST)
           .set_artifact_type("application/vnd.example.sig")
           .set_config(mf.MEDIA_TYPE_OCI_EMPTY, empty, 2)
           .add_layer(mf.MEDIA_TYPE_OCI_EMPTY, empty, 2)
           .set_subject(subject.media_type, subject.digest, subject.size)
           .build())
    client.push_manifest("py/ref@" + sig.digest, sig)
    # Registry 2.8 has no referrers API: the push kept the sha256-<hex> tag (issue 18).
    listed = client.referrers("py/ref:subject")
    assert [(d.digest, d.artifact_type) for d in listed] == [(sig.digest, "application/vnd.example.sig")]
    # The OCI tag schema as another client writes it: an index tagged sha256-<hex>.
    idx = (registry.ManifestBuilder(mf.MEDIA_TYPE_OCI_INDEX)
           .add_manifest(sig.media_type, sig.digest, sig.size).build())
    client.push_manifest("py/ref:sha256-" + subject.digest.split(":")[1], idx)
    found = client.referrers("py/ref:subject")
    assert [d.digest for d in found] == [sig.digest]
    assert client.referrers("py/ref@" + subject.digest) == found


def test_artifact_push_pull(reg, client, tmp_path):
    src = tmp_path / "src"
    (src / "tree" / "sub").mkdir(parents=True)
    (src / "notes.md").write_bytes(b"# notes\n")
    (src / "blob.bin").write_bytes(bytes(range(256)) * 300)
    (src / "tree" / "sub" / "leaf.txt").write_bytes(b"leaf\n")
    subject = client.inspect("fixtures/small-oci")
    mount_image(client, subject, "py/art")
    client.push_manifest("py/art:subject", subject)
    digest = client.push_artifact("py/art:v1", [(src / "notes.md", "text/markdown"), src / "blob.bin",
                                                (src / "tree", None, "payload")],
                                  artifact_type="application/vnd.example.bundle",
                                  subject="py/art:subject", annotations={"org.example.k": "v"})
    m = client.inspect("py/art:v1")
    assert m.digest == digest and m.artifact_type == "application/vnd.example.bundle"
    assert [layer.annotations["org.opencontainers.image.title"] for layer in m.layers] == \
        ["notes.md", "blob.bin", "payload"]
    assert m.subject.digest == subject.digest
    out = tmp_path / "out"
    assert client.pull_artifact("py/art:v1", out) == digest
    assert (out / "notes.md").read_bytes() == b"# notes\n"
    assert (out / "blob.bin").read_bytes() == bytes(range(256)) * 300
    assert (out / "payload" / "sub" / "leaf.txt").read_bytes() == b"leaf\n"
    found = client.referrers("py/art:subject", artifact_type="application/vnd.example.bundle")
    assert [(d.digest, d.annotations.get("org.example.k")) for d in found] == [(digest, "v")]
    with pytest.raises(registry.ConflictError, match="notes.md"):
        client.pull_artifact("py/art:v1", out)
    # The subject copied with its referrer, and pulled with it into a layout.
    assert client.copy("py/art:subject", "py/art-copy:subject", referrers=True) == subject.digest
    assert [d.digest for d in client.referrers("py/art-copy:subject")] == [digest]
    with Store(tmp_path / "layout", create=True) as s:
        client.pull("py/art:subject", s, referrers=True)
        assert digest in [e.digest for e in s.index]
    with pytest.raises(registry.InvalidArgumentError, match="two files"):
        client.push_artifact("py/art:v2", [src / "notes.md", src / "notes.md"])


# -- callbacks -----------------------------------------------------------------------------

class Boom(Exception):
    pass


def test_exception_in_progress_cancels_and_is_reraised(reg, client, tmp_path):
    m = client.inspect("fixtures/big-oci")
    layer = m.layers[0]
    calls = []

    def cb(p):
        calls.append(p.state)
        if p.state == ProgressState.RUNNING:
            raise Boom("stop at %d" % p.bytes_done)

    with Store(tmp_path / "s", create=True) as s:
        with pytest.raises(Boom, match="stop at") as ei:
            client.fetch_blob("fixtures/big-oci", layer, s, progress=cb)
        # The original exception, with the callback's frame in its traceback.
        assert any(tb.name == "cb" for tb in ei.traceback)
        assert calls.count(ProgressState.RUNNING) == 1  # nothing called after the raise
        assert not s.has(layer.digest)
        client.fetch_blob("fixtures/big-oci", layer, s)  # resumes and completes
        assert s.has(layer.digest) and s.verify() == []


def test_base_exceptions_are_reraised_too(reg, client, tmp_path):
    m = client.inspect("fixtures/big-oci")

    def cb(p):
        raise KeyboardInterrupt

    with Store(tmp_path / "s", create=True) as s:
        with pytest.raises(KeyboardInterrupt):
            client.fetch_blobs("fixtures/big-oci", m.layers, s, progress=cb)
        assert not any(s.has(l.digest) for l in m.layers)


def test_exception_on_the_last_report_is_still_raised(reg, client, tmp_path):
    m = client.inspect("fixtures/small-oci")

    def cb(p):
        if p.state == ProgressState.DONE:
            raise Boom("after the work")

    with Store(tmp_path / "s", create=True) as s:
        with pytest.raises(Boom):
            client.fetch_blob("fixtures/small-oci", m.layers[0], s, progress=cb)


def test_callback_survives_gc_during_transfer(reg, tmp_path):
    """The ctypes callback lives as long as C may call it, and not forever after."""

    class Collector:
        def __init__(self):
            self.calls = 0

        def __call__(self, p):
            self.calls += 1
            gc.collect()  # would free the callback if nothing held it
            Collector.seen_calls = self.calls

    m = None
    with Client(reg.host) as c, Store(tmp_path / "s", create=True) as s:
        m = c.inspect("fixtures/big-oci")
        cb = Collector()
        ref = weakref.ref(cb)
        stop = threading.Event()

        def collect_elsewhere():
            while not stop.is_set():
                gc.collect()

        t = threading.Thread(target=collect_elsewhere)
        t.start()
        try:
            # The only reference to the callable from here on is the call's own.
            c.fetch_blobs("fixtures/big-oci", [m.config] + list(m.layers), s, progress=cb)
            del cb
        finally:
            stop.set()
            t.join()
        assert Collector.seen_calls >= 2 * (1 + len(m.layers))  # STARTED + DONE per blob
        assert all(s.has(l.digest) for l in m.layers)
    gc.collect()
    assert ref() is None  # released once the call was over


def test_progress_must_be_callable(reg, client, tmp_path):
    with Store(tmp_path / "s", create=True) as s:
        with pytest.raises(TypeError):
            client.fetch_blob("fixtures/small-oci", registry.digest(b"x"), s, progress=42)


# -- threads -------------------------------------------------------------------------------

def test_two_clients_transfer_in_parallel(reg, tmp_path):
    """ctypes drops the GIL during the C call: both transfers are inside C at once."""
    m = Client(reg.host).inspect("fixtures/big-oci")
    blobs = [m.config] + list(m.layers)
    barrier = threading.Barrier(2)
    windows, errors = {}, []

    def worker(i):
        try:
            with Client(reg.host) as c, Store(tmp_path / ("s%d" % i), create=True) as s:
                c.ping()
                barrier.wait()
                start = time.perf_counter()
                c.fetch_blobs("fixtures/big-oci", blobs, s)
                windows[i] = (start, time.perf_counter())
                assert s.verify() == []
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    (s0, e0), (s1, e1) = windows[0], windows[1]
    # With the GIL held through C, the second call could not even start before the
    # first returned.
    assert max(s0, s1) < min(e0, e1), windows


def python_ran_during_c_call(reg, tmp_path, blobs):
    """Whether another thread ran Python code in the middle third of a long C call."""
    stamps = []
    stop = threading.Event()

    def spin():
        while not stop.is_set() and len(stamps) < 5_000_000:
            stamps.append(time.perf_counter())

    for attempt in range(5):  # a call long enough to tell, 30 ms at least
        with Client(reg.host, max_parallel=1) as c, \
                Store(tmp_path / str(attempt), create=True) as s:
            c.ping()
            stamps.clear()
            stop.clear()
            t = threading.Thread(target=spin)
            t.start()
            time.sleep(0.02)
            start = time.perf_counter()
            c.fetch_blobs("fixtures/big-oci", blobs, s)
            end = time.perf_counter()
            stop.set()
            t.join()
        if end - start >= 0.03:
            third = (end - start) / 3
            return any(start + third < x < end - third for x in stamps)
    pytest.skip("transfers too quick to tell (%.3f s)" % (end - start))


def test_c_calls_release_the_gil(reg, tmp_path, monkeypatch):
    m = Client(reg.host).inspect("fixtures/big-oci")
    assert python_ran_during_c_call(reg, tmp_path / "a", list(m.layers))
    # Negative control: the same call through ctypes.PyDLL, which keeps the GIL.
    import ctypes
    import registry.client
    held = registry._lib._Functions(ctypes.PyDLL(registry.library_path), registry.library_path)
    monkeypatch.setattr(registry.client, "C", held)
    # Without the Ctrl-C guard too: its cancellation hook runs Python in the
    # middle of the C call, which lets the other thread in even under PyDLL.
    import contextlib
    import registry._interrupt
    monkeypatch.setattr(registry._interrupt, "guard", lambda ptr: contextlib.nullcontext())
    assert not python_ran_during_c_call(reg, tmp_path / "b", list(m.layers))


def test_one_client_shared_by_threads_is_serialized(reg, tmp_path):
    with Client(reg.host) as c:
        results, errors = [], []

        def worker():
            try:
                for _ in range(5):
                    results.append(c.inspect("fixtures/small-oci").digest)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and results == [fixture_digest(reg, "SMALL_OCI")] * 20


def test_reentrant_use_from_callback_is_refused(reg, client, tmp_path):
    m = client.inspect("fixtures/small-oci")

    def cb(p):
        client.ping()

    with Store(tmp_path / "s", create=True) as s:
        with pytest.raises(RuntimeError, match="busy"):
            client.fetch_blob("fixtures/small-oci", m.layers[0], s, progress=cb)


# -- lifetime ------------------------------------------------------------------------------

def test_close(reg):
    c = Client(reg.host)
    c.close()
    c.close()
    assert c.closed and "closed" in repr(c)
    with pytest.raises(ValueError, match="closed"):
        c.ping()


def test_objects_left_open_at_exit(reg, tmp_path):
    code = """
import registry
c = registry.Client(%r)
s = registry.Store(%r, create=True)
m = c.inspect("fixtures/small-oci")
it = c.catalog(page_size=1)
next(it)
keep = [c, s, m, it]
c2 = registry.Client(%r); c2.ping()
cycle = [c2]; cycle.append(cycle)
""" % (reg.host, str(tmp_path / "s"), reg.host)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


# -- whole images --------------------------------------------------------------------------

def test_push_from_layout(reg, client):
    if not have("registry_push"):
        pytest.skip("registry_push is not in this build yet")
    layout = fixture_layout(reg, "small")
    want = layout_manifest(reg, "small").digest
    assert client.push(layout, "py/pushed:1") == want  # the only image in DIR
    assert client.push(layout + ":latest", "py/pushed:2") == want
    with Store(layout) as s:
        assert client.push(s, "py/pushed:3", name="latest") == want
    for tag in ("1", "2", "3"):
        assert client.resolve("py/pushed:" + tag) == want
    with pytest.raises(registry.NotFoundError):
        client.push(layout + ":no-such-name", "py/pushed:4")


def test_copy(reg, client):
    if not have("registry_copy"):
        pytest.skip("registry_copy is not in this build yet")
    want = fixture_digest(reg, "MULTI_OCI")
    assert client.copy("fixtures/multi-oci", "py/copied:all", all_platforms=True) == want
    # Without the flag, one platform: this machine's (as pull).
    host = client.copy("fixtures/multi-oci", "py/copied:host")
    assert host != want and host in [d.digest for d in client.inspect("fixtures/multi-oci").manifests]
    with Client(reg.host) as other:
        assert client.copy("fixtures/small-oci", "py/copied:small", to=other) == (
            fixture_digest(reg, "SMALL_OCI"))
    one = client.copy("fixtures/multi-oci", "py/copied:arm", platform="linux/arm64/v8")
    assert one == client.inspect("fixtures/multi-oci").manifests[1].digest


def test_pull(reg, client, tmp_path):
    if not have("registry_pull_to"):
        pytest.skip("registry_pull_to is not in this build yet")
    events = []
    dest = tmp_path / "oci"
    digest = client.pull("fixtures/small-oci", dest, progress=events.append)
    assert digest == fixture_digest(reg, "SMALL_OCI")
    assert events and events[-1].blobs_done == events[-1].blobs_total
    with Store(dest) as s:
        assert s.verify() == []
        assert s.find("latest").digest == digest
    with Store(tmp_path / "store", create=True) as s:
        d2 = client.pull("fixtures/multi-oci", s, platform="linux/arm64", ref_name="arm")
        assert d2 == s.find("arm").digest
        assert s.manifest("arm").layers
    client.pull("fixtures/small-v2s2", tmp_path / "docker", format="docker")
    assert (tmp_path / "docker" / "manifest.json").exists()


def test_pull_and_push_docker_archive(reg, client, tmp_path):
    if not (have("registry_pull_to") and have("registry_push_archive")):
        pytest.skip("docker archives are not in this build yet")
    tar = tmp_path / "small.tar"
    try:
        assert client.pull("fixtures/small-v2s2", tar, format="docker-archive") == (
            fixture_digest(reg, "SMALL_V2S2"))
    except registry.UnsupportedError:
        pytest.skip("libregistry was built without libarchive")
    assert tar.stat().st_size > 3 * 64 * 1024
    digest = client.push(str(tar), "py/fromtar:1")
    assert client.resolve("py/fromtar:1") == digest
    pushed = client.inspect("py/fromtar:1")
    assert len(pushed.layers) == 3
    assert client.read_blob("py/fromtar", pushed.config.digest) == client.read_blob(
        "fixtures/small-v2s2", client.inspect("fixtures/small-v2s2").config.digest)


def test_pull_exception_in_callback(reg, client, tmp_path):
    if not have("registry_pull_to"):
        pytest.skip("registry_pull_to is not in this build yet")

    def cb(p):
        if p.state == ProgressState.RUNNING:
            raise Boom

    with pytest.raises(Boom):
        client.pull("fixtures/big-oci", tmp_path / "oci", progress=cb)


def test_config_matches_the_config_blob(client, reg):
    """Client.config: the fields of the verified config blob, for an image and for
    one platform of an index."""
    import json
    from registry import ImageConfig
    m = client.inspect("fixtures/small-v2s2")
    blob = io.BytesIO()
    client.fetch_blob_to("fixtures/small-v2s2", m.config.digest, blob)
    doc = json.loads(blob.getvalue())
    cfg = client.config("fixtures/small-v2s2")
    assert isinstance(cfg, ImageConfig)
    assert cfg.architecture == doc["architecture"] and cfg.os == doc["os"]
    assert cfg.diff_ids == doc["rootfs"]["diff_ids"] and len(cfg.diff_ids) == len(m.layers)
    assert cfg.env == (doc.get("config") or {}).get("Env", [])
    assert cfg == ImageConfig.parse(blob.getvalue())
    assert cfg.to_dict()["rootfs"]["diff_ids"] == cfg.diff_ids
    arm = client.config("fixtures/multi-oci", platform="linux/arm64/v8")
    assert arm.architecture == "arm64"
    with pytest.raises(registry.InvalidArgumentError):
        client.config("quay.io/fixtures/small-v2s2")
    with pytest.raises(registry.FormatError, match="config.Env"):
        ImageConfig.parse(b'{"os":"linux","architecture":"amd64","config":{"Env":[1]}}')
