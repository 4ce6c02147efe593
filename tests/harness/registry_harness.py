#!/usr/bin/python3
"""Real-registry test harness for libregistry's integration tests.

Runs Debian's docker-registry (distribution 2.8) on a loopback port with a
temporary storage root, in the mode a test asks for (open, htpasswd, token
auth with our own token server, TLS, schema1, delete, redirect to a second
"CDN" server), pushes fixture images with skopeo, exports REGISTRY_TEST_*
variables, runs the test command and tears everything down.

    registry_harness.py run [options] -- CMD [ARGS...]
    registry_harness.py make-fixture DIR --layers N --size BYTES [--platforms P] [--seed S]
    registry_harness.py push SOURCE[:FORMAT] [--format F] [--repo R] [--tag T]

Also importable: `from registry_harness import Registry`. See README.md.
Needs /usr/bin/python3 (Debian's python3-cryptography and python3-jwt).
"""

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import harness_fixtures  # noqa: E402

EXIT_SKIP = 77
EXIT_HARNESS_ERROR = 99
STARTUP_TIMEOUT = 20.0
TOKEN_SERVICE = "registry-harness.test"
TOKEN_ISSUER = "libregistry-harness-token-issuer"
HTPASSWD_REALM = "registry-harness"
USER = "tester"
RO_USER = "reader"

# Every variable `run` may export; stale ones from an outer run are removed.
EXPORTED = (
    "REGISTRY_TEST_HOST", "REGISTRY_TEST_URL", "REGISTRY_TEST_AUTH",
    "REGISTRY_TEST_USER", "REGISTRY_TEST_PASSWORD", "REGISTRY_TEST_RO_USER",
    "REGISTRY_TEST_RO_PASSWORD", "REGISTRY_TEST_CA", "REGISTRY_TEST_CERT_DIR",
    "REGISTRY_TEST_STORAGE", "REGISTRY_TEST_REGISTRY_LOG", "REGISTRY_TEST_TOKEN_URL",
    "REGISTRY_TEST_TOKEN_SERVICE", "REGISTRY_TEST_TOKEN_LOG", "REGISTRY_TEST_REDIRECT_URL",
    "REGISTRY_TEST_REDIRECT_LOG", "REGISTRY_TEST_SKOPEO_ARGS", "REGISTRY_TEST_SKOPEO_SRC_ARGS",
    "REGISTRY_TEST_SKOPEO_INSPECT_ARGS", "REGISTRY_TEST_SKOPEO",
    "REGISTRY_TEST_FIXTURES", "REGISTRY_TEST_PUSHED", "REGISTRY_TEST_HARNESS",
    "REGISTRY_TEST_TMPDIR", "REGISTRY_TEST_TLS", "REGISTRY_TEST_SCHEMA1",
    "REGISTRY_TEST_DELETE", "REGISTRY_TEST_REDIRECT",
)
FIXTURE_ENV_PREFIX = "REGISTRY_TEST_FIXTURE_"


class HarnessError(Exception):
    """The harness could not set up what was asked (exit 99)."""


class Unavailable(HarnessError):
    """A required tool is not installed (exit 77: meson's skip)."""


def _find_tool(name, env_var):
    override = os.environ.get(env_var)
    if override:
        return override
    path = shutil.which(name) or (("/usr/bin/" + name) if os.access("/usr/bin/" + name, os.X_OK) else None)
    if not path:
        raise Unavailable("%s not found (install it, or point %s at it)" % (name, env_var))
    return path


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _yaml(obj, indent=0):
    """Tiny block-YAML emitter; scalars are JSON-quoted (valid YAML)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(_yaml(v, indent + 1))
            else:
                lines.append("%s%s: %s" % (pad, k, _scalar(v)))
    else:
        for v in obj:
            if isinstance(v, dict) and v:
                body = _yaml(v, indent + 1).split("\n")
                lines.append("%s- %s" % (pad, body[0].lstrip()))
                lines.extend(body[1:])
            else:
                lines.append("%s- %s" % (pad, _scalar(v)))
    return "\n".join(lines)


def _scalar(v):
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return json.dumps(v)


def _tail(path, lines=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no %s)\n" % path


def _env_key(text):
    return "".join(c if c.isalnum() else "_" for c in text.upper())


def _sanitized_child_env():
    """The registry reads REGISTRY_* variables as config overrides: start it
    with none, so nothing from outside changes our config file."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


