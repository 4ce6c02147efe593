#!/usr/bin/env python3
"""Hostile-registry tests: each case starts tests/proxy/hostile_registry.py
in one misbehaving mode, runs one operation of the public API through the
rel-hostile program, and checks:

  - the operation's result is exactly the documented error code (or success
    for the controls and for what is allowed, e.g. a blob redirected to
    another origin);
  - no request that reached the other origin carried an Authorization
    header, the password, the Basic value or any token the registry issued
    (in headers, path or body);
  - no file appeared outside the store folder (path traversal), and the
    store verifies (nothing half-written is visible in it);
  - no file descriptor leaked, no secret in the error message, and what
    the case adds (bytes the server managed to send, requests made, memory).

  hostile_test.py REL_HOSTILE_EXE CASE_ID...   (or "all"; "--list" lists them)
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "proxy"))
import hostile_registry as hr  # noqa: E402

EINVAL, ENOMEM, EIO, ENETWORK, ETLS, EAUTH, EDENIED, ENOTFOUND, EDIGEST, EFORMAT, \
    EUNSUPPORTED, ETOOLARGE, ERATELIMIT, ECANCELED, EPROTOCOL, ECONFLICT = range(-1, -17, -1)
ESERVER = -17

MIB = 1 << 20
IMG = hr.Image()
L0 = hr.sha256(IMG.layers[0])


def sent_to(entries, origin, fragment):
    return sum(e.get("sent", 0) for e in entries
               if "sent" in e and e["origin"] == origin and fragment in e["path"])


def requests(entries, origin, fragment=""):
    return [e for e in entries if "headers" in e and e["origin"] == origin and fragment in e["path"]]


IMG_DIGEST = hr.sha256(IMG.manifest())


def deletes(entries):
    return [e for e in requests(entries, "registry", "/manifests/") if e["method"] == "DELETE"]


def deletes_check(r, entries, paths, lists):
    """The DELETEs sent (path endings, in order), the tag lists fetched, the digest returned."""
    sent = [e["path"] for e in deletes(entries)]
    listed = len(requests(entries, "registry", "/tags/list"))
    if len(sent) != len(paths) or not all(s.endswith(p) for s, p in zip(sent, paths)) or listed != lists:
        return "DELETEs %s (want %s), %d tag lists (want %d)" % (sent, paths, listed, lists)
    return None if r["names"] == [IMG_DIGEST] else "digest returned %s, want %s" % (r["names"], IMG_DIGEST)


# id -> (server case, auth, operation and arguments, expected rc, extra check or None)
# An extra check gets (result, log entries) and returns an error string or None.
CASES = {
    "control-pull-basic": ("normal", "basic", ["pull"], 0, None),
    "control-pull-bearer": ("normal", "bearer", ["pull"], 0, None),
    "control-upload": ("normal", "basic", ["upload"], 0, None),
    "control-tags": ("normal", "basic", ["tags"], 0,
                     lambda r, e: None if r["names"] == ["a", "b", "c"] else "names %s" % r["names"]),
    "control-tls": ("normal", "none", ["ping"], 0, None),
    "wrong-blob-bytes": ("wrong-blob-bytes", "basic", ["pull"], EDIGEST, None),
    "wrong-blob-bytes-fetch": ("wrong-blob-bytes", "basic",
                               ["blob-fetch", L0, str(len(IMG.layers[0]))], EDIGEST, None),
    "wrong-blob-header": ("wrong-blob-header", "basic",
                          ["blob-fetch", L0, str(len(IMG.layers[0]))], EDIGEST, None),
    "wrong-manifest-digest": ("wrong-manifest-digest", "basic",
                              ["manifest-fetch", hr.sha256(IMG.manifest())], EDIGEST, None),
    "wrong-manifest-header": ("wrong-manifest-header", "basic", ["pull"], EDIGEST, None),
    "layer-traversal": ("layer-traversal", "basic", ["pull"], EFORMAT, None),
    "layer-63hex": ("layer-63hex", "basic", ["pull"], EFORMAT, None),
    # An algorithm we do not implement parses, but its blob cannot be
    # verified: refused naming it, and no blobs/blake3 path is made.
    "layer-blake3": ("layer-blake3", "basic", ["pull"], EUNSUPPORTED,
                     lambda r, e: None if "blake3" in r["message"] and not requests(e, "registry", "blake3")
                     else "message %s, requests %s" % (r["message"], requests(e, "registry", "blake3"))),
    "layer-blake3-traversal": ("layer-blake3-traversal", "basic", ["pull"], EFORMAT, None),
    # Delete (issue 15). A registry that deletes tags (OCI 1.1): one DELETE
    # of the tag, nothing listed, the digest returned.
    "delete-by-tag": ("delete-by-tag", "basic", ["delete", "a"], 0,
                      lambda r, e: deletes_check(r, e, ["/manifests/a"], lists=0)),
    # Registry 2.8 (400 for a tag): tags b and c share a's manifest, so the
    # delete is refused naming them, and nothing is deleted ...
    "delete-shared-tag": ("normal", "basic", ["delete", "a"], ECONFLICT,
                          lambda r, e: None if "also tagged b, c" in r["message"]
                          and not [x for x in deletes(e) if "sha256:" in x["path"]]
                          else "message %s, deletes %s" % (r["message"], deletes(e))),
    # ... unless forced: then by digest, without listing the tags.
    "delete-shared-tag-force": ("normal", "basic", ["delete", "a", "force"], 0,
                                lambda r, e: deletes_check(r, e, ["/manifests/a", "/manifests/" + IMG_DIGEST],
                                                           lists=0)),
    "size-5gib": ("size-5gib", "basic", ["pull"], EDIGEST,
                  lambda r, e: None if r["maxrss_kb"] < 200 * 1024 else "peak RSS %d KiB" % r["maxrss_kb"]),
    "size-understated": ("size-understated", "basic", ["pull"], ETOOLARGE,
                         lambda r, e: None if sent_to(e, "registry", L0) < 16 * MIB
                         else "the server sent %d bytes of a 4 KiB layer" % sent_to(e, "registry", L0)),
    "manifest-100mib": ("manifest-100mib", "basic", ["pull"], ETOOLARGE,
                        lambda r, e: None if sent_to(e, "registry", "/manifests/") < 16 * MIB
                        and r["maxrss_kb"] < 200 * 1024 else "read %d bytes, peak RSS %d KiB" % (
                            sent_to(e, "registry", "/manifests/"), r["maxrss_kb"])),
    "manifest-100mib-chunked": ("manifest-100mib-chunked", "basic", ["pull"], ETOOLARGE,
                                lambda r, e: None if sent_to(e, "registry", "/manifests/") < 16 * MIB
                                else "read %d bytes" % sent_to(e, "registry", "/manifests/")),
    "upload-foreign-location-basic": ("upload-foreign-location", "basic", ["upload"], EAUTH,
                                      lambda r, e: None if requests(e, "foreign", "/upload/")
                                      else "the upload never went to the Location (test broken)"),
    "upload-foreign-location-bearer": ("upload-foreign-location", "bearer", ["upload"], EAUTH, None),
    "realm-foreign": ("realm-foreign", "bearer", ["pull"], EAUTH,
                      lambda r, e: None if requests(e, "foreign", "/token")
                      else "no anonymous token request reached the realm (test broken)"),
    "realm-http": ("realm-http", "bearer", ["pull"], EPROTOCOL, None),
    "realm-file": ("realm-file", "bearer", ["pull"], EPROTOCOL, None),
    "realm-metadata": ("realm-metadata", "bearer", ["pull"], EPROTOCOL,
                       lambda r, e: None if r["elapsed_ms"] < 3000 else "took %d ms" % r["elapsed_ms"]),
    "realm-userinfo": ("realm-userinfo", "bearer", ["pull"], EPROTOCOL, None),
    # The realm's name resolves (here through the client's resolve list) to
    # the metadata address: refused when the token request connects. Run in
    # a network namespace of its own, so that a client that did connect
    # reaches nothing outside this machine (ENETWORK then).
    "realm-resolves-metadata": ("realm-resolves-metadata", "bearer", ["pull"], EPROTOCOL,
                                lambda r, e: None if "link-local" in r["message"]
                                else "message: %s" % r["message"]),
    "redirect-20": ("redirect-20", "basic", ["pull"], EPROTOCOL,
                    lambda r, e: None if 1 <= len(requests(e, "registry", "/redirect/")) <= 10
                    else "%d redirect hops followed" % len(requests(e, "registry", "/redirect/"))),
    "redirect-foreign-blob-basic": ("redirect-foreign-blob", "basic", ["pull"], 0,
                                    lambda r, e: None if requests(e, "foreign", "/blobs/")
                                    else "no blob came from the other origin (test broken)"),
    "redirect-foreign-blob-bearer": ("redirect-foreign-blob", "bearer", ["pull"], 0, None),
    "redirect-pingpong": ("redirect-pingpong", "basic", ["manifest-fetch", "latest"], EPROTOCOL,
                          lambda r, e: None if len(requests(e, "foreign")) <= 10
                          else "%d hops" % len(requests(e, "foreign"))),
    "link-loop": ("link-loop", "basic", ["tags"], 0,
                  lambda r, e: None if r["names"] == ["a", "b", "c"] and
                  len(requests(e, "registry", "/tags/list")) <= 3 else "names %s after %d pages" % (
                      r["names"], len(requests(e, "registry", "/tags/list")))),
    "link-foreign-basic": ("link-foreign", "basic", ["tags"], 0,
                           lambda r, e: None if r["names"] == ["a", "b", "c", "z1", "z2"]
                           else "names %s" % r["names"]),
    "link-foreign-bearer": ("link-foreign", "bearer", ["tags"], 0, None),
    "json-bomb-manifest": ("json-bomb-manifest", "basic", ["pull"], EFORMAT, None),
    "json-bomb-token": ("json-bomb-token", "bearer", ["pull"], EPROTOCOL, None),
    "json-bomb-tags": ("json-bomb-tags", "basic", ["tags"], EFORMAT, None),
    "json-bomb-error": ("json-bomb-error", "basic", ["pull"], ENOTFOUND, None),
    "header-flood": ("header-flood", "basic", ["pull"], EPROTOCOL, None),
    "tls-expired": ("tls-expired", "none", ["ping"], ETLS, None),
    "tls-wrong-host": ("tls-wrong-host", "none", ["ping"], ETLS, None),
    "tls-self-signed": ("tls-self-signed", "none", ["ping"], ETLS, None),
    # -- issue 14: uploads, pagination, fan-out (one block) --
    # 5000 pages whose Link URLs are 8000 characters, then a loop: the seen
    # set keeps a hash per page (40 MB of URLs before), and the loop ends it.
    "link-long-urls": ("link-long-urls", "basic", ["tags"], 0,
                       lambda r, e: None if r["names"] == ["a", "b", "c"] and
                       hr.LONG_PAGES < len(requests(e, "registry", "/tags/list")) <= hr.LONG_PAGES + 2 and
                       r["maxrss_kb"] < 40 * 1024 else "names %s after %d pages, peak RSS %d KiB" % (
                           r["names"], len(requests(e, "registry", "/tags/list")), r["maxrss_kb"])),
    # A registry that takes one byte of each PATCH: too little to count as
    # progress, so the retry budget (3 retries) ends it, not the blob's size
    # (100 KiB: one request a byte before).
    "upload-crawl": ("upload-crawl", "basic", ["upload-chunked"], EPROTOCOL,
                     lambda r, e: None if 1 <= len(patches(e)) <= 4
                     else "%d PATCH requests" % len(patches(e))),
    # PATCH answered 503 + Retry-After: 30; the cancel hook fires after 1.5 s,
    # during that wait: ECANCELED long before the 30 s are over.
    "upload-cancel-backoff": ("upload-retry-after", "basic", ["upload-cancel"], ECANCELED,
                              lambda r, e: None if patches(e) and r["elapsed_ms"] < 10000
                              else "%d PATCH requests, %d ms" % (len(patches(e)), r["elapsed_ms"])),
    # An index whose 100 entries name one 3 MiB child, and one of 16 distinct
    # 3 MiB children: each child fetched once, and at most the fan-out budget
    # (8 MiB of children) held at once, for a pull of every platform and a copy.
    "fanout-same-pull": ("fanout-same", "basic", ["pull-all"], 0, lambda r, e: fanout_check(r, e, 1)),
    "fanout-same-copy": ("fanout-same", "basic", ["copy"], 0, lambda r, e: fanout_check(r, e, 1)),
    "fanout-distinct-pull": ("fanout-distinct", "basic", ["pull-all"], 0,
                             lambda r, e: fanout_check(r, e, hr.FANOUT_DISTINCT)),
    "fanout-distinct-copy": ("fanout-distinct", "basic", ["copy"], 0,
                             lambda r, e: fanout_check(r, e, hr.FANOUT_DISTINCT)),
}


# ---- The request path (issue 14): re-requests spend the retry budget (3
# retries by default: at most 4 tries of the blob), a redirect target that
# fails sends the retry back to the registry for a fresh redirect, headers
# are whole or refused, `insecure` covers the registry's own origin only.
RETRIES = 3


def blob_gets(entries, origin="registry"):
    return len([e for e in requests(entries, origin, "/blobs/" + L0) if e["method"] == "GET"])


def bounded(what):
    """At most the retry budget of tries, more than one (the retry happened),
    and a message that says what the server did."""
    def check(r, e):
        n = blob_gets(e)
        if not 2 <= n <= RETRIES + 1:
            return "%d requests for the blob" % n
        if what not in r["message"]:
            return "message does not say %r: %s" % (what, r["message"])
        return None
    return check


def cdn_refreshed(r, e):
    regs = blob_gets(e)
    ranged = [x for x in requests(e, "foreign", "/cdn/" + L0)
              if any(k.lower() == "range" for k, _ in x["headers"])]
    if regs < 2 or not ranged:
        return "%d registry requests for the blob, %d ranged CDN requests" % (regs, len(ranged))
    return None


def token_16k_used(r, e):
    auths = [v for x in requests(e, "registry", "/blobs/") for k, v in x["headers"]
             if k.lower() == "authorization"]
    if not auths or min(len(v) for v in auths) < 16384:
        return "blob requests carried tokens of %s bytes" % sorted({len(v) for v in auths})
    return None


CASES.update({
    "blob-416": ("blob-416", "basic", ["pull"], EPROTOCOL, bounded("416")),
    "blob-206-no-range": ("blob-206-no-range", "basic", ["pull"], EPROTOCOL, bounded("206")),
    "blob-206-wrong-offset": ("blob-206-wrong-offset", "basic", ["pull"], EPROTOCOL, bounded("206")),
    "redirect-cdn-expiring": ("redirect-cdn-expiring", "bearer", ["pull"], 0, cdn_refreshed),
    "token-16k": ("token-16k", "bearer", ["pull"], 0, token_16k_used),
    "link-oversized": ("link-oversized", "basic", ["tags"], EPROTOCOL,
                       lambda r, e: None if "'Link'" in r["message"] else "message: %s" % r["message"]),
    "foreign-tls-untrusted": ("foreign-tls-untrusted", "basic", ["pull"], ETLS,
                              lambda r, e: None if blob_gets(e) else "no blob request (test broken)"),
    "realm-tls-untrusted": ("realm-tls-untrusted", "bearer", ["pull"], ETLS, None),
    "realm-http-insecure": ("realm-http", "bearer", ["pull"], EPROTOCOL,
                            lambda r, e: None if not requests(e, "foreign", "/token")
                            else "the plain-HTTP realm was asked for a token"),
})
# Cases run with an insecure client (registry_client_set_insecure).
INSECURE_CASES = {"foreign-tls-untrusted", "realm-tls-untrusted", "realm-http-insecure"}


def patches(entries):
    return [e for e in requests(entries, "registry", "/blobs/uploads/") if e["method"] == "PATCH"]


def fanout_check(r, entries, distinct):
    """Each child fetched once (GET manifests/<digest>), peak RSS < 64 MiB."""
    gets = [x for x in requests(entries, "registry", "/manifests/sha256:") if x["method"] == "GET"]
    if len(gets) != distinct or r["maxrss_kb"] >= 64 * 1024:
        return "%d child manifest GETs for %d children, peak RSS %d KiB" % (
            len(gets), distinct, r["maxrss_kb"])
    return None


# -- errors (issue 14): the record after every failure ---------------------------
def has_control_chars(message):
    # rel-hostile writes each byte >= 0x7f as \u00XX: back to the bytes, then UTF-8.
    text = message.encode("latin-1", "replace").decode("utf-8", "replace")
    return any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in text)


def no_control_chars(r, e):
    return "control characters in the message: %r" % r["message"] if has_control_chars(r["message"]) else None


CASES.update({
    # The https attempt and the plain-http one both meet a closed connection:
    # the last attempt's failure must stay in the record.
    "close-at-contact": ("close-at-contact", "none", ["ping"], ENETWORK, None),
    "server-error-5xx": ("server-error-5xx", "basic", ["pull"], ESERVER,
                         lambda r, e: None if r["http"] == 500 else "http %d" % r["http"]),
    "escape-error-message": ("escape-error-message", "basic", ["pull"], ENOTFOUND, no_control_chars),
    "escape-realm": ("escape-realm", "bearer", ["pull"], EPROTOCOL, no_control_chars),
})


def pulled(names, also=None):
    """An artifact pull left exactly @names in the pulled folder, nothing at
    store/x (where "../x" would land), and @also (a path under the store and
    its content) unchanged."""
    def check(r, e):
        if sorted(r["names"]) != sorted(names):
            return "the pulled folder holds %s, want %s" % (r["names"], names)
        store = os.environ.get("HOSTILE_CHECK_STORE", "")
        if store and os.path.lexists(os.path.join(store, "x")):
            return "a file was written at store/x"
        if also and store:
            with open(os.path.join(store, also[0]), "rb") as f:
                if f.read() != also[1]:
                    return "%s was written through" % also[0]
        return no_control_chars(r, e)
    return check


# Issue 18: artifact titles are hostile. Each refused title fails the pull
# with EINVAL before anything is written; the control pulls one file.
ARTIFACT_CASES = {
    "artifact-title-control": (["ok"], 0, ["ok.txt"]),
    "artifact-title-dotdot-x": (["dotdot-x"], EINVAL, []),
    "artifact-title-absolute": (["abs"], EINVAL, []),
    "artifact-title-slash": (["slash"], EINVAL, []),
    "artifact-title-empty": (["empty"], EINVAL, []),
    "artifact-title-dotdot": (["dotdot"], EINVAL, []),
    # A NUL inside a JSON string is refused by the manifest parser already.
    "artifact-title-nul": (["nul"], EFORMAT, []),
    "artifact-title-control-char": (["ctrl"], EINVAL, []),
    "artifact-title-newline": (["newline"], EINVAL, []),
    "artifact-title-duplicate": (["dup"], EINVAL, []),
    "artifact-title-too-many": (["many"], EINVAL, []),
    # A symlink planted in the folder under the title: never followed, never replaced.
    "artifact-title-symlink": (["ok", "symlink"], ECONFLICT, ["ok.txt"]),
}
for _id, (_args, _rc, _names) in ARTIFACT_CASES.items():
    CASES[_id] = ("artifact-titles", "basic", ["artifact-pull"] + _args, _rc,
                  pulled(_names, ("victim", b"keep") if "symlink" in _args else None))


def record_problems(r):
    """For every failure: the thread's record holds the returned code, a real
    message (not empty, not "success") without control characters, and the
    HTTP status when the message names one."""
    if r["rc"] == 0:
        return []
    problems = []
    if r.get("code") != r["rc"]:
        problems.append("the error record holds code %s, the call returned %d" % (r.get("code"), r["rc"]))
    message = r["message"]
    if not message.strip() or message.strip().lower() == "success" or message.endswith(": success"):
        problems.append("the error message is %r" % message)
    if has_control_chars(message):
        problems.append("control characters in the message: %r" % message)
    m = re.search(r"\bHTTP (\d{3})\b", message)
    if m and r["http"] != int(m.group(1)):
        problems.append("the message names HTTP %s, the record's status is %d" % (m.group(1), r["http"]))
    return problems


def files_outside(root, store):
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.commonpath([path, store]) != store:
                bad.append(os.path.relpath(path, root))
    return bad


def leaks(entries, secret_list):
    found = []
    for e in requests(entries, "foreign"):
        text = json.dumps(e["headers"]) + e["path"] + e.get("body", "")
        if any(k.lower() == "authorization" for k, _ in e["headers"]):
            found.append("%s %s carried Authorization" % (e["method"], e["path"]))
        for s in secret_list:
            if s and s in text:
                found.append("%s %s carried a secret (%s...)" % (e["method"], e["path"], s[:6]))
    return found


NETNS_CASES = {"realm-resolves-metadata"}


def in_private_netns(exe, case_id):
    """Run one case again inside a network namespace with only a loopback
    interface (unshare -n): nothing it does can leave the machine."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("SKIP %s: needs root, unshare and ip (a private network namespace)" % case_id)
        return None
    env = dict(os.environ, HOSTILE_NETNS="1")
    p = subprocess.run(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                        sys.executable, os.path.abspath(__file__), exe, case_id],
                       env=env, capture_output=True, text=True, timeout=150)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode == 0:
        return []
    if p.returncode == 77:
        return None
    return ["in the private network namespace: exit %d" % p.returncode]


