#!/usr/bin/env python3
"""The lint suite: static analysis of lib/ that must stay clean.

  lint.py cppcheck SOURCE_ROOT BUILD_ROOT
  lint.py clang-tidy SOURCE_ROOT BUILD_ROOT

cppcheck: warning, portability and performance checks (style is too noisy
for C: scope and const suggestions), every configuration macro the build
defines, inline suppressions allowed. clang-tidy: the committed .clang-tidy
(bugprone-*, cert-*, clang-analyzer-* with justified exclusions) over every
lib/ file in BUILD_ROOT/compile_commands.json. Any finding fails the test;
a missing tool skips it (exit 77).
"""
import json
import os
import re
import shutil
import subprocess
import sys


def lib_files(src, build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        db = json.load(f)
    lib = os.path.join(src, "lib") + os.sep
    files = set()
    for entry in db:
        path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
        if path.startswith(lib) and path.endswith(".c"):
            files.add(path)
    return sorted(files)


def run_cppcheck(src, build):
    exe = shutil.which("cppcheck")
    if not exe:
        print("SKIP: cppcheck is not installed")
        return 77
    cmd = [exe, "--enable=warning,portability,performance", "--std=c11", "--quiet",
           "--inline-suppr", "--suppress=missingIncludeSystem", "--error-exitcode=1",
           "--template={file}:{line}:{column}: {severity}: {message} [{id}]",
           "-j", str(os.cpu_count() or 1),
           "-I", os.path.join(src, "include"), "-I", os.path.join(src, "lib"),
           "-I", os.path.join(src, "lib", "common"), "-I", os.path.join(build, "include"),
           "-D_GNU_SOURCE", "-DREGISTRY_BUILDING", "-DREGISTRY_HAVE_OPENSSL=1",
           "-DREGISTRY_HAVE_LIBARCHIVE=1", "-DREGISTRY_HAVE_ZLIB=1"] + lib_files(src, build)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    findings = [l for l in (proc.stdout + proc.stderr).splitlines() if l.strip()]
    for l in findings:
        print(l)
    print("cppcheck: %d files, %d findings" % (len(cmd) - cmd.index("-DREGISTRY_HAVE_ZLIB=1") - 1,
                                              len(findings)))
    return 1 if findings or proc.returncode else 0


def run_clang_tidy(src, build):
    exe = shutil.which("clang-tidy") or shutil.which("clang-tidy-14")
    if not exe:
        print("SKIP: clang-tidy is not installed")
        return 77
    files = lib_files(src, build)
    jobs = max(1, os.cpu_count() or 1)
    procs, findings = [], []
    # A few files per process, several processes at a time.
    batches = [files[i::jobs] for i in range(jobs)]
    for batch in batches:
        procs.append(subprocess.Popen([exe, "-p", build, "--quiet",
                                       "--config-file=" + os.path.join(src, ".clang-tidy")] + batch,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    pattern = re.compile(r"^(\S+?):(\d+):(\d+): (warning|error): (.*)$")
    seen = set()
    for p in procs:
        out, _ = p.communicate()
        for line in out.splitlines():
            m = pattern.match(line)
            if m:
                path = os.path.relpath(os.path.normpath(os.path.join(build, m.group(1))), src)
                key = (path, m.group(2), m.group(5))
                if key not in seen and not path.startswith(".."):
                    seen.add(key)
                    findings.append("%s:%s:%s: %s" % (path, m.group(2), m.group(3), m.group(5)))
        if p.returncode not in (0, 1):
            findings.append("clang-tidy exited %d" % p.returncode)
    for f in findings:
        print(f)
    print("clang-tidy: %d files, %d findings" % (len(files), len(findings)))
    return 1 if findings else 0


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("cppcheck", "clang-tidy"):
        print(__doc__, file=sys.stderr)
        return 2
    src, build = os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    return run_cppcheck(src, build) if sys.argv[1] == "cppcheck" else run_clang_tidy(src, build)


if __name__ == "__main__":
    sys.exit(main())
