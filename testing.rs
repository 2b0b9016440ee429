// SPDX-License-Identifier: GPL-2.0

//! Test hooks and mutation switches, in one place and out of the way of production code.
//!
//! Compiled into every module; live only in the KUnit module (`--cfg zs_kunit`), where the
//! hooks run the other side of a race at its exact point and fault injection fails chosen
//! allocations. Elsewhere every function here is an empty inline the optimiser removes.
//!
//! Mutations (`ZS_MUTATE=<guard>`, Kbuild `--cfg zs_mutate_<guard>`, never in CI) remove one
//! race guard so that its test must fail (tests/README.md); production code reads them as
//! constants in plain `if`s.

/// Free a retired zspage's metadata at once instead of after an RCU grace period (seeds 000,
/// 003; its pages are freed at once in any case).
pub(crate) const MUTATE_NO_GRACE_PERIOD: bool = cfg!(zs_mutate_no_grace_period);
/// Leave a dead zspage reachable from its pages (seed 000).
pub(crate) const MUTATE_KEEP_PAGE_LINK: bool = cfg!(zs_mutate_keep_page_link);
/// Trust a zspage found from a page without checking it is still live (seed 003): neither
/// its life nor its page chain, which a dead zspage keeps under this mutation (its pages
/// freed with the metadata, after the grace period) so that the page is found there.
pub(crate) const MUTATE_NO_LIVENESS_CHECK: bool = cfg!(zs_mutate_no_liveness_check);
/// Repoint moved handles after the zspage locks are dropped (seed 001).
pub(crate) const MUTATE_REPOINT_AFTER_UNLOCK: bool = cfg!(zs_mutate_repoint_after_unlock);
/// A zspage writer that waits for readers instead of backing off (seed 004).
pub(crate) const MUTATE_BLOCKING_WRITER: bool = cfg!(zs_mutate_blocking_writer);
/// Take an emptied zspage off its lists only after the pool lock was dropped (seed 002).
pub(crate) const MUTATE_KILL_AFTER_UNLOCK: bool = cfg!(zs_mutate_kill_after_unlock);
/// Put a dead zspage's page whose lock was busy at free time, leaving its link to the
/// migration core's next callback, which 6.12 does not promise (the rmmod hang).
pub(crate) const MUTATE_PUT_BUSY_PAGE: bool = cfg!(zs_mutate_put_busy_page);
/// Free the object at the location read before the class lock, not re-read under it (free
/// racing compaction's move of the same object).
pub(crate) const MUTATE_FREE_STALE_LOCATION: bool = cfg!(zs_mutate_free_stale_location);
/// Map the object where the slot named it before the zspage read lock was taken, without
/// re-checking the slot under the lock (seed 001, the reader's side).
pub(crate) const MUTATE_MAP_NO_RECHECK: bool = cfg!(zs_mutate_map_no_recheck);
/// Free a destroyed pool without waiting for the callbacks that may still be using it
/// (`zs_destroy_pool` vs in-flight migration).
pub(crate) const MUTATE_DESTROY_NO_BARRIER: bool = cfg!(zs_mutate_destroy_no_barrier);
/// A mapping's length from the class size alone, forgetting the header that the slot starts
/// with (the span/length race: one length for the place, another for the copy).
pub(crate) const MUTATE_LEN_FROM_CLASS_SIZE: bool = cfg!(zs_mutate_len_from_class_size);
/// Map an object that crosses a page boundary of a contiguous zspage in place without
/// checking that its two pages are still neighbours (migration may have replaced one).
pub(crate) const MUTATE_IN_PLACE_UNCHECKED: bool = cfg!(zs_mutate_in_place_unchecked);

/// Fault injection and the live page count.
pub(crate) mod fault {
    use core::sync::atomic::{AtomicIsize, Ordering};

    /// Allocations (pages and slab objects) left to succeed before one fails; -1 = never.
    pub(crate) static SUCCEED_BEFORE_FAILURE: AtomicIsize = AtomicIsize::new(-1);
    /// Zspage pages currently allocated by this module (KUnit module only).
    pub(crate) static LIVE_PAGES: AtomicIsize = AtomicIsize::new(0);

    /// Whether the allocation about to happen must fail: counts down, fails once at 0, and
    /// then stays off (-1).
    #[inline(always)]
    pub(crate) fn should_fail() -> bool {
        if !cfg!(zs_kunit) {
            return false;
        }
        let next = |left: isize| match left {
            1.. => Some(left - 1),
            0 => Some(-1),
            _ => None,
        };
        SUCCEED_BEFORE_FAILURE.fetch_update(Ordering::AcqRel, Ordering::Acquire, next) == Ok(0)
    }

    #[inline(always)]
    pub(crate) fn page_allocated() {
        if cfg!(zs_kunit) {
            LIVE_PAGES.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[inline(always)]
    pub(crate) fn page_freed() {
        if cfg!(zs_kunit) {
            LIVE_PAGES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Hooks at the points where the seed races interleave: a case installs one and drives the
/// other side of the race from it, deterministically.
pub(crate) mod hooks {
    /// Where a hook runs.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[expect(
        clippy::enum_variant_names,
        reason = "each point is after a step of a race"
    )]
    pub(crate) enum Point {
        /// A movable_ops callback found a zspage behind a page (inside its RCU section),
        /// before it used it.
        AfterPageLookup,
        /// Compaction moved objects and released the zspage locks; the raw handle is the
        /// last object it moved. Runs under the pool lock.
        AfterCompactionMove(usize),
        /// A compaction round ended and dropped the pool lock.
        AfterCompactionRound,
        /// Compaction copied the object of this raw handle to its new place and has not
        /// repointed the handle yet. Runs under the class lock, both zspages write-locked.
        AfterObjectCopy(usize),
        /// `free` of this raw handle read its slot (inside its RCU section) and has not
        /// taken the class lock yet.
        AfterFreeLookup(usize),
        /// `map` of this raw handle found the object's zspage from the slot (inside its
        /// RCU section) and has not taken the zspage's read lock yet.
        AfterMapLookup(usize),
        /// Pool destroy retired every zspage and has not waited for their grace periods.
        AfterDestroyRetire,
    }

    /// Runs the KUnit module's hook for `point`, if one is installed (`kunit_hooks` in
    /// `tests/kunit.rs`); nothing in production.
    #[inline(always)]
    pub(crate) fn run(point: Point) {
        #[cfg(zs_kunit)]
        crate::kunit_hooks::run(point);
        let _ = point;
    }
}
