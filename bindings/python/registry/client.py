"""``registry.Client``: one registry endpoint, and the operations on it."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
from typing import Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _interrupt, _lib, _settings
from ._lib import C, client_p, list_p, manifest_p
from ._util import Handle, StrPath, as_bytes, cpath, cstr, take_string, text, use_all
from .config import ImageConfig
from .digest import digest as _digest_of
from .digest import file_digest
from .errors import (EDENIED, EIO, ENOTFOUND, EUNSUPPORTED, InvalidArgumentError, RegistryError, check,
                     last_error)
from .manifest import Descriptor, Manifest, Platform, platform_c
from .progress import CallbackBridge, ProgressCallback, progress_bridge
from .reference import Reference
from .store import ImageFormat, Store, image_format
from .trust import PolicyLike, VerifyResult, as_policy, new_result, verify_options

RefLike = Union[str, Reference]
PlatformLike = Union[str, Platform, None]

_AUTH_SCHEMES = {0: None, 1: "none", 2: "basic", 3: "bearer"}
_PRESERVE_DIGESTS = 1          # REGISTRY_PULL_PRESERVE_DIGESTS
_ALL_PLATFORMS = 2             # REGISTRY_PULL_ALL_PLATFORMS
_COPY_ALL_PLATFORMS = 1        # REGISTRY_COPY_ALL_PLATFORMS
_COPY_REFERRERS = 2            # REGISTRY_COPY_REFERRERS
_PULL_REFERRERS = 4            # REGISTRY_PULL_REFERRERS
_PULL_FOREIGN_LAYERS = 8       # REGISTRY_PULL_FOREIGN_LAYERS
_PULL_UNPACK_DEVICES = 0x10    # REGISTRY_PULL_UNPACK_DEVICES


def _layout_source(path: str, name: Optional[str]) -> Tuple[str, Optional[str]]:
    """"DIR:NAME" of push(): the layout folder and the image's name in it."""
    head, colon, tail = path.rpartition(":")
    if colon and "/" not in tail and not os.path.isdir(path):
        return head, (tail or name)
    return path, name


def _image_name(store: Store, name: Optional[str]) -> str:
    """The image of @store to push: @name, or the only one it holds."""
    if name is not None:
        return name
    entries = store.index
    if len(entries) != 1:
        raise InvalidArgumentError("%s holds %d images; name one (DIR:NAME or name=)"
                                   % (store.path, len(entries)))
    return entries[0].ref_name or entries[0].digest


