#!/usr/bin/env python3
"""Self-test of the harness's verdict: synthetic console and build logs, each fed to the real
checkers (check-console.py, check-build-log.py) through the real wrapper (run-checker.sh), with
the real sources (tests/kunit.rs's case list, the modules' pr_warn/pr_err formats).

A good log must pass; each bad log must fail, with the FAIL line naming the failure mode:
absent suite, short suite, skipped case, undeclared case, unexpected module warning, expected
warning that never came, kernel splat, no end marker, checker crash, checker that disagrees
with its own exit status, a scenario that timed out (its
last line and tasks named), and build warnings from rustc, clang, objtool and modpost, and a
build that compiled nothing.

Prints "PASS host:harness:<case>" or "FAIL host:harness:<case>: why", each followed by the
verdict line the harness printed for that log (indented, for the record), then a RESULT line.
Work files go to $ZS_BUILD/harness-selftest (default build/harness-selftest).
"""
import os
import re
import shutil
import subprocess
import sys

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(SCRIPTS)
sys.path.insert(0, SCRIPTS)
check_console = __import__("check-console")

WORK = os.path.join(os.environ.get("ZS_BUILD", os.path.join(REPO, "build")), "harness-selftest")
SUITE, (SRC, CASES) = next(iter(sorted(check_console.declared_suites(REPO, set()).items())))
DESTROY_WARNING = "zsmalloc_rs_kunit: pool kunit: destroyed with 500 live objects; freed them"


def stamp(lines):
    return [f"[{10 + i * 0.01:12.6f}] {l}" for i, l in enumerate(lines)]


def ktap(cases=CASES, plan=None, skip=(), fail=(), finished=True):
    out = ["KTAP version 1", "1..1", "    KTAP version 1", f"    # Subtest: {SUITE}",
           "    # module: zsmalloc_rs_kunit", f"    1..{len(CASES) if plan is None else plan}"]
    for i, c in enumerate(cases, 1):
        if c == "destroy_with_live_objects":
            out.append(DESTROY_WARNING)
        if c in skip:
            out.append(f"    ok {i} {c} # SKIP not today")
        elif c in fail:
            out += [f"    # {c}: EXPECTATION FAILED at tests/kunit.rs:1", f"    not ok {i} {c}"]
        else:
            out.append(f"    ok {i} {c}")
    if finished:
        out += [f"# {SUITE}: pass:{len(cases)} fail:0 skip:0 total:{len(cases)}",
                f"ok 1 {SUITE}"]
    return out


def console(kunit=None, expect=True, zram_extra=(), end=True, kunit_result="pass"):
    kunit = ktap() if kunit is None else kunit
    out = ["Linux version 6.12.117 (selftest)", "ZS-GUEST-START scenarios: kunit zram-fs",
           "ZS-SCENARIO-BEGIN kunit", "zsmalloc_rs_kunit: loaded: 30 size classes"]
    if expect:
        out.append(f"ZS-EXPECT {DESTROY_WARNING}")
    out += kunit + [f"ZS-RESULT kunit {kunit_result} (10.0s..50.0s)", "ZS-SCENARIO-BEGIN zram-fs",
                    "zsmalloc_rs: loaded: 30 size classes, huge from 3264 bytes",
                    "zsmalloc_rs_compat: zs_* API served by rust_zsmalloc"]
    out += list(zram_extra) + ["zram fs: ok", "ZS-RESULT zram-fs pass (50.0s..90.0s)"]
    if end:
        out.append("ZS-GUEST-END")
    return stamp(out)


def timed_out():
    """A console whose zram-fs scenario ran out of time: kernel records stamped, the guest's own
    lines not (as on the real console), /init's timeout report, then the rest of the run."""
    good = console()
    cut = next(i for i, l in enumerate(good) if "ZS-SCENARIO-BEGIN zram-fs" in l) + 1
    return good[:cut] + [
        "files ok mode=write dir=/mnt mib=24",
        "[   60.000000] zram0: detected capacity change from 0 to 131072",
        "ZS-FAIL timed out after 480s",
        "ZS-TASK 412 sh -e /tests/zram-fs.sh state=S wchan=do_wait stack=do_wait<kernel_wait4",
        "ZS-TASK 415 zstest files --dir /mnt --mib 24 verify state=D wchan=folio_wait_bit_common "
        "stack=folio_wait_bit_common<filemap_read",
        "ZS-RESULT zram-fs fail (exit 137, 50.0s..530.0s)", "ZS-GUEST-END"]


def build_log(extra=(), compiled=True):
    out = ["make -C /var/cache/rust_zsmalloc/kernel/debug M=/repo modules",
           "  BINDGEN /repo/sys/bindings_generated.rs"]
    if compiled:
        out += ["  RUSTC [M] /repo/rust_zsmalloc.o", "  CC [M]  /repo/sys/helpers.o",
                "  RUSTC [M] /repo/tests/kunit.o", "  CC [M]  /repo/tests/kunit_helpers.o"]
    out += list(extra) + ["  MODPOST /repo/Module.symvers", "  CC [M]  /repo/zsmalloc_rs.mod.o",
                          "  LD [M]  /repo/zsmalloc_rs.ko"]
    return out


