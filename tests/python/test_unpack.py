"""registry.unpack, Store.unpack, registry.layer_apply and Client.pull(format="rootfs")
(issue 16) against layouts built from tar layers and a real registry."""
import asyncio
import json
import os
import stat
import sys
import tarfile

import pytest

import registry
import registry.aio
from conftest import start_registry

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unpack"))
import ocilayout as o  # noqa: E402


def _unpack_built():
    try:
        registry.layer_apply("/nonexistent-root", "/dev/null")
    except registry.UnsupportedError:
        return False
    except registry.RegistryError:
        return True
    return True


pytestmark = pytest.mark.skipif(not _unpack_built(), reason="libregistry was built without unpack (libarchive)")


def _layers():
    l1 = o.Tar().dir("etc").file("etc/hosts", b"hosts\n").dir("gone").file("gone/x", b"x").dir("opq") \
        .file("opq/old", b"old").bytes()
    l2 = o.Tar().file(".wh.gone").dir("opq").file("opq/.wh..wh..opq").file("opq/new", b"new") \
        .hardlink("etc/hosts2", "etc/hosts").symlink("lnk", "/etc/hosts").bytes()
    return [l1, l2]


@pytest.fixture
def layout(tmp_path):
    path = tmp_path / "layout"
    o.make_layout(str(path), _layers(), config_extra={
        "Entrypoint": ["/bin/app"], "Cmd": ["--serve"], "Env": ["A=1"], "WorkingDir": "/srv", "User": "7:8"})
    return path


def test_unpack_tree(layout, tmp_path):
    dest = tmp_path / "rootfs"
    stats = registry.unpack(layout, dest)
    assert stats.layers == 2 and stats.whiteouts == 2 and stats.entries >= 10
    assert sorted(os.listdir(dest)) == ["etc", "lnk", "opq"]
    assert os.listdir(dest / "opq") == ["new"]
    assert os.readlink(dest / "lnk") == "/etc/hosts"
    assert os.stat(dest / "etc" / "hosts").st_ino == os.stat(dest / "etc" / "hosts2").st_ino


def test_unpack_bundle(layout, tmp_path):
    dest = tmp_path / "bundle"
    registry.unpack(str(layout) + ":latest", dest, bundle=True)
    assert sorted(os.listdir(dest)) == ["config.json", "rootfs"]
    cfg = json.loads((dest / "config.json").read_text())
    assert cfg["process"]["args"] == ["/bin/app", "--serve"]
    assert cfg["process"]["env"] == ["A=1", "HOME=/"]  # no /etc/passwd in the image: HOME=/
    assert cfg["process"]["cwd"] == "/srv"
    assert cfg["process"]["user"] == {"uid": 7, "gid": 8}
    assert cfg["root"]["path"] == "rootfs"


def test_unpack_refuses(layout, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "f").write_text("x")
    with pytest.raises(registry.ConflictError):
        registry.unpack(layout, busy)
    with pytest.raises(registry.TooLargeError):
        registry.unpack(layout, tmp_path / "small", max_size=1000)
    assert not (tmp_path / "small").exists()
    lie = tmp_path / "lie"
    o.make_layout(str(lie), _layers(), diff_ids=["sha256:" + "0" * 64, "sha256:" + "1" * 64])
    with pytest.raises(registry.DigestMismatchError):
        registry.unpack(lie, tmp_path / "never")
    assert not (tmp_path / "never").exists()
    with registry.Store(layout) as s, pytest.raises(registry.InvalidArgumentError):
        s.unpack("latest", tmp_path / "x.tar", tar=True, bundle=True)


def test_unpack_tar(layout, tmp_path):
    with registry.Store(layout) as s:
        s.unpack("latest", tmp_path / "rootfs.tar", tar=True)
    with tarfile.open(tmp_path / "rootfs.tar") as t:
        names = set(t.getnames())
    assert {"./etc/hosts", "./etc/hosts2", "./lnk", "./opq/new"} <= names
    assert "./gone" not in names and "./opq/old" not in names


def test_layer_apply(tmp_path):
    root = tmp_path / "root"
    (root / "old").mkdir(parents=True)
    (root / "old" / "f").write_text("f")
    layer = tmp_path / "layer.tar.gz"
    tar = o.Tar().file(".wh.old").file("new", b"n").bytes()
    layer.write_bytes(o.compress(tar, o.GZIP))
    stats = registry.layer_apply(root, layer, diff_id=o.sha256(tar))
    assert sorted(os.listdir(root)) == ["new"] and stats.whiteouts == 1
    with pytest.raises(registry.DigestMismatchError):
        registry.layer_apply(root, layer, diff_id="sha256:" + "2" * 64)


def test_pull_rootfs(tmp_path):
    reg = start_registry(auth="none", fixtures=["small:v2s2"])
    try:
        with registry.Client(reg.host) as c:
            c.pull("fixtures/small-v2s2", tmp_path / "rootfs", format="rootfs")
            c.pull("fixtures/small-v2s2", tmp_path / "rootfs.tar", format=registry.ImageFormat.ROOTFS_TAR)
        assert os.listdir(tmp_path / "rootfs")
        with tarfile.open(tmp_path / "rootfs.tar") as t:
            assert len(t.getnames()) > 1
    finally:
        reg.stop()


