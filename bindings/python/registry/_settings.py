"""The Client's settings that go through the C library's versioned structs and
callbacks: TLS material, time limits, extra headers, tracing, a credential
provider (registry_client_set_tls, _set_timeouts, _add_header, _set_trace,
_set_credential_provider)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Tuple, Union

from . import _lib
from ._lib import C
from ._util import StrPath, cpath, cstr, text
from .errors import InvalidArgumentError, check

PemOrPath = Union[bytes, StrPath]

_TRACE_WHAT = {1: "sent", 2: "redirect", 3: "reauth", 4: "retry", 5: "done", 6: "failed"}
_MIN_TLS = {None: 0, "1.2": 12, "1.3": 13}


@dataclass(frozen=True)
class TraceEvent:
    """One attempt of a request (``Client(trace=callable)``): never a header,
    a query string or a secret."""
    what: str             #: "sent", "redirect", "reauth", "retry", "done" or "failed"
    method: str
    url: str              #: without query string or user info
    status: int           #: HTTP status, 0 before or without an answer
    elapsed: float        #: seconds this attempt took
    bytes_sent: int
    bytes_received: int
    attempt: int          #: 1 for the first
    new_connections: int  #: connections this attempt opened (0: one was reused)


TraceCallback = Callable[[TraceEvent], None]
#: called with the registry ("host:port"); returns (username, secret) or None
CredentialCallback = Callable[[str], Optional[Tuple[str, str]]]


def _seconds_ms(value: Any, what: str) -> int:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError("%s must be seconds (a number), not %s" % (what, type(value).__name__))
    if not 0 < value < 2**31 / 1000:
        raise InvalidArgumentError("%s must be positive seconds, not %r" % (what, value))
    return max(1, round(value * 1000))


def timeouts(client: Any, timeout: Optional[float], connect_timeout: Optional[float],
             low_speed: Optional[Tuple[int, float]]) -> None:
    """registry_client_set_timeouts: unset values keep the library's defaults."""
    if timeout is None and connect_timeout is None and low_speed is None:
        return
    t = _lib.timeout_options()
    check(C.registry_timeout_options_init(ctypes.byref(t)))
    if timeout is not None:
        t.total_ms = _seconds_ms(timeout, "timeout")
    if connect_timeout is not None:
        t.connect_ms = _seconds_ms(connect_timeout, "connect_timeout")
    if low_speed is not None:
        try:
            rate, seconds = low_speed
        except (TypeError, ValueError):
            raise TypeError("low_speed must be (bytes_per_second, seconds)") from None
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            raise InvalidArgumentError("low_speed: bytes per second must be a positive int")
        t.low_speed_bytes = rate
        t.low_speed_seconds = max(1, round(_seconds_ms(seconds, "low_speed seconds") / 1000))
    check(C.registry_client_set_timeouts(client, ctypes.byref(t)))


def _pem_or_path(value: PemOrPath, what: str) -> Tuple[Optional[bytes], Optional[bytes]]:
    """(pem, path): bytes are PEM text, anything else a path."""
    if isinstance(value, (bytes, bytearray)):
        return cstr(bytes(value), what), None
    return None, cpath(value, what)


def tls(client: Any, ca_file: Optional[StrPath], ca_data: Optional[bytes],
        client_cert: Optional[Tuple[PemOrPath, PemOrPath]], key_password: Optional[str],
        min_tls: Optional[str]) -> None:
    """registry_client_set_tls, only when something differs from the defaults."""
    if (ca_file is None and ca_data is None and client_cert is None
            and key_password is None and min_tls is None):
        return
    o = _lib.tls_options()
    check(C.registry_tls_options_init(ctypes.byref(o)))
    keep: List[Optional[bytes]] = []  # alive until the call has copied them
    if ca_file is not None:
        o.ca_file = cpath(ca_file, "ca_file")
    if ca_data is not None:
        if not isinstance(ca_data, (bytes, str)):
            raise TypeError("ca_data must be PEM bytes, not %s" % type(ca_data).__name__)
        o.ca_pem = cstr(ca_data, "ca_data")
    if client_cert is not None:
        if not isinstance(client_cert, tuple) or len(client_cert) != 2:
            raise TypeError("client_cert must be (cert, key): paths or PEM bytes")
        o.cert_pem, o.cert_file = _pem_or_path(client_cert[0], "client_cert")
        o.key_pem, o.key_file = _pem_or_path(client_cert[1], "client_cert key")
        keep += [o.cert_pem, o.key_pem]
    if key_password is not None:
        o.key_password = cstr(key_password, "key_password")
    if min_tls not in _MIN_TLS:
        raise InvalidArgumentError("min_tls must be '1.2' or '1.3', not %r" % (min_tls,))
    o.min_version = _MIN_TLS[min_tls]
    check(C.registry_client_set_tls(client, ctypes.byref(o)))
    del keep


