"""A PEP 517 build backend for the bindings, in the standard library only.

The package is pure Python (ctypes, no compile step), so a wheel is a zip of
registry/ plus its metadata. With no build requirements, `pip install
bindings/python` needs nothing from a package index, build isolation and
all: it works offline.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

NAME = "libregistry"
PACKAGE = "registry"
HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = ("Python bindings (ctypes) for libregistry, a Docker Registry V2 / OCI distribution "
           "client library")


def _version():
    with open(os.path.join(HERE, PACKAGE, "_version.py"), encoding="utf-8") as f:
        return re.search(r'__version__ = "([^"]+)"', f.read()).group(1)


def _package_files():
    folder = os.path.join(HERE, PACKAGE)
    return sorted(f for f in os.listdir(folder) if f.endswith(".py") or f == "py.typed")


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\nLicense: MIT\n"
            "Requires-Python: >=3.8\nClassifier: License :: OSI Approved :: MIT License\n"
            "Classifier: Operating System :: POSIX :: Linux\n"
            "Classifier: Programming Language :: Python :: 3\nClassifier: Typing :: Typed\n"
            "Description-Content-Type: text/markdown\n\n%s" % (NAME, _version(), SUMMARY, readme))


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


def _dist_info_files():
    wheel = ("Wheel-Version: 1.0\nGenerator: libregistry _build_backend\nRoot-Is-Purelib: true\n"
             "Tag: py3-none-any\n")
    return {"METADATA": _metadata(), "WHEEL": wheel, "top_level.txt": PACKAGE + "\n"}


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    path = os.path.join(metadata_directory, _dist_info())
    os.makedirs(path, exist_ok=True)
    for name, text in _dist_info_files().items():
        with open(os.path.join(path, name), "w", encoding="utf-8") as f:
            f.write(text)
    return _dist_info()


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (arcname, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "%s-%s-py3-none-any.whl" % (NAME, _version())
    entries = []
    for f in _package_files():
        with open(os.path.join(HERE, PACKAGE, f), "rb") as src:
            entries.append(("%s/%s" % (PACKAGE, f), src.read()))
    for f, text in _dist_info_files().items():
        entries.append(("%s/%s" % (_dist_info(), f), text.encode("utf-8")))
    record_name = "%s/RECORD" % _dist_info()
    record = "".join(_record_line(a, d) for a, d in entries) + record_name + ",,\n"
    entries.append((record_name, record.encode("utf-8")))
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return name


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    files = ["pyproject.toml", "README.md", "_build_backend.py"] + [
        os.path.join(PACKAGE, f) for f in _package_files()]
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for f in files:
            t.add(os.path.join(HERE, f), arcname=os.path.join(base, f))
        info = tarfile.TarInfo(os.path.join(base, "PKG-INFO"))
        data = _metadata().encode("utf-8")
        info.size = len(data)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
    return name