class Client(Handle):
    """A connection to one registry ("host", "host:port", "[::1]:5000", "docker.io").

    Credentials: @username / @password when given; otherwise, when
    @docker_config is true, Docker's config file ($DOCKER_CONFIG/config.json or
    ~/.docker/config.json, credential helpers included; a path may be given
    instead of True). No entry for the registry is fine: anonymous access.

    References given to the methods are relative to this registry:
    ``Client("localhost:5000").inspect("ubuntu:Kana-1")`` reads
    ``localhost:5000/ubuntu:Kana-1``. A reference naming another registry is
    refused (InvalidArgumentError).

    A Client is a context manager; ``close()`` is idempotent. One Client
    serializes its calls (libregistry handles are not thread-safe): use one
    Client per thread to transfer in parallel. Long calls release the GIL.
    """

    _kind = "client"

    @contextlib.contextmanager
    def use(self) -> Iterator[Any]:
        """The C handle for one call; Ctrl-C on the main thread cancels the call and
        raises KeyboardInterrupt once it has returned (registry/_interrupt.py)."""
        with super().use() as ptr, _interrupt.guard(ptr):
            yield ptr

    def __init__(self, registry: str, username: Optional[str] = None,
                 password: Optional[str] = None, insecure: bool = False,
                 ca_file: Optional[StrPath] = None, tls_verify: bool = True,
                 docker_config: Union[bool, StrPath] = True, *,
                 identity_token: Optional[str] = None, user_agent: Optional[str] = None,
                 max_parallel: Optional[int] = None, proxy: Optional[str] = None,
                 retries: Optional[int] = None, connect_timeout: Optional[float] = None,
                 client_cert: Optional[Tuple[_settings.PemOrPath, _settings.PemOrPath]] = None,
                 timeout: Optional[float] = None,
                 low_speed: Optional[Tuple[int, float]] = None, ca_data: Optional[bytes] = None,
                 key_password: Optional[str] = None, min_tls: Optional[str] = None,
                 no_proxy: Optional[str] = None, headers: Optional[Dict[str, str]] = None,
                 trace: Optional[_settings.TraceCallback] = None,
                 credentials: Optional[_settings.CredentialCallback] = None,
                 host_config: Union[bool, Dict[str, Any]] = True) -> None:
        """Settings (all optional): @timeout is the total time of one request in
        seconds (default none), @connect_timeout that of a connection,
        @low_speed (bytes_per_second, seconds) aborts and retries a slower
        transfer; @ca_file / @ca_data (PEM bytes) the CAs to trust,
        @client_cert (cert, key) as paths or PEM bytes with @key_password,
        @min_tls "1.2" or "1.3"; @proxy and @no_proxy; @headers sent to the
        registry's own origin only; @trace(TraceEvent) for every attempt;
        @credentials(registry) -> (username, secret) or None, asked once when
        the registry wants credentials and none are set (an exception in it
        cancels the call). @host_config loads the host's registry configuration
        (certs.d, auth files, registries.conf, daemon.json: docs/host-config.md);
        False reads none of it, a dict overrides sources ("certs_dirs",
        "auth_files", "registries_conf", "registries_conf_dir",
        "docker_daemon_json", "credential_realms", "no_certs", "no_auth",
        "no_registries_conf", "no_docker_daemon"). Explicit settings win;
        docker_config=False reads credentials from no file at all."""
        ptr = client_p()
        check(C.registry_client_new(ctypes.byref(ptr), cstr(registry, "registry")))
        super().__init__(ptr, C.registry_client_free)
        try:
            # The host configuration includes Docker's config file (last in
            # the auth file order): loading it alone first would hide the
            # auth.json files before it.
            self._configure(username, password, insecure, tls_verify,
                            False if host_config is not False and docker_config is True else docker_config,
                            identity_token, user_agent, max_parallel, retries)
            _settings.tls(ptr, ca_file, ca_data, client_cert, key_password, min_tls)
            if docker_config is False and host_config is True:
                # No credentials from files, as before host configuration.
                host_config = {"no_auth": True}
            _settings.host_config(ptr, host_config)
            _settings.timeouts(ptr, timeout, connect_timeout, low_speed)
            if proxy is not None or no_proxy is not None:
                check(C.registry_client_set_proxy(ptr, cstr(proxy, "proxy"),
                                                  cstr(no_proxy, "no_proxy")))
            _settings.headers(ptr, headers)
            # The C callbacks live as long as the client.
            self._trace_cb = _settings.trace_callback(trace)
            if self._trace_cb is not None:
                check(C.registry_client_set_trace(ptr, self._trace_cb, None))
            self._credential_cb = _settings.credential_callback(credentials)
            if self._credential_cb is not None:
                check(C.registry_client_set_credential_provider(ptr, self._credential_cb, None))
        except BaseException:
            self.close()
            raise
        self.registry: str = text(C.registry_client_registry(ptr)) or registry
        # The registry as references spell it, to resolve relative references.
        try:
            probe = Reference.parse(self.registry + "/probe")
            self._ref_registry: Optional[str] = probe.registry if (
                probe.api_host == self.registry or probe.registry == self.registry
                or self.registry in ("index.docker.io", "registry-1.docker.io")) else None
        except RegistryError:
            self._ref_registry = None

    def _configure(self, username: Optional[str], password: Optional[str], insecure: bool,
                   tls_verify: bool, docker_config: Union[bool, StrPath], identity_token: Optional[str],
                   user_agent: Optional[str], max_parallel: Optional[int],
                   retries: Optional[int]) -> None:
        c = self._ptr
        # One knob (registry_client_set_insecure): insecure is Docker's
        # insecure-registries, tls_verify=False only skips verification.
        flags = (_lib.INSECURE_ALLOW_HTTP | _lib.INSECURE_NO_VERIFY) if insecure else 0
        if not tls_verify:
            flags |= _lib.INSECURE_NO_VERIFY
        if flags:
            check(C.registry_client_set_insecure(c, flags))
        if user_agent is not None:
            check(C.registry_client_set_user_agent(c, cstr(user_agent, "user_agent")))
        if max_parallel is not None:
            check(C.registry_client_set_max_parallel(c, int(max_parallel)))
        if retries is not None:
            r = _lib.retry_options()
            check(C.registry_retry_options_init(ctypes.byref(r)))
            if int(retries) == 0:
                r.flags = _lib.RETRY_NONE
            else:
                r.count = int(retries)
            check(C.registry_client_set_retries(c, ctypes.byref(r)))
        if password is not None and username is None:
            raise InvalidArgumentError("a password needs a username")
        if username is not None:
            check(C.registry_client_set_credentials(c, cstr(username, "username"),
                                                    cstr(password or "", "password")))
        if identity_token is not None:
            check(C.registry_client_set_identity_token(c, cstr(identity_token, "identity_token")))
        if username is None and identity_token is None and docker_config is not False:
            path = None if docker_config is True else cpath(docker_config)  # type: ignore[arg-type]
            if path is not None and not os.path.exists(path):
                raise InvalidArgumentError("docker_config: no such file: %s" % os.fsdecode(path))
            rc = C.registry_client_load_docker_config(c, path)
            if rc != ENOTFOUND:  # no file, or no entry for this registry: anonymous
                check(rc)

    # -- context manager and properties ------------------------------------------
    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<registry.Client %s%s>" % (self.registry, " closed" if self.closed else "")

    @property
    def base_url(self) -> Optional[str]:
        """"https://host:port" once the first request chose a scheme, else None."""
        with self.use() as c:
            return text(C.registry_client_base_url(c))

    @property
    def auth_scheme(self) -> Optional[str]:
        """"none", "basic" or "bearer" (what the registry asked for), None before contact."""
        with self.use() as c:
            return _AUTH_SCHEMES.get(C.registry_client_auth_scheme(c))

    @property
    def rate_limit(self) -> Tuple[Optional[int], Optional[int]]:
        """(limit, remaining) from Docker Hub's RateLimit headers; None when never seen."""
        limit, remaining = ctypes.c_int64(-1), ctypes.c_int64(-1)
        with self.use() as c:
            C.registry_client_rate_limit(ctypes.byref(limit), ctypes.byref(remaining), c)
        return (None if limit.value < 0 else limit.value,
                None if remaining.value < 0 else remaining.value)

    # -- references ------------------------------------------------------------------
    def reference(self, ref: RefLike) -> Reference:
        """@ref as a Reference on this registry ("ubuntu:Kana-1" -> "HOST/ubuntu:Kana-1")."""
        if isinstance(ref, Reference):
            parsed = ref
        elif isinstance(ref, str):
            first, slash, _ = ref.partition("/")
            names_host = slash and ("." in first or ":" in first or first == "localhost")
            if names_host or self._ref_registry is None:
                parsed = Reference.parse(ref)
            else:
                parsed = Reference.parse(self._ref_registry + "/" + ref)
        else:
            raise TypeError("reference must be a str or a Reference, not %s" % type(ref).__name__)
        if self._ref_registry is not None and parsed.registry != self._ref_registry:
            raise InvalidArgumentError("%s names the registry %s, but this client talks to %s"
                                       % (parsed, parsed.registry, self.registry))
        return parsed

    def _repository(self, repo: RefLike) -> str:
        if isinstance(repo, str) and "@" not in repo and ":" not in repo.rpartition("/")[2]:
            return self.reference(repo).repository
        if isinstance(repo, Reference):
            return self.reference(repo).repository
        raise InvalidArgumentError("%r is not a repository name (no tag or digest)" % (repo,))

    # -- registry-level calls ------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/: check the endpoint and the credentials. Raises AuthError, NetworkError,
        TLSError, ProtocolError..."""
        with self.use() as c:
            check(C.registry_client_ping(c))

    def login(self, username: str, password: str, auth_file: Optional[StrPath] = None,
              verify: bool = True) -> None:
        """Check @username / @password at the registry (unless @verify is False),
        use them from now on, and store them where podman, skopeo and Docker
        read them: the credential helper the auth file names for the
        registry, else the auth file (@auth_file, else $REGISTRY_AUTH_FILE,
        else $XDG_RUNTIME_DIR/containers/auth.json, else
        $XDG_CONFIG_HOME/containers/auth.json), replaced atomically, mode
        0600. Raises AuthError when the registry refuses them (nothing is
        stored then)."""
        o = _lib.login_options()
        check(C.registry_login_options_init(ctypes.byref(o)))
        if not verify:
            o.flags |= _lib.LOGIN_NO_VERIFY
        if auth_file is not None:
            o.auth_file = cpath(auth_file)
        with self.use() as c:
            check(C.registry_login(c, cstr(username, "username"), cstr(password, "password"),
                                   ctypes.byref(o)))

    def logout(self, auth_file: Optional[StrPath] = None) -> None:
        """Remove the registry's stored credentials (see login()); NotFoundError
        when there are none. The client keeps the credentials it has."""
        o = _lib.login_options()
        check(C.registry_login_options_init(ctypes.byref(o)))
        if auth_file is not None:
            o.auth_file = cpath(auth_file)
        with self.use() as c:
            check(C.registry_logout(c, ctypes.byref(o)))

    def resolve(self, ref: RefLike) -> str:
        """The manifest digest a tag (or digest) points to, by HEAD."""
        return self.stat(ref).digest

    def stat(self, ref: RefLike) -> Descriptor:
        """The manifest's descriptor (media type, digest, size), by HEAD."""
        r = self.reference(ref)
        digest, media_type, size = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_int64(-1)
        with self.use() as c:
            check(C.registry_manifest_resolve(ctypes.byref(digest), ctypes.byref(media_type),
                                              ctypes.byref(size), c, cstr(r.repository),
                                              cstr(r.tag_or_digest)))
        d, mt = take_string(digest), take_string(media_type)
        return Descriptor(media_type=mt or "", digest=d or "",
                          size=None if size.value < 0 else size.value)

    def inspect(self, ref: RefLike, platform: PlatformLike = None, max_size: int = 0) -> Manifest:
        """GET the manifest, verified. With @platform, a list or index is resolved to
        the manifest of that platform ("linux/arm64/v8")."""
        r = self.reference(ref)
        m = self._fetch(r.repository, r.tag_or_digest, max_size)
        if platform is not None and m.is_index:
            entry = m.select_platform(platform)
            m.close()
            m = self._fetch(r.repository, entry.digest, max_size)
        return m

    def config(self, ref: RefLike, platform: PlatformLike = None) -> ImageConfig:
        """The image's configuration (Env, Cmd, Entrypoint, WorkingDir, User, labels,
        diff_ids, history...). For a list or index, the @platform entry (by default
        this machine's). The config blob is verified against its digest."""
        r = self.reference(ref)
        opts = _lib.image_config_fetch_options(_lib.IMAGE_CONFIG_FETCH_OPTIONS_VERSION, 0,
                                               platform_c(platform))
        out = _lib.image_config_p()
        with self.use() as c, r._c() as cref:
            check(C.registry_image_config_fetch(ctypes.byref(out), c, cref, ctypes.byref(opts)))
        return ImageConfig._take(out)

    def verify(self, ref: RefLike, policy: PolicyLike,
               registries_d: Optional[StrPath] = None) -> VerifyResult:
        """Does @policy (a Policy, a policy.json dict or a path) accept the image @ref?

        Returns the verdict (``bool(result)``), its reason, the digest verified
        (pull by it) and each signature examined. A rejection is a result, not an
        exception; failures to reach the registry raise. @registries_d names the
        lookaside folder for simple signing (default /etc/containers/registries.d).
        """
        r = self.reference(ref)
        pol = as_policy(policy)
        opts = verify_options(registries_d)
        out = new_result()
        with use_all(self, pol) as (c, p), r._c() as cref:
            rc = C.registry_verify(ctypes.byref(out), c, cref, p, ctypes.byref(opts))
            if not out or rc not in (0, EDENIED, EUNSUPPORTED):
                check(rc)
            return VerifyResult._take(out)

    def sign(self, ref: RefLike, key: Union[bytes, StrPath], password: Optional[str] = None,
             identity: Optional[str] = None, replace: bool = False, referrer: bool = False) -> str:
        """Sign the image @ref as ``cosign sign --key`` does (the sha256-<hex>.sig tag;
        with @referrer, an OCI 1.1 referrer of the image as cosign's oci-1-1 mode writes).

        @key is the private key file's bytes or its path: cosign's encrypted key
        (opened with @password) or an unencrypted PEM key. @identity is the
        docker-reference signed (default: registry/repository). With @replace the
        signatures already on the tag are dropped. Returns the digest signed.
        """
        r = self.reference(ref)
        if not isinstance(key, (bytes, bytearray, memoryview)):
            with open(key, "rb") as f:
                key = f.read(256 * 1024 + 1)
        data = as_bytes(key, "key")
        flags = (_lib.SIGN_REPLACE if replace else 0) | (_lib.SIGN_REFERRER if referrer else 0)
        opts = _lib.sign_options(_lib.SIGN_OPTIONS_VERSION, flags, cstr(password, "password"),
                                 cstr(identity, "identity"))
        out = ctypes.c_void_p()
        with self.use() as c, r._c() as cref:
            rc = C.registry_sign_cosign(ctypes.byref(out), c, cref, data, len(data), ctypes.byref(opts))
            digest = take_string(out)
            check(rc)
        return digest or ""

    def sign_gpg(self, ref: RefLike, fingerprint: str, registries_d: Optional[StrPath] = None,
                 identity: Optional[str] = None) -> str:
        """Sign the image @ref with GPG as ``skopeo copy --sign-by`` does: the secret
        key @fingerprint of the keyring ($GNUPGHOME), the signature written to the
        registry's own signature storage where it advertises one, else to the
        lookaside-staging storage @registries_d names (file:// only). Returns the
        digest signed."""
        r = self.reference(ref)
        opts = _lib.sign_options(_lib.SIGN_OPTIONS_VERSION, 0, None, cstr(identity, "identity"))
        out = ctypes.c_void_p()
        with self.use() as c, r._c() as cref:
            rc = C.registry_sign_gpg(ctypes.byref(out), c, cref, cstr(fingerprint, "fingerprint"),
                                     cpath(registries_d, "registries_d"), ctypes.byref(opts))
            digest = take_string(out)
            check(rc)
        return digest or ""

    def _fetch(self, repository: str, reference: str, max_size: int = 0) -> Manifest:
        out = manifest_p()
        opts = _lib.manifest_fetch_options(version=_lib.MANIFEST_FETCH_OPTIONS_VERSION,
                                           max_size=max_size)
        with self.use() as c:
            check(C.registry_manifest_fetch(ctypes.byref(out), c, cstr(repository),
                                            cstr(reference), ctypes.byref(opts)))
        return Manifest(out)

    def push_manifest(self, ref: RefLike, manifest: Manifest) -> str:
        """PUT @manifest under @ref's tag (or its digest); returns the registry's digest."""
        r = self.reference(ref)
        out = ctypes.c_void_p()
        with use_all(self, manifest) as (c, m):
            rc = C.registry_manifest_push(ctypes.byref(out), c, cstr(r.repository),
                                          cstr(r.tag_or_digest), m)
            check(rc)
        return take_string(out) or ""

    def delete(self, ref: RefLike, *, force: bool = False) -> str:
        """DELETE a tag or a manifest; returns the digest of the manifest deleted.

        A tag goes as a tag where the registry can (OCI distribution 1.1);
        elsewhere its manifest is deleted, with every tag on it, which is
        refused (:class:`ConflictError` naming the other tags) unless
        ``force`` is true. See registry_manifest_delete().
        """
        r = self.reference(ref)
        opts = _lib.manifest_delete_options(_lib.MANIFEST_DELETE_OPTIONS_VERSION,
                                            _lib.DELETE_FORCE if force else 0)
        out = ctypes.c_void_p()
        with self.use() as c:
            check(C.registry_manifest_delete(ctypes.byref(out), c, cstr(r.repository),
                                             cstr(r.tag_or_digest), ctypes.byref(opts)))
        return take_string(out) or ""

    def tags(self, repository: RefLike, page_size: int = 0,
             last: Optional[str] = None) -> "NameIterator":
        """The tags of @repository, fetched page by page as the iterator advances;
        with @last, the names after it (the distribution spec's ``last``)."""
        repo = cstr(self._repository(repository))
        return NameIterator(self, lambda c, out: C.registry_list_tags_open(
            out, c, repo, ctypes.byref(_list_options(page_size, last))))

    def catalog(self, page_size: int = 0, last: Optional[str] = None) -> "NameIterator":
        """The registry's repositories (GET /v2/_catalog), page by page; with
        @last, the names after it."""
        return NameIterator(self, lambda c, out: C.registry_list_catalog_open(
            out, c, ctypes.byref(_list_options(page_size, last))))

    def referrers(self, ref: RefLike, artifact_type: Optional[str] = None) -> List[Descriptor]:
        """The manifests whose subject is @ref (a tag is resolved to its digest first)."""
        r = self.reference(ref)
        digest = r.digest or self.resolve(r)
        out = manifest_p()
        opts = _lib.referrers_fetch_options(version=_lib.REFERRERS_FETCH_OPTIONS_VERSION,
                                            artifact_type=cstr(artifact_type, "artifact_type"))
        with self.use() as c:
            check(C.registry_referrers_fetch(ctypes.byref(out), c, cstr(r.repository),
                                             cstr(digest), ctypes.byref(opts)))
        index = Manifest(out)
        try:
            return list(index.manifests)
        finally:
            index.close()

    # -- artifacts (issue 18) -------------------------------------------------------------
    def push_artifact(self, ref: RefLike, files: Iterable[Union[StrPath, Tuple[Any, ...]]],
                      artifact_type: Optional[str] = None, subject: Optional[RefLike] = None,
                      annotations: Optional[Dict[str, str]] = None,
                      config: Optional[Tuple[StrPath, str]] = None) -> str:
        """Push files as an OCI artifact; returns the manifest's digest.

        Each of @files is a path, or (path, media_type) or (path, media_type,
        title); a directory is packed as tar+gzip (oras style). @subject (a
        digest, or a tag of the same repository, resolved) makes it a
        referrer; @config is (path, media_type) instead of the empty config.
        """
        r = self.reference(ref)
        specs = []
        for f in files:
            path, media_type, title = (tuple(f) + (None, None))[:3] if isinstance(f, tuple) else (f, None, None)
            spec = _lib.artifact_file(version=_lib.ARTIFACT_FILE_VERSION, path=cpath(path),
                                      media_type=cstr(media_type, "media_type"), title=cstr(title, "title"))
            specs.append(spec)
        array = (ctypes.POINTER(_lib.artifact_file) * (len(specs) + 1))(
            *[ctypes.pointer(x) for x in specs], None)
        pairs = [cstr(x) for kv in (annotations or {}).items() for x in kv]
        ann = (ctypes.c_char_p * (len(pairs) + 1))(*pairs, None) if pairs else None
        subject_digest = None
        if subject is not None:
            sr = self.reference(subject) if not str(subject).startswith("sha256:") else None
            subject_digest = str(subject) if sr is None else (sr.digest or self.resolve(sr))
        opts = _lib.artifact_push_options(
            version=_lib.ARTIFACT_PUSH_OPTIONS_VERSION, artifact_type=cstr(artifact_type, "artifact_type"),
            annotations=ctypes.cast(ann, ctypes.POINTER(ctypes.c_char_p)) if ann else None,
            config_path=cpath(config[0]) if config else None,
            config_media_type=cstr(config[1], "config media type") if config else None,
            subject=cstr(subject_digest, "subject"))
        out = ctypes.c_void_p()
        with self.use() as c, r._c() as cref:
            rc = C.registry_artifact_push(ctypes.byref(out), c, cref, array, ctypes.byref(opts))
            digest = take_string(out)
            check(rc)
        return digest or ""

    def pull_artifact(self, ref: RefLike, dir: StrPath) -> str:
        """Pull an OCI artifact into @dir (created when absent): each titled layer
        becomes the file of that name, verified; hostile titles are refused and
        nothing is overwritten. Returns the manifest's digest."""
        r = self.reference(ref)
        opts = _lib.artifact_pull_options(version=_lib.ARTIFACT_PULL_OPTIONS_VERSION)
        out = ctypes.c_void_p()
        with self.use() as c, r._c() as cref:
            rc = C.registry_artifact_pull(ctypes.byref(out), c, cref, cpath(dir), ctypes.byref(opts))
            digest = take_string(out)
            check(rc)
        return digest or ""

    # -- blobs ---------------------------------------------------------------------------
    def blob_size(self, repository: RefLike, digest: str) -> Optional[int]:
        """HEAD a blob: its size, or None when the repository does not hold it."""
        size = ctypes.c_int64(-1)
        with self.use() as c:
            rc = C.registry_blob_head(ctypes.byref(size), c,
                                      cstr(self._repository(repository)), cstr(digest, "digest"))
            if rc == ENOTFOUND:
                return None
            check(rc)
        return size.value

    def fetch_blob(self, repository: RefLike, digest: Union[str, Descriptor], store: Store,
                   size: Optional[int] = None, progress: Optional[ProgressCallback] = None) -> None:
        """Download one blob into @store, verified (skipped when present, resumed when
        partial). @digest may be a Descriptor, whose size is then checked too."""
        if isinstance(digest, Descriptor):
            size = digest.size if size is None else size
            digest = digest.digest
        repo = cstr(self._repository(repository))
        bridge = progress_bridge(progress)
        opts = _lib.blob_fetch_options(version=_lib.BLOB_FETCH_OPTIONS_VERSION,
                                       progress=bridge.cfunc)
        with use_all(self, store) as (c, s):
            rc = C.registry_blob_fetch(c, repo, cstr(digest, "digest"),
                                       -1 if size is None else size, s, ctypes.byref(opts))
            bridge.reraise()
            check(rc)

    def fetch_blobs(self, repository: RefLike, blobs: Iterable[Union[str, Descriptor]],
                    store: Store, progress: Optional[ProgressCallback] = None) -> None:
        """Download several blobs of one repository into @store, in parallel."""
        items = [(b.digest, b.size) if isinstance(b, Descriptor) else (b, None) for b in blobs]
        if not items:
            return
        n = len(items)
        digests = (ctypes.c_char_p * n)(*[cstr(d, "digest") for d, _ in items])
        sizes = (ctypes.c_int64 * n)(*[-1 if s is None else s for _, s in items])
        results = (ctypes.c_int * n)()
        repo = cstr(self._repository(repository))
        bridge = progress_bridge(progress)
        opts = _lib.blob_fetch_many_options(version=_lib.BLOB_FETCH_MANY_OPTIONS_VERSION,
                                            progress=bridge.cfunc)
        with use_all(self, store) as (c, s):
            rc = C.registry_blob_fetch_many(results, c, repo, n, digests, sizes, s,
                                            ctypes.byref(opts))
            bridge.reraise()
            check(rc)

    def fetch_blob_to(self, repository: RefLike, digest: str,
                      sink: Union[BinaryIO, Callable[[bytes], Any]],
                      size: Optional[int] = None) -> None:
        """Stream a blob into a binary file object or a callable, hashing as it goes.

        The digest is only known at the end: on DigestMismatchError discard
        what was written.
        """
        write = sink if callable(sink) else getattr(sink, "write")
        bridge = CallbackBridge(write, _lib.WRITE_CB,
                                lambda data, n, ud: (ctypes.string_at(data, n),))
        with self.use() as c:
            rc = C.registry_blob_fetch_to(c, cstr(self._repository(repository)),
                                          cstr(digest, "digest"), -1 if size is None else size,
                                          bridge.cfunc, None, None)
            bridge.reraise()
            check(rc)

    def read_blob(self, repository: RefLike, digest: str, size: Optional[int] = None) -> bytes:
        """A (small) blob's bytes, verified: a config, for instance."""
        buf = io.BytesIO()
        self.fetch_blob_to(repository, digest, buf, size)
        return buf.getvalue()

    def upload_blob(self, repository: RefLike,
                    data: Union[bytes, bytearray, memoryview, None] = None, *,
                    path: Optional[StrPath] = None, digest: Optional[str] = None,
                    chunk_size: int = 0, progress: Optional[ProgressCallback] = None) -> str:
        """Upload a blob (skipped when the registry has it); returns its digest
        (computed when not given).

        Give the content as @data (bytes, bytearray, memoryview) or the file
        to read as @path, not both. Blobs larger than @chunk_size (0: 16 MiB)
        go in chunks of that size.
        """
        if (data is None) == (path is None):
            raise TypeError("upload_blob takes data= or path=, exactly one of them")
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes-like, not %s%s" % (
                type(data).__name__, " (for a file, pass path=)"
                if isinstance(data, (str, os.PathLike)) else ""))
        repo = cstr(self._repository(repository))
        bridge = progress_bridge(progress)
        opts = _lib.blob_upload_options(version=_lib.BLOB_UPLOAD_OPTIONS_VERSION,
                                        chunk_size=chunk_size, progress=bridge.cfunc)
        if data is not None:
            data = as_bytes(data)
            digest = digest or _digest_of(data)
            reader = _BytesSource(data)
            with self.use() as c:
                rc = C.registry_blob_upload(c, repo, cstr(digest, "digest"), len(data),
                                            reader.read_cb, reader.rewind_cb, None,
                                            ctypes.byref(opts))
                bridge.reraise()
                check(rc)
            return digest
        digest = digest or file_digest(path)
        with self.use() as c:
            rc = C.registry_blob_upload_file(c, repo, cstr(digest, "digest"), cpath(path),
                                             ctypes.byref(opts))
            bridge.reraise()
            check(rc)
        return digest

    def mount_blob(self, repository: RefLike, digest: str, from_repository: RefLike) -> bool:
        """Cross-repository mount; False when the registry did not mount (no error)."""
        with self.use() as c:
            rc = C.registry_blob_mount(c, cstr(self._repository(repository)),
                                       cstr(digest, "digest"),
                                       cstr(self._repository(from_repository)))
            if rc == ENOTFOUND:
                return False
            check(rc)
        return True

    # -- whole images -------------------------------------------------------------------
    def pull(self, ref: RefLike, dest: Union[StrPath, Store],
             format: Union[str, ImageFormat] = ImageFormat.OCI,
             platform: PlatformLike = None, preserve_digests: bool = False,
             all_platforms: bool = False, progress: Optional[ProgressCallback] = None,
             ref_name: Optional[str] = None, referrers: bool = False,
             foreign_layers: bool = False, policy: Optional[PolicyLike] = None,
             devices: bool = False) -> Optional[str]:
        """Pull an image: the manifest (the @platform entry of a list, by default this
        machine's), config and layers, fetched in parallel and verified.

        @referrers: also what refers to it (signatures, SBOMs), recursively, into
        an OCI layout. @foreign_layers: fetch layers with "urls" from there,
        verified, with no credentials sent. @devices: with format "rootfs" or
        "rootfs-tar", create the image's device nodes (as root only; otherwise
        they are skipped); InvalidArgumentError for the other formats.

        @dest is a Store or a path. A path gets @format, an ImageFormat or its
        value: "oci" (an OCI layout, created or added to), "docker" (a `docker
        load` folder), "docker-archive" (a tarball), "rootfs" or "rootfs-tar". Returns the digest of the image manifest
        written (for Docker formats, the registry's digest of the platform's image). @ref_name names the image
        in the layout (default: the tag, or the digest).

        With @policy (a Policy, a policy.json dict or a path), the image must be
        accepted by it (see verify()) before anything is fetched or written, else
        DeniedError (UnsupportedError for a requirement this library cannot check);
        the digest verified is the one pulled.
        """
        r = self.reference(ref)
        flags = (_PRESERVE_DIGESTS if preserve_digests else 0) | (
            _ALL_PLATFORMS if all_platforms else 0) | (_PULL_REFERRERS if referrers else 0) | (
            _PULL_FOREIGN_LAYERS if foreign_layers else 0) | (_PULL_UNPACK_DEVICES if devices else 0)
        bridge = progress_bridge(progress)
        opts = _lib.pull_options(version=_lib.PULL_OPTIONS_VERSION, flags=flags,
                                 platform=platform_c(platform), progress=bridge.cfunc)
        with contextlib.ExitStack() as stack:
            if policy is not None:
                opts.policy = stack.enter_context(as_policy(policy).use())
            return self._pull(r, dest, format, ref_name, opts, bridge)

    def _pull(self, r: Reference, dest: Union[StrPath, Store], format: Union[str, ImageFormat],
              ref_name: Optional[str], opts: Any, bridge: CallbackBridge) -> Optional[str]:
        if isinstance(dest, Store):
            out = ctypes.c_void_p()
            with use_all(self, dest) as (c, s), r._c() as cref:
                rc = C.registry_pull(ctypes.byref(out), c, cref, s, cstr(ref_name, "ref_name"),
                                     ctypes.byref(opts))
                digest = take_string(out)
                bridge.reraise()
                check(rc)
            return digest
        if ref_name is not None:
            raise InvalidArgumentError("ref_name needs a Store destination")
        fmt = image_format(format)
        out = ctypes.c_void_p()
        with self.use() as c, r._c() as cref:
            rc = C.registry_pull_to(ctypes.byref(out), c, cref, cpath(dest, "dest"), fmt,
                                    ctypes.byref(opts))
            digest = take_string(out)
            bridge.reraise()
            check(rc)
        return digest

    def push(self, source: Union[StrPath, Store], ref: RefLike, name: Optional[str] = None,
             chunk_size: int = 0, progress: Optional[ProgressCallback] = None) -> str:
        """Push an image; returns the pushed manifest's digest.

        @source is "DIR[:NAME]" (an OCI layout; NAME is the image's ref name
        or manifest digest, optional when DIR holds one image), a Store (with
        @name), or "FILE.tar" (a `docker save` tarball).
        """
        r = self.reference(ref)
        bridge = progress_bridge(progress)
        opts = _lib.push_options(version=_lib.PUSH_OPTIONS_VERSION, chunk_size=chunk_size,
                                 progress=bridge.cfunc)
        out = ctypes.c_void_p()
        if not isinstance(source, Store):
            path = os.fspath(source)
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if path.endswith(".tar") and os.path.isfile(path):
                archive_opts = _lib.push_archive_options(
                    version=_lib.PUSH_ARCHIVE_OPTIONS_VERSION, chunk_size=chunk_size,
                    progress=bridge.cfunc)
                with self.use() as c, r._c() as cref:
                    rc = C.registry_push_archive(ctypes.byref(out), c, cpath(path), cref,
                                                 ctypes.byref(archive_opts))
                    digest = take_string(out)
                    bridge.reraise()
                    check(rc)
                return digest or ""
            path, name = _layout_source(path, name)
            with Store(path) as store:
                return self._push_store(store, name, r, opts, bridge)
        return self._push_store(source, name, r, opts, bridge)

    def _push_store(self, store: Store, name: Optional[str], r: Reference, opts: Any,
                    bridge: CallbackBridge) -> str:
        name = _image_name(store, name)
        out = ctypes.c_void_p()
        with use_all(self, store) as (c, s), r._c() as cref:
            rc = C.registry_push(ctypes.byref(out), c, s, cstr(name, "name"), cref,
                                 ctypes.byref(opts))
            digest = take_string(out)
            bridge.reraise()
            check(rc)
        return digest or ""

    def copy(self, source: RefLike, target: RefLike, to: Optional["Client"] = None,
             platform: PlatformLike = None, chunk_size: int = 0,
             progress: Optional[ProgressCallback] = None, all_platforms: bool = False,
             referrers: bool = False, policy: Optional[PolicyLike] = None) -> str:
        """Copy an image from this registry to @to (default: this one), blob by blob
        without touching disk. Of a list/index, the @platform entry (by default this
        machine's, as pull), or with @all_platforms every platform and the index
        itself; with @referrers, then everything that refers to it, recursively.
        Returns the digest of the manifest written. With @policy, as pull():
        the source image must be accepted before anything is pushed."""
        dest_client = to if to is not None else self
        src, dst = self.reference(source), dest_client.reference(target)
        bridge = progress_bridge(progress)
        opts = _lib.copy_options(version=_lib.COPY_OPTIONS_VERSION,
                                 flags=(_COPY_ALL_PLATFORMS if all_platforms else 0) |
                                 (_COPY_REFERRERS if referrers else 0),
                                 platform=platform_c(platform), chunk_size=chunk_size,
                                 progress=bridge.cfunc)
        out = ctypes.c_void_p()
        with contextlib.ExitStack() as stack:
            if policy is not None:
                opts.policy = stack.enter_context(as_policy(policy).use())
            c_src, c_dst = stack.enter_context(use_all(self, dest_client))
            s_ref, d_ref = stack.enter_context(src._c()), stack.enter_context(dst._c())
            rc = C.registry_copy(ctypes.byref(out), c_src, s_ref, c_dst, d_ref,
                                 ctypes.byref(opts))
            digest = take_string(out)
            bridge.reraise()
            check(rc)
        return digest or ""


