#!/usr/bin/env python3
"""Judge a guest console log: KTAP results, scenario results, kernel splats, module warnings,
end marker. Fail-closed: what must appear is derived from the sources, and its absence fails.

Prints one line per test, "PASS name", "FAIL name: why" or "SKIP name: why", then
"RESULT passed=N failed=M skipped=K" (scripts/run-checker.sh requires that line).

- kunit:<suite>.<case>: one per KTAP leaf.
- kunit:<suite>: one per suite declared with `kunit_suite!` in tests/*.rs, when the `kunit`
  scenario was expected: fails if the suite is absent, if a declared case did not report
  (short: hang, crash, filter), if a case was skipped, or if an undeclared case reported.
  A case under `#[cfg(x)]` is declared only when `--cfg x` is given (test.sh passes the cfgs
  that ZS_INJECT/ZS_MUTATE turn on).
- guest:<scenario>: one per expected scenario ("ZS-RESULT <name> pass|fail" from /init).
  A scenario that ran out of time (/init's watchdog: "ZS-FAIL timed out after N s", then a
  "ZS-TASK" line per process) fails with the last line it printed and the tasks that were
  running or blocked, so that the verdict alone says where it stood.
- guest:reached-end: the end marker was printed (nothing hung or panicked); if not, the
  failure says the guest time of the console's last kernel record and the last line.
- guest:no-kernel-splat: no BUG, WARNING, Oops, KASAN, lockdep, list corruption, RCU stall,
  hung task, soft lockup, Call Trace or panic anywhere on the console.
- guest:no-module-warning: no line printed by this project's modules (prefix `zsmalloc_rs*:`)
  that matches one of their pr_warn/pr_err/pr_crit/... formats (read from the *.rs and *.c
  sources), unless the running scenario declared it first with "ZS-EXPECT <regex>" (the regex
  must match the whole line, timestamp removed).
- guest:<scenario>:expected-lines: every "ZS-EXPECT <regex>" of a scenario matched a line
  printed before the next scenario began (an expected warning that never came is a failure).
- A "ZS-TODO <text>" line from a scenario becomes "SKIP guest:<scenario>:todo: <text>": a check
  the scenario could not make yet, shown in the tally instead of passing silently. When the
  text starts with a tag of TODO_DONE_WHEN and the sources now contain its pattern (the
  missing piece was written), the TODO is a FAIL: the guest fell back although it need not.

Exit status: 0 if nothing failed, 1 otherwise. A crash (traceback, no RESULT line) is a
failure for run-checker.sh.

Usage: check-console.py [--source-root DIR] [--cfg NAME]... [--kunit-filter GLOB]
                        CONSOLE_LOG [EXPECTED_SCENARIO ...]
"""
import argparse
import fnmatch
import os
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
# A kernel record that the serial port wrote in the middle of a userspace line (the guest's
# shell and printk share the console): split there, so the record is judged on its own.
GLUED_RECORD = re.compile(r"(?<=\S)(?=\[\s*\d+\.\d{6}\] )")
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
TIMED_OUT = "timed out after"  # /init's ZS-FAIL reason for a scenario its watchdog ended
TASK = re.compile(r"ZS-TASK \d+ (.*?) state=(\S*) wchan=(\S*) stack=(\S*)$")
GUEST_TIME = re.compile(r"^\[\s*(\d+)\.\d+\]")
EXPECT = re.compile(r"ZS-EXPECT (.+)$")
TODO = re.compile(r"ZS-TODO (.+)$")

# The module name prefix the kernel's pr_* put in front of this project's messages.
MODULE_PREFIX = r"zsmalloc_rs\w*: "
# ZS-TODO tags, and what in the *.rs/*.c sources means the missing piece exists.
TODO_DONE_WHEN = {
    # tests/guest/lib.sh nr_zspages_maintained: the module keeps /proc/vmstat nr_zspages.
    "nr_zspages": re.compile(r"\bNR_ZSPAGES\b"),
}
# Scenarios whose guest script loads the KUnit module (and so must run every declared suite).
KUNIT_SCENARIOS = {"kunit"}


# ---- what the sources declare -------------------------------------------------------------

def source_files(root, exts):
    skip = {"target", "build", ".git", "guest-tools"}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for f in sorted(filenames):
            if f.endswith(exts) and f != "bindings_generated.rs":
                yield os.path.join(dirpath, f)


