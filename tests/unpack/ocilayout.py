"""Build OCI image layouts from tar layers, for the unpack tests: any tar
(hostile ones too, made with tarfile), compressed with gzip, zstd (the
zstd program) or not, with the right diff_ids or chosen wrong ones."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

GZIP = "gzip"
ZSTD = "zstd"
NONE = "none"

MEDIA = {
    GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
    ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
    NONE: "application/vnd.oci.image.layer.v1.tar",
}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compress(data, how):
    if how == GZIP:
        return gzip.compress(data, 6, mtime=0)
    if how == ZSTD:
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return data


class Tar:
    """A tar built member by member (tarfile lets us write what no sane tool would)."""

    def __init__(self, fmt=tarfile.PAX_FORMAT):
        self.buf = io.BytesIO()
        self.tf = tarfile.open(fileobj=self.buf, mode="w", format=fmt)

    def add(self, name, type=tarfile.REGTYPE, data=b"", mode=0o644, linkname="", uid=0, gid=0,
            mtime=1600000000, pax=None, devmajor=0, devminor=0):
        ti = tarfile.TarInfo(name)
        ti.type = type
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.mtime = mtime
        ti.linkname = linkname
        ti.devmajor, ti.devminor = devmajor, devminor
        if pax:
            ti.pax_headers = dict(pax)
        if type == tarfile.REGTYPE:
            ti.size = len(data)
            self.tf.addfile(ti, io.BytesIO(data))
        else:
            self.tf.addfile(ti)
        return self

    def dir(self, name, mode=0o755, **kw):
        return self.add(name, tarfile.DIRTYPE, mode=mode, **kw)

    def file(self, name, data=b"", mode=0o644, **kw):
        return self.add(name, tarfile.REGTYPE, data=data, mode=mode, **kw)

    def symlink(self, name, target, **kw):
        return self.add(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)

    def hardlink(self, name, target, **kw):
        return self.add(name, tarfile.LNKTYPE, linkname=target, **kw)

    def bytes(self):
        self.tf.close()
        return self.buf.getvalue()


def write_blob(layout, data):
    digest = sha256(data)
    path = os.path.join(layout, "blobs", "sha256", digest[7:])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def make_layout(layout, layers, how=GZIP, diff_ids=None, config_extra=None, name="latest"):
    """An OCI layout holding one image of @layers (tar bytes, base first).
    @diff_ids: replace the computed ones (a lie). Returns the manifest digest."""
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descs = []
    for tar in layers:
        d = write_blob(layout, compress(tar, how))
        d["mediaType"] = MEDIA[how]
        descs.append(d)
    config = {"architecture": "amd64", "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": diff_ids or [sha256(t) for t in layers]},
              "config": {}}
    if config_extra:
        config["config"].update(config_extra)
    cdesc = write_blob(layout, json.dumps(config).encode())
    cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": descs}
    mdesc = write_blob(layout, json.dumps(manifest).encode())
    mdesc["mediaType"] = manifest["mediaType"]
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": name}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [mdesc]}, f)
    return mdesc["digest"]
