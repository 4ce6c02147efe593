"""Deterministic OCI image layouts for the integration tests, and pushing
them with skopeo.

A layout made here has `oci-layout`, `index.json` (its entry carries the
`org.opencontainers.image.ref.name` annotation) and `blobs/sha256/...`:
N gzip tar layers of pseudo-random (incompressible) bytes, deterministic
for a given seed, a config whose rootfs.diff_ids are the digests of the
uncompressed tars, and for several platforms an OCI index of per-platform
manifests.
"""

import gzip
import hashlib
import json
import os
import subprocess
import tarfile
import tempfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"

# The named images `run --fixture NAME[:FORMAT]` and `push NAME` know.
PRESETS = {
    # 3 layers x 64 KiB, one platform.
    "small": {"layers": 3, "size": 64 * 1024, "platforms": None, "seed": "small"},
    # 2 platforms (OCI index / Docker manifest list), 2 layers x 32 KiB each.
    "multi": {"layers": 2, "size": 32 * 1024,
              "platforms": "linux/amd64,linux/arm64/v8", "seed": "multi"},
    # 2 layers x 8 MiB: bigger than common upload chunk sizes.
    "big": {"layers": 2, "size": 8 * 1024 * 1024, "platforms": None, "seed": "big"},
}

FORMATS = ("v2s2", "oci", "v2s1")
_BLOCK = 1 << 20


class _HashingWriter:
    """File-like sink that hashes and counts what passes through it."""

    def __init__(self, target=None):
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        if self.target is not None:
            self.target.write(data)
        return len(data)

    def flush(self):
        if self.target is not None:
            self.target.flush()

    def digest(self):
        return "sha256:" + self.hash.hexdigest()


class _RandomReader:
    """Reads `size` pseudo-random bytes; the stream depends only on the seed
    (1 MiB blocks, block i = SHAKE-128 of "seed/i", whatever the caller's
    read sizes)."""

    def __init__(self, seed, size):
        self.seed = seed
        self.left = size
        self.index = 0
        self.block = b""
        self.pos = 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.left + len(self.block) - self.pos
        parts = []
        while n > 0:
            if self.pos == len(self.block):
                if self.left == 0:
                    break
                size = min(_BLOCK, self.left)
                key = ("%s/%d" % (self.seed, self.index)).encode()
                self.block = hashlib.shake_128(key).digest(size)
                self.index += 1
                self.pos = 0
                self.left -= size
            take = min(n, len(self.block) - self.pos)
            parts.append(self.block[self.pos:self.pos + take])
            self.pos += take
            n -= take
        return b"".join(parts)


def _blob_dir(layout):
    path = os.path.join(layout, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    return path


def _commit(layout, tmp_path, digest):
    os.chmod(tmp_path, 0o644)
    final = os.path.join(_blob_dir(layout), digest.split(":", 1)[1])
    os.replace(tmp_path, final)


def _put_json(layout, obj):
    data = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(_blob_dir(layout), digest.split(":", 1)[1])
    with open(path, "wb") as f:
        f.write(data)
    return digest, len(data)


def _write_layer(layout, seed, index, size, level):
    """One gzip tar layer holding a single file of random bytes."""
    fd, tmp = tempfile.mkstemp(prefix=".layer-", dir=_blob_dir(layout))
    with os.fdopen(fd, "wb") as raw:
        compressed = _HashingWriter(raw)
        # mtime=0 and no file name keep the gzip header deterministic.
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed,
                           compresslevel=level, mtime=0) as gz:
            uncompressed = _HashingWriter(gz)
            with tarfile.open(fileobj=uncompressed, mode="w|",
                              format=tarfile.USTAR_FORMAT) as tar:
                info = tarfile.TarInfo("layer%d/data.bin" % index)
                info.size = size
                info.mtime = 0
                info.mode = 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                tar.addfile(info, _RandomReader("%s/layer%d" % (seed, index), size))
    _commit(layout, tmp, compressed.digest())
    return {"digest": compressed.digest(), "size": compressed.size,
            "diff_id": uncompressed.digest()}


def _parse_platform(text):
    parts = text.strip().split("/")
    if len(parts) < 2 or len(parts) > 3 or not all(parts):
        raise ValueError("platform must be os/arch[/variant]: %r" % text)
    plat = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        plat["variant"] = parts[2]
    return plat


def _write_image(layout, seed, layers, size, platform, level):
    descs = [_write_layer(layout, seed, i, size, level) for i in range(layers)]
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": platform["architecture"],
        "os": platform["os"],
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"],
                   "Labels": {"org.libregistry.test.seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": [d["diff_id"] for d in descs]},
        "history": [{"created": "2024-01-01T00:00:00Z",
                     "created_by": "registry_harness make-fixture layer %d" % i}
                    for i in range(layers)],
    }
    if "variant" in platform:
        config["variant"] = platform["variant"]
    config_digest, config_size = _put_json(layout, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": d["digest"], "size": d["size"]}
                   for d in descs],
    }
    digest, msize = _put_json(layout, manifest)
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": msize}


