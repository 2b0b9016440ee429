# Helpers for the scenarios that boot with an installed module tree (run-guest.sh
# --modules-install): modules in /lib/modules/<release>/ indexed by depmod, /sbin/modprobe.
# Sourced after lib.sh.

INSTALLED=/lib/modules/$(uname -r)

# The tree is what `make install` + depmod made, and the kernel's usermode helper can run it.
check_installed_tree() {
	expect_eq "kernel.modprobe" "$(cat /proc/sys/kernel/modprobe)" /sbin/modprobe
	[ -x /sbin/modprobe ] || fail "/sbin/modprobe missing from the guest"
	grep -qx "alias zpool-rust_zsmalloc zsmalloc_rs" "$INSTALLED/modules.alias" ||
		fail "$INSTALLED/modules.alias lacks zpool-rust_zsmalloc"
	grep -q "^updates/zsmalloc_rs.ko:" "$INSTALLED/modules.dep" ||
		fail "$INSTALLED/modules.dep lacks updates/zsmalloc_rs.ko"
}

# zswap_serves_installed_module: zswap's current pool is rust_zsmalloc, in the module that
# modprobe loaded; it stores real pages (verified byte for byte when they come back); the
# module cannot be removed while zswap uses it, and can once zswap has switched away.
zswap_serves_installed_module() {
	expect_eq "zswap zpool" "$(cat /sys/module/zswap/parameters/zpool)" rust_zsmalloc
	expect_eq "zswap enabled" "$(cat /sys/module/zswap/parameters/enabled)" Y
	module_loaded zsmalloc_rs || fail "zsmalloc_rs is not loaded although zswap uses rust_zsmalloc"
	ls -d /sys/kernel/debug/rust_zsmalloc/zswap* >/dev/null 2>&1 ||
		fail "no rust_zsmalloc pool for zswap in debugfs"

	swap_on
	rm -f /tmp/ready /tmp/go
	zstest anon --mib 16 --pageout --ready-file /tmp/ready --hold-until /tmp/go >/tmp/zstest.out 2>&1 &
	pid=$!
	wait_ready /tmp/ready $pid
	stored=$(zswap_stat stored_pages)
	pages=$(rzs_pool_pages)
	echo "held out: zswap stored_pages=$stored, rust_zsmalloc pages=$pages"
	busy_rc=0
	modprobe -r zsmalloc_rs 2>/tmp/modprobe-r.err || busy_rc=$?
	echo "modprobe -r zsmalloc_rs while zswap uses it: exit $busy_rc, $(cat /tmp/modprobe-r.err)"
	touch /tmp/go
	wait_zstest $pid
	[ "$stored" -gt 0 ] || fail "zswap stored no page while 16 MiB were paged out"
	[ "$pages" -gt 0 ] || fail "the rust_zsmalloc pool was empty while zswap stored $stored pages"
	[ "$busy_rc" != 0 ] || fail "modprobe -r zsmalloc_rs succeeded while zswap used it"
	module_loaded zsmalloc_rs || fail "zsmalloc_rs was removed while zswap used it"

	swap_off_zswap_empty "zstest exited"
	poll_until 30 pool_is_empty || fail "pool still holds $(rzs_pool_pages) pages after the data was freed"
	echo zbud >/sys/module/zswap/parameters/zpool
	# zswap drains and destroys the old pool asynchronously; the module is busy until then.
	poll_until 60 modprobe -r zsmalloc_rs || fail "modprobe -r zsmalloc_rs failed after zswap switched away"
	# An `if`, not `&&`: as the function's last command, a false `module_loaded && fail`
	# would be its exit status, and `sh -e` would end the scenario without a word.
	if module_loaded zsmalloc_rs; then
		fail "zsmalloc_rs still loaded after modprobe -r"
	fi
}
