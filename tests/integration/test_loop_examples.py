#!/usr/bin/env python3
"""The event-loop glue examples (examples/loop): EXE pulls three images at
once under the harness registry; every pull succeeds with the registry's
digests, the layouts name them, and the process never has a second thread
(sampled from /proc/PID/task while it runs)."""
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    exe = sys.argv[1]
    host = os.environ["REGISTRY_TEST_HOST"]
    tmp = tempfile.mkdtemp(dir=os.environ.get("REGISTRY_TEST_TMPDIR"))
    images = ["fixtures/small-v2s2:latest", "fixtures/small-oci:latest", "fixtures/multi-oci:latest"]
    args = [exe]
    for i, img in enumerate(images):
        args += ["%s/%s" % (host, img), os.path.join(tmp, "d%d" % i)]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    most = 0
    while p.poll() is None:
        try:
            most = max(most, len(os.listdir("/proc/%d/task" % p.pid)))
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    out, err = p.communicate()
    sys.stderr.write(err)
    assert p.returncode == 0, "%s exited %d" % (exe, p.returncode)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert len(lines) == 3, out
    oci = lines["%s/fixtures/small-oci:latest" % host]
    assert oci == os.environ["REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"], oci
    for i, img in enumerate(images):
        with open(os.path.join(tmp, "d%d" % i, "index.json")) as f:
            names = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"]
                     for m in json.load(f)["manifests"]}
        assert names["latest"] == lines["%s/%s" % (host, img)], (img, names)
    assert most == 1, "%d threads seen" % most
    print("ok: 3 pulls, one thread throughout")


if __name__ == "__main__":
    main()