def eval_cfg(pred, cfgs):
    """Evaluates a Rust cfg predicate (name, not(), any(), all()) against the set `cfgs`."""
    pred = pred.strip()
    m = re.fullmatch(r"(not|any|all)\s*\((.*)\)", pred, re.S)
    if not m:
        if not re.fullmatch(r"\w+", pred):
            raise ValueError(f"cfg predicate not understood: {pred!r}")
        return pred in cfgs
    args, depth, cur = [], 0, ""
    for ch in m.group(2):
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    if cur.strip():
        args.append(cur)
    vals = [eval_cfg(a, cfgs) for a in args]
    if m.group(1) == "not":
        if len(vals) != 1:
            raise ValueError(f"not() takes one predicate: {pred!r}")
        return not vals[0]
    return any(vals) if m.group(1) == "any" else all(vals)


SUITE_DECL = re.compile(r"\bkunit_suite!\s*\{\s*name:\s*\"([^\"]+)\"\s*,\s*cases:\s*\[(.*?)\]\s*,?\s*\}", re.S)


def declared_suites(root, cfgs):
    """{suite: (file, [case, ...])} from every `kunit_suite! { name: "...", cases: [...] }`
    in tests/*.rs; a case under #[cfg(p)] counts only if p holds for `cfgs`."""
    suites = {}
    tests = os.path.join(root, "tests")
    for path in source_files(tests, (".rs",)):
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"//[^\n]*", "", text)
        invocations = len(re.findall(r"\bkunit_suite!\s*[{(\[]", text))
        parsed = list(SUITE_DECL.finditer(text))
        if invocations != len(parsed):
            raise ValueError(f"{path}: {invocations} kunit_suite! invocations, {len(parsed)} understood")
        for m in parsed:
            cases = []
            for item in m.group(2).split(","):
                item = item.strip()
                if not item:
                    continue
                attrs = re.findall(r"#\[cfg\((.*?)\)\]\s*", item, re.S)
                name = re.sub(r"#\[.*?\]\s*", "", item, flags=re.S).strip()
                if not re.fullmatch(r"\w+", name):
                    raise ValueError(f"{path}: case entry not understood: {item!r}")
                if all(eval_cfg(a, cfgs) for a in attrs):
                    cases.append(name)
            if m.group(1) in suites:
                raise ValueError(f"suite {m.group(1)} declared twice")
            suites[m.group(1)] = (os.path.relpath(path, root), cases)
    return suites


RUST_WARN = re.compile(r"\bpr_(?:warn|err|crit|alert|emerg)\w*!\s*\(\s*\"((?:[^\"\\]|\\.)*)\"", re.S)
C_WARN = re.compile(r"\b(?:pr_(?:warn|err|crit|alert|emerg)\w*|printk\s*\(\s*KERN_(?:WARNING|ERR|CRIT|ALERT|EMERG))"
                    r"\s*\(?\s*\"((?:[^\"\\]|\\.)*)\"", re.S)


def format_to_regex(fmt, c):
    """A printk format (Rust `{}` or C `%d`) as a regex over the printed text."""
    fmt = re.sub(r"\\n$", "", fmt.strip())
    fmt = fmt.replace('\\"', '"').replace("\\\\", "\\")
    if c:
        spec = r"%%|%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t)?(?:p[a-zA-Z]*|[a-zA-Z])"
    else:
        spec = r"\{\{|\}\}|\{[^{}]*\}"
    out, pos = "", 0
    for m in re.finditer(spec, fmt):
        out += re.escape(fmt[pos:m.start()])
        tok = m.group(0)
        out += re.escape(tok[0]) if tok in ("%%", "{{", "}}") else ".*"
        pos = m.end()
    return out + re.escape(fmt[pos:])


def module_warning_formats(root):
    """[(regex, 'file: format')] for every warning/error print in this project's sources."""
    formats = []
    for path in source_files(root, (".rs", ".c")):
        text = open(path, encoding="utf-8").read()
        is_c = path.endswith(".c")
        for m in (C_WARN if is_c else RUST_WARN).finditer(text):
            body = format_to_regex(m.group(1), is_c)
            # C prints carry the prefix only where the file defines pr_fmt; Rust's always do.
            prefix = f"(?:{MODULE_PREFIX})?" if is_c else MODULE_PREFIX
            formats.append((re.compile(r"(?:^|\s)" + prefix + body + r"\s*$"),
                            f"{os.path.relpath(path, root)}: \"{m.group(1)}\""))
    return formats


