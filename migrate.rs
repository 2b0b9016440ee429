// SPDX-License-Identifier: GPL-2.0

//! Movable zspage pages: the `movable_operations` through which compaction, memory
//! offlining and other migration move zspage pages, and the pool side of a page move.
//!
//! A callback starts from a page: its `private` names the zspage (set before the page was
//! registered, cleared when the zspage dies), looked up inside an RCU read-side section, so
//! the zspage (retired through RCU) and its pool (destroyed only after `rcu_barrier`) stay
//! valid while it is used. Under the pool lock the callback checks that the zspage is still
//! listed (seed 003: lookup, lock, then check liveness). A page move takes the zspage's
//! write lock with `try_write` only and backs off with `-EAGAIN` when a reader has the
//! zspage mapped (seed 004). Handles name zspages, not pages, so a move never rewrites a
//! handle (seed 001's race has nothing to race on): it replaces one entry of the zspage's
//! page table, under both locks, after the page is copied.
//!
//! Dead zspages' pages: the free path does not lock pages (seed 000). It drops a page's
//! link to these operations only if the page lock is free; otherwise the migration core
//! holds the page and its next callback, finding no zspage, drops the link under the lock
//! the core holds (`__ClearPageMovable` requires it). `MOVABLE_PAGES` counts the links, and
//! module exit waits for it to reach zero.

use super::{Life, Pool};
use crate::{
    sys::{self, RcuReadGuard, ZsPage},
    zspage::Zspage,
};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{bindings, prelude::*};

/// Pages currently linked to `MOVABLE_OPS` (registered and not yet released).
pub(crate) static MOVABLE_PAGES: AtomicUsize = AtomicUsize::new(0);

/// This module's movable operations; every zspage page points at them while registered.
pub(crate) static MOVABLE_OPS: sys::movable_operations = sys::movable_operations {
    isolate_page: Some(isolate_page),
    migrate_page: Some(migrate_page),
    putback_page: Some(putback_page),
};

/// 6.12's `MIGRATEPAGE_SUCCESS`.
const MIGRATEPAGE_SUCCESS: i32 = 0;

/// What a callback found behind a page, under the pool lock.
enum Owner {
    /// No live zspage: drop the page's link.
    Dead,
    /// The zspage is not listed yet: leave the page alone for now.
    NotYet,
    /// A listed zspage; the page is its page number `index`.
    Listed(usize),
}

/// Drops the link of a page whose zspage is dead.
///
/// # Safety
///
/// `page` is a movable page of this module whose lock the caller (the migration core)
/// holds; nothing of this module references it any more.
unsafe fn release_dead_page(page: *mut bindings::page) {
    // SAFETY: the page lock is held (caller), as `__ClearPageMovable` requires, and the page
    // is still registered (the core calls back only for movable pages).
    unsafe { sys::__ClearPageMovable(page) };
    MOVABLE_PAGES.fetch_sub(1, Ordering::Relaxed);
}

impl Pool {
    /// Where `page` stands. The caller holds the pool lock (`_inner`).
    fn owner_of(zspage: &Zspage, page: *mut bindings::page, _inner: &super::PoolInner) -> Owner {
        // SAFETY: pool lock held (`_inner`); one reference to the state at a time.
        let life = unsafe { zspage.state.get() }.life;
        // The page must still be the zspage's: `private` is cleared on the old page of a
        // move, but check the page table too, it is the authority.
        // Mutation for the seed-003 test: trust a zspage found without checking it is live.
        #[cfg(zs_mutate_no_liveness_check)]
        let life = if life == Life::Dead { Life::Listed } else { life };
        match (life, zspage.page_index(page)) {
            (Life::Listed, Some(index)) => Owner::Listed(index),
            (Life::New, Some(_)) => Owner::NotYet,
            _ => Owner::Dead,
        }
    }

