#!/usr/bin/env python3
"""Hostile layers against the unpack (issue 16): each case builds an OCI
layout whose layers try to reach outside the target (".." names, absolute
names, symlinks planted and written through in one layer or across layers,
hard links out, whiteouts that escape, a directory turned into a symlink,
devices as non-root, a decompression bomb, a lying diff_id), unpacks it
with unpack-helper with the path resolution forced to openat2 or to the
O_NOFOLLOW walk, and checks:

  - the result is the expected one (the documented error code, or success
    where the layer is only odd and everything lands inside the target);
  - nothing outside the target changed: a sentinel file and a directory
    beside the target keep their content, and no file appeared there;
  - after a failure there is no target (the unpack is atomic).

  unpack_hostile.py UNPACK_HELPER CASE MODE   ("--list": CASE:MODE lines)
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as o  # noqa: E402

OK, EDIGEST, EFORMAT, ETOOLARGE = 0, -9, -10, -12
SENTINEL = b"sentinel: must never change\n"


def tree_state(path):
    """Every path under @path with its type and content digest."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            state[os.path.relpath(p, path)] = (st.st_mode, digest)
    return state


def plant_sentinel(c):
    """c.outside with c.sentinel in it: what no case may touch."""
    os.makedirs(c.outside)
    with open(c.sentinel, "wb") as f:
        f.write(SENTINEL)


def run_helper(cmd, label, want, message=""):
    """Run a helper printing one JSON result; check its code (and a part of its message)."""
    r = json.loads(subprocess.run(cmd, stdout=subprocess.PIPE, check=True, timeout=60).stdout)
    print(label, r)
    assert r["rc"] == want, "rc %d, expected %d: %s" % (r["rc"], want, r["message"])
    assert message in r["message"], "message %r lacks %r" % (r["message"], message)
    return r


def check_no_target(tmp, target):
    """A failed unpack is atomic: no target, no temporary beside it."""
    assert not os.path.lexists(target), "a failed unpack left its target"
    name = os.path.basename(target) + "."
    assert not [n for n in os.listdir(tmp) if n.startswith(name)], "temporary left"


def check_after(c, tmp, r, want, before, check):
    """Nothing outside the target changed; a failure left no target; a success passes @check."""
    assert tree_state(c.outside) == before, "something outside the target changed"
    with open(c.sentinel, "rb") as f:
        assert f.read() == SENTINEL
    if want != OK:
        check_no_target(tmp, c.target)
    elif check:
        check(c, r)


class Case:
    def __init__(self, tmp):
        self.tmp = tmp
        self.outside = os.path.join(tmp, "outside")  # what no layer may touch
        self.sentinel = os.path.join(self.outside, "sentinel")
        self.target = os.path.join(tmp, "target")
        self.layout = os.path.join(tmp, "layout")


# Each case: (layers builder(case) -> list of tar bytes, expected rc, extra kwargs, check(case, result))
def c_dotdot(c):
    return [o.Tar().file("../outside/sentinel", b"pwned").bytes()]


def c_dotdot_deep(c):
    return [o.Tar().dir("a").file("a/../../outside/pwned", b"pwned").bytes()]


def c_absolute(c):
    # An absolute name is taken beneath the target: it lands inside, never on the host path.
    return [o.Tar().file(c.sentinel, b"pwned").bytes()]


def check_absolute(c, r):
    inside = os.path.join(c.target, c.sentinel.lstrip("/"))
    with open(inside, "rb") as f:
        assert f.read() == b"pwned", "the absolute member did not land beneath the target"


def c_symlink_same_layer(c):
    return [o.Tar().symlink("evil", c.outside).file("evil/pwned", b"pwned").bytes()]


def c_symlink_relative(c):
    return [o.Tar().symlink("evil", "../../../../../../../../" + c.outside.lstrip("/"))
            .file("evil/pwned", b"pwned").bytes()]


