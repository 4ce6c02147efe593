"""A small Docker Registry v2 token server (distribution's token spec and its
OAuth2 variant), for the registry harness.

GET  /token?service=S&scope=A&scope=B[&offline_token=true]   Basic auth optional
POST /token  (x-www-form-urlencoded: grant_type=password|refresh_token, ...)

Tokens are ES256 JWTs whose header carries the signing certificate in `x5c`;
registry 2.8 checks that chain against its `rootcertbundle` (our CA).
Every request is logged as one JSON line.
"""

import base64
import binascii
import datetime
import hmac
import http.server
import json
import secrets
import time
import urllib.parse

from harness_http import LoggedServer

import jwt  # python3-jwt

REPO_ACTIONS = ("pull", "push", "delete", "*")


def parse_scope(text):
    """`type[(class)]:name:actions` -> dict, or None when malformed. The name
    may hold colons (host:port), so split at the first and the last one."""
    first = text.find(":")
    last = text.rfind(":")
    if first <= 0 or last == first:
        return None
    rtype, name, actions = text[:first], text[first + 1:last], text[last + 1:]
    rclass = None
    if rtype.endswith(")") and "(" in rtype:
        rtype, rclass = rtype[:-1].split("(", 1)
    if not name:
        return None
    scope = {"type": rtype, "name": name,
             "actions": [a for a in actions.split(",") if a]}
    if rclass:
        scope["class"] = rclass
    return scope


