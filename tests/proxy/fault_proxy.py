#!/usr/bin/env python3
"""A fault-injecting reverse proxy between a client and the real registry.

This is the one hand-written server of the tests: no real server fails on
demand. It forwards every request to the upstream registry (keeping the Host
header, so the registry's absolute Location URLs point back at the proxy),
records each request as a JSON line, and injects faults by rule:

  --fail N:STATUS[:RETRY_AFTER]   answer the first N requests (matching
                                  --match, if given) with STATUS and an error
                                  JSON body, with a Retry-After header when given
  --match REGEX                   faults apply only to paths matching REGEX
  --method METHOD                 faults apply only to this method (e.g. PATCH)
  --after                         forward a faulted request to the registry
                                  first and answer the fault instead of its
                                  response (a response lost after the work)
  --strip-query REGEX             remove what REGEX matches from the query of
                                  every forwarded request (e.g. "mount=[^&]*&?"
                                  makes the registry see a plain upload POST)
  --paginate-tags                 page 200 tags/list answers as distribution 3
                                  does (registry 2.8 ignores n): tags sorted,
                                  the n and last query parameters applied, and
                                  a Link header to the next page when more remain
  --link-rewrite MODE             rewrite the Link header of 200 tags/list
                                  responses: "same" points every page at
                                  itself, "first" points every page after the
                                  first back at the first page, "localhost"
                                  keeps the registry's target but on the
                                  origin http://localhost:PROXY_PORT (another
                                  origin than 127.0.0.1: no credentials)

  --rate BYTES_PER_S              send each answer's body at most this fast
                                  (a slow link, for benchmarks: bench/)
  --ignore-range                  drop the Range header of forwarded requests,
                                  so that the registry answers 200 with the
                                  whole body: a server that ignores Range
  --stall N                       stall (1 byte/s after half the body) the
                                  first N GET answers matching --match
  --chaos SEED:RATE               a seeded random schedule: each request
                                  is faulted with probability RATE (0..1),
                                  the fault drawn from: connection reset
                                  mid-body, truncated body, stall (slow-loris,
                                  1 byte/s), 500/502/503/429 with and without
                                  Retry-After, a flipped byte (blob and
                                  manifest bodies), duplicated headers, and a
                                  Content-Length longer or shorter than the
                                  body. Mutating requests are faulted before
                                  or after the registry saw them. The draw
                                  depends only on SEED, the request (method,
                                  path without upload ids and query) and how
                                  many times it was made, so a seed replays
                                  the same schedule whatever the timing.
  --chaos-faults LIST             only these faults (comma-separated names)
  --stall-max SECONDS             longest stall before the proxy gives up (30)

Wrapper use (it starts, exports, runs, stops):

  fault_proxy.py [rules] -- CMD [ARGS...]

with REGISTRY_TEST_URL naming the upstream (the harness sets it). CMD sees
REGISTRY_TEST_PROXY_HOST ("127.0.0.1:PORT") and REGISTRY_TEST_PROXY_LOG.
"""
import argparse
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from request_body import read_request_body

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailers", "transfer-encoding", "upgrade"}


class Rules:
    def __init__(self, fail, match, method=None, after=False, strip_query=None, stall=0,
                 ignore_range=False):
        self.stall = stall
        # Request headers not forwarded: hop-by-hop ones, and Range when the
        # registry is to look like a server that ignores it (answers 200).
        self.dropped_headers = HOP_BY_HOP | ({"range"} if ignore_range else set())
        self.method = method
        self.after = after
        self.strip = re.compile(strip_query) if strip_query else None
        self.lock = threading.Lock()
        self.fail = list(fail)  # [remaining, status, retry_after]
        self.match = re.compile(match) if match else None
        self.count = 0

    def upstream_path(self, path):
        if not self.strip or "?" not in path:
            return path
        base, query = path.split("?", 1)
        query = self.strip.sub("", query).strip("&")
        return base + ("?" + query if query else "")

    def take_stall(self, path, method):
        with self.lock:
            if self.stall <= 0 or method != "GET" or (self.match and not self.match.search(path)):
                return False
            self.stall -= 1
            return True

    def fault_for(self, path, method=None):
        with self.lock:
            self.count += 1
            if self.match and not self.match.search(path):
                return None
            if self.method and method != self.method:
                return None
            for rule in self.fail:
                if rule[0] > 0:
                    rule[0] -= 1
                    return rule[1], rule[2]
        return None


