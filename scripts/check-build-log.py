#!/usr/bin/env python3
"""Judge a module build log (make modules, after scripts/test.sh removed the module objects so
that everything recompiles): one test, build:modules-warning-free.

Fails on any diagnostic from rustc (`warning:`, `warning[...]:`, `error:`), clang
(`file.c:1:2: warning: ...`), objtool (`x.o: warning: objtool: ...`) or modpost
(`WARNING: modpost: ...`), wherever on the line it appears, and when the log shows no Rust or
C compilation at all (a warning check over a build that compiled nothing proves nothing).
Prints "PASS|FAIL build:modules-warning-free[: why]" and "RESULT passed=N failed=M skipped=0".

Usage: check-build-log.py BUILD_LOG
"""
import re
import sys

DIAG = re.compile(r"(?i)(?:^|[\s:])(warning|error)(?:\[[^\]]*\])?:")
RUSTC = re.compile(r"^\s*(?:RUSTC|CLIPPY)(?: \[M\])?\s+\S+\.o$")
CC = re.compile(r"^\s*CC(?: \[M\])?\s+\S+(?<!\.mod)\.o$")  # a C source, not a .mod.c stub


def main(argv):
    if len(argv) != 1:
        sys.exit(__doc__)
    with open(argv[0], errors="replace") as f:
        lines = [l.rstrip("\n") for l in f]
    diags = [f"line {n}: {l.strip()}" for n, l in enumerate(lines, 1) if DIAG.search(l)]
    problems = []
    if diags:
        problems.append(f"{len(diags)} diagnostic lines: " + "; ".join(diags[:6]))
    rust = sum(1 for l in lines if RUSTC.match(l))
    c = sum(1 for l in lines if CC.match(l))
    if rust == 0 or c == 0:
        problems.append(f"the log shows {rust} Rust and {c} C compilations: nothing was rebuilt, "
                        "so the warning check would prove nothing")
    name = "build:modules-warning-free"
    if problems:
        print(f"FAIL {name}: {' / '.join(problems)} (log {argv[0]})")
        print("RESULT passed=0 failed=1 skipped=0")
        return 1
    print(f"PASS {name}")
    print("RESULT passed=1 failed=0 skipped=0")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
