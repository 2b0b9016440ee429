// SPDX-License-Identifier: GPL-2.0

//! RCU: read-side sections, deferred frees, and the barrier that waits for them.

use super::{list::Links, might_sleep, Linked, SlabBox};
use core::marker::PhantomData;
use kernel::bindings;

extern "C" {
    #[allow(dead_code, reason = "not called where `__rcu_read_lock` serves")]
    fn rzs_rcu_read_lock();
    #[allow(dead_code, reason = "as above")]
    fn rzs_rcu_read_unlock();
}

/// An RCU read-side critical section, ended on drop. Memory retired with `RcuHead::call`
/// stays valid while a section that began before the retirement is open.
pub(crate) struct RcuReadGuard {
    _not_send: PhantomData<*mut ()>,
}

impl RcuReadGuard {
    pub(crate) fn new() -> RcuReadGuard {
        // SAFETY: entering a read-side section has no precondition; `Drop` leaves it on the
        // same task (the guard is not `Send`). Without lockdep, preemptible RCU's
        // `rcu_read_lock()` is exactly `__rcu_read_lock()`: called without a C wrapper.
        #[cfg(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC)))]
        unsafe {
            bindings::__rcu_read_lock()
        };
        // SAFETY: as above.
        #[cfg(not(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC))))]
        unsafe {
            rzs_rcu_read_lock()
        };
        RcuReadGuard {
            _not_send: PhantomData,
        }
    }
}

impl Drop for RcuReadGuard {
    fn drop(&mut self) {
        // SAFETY: pairs with the `rcu_read_lock` of `new` (without a C wrapper where
        // `rcu_read_unlock()` is exactly `__rcu_read_unlock()`).
        #[cfg(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC)))]
        unsafe {
            bindings::__rcu_read_unlock()
        };
        // SAFETY: as above.
        #[cfg(not(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC))))]
        unsafe {
            rzs_rcu_read_unlock()
        };
    }
}

/// What an object does when its grace period has passed (see `drop_after_grace_period`).
pub(crate) trait RcuDrop: Linked + Sized {
    fn rcu_drop(this: SlabBox<Self>);
}

// The head reuses the object's `Links`, which must be able to hold a `callback_head`.
const _: () = assert!(
    core::mem::size_of::<Links>() >= core::mem::size_of::<bindings::callback_head>()
        && core::mem::align_of::<Links>() >= core::mem::align_of::<bindings::callback_head>()
);

/// Hands `obj` to `T::rcu_drop` one RCU grace period from now, so that a lockless reader
/// that found it (inside a read-side section) can still use it. The RCU head reuses the
/// object's list `Links`, which keeps a zspage's metadata as small as upstream's: an object
/// in a box is on no list, and this consumes the box, so nothing links it again.
pub(crate) fn drop_after_grace_period<T: RcuDrop>(obj: SlabBox<T>) {
    let links = core::ptr::from_ref(obj.links_field()).cast_mut();
    let _ = obj.into_raw();
    // SAFETY: the links are unused from now on (above) and can hold a `callback_head`
    // (asserted); the callback takes the object back once; it is this module's code, which
    // stays until `rcu_barrier` returns in the module's exit path.
    unsafe { bindings::call_rcu(links.cast(), Some(rcu_drop_trampoline::<T>)) };
}

/// # Safety
///
/// Called by RCU with a head queued by `drop_after_grace_period::<T>`.
unsafe extern "C" fn rcu_drop_trampoline<T: RcuDrop>(head: *mut bindings::callback_head) {
    let obj = head.cast::<u8>().wrapping_sub(T::OFFSET).cast::<T>();
    let Some(obj) = core::ptr::NonNull::new(obj) else {
        return;
    };
    // SAFETY: `drop_after_grace_period` queued this head, the `Links` of a `T` it gave up
    // with `into_raw`; the grace period has passed, so no reader still uses it.
    T::rcu_drop(unsafe { SlabBox::from_raw(obj) });
}

/// Waits for every `call_rcu` callback queued so far to finish (unlike `synchronize_rcu`,
/// which only waits for readers). May sleep.
pub(crate) fn rcu_barrier() {
    might_sleep();
    // SAFETY: called from process context (checked above).
    unsafe { bindings::rcu_barrier() };
}

/// A proof that the current task is in an RCU read-side critical section while the value
/// lives.
///
/// # Safety
///
/// While a value of the implementing type is alive, the task that can use it is inside an
/// RCU read-side critical section (an `RcuReadGuard`, or a held spinlock: preemption is off,
/// and 6.12's RCU waits for preempt-disabled regions).
pub(crate) unsafe trait RcuReader {}

// SAFETY: the guard keeps `rcu_read_lock` held until it drops, and is not `Send`.
unsafe impl RcuReader for RcuReadGuard {}