def headers(client: Any, values: Optional[Mapping[str, str]]) -> None:
    """registry_client_add_header for each name: value."""
    if values is None:
        return
    if not isinstance(values, Mapping):
        raise TypeError("headers must be a mapping of name to value, not %s"
                        % type(values).__name__)
    for name, value in values.items():
        check(C.registry_client_add_header(client, cstr("%s: %s" % (name, value), "header")))


def trace_callback(trace: Optional[TraceCallback]) -> Any:
    """The C trace callback for @trace (keep it alive as long as the client)."""
    if trace is None:
        return None
    if not callable(trace):
        raise TypeError("trace must be callable, not %s" % type(trace).__name__)

    def bridge(ev: Any, _ud: Any) -> None:
        e = ev.contents
        try:
            trace(TraceEvent(_TRACE_WHAT.get(e.what, str(e.what)), text(e.method) or "",
                             text(e.url) or "", e.status, e.elapsed_us / 1e6, e.bytes_sent,
                             e.bytes_received, e.attempt, e.new_connections))
        except Exception:  # a trace cannot fail a request: ignored
            pass

    return _lib.TRACE_CB(bridge)


def credential_callback(provider: Optional[CredentialCallback]) -> Any:
    """The C credential provider for @provider: None = anonymous; an exception
    cancels the request (CanceledError)."""
    if provider is None:
        return None
    if not callable(provider):
        raise TypeError("credentials must be callable, not %s" % type(provider).__name__)

    def bridge(cred: Any, registry: bytes, _ud: Any) -> int:
        try:
            answer = provider(text(registry) or "")
            if answer is None:
                return 0
            user, secret = answer
            return 1 if C.registry_credential_set(cred, cstr(user), cstr(secret)) else 0
        except Exception:
            return 1

    return _lib.CREDENTIAL_CB(bridge)


_HOST_CONFIG_KEYS = ("certs_dirs", "auth_files", "registries_conf", "registries_conf_dir",
                     "docker_daemon_json", "credential_realms", "no_certs", "no_auth",
                     "no_registries_conf", "no_docker_daemon")
_HOST_CONFIG_FLAGS = {"no_certs": _lib.HOST_CONFIG_NO_CERTS, "no_auth": _lib.HOST_CONFIG_NO_AUTH,
                      "no_registries_conf": _lib.HOST_CONFIG_NO_REGISTRIES_CONF,
                      "no_docker_daemon": _lib.HOST_CONFIG_NO_DOCKER_DAEMON}


def _c_list(values: Any, what: str, keep: List[Any]) -> Any:
    items = [cpath(v) if what != "credential_realms" else cstr(v, what) for v in values]
    arr = (ctypes.c_char_p * (len(items) + 1))(*items, None)
    keep.append(arr)
    return ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))


def host_config(client: Any, value: Union[bool, Mapping[str, Any]]) -> None:
    """registry_client_load_host_config: True for the defaults, a mapping to
    override sources (lists of paths, a path, or no_* flags set to True)."""
    if value is False or value is None:
        return
    o = _lib.host_config_options()
    check(C.registry_host_config_options_init(ctypes.byref(o)))
    keep: List[Any] = []
    if value is not True:
        unknown = set(value) - set(_HOST_CONFIG_KEYS)
        if unknown:
            raise InvalidArgumentError("host_config: unknown keys %s" % ", ".join(sorted(unknown)))
        for key, flag in _HOST_CONFIG_FLAGS.items():
            if value.get(key):
                o.flags |= flag
        for key in ("certs_dirs", "auth_files", "credential_realms"):
            if value.get(key) is not None:
                setattr(o, key, _c_list(value[key], key, keep))
        for key in ("registries_conf", "registries_conf_dir", "docker_daemon_json"):
            if value.get(key) is not None:
                setattr(o, key, cpath(value[key]))
    check(C.registry_client_load_host_config(client, ctypes.byref(o)))
