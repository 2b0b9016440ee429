#!/usr/bin/env bash
# The mutation matrix: proof that the seed race tests still bite. For each `ZS_MUTATE=` guard
# (Kbuild's ZS_MUTATIONS), build the KUnit module with that guard removed, boot the guest with
# the `kunit` scenario only, and require that the case(s) written for that race do not pass.
# The unmutated build must pass them all. Prints one PASS/FAIL line per mutant (and for the
# unmutated run), a table in build/mutants/matrix.md, and ends with "N passed, N failed".
# Usage: scripts/mutants.sh [GUARD...]   (default: every guard)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"

# guard -> the KUnit cases that must fail without it (tests/README.md explains each).
declare -A TARGETS=(
	[no_grace_period]="seed003_free_mid_migration"
	[keep_page_link]="destroy_pool_while_page_isolated"
	[no_liveness_check]="seed003_free_mid_migration seed003_free_mid_migration_cross_cpu compaction_meets_migration_cross_cpu"
	[repoint_after_unlock]="seed001_write_after_move"
	[blocking_writer]="seed004_migration_meets_reader"
	[kill_after_unlock]="seed002_emptied_zspage_stays_off_lists"
	[put_busy_page]="dead_page_lock_busy_no_callback compaction_meets_isolated_pages"
	[free_stale_location]="free_meets_compaction_move free_meets_compaction_move_cross_cpu"
	[map_no_recheck]="map_meets_compaction_move seed001_map_meets_compaction_cross_cpu"
	[destroy_no_barrier]="destroy_pool_mid_migration_cross_cpu"
	[len_from_class_size]="map_covers_exactly_the_stored_payload"
	[in_place_unchecked]="crossing_object_in_place_until_moved"
)
# A hung guest (the blocking writer spins on a reader) ends at this timeout.
declare -A TIMEOUT=([blocking_writer]=150)
# A mutant that crashes the kernel leaves the guest wedged until the timeout: keep it short
# (an unmutated kunit run takes about 25 s).
DEFAULT_TIMEOUT=120

known=$(sed -n 's/^ZS_MUTATIONS := //p' Kbuild)
read -r -a guards <<<"${*:-$known}"
for g in "${guards[@]}"; do
	[ -n "${TARGETS[$g]:-}" ] || die "no targeted case known for guard '$g' (Kbuild has: $known)"
done

out=$ZS_BUILD/mutants
mkdir -p "$out"
results=$out/results.txt
: >"$results"
bash scripts/setup-host.sh >/dev/null
bash scripts/build-kernel.sh debug >/dev/null

# Runs the kunit scenario with ZS_MUTATE=$1 (empty: unmutated); leaves the checker's lines in
# $out/<name>.txt.
run_kunit() {
	local guard=$1 name=${1:-unmutated}
	run_logged "$out/$name-build.log" "module build failed (ZS_MUTATE=$guard)" make modules ZS_MUTATE="$guard"
	ZS_BUILD=$out/$name bash scripts/run-guest.sh --name kunit --timeout "${TIMEOUT[${guard:-none}]:-$DEFAULT_TIMEOUT}" kunit >/dev/null
	python3 scripts/check-console.py "$out/$name/guest/kunit/console.log" kunit >"$out/$name.txt" 2>&1 || true
}

step "mutants: unmutated build"
run_kunit ""
missing=""
for g in "${guards[@]}"; do
	for case in ${TARGETS[$g]}; do
		grep -q "^PASS kunit:rust_zsmalloc.$case\$" "$out/unmutated.txt" || missing+=" $case"
	done
done
if [ -z "$missing" ] && ! grep -q '^FAIL' "$out/unmutated.txt"; then
	echo "PASS mutants:unmutated: every targeted case passes" >>"$results"
else
	echo "FAIL mutants:unmutated: not passing:${missing:- (see $out/unmutated.txt)}" >>"$results"
fi

{
	echo "| \`ZS_MUTATE=\` | targeted case(s) | verdict | what failed |"
	echo "|---|---|---|---|"
} >"$out/matrix.md"
for g in "${guards[@]}"; do
	step "mutants: ZS_MUTATE=$g"
	run_kunit "$g"
	survived=""
	for case in ${TARGETS[$g]}; do
		grep -q "^PASS kunit:rust_zsmalloc.$case\$" "$out/$g.txt" && survived+=" $case"
	done
	evidence=$(grep '^FAIL' "$out/$g.txt" | cut -c1-160 | head -n 3 | paste -sd ';' - | sed 's/|/\\|/g')
	if [ -z "$survived" ]; then
		echo "PASS mutants:$g: killed (${TARGETS[$g]} did not pass)" >>"$results"
		echo "| \`$g\` | ${TARGETS[$g]} | killed | ${evidence:-no case reported} |" >>"$out/matrix.md"
	else
		echo "FAIL mutants:$g: survived, still passing:$survived" >>"$results"
		echo "| \`$g\` | ${TARGETS[$g]} | SURVIVED | |" >>"$out/matrix.md"
	fi
done
# Leave the tree with unmutated modules.
run_logged "$out/rebuild.log" "module build failed" make modules

cat "$results"
step "mutants: matrix in $out/matrix.md"
passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
