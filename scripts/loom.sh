#!/usr/bin/env bash
# Exhaustive checks of the lock protocols on the host: the loom models in
# logic/src/loom_models (every interleaving and weak-memory outcome within the preemption
# bound), then each loom mutant, which loom must fail. Prints one line per result (for
# scripts/test.sh), progress on stderr:
#   PASS|FAIL host:loom:<model test>: <executions explored, time>
#   PASS|FAIL host:loom-mutant:<mutant>: killed by / survived <model test>
#   PASS|FAIL host:loom-mutants:listed   the list in loom_models/mod.rs names exactly the
#                                        zs_loom_mutant values the sources use
# Environment:
#   LOOM_MAX_PREEMPTIONS=N   loom's preemption bound (default 3; "none": unbounded, which
#                            takes ~20 s for the models on 2 cores)
# Its own target directory (build/loom-target): the --cfg loom build does not disturb the
# normal one. Crates come from crates.io (cargo fetch; logic/Cargo.lock pins them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO/logic"
logs=$ZS_BUILD/logs/loom
mkdir -p "$logs"

bound=${LOOM_MAX_PREEMPTIONS:-3}
if [ "$bound" = none ]; then unset LOOM_MAX_PREEMPTIONS; else export LOOM_MAX_PREEMPTIONS=$bound; fi
export RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=$ZS_BUILD/loom-target
# Loom explores fast only optimised; keep the debug assertions (they are part of the rules).
export CARGO_PROFILE_TEST_OPT_LEVEL=3 CARGO_PROFILE_TEST_DEBUG_ASSERTIONS=true
# A mutant's failure report need not carry a backtrace.
export RUST_BACKTRACE=0

# The mutants and their targeted tests, from the list in loom_models/mod.rs.
mapfile -t listed < <(sed -n -E 's|^//   mutant: ([a-z0-9_]+) ([a-z0-9_:]+)$|\1 \2|p' src/loom_models/mod.rs)
mapfile -t used < <(grep -rhoE 'zs_loom_mutant = "[a-z0-9_]+"' src | sed -E 's/.*"(.*)"/\1/' | sort -u)
listed_names=$(printf '%s\n' "${listed[@]%% *}" | sort)
if [ "${#listed[@]}" -gt 0 ] && [ "$listed_names" = "$(printf '%s\n' "${used[@]}")" ] &&
	[ -z "$(uniq -d <<<"$listed_names")" ]; then
	echo "PASS host:loom-mutants:listed: ${#listed[@]} mutants"
else
	echo "FAIL host:loom-mutants:listed: the list in logic/src/loom_models/mod.rs ($(echo $listed_names)) differs from the zs_loom_mutant values in logic/src ($(echo "${used[@]}"))"
fi

step "host: loom models (LOOM_MAX_PREEMPTIONS=$bound)" >&2
log=$logs/models.log
cargo test --lib loom_models -- --nocapture >"$log" 2>&1 || true
# "test loom_models::x::y ... ok" lines are the cases; "loom-explored x::y N executions in T".
sed -n -E 's/^test loom_models::(.+) \.\.\. (ok|FAILED|ignored)$/\2 \1/p' "$log" |
	while read -r verdict name; do
		explored=$(sed -n -E "s/^loom-explored $name (.*)$/\1/p" "$log" | head -n 1)
		case "$verdict" in
		ok) echo "PASS host:loom:$name: ${explored:-?} (LOOM_MAX_PREEMPTIONS=$bound)" ;;
		*) echo "FAIL host:loom:$name: $verdict, see $log" ;;
		esac
	done
if ! grep -q '^test result: ok' "$log"; then
	echo "FAIL host:loom:run: the loom models did not run cleanly, see $log"
fi

# Each mutant: only the crate itself is rebuilt (cargo rustc passes the cfg to it alone, so
# the dependencies built above are reused), then its targeted test must fail.
for entry in "${listed[@]}"; do
	mutant=${entry%% *} test=loom_models::${entry#* }
	step "host: loom mutant $mutant" >&2
	log=$logs/mutant-$mutant.log
	if ! cargo rustc --lib --profile test --message-format json-render-diagnostics \
		-- --cfg "zs_loom_mutant=\"$mutant\"" >"$log.build" 2>&1; then
		echo "FAIL host:loom-mutant:$mutant: does not build, see $log.build"
		continue
	fi
	exe=$(grep -o '"executable":"[^"]*"' "$log.build" | tail -n 1 | cut -d'"' -f4)
	if [ -z "$exe" ]; then
		echo "FAIL host:loom-mutant:$mutant: no test binary, see $log.build"
		continue
	fi
	status=0
	# LOOM_LOCATION: a causality violation names the two accesses' source lines.
	LOOM_LOCATION=1 timeout 300 "$exe" --exact "$test" >"$log" 2>&1 || status=$?
	# The panic message, and for a race the lines of the two accesses.
	why=$(sed -n '/panicked at/,/^note:/p' "$log" | grep -vE 'panicked at|^note:|^$|created:' |
		sed -E 's/^ +//; s/thread #[0-9]+ @ src\/loom_models\///' | head -n 3 | paste -sd ' ' | cut -c 1-200)
	if [ "$status" -ne 0 ] && grep -q "^test $test \.\.\. FAILED$" "$log"; then
		echo "PASS host:loom-mutant:$mutant: killed, $test failed: ${why:-see $log}"
	elif [ "$status" -eq 124 ]; then
		echo "FAIL host:loom-mutant:$mutant: $test timed out (300 s), see $log"
	else
		echo "FAIL host:loom-mutant:$mutant: survived, $test passed (or did not run), see $log"
	fi
done
