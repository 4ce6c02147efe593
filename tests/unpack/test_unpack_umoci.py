#!/usr/bin/python3
"""Unpack proven against the peer (issue 16): a small image made of real
files (a few hundred from the host's /usr/share/zoneinfo and /etc) in two
layers, the second deleting a directory, making another opaque and adding
hard links (within the layer and to a lower one), symlinks, a setuid
file, a file of another owner, a fifo, a character device (dev/null, 1:3),
xattrs (user.* and, as root,
security.capability), pushed to the harness registry with gzip layers and
with zstd layers. Then:

  - registry-pull --format rootfs vs `skopeo copy` + `umoci unpack` (as
    root): the trees compared entry by entry (type, mode, uid/gid, size,
    content sha256, link target, device numbers, hard-link groups, xattrs,
    file mtimes); as root with --devices (REGISTRY_PULL_UNPACK_DEVICES),
    which umoci's tree needs for dev/null; without it the device is
    skipped, and registry-unpack --json counts it;
  - the zstd image unpacks to the identical tree;
  - registry-pull --format rootfs-tar extracted by GNU tar gives it too;
  - registry-unpack --bundle writes the config.json umoci writes for
    args, env, cwd and user;
  - `skopeo copy docker://... docker-archive:FILE:REF` then registry-unpack
    docker-archive:FILE:REF (and --bundle) gives the registry's tree.

Run by the harness: test_unpack_umoci.py EXAMPLES_BUILD_DIR
With --schema1 (a harness in schema1 mode with the small:v2s1 and
small:v2s2 fixtures): the schema1 image (layers reversed in the manifest,
throwaway layers) unpacks to the tree of the same image in schema2.
"""
import hashlib
import io
import json
import os
import shlex
import stat
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as o  # noqa: E402

FAILURES = []
CAP_NET_BIND = bytes([1, 0, 0, 2, 0, 4, 0, 0] + [0] * 12)  # vfs_cap_data v2: cap_net_bind_service+ep


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, file=sys.stderr)


def sh(*cmd, **kw):
    p = subprocess.run(list(cmd), capture_output=True, timeout=300, **kw)
    check(p.returncode == 0, "%s: exit %d: %s" % (" ".join(shlex.quote(c) for c in cmd), p.returncode,
                                                 p.stderr.decode(errors="replace").strip()))
    return p


def real_files(limit=300):
    """A few hundred real files: zoneinfo (with its symlinks and hard links) and some of /etc."""
    picked = []
    for top in ["/usr/share/zoneinfo/Europe", "/usr/share/zoneinfo/America", "/usr/share/zoneinfo/Asia"]:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for n in sorted(filenames):
                if len(picked) < limit:
                    picked.append(os.path.join(dirpath, n))
    for n in ["passwd", "group", "hostname", "os-release", "debian_version"]:
        if os.path.lexists("/etc/" + n):
            picked.append("/etc/" + n)
    return picked


def layer1():
    t = o.Tar()
    dirs = set()
    files = real_files()
    for f in files:
        d = os.path.dirname(f)
        while d != "/" and d not in dirs:
            dirs.add(d)
            d = os.path.dirname(d)
    for d in sorted(dirs):
        t.tf.add(d, arcname=d.lstrip("/"), recursive=False)
    for f in files:
        t.tf.add(f, arcname=f.lstrip("/"), recursive=False)
    t.dir("data", mtime=1500000000).dir("data/del").file("data/del/x", b"x").dir("data/del/sub").file("data/del/sub/y", b"y")
    t.dir("data/opq").file("data/opq/a", b"a").file("data/opq/b", b"b").file("data/keep", b"keep")
    t.dir("tmp", mode=0o1777).dir("private", mode=0o700).file("private/secret", b"s", mode=0o600)
    return t.bytes()


