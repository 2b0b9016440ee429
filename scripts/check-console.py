#!/usr/bin/env python3
"""Judge a guest console log: KTAP results, scenario results, kernel splats, end marker.

Prints one line per test, "PASS name" or "FAIL name: why", then "RESULT passed=N failed=M".
A test is one KTAP leaf (kunit:<suite>.<case>), one guest scenario (guest:<name>), plus two
checks of the run itself: guest:reached-end (the end marker was printed, so nothing hung or
panicked) and guest:no-kernel-splat (no BUG, WARNING, Oops, KASAN, lockdep, list corruption,
RCU stall, hung task, soft lockup, Call Trace or panic anywhere on the console).
Exit status: 0 if everything passed, 1 otherwise.

Usage: check-console.py CONSOLE_LOG [EXPECTED_SCENARIO ...]
"""
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
# What the kernel prints when something went wrong; any of them fails the run.
SPLATS = [
    r"\bBUG:",
    r"kernel BUG at",
    r"\bWARNING:",
    r"\bOops\b",
    r"general protection fault",
    r"KASAN",
    r"UBSAN",
    r"possible circular locking",
    r"possible recursive locking",
    r"inconsistent lock state",
    r"DEBUG_LOCKS_WARN_ON",
    r"suspicious RCU usage",
    r"list_(add|del) corruption",
    r"list corruption",
    r"rcu: INFO:",
    r"rcu_(sched|preempt) self-detected stall",
    r"blocked for more than \d+ seconds",
    r"soft lockup",
    r"hard LOCKUP",
    r"Call Trace:",
    r"Kernel panic",
    r"Unable to handle kernel",
]
SPLAT = re.compile("|".join(SPLATS))
KTAP_RESULT = re.compile(r"^(\s*)(ok|not ok) (\d+) ([^#]*?)\s*(?:#\s*(.*))?$")
SUBTEST = re.compile(r"^(\s*)# Subtest: (\S+)")
PLAN = re.compile(r"^(\s+)1\.\.(\d+)$")
SCENARIO = re.compile(r"ZS-RESULT (\S+) (pass|fail)(.*)$")
SCENARIO_BEGIN = re.compile(r"ZS-SCENARIO-BEGIN (\S+)")
KTAP_DIAG = re.compile(r"^\s+# ([^:\s]+): (.*)$")
FAIL_REASON = re.compile(r"ZS-FAIL (.*)$")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path, expected = sys.argv[1], sys.argv[2:]
    try:
        with open(path, errors="replace") as f:
            lines = [TIMESTAMP.sub("", l.rstrip("\r\n")) for l in f]
    except OSError as e:
        print(f"FAIL guest:console: cannot read {path}: {e}")
        print("RESULT passed=0 failed=1")
        return 1

    results = []  # (name, ok, why)
    splats = []
    suites = {}  # indent -> suite name
    plans = {}  # suite -> number of cases its KTAP plan announced
    seen = {}  # suite -> number of case results printed
    scenario_results = {}
    current = None
    reasons = {}
    diagnostics = {}  # case name -> first KTAP diagnostic line it printed
    for n, line in enumerate(lines, 1):
        if SPLAT.search(line):
            splats.append(f"line {n}: {line.strip()}")
        m = SUBTEST.match(line)
        if m:
            suites[len(m.group(1))] = m.group(2)
            continue
        m = PLAN.match(line)
        if m and len(m.group(1)) in suites:
            plans[suites[len(m.group(1))]] = int(m.group(2))
            continue
        m = KTAP_DIAG.match(line)
        if m:
            diagnostics.setdefault(m.group(1), m.group(2))
            continue
        m = KTAP_RESULT.match(line)
        if m and len(m.group(1)) >= 4:  # nested result = a case (suite lines are not indented)
            suite = suites.get(len(m.group(1)) - 4, suites.get(len(m.group(1)), "kunit"))
            directive = (m.group(5) or "").strip()
            name = f"kunit:{suite}.{m.group(4).strip()}"
            seen[suite] = seen.get(suite, 0) + 1
            if directive.upper().startswith("SKIP"):
                results.append((name, None, directive))
            else:
                why = diagnostics.get(m.group(4).strip(), "KTAP 'not ok'")
                results.append((name, m.group(2) == "ok", why))
            continue
        m = SCENARIO_BEGIN.search(line)
        if m:
            current = m.group(1)
            continue
        m = FAIL_REASON.search(line)
        if m and current:
            reasons.setdefault(current, m.group(1))
            continue
        m = SCENARIO.search(line)
        if m:
            scenario_results[m.group(1)] = (m.group(2) == "pass", m.group(3).strip())

    for suite, planned in plans.items():
        if seen.get(suite, 0) != planned:
            results.append((f"kunit:{suite}.plan", False,
                            f"plan announced {planned} cases, {seen.get(suite, 0)} reported"))

    for s in expected or scenario_results:
        if s not in scenario_results:
            results.append((f"guest:{s}", False, "no result (guest stopped before it ended)"))
        else:
            ok, detail = scenario_results[s]
            why = reasons.get(s, "") + (" " + detail if detail else "")
            results.append((f"guest:{s}", ok, why.strip()))
    ended = any("ZS-GUEST-END" in l for l in lines)
    results.append(("guest:reached-end", ended, "no end marker: the guest hung, panicked or timed out"))
    results.append(("guest:no-kernel-splat", not splats, "; ".join(splats[:8])))

    passed = failed = skipped = 0
    for name, ok, why in results:
        if ok is None:
            skipped += 1
            print(f"SKIP {name}: {why}")
        elif ok:
            passed += 1
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {why}")
    print(f"RESULT passed={passed} failed={failed} skipped={skipped}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