class Registry:
    """A docker-registry on loopback, with the services its mode needs.

    Use as a context manager:
        with Registry(auth="token", tls=True, fixtures=["small:v2s2"]) as r:
            r.url, r.host, r.user, r.password, r.ca, r.storage, r.env ...
    """

    def __init__(self, auth="none", tls=False, schema1=False, delete=False, redirect=False,
                 token_expiry=300, token_expired=False, anonymous_pull=True, token_oauth=True,
                 fixtures=(), keep=False, startup_timeout=STARTUP_TIMEOUT, token_expired_first=0,
                 mtls=False, proxy_remote=None):
        """mtls: TLS that requires a client certificate signed by the
        harness CA (http.tls.clientcas); the pair is client_cert/client_key
        and in the skopeo cert dir. proxy_remote: a pull-through cache
        (proxy.remoteurl) of that registry URL; it refuses pushes."""
        if auth not in ("none", "htpasswd", "token"):
            raise ValueError("auth must be none, htpasswd or token")
        self.auth = auth
        self.mtls = bool(mtls)
        self.proxy_remote = proxy_remote
        self.tls = bool(tls) or self.mtls
        self.schema1 = bool(schema1)
        self.delete = bool(delete)
        self.redirect = bool(redirect)
        self.token_expiry = int(token_expiry)
        self.token_expired = bool(token_expired)
        self.token_expired_first = int(token_expired_first)
        self.anonymous_pull = bool(anonymous_pull)
        self.token_oauth = bool(token_oauth)
        self.fixture_specs = list(fixtures)
        self.keep = keep
        self.startup_timeout = startup_timeout

        self.tmpdir = None
        self.proc = None
        self.token_server = None
        self.redirect_server = None
        self.pki = None
        self.host = self.url = self.ca = self.cert_dir = None
        self.user = self.password = None
        self.ro_user = self.ro_password = None
        self.token_url = self.token_log = None
        self.redirect_url = self.redirect_log = None
        self.storage = self.registry_log = self.fixtures_dir = self.pushed_file = None
        self.skopeo_args = []
        self.skopeo_src_args = []
        self.skopeo_inspect_args = []
        self.pushed = {}
        self.env = {}
        self._log_handle = None
        self._cleaned = False

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        for spec in self.fixture_specs:  # fail fast on typos
            if _split_fixture_spec(spec)[1] == "v2s1" and not self.schema1:
                raise ValueError("fixture %s: registry 2.8 refuses schema1 pushes unless "
                                 "--schema1 is given" % spec)
        self.registry_bin = _find_tool("docker-registry", "REGISTRY_HARNESS_REGISTRY")
        if self.fixture_specs:
            self.skopeo_bin = _find_tool("skopeo", "REGISTRY_HARNESS_SKOPEO")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        self.tmpdir = tempfile.mkdtemp(prefix="registry-harness-")
        self.storage = os.path.join(self.tmpdir, "storage")
        self.fixtures_dir = os.path.join(self.tmpdir, "fixtures")
        self.pushed_file = os.path.join(self.fixtures_dir, "pushed.json")
        self.registry_log = os.path.join(self.tmpdir, "registry.log")
        self.scratch = os.path.join(self.tmpdir, "scratch")
        self.skopeo_tmp = os.path.join(self.tmpdir, "skopeo")
        for d in (self.storage, self.fixtures_dir, self.scratch, self.skopeo_tmp):
            os.makedirs(d)
        self.registries_conf, self.registries_d = harness_fixtures.skopeo_config(self.skopeo_tmp)

        try:
            import harness_pki  # needs python3-cryptography
            if self.auth == "token":
                import harness_token  # noqa: F401  (needs python3-jwt)
        except ImportError as e:
            raise Unavailable("%s: run the harness with /usr/bin/python3 and install "
                              "python3-cryptography and python3-jwt" % e)
        self.pki = harness_pki.Pki(os.path.join(self.tmpdir, "pki"))
        server_ctx = None
        if self.tls:
            self.ca = self.pki.ca_path
            self.cert_dir = self.pki.cert_dir
            server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_ctx.load_cert_chain(self.pki.server_cert_path, self.pki.server_key_path)
        if self.mtls:
            # skopeo's --cert-dir takes NAME.cert + NAME.key as the client pair.
            self.client_cert = os.path.join(self.pki.cert_dir, "client.cert")
            self.client_key = os.path.join(self.pki.cert_dir, "client.key")
            self.pki.issue_client(self.client_cert, self.client_key)

        if self.auth != "none":
            self.user = USER
            self.password = secrets.token_hex(12)
        if self.auth == "htpasswd":
            self._write_htpasswd()
        elif self.auth == "token":
            self.ro_user = RO_USER
            self.ro_password = secrets.token_hex(12)
            self.token_log = os.path.join(self.tmpdir, "token.log")
            self.token_server = harness_token.TokenServer(
                self.pki, self.token_log, TOKEN_SERVICE, TOKEN_ISSUER,
                {self.user: self.password}, {self.ro_user: self.ro_password},
                expiry=self.token_expiry, expired=self.token_expired,
                anonymous_pull=self.anonymous_pull, oauth=self.token_oauth,
                tls_context=server_ctx, expired_first=self.token_expired_first)
            self.token_url = self.token_server.url
        if self.redirect:
            import harness_redirect
            self.redirect_log = os.path.join(self.tmpdir, "redirect.log")
            self.redirect_server = harness_redirect.RedirectServer(
                self.storage, self.redirect_log, tls_context=server_ctx)
            self.redirect_url = self.redirect_server.url

        self._start_registry()
        for server in (self.token_server, self.redirect_server):
            if server:
                server.start()
        self._wait_ready()
        self._build_env()
        for spec in self.fixture_specs:
            name, fmt = _split_fixture_spec(spec)
            self.push(name, fmt)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log_handle:
            self._log_handle.close()
            self._log_handle = None
        for attr in ("token_server", "redirect_server"):
            server = getattr(self, attr)
            if server is not None:
                server.stop()
                setattr(self, attr, None)
        if self.tmpdir and os.path.isdir(self.tmpdir) and not self._cleaned:
            self._cleaned = True
            if self.keep:
                sys.stderr.write("registry_harness: kept %s\n" % self.tmpdir)
            else:
                shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- registry process -----------------------------------------------------
    def _write_htpasswd(self):
        path = os.path.join(self.tmpdir, "htpasswd")
        lines = []
        try:
            import bcrypt  # optional
            h = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=5)).decode()
            lines.append("%s:%s" % (self.user, h))
        except ImportError:
            tool = _find_tool("htpasswd", "REGISTRY_HARNESS_HTPASSWD")
            out = subprocess.run([tool, "-Bbn", self.user, self.password], check=True,
                                 stdout=subprocess.PIPE).stdout.decode().strip()
            lines.append(out)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.htpasswd = path

    def _config(self, port):
        config = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text",
                    "accesslog": {"disabled": False},
                    "fields": {"service": "registry-harness"}},
            "storage": {
                "filesystem": {"rootdirectory": self.storage},
                "delete": {"enabled": self.delete},
                "redirect": {"disable": False},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": "127.0.0.1:%d" % port,
                "secret": secrets.token_hex(24),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "health": {"storagedriver": {"enabled": False}},
            # Foreign (non-distributable) layers with URLs on loopback only:
            # the tests' own blob servers (issue 18). Unset, 2.8 refuses all.
            "validation": {"manifests": {"urls": {"allow": [r"^https?://127\.0\.0\.1:[0-9]+/"]}}},
        }
        if self.tls:
            config["http"]["tls"] = {"certificate": self.pki.server_cert_path,
                                     "key": self.pki.server_key_path}
            if self.mtls:
                config["http"]["tls"]["clientcas"] = [self.pki.ca_path]
        if self.proxy_remote:
            config["proxy"] = {"remoteurl": self.proxy_remote}
        if self.auth == "htpasswd":
            config["auth"] = {"htpasswd": {"realm": HTPASSWD_REALM, "path": self.htpasswd}}
        elif self.auth == "token":
            config["auth"] = {"token": {"realm": self.token_url, "service": TOKEN_SERVICE,
                                        "issuer": TOKEN_ISSUER,
                                        "rootcertbundle": self.pki.ca_path}}
        if self.schema1:
            config["compatibility"] = {"schema1": {"enabled": True}}
        if self.redirect:
            config["middleware"] = {"storage": [
                {"name": "redirect", "options": {"baseurl": self.redirect_url}}]}
        return config

    def _start_registry(self):
        config_path = os.path.join(self.tmpdir, "registry.yml")
        setpriv = shutil.which("setpriv")
        for attempt in range(5):
            port = _free_port()
            with open(config_path, "w") as f:
                f.write(_yaml(self._config(port)) + "\n")
            cmd = [self.registry_bin, "serve", config_path]
            if setpriv:
                # The registry dies with us even if we are SIGKILLed.
                cmd = [setpriv, "--pdeathsig", "KILL", "--"] + cmd
            self._log_handle = open(self.registry_log, "ab")
            self._log_offset = self._log_handle.tell()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log_handle,
                                         stderr=subprocess.STDOUT, env=_sanitized_child_env(),
                                         cwd=self.tmpdir)
            self.port = port
            self.host = "127.0.0.1:%d" % port
            self.url = "%s://%s" % ("https" if self.tls else "http", self.host)
            if self._wait_listening():
                return
            # Lost a race for the port: try another one.
            self._log_handle.close()
            self._log_handle = None
            self.proc = None
        raise HarnessError("docker-registry kept failing to bind a port:\n" + _tail(self.registry_log))

    def _new_log(self):
        with open(self.registry_log, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode(errors="replace")

    def _wait_listening(self):
        """True once the registry has bound its port (it logs "listening on
        ADDR"; another process may own a port we thought free), False if it
        exited because the port was taken."""
        started = time.monotonic()
        deadline = started + self.startup_timeout
        marker = "listening on %s" % self.host
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "address already in use" in self._new_log():
                    return False
                raise HarnessError("docker-registry exited with %d during startup; its log:\n%s"
                                   % (self.proc.returncode, _tail(self.registry_log)))
            if marker in self._new_log():
                return True
            # Fallback for a registry that does not log that line: alive for
            # a while and the port answers.
            if time.monotonic() - started > 2:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return True
                except OSError:
                    pass
            time.sleep(0.02)
        raise HarnessError("docker-registry did not listen on %s within %.0f s; its log:\n%s"
                           % (self.host, self.startup_timeout, _tail(self.registry_log)))

    def ssl_context(self):
        """A client context trusting the harness CA (None without --tls)."""
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.ca)
        if self.mtls:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self.ssl_context()))
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError("docker-registry exited with %d; its log:\n%s"
                                   % (self.proc.returncode, _tail(self.registry_log)))
            try:
                with opener.open(self.url + "/v2/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as e:
                if e.code == 401:  # up, and asking for credentials
                    return
                last = "HTTP %d" % e.code
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
            time.sleep(0.05)
        raise HarnessError("GET %s/v2/ did not answer 200/401 within %.0f s (last: %s); "
                           "registry log:\n%s" % (self.url, self.startup_timeout, last,
                                                  _tail(self.registry_log)))

    # -- environment ----------------------------------------------------------
    def _skopeo_flags(self, side):
        """copy's --dest-/--src- flags; side "" gives the unprefixed flags of
        inspect, list-tags and delete."""
        prefix = "--%s-" % side if side else "--"
        flags = []
        if self.tls:
            flags += [prefix + "cert-dir", self.cert_dir]
        else:
            flags += [prefix + "tls-verify=false"]
        if self.user:
            flags += [prefix + "creds", "%s:%s" % (self.user, self.password)]
        return flags

    def _build_env(self):
        self.skopeo_args = self._skopeo_flags("dest")
        self.skopeo_src_args = self._skopeo_flags("src")
        self.skopeo_inspect_args = self._skopeo_flags("")
        env = {
            "REGISTRY_TEST_HOST": self.host,
            "REGISTRY_TEST_URL": self.url,
            "REGISTRY_TEST_AUTH": self.auth,
            "REGISTRY_TEST_STORAGE": self.storage,
            "REGISTRY_TEST_REGISTRY_LOG": self.registry_log,
            "REGISTRY_TEST_SKOPEO_ARGS": " ".join(shlex.quote(a) for a in self.skopeo_args),
            "REGISTRY_TEST_SKOPEO_SRC_ARGS": " ".join(shlex.quote(a) for a in self.skopeo_src_args),
            "REGISTRY_TEST_SKOPEO_INSPECT_ARGS": " ".join(
                shlex.quote(a) for a in self.skopeo_inspect_args),
            "REGISTRY_TEST_SKOPEO": " ".join(shlex.quote(a) for a in (
                [shutil.which("skopeo") or "skopeo", "--insecure-policy", "--registries.d",
                 self.registries_d, "--tmpdir", self.skopeo_tmp])),
            "CONTAINERS_REGISTRIES_CONF": self.registries_conf,
            "REGISTRY_TEST_FIXTURES": self.fixtures_dir,
            "REGISTRY_TEST_PUSHED": self.pushed_file,
            "REGISTRY_TEST_HARNESS": os.path.abspath(__file__),
            "REGISTRY_TEST_TMPDIR": self.scratch,
            "REGISTRY_TEST_TLS": "1" if self.tls else "0",
            "REGISTRY_TEST_SCHEMA1": "1" if self.schema1 else "0",
            "REGISTRY_TEST_DELETE": "1" if self.delete else "0",
            "REGISTRY_TEST_REDIRECT": "1" if self.redirect else "0",
        }
        if self.user:
            env["REGISTRY_TEST_USER"] = self.user
            env["REGISTRY_TEST_PASSWORD"] = self.password
        if self.ro_user:
            env["REGISTRY_TEST_RO_USER"] = self.ro_user
            env["REGISTRY_TEST_RO_PASSWORD"] = self.ro_password
        if self.tls:
            env["REGISTRY_TEST_CA"] = self.ca
            env["REGISTRY_TEST_CERT_DIR"] = self.cert_dir
        if self.token_server:
            env["REGISTRY_TEST_TOKEN_URL"] = self.token_url
            env["REGISTRY_TEST_TOKEN_SERVICE"] = TOKEN_SERVICE
            env["REGISTRY_TEST_TOKEN_LOG"] = self.token_log
        if self.redirect_server:
            env["REGISTRY_TEST_REDIRECT_URL"] = self.redirect_url
            env["REGISTRY_TEST_REDIRECT_LOG"] = self.redirect_log
        self.env = env

    def child_env(self, base=None):
        """`base` (default os.environ) without stale harness variables, plus
        ours, plus loopback in no_proxy."""
        env = dict(os.environ if base is None else base)
        for k in list(env):
            if k in EXPORTED or k.startswith(FIXTURE_ENV_PREFIX):
                del env[k]
        env.update(self.env)
        for var in ("no_proxy", "NO_PROXY"):
            parts = [p for p in env.get(var, "").split(",") if p]
            for h in ("127.0.0.1", "localhost", "::1"):
                if h not in parts:
                    parts.append(h)
            env[var] = ",".join(parts)
        return env

    # -- fixtures ---------------------------------------------------------------
    def push(self, source, fmt="v2s2", repo=None, tag="latest", src_tag="latest"):
        """Pushes a preset fixture (by name) or an OCI layout directory;
        returns the manifest digest. Records it in pushed.json and env."""
        if not getattr(self, "skopeo_bin", None):
            self.skopeo_bin = _find_tool("skopeo", "REGISTRY_HARNESS_SKOPEO")
        digest, repo, layout = push_image(
            self.skopeo_bin, self.host, self.skopeo_args, self.fixtures_dir, self.skopeo_tmp,
            source, fmt, repo, tag, src_tag, env=self.child_env())
        record = {"source": source, "format": fmt, "repository": repo, "tag": tag,
                  "reference": "%s/%s:%s" % (self.host, repo, tag), "digest": digest,
                  "layout": layout}
        self.pushed["%s:%s" % (repo, tag)] = record
        _record_push(self.pushed_file, record)
        if source in harness_fixtures.PRESETS and tag == "latest":
            self.env[FIXTURE_ENV_PREFIX + _env_key("%s_%s" % (source, fmt)) + "_DIGEST"] = digest
        return digest


def _split_fixture_spec(spec):
    name, _, fmt = spec.partition(":")
    fmt = fmt or "v2s2"
    if name not in harness_fixtures.PRESETS:
        raise ValueError("unknown fixture %r (known: %s)"
                         % (name, ", ".join(sorted(harness_fixtures.PRESETS))))
    if fmt not in harness_fixtures.FORMATS:
        raise ValueError("unknown fixture format %r (use %s)"
                         % (fmt, ", ".join(harness_fixtures.FORMATS)))
    return name, fmt


def push_image(skopeo, host, dest_args, fixtures_dir, tmpdir, source, fmt, repo, tag,
               src_tag="latest", env=None):
    if source in harness_fixtures.PRESETS:
        layout = harness_fixtures.make_preset(source, fixtures_dir)
        repo = repo or "fixtures/%s-%s" % (source, fmt)
    elif os.path.isdir(source):
        layout = os.path.abspath(source)
        if not repo:
            raise ValueError("--repo is required when pushing a layout directory")
    else:
        raise ValueError("%r is neither a fixture name (%s) nor an OCI layout directory"
                         % (source, ", ".join(sorted(harness_fixtures.PRESETS))))
    digest = harness_fixtures.skopeo_push(layout, src_tag, "%s/%s:%s" % (host, repo, tag), fmt,
                                          dest_args, tmpdir, skopeo=skopeo, env=env)
    return digest, repo, layout


def _record_push(path, record):
    pushed = {}
    if os.path.exists(path):
        with open(path) as f:
            pushed = json.load(f)
    pushed["%s:%s" % (record["repository"], record["tag"])] = record
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(pushed, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


# -- command line ---------------------------------------------------------------

class _Signalled(BaseException):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_on_signal(signum, frame):
    # Only the first signal unwinds; later ones would interrupt the cleanup.
    for s in _HANDLED_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise _Signalled(signum)


def _stop_child(child, signum):
    if child is None or child.poll() is not None:
        return
    try:
        child.send_signal(signum)
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    except ProcessLookupError:
        pass


def cmd_run(args):
    cmd = args.cmd
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        sys.stderr.write("registry_harness run: no command given (run [options] -- CMD ...)\n")
        return 2
    reg = Registry(auth=args.auth, tls=args.tls, schema1=args.schema1, delete=args.delete,
                   redirect=args.redirect, token_expiry=args.token_expiry,
                   token_expired=args.token_expired, anonymous_pull=args.anonymous_pull == "yes",
                   token_oauth=args.token_oauth == "yes", fixtures=args.fixture,
                   keep=args.keep, startup_timeout=args.startup_timeout,
                   token_expired_first=args.token_expired_first)
    for s in _HANDLED_SIGNALS:
        signal.signal(s, _raise_on_signal)
    child = None
    code = EXIT_HARNESS_ERROR
    try:
        try:
            reg.start()
        except Unavailable as e:
            sys.stderr.write("registry_harness: SKIP: %s\n" % e)
            return EXIT_SKIP
        except (HarnessError, RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
            sys.stderr.write("registry_harness: setup failed: %s\n" % e)
            return EXIT_HARNESS_ERROR
        sys.stderr.write("registry_harness: %s auth=%s%s%s%s%s (storage %s)\n" % (
            reg.url, reg.auth, " tls" if reg.tls else "", " schema1" if reg.schema1 else "",
            " delete" if reg.delete else "", " redirect" if reg.redirect else "", reg.storage))
        try:
            child = subprocess.Popen(cmd, env=reg.child_env())
        except OSError as e:
            sys.stderr.write("registry_harness: cannot run %s: %s\n" % (cmd[0], e))
            return 127
        rc = child.wait()
        if rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = str(-rc)
            sys.stderr.write("registry_harness: %s killed by %s\n" % (cmd[0], name))
            code = 128 - rc
        else:
            code = rc
        if code not in (0, EXIT_SKIP):
            sys.stderr.write("registry_harness: %s exited with %d; registry log tail:\n%s"
                             % (cmd[0], code, _tail(reg.registry_log, 30)))
            if reg.token_log:
                sys.stderr.write("token log tail:\n%s" % _tail(reg.token_log, 10))
        return code
    except _Signalled as s:
        _stop_child(child, s.signum)
        sys.stderr.write("registry_harness: got %s, tearing down\n" % signal.Signals(s.signum).name)
        return 128 + s.signum
    finally:
        for s in _HANDLED_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        _stop_child(child, signal.SIGTERM)
        reg.stop()


def cmd_make_fixture(args):
    top = harness_fixtures.make_layout(args.dir, layers=args.layers, size=args.size,
                                       platforms=args.platforms, seed=args.seed, tag=args.tag,
                                       gzip_level=args.gzip_level)
    print(top["digest"])
    return 0


def cmd_push(args):
    host = os.environ.get("REGISTRY_TEST_HOST")
    if not host:
        sys.stderr.write("registry_harness push: REGISTRY_TEST_HOST is not set "
                         "(call it from a command started by `run`)\n")
        return 2
    source, fmt = args.source, args.format
    if ":" in source and not os.path.isdir(source):
        source, _, fmt_from_spec = source.partition(":")
        fmt = fmt or fmt_from_spec
    fmt = fmt or "v2s2"
    dest_args = shlex.split(os.environ.get("REGISTRY_TEST_SKOPEO_ARGS", ""))
    fixtures_dir = os.environ.get("REGISTRY_TEST_FIXTURES") or tempfile.mkdtemp()
    storage = os.environ.get("REGISTRY_TEST_STORAGE")
    tmpdir = (os.path.join(os.path.dirname(storage), "skopeo") if storage
              else os.environ.get("REGISTRY_TEST_TMPDIR") or fixtures_dir)
    os.makedirs(tmpdir, exist_ok=True)
    skopeo = _find_tool("skopeo", "REGISTRY_HARNESS_SKOPEO")
    digest, repo, layout = push_image(skopeo, host, dest_args, fixtures_dir, tmpdir, source,
                                      fmt, args.repo, args.tag, args.src_tag)
    pushed_file = os.environ.get("REGISTRY_TEST_PUSHED")
    if pushed_file:
        _record_push(pushed_file, {"source": source, "format": fmt, "repository": repo,
                                   "tag": args.tag, "reference": "%s/%s:%s" % (host, repo, args.tag),
                                   "digest": digest, "layout": layout})
    print(digest)
    return 0


def _parser():
    p = argparse.ArgumentParser(prog="registry_harness.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="start a registry, run CMD, tear down")
    r.add_argument("--auth", choices=("none", "htpasswd", "token"), default="none")
    r.add_argument("--tls", action="store_true")
    r.add_argument("--schema1", action="store_true")
    r.add_argument("--delete", action="store_true")
    r.add_argument("--redirect", action="store_true")
    r.add_argument("--token-expiry", type=int, default=300, metavar="SECONDS")
    r.add_argument("--token-expired", action="store_true")
    r.add_argument("--token-expired-first", type=int, default=0, metavar="N",
                   help="the first N tokens are signed already expired, later ones valid")
    r.add_argument("--anonymous-pull", choices=("yes", "no"), default="yes")
    r.add_argument("--token-oauth", choices=("yes", "no"), default="yes",
                   help="answer OAuth2 POST /token (no: 404, clients must fall back to GET)")
    r.add_argument("--fixture", action="append", default=[], metavar="NAME[:FORMAT]")
    r.add_argument("--keep", action="store_true")
    r.add_argument("--startup-timeout", type=float, default=STARTUP_TIMEOUT, metavar="SECONDS")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    r.set_defaults(func=cmd_run)

    m = sub.add_parser("make-fixture", help="write a deterministic OCI image layout")
    m.add_argument("dir")
    m.add_argument("--layers", type=int, default=3)
    m.add_argument("--size", type=int, default=64 * 1024, metavar="BYTES")
    m.add_argument("--platforms", default=None, metavar="os/arch[/variant],...")
    m.add_argument("--seed", default="0")
    m.add_argument("--tag", default="latest")
    m.add_argument("--gzip-level", type=int, default=1, choices=range(10))
    m.set_defaults(func=cmd_make_fixture)

    u = sub.add_parser("push", help="push a fixture or OCI layout to the running harness registry")
    u.add_argument("source", metavar="NAME[:FORMAT]|LAYOUT_DIR")
    u.add_argument("--format", choices=harness_fixtures.FORMATS, default=None)
    u.add_argument("--repo", default=None)
    u.add_argument("--tag", default="latest")
    u.add_argument("--src-tag", default="latest")
    u.set_defaults(func=cmd_push)
    return p


def _reexec_with_debian_python():
    """`python3` on PATH may lack Debian's python3-cryptography/python3-jwt:
    run ourselves with /usr/bin/python3 then."""
    try:
        import cryptography  # noqa: F401
        import jwt  # noqa: F401
        return
    except ImportError:
        pass
    debian = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(debian) and os.access(debian, os.X_OK):
        os.execv(debian, [debian, os.path.abspath(__file__)] + sys.argv[1:])


def main(argv=None):
    if argv is None:
        _reexec_with_debian_python()
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        sys.stderr.write("registry_harness %s: %s\n" % (args.command, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