def layer2(as_root):
    t = o.Tar()
    t.dir("data", mtime=1500000001).file("data/.wh.del")
    t.dir("data/opq", mtime=1500000002).file("data/opq/.wh..wh..opq").file("data/opq/c", b"c")
    t.file("data/file1", b"hard linked\n", mtime=1400000000).hardlink("data/link1", "data/file1")
    t.hardlink("data/paris", "usr/share/zoneinfo/Europe/Paris")
    t.symlink("data/abs", "/etc/passwd").symlink("data/rel", "../etc/group").symlink("data/dangling", "/nowhere")
    t.dir("usr/bin").file("usr/bin/suidprog", b"#!/bin/sh\n", mode=0o4755).file("usr/bin/sgid", b"g", mode=0o2755)
    t.file("data/owned", b"o", uid=1000, gid=1000, mode=0o640)
    t.file("data/xattr", b"x", pax={"SCHILY.xattr.user.comment": "hello"})
    if as_root:
        t.file("usr/bin/capprog", b"c", mode=0o755,
               pax={"SCHILY.xattr.security.capability": CAP_NET_BIND.decode("utf-8", "surrogateescape")})
    t.add("data/fifo", tarfile.FIFOTYPE, mode=0o644)
    t.dir("dev").add("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
    t.file("data/sparse-ish", b"\0" * 100000 + b"end")
    return t.bytes()


def tree(root):
    """path -> properties, and the hard-link groups, of a tree."""
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = {"type": stat.S_IFMT(st.st_mode), "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
                 "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    e["sha256"] = hashlib.sha256(f.read()).hexdigest()
                e["size"] = st.st_size
                e["mtime"] = st.st_mtime_ns // 1000000000
                inodes.setdefault(st.st_ino, []).append(rel)
            if stat.S_ISLNK(st.st_mode):
                e["target"] = os.readlink(p)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            try:
                e["xattrs"] = {k: os.getxattr(p, k, follow_symlinks=False)
                               for k in sorted(os.listxattr(p, follow_symlinks=False))}
            except OSError:
                e["xattrs"] = {}
            entries[rel] = e
    groups = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return entries, groups


def compare(what, a, b):
    """Check two tree()s equal; returns the number of differences (entries
    present on one side only or differing, plus 1 for differing hard-link
    groups), for bench/unpack-debootstrap's summary."""
    ea, ga = a
    eb, gb = b
    check(sorted(ea) == sorted(eb), "%s: different entries: only in ours %s, only in theirs %s" % (
        what, sorted(set(ea) - set(eb))[:10], sorted(set(eb) - set(ea))[:10]))
    bad = [(p, ea[p], eb[p]) for p in sorted(set(ea) & set(eb)) if ea[p] != eb[p]]
    check(not bad, "%s: %d entries differ, e.g. %s" % (what, len(bad), bad[:3]))
    check(ga == gb, "%s: hard-link groups differ: %s vs %s" % (what, ga[:5], gb[:5]))
    return len(set(ea) ^ set(eb)) + len(bad) + (ga != gb)


def schema1(bindir, tmp, host):
    trees = []
    for fixture in ("small-v2s1", "small-v2s2"):
        dest = os.path.join(tmp, fixture)
        sh(os.path.join(bindir, "registry-pull"), "--quiet", "--format", "rootfs",
           "%s/fixtures/%s" % (host, fixture), dest)
        trees.append(tree(dest))
    check(len(trees[0][0]) >= 3, "the schema1 image has its layers' files: %s" % sorted(trees[0][0]))
    compare("schema1 vs schema2", trees[0], trees[1])


def main():
    bindir = sys.argv[1]
    if sys.argv[2:] == ["--schema1"]:
        schema1(bindir, os.environ["REGISTRY_TEST_TMPDIR"], os.environ["REGISTRY_TEST_HOST"])
        print("%d failures" % len(FAILURES) if FAILURES else "ok")
        return 1 if FAILURES else 0
    tmp = os.environ["REGISTRY_TEST_TMPDIR"]
    host = os.environ["REGISTRY_TEST_HOST"]
    skopeo = shlex.split(os.environ["REGISTRY_TEST_SKOPEO"])
    dest_args = shlex.split(os.environ.get("REGISTRY_TEST_SKOPEO_ARGS", ""))
    src_args = shlex.split(os.environ.get("REGISTRY_TEST_SKOPEO_SRC_ARGS", ""))
    as_root = os.geteuid() == 0
    layers = [layer1(), layer2(as_root)]
    config = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"], "Env": ["PATH=/usr/bin:/bin", "A=b"],
              "WorkingDir": "/data", "User": "1000:1000", "Labels": {"org.example": "yes"}}
    for how in (o.GZIP, o.ZSTD):
        layout = os.path.join(tmp, "src-" + how)
        o.make_layout(layout, layers, how=how, config_extra=config)
        sh(*skopeo, "copy", *dest_args, "oci:%s:latest" % layout, "docker://%s/unpack/img:%s" % (host, how))

    # Device nodes only when asked, and only as root (umoci's tree has them).
    devs = ["--devices"] if as_root else []
    ours = {}
    for how in (o.GZIP, o.ZSTD):
        ours[how] = os.path.join(tmp, "ours-" + how)
        sh(os.path.join(bindir, "registry-pull"), "--quiet", "--format", "rootfs", *devs,
           "%s/unpack/img:%s" % (host, how), ours[how])
    mine = tree(ours[o.GZIP])
    no_dev = os.path.join(tmp, "ours-no-devices")
    sh(os.path.join(bindir, "registry-pull"), "--quiet", "--format", "rootfs",
       "%s/unpack/img:gzip" % host, no_dev)
    skipped = tree(no_dev)
    check("dev/null" not in skipped[0] and "dev" in skipped[0], "without --devices dev/null is skipped")
    compare("no --devices vs --devices minus dev/null", skipped,
            ({p: e for p, e in mine[0].items() if p != "dev/null"}, mine[1]))
    check(len(mine[0]) > 300, "the image has its few hundred entries: %d" % len(mine[0]))
    check("data/del" not in mine[0] and "data/keep" in mine[0], "whiteout applied, sibling kept")
    check(sorted(p for p in mine[0] if p.startswith("data/opq/")) == ["data/opq/c"], "opaque directory")
    if as_root:
        check(mine[0]["usr/bin/capprog"]["xattrs"].get("security.capability") == CAP_NET_BIND,
              "security.capability applied")
        check(mine[0]["data/owned"]["uid"] == 1000, "owner applied")
        null = mine[0].get("dev/null", {})
        check(null.get("type") == stat.S_IFCHR and null.get("rdev") == (1, 3) and null.get("mode") == 0o666,
              "registry-pull --devices: dev/null is the character device 1:3: %r" % null)
    check(mine[0]["usr/bin/suidprog"]["mode"] == 0o4755, "setuid kept")
    compare("zstd vs gzip", tree(ours[o.ZSTD]), mine)

    # The peer: skopeo copy + umoci unpack (as root: umoci's rootless mode differs by design).
    if as_root and os.path.exists("/usr/bin/umoci"):
        peer_layout = os.path.join(tmp, "peer-layout")
        sh(*skopeo, "copy", *src_args, "docker://%s/unpack/img:gzip" % host, "oci:%s:img" % peer_layout)
        bundle = os.path.join(tmp, "peer-bundle")
        sh("umoci", "unpack", "--image", peer_layout + ":img", bundle)
        compare("ours vs umoci", mine, tree(os.path.join(bundle, "rootfs")))
        # registry-unpack --bundle: config.json as umoci converts it.
        our_bundle = os.path.join(tmp, "our-bundle")
        sh(os.path.join(bindir, "registry-unpack"), "--quiet", "--bundle", *devs, peer_layout + ":img",
           our_bundle)
        compare("bundle rootfs vs umoci", tree(os.path.join(our_bundle, "rootfs")),
                tree(os.path.join(bundle, "rootfs")))
        theirs_cfg = json.load(open(os.path.join(bundle, "config.json")))
        ours_cfg = json.load(open(os.path.join(our_bundle, "config.json")))
        # umoci keeps runc's default TERM=xterm; HOME comes from the image's /etc/passwd in both.
        theirs_cfg["process"]["env"] = [e for e in theirs_cfg["process"].get("env", [])
                                        if not e.startswith("TERM=")]
        for key in ("args", "env", "cwd"):
            check(ours_cfg["process"].get(key) == theirs_cfg["process"].get(key),
                  "config.json process.%s: %r vs umoci %r" % (key, ours_cfg["process"].get(key),
                                                              theirs_cfg["process"].get(key)))
        for key in ("uid", "gid"):
            check(ours_cfg["process"]["user"].get(key) == theirs_cfg["process"]["user"].get(key),
                  "config.json process.user.%s" % key)
        check(ours_cfg.get("annotations", {}).get("org.example") == "yes", "labels as annotations")
    else:
        print("note: not root or no umoci: the comparison with umoci is skipped")

    # A docker save tarball of the same image (skopeo's docker-archive:, layers
    # uncompressed): registry-unpack docker-archive:FILE:REF gives the same tree.
    archive = os.path.join(tmp, "img.tar")
    sh(*skopeo, "copy", *src_args, "docker://%s/unpack/img:gzip" % host,
       "docker-archive:%s:example.com/unpack/img:gzip" % archive)
    from_archive = os.path.join(tmp, "from-archive")
    p = sh(os.path.join(bindir, "registry-unpack"), "--json", *devs,
           "docker-archive:%s:example.com/unpack/img:gzip" % archive, from_archive)
    doc = json.loads(p.stdout or b"{}")
    check(doc.get("layers") == 2 and doc.get("whiteouts") == 2, "registry-unpack docker-archive: --json: %r" % doc)
    compare("docker-archive vs registry", tree(from_archive), mine)
    # ... and as a bundle, its only image picked without a name.
    archive_bundle = os.path.join(tmp, "archive-bundle")
    sh(os.path.join(bindir, "registry-unpack"), "--quiet", "--bundle", *devs, "docker-archive:" + archive,
       archive_bundle)
    compare("docker-archive bundle vs registry", tree(os.path.join(archive_bundle, "rootfs")), mine)
    check(json.load(open(os.path.join(archive_bundle, "config.json")))["process"]["cwd"] == "/data",
          "docker-archive bundle: config.json from the image config")

    # rootfs-tar, extracted by GNU tar, is the same tree.
    tarfile_path = os.path.join(tmp, "rootfs.tar")
    sh(os.path.join(bindir, "registry-pull"), "--quiet", "--format", "rootfs-tar", *devs,
       "%s/unpack/img:gzip" % host, tarfile_path)
    extracted = os.path.join(tmp, "from-tar")
    os.makedirs(extracted)
    sh("tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", tarfile_path, "-C", extracted)
    a, b = tree(extracted), mine
    # Directory modes and mtimes of the top: tar sets the top from "./", which we write as the tree's.
    compare("rootfs-tar vs rootfs", a, b)
    # ... and on stdout for "-": the same members.
    p = sh(os.path.join(bindir, "registry-pull"), "--quiet", "--format", "rootfs-tar", *devs,
           "%s/unpack/img:zstd" % host, "-")
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        listed = t.getnames()
    with tarfile.open(tarfile_path) as t:
        check(sorted(listed) == sorted(t.getnames()) and len(listed) > 300,
              "rootfs-tar on stdout lists %d members, the file %d" % (len(listed), len(t.getnames())))
    # --json of registry-unpack: the counts.
    p = sh(os.path.join(bindir, "registry-unpack"), "--json", os.path.join(tmp, "src-gzip"),
           os.path.join(tmp, "json-out"))
    doc = json.loads(p.stdout)
    check(doc["layers"] == 2 and doc["entries"] > 300 and doc["whiteouts"] == 2 and doc["format"] == "rootfs",
          "registry-unpack --json: %r" % doc)
    check(doc.get("skipped_devices") == 1, "without --devices the device is skipped and counted: %r" % doc)
    if FAILURES:
        print("%d failures" % len(FAILURES))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