def c_symlink_cross_layer(c):
    return [o.Tar().symlink("evil", c.outside).bytes(),
            o.Tar().file("evil/pwned", b"pwned").file("evil/sentinel", b"pwned").bytes()]


def c_symlink_final(c):
    # A file written where a symlink to the sentinel is: the link is replaced, never followed.
    return [o.Tar().symlink("x", c.sentinel).bytes(), o.Tar().file("x", b"pwned").bytes()]


def check_symlink_final(c, r):
    p = os.path.join(c.target, "x")
    assert not os.path.islink(p) and open(p, "rb").read() == b"pwned"


def c_hardlink_dotdot(c):
    return [o.Tar().hardlink("h", "../outside/sentinel").bytes()]


def c_hardlink_absolute(c):
    return [o.Tar().hardlink("h", c.sentinel).bytes()]


def c_hardlink_via_symlink(c):
    return [o.Tar().symlink("s", c.outside).hardlink("h", "s/sentinel").bytes()]


def c_hardlink_then_write(c):
    # A hard link to a symlink that points out, then a write to the link's name.
    return [o.Tar().symlink("s", c.sentinel).hardlink("h", "s").file("h", b"pwned").bytes()]


def c_whiteout_dotdot(c):
    return [o.Tar().file("d/x", b"x").bytes(), o.Tar().file("d/.wh..").bytes()]


def c_whiteout_escape(c):
    return [o.Tar().file("../outside/.wh.sentinel").bytes()]


def c_whiteout_via_symlink(c):
    return [o.Tar().symlink("s", c.outside).bytes(), o.Tar().file("s/.wh.sentinel").bytes()]


def c_opaque_via_symlink(c):
    return [o.Tar().symlink("s", c.outside).bytes(), o.Tar().file("s/.wh..wh..opq").bytes()]


def c_dir_becomes_symlink(c):
    return [o.Tar().dir("d").file("d/a", b"a").bytes(),
            o.Tar().symlink("d", c.outside).bytes(),
            o.Tar().file("d/pwned", b"pwned").file("d/sentinel", b"pwned").bytes()]


