#!/usr/bin/env python3
"""Artifact directories (oras: a gzip tar whose entries all live under
the directory's title) written by the unpack applier's PLAIN profile:
the rules lib/ops/artifact_dir.c had with libarchive's conservative
extraction, member by member. Entries outside the title, ".." and
absolute names, links leading out, devices and fifos are refused
(REGISTRY_EINVAL); writing through a symbolic link the tar planted is
refused, never followed (REGISTRY_EIO, as libarchive's refusal was);
nothing already there is replaced: a second entry of a name is skipped
whole, the first wins, data and settings (libarchive kept the first's data
but applied a later non-directory entry's mode and mtime to it: a quirk
not kept), but a symbolic link at that name is replaced; `.wh.` names are plain files (oras knows
no whiteouts); no setuid bits, owners or xattrs; modes less the umask;
zstd and damaged streams are refused (REGISTRY_EIO). Each case runs with the
path resolution forced to openat2 and to the O_NOFOLLOW walk, and checks
that nothing beside the title changed.

  artifact_dir_hostile.py UNPACK_HELPER CASE:MODE   ("--list")
"""
import gzip
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as o  # noqa: E402
from unpack_hostile import main_with_modes, plant_sentinel, run_helper, tree_state  # noqa: E402

OK, EINVAL, EIO = 0, -1, -3
T = "t"  # the title


def umask():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def c_control(c):
    return o.Tar().dir(T).file(T + "/a", b"a", mode=0o666).dir(T + "/sub").file(T + "/sub/b", b"b") \
        .symlink(T + "/l", "sub/b").hardlink(T + "/h", T + "/a").file(T + "/.wh.x", b"kept") \
        .file(T + "/sub/.wh..wh..opq", b"") .file(T + "/suid", b"s", mode=0o4755) \
        .file(T + "/owned", b"o", uid=1234, gid=1234, pax={"SCHILY.xattr.user.note": "x"}) \
        .dir(T + "/ro", mode=0o555).file(T + "/ro/f", b"f").bytes()


def check_control(c):
    t = os.path.join(c.root, T)
    assert sorted(os.listdir(t)) == [".wh.x", "a", "h", "l", "owned", "ro", "sub", "suid"], os.listdir(t)
    assert open(os.path.join(t, ".wh.x"), "rb").read() == b"kept", "a .wh. name is a plain file"
    assert sorted(os.listdir(os.path.join(t, "sub"))) == [".wh..wh..opq", "b"], "no opaque directory either"
    assert os.readlink(os.path.join(t, "l")) == "sub/b"
    assert os.stat(os.path.join(t, "h")).st_ino == os.stat(os.path.join(t, "a")).st_ino
    assert stat.S_IMODE(os.stat(os.path.join(t, "a")).st_mode) == 0o666 & ~umask(), "mode less the umask"
    assert stat.S_IMODE(os.stat(os.path.join(t, "suid")).st_mode) == 0o755 & ~umask(), "no setuid"
    assert stat.S_IMODE(os.stat(os.path.join(t, "ro")).st_mode) == 0o555 & ~umask(), "a directory's mode"
    st = os.stat(os.path.join(t, "owned"))
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid()), "no owner set, even as root"
    assert os.listxattr(os.path.join(t, "owned")) == [], "no xattr set"
    assert int(os.stat(os.path.join(t, "sub", "b")).st_mtime) == 1600000000, "mtimes kept"


def c_outside_title(c):
    return o.Tar().dir(T).file("u/x", b"x").bytes()


def c_dotdot(c):
    return o.Tar().file(T + "/../outside/sentinel", b"pwned").bytes()


def c_absolute(c):
    return o.Tar().file("/" + T + "/x", b"x").bytes()


def c_symlink_out(c):
    return o.Tar().symlink(T + "/l", "../outside").bytes()


def c_symlink_absolute(c):
    return o.Tar().symlink(T + "/l", c.outside).bytes()


def c_hardlink_out(c):
    return o.Tar().dir(T).hardlink(T + "/h", "outside/sentinel").bytes()


def c_write_through_symlink(c):
    # Each member is legal; the last one writes through the link the tar planted.
    return o.Tar().dir(T).dir(T + "/sub").symlink(T + "/l", "sub").file(T + "/l/f", b"through").bytes()