class LinkRewriter:
    """The --link-rewrite modes, applied to 200 answers of GET .../tags/list."""

    def __init__(self, mode, paginate=False):
        self.mode = mode
        self.paginate = paginate
        self.lock = threading.Lock()
        self.first = None

    def page(self, method, path, resp, data=None):
        """With --paginate-tags, (body, link) of the page @path asks for, else
        None. The registry's body is read from @resp, or given as @data."""
        split = urllib.parse.urlsplit(path)
        if not self.paginate or method != "GET" or resp.status != 200 or \
                not split.path.endswith("/tags/list"):
            return None
        doc = json.loads(resp.read() if data is None else data)
        query = urllib.parse.parse_qs(split.query)
        tags = sorted(doc.get("tags") or [])
        last = query.get("last", [None])[0]
        if last is not None:
            tags = [t for t in tags if t > last]
        link = None
        if "n" in query:
            n = int(query["n"][0])
            if len(tags) > n:
                q = urllib.parse.urlencode({"last": tags[n - 1], "n": n})
                link = f'<{split.path}?{q}>; rel="next"'
            tags = tags[:n]
        body = json.dumps({"name": doc.get("name"), "tags": tags}).encode()
        return body, link

    def rewrite(self, method, path, status, link, port):
        """The Link value to send instead of @link (None: send none)."""
        if not self.mode or method != "GET" or status != 200 or \
                not urllib.parse.urlsplit(path).path.endswith("/tags/list"):
            return link
        with self.lock:
            is_first = self.first is None
            if is_first:
                self.first = path
        if self.mode == "same":
            return f'<{path}>; rel="next"'
        if self.mode == "first":
            return link if is_first else f'<{self.first}>; rel="next"'
        if self.mode == "localhost" and link:
            target = re.match(r"\s*<([^>]*)>(.*)", link)
            if target:
                parts = urllib.parse.urlsplit(target.group(1))
                rest = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
                return f"<http://localhost:{port}{rest}>{target.group(2)}"
        return link


class Chaos:
    """The --chaos schedule: which fault, if any, a request gets."""

    # name -> weight; applicability is decided per request in pick()
    WEIGHTS = {"reset": 2, "truncate": 2, "stall": 0.4, "500": 1, "502": 1, "503": 1,
               "503-retry-after": 0.5, "429": 0.5, "429-retry-after": 1, "flip": 1.5,
               "dup-headers": 1, "length-long": 1, "length-short": 1}
    BODY_FAULTS = {"truncate", "flip", "length-long", "length-short"}

    def __init__(self, spec, only=None, stall_max=30.0):
        seed, rate = spec.split(":")
        self.seed, self.rate = seed, float(rate)
        self.only = set(only.split(",")) if only else None
        if self.only and not self.only <= set(self.WEIGHTS):
            raise SystemExit("fault_proxy: unknown faults %s" % (self.only - set(self.WEIGHTS)))
        self.stall_max = stall_max
        self.lock = threading.Lock()
        self.seen = {}

    @staticmethod
    def key(method, path):
        p = urllib.parse.urlsplit(path).path
        p = re.sub(r"/blobs/uploads/[^/]+", "/blobs/uploads/ID", p)
        return method + " " + p

    def draw(self, key, n, salt):
        h = hashlib.sha256(("%s|%s|%d|%s" % (self.seed, key, n, salt)).encode()).digest()
        return int.from_bytes(h[:8], "big") / 2.0 ** 64

    def pick(self, method, path):
        """(fault, before) or None. before: fault a mutating request before
        the registry sees it (else after: the work is done, the answer lost)."""
        key = self.key(method, path)
        with self.lock:
            n = self.seen.get(key, 0)
            self.seen[key] = n + 1
        if self.draw(key, n, "rate") >= self.rate:
            return None
        names = [f for f in self.WEIGHTS if not self.only or f in self.only]
        if method == "HEAD" or method in ("PUT", "POST", "PATCH", "DELETE"):
            names = [f for f in names if f not in self.BODY_FAULTS and f != "stall"] or names
        if "/blobs/" not in path and "/manifests/" not in path:
            names = [f for f in names if f != "flip"] or names
        total = sum(self.WEIGHTS[f] for f in names)
        u = self.draw(key, n, "which") * total
        for f in names:
            u -= self.WEIGHTS[f]
            if u < 0:
                break
        return f, self.draw(key, n, "when") < 0.5


RATE = [0.0]  # --rate, bytes per second of each answer's body (0: no limit)


