#!/usr/bin/env python3
"""The fault soak: a real registry (tests/harness, token auth, fixtures
small:v2s2 and multi:oci) behind tests/proxy/fault_proxy.py --chaos, and
rel-soak running operations through it.

  soak.py REL_SOAK_EXE [--long] [--seed S] [--ops N] [--rate R]
  soak.py REL_SOAK_EXE --stall       (the stall/resume test)

Defaults: seed 20261128, 500 operations, fault rate 0.25 per request (about
three operations in four meet at least one fault, two faults per pull on
average), under 3 minutes. --long: 5000 operations. The seed is printed; the
same seed replays the same fault schedule (the draw depends on the request
and how many times it was made, not on timing).
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "harness", "registry_harness.py")
PROXY = os.path.join(HERE, "..", "proxy", "fault_proxy.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("REGISTRY_SOAK_SEED", 20261128)))
    ap.add_argument("--ops", type=int)
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--stall", action="store_true")
    opts = ap.parse_args()
    py = sys.executable
    harness = [py, HARNESS, "run", "--auth", "token", "--fixture", "small:v2s2"]
    if opts.stall:
        cmd = harness + ["--", py, PROXY, "--stall", "1", "--match", "/blobs/sha256:",
                         "--", opts.exe, "--stall-test"]
    else:
        ops = opts.ops or (5000 if opts.long else 500)
        print("soak: seed %d (REGISTRY_SOAK_SEED=%d or --seed to replay), %d operations, rate %.2f"
              % (opts.seed, opts.seed, ops, opts.rate), flush=True)
        cmd = harness + ["--fixture", "multi:oci", "--",
                         py, PROXY, "--chaos", "%d:%g" % (opts.seed, opts.rate), "--stall-max", "20",
                         "--paginate-tags", "--",
                         opts.exe, "--ops", str(ops), "--seed", str(opts.seed)]
    started = time.monotonic()
    rc = subprocess.call(cmd)
    print("soak.py: exit %d after %.0f s" % (rc, time.monotonic() - started))
    return rc


if __name__ == "__main__":
    sys.exit(main())