# Cases that bound peak RSS tightly (issue 14). Under AddressSanitizer the
# quarantine keeps up to 256 MB of freed memory resident, which says nothing
# about what the library holds: it is turned off for them.
RSS_CASES = {"link-long-urls", "fanout-same-pull", "fanout-same-copy", "fanout-distinct-pull",
             "fanout-distinct-copy"}


def run_case(exe, case_id):
    if case_id in NETNS_CASES and os.environ.get("HOSTILE_NETNS") != "1":
        return in_private_netns(exe, case_id)
    server_case, auth, op, expected, extra = CASES[case_id]
    password = "pw-" + secrets.token_hex(12)
    work = tempfile.mkdtemp(prefix="hostile-test-")
    aside = tempfile.mkdtemp(prefix="hostile-server-")  # the server's log and certificates
    root = os.path.join(work, "a", "b")
    store = os.path.join(root, "store")
    os.makedirs(root)
    try:
        reg = hr.HostileRegistry(server_case, auth, password, log=os.path.join(aside, "log.jsonl"),
                                 tls=case_id == "control-tls", cert_dir=aside).start()
    except ImportError as e:  # TLS cases make certificates with python3-cryptography
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
        print("SKIP %s: %s" % (case_id, e))
        return None
    errors = []
    try:
        os.environ["HOSTILE_CHECK_STORE"] = store  # for the artifact checks
        env = dict(os.environ, HOSTILE_HOST=reg.host, HOSTILE_STORE=store,
                   HOSTILE_PASSWORD=password if auth != "none" else "")
        env.pop("HOSTILE_CA", None)
        if reg.ca:
            env["HOSTILE_CA"] = reg.ca
        env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
        if case_id in RSS_CASES and env.get("ASAN_OPTIONS"):
            env["ASAN_OPTIONS"] += ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
        env.pop("HOSTILE_RESOLVE", None)
        env.pop("HOSTILE_INSECURE", None)
        if case_id in INSECURE_CASES:
            env["HOSTILE_INSECURE"] = "1"
        if server_case == "realm-resolves-metadata":
            env["HOSTILE_RESOLVE"] = "metadata-alias.test:%s:169.254.169.254" % reg.host.rsplit(":", 1)[1]
        started = time.monotonic()
        proc = subprocess.run([exe] + op, env=env, capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
        if proc.returncode != 0 or not proc.stdout.strip():
            errors.append("rel-hostile exited %d: %s" % (proc.returncode, proc.stderr[-3000:]))
            return errors
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        entries = reg.entries()
        print("%-32s %s rc=%d %s (%s) %.1fs, %d requests (%d to the other origin)" % (
            case_id, " ".join(op[:1]), r["rc"], r["error"], r["message"][:150], took,
            len(requests(entries, "registry")), len(requests(entries, "foreign"))))
        if r["rc"] != expected:
            errors.append("rc %d (%s: %s), expected %d" % (r["rc"], r["error"], r["message"], expected))
        errors += record_problems(r)
        errors += leaks(entries, reg.secrets())
        if password in r["message"]:
            errors.append("the error message shows the password")
        outside = files_outside(work, store)
        if outside:
            errors.append("files outside the store: %s" % outside[:5])
        if r["verify_rc"] != 0 or r["verify_bad"]:
            errors.append("store verify: rc %d, %d problems" % (r["verify_rc"], r["verify_bad"]))
        if r["fds_after"] != r["fds_before"]:
            errors.append("descriptors: %d before, %d after" % (r["fds_before"], r["fds_after"]))
        if extra:
            msg = extra(r, entries)
            if msg:
                errors.append(msg)
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
    return errors


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    exe = sys.argv[1]
    ids = list(CASES) if sys.argv[2:] == ["all"] else sys.argv[2:]
    failed = skipped = 0
    for case_id in ids:
        errors = run_case(exe, case_id)
        if errors is None:
            skipped += 1
            continue
        for e in errors:
            print("FAIL %s: %s" % (case_id, e))
        failed += bool(errors)
    print("%d hostile cases, %d failed, %d skipped" % (len(ids), failed, skipped))
    if failed:
        return 1
    return 77 if skipped == len(ids) else 0


if __name__ == "__main__":
    sys.exit(main())