def make_layout(directory, layers=3, size=64 * 1024, platforms=None, seed="0",
                tag="latest", gzip_level=1):
    """Writes the OCI layout and returns the index.json entry (a dict with
    mediaType, digest, size, annotations). Random data does not compress:
    gzip_level 0 (stored blocks, still valid gzip) is ~5x faster for big
    fixtures."""
    if not 0 <= gzip_level <= 9:
        raise ValueError("--gzip-level must be 0..9")
    if layers < 1:
        raise ValueError("--layers must be at least 1")
    if size < 0:
        raise ValueError("--size must not be negative")
    seed = str(seed)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    if platforms:
        plats = [_parse_platform(p) for p in platforms.split(",") if p.strip()]
        entries = []
        for plat in plats:
            plat_seed = "%s/%s" % (seed, "/".join(
                [plat["os"], plat["architecture"]] + ([plat["variant"]] if "variant" in plat else [])))
            desc = _write_image(directory, plat_seed, layers, size, plat, gzip_level)
            desc["platform"] = plat
            entries.append(desc)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        digest, isize = _put_json(directory, index)
        top = {"mediaType": OCI_INDEX, "digest": digest, "size": isize}
    else:
        top = _write_image(directory, seed, layers, size,
                          {"os": "linux", "architecture": "amd64"}, gzip_level)
    top["annotations"] = {REF_NAME: tag}
    index_path = os.path.join(directory, "index.json")
    existing = []
    if os.path.exists(index_path):
        with open(index_path) as f:
            existing = [m for m in json.load(f).get("manifests", [])
                        if m.get("annotations", {}).get(REF_NAME) != tag]
    with open(index_path, "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX,
                   "manifests": existing + [top]}, f, indent=2, sort_keys=True)
    return top


def make_preset(name, fixtures_dir):
    """Makes (once) the layout for a preset and returns its directory."""
    if name not in PRESETS:
        raise ValueError("unknown fixture %r (known: %s)" % (name, ", ".join(sorted(PRESETS))))
    directory = os.path.join(fixtures_dir, name)
    if not os.path.exists(os.path.join(directory, "index.json")):
        p = PRESETS[name]
        make_layout(directory, layers=p["layers"], size=p["size"],
                    platforms=p["platforms"], seed=p["seed"])
    return directory


def is_multi(layout, tag="latest"):
    with open(os.path.join(layout, "index.json")) as f:
        for m in json.load(f)["manifests"]:
            if m.get("annotations", {}).get(REF_NAME) == tag:
                return m["mediaType"] == OCI_INDEX
    raise ValueError("tag %r not in %s/index.json" % (tag, layout))


def skopeo_config(tmpdir):
    """(registries.conf, registries.d) under tmpdir, both empty: keeps skopeo
    away from the machine's containers config (no mirrors, no search
    registries, no sigstore lookaside). With --insecure-policy it needs no
    /etc/containers/policy.json either."""
    conf_dir = os.path.join(tmpdir, "containers")
    registries_d = os.path.join(conf_dir, "registries.d")
    os.makedirs(registries_d, exist_ok=True)
    registries_conf = os.path.join(conf_dir, "registries.conf")
    if not os.path.exists(registries_conf):
        with open(registries_conf, "w") as f:
            f.write("# registry harness: no mirrors, no search registries\n")
    return registries_conf, registries_d


def skopeo_push(layout, tag, dest_ref, fmt, dest_args, tmpdir, skopeo="skopeo",
                env=None, timeout=300):
    """Copies oci:LAYOUT:TAG to docker://DEST_REF in format FMT; returns the
    manifest digest the registry stored (skopeo --digestfile)."""
    if fmt not in FORMATS:
        raise ValueError("format must be one of %s" % ", ".join(FORMATS))
    multi = is_multi(layout, tag)
    if multi and fmt == "v2s1":
        raise ValueError("schema1 has no manifest lists: cannot push a multi-platform image as v2s1")
    digest_file = os.path.join(tmpdir, "digest-%d" % os.getpid())
    registries_conf, registries_d = skopeo_config(tmpdir)
    env = dict(os.environ if env is None else env, CONTAINERS_REGISTRIES_CONF=registries_conf)
    cmd = [skopeo, "--insecure-policy", "--registries.d", registries_d,
           "--tmpdir", tmpdir, "copy", "--quiet",
           "--format", fmt, "--digestfile", digest_file]
    if multi:
        cmd.append("--all")
    cmd += list(dest_args)
    cmd += ["oci:%s:%s" % (layout, tag), "docker://" + dest_ref]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("skopeo copy to %s (%s) failed with %d:\n%s" % (
            dest_ref, fmt, proc.returncode, proc.stdout.decode(errors="replace")))
    with open(digest_file) as f:
        digest = f.read().strip()
    os.unlink(digest_file)
    return digest
