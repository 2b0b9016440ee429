# Helpers for guest scenarios (sourced). Scenarios run under `sh -e`: any failing command
# fails the scenario. Print "ZS-FAIL <why>" before failing so the host shows the reason.

MODDIR=/lib/modules

fail() {
	echo "ZS-FAIL $*"
	exit 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# poll_until SECS CMD...: retry CMD once a second until it succeeds or SECS pass.
poll_until() {
	n=$1
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 1
	done
}

module_loaded() {
	[ -d "/sys/module/$1" ]
}
