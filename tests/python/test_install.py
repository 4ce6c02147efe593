"""Installing the package: `meson install` and `pip install bindings/python`."""

import os
import shutil
import subprocess
import sys

import pytest

import registry

from conftest import SOURCE_ROOT

BINDINGS = os.path.join(SOURCE_ROOT, "bindings", "python")
PACKAGE_FILES = sorted(
    f for f in os.listdir(os.path.join(BINDINGS, "registry"))
    if f.endswith(".py") or f == "py.typed")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(extra)
    return env


def check_installed(site_dir):
    """The package in @site_dir is complete and imports against the build's library."""
    pkg = os.path.join(site_dir, "registry")
    assert sorted(f for f in os.listdir(pkg) if f != "__pycache__") == PACKAGE_FILES
    code = ("import registry, sys; print(registry.__file__); print(registry.version()); "
            "print(registry.Reference.parse('ubuntu'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=clean_env(PYTHONPATH=site_dir), cwd="/")
    assert r.returncode == 0, r.stderr
    path, version, ref = r.stdout.split()
    assert path == os.path.join(pkg, "__init__.py")
    assert version == registry.version()
    assert ref == "docker.io/library/ubuntu:latest"


def test_meson_install_puts_the_package_where_python_finds_it(tmp_path):
    build = os.environ.get("REGISTRY_BUILD_ROOT")
    meson = shutil.which("meson")
    if not (build and meson):
        pytest.skip("needs meson and REGISTRY_BUILD_ROOT (set by meson)")
    dest = tmp_path / "dest"
    r = subprocess.run([meson, "install", "-C", build, "--destdir", str(dest), "--no-rebuild",
                        "--tags", "python-runtime"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    found = [root for root, dirs, files in os.walk(dest)
             if os.path.basename(root) == "registry" and "__init__.py" in files]
    assert len(found) == 1, found
    site_dir = os.path.dirname(found[0])
    check_installed(site_dir)
    installed = site_dir[len(str(dest)):]
    # The selected interpreter searches that folder (for the /usr and
    # /usr/local prefixes; another prefix needs PYTHONPATH).
    if not installed.startswith(("/usr/lib/", "/usr/local/lib/")):
        pytest.skip("prefix %s: not on the interpreter's default path" % installed)
    r = subprocess.run([sys.executable, "-c", "import sys; print('\\n'.join(sys.path))"],
                       capture_output=True, text=True, env=clean_env(), cwd="/")
    assert installed in r.stdout.split("\n"), (installed, r.stdout)


@pytest.mark.parametrize("isolation", [True, False], ids=["build-isolation", "no-build-isolation"])
def test_pip_install_offline(tmp_path, isolation):
    """pip installs the bindings with no package index to reach (--no-index): the
    in-tree build backend needs nothing, with build isolation or without."""
    if subprocess.run([sys.executable, "-m", "pip", "--version"],
                      capture_output=True).returncode != 0:
        pytest.skip("pip is not installed")
    src = tmp_path / "src"  # a copy: pip builds in place
    shutil.copytree(BINDINGS, src, ignore=shutil.ignore_patterns("__pycache__", "meson.build"))
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install"]
                       + ([] if isolation else ["--no-build-isolation"])
                       + ["--no-index", "--no-deps", "--disable-pip-version-check", "--quiet",
                          "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=170, env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    check_installed(str(target))
    dist = [d for d in os.listdir(target) if d.endswith(".dist-info")]
    assert dist == ["libregistry-%s.dist-info" % registry.__version__]