def c_device_root_unasked(c):
    return [o.Tar().add("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3).bytes()]


def check_no_device(c, r):
    assert r["skipped_devices"] == 1, r
    assert not os.path.lexists(os.path.join(c.target, "dev", "null"))


def c_device_nonroot(c):
    return c_device_root_unasked(c)


def c_device_root_asked(c):
    return c_device_root_unasked(c)


def check_device_made(c, r):
    if os.geteuid() != 0:
        return check_no_device(c, r)
    st = os.lstat(os.path.join(c.target, "dev", "null"))
    assert r["skipped_devices"] == 0 and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3


def c_nonroot_rules(c):
    # What a non-root unpack cannot do is skipped and counted, and it still succeeds.
    return [o.Tar().dir("ro", mode=0o555).file("ro/f", b"f").file("suid", b"s", mode=0o4755)
            .file("other", b"o", uid=1000, gid=1000).file("x", b"x", pax={"SCHILY.xattr.trusted.t": "v"})
            .bytes(),
            o.Tar().file("ro/g", b"g").bytes()]


def check_nonroot_rules(c, r):
    assert r["skipped_owners"] >= 1 and r["skipped_xattrs"] == 1, r
    st = os.stat(os.path.join(c.target, "ro"))
    assert st.st_mode & 0o700 == 0o700, "a read-only directory stays writable for its owner without root"
    assert os.path.exists(os.path.join(c.target, "ro", "g"))
    assert os.stat(os.path.join(c.target, "suid")).st_mode & 0o7777 == 0o4755


def c_bomb(c):
    return [o.Tar().file("zeros", bytes(16 << 20)).bytes()]


def c_diffid_mismatch(c):
    return [o.Tar().file("a", b"a").bytes()]


def c_control(c):
    # Not hostile: proves the checks above would see a write (a symlink inside, long pax names).
    long = "l" * 200 + "/" + "m" * 150
    return [o.Tar().dir("etc").file("etc/f", b"f").symlink("lnk", "/etc/f").file(long, b"long").bytes()]


def check_control(c, r):
    assert open(os.path.join(c.target, "etc", "f"), "rb").read() == b"f"
    assert open(os.path.join(c.target, "l" * 200, "m" * 150), "rb").read() == b"long"
    assert os.readlink(os.path.join(c.target, "lnk")) == "/etc/f"


CASES = {
    "dotdot": (c_dotdot, EFORMAT, {}, None),
    "dotdot-deep": (c_dotdot_deep, EFORMAT, {}, None),
    "absolute": (c_absolute, OK, {}, check_absolute),
    "symlink-same-layer": (c_symlink_same_layer, OK, {}, None),
    "symlink-relative": (c_symlink_relative, OK, {}, None),
    "symlink-cross-layer": (c_symlink_cross_layer, OK, {}, None),
    "symlink-final": (c_symlink_final, OK, {}, check_symlink_final),
    "hardlink-dotdot": (c_hardlink_dotdot, EFORMAT, {}, None),
    "hardlink-absolute": (c_hardlink_absolute, EFORMAT, {}, None),
    "hardlink-via-symlink": (c_hardlink_via_symlink, EFORMAT, {}, None),
    "hardlink-then-write": (c_hardlink_then_write, OK, {}, None),
    "whiteout-dotdot": (c_whiteout_dotdot, EFORMAT, {}, None),
    "whiteout-escape": (c_whiteout_escape, EFORMAT, {}, None),
    "whiteout-via-symlink": (c_whiteout_via_symlink, OK, {}, None),
    "opaque-via-symlink": (c_opaque_via_symlink, OK, {}, None),
    "dir-becomes-symlink": (c_dir_becomes_symlink, OK, {}, None),
    "device-root-unasked": (c_device_root_unasked, OK, {}, check_no_device),
    "device-nonroot": (c_device_nonroot, OK, {"nonroot": True, "devices": True}, check_no_device),
    "device-root-asked": (c_device_root_asked, OK, {"devices": True}, check_device_made),
    "nonroot-rules": (c_nonroot_rules, OK, {"nonroot": True}, check_nonroot_rules),
    "bomb": (c_bomb, ETOOLARGE, {"max_size": 1 << 20}, None),
    "diffid-mismatch": (c_diffid_mismatch, EDIGEST, {"diff_ids": ["sha256:" + "0" * 64]}, None),
    "control": (c_control, OK, {}, check_control),
}
MODES = ["openat2", "walk"]


def run_case(helper, name, mode):
    build, want, kw, check = CASES[name]
    tmp = tempfile.mkdtemp(prefix="unpack-hostile-")
    try:
        c = Case(tmp)
        plant_sentinel(c)
        o.make_layout(c.layout, build(c), diff_ids=kw.get("diff_ids"))
        before = tree_state(c.outside)
        cmd = [helper, mode, c.layout, "latest", c.target, str(kw.get("max_size", 0))]
        if kw.get("devices"):
            cmd.append("devices")
        if kw.get("nonroot"):
            if os.geteuid() != 0:
                pass  # already not root
            elif shutil.which("setpriv"):
                os.chmod(tmp, 0o777)
                cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
            else:
                print("SKIP: no setpriv to drop root")
                return 77
        r = run_helper(cmd, "%s %s" % (name, mode), want)
        check_after(c, tmp, r, want, before, check)
        return 0
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", tmp], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def main_with_modes(cases, run):
    """The driver of a CASE:MODE test script ("--list" prints them)."""
    if sys.argv[1:] == ["--list"]:
        for n in cases:
            for m in MODES:
                print("%s:%s" % (n, m))
        return 0
    helper, case = sys.argv[1], sys.argv[2]
    name, mode = case.split(":")
    return run(helper, name, mode)


def main():
    return main_with_modes(CASES, run_case)


if __name__ == "__main__":
    sys.exit(main())
