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

Wrapper use (it starts, exports, runs, stops):

  fault_proxy.py [rules] -- CMD [ARGS...]

with REGISTRY_TEST_URL naming the upstream (the harness sets it). CMD sees
REGISTRY_TEST_PROXY_HOST ("127.0.0.1:PORT") and REGISTRY_TEST_PROXY_LOG.
"""
import argparse
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailers", "transfer-encoding", "upgrade"}


class Rules:
    def __init__(self, fail, match, method=None, after=False, strip_query=None):
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

    def page(self, method, path, resp):
        """With --paginate-tags, (body, link) of the page @path asks for, else None."""
        split = urllib.parse.urlsplit(path)
        if not self.paginate or method != "GET" or resp.status != 200 or \
                not split.path.endswith("/tags/list"):
            return None
        doc = json.loads(resp.read())
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


def make_handler(upstream, rules, log_path, ca, links=None):
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
            entry = {"time": time.time(), "method": self.command, "path": self.path,
                     "headers": {k: v for k, v in self.headers.items()},
                     "status": status, "fault": fault}
            with log_lock, open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                data = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(data)
                    data += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self):
            body = self.read_body()
            fault = rules.fault_for(self.path, self.command)
            if fault and rules.after:
                conn = connect()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if body or self.command in ("PUT", "POST", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                conn.request(self.command, rules.upstream_path(self.path), body=body or None,
                             headers=headers)
                conn.getresponse().read()
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
            conn = connect()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, rules.upstream_path(self.path), body=body or None,
                         headers=headers)
            resp = conn.getresponse()
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
            while self.command != "HEAD" and not page:
                chunk = resp.read(65536)
                if not chunk:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            conn.close()
            self.record(resp.status, None)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    return Handler


def serve(upstream, rules, log_path, ca, links=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             make_handler(upstream, rules, log_path, ca, links))
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
    ap.add_argument("--upstream", default=os.environ.get("REGISTRY_TEST_URL"))
    opts = ap.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not opts.upstream or not cmd:
        print("fault_proxy: need an upstream (REGISTRY_TEST_URL) and a command", file=sys.stderr)
        return 2
    fail = []
    for f in opts.fail:
        parts = f.split(":")
        fail.append([int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else None])
    log_fd, log_path = tempfile.mkstemp(prefix="fault-proxy-", suffix=".jsonl")
    os.close(log_fd)
    server = serve(opts.upstream, Rules(fail, opts.match, opts.method, opts.after, opts.strip_query), log_path, os.environ.get("REGISTRY_TEST_CA"),
                   LinkRewriter(opts.link_rewrite, opts.paginate_tags))
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