def _rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class TokenServer(LoggedServer):
    """Threaded HTTP(S) token server on 127.0.0.1 (free port).

    users: {name: password} with full access; readonly_users: pull only.
    """

    def __init__(self, pki, log_path, service, issuer, users, readonly_users=None,
                 expiry=300, expired=False, anonymous_pull=True, oauth=True,
                 tls_context=None, expired_first=0):
        self.pki = pki
        self.log_path = log_path
        self.service = service
        self.issuer = issuer
        self.users = dict(users)
        self.readonly_users = dict(readonly_users or {})
        self.expiry = int(expiry)
        self.expired = expired
        self.expired_first = int(expired_first)  # the first N tokens are expired
        self.anonymous_pull = anonymous_pull
        self.oauth = oauth
        self._refresh_tokens = {}
        self._x5c = [base64.b64encode(pki.signing_cert_der()).decode()]
        self._key = pki.signing_key
        self._serve(log_path, _Handler, tls_context, "token-server")

    @property
    def url(self):
        return self.origin + "/token"

    # -- tokens -----------------------------------------------------------
    def issue(self, subject, access, audience=None, now=None, expiry=None,
              expired=None):
        """Signs a JWT the registry accepts (unless expired)."""
        now = int(time.time() if now is None else now)
        expiry = self.expiry if expiry is None else expiry
        if expired is None:
            with self._lock:
                expired = self.expired or self.expired_first > 0
                if self.expired_first > 0:
                    self.expired_first -= 1
        if expired:
            # Far enough in the past for the registry's 60 s leeway.
            exp = now - 600
            iat = exp - max(expiry, 1)
        else:
            exp = now + expiry
            iat = now
        claims = {
            "iss": self.issuer,
            "sub": subject or "",
            "aud": audience or self.service,
            "exp": exp,
            "nbf": iat - 1,
            "iat": iat,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        return jwt.encode(claims, self._key, algorithm="ES256",
                          headers={"x5c": self._x5c})

    def grant(self, user, scopes):
        """Access entries for `user` (None = anonymous) from parsed scopes."""
        granted = []
        for s in scopes:
            if s is None:
                continue
            if s["type"] == "repository":
                if user in self.users:
                    allowed = REPO_ACTIONS
                elif user in self.readonly_users or (user is None and self.anonymous_pull):
                    allowed = ("pull",)
                else:
                    allowed = ()
            elif s["type"] == "registry" and s["name"] == "catalog":
                allowed = ("*",) if user in self.users else ()
            else:
                allowed = ()
            actions = []
            for a in s["actions"]:
                if a in allowed and a not in actions:
                    actions.append(a)
            if actions:
                entry = {"type": s["type"], "name": s["name"], "actions": actions}
                if "class" in s:
                    entry["class"] = s["class"]
                # Merge repeated scopes on the same resource.
                for g in granted:
                    if g["type"] == entry["type"] and g["name"] == entry["name"]:
                        g["actions"] += [a for a in actions if a not in g["actions"]]
                        break
                else:
                    granted.append(entry)
        return granted

    def check_password(self, user, password):
        for table in (self.users, self.readonly_users):
            if user in table:
                return hmac.compare_digest(table[user].encode(), password.encode())
        return False

    def new_refresh_token(self, user):
        tok = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh_tokens[tok] = user
        return tok

    def refresh_user(self, tok):
        with self._lock:
            return self._refresh_tokens.get(tok)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds of silence before a connection is dropped
    server_version = "registry-harness-token/1"

    def log_message(self, fmt, *args):
        pass

    @property
    def ts(self):
        return self.server.owner

    # -- plumbing ---------------------------------------------------------
    def _send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status, code, description, record):
        record["status"] = status
        record["error"] = code
        self.ts.log(record)
        body = {"error": code, "error_description": description,
                "errors": [{"code": "UNAUTHORIZED" if status == 401 else "DENIED",
                            "message": description}]}
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="registry-harness-token"'
        self._send_json(status, body, headers)

    def _basic(self):
        """(present, user, password) from the Authorization header."""
        value = self.headers.get("Authorization")
        if not value:
            return False, None, None
        scheme, _, rest = value.partition(" ")
        if scheme.lower() != "basic":
            return True, None, None
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return True, None, None
        user, sep, password = decoded.partition(":")
        if not sep:
            return True, None, None
        return True, user, password

    def _record(self, parsed):
        return {
            "time": _rfc3339(time.time()),
            "method": self.command,
            "path": parsed.path,
            "query": urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            "user_agent": self.headers.get("User-Agent"),
            # Names only (values may be credentials): what reached the realm.
            "header_names": sorted(self.headers.keys()),
        }

    def _respond_token(self, record, user, scope_texts, service, offline,
                       refresh_token=None, oauth=False):
        scopes = []
        for text in scope_texts:
            for part in text.split():
                scopes.append(part)
        parsed = [parse_scope(s) for s in scopes]
        granted = self.ts.grant(user, parsed)
        now = int(time.time())
        token = self.ts.issue(user, granted, audience=service or None, now=now)
        body = {"token": token, "access_token": token,
                "expires_in": self.ts.expiry, "issued_at": _rfc3339(now)}
        if oauth:
            body["scope"] = " ".join(
                "%s:%s:%s" % (g["type"], g["name"], ",".join(g["actions"])) for g in granted)
        if offline and user is not None:
            body["refresh_token"] = refresh_token or self.ts.new_refresh_token(user)
        record.update({"status": 200, "scopes": scopes, "user": user,
                       "granted": granted, "expires_in": self.ts.expiry,
                       "expired": self.ts.expired,
                       "refresh_token_issued": "refresh_token" in body})
        self.ts.log(record)
        self._send_json(200, body)

    # -- GET: the classic token endpoint ------------------------------------
    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        record = self._record(parsed)
        query = record["query"]
        present, user, password = self._basic()
        record["basic"] = present
        record["service"] = (query.get("service") or [None])[0]
        record["scopes"] = [p for s in query.get("scope", []) for p in s.split()]
        if parsed.path != "/token":
            record["basic_valid"] = None
            return self._error(404, "not_found", "no such endpoint", record)
        if present:
            valid = user is not None and self.ts.check_password(user, password)
            record["basic_valid"] = valid
            if not valid:
                record["user"] = user
                return self._error(401, "unauthorized", "incorrect username or password", record)
        else:
            record["basic_valid"] = None
            user = None
        offline = (query.get("offline_token") or ["false"])[0].lower() == "true"
        self._respond_token(record, user, query.get("scope", []), record["service"], offline)

    # -- POST: OAuth2 -------------------------------------------------------
    def do_POST(self):
        parsed = urllib.parse.urlsplit(self.path)
        record = self._record(parsed)
        present, buser, bpassword = self._basic()
        record["basic"] = present
        record["basic_valid"] = (buser is not None and
                                 self.ts.check_password(buser, bpassword)) if present else None
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if 0 < length <= 1 << 20 else b""
        if parsed.path != "/token" or not self.ts.oauth:
            return self._error(404, "not_found", "no OAuth2 endpoint here", record)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self._error(400, "invalid_request",
                               "Content-Type must be application/x-www-form-urlencoded", record)
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        first = {k: v[0] for k, v in form.items()}
        record["form"] = {k: (["***"] if k in ("password", "refresh_token") else v)
                          for k, v in form.items()}
        record["grant_type"] = first.get("grant_type")
        record["service"] = first.get("service")
        record["client_id"] = first.get("client_id")
        record["scopes"] = [p for s in form.get("scope", []) for p in s.split()]
        offline = first.get("access_type") == "offline"
        grant = first.get("grant_type")
        if grant == "password":
            user, password = first.get("username"), first.get("password")
            if not user or password is None:
                return self._error(400, "invalid_request", "username and password required", record)
            record["user"] = user
            if not self.ts.check_password(user, password):
                return self._error(401, "invalid_grant", "incorrect username or password", record)
            return self._respond_token(record, user, form.get("scope", []),
                                       record["service"], offline, oauth=True)
        if grant == "refresh_token":
            tok = first.get("refresh_token") or ""
            user = self.ts.refresh_user(tok)
            record["user"] = user
            if user is None:
                return self._error(401, "invalid_grant", "unknown refresh token", record)
            return self._respond_token(record, user, form.get("scope", []),
                                       record["service"], True, refresh_token=tok, oauth=True)
        return self._error(400, "unsupported_grant_type",
                           "grant_type must be password or refresh_token", record)

    def do_HEAD(self):
        self._send_json(405, {"error": "method_not_allowed"})
