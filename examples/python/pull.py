#!/usr/bin/env python3
"""pull.py: what registry-pull does, in Python on the libregistry bindings.

    pull.py [OPTIONS] REFERENCE DEST

Pulls the image REFERENCE names (for a multi-platform image the --platform
entry, by default this machine's): manifest, config and layers, fetched in
parallel and verified against their digests, into DEST:

    --format oci      an OCI image layout folder (default; created or added to)
    --format docker   a folder for `docker load`
    DEST ending .tar  a tarball for `docker load -i`

Run it from a source tree with
    REGISTRY_LIBRARY=BUILD/lib/libregistry.so.1 PYTHONPATH=bindings/python \\
        python3 examples/python/pull.py localhost:5000/fixtures/small-oci ./small-oci
"""

import argparse
import getpass
import sys

import registry

EX_OK, EX_FAIL, EX_USAGE = 0, 1, 2


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0
    return str(n)


class ProgressDisplay:
    """A bar on a terminal, else one line per finished blob (on stderr)."""

    def __init__(self, verb="pulled"):
        self.tty = sys.stderr.isatty()
        self.verb = verb
        self.drawn = False

    def __call__(self, p):
        S = registry.ProgressState
        if self.tty:
            total = p.overall_total or 0
            pct = 100.0 * p.overall_done / total if total else 0.0
            sys.stderr.write("\r[%-30s] %5.1f%%  %s / %s  blobs %d/%d " % (
                "#" * int(pct * 0.3), pct, human(p.overall_done), human(total), p.blobs_done,
                p.blobs_total))
            sys.stderr.flush()
            self.drawn = True
        elif p.state in (S.DONE, S.SKIPPED, S.FAILED):
            word = {S.DONE: self.verb, S.SKIPPED: "present", S.FAILED: "FAILED"}[p.state]
            size = human(p.bytes_total) if p.bytes_total is not None else "?"
            sys.stderr.write("%s %s (%s)\n" % (word, p.digest, size))

    def end(self):
        if self.drawn:
            sys.stderr.write("\n")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="pull.py", description="Pull an image into a folder or a tarball.",
        epilog="examples:\n"
               "  pull.py localhost:5000/fixtures/small-v2s2 ./small-oci\n"
               "  pull.py --format docker localhost:5000/app:1.0 ./app-docker\n"
               "  pull.py localhost:5000/app:1.0 app.tar && docker load -i app.tar",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("dest")
    ap.add_argument("--format", choices=("oci", "docker"), help="destination format (default oci)")
    ap.add_argument("--platform", help="os[(os.version)]/arch[/variant] of a multi-platform image")
    ap.add_argument("--preserve-digests", action="store_true",
                    help="keep manifests byte for byte in an OCI layout")
    ap.add_argument("--all-platforms", action="store_true",
                    help="every platform of a multi-platform image (OCI layout only)")
    ap.add_argument("--username", "-u")
    ap.add_argument("--password-stdin", action="store_true")
    ap.add_argument("--insecure", action="store_true", help="plain HTTP / unverified TLS")
    ap.add_argument("--ca", help="trust this CA file (PEM)")
    ap.add_argument("--jobs", type=int, help="parallel transfers (default 4)")
    ap.add_argument("--quiet", "-q", action="store_true")
    args = ap.parse_args(argv)
    fmt = args.format or "oci"
    if args.dest.endswith(".tar"):
        if args.format == "oci":
            ap.error("a .tar destination is a docker tarball, not --format oci")
        fmt = "docker-archive"
    if args.all_platforms and fmt != "oci":
        ap.error("--all-platforms needs an OCI layout destination")
    if args.all_platforms and args.platform:
        ap.error("--all-platforms and --platform exclude each other")
    if args.password_stdin and not args.username:
        ap.error("--password-stdin needs --username")
    args.fmt = fmt
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        ref = registry.Reference.parse(args.reference)
    except registry.RegistryError as e:
        print("pull.py: %s: %s" % (args.reference, e), file=sys.stderr)
        return EX_USAGE
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else \
            getpass.getpass()
    display = None if args.quiet else ProgressDisplay()
    try:
        with registry.Client(ref.registry, args.username, password, insecure=args.insecure,
                             ca_file=args.ca, max_parallel=args.jobs) as client:
            digest = client.pull(ref, args.dest, format=args.fmt, platform=args.platform,
                                 preserve_digests=args.preserve_digests,
                                 all_platforms=args.all_platforms, progress=display)
    except registry.RegistryError as e:
        if display:
            display.end()
        print("pull.py: %s: %s" % (args.reference, e), file=sys.stderr)
        return EX_FAIL
    except KeyboardInterrupt:
        if display:
            display.end()
        print("pull.py: interrupted (partial downloads are kept and resume)", file=sys.stderr)
        return 130
    if display:
        display.end()
    print("pulled %s to %s" % (ref, args.dest))
    if digest:
        print("digest: %s" % digest)
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())
