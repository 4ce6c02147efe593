"""Finding and checking the shared library; every C declaration against the headers."""

import ctypes
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

import registry
from registry import _lib

from conftest import SOURCE_ROOT

BINDINGS = os.path.join(SOURCE_ROOT, "bindings", "python")
HEADERS = os.path.join(SOURCE_ROOT, "include", "registry")


def run_python(code, env_updates, cwd=None):
    env = dict(os.environ)
    for k, v in env_updates.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_library_path_is_the_one_asked_for():
    wanted = os.environ.get("REGISTRY_LIBRARY")
    if not wanted:
        pytest.skip("REGISTRY_LIBRARY is not set")
    assert os.path.samefile(registry.library_path, wanted)
    assert os.path.isabs(registry.library_path)


def test_versions_agree():
    lib = registry.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", lib), lib
    assert lib.split(".")[0] == registry.__version__.split(".")[0]
    project = os.environ.get("REGISTRY_PROJECT_VERSION")
    if project:  # set by meson: the bindings' own version follows the project's
        assert registry.__version__ == project
        assert lib == project


def test_bad_registry_library_raises_and_does_not_fall_back(tmp_path):
    bogus = tmp_path / "libregistry.so.1"
    bogus.write_bytes(b"not an ELF file")
    lib_dir = os.path.dirname(registry.library_path)
    # A loadable copy is on the search path; REGISTRY_LIBRARY must still win.
    r = run_python("import registry", {"REGISTRY_LIBRARY": str(bogus), "PYTHONPATH": BINDINGS,
                                       "LD_LIBRARY_PATH": lib_dir})
    assert r.returncode != 0
    assert "LibraryLoadError" in r.stderr
    assert "REGISTRY_LIBRARY=%s cannot be loaded" % bogus in r.stderr


def test_missing_library_names_the_variable(tmp_path):
    r = run_python("import registry", {"REGISTRY_LIBRARY": None, "PYTHONPATH": BINDINGS,
                                       "LD_LIBRARY_PATH": str(tmp_path)})
    if r.returncode == 0:
        pytest.skip("a libregistry is installed system-wide")
    assert "LibraryLoadError" in r.stderr and "REGISTRY_LIBRARY" in r.stderr


def test_soname_lookup_finds_the_library():
    lib_dir = os.path.dirname(registry.library_path)
    if not os.path.exists(os.path.join(lib_dir, "libregistry.so.1")):
        pytest.skip("no libregistry.so.1 next to the loaded library")
    r = run_python("import registry; print(registry.library_path)",
                   {"REGISTRY_LIBRARY": None, "PYTHONPATH": BINDINGS, "LD_LIBRARY_PATH": lib_dir})
    assert r.returncode == 0, r.stderr
    assert os.path.samefile(r.stdout.strip(), os.path.join(lib_dir, "libregistry.so.1"))


def test_other_major_version_is_refused(tmp_path):
    pkg = tmp_path / "registry"
    shutil.copytree(os.path.join(BINDINGS, "registry"), pkg)
    (pkg / "_version.py").write_text('__version__ = "97.0.0"\n')
    r = run_python("import registry", {"PYTHONPATH": str(tmp_path)})
    assert r.returncode != 0
    assert "LibraryLoadError" in r.stderr
    assert "need major version 97" in r.stderr


def test_missing_function_fails_at_call_time_only():
    libc = ctypes.CDLL(None)
    funcs = _lib._Functions(libc, "/fake/libregistry.so.1")
    assert not funcs.has("registry_pull")
    with pytest.raises(registry.UnsupportedError) as ei:
        funcs.registry_pull
    assert "registry_pull is not exported by /fake/libregistry.so.1" in str(ei.value)
    assert isinstance(ei.value, NotImplementedError)
    with pytest.raises(AttributeError):
        funcs.registry_no_such_function


# -- declarations against include/registry/*.h ------------------------------------

