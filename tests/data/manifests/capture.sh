#!/bin/sh
# Re-capture the real-registry manifest fixtures of this folder.
#
# Starts two Debian docker-registry (distribution 2.8) instances on free
# loopback ports with temporary storage (the second with schema1 enabled),
# builds small deterministic OCI layouts with python, pushes them with
# skopeo in every format, and saves what the registry serves:
#   NAME.json          the body, byte for byte
#   NAME.json.headers  Content-Type, Content-Length and Docker-Content-Digest
# The unit tests check that libregistry computes the registry's digest.
#
# Needs: /usr/bin/docker-registry, skopeo, curl, /usr/bin/python3.
# Usage: tests/data/manifests/capture.sh [OUTPUT_DIR]   (default: this folder)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
work=$(mktemp -d /tmp/libregistry-capture.XXXXXX)
pids=""

cleanup() {
	for pid in $pids; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME SCHEMA1(true|false): sets $port. Not run in a subshell,
# so that $pids keeps the process for cleanup.
start_registry() {
	port=$(free_port)
	mkdir -p "$work/$1/storage"
	cat >"$work/$1/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/$1/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
compatibility:
  schema1:
    enabled: $2
EOF
	/usr/bin/docker-registry serve "$work/$1/config.yml" >"$work/$1/log" 2>&1 &
	pids="$pids $!"
	i=0
	until curl -fs "http://127.0.0.1:$port/v2/" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$work/$1/log" >&2; echo "registry $1 did not start" >&2; exit 1; }
		sleep 0.1
	done
}

# Small OCI layouts with deterministic gzip tar layers:
#   $work/layout:amd64   one linux/amd64 image, 2 layers, an empty_layer history entry
#   $work/layout:multi   an OCI index of linux/amd64 and linux/arm64/v8
#   $work/artifact/*     blobs and an OCI artifact manifest (artifactType, subject, urls)
/usr/bin/python3 - "$work" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

work = sys.argv[1]
layout = os.path.join(work, "layout")
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(data, media_type, **extra):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    d = {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
    d.update(extra)
    return d

def layer(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, text in files:
            info = tarfile.TarInfo(name)
            info.size = len(text)
            info.mtime = 1577836800
            info.mode = 0o644
            t.addfile(info, io.BytesIO(text))
    tar = raw.getvalue()
    gz = gzip.compress(tar, mtime=0)
    return put(gz, "application/vnd.oci.image.layer.v1.tar+gzip"), "sha256:" + hashlib.sha256(tar).hexdigest()

def image(arch, variant, layers):
    descs, diff_ids, history = [], [], []
    for i, files in enumerate(layers):
        d, diff = layer(files)
        descs.append(d)
        diff_ids.append(diff)
        history.append({"created": "2020-01-01T00:00:00Z", "created_by": "ADD layer %d" % i})
        if i == 0:
            history.append({"created": "2020-01-01T00:00:01Z", "created_by": "ENV A=1", "empty_layer": True})
    config = {"architecture": arch, "os": "linux", "config": {"Env": ["A=1"], "Cmd": ["/hello"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
              "created": "2020-01-01T00:00:02Z"}
    if variant:
        config["variant"] = variant
    cfg = put(json.dumps(config, separators=(",", ":")).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": descs}
    platform = {"architecture": arch, "os": "linux"}
    if variant:
        platform["variant"] = variant
    return put(json.dumps(manifest, separators=(",", ":")).encode(), manifest["mediaType"], platform=platform)

amd64 = image("amd64", None, [[("hello.txt", b"hello\n")], [("world.txt", b"world\n")]])
arm64 = image("arm64", "v8", [[("hello.txt", b"hello from arm64\n")]])
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [amd64, arm64]}
index_desc = put(json.dumps(index, separators=(",", ":")).encode(), index["mediaType"])

def ref(desc, name):
    d = {k: v for k, v in desc.items() if k != "platform"}
    d["annotations"] = {"org.opencontainers.image.ref.name": name}
    return d

with open(os.path.join(layout, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [ref(amd64, "amd64"), ref(index_desc, "multi")]}, f)

# An OCI artifact: empty config, one foreign-style layer with urls, a subject.
art = os.path.join(work, "artifact")
os.makedirs(art, exist_ok=True)
empty = b"{}"
with open(os.path.join(art, "empty"), "wb") as f:
    f.write(empty)
body = b"signature payload\n"
with open(os.path.join(art, "blob"), "wb") as f:
    f.write(body)
artifact = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "artifactType": "application/vnd.example.signature.v1",
    "config": {"mediaType": "application/vnd.oci.empty.v1+json",
               "digest": "sha256:" + hashlib.sha256(empty).hexdigest(), "size": 2},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body),
                "annotations": {"org.opencontainers.image.title": "sig.txt"}}],
    "subject": {k: amd64[k] for k in ("mediaType", "digest", "size")},
    "annotations": {"org.opencontainers.image.created": "2020-01-01T00:00:00Z",
                    "com.example.note": "<b>&amp;</b>"},
}
with open(os.path.join(art, "manifest.json"), "wb") as f:
    f.write(json.dumps(artifact, indent=2).encode())
PY

start_registry plain false
P=127.0.0.1:$port
start_registry legacy true
L=127.0.0.1:$port

SK="skopeo --insecure-policy copy -q --dest-tls-verify=false"
$SK --format v2s2 "oci:$work/layout:amd64" "docker://$P/test/image:v2s2"
$SK --format oci "oci:$work/layout:amd64" "docker://$P/test/image:oci"
$SK --all --format oci "oci:$work/layout:multi" "docker://$P/test/multi:oci"
$SK --all --format v2s2 "oci:$work/layout:multi" "docker://$P/test/multi:docker"
$SK --format v2s1 "oci:$work/layout:amd64" "docker://$L/test/image:v2s1"
$SK --format v2s2 "oci:$work/layout:amd64" "docker://$L/test/image:v2s2"

# The artifact: blobs by monolithic upload, then the manifest by PUT.
upload() { # REPO FILE
	digest=sha256:$(sha256sum "$2" | cut -d' ' -f1)
	loc=$(curl -fsS -X POST -D - -o /dev/null "http://$P/v2/$1/blobs/uploads/" |
		tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
	case $loc in http*) ;; *) loc="http://$P$loc" ;; esac
	case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
		"$loc${sep}digest=$digest" >/dev/null
}
upload test/image "$work/artifact/empty"
upload test/image "$work/artifact/blob"
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary "@$work/artifact/manifest.json" "http://$P/v2/test/image/manifests/artifact" >/dev/null

