"""The "CDN" behind the registry's `redirect` storage middleware: a loopback
HTTP(S) server that serves the registry's storage folder, so the blob URLs the
registry redirects to (BASEURL + storage path) resolve, and logs every
request's headers as one JSON line (tests check that no credentials leak to
this second origin).

Single byte ranges (`Range: bytes=a-b`, `a-`, `-n`) are honoured with 206.
"""

import http.server
import os
import time
import urllib.parse

from harness_http import LoggedServer


class RedirectServer(LoggedServer):
    def __init__(self, root, log_path, tls_context=None):
        self.root = os.path.realpath(root)
        self._serve(log_path, _Handler, tls_context, "redirect-server")

    @property
    def url(self):
        return self.origin

    def resolve(self, url_path):
        """Storage file for a URL path, or None if outside the root."""
        path = os.path.realpath(os.path.join(self.root, url_path.lstrip("/")))
        if path != self.root and not path.startswith(self.root + os.sep):
            return None
        return path


def _parse_range(value, size):
    """(start, end_inclusive) for one satisfiable range, 'bad' when not
    satisfiable, None to ignore the header (absent, multiple or malformed)."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    first, sep, last = value[6:].strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "bad"
            return (max(0, size - n), size - 1) if size else "bad"
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start > end:
        return None
    if start >= size:
        return "bad"
    return start, min(end, size - 1)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds of silence before a connection is dropped
    server_version = "registry-harness-redirect/1"

    def log_message(self, fmt, *args):
        pass

    def _log(self, parsed, status, sent):
        headers = {}
        for k, v in self.headers.items():
            headers.setdefault(k, []).append(v)
        self.server.owner.log({
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": self.command,
            "path": parsed.path,
            "query": urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            "headers": headers,
            "authorization": self.headers.get("Authorization") is not None,
            "status": status,
            "bytes": sent,  # body bytes the response carries
        })

    # Each request is logged before its response is sent, so a client that
    # has the response can rely on the log line being there.
    def _plain(self, parsed, status, text, extra=None):
        data = text.encode()
        self._log(parsed, status, 0)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = self.server.owner.resolve(urllib.parse.unquote(parsed.path))
        if path is None or not os.path.isfile(path):
            return self._plain(parsed, 404, "not found\n")
        size = os.path.getsize(path)
        rng = _parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            return self._plain(parsed, 416, "range not satisfiable\n",
                               {"Content-Range": "bytes */%d" % size})
        start, end = rng if rng else (0, size - 1)
        length = end - start + 1 if size else 0
        status = 206 if rng else 200
        self._log(parsed, status, 0 if self.command == "HEAD" else length)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = length
            while left > 0:
                chunk = f.read(min(left, 256 * 1024))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                left -= len(chunk)

    do_HEAD = do_GET
