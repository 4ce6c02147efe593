"""The threaded HTTP(S) server the harness's own servers (token, redirect)
share: the TLS handshake runs in each request's thread, not in the accept
loop, so one slow or broken client cannot stall the others."""

import http.server
import json
import socket
import threading


class TLSThreadingServer(http.server.ThreadingHTTPServer):
    """`owner.tls_context` (None for plain HTTP) is read for every
    connection; `owner` is what the handlers reach as `self.server.owner`."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, addr, handler, owner):
        self.owner = owner
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        ctx = self.owner.tls_context
        if ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(self.RequestHandlerClass.timeout)
        tls = ctx.wrap_socket(request, server_side=True)
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            tls.close()

    def handle_error(self, request, client_address):
        pass  # handshake failures and resets are the client's business


class LoggedServer:
    """A harness server: a TLSThreadingServer on a loopback port, run in a
    thread, that appends JSON records to a log. Subclasses call
    _serve(log_path, handler, tls_context, name) from __init__."""

    def _serve(self, log_path, handler, tls_context, name):
        self.tls_context = tls_context
        self._lock = threading.Lock()
        self._log_file = open(log_path, "a", buffering=1)
        self._httpd = TLSThreadingServer(("127.0.0.1", 0), handler, self)
        self.port = self._httpd.server_address[1]
        self._name = name
        self._thread = None

    @property
    def origin(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls_context else "http", self.port)

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,),
                                        name=self._name, daemon=True)
        self._thread.start()

    def stop(self):
        if self._thread:
            self._httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self._httpd.server_close()
        self._log_file.close()

    def log(self, record):
        line = json.dumps(record, sort_keys=True)
        with self._lock:
            if not self._log_file.closed:
                self._log_file.write(line + "\n")