    /// Moves page `src` of `zspage` to `dst`: copies it, links `dst` to the zspage and the
    /// migration core, and puts it in the zspage's page table in place of `src`.
    ///
    /// # Safety
    ///
    /// The migration core holds both pages' locks and has isolated `src`; `dst` is a fresh
    /// page it allocated.
    unsafe fn migrate(&self, zspage: &Zspage, dst: NonNull<bindings::page>, src: *mut bindings::page) -> i32 {
        let inner = self.inner.lock();
        let index = match Self::owner_of(zspage, src, &inner) {
            Owner::Listed(index) => index,
            Owner::NotYet => return EAGAIN.to_errno(),
            Owner::Dead => {
                // SAFETY: the core holds `src`'s lock, and the zspage no longer uses it.
                unsafe { release_dead_page(src) };
                return EAGAIN.to_errno();
            }
        };
        // Seed 004: a writer only tries. A reader has an object mapped: come back later.
        let Some(_write) = sys::writer_try_lock(&zspage.lock) else { return EAGAIN.to_errno() };
        // SAFETY: `dst` is a fresh page owned by the core; taking our own reference on it
        // makes it this zspage's page once it is in the page table below.
        let new = unsafe { ZsPage::adopt(dst) };
        // SAFETY: the pool lock and the write lock are held: nobody reads or writes the
        // zspage's bytes; both pages are whole, distinct pages.
        unsafe {
            core::ptr::copy_nonoverlapping(
                sys::page_address(src),
                new.address(),
                crate::logic::size_class::PAGE_SIZE,
            )
        };
        new.set_zspage(core::ptr::from_ref(zspage).cast());
        // SAFETY: the core holds `dst`'s lock, as `__SetPageMovable` requires; the ops live
        // until module exit, which waits for every link to be dropped.
        unsafe { sys::__SetPageMovable(dst.as_ptr(), &MOVABLE_OPS) };
        MOVABLE_PAGES.fetch_add(1, Ordering::Relaxed);
        // SAFETY: pool lock and write lock held.
        let old = unsafe { zspage.replace_page(index, new) };
        if let Some(old) = old {
            old.set_zspage(core::ptr::null());
            // SAFETY: the core holds `src`'s lock; the zspage no longer uses `src`.
            unsafe { release_dead_page(old.as_ptr()) };
            // Dropping `old` puts our reference; the core still holds its own and frees
            // the page when it is done with it.
        }
        self.pages_migrated.fetch_add(1, Ordering::Relaxed);
        MIGRATEPAGE_SUCCESS
    }
}

/// Runs `f` on the pool and zspage behind `page`, inside an RCU read-side section; `None`
/// when the page is not linked to a zspage any more.
///
/// # Safety
///
/// `page` is a page the migration core passed to one of `MOVABLE_OPS`.
unsafe fn with_owner<R>(page: *mut bindings::page, f: impl FnOnce(&Pool, &Zspage) -> R) -> Option<R> {
    let _rcu = RcuReadGuard::new();
    // SAFETY: a page of ours (caller); its `private` is null or a zspage.
    let zspage = unsafe { sys::page_zspage(page) }.cast::<Zspage>();
    if zspage.is_null() {
        return None;
    }
    #[cfg(zs_kunit)]
    sys::hooks::run(sys::hooks::Point::AfterPageLookup);
    // SAFETY: a zspage named by a page's `private` inside this RCU section is not freed
    // before the section ends (it is retired through RCU after `private` is cleared).
    let zspage = unsafe { &*zspage };
    // SAFETY: the pool outlives its zspages' retirement grace periods: destroy ends with
    // `rcu_barrier`, after unlinking every page.
    let pool = unsafe { &*zspage.pool().cast::<Pool>() };
    Some(f(pool, zspage))
}

pub(crate) unsafe extern "C" fn isolate_page(page: *mut bindings::page, _mode: sys::isolate_mode_t) -> bool {
    // SAFETY: called by the migration core with one of our pages, locked.
    let verdict = unsafe {
        with_owner(page, |pool, zspage| {
            let inner = pool.inner.lock();
            Pool::owner_of(zspage, page, &inner)
        })
    };
    match verdict {
        Some(Owner::Listed(_)) => true,
        Some(Owner::NotYet) => false,
        Some(Owner::Dead) | None => {
            // SAFETY: the core holds the page lock; no zspage uses the page any more.
            unsafe { release_dead_page(page) };
            false
        }
    }
}

pub(crate) unsafe extern "C" fn migrate_page(dst: *mut bindings::page, src: *mut bindings::page, _mode: sys::migrate_mode) -> i32 {
    let Some(dst) = NonNull::new(dst) else { return EINVAL.to_errno() };
    // SAFETY: called by the migration core with both pages locked and `src` isolated.
    let rc = unsafe { with_owner(src, |pool, zspage| pool.migrate(zspage, dst, src)) };
    rc.unwrap_or_else(|| {
        // SAFETY: the core holds `src`'s lock; no zspage uses it.
        unsafe { release_dead_page(src) };
        EAGAIN.to_errno()
    })
}

pub(crate) unsafe extern "C" fn putback_page(page: *mut bindings::page) {
    // SAFETY: called by the migration core with one of our pages, locked.
    let verdict = unsafe {
        with_owner(page, |pool, zspage| {
            let inner = pool.inner.lock();
            Pool::owner_of(zspage, page, &inner)
        })
    };
    if matches!(verdict, Some(Owner::Dead) | None) {
        // SAFETY: the core holds the page lock; no zspage uses the page any more.
        unsafe { release_dead_page(page) };
    }
}
