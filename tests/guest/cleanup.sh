# Best-effort cleanup after a failed scenario, so that the next one starts from a clean
# guest: nothing here may fail the run.
set +e
# First stop what the scenario left running (before swap goes away under it): background
# loops poll these files, held zstest runs wait for the release file.
rm -f /tmp/churn /tmp/busy
# fault-inject's failure injection off.
for d in /sys/kernel/debug/fail_page_alloc /sys/kernel/debug/failslab; do
	[ -w $d/probability ] && echo 0 >$d/probability
done
touch /tmp/zstest.release
# cpu-hotplug's toggle loop ends (after bringing CPU1 back) once /tmp/churn is gone; then
# CPU1 must be online for the next scenario.
[ -f /tmp/hotplug.pid ] && timeout 30 sh -c "while kill -0 $(cat /tmp/hotplug.pid) 2>/dev/null; do sleep 0.2; done"
cpu1=/sys/devices/system/cpu/cpu1/online
[ -w $cpu1 ] && [ "$(cat $cpu1)" = 0 ] && echo 1 >$cpu1
rm -f /tmp/hotplug.pid
for cg in /sys/fs/cgroup/*/; do
	[ -f "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill"
done
for cg in /sys/fs/cgroup/*/; do
	[ -f "$cg/cgroup.procs" ] && timeout 30 sh -c "while [ -s $cg/cgroup.procs ]; do sleep 0.2; done"
done
swapoff -a 2>/dev/null
umount /mnt 2>/dev/null
[ -w /sys/module/zswap/parameters/zpool ] && echo zbud >/sys/module/zswap/parameters/zpool 2>/dev/null
[ -w /sys/block/zram0/reset ] && echo 1 >/sys/block/zram0/reset 2>/dev/null
for m in zram zsmalloc_rs_compat zsmalloc zsmalloc_rs zsmalloc_rs_kunit; do
	[ -d /sys/module/$m ] && timeout 30 sh -c "until rmmod $m 2>/dev/null; do sleep 1; done"
done
for cg in /sys/fs/cgroup/*/; do rmdir "$cg" 2>/dev/null; done
true