def run_checker(name, cmd):
    """Runs cmd through run-checker.sh; returns the verdict lines it recorded."""
    results = os.path.join(WORK, f"{name}.results")
    open(results, "w").close()
    subprocess.run(["bash", os.path.join(SCRIPTS, "run-checker.sh"), name, results] + cmd, check=True)
    return [l.rstrip("\n") for l in open(results)]


def console_verdict(name, lines, scenarios=("kunit", "zram-fs"), extra_args=()):
    path = os.path.join(WORK, f"{name}.console.log")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return run_checker(name, [sys.executable, os.path.join(SCRIPTS, "check-console.py")]
                       + list(extra_args) + [path] + list(scenarios))


def build_verdict(name, lines):
    path = os.path.join(WORK, f"{name}.build.log")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return run_checker(name, [sys.executable, os.path.join(SCRIPTS, "check-build-log.py"), path])


def fake_checker(name, script):
    return run_checker(name, [sys.executable, "-c", script])


def fake_sources(extra):
    """A copy of the sources the checker reads (tests/*.rs, the modules' pr_warn/pr_err), plus
    one file containing `extra`."""
    root = os.path.join(WORK, "src")
    if not os.path.isdir(root):
        shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(
            "build", "target", ".git", "guest-tools", "*.o", "*.ko", "*.cmd", "bindings_generated.rs"))
        with open(os.path.join(root, "extra.rs"), "w") as f:
            f.write(f"// the missing piece: {extra}\n")
    return root


def glued():
    """A KTAP case line that the serial port wrote in the middle of a shell's output line."""
    lines = console()
    n = next(i for i, l in enumerate(lines) if re.search(r" ok \d+ seed004_migration_meets_reader$", l))
    lines[n] = "kunit: stress thr" + lines[n]
    lines.insert(n + 1, "eads running: churn on")
    return lines


def unexpected_warning():
    return console(zram_extra=["zsmalloc_rs: pool zram0: destroyed with 3 live objects; freed them"])


def waiting_warning():
    return console(zram_extra=["zsmalloc_rs: waiting for the migration core to hand back 2 pages"])


def drop(case):
    return [c for c in CASES if c != case]