_SCALARS = {
    "void": None, "int": ctypes.c_int, "unsigned int": ctypes.c_uint, "long": ctypes.c_long,
    "size_t": ctypes.c_size_t, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
}
_HANDLES = {
    "registry_reference": _lib.reference_p, "registry_manifest": _lib.manifest_p,
    "registry_descriptor": _lib.descriptor_p, "registry_manifest_builder": _lib.builder_p,
    "registry_client": _lib.client_p, "registry_store": _lib.store_p,
    "registry_progress": _lib.progress_p, "registry_list": _lib.list_p,
    "registry_digest": _lib.digest_p, "registry_error": _lib.error_p,
    "registry_manifest_parse_options": ctypes.POINTER(_lib.manifest_parse_options),
    "registry_pull_options": ctypes.POINTER(_lib.pull_options),
    "registry_push_options": ctypes.POINTER(_lib.push_options),
    "registry_push_archive_options": ctypes.POINTER(_lib.push_archive_options),
    "registry_copy_options": ctypes.POINTER(_lib.copy_options),
    "registry_blob_upload_options": ctypes.POINTER(_lib.blob_upload_options),
    "registry_blob_fetch_many_options": ctypes.POINTER(_lib.blob_fetch_many_options),
    "registry_descriptor_spec": ctypes.POINTER(_lib.descriptor_spec),
    "registry_image_config": _lib.image_config_p,
    "registry_image_config_fetch_options": ctypes.POINTER(_lib.image_config_fetch_options),
    "registry_manifest_delete_options": ctypes.POINTER(_lib.manifest_delete_options),
    "registry_blob_fetch_options": ctypes.POINTER(_lib.blob_fetch_options),
    "registry_blob_fetch_to_options": ctypes.POINTER(_lib.blob_fetch_to_options),
    "registry_manifest_fetch_options": ctypes.POINTER(_lib.manifest_fetch_options),
    "registry_list_options": ctypes.POINTER(_lib.list_options),
    "registry_referrers_fetch_options": ctypes.POINTER(_lib.referrers_fetch_options),
    "registry_tls_options": ctypes.POINTER(_lib.tls_options),
    "registry_host_config_options": ctypes.POINTER(_lib.host_config_options),
    "registry_login_options": ctypes.POINTER(_lib.login_options),
    "registry_timeout_options": ctypes.POINTER(_lib.timeout_options),
    "registry_retry_options": ctypes.POINTER(_lib.retry_options),
    "registry_credential": _lib.credential_p,
    "registry_image_config_parse_options": ctypes.POINTER(_lib.image_config_parse_options),
    "registry_store_gc_options": ctypes.POINTER(_lib.store_gc_options),
    "registry_store_verify_options": ctypes.POINTER(_lib.store_verify_options),
    "registry_store_export_options": ctypes.POINTER(_lib.store_export_options),
    "registry_platform": ctypes.POINTER(_lib.platform),
    "registry_artifact_file": ctypes.POINTER(_lib.artifact_file),
    "registry_artifact_push_options": ctypes.POINTER(_lib.artifact_push_options),
    "registry_artifact_pull_options": ctypes.POINTER(_lib.artifact_pull_options),
    "registry_policy": _lib.policy_p, "registry_verify_result": _lib.verify_result_p,
    "registry_policy_load_options": ctypes.POINTER(_lib.policy_load_options),
    "registry_verify_options": ctypes.POINTER(_lib.verify_options),
    "registry_sign_options": ctypes.POINTER(_lib.sign_options),
    "registry_unpack_options": ctypes.POINTER(_lib.unpack_options),
    "registry_unpack_stats": ctypes.POINTER(_lib.unpack_stats),
    "registry_loop": _lib.loop_p, "registry_op": _lib.op_p,
    "registry_loop_options": ctypes.POINTER(_lib.loop_options),
}
_TYPEDEF_CALLBACKS = {
    "registry_progress_cb": _lib.PROGRESS_CB, "registry_blob_read_cb": _lib.READ_CB,
    "registry_blob_rewind_cb": _lib.REWIND_CB, "registry_cancel_cb": _lib.CANCEL_CB,
    "registry_blob_write_cb": _lib.WRITE_CB, "registry_store_verify_cb": _lib.VERIFY_CB,
    "registry_trace_cb": _lib.TRACE_CB, "registry_credential_cb": _lib.CREDENTIAL_CB,
    "registry_loop_socket_cb": _lib.LOOP_SOCKET_CB, "registry_loop_timer_cb": _lib.LOOP_TIMER_CB,
    "registry_op_done_cb": _lib.OP_DONE_CB,
}
_INLINE_CALLBACKS = {"bad_cb": _lib.VERIFY_CB, "write": _lib.WRITE_CB, "cancel": _lib.CANCEL_CB}


def _split_params(params):
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out]


def _ctype(decl, is_return):
    """The ctypes type the bindings must declare for C declaration @decl."""
    fp = re.match(r".*\(\s*\*\s*(\w+)\s*\)\s*\(", decl)
    if fp:
        return _INLINE_CALLBACKS[fp.group(1)]
    decl = re.sub(r"\bconst\b", "", decl)
    stars = decl.count("*")
    words = decl.replace("*", " ").split()
    if not is_return and len(words) > 1:
        words = words[:-1]  # drop the parameter name
    base = " ".join(words)
    if base in _TYPEDEF_CALLBACKS and stars == 0:
        return _TYPEDEF_CALLBACKS[base]
    if stars == 0:
        return _SCALARS[base]
    if base in _HANDLES:
        t = _HANDLES[base]
        return t if stars == 1 else ctypes.POINTER(t)
    if base == "char" and stars == 1:
        return ctypes.c_char_p  # const char * (and mutable buffers, see below)
    if base == "void" and stars == 1:
        return ctypes.c_void_p
    if base == "char" and stars == 2:
        return "char**"
    if base == "void" and stars == 2:
        return ctypes.POINTER(ctypes.c_void_p)
    if stars == 1 and base in _SCALARS:
        return ctypes.POINTER(_SCALARS[base])
    raise AssertionError("unmapped C type %r" % decl)


