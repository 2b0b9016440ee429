// SPDX-License-Identifier: GPL-2.0

//! CPUs: pinning the current task, CPU ids, hotplug states, and the sleep checks.

use core::marker::PhantomData;
use kernel::{prelude::*, str::CStr};

extern "C" {
    fn rzs_get_cpu() -> u32;
    fn rzs_put_cpu();
    fn rzs_nr_cpu_ids() -> u32;
    fn rzs_might_sleep();
    fn rzs_preemptible() -> bool;
    fn rzs_msleep(msecs: u32);
    fn rzs_cond_resched();
    fn rzs_cpuhp_setup_dyn(
        name: *const u8,
        prepare: unsafe extern "C" fn(u32) -> i32,
        dead: unsafe extern "C" fn(u32) -> i32,
    ) -> i32;
    fn rzs_cpuhp_remove(state: i32);
}

/// Pins the current task to its CPU (preemption off) until dropped.
///
/// # Invariants
///
/// Preemption is disabled on the current task, by this value, and `cpu` is its CPU.
pub(crate) struct CpuPin {
    cpu: usize,
    _not_send: PhantomData<*mut ()>,
}

impl CpuPin {
    pub(crate) fn new() -> CpuPin {
        // SAFETY: `get_cpu` disables preemption; `Drop` re-enables it on this same task
        // (the pin is not `Send`).
        let cpu = unsafe { rzs_get_cpu() };
        // INVARIANT: preemption is off until drop, and `cpu` is the CPU it pinned.
        CpuPin {
            cpu: cpu as usize,
            _not_send: PhantomData,
        }
    }

    /// Takes back a pin that the current task forgot (`mem::forget`), so that preemption
    /// stayed off past its end (a C caller's map ... unmap).
    ///
    /// # Safety
    ///
    /// The current task forgot a pin and has not resumed it since.
    pub(crate) unsafe fn resume() -> CpuPin {
        // SAFETY: preemption is off (caller), so the CPU cannot change under us; take a
        // second reference and drop it right away to read the id.
        let cpu = unsafe {
            let cpu = rzs_get_cpu();
            rzs_put_cpu();
            cpu
        };
        // INVARIANT: the leaked pin's preemption-off section is now this value's.
        CpuPin {
            cpu: cpu as usize,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn cpu(&self) -> usize {
        self.cpu
    }
}

impl Drop for CpuPin {
    fn drop(&mut self) {
        // SAFETY: pairs with the `get_cpu` that made this pin, on this task (invariant).
        unsafe { rzs_put_cpu() };
    }
}

/// The number of possible CPU ids.
pub(crate) fn nr_cpu_ids() -> usize {
    // SAFETY: reads a variable set once during boot.
    unsafe { rzs_nr_cpu_ids() as usize }
}

/// Asserts (under DEBUG_ATOMIC_SLEEP) that the caller may sleep.
pub(crate) fn might_sleep() {
    // SAFETY: only a debug check.
    unsafe { rzs_might_sleep() };
}

/// Whether the current task may be preempted (false under a spinlock or a `CpuPin`).
pub(crate) fn preemptible() -> bool {
    // SAFETY: reads the current task's preemption count; no preconditions.
    unsafe { rzs_preemptible() }
}

/// Sleeps for `msecs` milliseconds.
pub(crate) fn msleep(msecs: u32) {
    might_sleep();
    // SAFETY: process context (checked above).
    unsafe { rzs_msleep(msecs) };
}

/// Lets other tasks run if this one has used its share (process context only).
pub(crate) fn cond_resched() {
    might_sleep();
    // SAFETY: process context (checked above).
    unsafe { rzs_cond_resched() };
}

/// A dynamic CPU-hotplug state in the prepare stage (`CPUHP_MM_ZS_PREPARE` belongs to
/// upstream zsmalloc, and both modules must load side by side); removed on drop, which
/// runs `dead` for every CPU.
pub(crate) struct CpuHotplugState(i32);

impl CpuHotplugState {
    /// Registers `prepare` (runs for each present CPU now, and before a CPU comes up) and
    /// `dead` (after a CPU went down, and for each CPU on drop).
    pub(crate) fn new(
        name: &'static CStr,
        prepare: unsafe extern "C" fn(u32) -> i32,
        dead: unsafe extern "C" fn(u32) -> i32,
    ) -> Result<Self> {
        // SAFETY: `name` lives forever; the callbacks are functions of this module, and the
        // state is removed (drop) before the module goes away.
        let state = unsafe { rzs_cpuhp_setup_dyn(name.as_char_ptr(), prepare, dead) };
        if state < 0 {
            return Err(Error::from_errno(state));
        }
        Ok(Self(state))
    }
}

impl Drop for CpuHotplugState {
    fn drop(&mut self) {
        // SAFETY: the state was set up by `new` and is removed once.
        unsafe { rzs_cpuhp_remove(self.0) };
    }
}
