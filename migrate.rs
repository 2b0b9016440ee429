// SPDX-License-Identifier: GPL-2.0

//! Movable zspage pages: the `movable_operations` through which compaction, memory
//! offlining and other migration move zspage pages, and the pool side of a page move.
//!
//! A callback starts from a page: its `private` names the zspage (set before the page was
//! registered, cleared when the zspage dies), looked up inside an RCU read-side section, so
//! the zspage's metadata (retired through RCU) and its pool (destroyed only after
//! `rcu_barrier`) stay valid while it is used. Under the class lock the callback checks that
//! the zspage is still listed (seed 003: lookup, lock, then check liveness), and only then
//! looks for its page in the zspage's page chain: a dead zspage's pages were taken out at
//! `kill` and freed without waiting for the grace period (`allocator.rs` says why that is
//! safe). A page move takes the zspage's write lock with `try_write` only and backs off with
//! `-EAGAIN` when a reader has the zspage mapped (seed 004). Handles name zspages, not pages,
//! so a move never rewrites a handle (seed 001's race has nothing to race on): it replaces
//! one entry of the zspage's page chain, under both locks, after the page is copied.
//!
//! Dead zspages' pages: the free path does not wait for page locks (seed 000). It drops a
//! page's link to these operations only if the page lock is free; otherwise the page keeps
//! its link (and the module's reference) until the module's work drops it under `lock_page`
//! (`allocator.rs`), unless a callback of the core, finding no zspage, drops it first under
//! the lock the core holds (`__ClearPageMovable` requires it). `MOVABLE_PAGES` counts the
//! links, and module exit waits for it to reach zero.

use crate::{
    allocator::MOVABLE_PAGES,
    compaction::try_write_zspage,
    pool::Pool,
    sys::{self, LockedPage, RcuReadGuard, ZsPage},
    testing::{self, hooks},
    zspage::{Life, Zspage},
};
use core::{ptr::NonNull, sync::atomic::Ordering};
use kernel::prelude::*;

/// This module's movable operations; every zspage page points at them while registered.
pub(crate) static MOVABLE_OPS: sys::movable_operations =
    sys::movable_operations_of::<ZspagePages>();

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

/// Drops the link of a page whose zspage is gone.
fn release_dead_page(page: &LockedPage<'_>) {
    if page.clear_movable() {
        MOVABLE_PAGES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where `page` stands, under the class lock.
fn owner_of(pool: &Pool, zspage: &Zspage, page: &LockedPage<'_>) -> Owner {
    let lists = pool.class(zspage.class()).lock();
    let held = zspage.held(&lists);
    classify(held.life(), || held.page_index(page.as_ptr()))
}

/// The verdict for a zspage in state `life` of which the page is page `index()`. The chain
/// is walked only for a live zspage: a dead one's pages were taken out and freed at `kill`
/// (its chain is empty).
fn classify(life: Life, index: impl FnOnce() -> Option<usize>) -> Owner {
    // The seed-003 mutation: trust a zspage found without checking it is live (the mutation
    // also leaves a dead zspage its pages, `Held::take_pages`, so the page is found there).
    let life = if testing::MUTATE_NO_LIVENESS_CHECK && life == Life::Dead {
        Life::Listed
    } else {
        life
    };
    // The page must still be the zspage's: `private` is cleared on the old page of a move,
    // but the page chain is the authority.
    match life {
        Life::Listed => index().map_or(Owner::Dead, Owner::Listed),
        Life::New => Owner::NotYet,
        Life::Dead => Owner::Dead,
    }
}

/// Runs `f` on the pool and zspage behind `page`, inside an RCU read-side section; `None`
/// when the page is not linked to a zspage any more.
fn with_owner<R>(page: &LockedPage<'_>, f: impl FnOnce(&Pool, &Zspage) -> R) -> Option<R> {
    let _rcu = RcuReadGuard::new();
    let zspage = page.owner().cast::<Zspage>();
    if zspage.is_null() {
        return None;
    }
    hooks::run(hooks::Point::AfterPageLookup);
    // SAFETY: a page of this module names a zspage or nothing (`ZsPage::set_owner`); a
    // zspage named inside this RCU section is not freed before it ends (it is retired
    // through RCU after the pages stop naming it).
    let zspage = unsafe { &*zspage };
    Some(f(zspage.pool(), zspage))
}

/// The verdict on `page` for isolation and putback: a dead zspage's page loses its link.
fn settle(page: &LockedPage<'_>) -> Owner {
    let verdict =
        with_owner(page, |pool, zspage| owner_of(pool, zspage, page)).unwrap_or(Owner::Dead);
    if matches!(verdict, Owner::Dead) {
        release_dead_page(page);
    }
    verdict
}

impl Pool {
    /// Moves page `src` of `zspage` to `dst`: copies it, links `dst` to the zspage and the
    /// migration core, and puts it in the zspage's page chain in place of `src`.
    fn migrate(&self, zspage: &Zspage, dst: &LockedPage<'_>, src: &LockedPage<'_>) -> i32 {
        let lists = self.class(zspage.class()).lock();
        let held = zspage.held(&lists);
        let index = match classify(held.life(), || held.page_index(src.as_ptr())) {
            Owner::Listed(index) => index,
            Owner::NotYet => return EAGAIN.to_errno(),
            Owner::Dead => {
                release_dead_page(src);
                return EAGAIN.to_errno();
            }
        };
        // Seed 004: a writer only tries. A reader has an object mapped: come back later.
        let Some(write) = try_write_zspage(zspage.lock()) else {
            return EAGAIN.to_errno();
        };
        // SAFETY: the class lock and the zspage's write lock are held: nobody writes the
        // zspage's bytes; the ops live until module exit, which waits for every link to be
        // dropped (`MOVABLE_PAGES`). The new page goes into the zspage's chain below, under
        // both locks, before any other path can reach it; a listed zspage unlinks its pages
        // when it dies (`unlink_pages`) and its metadata outlives them by a grace period.
        let new = unsafe {
            let new = ZsPage::adopt_copy(dst, src, &MOVABLE_OPS);
            new.set_owner(NonNull::from(zspage).cast());
            new
        };
        MOVABLE_PAGES.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = held.replace_page(&write, index, new) {
            old.clear_owner();
            release_dead_page(src);
            // Dropping `old` puts our reference; the core still holds its own and frees the
            // page when it is done with it.
        }
        self.pages_migrated.fetch_add(1, Ordering::Relaxed);
        MIGRATEPAGE_SUCCESS
    }
}

/// The zspage side of the migration core's callbacks.
pub(crate) struct ZspagePages;

impl sys::MovablePages for ZspagePages {
    fn isolate(page: &LockedPage<'_>) -> bool {
        matches!(settle(page), Owner::Listed(_))
    }

    fn migrate(dst: &LockedPage<'_>, src: &LockedPage<'_>) -> i32 {
        with_owner(src, |pool, zspage| pool.migrate(zspage, dst, src)).unwrap_or_else(|| {
            release_dead_page(src);
            EAGAIN.to_errno()
        })
    }

    fn putback(page: &LockedPage<'_>) {
        settle(page);
    }
}