def reset_connection(sock):
    """Close with an RST instead of a FIN: the client sees a reset."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def make_handler(upstream, rules, log_path, ca, links=None, chaos=None):
    up = urllib.parse.urlsplit(upstream)
    log_lock = threading.Lock()
    links = links or LinkRewriter(None)

    def connect():
        if up.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
            return http.client.HTTPSConnection(up.hostname, up.port, context=ctx, timeout=60)
        return http.client.HTTPConnection(up.hostname, up.port, timeout=60)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def record(self, status, fault):
            # client_port tells the connections apart (one port per connection).
            entry = {"time": time.time(), "method": self.command, "path": self.path,
                     "client_port": self.client_address[1],
                     "headers": {k: v for k, v in self.headers.items()},
                     "status": status, "fault": fault}
            with log_lock, open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

        def read_body(self):
            return read_request_body(self)

        def forward(self, body):
            """Send the request upstream: (connection, response), headers read."""
            conn = connect()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in rules.dropped_headers}
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, rules.upstream_path(self.path), body=body or None,
                         headers=headers)
            return conn, conn.getresponse()

        def handle_any(self):
            body = self.read_body()
            if rules.take_stall(self.path, self.command):
                return self.chaos_fault(body, "stall", False)
            if chaos:
                picked = chaos.pick(self.command, self.path)
                if picked:
                    return self.chaos_fault(body, *picked)
            fault = rules.fault_for(self.path, self.command)
            if fault and rules.after:
                conn, resp = self.forward(body)
                resp.read()
                conn.close()
            if fault:
                status, retry_after = fault
                payload = json.dumps({"errors": [{"code": "UNAVAILABLE" if status != 429 else "TOOMANYREQUESTS",
                                                  "message": "injected by fault_proxy"}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                self.record(status, f"status {status}" + (" after forwarding" if rules.after else ""))
                return
            conn, resp = self.forward(body)
            page = links.page(self.command, self.path, resp)
            self.send_response(resp.status, resp.reason)
            length = str(len(page[0])) if page else resp.getheader("Content-Length")
            link = links.rewrite(self.command, self.path, resp.status,
                                 page[1] if page else resp.getheader("Link"),
                                 self.server.server_address[1])
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "link" and \
                        not (page and k.lower() == "content-length"):
                    self.send_header(k, v)
            if page:
                self.send_header("Content-Length", length)
            if link:
                self.send_header("Link", link)
            chunked = length is None and self.command != "HEAD" and resp.status not in (204, 304)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if page:
                self.wfile.write(page[0])
            start, sent = time.monotonic(), 0
            while self.command != "HEAD" and not page:
                chunk = resp.read(65536)
                if not chunk:
                    break
                if RATE[0]:  # --rate: this answer's bytes so far, no faster than the rate
                    sent += len(chunk)
                    time.sleep(max(0.0, start + sent / RATE[0] - time.monotonic()))
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            conn.close()
            self.record(resp.status, None)

        def forward_whole(self, body):
            """Forward the request; (status, reason, headers, body) of the answer."""
            conn, resp = self.forward(body)
            data = resp.read() if self.command != "HEAD" else b""
            hdrs = [(k, v) for k, v in resp.getheaders()
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            length = resp.getheader("Content-Length")
            conn.close()
            page = links.page(self.command, self.path, resp, data)
            if page:  # faults apply to the page the client asked for
                data, link = page
                length = str(len(data))
                hdrs = [(k, v) for k, v in hdrs if k.lower() != "link"]
                if link:
                    hdrs.append(("Link", link))
            return resp.status, resp.reason, hdrs, data, length

        def head_bytes(self, status, reason, hdrs, length):
            lines = ["HTTP/1.1 %d %s" % (status, reason)]
            lines += ["%s: %s" % (k, v) for k, v in hdrs]
            if length is not None:
                lines.append("Content-Length: %s" % length)
            lines.append("Connection: close")
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

        def chaos_fault(self, body, fault, before):
            """Answer with @fault instead of the registry's plain answer."""
            self.close_connection = True
            mutating = self.command in ("PUT", "POST", "PATCH", "DELETE")
            label = fault + (" before" if before and mutating else "")
            if fault[0].isdigit():
                status = int(fault[:3])
                if mutating and not before:
                    self.forward_whole(body)  # the registry did the work; the answer is lost
                payload = json.dumps({"errors": [{"code": "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE",
                                                  "message": "injected by fault_proxy --chaos"}]}).encode()
                hdrs = [("Content-Type", "application/json")]
                if fault.endswith("retry-after"):
                    hdrs.append(("Retry-After", "1"))
                self.wfile.write(self.head_bytes(status, "Injected", hdrs, len(payload)))
                if self.command != "HEAD":
                    self.wfile.write(payload)
                self.record(status, label)
                return
            if fault == "reset" and mutating and before:
                reset_connection(self.connection)
                self.record(0, label)
                return
            status, reason, hdrs, data, length = self.forward_whole(body)
            # HEAD keeps the registry's length (a blob's size); bodies are re-counted.
            if self.command == "HEAD":
                out_len = length
            else:
                out_len = len(data) if length is not None or data else None
            # Logged before the fault plays out: a stall may outlast the client.
            self.record(status, label)
            try:
                if fault == "reset":
                    self.wfile.write(self.head_bytes(status, reason, hdrs, out_len))
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    reset_connection(self.connection)
                elif fault == "truncate":
                    self.wfile.write(self.head_bytes(status, reason, hdrs, out_len))
                    self.wfile.write(data[:len(data) // 2])
                elif fault == "stall":
                    # --stall: half the body first (a resume has something to
                    # resume); a --chaos stall trickles from the status line.
                    whole = self.head_bytes(status, reason, hdrs, out_len) + data
                    cut = len(whole) - len(data) // 2 if data and not chaos else 12
                    self.wfile.write(whole[:cut])
                    self.wfile.flush()
                    deadline = time.monotonic() + (chaos.stall_max if chaos else 30.0)
                    for i in range(cut, len(whole)):
                        if time.monotonic() > deadline:
                            break
                        time.sleep(1.0)
                        self.wfile.write(whole[i:i + 1])
                        self.wfile.flush()
                elif fault == "flip":
                    if data:
                        pos = int(chaos.draw(self.path, len(data), "pos") * len(data))
                        data = data[:pos] + bytes([data[pos] ^ 0x20]) + data[pos + 1:]
                    self.wfile.write(self.head_bytes(status, reason, hdrs, out_len) + data)
                elif fault == "dup-headers":
                    dup = [(k, v) for k, v in hdrs if k.lower() in
                           ("content-type", "docker-content-digest", "location", "range", "link")]
                    extra = [("Content-Length", str(out_len))] if out_len is not None else []
                    self.wfile.write(self.head_bytes(status, reason, hdrs + dup + extra, out_len) + data)
                elif fault == "length-long":
                    self.wfile.write(self.head_bytes(status, reason, hdrs, len(data) + 100) + data)
                elif fault == "length-short":
                    n = max(len(data) - 1, 0)
                    self.wfile.write(self.head_bytes(status, reason, hdrs, n) + data[:n])
                self.wfile.flush()
            except OSError:
                pass  # the client gave up (a stall is meant to end that way)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    return Handler


class Server(http.server.ThreadingHTTPServer):
    # The listen backlog: socketserver's 5 dropped the SYNs of a client
    # opening 66 connections at once (loop-direct-dry), whose retries then
    # came seconds later.
    request_queue_size = 256


def serve(upstream, rules, log_path, ca, links=None, chaos=None):
    server = Server(("127.0.0.1", 0), make_handler(upstream, rules, log_path, ca, links, chaos))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("--match")
    ap.add_argument("--method")
    ap.add_argument("--after", action="store_true")
    ap.add_argument("--strip-query")
    ap.add_argument("--link-rewrite", choices=["same", "first", "localhost"])
    ap.add_argument("--paginate-tags", action="store_true")
    ap.add_argument("--stall", type=int, default=0)
    ap.add_argument("--ignore-range", action="store_true")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--chaos")
    ap.add_argument("--chaos-faults")
    ap.add_argument("--stall-max", type=float, default=30.0)
    ap.add_argument("--upstream", default=os.environ.get("REGISTRY_TEST_URL"))
    opts = ap.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not opts.upstream or not cmd:
        print("fault_proxy: need an upstream (REGISTRY_TEST_URL) and a command", file=sys.stderr)
        return 2
    RATE[0] = opts.rate
    fail = []
    for f in opts.fail:
        parts = f.split(":")
        fail.append([int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else None])
    log_fd, log_path = tempfile.mkstemp(prefix="fault-proxy-", suffix=".jsonl")
    os.close(log_fd)
    server = serve(opts.upstream, Rules(fail, opts.match, opts.method, opts.after, opts.strip_query, opts.stall,
                                                 opts.ignore_range), log_path, os.environ.get("REGISTRY_TEST_CA"),
                   LinkRewriter(opts.link_rewrite, opts.paginate_tags),
                   Chaos(opts.chaos, opts.chaos_faults, opts.stall_max) if opts.chaos else None)
    env = dict(os.environ)
    env["REGISTRY_TEST_PROXY_HOST"] = f"127.0.0.1:{server.server_address[1]}"
    env["REGISTRY_TEST_PROXY_LOG"] = log_path
    proc = subprocess.Popen(cmd, env=env)
    signal.signal(signal.SIGTERM, lambda *a: proc.terminate())
    try:
        rc = proc.wait()
    finally:
        server.shutdown()
        server.server_close()
        if not os.environ.get("REGISTRY_TEST_KEEP"):
            os.unlink(log_path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