def c_title_is_symlink(c):
    # The title itself a link to a sibling of it: writing beneath it would land outside the title.
    return o.Tar().symlink(T, "sibling").file(T + "/f", b"through").bytes()


def c_twice(c):
    return o.Tar().dir(T).file(T + "/a", b"1").file(T + "/a", b"2").dir(T + "/d", mode=0o700) \
        .dir(T + "/d", mode=0o755).file(T + "/d", b"not a dir").symlink(T + "/a", "elsewhere").bytes()


def check_twice(c):
    t = os.path.join(c.root, T)
    assert open(os.path.join(t, "a"), "rb").read() == b"1", "the first entry of a name wins"
    assert stat.S_IMODE(os.stat(os.path.join(t, "d")).st_mode) == 0o700 & ~umask(), "a directory's first settings"


def c_replace_symlink(c):
    return o.Tar().dir(T).symlink(T + "/l", "a").file(T + "/l", b"x").bytes()


def check_replace_symlink(c):
    p = os.path.join(c.root, T, "l")
    assert not os.path.islink(p) and open(p, "rb").read() == b"x", "the link at that name was replaced"


def c_device(c):
    return o.Tar().dir(T).add(T + "/null", tarfile.CHRTYPE, devmajor=1, devminor=3).bytes()


def c_fifo(c):
    return o.Tar().dir(T).add(T + "/fifo", tarfile.FIFOTYPE).bytes()


def c_zstd(c):
    return o.compress(o.Tar().dir(T).file(T + "/a", b"a").bytes(), o.ZSTD)


def c_not_tar(c):
    return gzip.compress(b"not a tar at all" * 100)


# name: (builder, expected rc, message part, check); builders return tar bytes (gzipped unless compressed).
CASES = {
    "control": (c_control, OK, "", check_control),
    "outside-title": (c_outside_title, EINVAL, "is not beneath", None),
    "dotdot": (c_dotdot, EINVAL, "is not beneath", None),
    "absolute": (c_absolute, EINVAL, "is not beneath", None),
    "symlink-out": (c_symlink_out, EINVAL, "leads out", None),
    "symlink-absolute": (c_symlink_absolute, EINVAL, "leads out", None),
    "hardlink-out": (c_hardlink_out, EINVAL, "leads out", None),
    "write-through-symlink": (c_write_through_symlink, EIO, "is a symbolic link", None),
    "title-is-symlink": (c_title_is_symlink, EIO, "is a symbolic link", None),
    "twice": (c_twice, OK, "", check_twice),
    "replace-symlink": (c_replace_symlink, OK, "", check_replace_symlink),
    "device": (c_device, EINVAL, "device, FIFO or socket", None),
    "fifo": (c_fifo, EINVAL, "device, FIFO or socket", None),
    "zstd": (c_zstd, EIO, "", None),
    "not-tar": (c_not_tar, EIO, "", None),
}


class Case:
    def __init__(self, tmp):
        self.outside = os.path.join(tmp, "outside")
        self.sentinel = os.path.join(self.outside, "sentinel")
        self.root = os.path.join(tmp, "root")  # the artifact's output folder
        self.tar = os.path.join(tmp, "dir.tar.gz")


def run_case(helper, name, mode):
    build, want, message, check = CASES[name]
    tmp = tempfile.mkdtemp(prefix="artifact-dir-")
    try:
        c = Case(tmp)
        plant_sentinel(c)
        os.makedirs(os.path.join(c.root, "sibling"))
        data = build(c)
        with open(c.tar, "wb") as f:
            f.write(data if data[:2] == b"\x1f\x8b" or data[:4] == b"\x28\xb5\x2f\xfd" else gzip.compress(data))
        before = tree_state(c.outside)
        run_helper([helper, mode, "--artifact-dir", c.root, T, c.tar], "%s %s" % (name, mode), want, message)
        assert tree_state(c.outside) == before, "something outside the output folder changed"
        assert os.listdir(os.path.join(c.root, "sibling")) == [], "something was written beside the title"
        if check:
            check(c)
        return 0
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", tmp], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    return main_with_modes(CASES, run_case)


if __name__ == "__main__":
    sys.exit(main())