def test_pull_rootfs_devices(tmp_path):
    """devices=True (REGISTRY_PULL_UNPACK_DEVICES) creates the image's device
    node as root, on the blocking (pipelined) and on the loop path; without it
    the node is skipped; other formats refuse it."""
    src = tmp_path / "dev-layout"
    o.make_layout(str(src), [o.Tar().dir("dev").add("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1,
                                                    devminor=3).file("etc-x", b"x").bytes()])
    reg = start_registry(auth="none")
    try:
        with registry.Client(reg.host) as c:
            c.push(str(src) + ":latest", "dev/img:1")
            c.pull("dev/img:1", tmp_path / "with", format="rootfs", devices=True)
            c.pull("dev/img:1", tmp_path / "without", format="rootfs")
            with pytest.raises(registry.InvalidArgumentError):
                c.pull("dev/img:1", tmp_path / "oci", devices=True)

        async def aio():
            async with registry.aio.Client(reg.host) as c:
                await c.pull("dev/img:1", tmp_path / "aio", format="rootfs", devices=True)
                with pytest.raises(registry.InvalidArgumentError):
                    await c.pull("dev/img:1", tmp_path / "aio-oci", devices=True)
        asyncio.run(aio())
    finally:
        reg.stop()
    assert os.listdir(tmp_path / "without" / "dev") == []
    for tree in ("with", "aio"):
        if os.geteuid() == 0:
            st = os.lstat(tmp_path / tree / "dev" / "null")
            assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3), tree
        else:  # devices only as root: skipped as without the flag
            assert os.listdir(tmp_path / tree / "dev") == [], tree


def test_unpack_progress_and_cancel(layout, tmp_path):
    events = []
    registry.unpack(layout, tmp_path / "a", progress=events.append)
    assert events and events[-1].blobs_done == events[-1].blobs_total == 2

    def stop(p):
        raise KeyError("stop")
    with pytest.raises(KeyError):
        registry.unpack(layout, tmp_path / "b", progress=stop)
    assert not (tmp_path / "b").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith("b.")], "temporary directory left"


def test_bundle_user_names(tmp_path):
    """config.User names resolved in the image's own /etc/passwd and /etc/group, never the host's."""
    def image(user, etc):
        path = tmp_path / ("layout-" + user.replace(":", "-"))
        o.make_layout(str(path), [etc.bytes()], config_extra={"User": user, "Cmd": ["/bin/true"]})
        return path
    etc = lambda: o.Tar().dir("etc").file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"
                                          b"app:x:1234:2345:App:/srv/app:/bin/sh\n") \
        .file("etc/group", b"root:x:0:\nstaff:x:50:app\n")
    for user, want, home in (("app", (1234, 2345), "/srv/app"), ("app:staff", (1234, 50), "/srv/app"),
                             ("1234:staff", (1234, 50), "/srv/app"), ("77", (77, 0), "/")):
        dest = tmp_path / ("b-" + user.replace(":", "-"))
        registry.unpack(image(user, etc()), dest, bundle=True)
        cfg = json.loads((dest / "config.json").read_text())
        assert (cfg["process"]["user"]["uid"], cfg["process"]["user"]["gid"]) == want, user
        assert "HOME=" + home in cfg["process"]["env"], (user, cfg["process"]["env"])
    with pytest.raises(registry.NotFoundError):
        registry.unpack(image("ghost", etc()), tmp_path / "ghost", bundle=True)
    assert not (tmp_path / "ghost").exists()
    # /etc/passwd as a link to the host's: never followed, so the name is unknown.
    linked = o.Tar().dir("etc").symlink("etc/passwd", "/etc/passwd")
    with pytest.raises(registry.NotFoundError):
        registry.unpack(image("root", linked), tmp_path / "linked", bundle=True)


@pytest.mark.skipif(not os.path.exists("/usr/bin/skopeo"), reason="no skopeo")
def test_unpack_docker_archive(layout, tmp_path):
    """A docker save tarball written by skopeo unpacks to the layout's tree."""
    import subprocess
    archive = tmp_path / "img.tar"
    subprocess.run(["skopeo", "copy", "--quiet", "oci:%s:latest" % layout,
                    "docker-archive:%s:example.com/app:1.0" % archive], check=True, timeout=120)
    registry.unpack(layout, tmp_path / "want")
    events = []
    stats = registry.unpack("docker-archive:%s:example.com/app:1.0" % archive, tmp_path / "got",
                            progress=events.append)
    assert stats.layers == 2 and stats.whiteouts == 2
    from test_unpack_umoci import tree  # the unpack-umoci comparison, entry by entry
    assert tree(tmp_path / "got") == tree(tmp_path / "want")
    assert events and events[-1].blobs_done == 2
    registry.unpack("docker-archive:%s" % archive, tmp_path / "bundle", bundle=True)
    assert json.loads((tmp_path / "bundle" / "config.json").read_text())["process"]["cwd"] == "/srv"
    with pytest.raises(registry.NotFoundError):
        registry.unpack("docker-archive:%s:example.com/app:2.0" % archive, tmp_path / "never")
    with pytest.raises(registry.FormatError):
        registry.unpack("docker-archive:%s" % (tmp_path / "want" / "etc" / "hosts"), tmp_path / "never")
    assert not (tmp_path / "never").exists()