# fetch NAME HOST REPO REF ACCEPT
fetch() {
	curl -fsS -D "$work/h" -o "$out/$1.json" -H "Accept: $5" "http://$2/v2/$3/manifests/$4"
	tr -d '\r' <"$work/h" | grep -iE '^(content-type|content-length|docker-content-digest):' \
		>"$out/$1.json.headers"
	echo "captured $1.json: $(wc -c <"$out/$1.json") bytes, $(grep -i digest "$out/$1.json.headers")"
}

fetch docker-schema2 "$P" test/image v2s2 application/vnd.docker.distribution.manifest.v2+json
fetch oci-manifest "$P" test/image oci application/vnd.oci.image.manifest.v1+json
fetch oci-index "$P" test/multi oci application/vnd.oci.image.index.v1+json
fetch docker-list "$P" test/multi docker application/vnd.docker.distribution.manifest.list.v2+json
fetch oci-artifact "$P" test/image artifact application/vnd.oci.image.manifest.v1+json
fetch schema1-signed "$L" test/image v2s1 application/vnd.docker.distribution.manifest.v1+prettyjws
# What registry 2.8 does for old clients: schema2 converted to a freshly signed schema1.
fetch schema1-converted "$L" test/image v2s2 application/vnd.docker.distribution.manifest.v1+prettyjws
