"""The threaded HTTP(S) server the harness's own servers (token, redirect)
share: the TLS handshake runs in each request's thread, not in the accept
loop, so one slow or broken client cannot stall the others."""

import http.server
import socket


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
