#!/usr/bin/env python3
"""lint: the error-record rules of lib/ (docs/errors.md, docs/threading.md),
checked in the source text.

  lint_errors.py SOURCE_ROOT

- no literal `return REGISTRY_E...;`: a failure goes through registry__fail()
  (or registry__nomem()), which fills the thread's record; the exceptions
  below are functions whose code is not yet a failure (a mapping, a stop
  signal) or whose every caller records, each with its reason;
- no `registry__enter()`: a public function starts with REGISTRY__ENTER(rc),
  whose scope guard keeps the nesting depth that decides whether the record
  is cleared;
- no strerror(): not thread-safe; registry__errno_text() / registry__strerror_r();
- no bare `static pthread_mutex_t`: a process-wide mutex is declared with
  REGISTRY__GLOBAL_MUTEX, which keeps it safe across fork();
- no pthread_cond_init() outside lib/common/clock.c: condition variables
  come from registry__cond_init() (CLOCK_MONOTONIC), the clock
  registry__cond_wait_ms() counts in.
"""
import os
import re
import sys

# (file, function) -> why a literal code is right there.
ALLOWED_RETURNS = {
    ("lib/transport/errors.c", "registry__status_to_error"):
        "maps an HTTP status to a code; registry__response_fail records",
    ("lib/transport/errors.c", "registry__registry_code_to_error"):
        "maps a registry error code to ours; registry__response_fail records",
    ("lib/transport/http.c", "registry__curl_error"):
        "maps a libcurl code to ours; every caller records with the URL",
    ("lib/transport/http.c", "perform_once"):
        "the refused-address branch recorded just above, with the URL",
    ("lib/common/buf.c", "reserve"):
        "ETOOLARGE: a container does not know what it holds; the caller names what outgrew "
        "its limit (the HTTP sink names the request)",
    ("lib/ops/copy.c", "ranged_sink"):
        "a stop signal to the HTTP sink (enough bytes), not a failure; the caller checks r->enough",
    ("lib/transport/challenge.c", "add_param"):
        "header parser: its caller (registry__auth_on_401) records the unusable challenge",
    ("lib/hostconfig/files.c", "registry__read_config_file"):
        "a missing config file is no failure: the callers skip it, or record what it means to them",
    ("lib/transport/challenge.c", "registry__challenges_parse"):
        "header parser: its caller (registry__auth_on_401) records the unusable challenge",
}

RETURN_CODE = re.compile(r"\breturn\s+REGISTRY_E[A-Z]+\s*;")
FUNCTION = re.compile(r"^(?:static\s+)?(?:inline\s+)?[a-z_][\w\s\*]*?\b(\w+)\s*\(")


def strip_comments(text):
    """Comments and string literals blanked out, newlines kept."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', blank, text, flags=re.S)


def check_file(rel, text):
    problems = []
    function = None
    code = strip_comments(text)
    for n, line in enumerate(code.split("\n"), 1):
        m = FUNCTION.match(line)
        if m and not line.rstrip().endswith(";"):
            function = m.group(1)
        where = "%s:%d" % (rel, n)
        if RETURN_CODE.search(line) and (rel, function) not in ALLOWED_RETURNS:
            problems.append("%s: %s returns a code without recording it (registry__fail)"
                            % (where, function))
        if re.search(r"\bregistry__enter\s*\(", line):
            problems.append("%s: registry__enter(): use REGISTRY__ENTER(rc)" % where)
        if re.search(r"(?<![\w_])strerror\s*\(", line):
            problems.append("%s: strerror() is not thread-safe: registry__errno_text()" % where)
        if re.search(r"^\s*static\s+pthread_mutex_t\s+\w+\s*=", line) and not line.endswith("\\"):
            problems.append("%s: a static mutex: declare it with REGISTRY__GLOBAL_MUTEX (fork)" % where)
        if re.search(r"\bpthread_cond_init\s*\(", line) and rel != "lib/common/clock.c":
            problems.append("%s: pthread_cond_init(): registry__cond_init() (monotonic clock)" % where)
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src = os.path.abspath(sys.argv[1])
    problems, count = [], 0
    for dirpath, _, names in os.walk(os.path.join(src, "lib")):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, src)
                with open(path, encoding="utf-8") as f:
                    problems += check_file(rel, f.read())
                count += 1
    for p in problems:
        print(p)
    print("lint-errors: %d files, %d problems" % (count, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