# (case, verdict lines, the FAIL line that must be there (prefix), or None: everything passes)
CASES_ = [
    ("good-console", lambda: console_verdict("good-console", console()), None),
    ("good-console-todo-is-skip", lambda: console_verdict(
        "todo", console(zram_extra=["ZS-TODO nr_zspages in /proc/vmstat is not maintained"])), None),
    ("good-console-glued-record", lambda: console_verdict("glued", glued()), None),
    ("todo-done-in-sources", lambda: console_verdict("todo-done", console(zram_extra=[
        "ZS-TODO nr_zspages in /proc/vmstat is not maintained"]), extra_args=[
        "--source-root", fake_sources("NR_ZSPAGES")]), "FAIL guest:zram-fs:todo: the sources now have nr_zspages"),
    ("absent-suite", lambda: console_verdict("absent-suite", console(kunit=[], expect=False)),
     f"FAIL kunit:{SUITE}: suite absent"),
    ("short-suite", lambda: console_verdict("short-suite", console(kunit=ktap(
        cases=CASES[:9], finished=False))), f"FAIL kunit:{SUITE}: short: 9 of {len(CASES)}"),
    ("short-suite-plan-agrees", lambda: console_verdict("short-plan", console(kunit=ktap(
        cases=drop("stress_concurrent"), plan=len(CASES) - 1))), f"FAIL kunit:{SUITE}: short:"),
    ("skipped-case", lambda: console_verdict("skipped-case", console(kunit=ktap(
        skip=("seed001_write_after_move",)))), f"FAIL kunit:{SUITE}: skipped: seed001_write_after_move"),
    ("failed-case", lambda: console_verdict("failed-case", console(kunit=ktap(
        fail=("seed003_free_mid_migration",)))), f"FAIL kunit:{SUITE}.seed003_free_mid_migration"),
    ("undeclared-case", lambda: console_verdict("undeclared-case", console(kunit=ktap(
        cases=CASES + ["not_in_source"], plan=len(CASES) + 1))), f"FAIL kunit:{SUITE}: cases not declared"),
    ("cfg-case-missing", lambda: console_verdict("cfg-case", console(), extra_args=[
        "--cfg", "zs_inject_kunit_fail"]), f"FAIL kunit:{SUITE}: short:"),
    ("module-warning", lambda: console_verdict("module-warning", unexpected_warning()),
     "FAIL guest:no-module-warning: 1 unexpected: line"),
    ("module-warning-migration-core", lambda: console_verdict("waiting-warning", waiting_warning()),
     "FAIL guest:no-module-warning"),
    ("expected-warning-undeclared", lambda: console_verdict("undeclared-warning", console(expect=False)),
     "FAIL guest:no-module-warning"),
    ("expected-warning-never-came", lambda: console_verdict("never-came", console(kunit=ktap(
        cases=drop("destroy_with_live_objects"), plan=len(CASES) - 1))),
     "FAIL guest:kunit:expected-lines: declared ZS-EXPECT never matched"),
    ("kernel-splat", lambda: console_verdict("splat", console(zram_extra=[
        "WARNING: CPU: 1 PID: 99 at mm/migrate.c:200 move_to_new_folio+0x1/0x2"])),
     "FAIL guest:no-kernel-splat"),
    ("no-end-marker", lambda: console_verdict("no-end", console(end=False)),
     "FAIL guest:reached-end: no end marker: the guest hung, panicked or timed out (last kernel record "
     "at 10 s guest time; last line: ZS-RESULT zram-fs pass (50.0s..90.0s))"),
    ("scenario-timed-out", lambda: console_verdict("timed-out", timed_out()),
     "FAIL guest:zram-fs: timed out after 480s (exit 137, 50.0s..530.0s); last output: files ok mode=write "
     "dir=/mnt mib=24; tasks: zstest files --dir /mnt --mib 24 verify (D, folio_wait_bit_common: "
     "folio_wait_bit_common<filemap_read) | sh -e /tests/zram-fs.sh (S, do_wait: do_wait<kernel_wait4)"),
    ("scenario-missing", lambda: console_verdict("scenario-missing", console(),
                                                 scenarios=("kunit", "zram-fs", "migrate")),
     "FAIL guest:migrate: no result"),
    ("checker-crash", lambda: console_verdict("checker-crash", console(), extra_args=[
        "--source-root", os.path.join(WORK, "empty")]), "FAIL harness:checker-crash: no RESULT line"),
    ("checker-crash-mid-output", lambda: fake_checker(
        "crash-mid", "print('PASS a', flush=True); raise RuntimeError('boom')"),
     "FAIL harness:crash-mid: no RESULT line"),
    ("checker-exit-disagrees", lambda: fake_checker(
        "exit-disagrees", "print('PASS a'); print('RESULT passed=1 failed=0 skipped=0'); raise SystemExit(1)"),
     "FAIL harness:exit-disagrees: the checker exited 1 but printed no FAIL line"),
    ("checker-result-disagrees", lambda: fake_checker(
        "result-disagrees", "print('PASS a'); print('FAIL b: x'); print('RESULT passed=2 failed=0 skipped=0')"),
     "FAIL harness:result-disagrees: RESULT line"),
    ("good-build", lambda: build_verdict("good-build", build_log()), None),
    ("build-rustc-warning", lambda: build_verdict("rustc-warning", build_log([
        "warning: unused variable: `x`", "  --> /repo/pool.rs:10:9", "warning: 1 warning emitted"])),
     "FAIL build:modules-warning-free"),
    ("build-clippy-warning", lambda: build_verdict("clippy-warning", build_log([
        "warning[clippy::needless_return]: unneeded `return` statement"])), "FAIL build:modules-warning-free"),
    ("build-clang-warning", lambda: build_verdict("clang-warning", build_log([
        "/repo/sys/helpers.c:12:6: warning: unused variable 'x' [-Wunused-variable]"])),
     "FAIL build:modules-warning-free"),
    ("build-objtool-warning", lambda: build_verdict("objtool-warning", build_log([
        "/repo/rust_zsmalloc.o: warning: objtool: _RNvXs_foo+0x3c: call to memcpy() leaves .noinstr.text section"])),
     "FAIL build:modules-warning-free"),
    ("build-modpost-warning", lambda: build_verdict("modpost-warning", build_log([
        "WARNING: modpost: missing MODULE_DESCRIPTION() in /repo/zsmalloc_rs_compat.o"])),
     "FAIL build:modules-warning-free"),
    ("build-nothing-compiled", lambda: build_verdict("nothing-compiled", build_log(compiled=False)),
     "FAIL build:modules-warning-free: the log shows 0 Rust and 0 C compilations"),
]


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "empty"))
    passed = failed = 0
    for case, verdict, want in CASES_:
        lines = verdict()
        fails = [l for l in lines if l.startswith("FAIL")]
        if want is None:
            ok = bool(lines) and not fails
            why = f"a good log failed: {fails[:2]}"
            shown = [l for l in lines if l.startswith("SKIP")][:1] or [f"{len(lines)} lines, none failed"]
        else:
            hits = [l for l in fails if l.startswith(want)]
            ok = bool(hits)
            why = f"no line starting '{want}' among {fails[:3] or lines[:3]}"
            shown = hits[:1]
        if ok:
            passed += 1
            print(f"PASS host:harness:{case}")
        else:
            failed += 1
            print(f"FAIL host:harness:{case}: {why}")
        for l in shown:
            print(f"    {l}")
    print(f"RESULT passed={passed} failed={failed} skipped=0")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