def _header_prototypes():
    protos = {}
    for path in sorted(glob.glob(os.path.join(HEADERS, "*.h")) + glob.glob(
            os.path.join(HEADERS, "*.h.in"))):
        with open(path) as f:
            src = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        src = re.sub(r"^\s*#.*$", "", src, flags=re.M)  # preprocessor lines
        for m in re.finditer(r"^REGISTRY_API\s+([^;]*?)\b(registry_\w+)\s*\((.*?)\)\s*;", src,
                             flags=re.S | re.M):
            ret, name, params = m.group(1).strip(), m.group(2), m.group(3)
            params = [] if params.strip() in ("", "void") else _split_params(params)
            protos[name] = (ret, params)
    return protos


def test_headers_parse():
    protos = _header_prototypes()
    assert len(protos) > 150
    assert protos["registry_manifest_parse"][1][0] == "registry_manifest **out"


def test_every_public_function_is_declared_with_matching_types():
    protos = _header_prototypes()
    assert set(protos) == set(_lib._SIGNATURES), (
        "only in headers: %s; only in bindings: %s"
        % (sorted(set(protos) - set(_lib._SIGNATURES)), sorted(set(_lib._SIGNATURES) - set(protos))))
    for name, (ret, params) in protos.items():
        restype, argtypes = _lib._SIGNATURES[name]
        want_ret = _ctype(ret, True)
        if want_ret is ctypes.c_char_p and "const" not in ret:
            raise AssertionError("%s returns a mutable char *" % name)
        assert restype == want_ret or (want_ret is ctypes.c_void_p and restype is ctypes.c_void_p), \
            "%s: restype %r, header says %r" % (name, restype, ret)
        assert len(argtypes) == len(params), "%s: %d argtypes for %d parameters" % (
            name, len(argtypes), len(params))
        for i, (decl, have) in enumerate(zip(params, argtypes)):
            want = _ctype(decl, False)
            const = "const" in decl
            if want == "char**":
                # Owned results (char **) are read as void pointers and freed with
                # registry_free(); borrowed ones (const char **) as c_char_p.
                want = _lib.char_pp_borrowed if const else _lib.char_pp_owned
            elif want is ctypes.c_char_p and "const char *const" in decl:
                want = ctypes.POINTER(ctypes.c_char_p)
            elif want is ctypes.c_char_p and not const:
                want = _lib.char_buf  # a buffer the library writes into
            elif want is ctypes.c_void_p and const:
                want = (ctypes.c_void_p, ctypes.c_char_p)  # bytes are passed for data
            elif want is ctypes.POINTER(ctypes.c_void_p) and "void **" in decl:
                pass
            ok = have in want if isinstance(want, tuple) else have == want
            assert ok, "%s parameter %d (%s): declared %r" % (name, i, decl, have)


def test_package_calls_only_declared_functions():
    used = set()
    for path in glob.glob(os.path.join(BINDINGS, "registry", "*.py")):
        with open(path) as f:
            used |= set(re.findall(r"\bC\.(registry_\w+)", f.read()))
    assert used, "no C calls found"
    assert used <= set(_lib._SIGNATURES), sorted(used - set(_lib._SIGNATURES))


def test_declared_functions_exported_by_this_build():
    """Report which declared functions the loaded library lacks (they raise on call)."""
    missing = sorted(n for n in _lib._SIGNATURES if not _lib.C.has(n))
    sys.stderr.write("functions not in %s: %s\n" % (registry.library_path, missing or "none"))
    # The core the bindings stand on must be there.
    for name in ("registry_version", "registry_error_last", "registry_reference_parse",
                 "registry_manifest_parse", "registry_client_new", "registry_store_open"):
        assert name not in missing


# -- the suite's own guard (conftest.py) -------------------------------------------

@pytest.mark.parametrize("body, status, message", [
    ("", 1, "no tests were collected"),
    ("import pytest\n\ndef test_a():\n    pytest.skip('x')\n", 77, "every test was skipped"),
    ("def test_a():\n    pass\n", 0, ""),
    ("def test_a():\n    assert False\n", 1, ""),
])
def test_conftest_exit_statuses(tmp_path, body, status, message):
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copy(os.path.join(here, "conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_it.py").write_text(body)
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                        str(tmp_path / "test_it.py")], capture_output=True, text=True,
                       timeout=60, cwd=str(tmp_path))
    assert r.returncode == status, r.stdout + r.stderr
    assert message in r.stderr