def _list_options(page_size: int, last: Optional[str]) -> Any:
    """registry_list_options of Client.tags() and catalog(); checked here, so
    that a wrong type is a TypeError naming the argument, not ctypes' one."""
    if not isinstance(page_size, int) or isinstance(page_size, bool):
        raise TypeError("page_size must be an int, not %s" % type(page_size).__name__)
    if page_size < 0:
        raise InvalidArgumentError("page_size must not be negative")
    return _lib.list_options(version=_lib.LIST_OPTIONS_VERSION, page_size=page_size,
                             last=cstr(last, "last"))


class NameIterator(Iterator[str]):
    """Tags or repositories, one page fetched at a time as iteration advances.

    The first request goes out on the first ``next()``. Holds its Client
    (which must stay open while iterating); ``close()`` frees it early.
    """

    def __init__(self, client: Client, opener: Callable[[Any, Any], int]) -> None:
        self._client = client
        self._opener = opener
        self._list: Any = None
        self._done = False
        self._free = C.registry_list_free  # module globals may be gone when __del__ runs

    def __iter__(self) -> "NameIterator":
        return self

    def __repr__(self) -> str:
        state = "done" if self._done else ("started" if self._list is not None else "not started")
        return "<registry.NameIterator on %r, %s>" % (self._client, state)

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        with self._client.use() as c:
            if self._list is None:
                lst = list_p()
                rc = self._opener(c, ctypes.byref(lst))
                if rc < 0:
                    self._done = True
                    check(rc)
                self._list = lst
            name = ctypes.c_char_p()
            rc = C.registry_list_next(ctypes.byref(name), self._list)
            if rc < 0:
                err = last_error(rc)
                self.close()
                raise err
            if name.value is None:
                self.close()
                raise StopIteration
            return name.value.decode("utf-8", "replace")

    def close(self) -> None:
        """Stop early and free the iterator. Idempotent."""
        self._done = True
        lst, self._list = self._list, None
        if lst:
            self._free(lst)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class _BytesSource:
    """registry_blob_upload's read and rewind callbacks over a bytes object."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.read_cb = _lib.READ_CB(self._read)
        self.rewind_cb = _lib.REWIND_CB(self._rewind)

    def _read(self, buf: int, n: int, ud: Any) -> int:
        try:
            chunk = self._data[self._pos:self._pos + n]
            ctypes.memmove(buf, chunk, len(chunk))
            self._pos += len(chunk)
            return len(chunk)
        except BaseException:  # never unwind through C
            return EIO

    def _rewind(self, ud: Any) -> int:
        self._pos = 0
        return 0

