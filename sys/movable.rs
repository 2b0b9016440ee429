// SPDX-License-Identifier: GPL-2.0

//! `struct movable_operations`: the callbacks through which the migration core (memory
//! compaction, offlining, ...) moves a driver's pages. The C entry points here turn the raw
//! pages into `LockedPage`s and call a `MovablePages` implementation.

use super::{movable_operations, LockedPage};
use core::ptr::NonNull;
use kernel::{bindings, error::code::EINVAL};

/// What a driver does with its movable pages (6.12's `isolate_page`, `migrate_page`,
/// `putback_page`). Every page is locked by the migration core for the call.
pub(crate) trait MovablePages {
    /// Whether `page` may be isolated for migration.
    fn isolate(page: &LockedPage<'_>) -> bool;
    /// Moves isolated `src` to the fresh page `dst`: 0 (`MIGRATEPAGE_SUCCESS`) or -errno.
    fn migrate(dst: &LockedPage<'_>, src: &LockedPage<'_>) -> i32;
    /// Takes back an isolated page whose migration did not happen.
    fn putback(page: &LockedPage<'_>);
}

/// The operations table that calls `T`.
pub(crate) const fn movable_operations_of<T: MovablePages>() -> movable_operations {
    movable_operations {
        isolate_page: Some(isolate_page::<T>),
        migrate_page: Some(migrate_page::<T>),
        putback_page: Some(putback_page::<T>),
    }
}

/// # Safety
///
/// Called by the migration core with a page registered with these operations, locked.
unsafe extern "C" fn isolate_page<T: MovablePages>(
    page: *mut bindings::page,
    _mode: super::isolate_mode_t,
) -> bool {
    let Some(page) = NonNull::new(page) else {
        return false;
    };
    // SAFETY: a page locked by the core for the duration of the callback (caller).
    T::isolate(&unsafe { LockedPage::from_raw(page) })
}

/// # Safety
///
/// Called by the migration core with both pages locked, `src` isolated and registered with
/// these operations, `dst` a fresh page.
unsafe extern "C" fn migrate_page<T: MovablePages>(
    dst: *mut bindings::page,
    src: *mut bindings::page,
    _mode: super::migrate_mode,
) -> i32 {
    let (Some(dst), Some(src)) = (NonNull::new(dst), NonNull::new(src)) else {
        return EINVAL.to_errno();
    };
    // SAFETY: pages locked by the core for the duration of the callback (caller).
    let (dst, src) = unsafe { (LockedPage::from_raw(dst), LockedPage::from_raw(src)) };
    T::migrate(&dst, &src)
}

/// # Safety
///
/// As for `isolate_page`.
unsafe extern "C" fn putback_page<T: MovablePages>(page: *mut bindings::page) {
    let Some(page) = NonNull::new(page) else {
        return;
    };
    // SAFETY: a page locked by the core for the duration of the callback (caller).
    T::putback(&unsafe { LockedPage::from_raw(page) })
}
