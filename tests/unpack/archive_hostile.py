#!/usr/bin/env python3
"""Hostile docker save tarballs against registry_archive_unpack (issue 16):
manifest.json naming layers by ".." or absolute paths, symbolic links in
the tarball that point out of it (at a real layer on disk that would
unpack fine if it were followed), link loops, a huge manifest.json,
missing layers and config, members twice, a lying diff_id, a layer with a
".." member, several images without a name; and, as the control, the
layouts Docker really writes: classic (`ID/layer.tar`, uncompressed) and
Docker 25's OCI layout inside the tarball (gzip blobs, the old paths as
symlinks). Each case checks the documented code, that nothing outside the
target changed, and that a failed unpack left no target.

  archive_hostile.py UNPACK_HELPER CASE   ("--list": the case names)
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as o  # noqa: E402
from unpack_hostile import check_after, plant_sentinel, run_helper, tree_state  # noqa: E402

OK, EINVAL, ENOTFOUND, EDIGEST, EFORMAT, ETOOLARGE = 0, -1, -8, -9, -10, -12


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write_tar(path, members):
    """members: (name, bytes) or (name, ("symlink", target))."""
    with tarfile.open(path, "w") as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1600000000
            if isinstance(data, tuple):
                ti.type, ti.linkname = tarfile.SYMTYPE, data[1]
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))


def config(layers, diff_ids=None):
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers",
                                  "diff_ids": diff_ids or ["sha256:" + sha(t) for t in layers]}}).encode()


def classic(layers, diff_ids=None, names=None, tags=("example.com/app:1.0",)):
    """What docker save wrote before 25: ID.json, ID/layer.tar, manifest.json."""
    cfg = config(layers, diff_ids)
    members = [(sha(cfg) + ".json", cfg)]
    paths = []
    for i, t in enumerate(layers):
        p = names[i] if names else "%s/layer.tar" % sha(t + bytes([i]))
        if not names:
            members.append((p, t))
        paths.append(p)
    manifest = [{"Config": sha(cfg) + ".json", "RepoTags": list(tags), "Layers": paths}]
    return members + [("manifest.json", json.dumps(manifest).encode())]


def oci_inside(layers):
    """Docker 25+: an OCI layout with gzip blobs; manifest.json and the old paths lead into blobs/."""
    cfg = config(layers)
    members, paths = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')], []
    for t in layers:
        z = gzip.compress(t, mtime=0)
        members.append(("blobs/sha256/" + sha(z), z))
        members.append(("old%s/layer.tar" % sha(t)[:12], ("symlink", "../blobs/sha256/" + sha(z))))
        paths.append("old%s/layer.tar" % sha(t)[:12])
    members.append(("blobs/sha256/" + sha(cfg), cfg))
    manifest = [{"Config": "blobs/sha256/" + sha(cfg), "RepoTags": ["example.com/app:1.0"], "Layers": paths}]
    return members + [("manifest.json", json.dumps(manifest).encode())]


LAYER = o.Tar().dir("etc").file("etc/f", b"f").symlink("lnk", "/etc/f").bytes()
LAYER2 = o.Tar().file("etc/.wh.f").file("g", b"g").bytes()


def c_layer_dotdot_path(c):
    return classic([LAYER], names=["../outside/layer.tar"])


def c_layer_absolute_path(c):
    # An absolute name is a name inside the tarball, never a file of the host: this one is a real layer.
    return classic([LAYER], names=[c.outside_layer])


def c_symlink_out(c):
    m = classic([LAYER], names=["x/layer.tar"])
    return m + [("x/layer.tar", ("symlink", "../../../../../../.." + c.outside_layer))]


def c_symlink_absolute(c):
    m = classic([LAYER], names=["x/layer.tar"])
    return m + [("x/layer.tar", ("symlink", c.outside_layer))]


def c_symlink_loop(c):
    m = classic([LAYER], names=["a/layer.tar"])
    return m + [("a/layer.tar", ("symlink", "../b/layer.tar")), ("b/layer.tar", ("symlink", "../a/layer.tar"))]


def c_huge_manifest(c):
    m = classic([LAYER])
    name, body = m[-1]
    return m[:-1] + [(name, body + b" " * (2 << 20))]


def c_missing_layer(c):
    return classic([LAYER], names=["nothere/layer.tar"])


def c_missing_config(c):
    return [x for x in classic([LAYER]) if not x[0].endswith(".json") or x[0] == "manifest.json"]


def c_no_manifest(c):
    return [x for x in classic([LAYER]) if x[0] != "manifest.json"]


def c_member_twice(c):
    m = classic([LAYER])
    return m + [(m[1][0], o.Tar().file("other", b"x").bytes())]


def c_diffid_mismatch(c):
    return classic([LAYER], diff_ids=["sha256:" + "0" * 64])


def c_layer_count(c):
    return classic([LAYER, LAYER2], diff_ids=["sha256:" + sha(LAYER)])


def c_layer_hostile(c):
    return classic([o.Tar().file("../outside/sentinel", b"pwned").bytes()])


def c_two_images_no_ref(c):
    a, b = classic([LAYER]), classic([LAYER2], tags=("example.com/other:2",))
    manifest = json.loads(a[-1][1]) + json.loads(b[-1][1])
    return a[:-1] + b[:-1] + [("manifest.json", json.dumps(manifest).encode())]


def c_control_classic(c):
    return classic([LAYER, LAYER2])


def c_control_oci(c):
    return oci_inside([LAYER, LAYER2])


def check_control(c, r):
    assert sorted(os.listdir(c.target)) == ["etc", "g", "lnk"], os.listdir(c.target)
    assert os.listdir(os.path.join(c.target, "etc")) == [], "the whiteout of the second layer applied"
    assert os.readlink(os.path.join(c.target, "lnk")) == "/etc/f"
    assert r["layers"] == 2 and r["whiteouts"] == 1, r


# name: (members builder, expected rc, reference or "-", message part, check)
CASES = {
    "layer-dotdot-path": (c_layer_dotdot_path, EFORMAT, "-", "outside the archive", None),
    "layer-absolute-path": (c_layer_absolute_path, EFORMAT, "-", "which the archive lacks", None),
    "symlink-out": (c_symlink_out, EFORMAT, "-", "a symbolic link out of the archive", None),
    "symlink-absolute": (c_symlink_absolute, EFORMAT, "-", "which the archive lacks", None),
    "symlink-loop": (c_symlink_loop, EFORMAT, "-", "which the archive lacks", None),
    "huge-manifest": (c_huge_manifest, ETOOLARGE, "-", "manifest.json is too large", None),
    "missing-layer": (c_missing_layer, EFORMAT, "-", "nothere/layer.tar", None),
    "missing-config": (c_missing_config, EFORMAT, "-", "the config", None),
    "no-manifest": (c_no_manifest, EFORMAT, "-", "no manifest.json", None),
    "member-twice": (c_member_twice, EFORMAT, "-", "more than once", None),
    "diffid-mismatch": (c_diffid_mismatch, EDIGEST, "-", "hashes to", None),
    "layer-count": (c_layer_count, EFORMAT, "-", "diff_ids", None),
    "layer-hostile": (c_layer_hostile, EFORMAT, "-", "..", None),
    "two-images-no-ref": (c_two_images_no_ref, EINVAL, "-", "name one of its tags", None),
    "ref-not-there": (c_control_classic, ENOTFOUND, "example.com/app:2.0", "no image tagged", None),
    "control-classic": (c_control_classic, OK, "example.com/app:1.0", "", check_control),
    "control-oci-inside": (c_control_oci, OK, "-", "", check_control),
}


class Case:
    def __init__(self, tmp):
        self.outside = os.path.join(tmp, "outside")
        self.sentinel = os.path.join(self.outside, "sentinel")
        self.outside_layer = os.path.join(self.outside, "layer.tar")  # a valid layer, outside the tarball
        self.target = os.path.join(tmp, "target")
        self.archive = os.path.join(tmp, "image.tar")


def run_case(helper, name):
    build, want, ref, message, check = CASES[name]
    tmp = tempfile.mkdtemp(prefix="archive-hostile-")
    try:
        c = Case(tmp)
        plant_sentinel(c)
        with open(c.outside_layer, "wb") as f:
            f.write(LAYER)
        write_tar(c.archive, build(c))
        before = tree_state(c.outside)
        r = run_helper([helper, "walk", "--archive", c.archive, ref, c.target], name, want, message)
        check_after(c, tmp, r, want, before, check)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(CASES))
        return 0
    return run_case(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
