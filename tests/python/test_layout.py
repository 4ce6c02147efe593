"""The ctypes Structures in registry/_lib.py have the C layout of the structs
they mirror: the same size and every field at the same offset.

test_loading checks function declarations against the headers; nothing
checked the option structs, and a field added or moved in C but not in
Python would silently hand C a wrong pointer or flag. A small C program,
compiled here against the source headers, prints sizeof/offsetof for each
struct (registry_<class name>), and they are compared with ctypes.
"""

import ctypes
import json
import os
import shutil
import subprocess

import pytest

from registry import _lib

from conftest import SOURCE_ROOT


def mirrored_structs():
    """(class, C struct name) for every ctypes Structure with fields."""
    out = []
    for name in dir(_lib):
        cls = getattr(_lib, name)
        if isinstance(cls, type) and issubclass(cls, ctypes.Structure) and cls is not ctypes.Structure \
                and getattr(cls, "_fields_", None) and cls.__module__ == _lib.__name__:
            out.append((cls, "registry_" + cls.__name__))
    return sorted(out, key=lambda p: p[1])


def c_layouts(tmp_path, structs):
    cc = shutil.which("cc") or shutil.which("gcc")
    build = os.environ.get("REGISTRY_BUILD_ROOT")
    if not cc or not build:
        pytest.skip("needs a C compiler and REGISTRY_BUILD_ROOT (set by meson)")
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include <registry/registry.h>',
             'int main(void) {', 'printf("{");']
    for i, (cls, cname) in enumerate(structs):
        fields = ", ".join('\\"%s\\": %%zu' % f for f, _ in cls._fields_)
        args = ", ".join("offsetof(%s, %s)" % (cname, f) for f, _ in cls._fields_)
        lines.append('printf("%s\\"%s\\": {\\"(sizeof)\\": %%zu, %s}", sizeof(%s), %s);'
                     % ("," if i else "", cname, fields, cname, args))
    lines += ['printf("}\\n");', "return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    r = subprocess.run([cc, "-std=c11", "-I", os.path.join(SOURCE_ROOT, "include"),
                        "-I", os.path.join(build, "include"), str(src), "-o", str(exe)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "a ctypes Structure names a struct or field C does not have:\n" + r.stderr
    return json.loads(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout)


def test_structures_match_the_c_layout(tmp_path):
    structs = mirrored_structs()
    assert len(structs) >= 10, [c for _, c in structs]  # the option structs at least
    layouts = c_layouts(tmp_path, structs)
    problems = []
    for cls, cname in structs:
        want = layouts[cname]
        if ctypes.sizeof(cls) != want["(sizeof)"]:
            problems.append("%s: ctypes size %d, C size %d" % (cname, ctypes.sizeof(cls), want["(sizeof)"]))
        for field, _ in cls._fields_:
            got = getattr(cls, field).offset
            if got != want[field]:
                problems.append("%s.%s: ctypes offset %d, C offset %d" % (cname, field, got, want[field]))
    assert not problems, "\n".join(problems)
