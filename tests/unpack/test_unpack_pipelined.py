#!/usr/bin/python3
"""A pull to a root filesystem applies its layers while later ones still
download (issue 16), proven against the hostile registry's "unpack-*" cases
(an image of three gzip tar layers, tests/proxy/hostile_registry.py):

  - overlap: the registry holds the last layer's GET until layer 1's
    marker file is visible in the staging directory beside DEST (and
    answers 404 after HOLD_TIMEOUT otherwise, which is what a pull that
    unpacks only after downloading everything gets); the pull succeeds and
    the tree (or, for rootfs-tar, the tar) holds exactly the image's files;
  - applier failure: layer 1's diff_id in the config is wrong and the last
    layer is held for good: the pull fails with REGISTRY_EDIGEST well
    before the hold times out (the downloads were canceled), and there is
    no DEST and no staging directory left;
  - cancel: once layer 1 is applied (the last layer held), the client's
    cancel hook asks to stop: REGISTRY_ECANCELED at once, no DEST, no
    staging directory left.

  test_unpack_pipelined.py UNPACK_HELPER

The pulls are registry_pull_to() calls made by unpack-helper --pull, which
prints the code and message. With REGISTRY_TEST_UNDER_VALGRIND=1 (meson
test --setup valgrind) each runs under valgrind (leaks, invalid accesses,
exit 99).
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "proxy"))
import hostile_registry as hr  # noqa: E402

EDIGEST, ECANCELED = -9, -14
FAILURES = []
VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--quiet"] if os.environ.get("REGISTRY_TEST_UNDER_VALGRIND") else []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, file=sys.stderr)


def pull(helper, srv, fmt, dest, env=None):
    cmd = VALGRIND + [helper, "auto", "--pull", "%s/%s:latest" % (srv.host, hr.REPO), dest, fmt]
    env = dict(os.environ, HOME=os.path.dirname(dest), DOCKER_CONFIG=os.path.dirname(dest), **(env or {}))
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    elapsed = time.monotonic() - start
    check(p.returncode == 0, "unpack-helper: exit %d: %s" % (p.returncode, p.stderr[-4000:]))
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {"rc": None, "message": p.stdout}
    return out, elapsed


def staging(dest):
    return glob.glob(glob.escape(dest) + ".unpack-*") + glob.glob(glob.escape(dest) + ".pull-*")


def tree_of_dir(root):
    files = {}
    for dirpath, _, filenames in os.walk(root):
        for n in filenames:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, root)] = f.read()
    return files


def tree_of_tar(path):
    files = {}
    with tarfile.open(path) as tf:
        for m in tf.getmembers():
            if m.isfile():
                files[m.name.lstrip("./")] = tf.extractfile(m).read()
    return files


def digest_map(files):
    return {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}


def overlap(helper, tmp, fmt):
    srv = hr.HostileRegistry(case="unpack-layers", auth="none", log=os.path.join(tmp, fmt + ".jsonl")).start()
    dest = os.path.join(tmp, "out-" + fmt)
    # Layer 1's marker in the staging directory: the applier is at work
    # while the last layer has not even been answered.
    srv.hold_last = lambda: bool(glob.glob(glob.escape(dest) + ".unpack-*/marker-0"))
    try:
        out, _ = pull(helper, srv, fmt, dest)
    finally:
        srv.stop()
    check(out["rc"] == 0, "%s: pull failed: %r" % (fmt, out))
    check(srv.held == "released", "%s: the last layer was held until %s (layer 1 not applied while it "
          "downloaded)" % (fmt, srv.held))
    if out["rc"] != 0:
        return
    got = tree_of_dir(dest) if fmt == "rootfs" else tree_of_tar(dest)
    check(digest_map(got) == digest_map(srv.image.files),
          "%s: the tree differs from the image's files (%d vs %d files)" % (fmt, len(got), len(srv.image.files)))
    check(not staging(dest), "%s: staging left beside DEST: %s" % (fmt, staging(dest)))


def applier_failure(helper, tmp, fmt):
    srv = hr.HostileRegistry(case="unpack-bad-diff-id", auth="none",
                             log=os.path.join(tmp, "bad-" + fmt + ".jsonl")).start()
    dest = os.path.join(tmp, "bad-" + fmt)
    srv.hold_last = lambda: False  # the last layer never comes
    try:
        out, elapsed = pull(helper, srv, fmt, dest)
    finally:
        srv.stop()
    check(out["rc"] == EDIGEST, "%s: want rc %d (EDIGEST), got %r" % (fmt, EDIGEST, out))
    check("layer 1" in out.get("message", ""), "%s: the message names no layer: %r" % (fmt, out.get("message")))
    check(srv.held != "timeout" and elapsed < hr.HOLD_TIMEOUT,
          "%s: the pull waited for the held layer (%.1f s): the downloads were not canceled" % (fmt, elapsed))
    check(not os.path.lexists(dest), "%s: DEST exists after a failed pull" % fmt)
    check(not staging(dest), "%s: staging left beside DEST: %s" % (fmt, staging(dest)))


def cancel(helper, tmp, fmt):
    srv = hr.HostileRegistry(case="unpack-layers", auth="none",
                             log=os.path.join(tmp, "cancel-" + fmt + ".jsonl")).start()
    dest = os.path.join(tmp, "cancel-" + fmt)
    flag = os.path.join(tmp, "cancel-" + fmt + ".flag")

    def applied_then_cancel():  # the last layer never comes; layer 1 applied: cancel
        if glob.glob(glob.escape(dest) + ".unpack-*/marker-0"):
            open(flag, "w").close()
        return False
    srv.hold_last = applied_then_cancel
    try:
        out, elapsed = pull(helper, srv, fmt, dest, {"UNPACK_HELPER_CANCEL": flag})
    finally:
        srv.stop()
    check(out["rc"] == ECANCELED, "%s: want rc %d (ECANCELED), got %r" % (fmt, ECANCELED, out))
    check(os.path.exists(flag), "%s: layer 1 was never applied while the last layer was held" % fmt)
    check(srv.held != "timeout" and elapsed < hr.HOLD_TIMEOUT,
          "%s: the cancel took %.1f s (the held download went on)" % (fmt, elapsed))
    check(not os.path.lexists(dest), "%s: DEST exists after a canceled pull" % fmt)
    check(not staging(dest), "%s: staging left beside DEST: %s" % (fmt, staging(dest)))


def main():
    helper = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="unpack-pipelined-") as tmp:
        for fmt in ("rootfs", "rootfs-tar"):
            overlap(helper, tmp, fmt)
            applier_failure(helper, tmp, fmt)
        cancel(helper, tmp, "rootfs")
    if FAILURES:
        print("%d failure(s)" % len(FAILURES), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
