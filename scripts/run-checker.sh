#!/usr/bin/env bash
# Run one checker and append its verdict lines to a results file, fail-closed.
# Usage: scripts/run-checker.sh NAME RESULTS_FILE CMD [ARG...]
#
# A checker prints "PASS x", "FAIL x: why" or "SKIP x: why" lines and ends with
# "RESULT passed=N failed=M skipped=K"; it exits 0 exactly when it failed nothing. Its test
# lines go to RESULTS_FILE. Anything else is a failure of the harness itself, recorded as
# "FAIL harness:NAME: why": a crash or a missing/garbled RESULT line, a RESULT line that
# disagrees with the lines printed, an exit status that disagrees with them, or no test line
# at all. Its stderr is kept in RESULTS_FILE's directory as NAME.stderr.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: run-checker.sh NAME RESULTS_FILE CMD [ARG...]" >&2; exit 2; }
name=$1 results=$2
shift 2
dir=$(dirname "$results")
out=$dir/$name.stdout
err=$dir/$name.stderr

rc=0
"$@" >"$out" 2>"$err" || rc=$?

grep -E '^(PASS|FAIL|SKIP) ' "$out" >>"$results" || true
n_pass=$(grep -c '^PASS ' "$out" || true)
n_fail=$(grep -c '^FAIL ' "$out" || true)
n_skip=$(grep -c '^SKIP ' "$out" || true)
last=$(tail -n 1 "$out")
crash=$(grep -m1 -E '^[A-Za-z]*(Error|Exception)|^Traceback' "$err" || true)

harness_fail() {
	echo "FAIL harness:$name: $* (exit $rc; stdout $out, stderr $err)" >>"$results"
}

if [[ ! "$last" =~ ^RESULT\ passed=([0-9]+)\ failed=([0-9]+)\ skipped=([0-9]+)$ ]]; then
	harness_fail "no RESULT line at the end: the checker crashed or was cut short${crash:+ ($crash)}"
elif [ "${BASH_REMATCH[1]}" != "$n_pass" ] || [ "${BASH_REMATCH[2]}" != "$n_fail" ] || [ "${BASH_REMATCH[3]}" != "$n_skip" ]; then
	harness_fail "RESULT line '$last' disagrees with the $n_pass PASS, $n_fail FAIL, $n_skip SKIP lines printed"
elif [ $((n_pass + n_fail + n_skip)) -eq 0 ]; then
	harness_fail "the checker printed no test line"
elif [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
	harness_fail "the checker exited $rc but printed no FAIL line${crash:+ ($crash)}"
elif [ "$rc" -eq 0 ] && [ "$n_fail" -ne 0 ]; then
	harness_fail "the checker printed $n_fail FAIL lines but exited 0"
elif [ -s "$err" ]; then
	harness_fail "the checker wrote to stderr: $(head -n 1 "$err")"
fi
# The caller's verdict comes from the results file, not from this exit status.
exit 0