# ---- the console ---------------------------------------------------------------------------

def timeout_report(last, tasks):
    """Where a timed-out scenario stood: its last line, then the tasks that were running or
    blocked (D) first, each with its wait channel and innermost frames."""
    busy = sorted(tasks, key=lambda t: t[1] not in ("R", "D"))
    shown = [f"{name} ({state}, {wchan or '-'}: {stack or '-'})" for name, state, wchan, stack in busy[:5]]
    return (f"; last output: {(last or '(none)')[:160]}"
            f"; tasks: {' | '.join(shown) or '(none reported)'}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--cfg", action="append", default=[], help="a Rust cfg the KUnit module was built with")
    ap.add_argument("--kunit-filter", default="*", help="KUnit filter_glob the guest ran with (suite.case)")
    ap.add_argument("console")
    ap.add_argument("expected", nargs="*")
    args = ap.parse_args(argv)

    suites_declared = declared_suites(args.source_root, set(args.cfg))
    warn_formats = module_warning_formats(args.source_root)
    if not warn_formats:
        raise SystemExit(f"no pr_warn/pr_err found under {args.source_root}: wrong --source-root?")

    try:
        with open(args.console, errors="replace") as f:
            raw = [part for l in f for part in GLUED_RECORD.split(l.rstrip("\r\n"))]
        lines = [TIMESTAMP.sub("", part) for part in raw]
    except OSError as e:
        print(f"FAIL guest:console: cannot read {args.console}: {e}")
        print("RESULT passed=0 failed=1 skipped=0")
        return 1

    results = []  # (name, ok, why); ok None = skipped
    splats = []
    suites = {}  # indent -> suite name
    plans = {}  # suite -> number of cases its KTAP plan announced
    reported = {}  # suite -> [(case, verdict)]; verdict "ok", "not ok" or "skip"
    suite_ended = set()  # suites whose top-level result line was printed
    scenario_results = {}
    current = None
    reasons = {}
    diagnostics = {}  # case name -> first KTAP diagnostic line it printed
    expects = {}  # scenario -> [[regex, source line, matched]]
    module_warnings = []
    todos = []
    last_output = {}  # scenario -> the last line it printed itself (no kernel record, no marker)
    tasks = {}  # scenario -> [(name, state, wchan, stack)] from its timeout report
    timed_out = set()  # scenarios /init's watchdog ended (their last output is frozen there)
    for n, line in enumerate(lines, 1):
        if (current and line.strip() and not TIMESTAMP.match(raw[n - 1]) and "ZS-" not in line
                and current not in timed_out):
            last_output[current] = line.strip()
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
            case = m.group(4).strip()
            name = f"kunit:{suite}.{case}"
            if directive.upper().startswith("SKIP"):
                results.append((name, None, directive))
                reported.setdefault(suite, []).append((case, "skip"))
            else:
                why = diagnostics.get(case, "KTAP 'not ok'")
                results.append((name, m.group(2) == "ok", why))
                reported.setdefault(suite, []).append((case, m.group(2)))
            continue
        if m and m.group(4).strip() in suites.values():
            suite_ended.add(m.group(4).strip())
            continue
        m = SCENARIO_BEGIN.search(line)
        if m:
            current = m.group(1)
            continue
        m = FAIL_REASON.search(line)
        if m and current:
            reasons.setdefault(current, m.group(1))
            if m.group(1).startswith(TIMED_OUT):
                timed_out.add(current)
            continue
        m = TASK.search(line)
        if m and current:
            tasks.setdefault(current, []).append(m.groups())
            continue
        m = EXPECT.search(line)
        if m and current:
            expects.setdefault(current, []).append([re.compile(m.group(1).strip()), m.group(1).strip(), False])
            continue
        m = TODO.search(line)
        if m and current:
            todos.append((current, m.group(1).strip()))
            continue
        m = SCENARIO.search(line)
        if m:
            scenario_results[m.group(1)] = (m.group(2) == "pass", m.group(3).strip())
            continue
        warn = next((src for rx, src in warn_formats if rx.search(line)), None)
        if warn:
            allowed = False
            for exp in expects.get(current, []):
                if exp[0].fullmatch(line.strip()):
                    exp[2] = allowed = True
            if not allowed:
                module_warnings.append(f"line {n} ({current or 'no scenario'}): {line.strip()}")

    # Suites that must have run, case by case, as the sources declare them.
    kunit_expected = bool(KUNIT_SCENARIOS & set(args.expected))
    if kunit_expected and not suites_declared:
        results.append(("kunit:declared-suites", False, f"no kunit_suite! in {args.source_root}/tests"))
    for suite, (src, cases) in sorted(suites_declared.items()):
        if not kunit_expected and suite not in reported:
            continue
        want = [c for c in cases if fnmatch.fnmatchcase(f"{suite}.{c}", args.kunit_filter)
                or fnmatch.fnmatchcase(suite, args.kunit_filter)]
        got = reported.get(suite, [])
        names = [c for c, _ in got]
        problems = []
        if suite not in reported and suite not in plans:
            problems.append(f"suite absent: none of its {len(want)} cases ({src}) reported")
        else:
            missing = [c for c in want if c not in names]
            if missing:
                problems.append(f"short: {len(want) - len(missing)} of {len(want)} declared cases reported, "
                                f"missing {', '.join(missing)}")
            extra = sorted({c for c in names if c not in want})
            if extra:
                problems.append(f"cases not declared in {src}: {', '.join(extra)}")
            twice = sorted({c for c in names if names.count(c) > 1})
            if twice:
                problems.append(f"reported twice: {', '.join(twice)}")
            skipped = [c for c, v in got if v == "skip"]
            if skipped:
                problems.append(f"skipped: {', '.join(skipped)}")
            if suite in plans and plans[suite] != len(want):
                problems.append(f"plan announced {plans[suite]} cases, {src} declares {len(want)}")
            if suite not in suite_ended:
                problems.append("no suite result line (the suite did not finish)")
        results.append((f"kunit:{suite}", not problems, "; ".join(problems)))
    for suite in sorted(set(reported) - set(suites_declared)):
        results.append((f"kunit:{suite}", False, "suite not declared by any kunit_suite! in tests/"))

    for s in args.expected or scenario_results:
        if s not in scenario_results:
            results.append((f"guest:{s}", False, "no result (guest stopped before it ended)"))
        else:
            ok, detail = scenario_results[s]
            why = reasons.get(s, "") + (" " + detail if detail else "")
            if s in timed_out:
                why += timeout_report(last_output.get(s), tasks.get(s, []))
            results.append((f"guest:{s}", ok, why.strip()))
    for s, exps in expects.items():
        unmet = [src for _, src, hit in exps if not hit]
        results.append((f"guest:{s}:expected-lines", not unmet,
                        "declared ZS-EXPECT never matched: " + " | ".join(unmet)))
    done = {tag for tag, rx in TODO_DONE_WHEN.items()
            if any(rx.search(open(p, encoding="utf-8").read())
                   for p in source_files(args.source_root, (".rs", ".c")))}
    for s, text in dict.fromkeys(todos):  # each distinct TODO once
        tag = text.split()[0]
        if tag in done:
            results.append((f"guest:{s}:todo", False, f"the sources now have {tag} "
                            f"({TODO_DONE_WHEN[tag].pattern}), yet the guest reported: {text}"))
        else:
            results.append((f"guest:{s}:todo", None, text))
    ended = any("ZS-GUEST-END" in l for l in lines)
    last_stamp = next((m.group(1) for m in map(GUEST_TIME.match, reversed(raw)) if m), "?")
    tail = next((l.strip() for l in reversed(lines) if l.strip()), "")
    results.append(("guest:reached-end", ended, "no end marker: the guest hung, panicked or timed out "
                    f"(last kernel record at {last_stamp} s guest time; "
                    f"last line: {tail[:160]})"))
    results.append(("guest:no-kernel-splat", not splats, "; ".join(splats[:8])))
    results.append(("guest:no-module-warning", not module_warnings,
                    f"{len(module_warnings)} unexpected: " + "; ".join(module_warnings[:8])))

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
    sys.exit(main(sys.argv[1:]))
