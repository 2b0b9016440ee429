// SPDX-License-Identifier: GPL-2.0

//! The module's one work item (`sys/helpers.c`): runs the crate's `rzs_module_work` in
//! process context, where it may sleep (`allocator.rs` releases there the pages that the
//! RCU free path could not).

use super::might_sleep;

extern "C" {
    fn rzs_schedule_module_work();
    fn rzs_flush_module_work();
}

/// Queues the module's work on the system workqueue (a no-op if it is already queued, so
/// the work must handle everything handed to it before it ran). Any context.
pub(crate) fn schedule_module_work() {
    // SAFETY: `schedule_work` on the module's static work item may be called from any
    // context; the module's exit path flushes it (`flush_module_work`) before the code goes.
    unsafe { rzs_schedule_module_work() };
}

/// Waits until the module's work, if queued or running, has finished. May sleep.
pub(crate) fn flush_module_work() {
    might_sleep();
    // SAFETY: process context (checked above).
    unsafe { rzs_flush_module_work() };
}
