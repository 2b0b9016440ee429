// SPDX-License-Identifier: GPL-2.0

//! A spinlock for the hot path: `kernel::sync::SpinLock` with a lock backend whose
//! `lock`/`unlock` the compiler can inline.
//!
//! 6.12's `SpinLockBackend` lives in the kernel crate and calls `spin_lock` through the
//! `rust_helper_spin_lock` wrapper: two out-of-line calls (three with `_raw_spin_lock`) for
//! every lock and unlock, on every malloc and free. C's `spin_lock` is an inline wrapper of
//! `raw_spin_lock(&lock->rlock)`, which is `_raw_spin_lock` on x86_64 (no
//! `ARCH_INLINE_SPIN_LOCK`; were it inlined, `_raw_spin_lock` would not be exported and
//! the module would fail to link, not misbehave). This backend makes the same one call, from
//! generic code instantiated in this crate. Lockdep, the debug checks and the lock's layout
//! are C's, untouched: the lock is a `spinlock_t` initialised by `__spin_lock_init`.

use kernel::{bindings, sync::lock::Backend};

#[cfg(CONFIG_PREEMPT_RT)]
compile_error!("under PREEMPT_RT a spinlock_t is an rt_mutex: use kernel::sync::SpinLock");

/// `kernel::sync::SpinLock`'s behaviour, with `_raw_spin_lock`/`_raw_spin_unlock` called
/// directly.
pub(crate) struct InlineSpinBackend;

/// A spinlock whose lock and unlock are one call each (see the module comment).
pub(crate) type InlineSpinLock<T> = kernel::sync::lock::Lock<T, InlineSpinBackend>;

// SAFETY: the lock is C's `spinlock_t`, initialised by `__spin_lock_init` and taken and
// released with the functions `spin_lock`/`spin_unlock` resolve to on this configuration
// (`raw_spin_lock(&lock->rlock)`, i.e. `_raw_spin_lock`): mutual exclusion as
// `SpinLockBackend`'s.
unsafe impl Backend for InlineSpinBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: `ptr` is valid for writes, `name` and `key` live forever (the trait's
        // contract with `Lock::new`).
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: an initialised `spinlock_t` (the trait's contract); outside PREEMPT_RT its
        // first member is the `raw_spinlock_t` `spin_lock` takes.
        unsafe { bindings::_raw_spin_lock(ptr.cast::<bindings::raw_spinlock_t>()) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: held by the caller (the trait's contract); as in `lock`.
        unsafe { bindings::_raw_spin_unlock(ptr.cast::<bindings::raw_spinlock_t>()) }
    }
}
