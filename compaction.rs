// SPDX-License-Identifier: GPL-2.0

//! Compaction: moves objects from the emptiest zspages of a class into the fullest and
//! retires the zspages it empties (`zs_compact`, and the pool's shrinker).
//!
//! It never sleeps and never waits for a reader: a zspage that is mapped is skipped (seed
//! 004's writer rule: writers only `try_write`). A moved object's handle is repointed in one
//! store after the bytes are copied, under the pool lock with both zspages write-locked
//! (seed 001), and the zspage it empties goes off its lists in the same critical section
//! (seed 002).

use crate::{
    allocator::DeadZspage,
    handle::slot_of_object,
    logic::{
        fullness::{compactable_pages, COMPACT_DST_ORDER, COMPACT_SRC_ORDER},
        zspage_lock::{WriteGuard, ZspageLock},
    },
    pool::{ClassLists, Pool},
    sys,
    testing::{self, hooks},
    zspage::ZspageLocation,
    CLASSES,
};
use core::sync::atomic::Ordering;
use kernel::{alloc::flags::GFP_ATOMIC, prelude::*};

/// A writer's only way to take a zspage lock (seed 004): writers run with preemption off
/// (under the pool spinlock), never sleep, and only try; the check is live in debug builds.
pub(crate) fn try_write_zspage(lock: &ZspageLock) -> Option<WriteGuard<'_>> {
    debug_assert!(!sys::preemptible(), "zspage writer outside atomic context");
    if testing::MUTATE_BLOCKING_WRITER {
        // The seed-004 mutation: a writer that waits for readers (forbidden).
        loop {
            if let Some(guard) = lock.try_write() {
                return Some(guard);
            }
            core::hint::spin_loop();
        }
    }
    lock.try_write()
}

/// What one compaction round did.
enum Round {
    /// Nothing to do in the class, or a zspage involved is in use by a reader.
    Stop,
    /// Objects moved; the source, taken off its lists, if the round emptied it.
    Moved(Option<DeadZspage>),
    /// The seed-002 mutation: the emptied source (its address) is killed only after the
    /// pool lock was dropped.
    KillLater(usize),
}

impl Pool {
    /// Compacts every class. Returns the pages freed.
    pub(crate) fn compact(&self) -> usize {
        // One compaction at a time: a second caller has nothing to add but contention.
        if core::mem::replace(&mut self.inner.lock().compacting, true) {
            return 0;
        }
        let mut freed = 0;
        for class in 0..CLASSES.nr_classes() {
            freed += self.compact_class(class);
            // zs_compact and the shrinker run in process context: let others in between
            // classes (the class lock is dropped between rounds, but not the CPU).
            sys::cond_resched();
        }
        self.pages_compacted.fetch_add(freed, Ordering::Relaxed);
        self.inner.lock().compacting = false;
        freed
    }

    /// Pages compaction could free now (the shrinker's count).
    pub(crate) fn compactable_pages(&self) -> usize {
        // Each class's lock in turn (no pool-wide lock); a count is a hint anyway.
        self.classes()
            .map(|class| {
                let lists = class.lock();
                compactable_pages(lists.spec(), lists.objs_allocated(), lists.objs_inuse())
            })
            .sum()
    }

    /// Compacts class `class`; returns the pages freed. Never sleeps (the KUnit hooks run it
    /// inside RCU read-side sections).
    pub(crate) fn compact_class(&self, class: usize) -> usize {
        let mut freed = 0;
        // Each round empties its source or fills its destination, so the number of zspages
        // bounds the rounds; the pool lock is dropped between rounds.
        loop {
            let round = compact_once(&self.class(class).lock());
            if matches!(round, Round::Stop) {
                break;
            }
            hooks::run(hooks::Point::AfterCompactionRound);
            let emptied = match round {
                Round::Stop => None,
                Round::Moved(emptied) => emptied,
                Round::KillLater(addr) => {
                    let lists = self.class(class).lock();
                    lists.find(addr).map(|zspage| lists.kill(zspage))
                }
            };
            if let Some(zspage) = emptied {
                freed += zspage.nr_pages();
                self.retire(zspage);
            }
        }
        freed
    }
}

/// One compaction round in `class`: moves objects from the emptiest zspage into the fullest
/// until the first is empty or the second full.
fn compact_once(lists: &ClassLists) -> Round {
    if compactable_pages(lists.spec(), lists.objs_allocated(), lists.objs_inuse()) == 0 {
        return Round::Stop;
    }
    let Some(src) = lists.first_in(&COMPACT_SRC_ORDER, None) else {
        return Round::Stop;
    };
    // The fullest zspage may be `src` itself when it is the only partly used one.
    let Some(dst) = lists.first_in(&COMPACT_DST_ORDER, Some(src.zspage())) else {
        return Round::Stop;
    };
    let Some(src_write) = try_write_zspage(src.lock()) else {
        return Round::Stop;
    };
    let Some(dst_write) = try_write_zspage(dst.lock()) else {
        return Round::Stop;
    };
    let mut last_moved = 0usize;
    // The seed-001 mutation: repoint handles after the locks are dropped.
    let mut deferred: KVec<(u32, ZspageLocation)> = KVec::new();
    let mut from = 0;
    while let Some((idx, header)) = src.next_allocated(from) {
        from = idx + 1;
        // The copy below writes the payload; `alloc_obj` wrote the header (the handle and
        // the length, as they were).
        let Some(dst_idx) = dst.alloc_obj(header) else {
            break;
        };
        src.copy_obj(&src_write, idx, dst, &dst_write, dst_idx);
        hooks::run(hooks::Point::AfterObjectCopy(header.handle()));
        let location = dst.location(dst_idx);
        // The bytes are in place: repoint the handle in one store. Its readers wait for
        // `src`'s write lock and then re-check the slot; its freer waits for the pool lock.
        if testing::MUTATE_REPOINT_AFTER_UNLOCK {
            let _ = deferred.push((dst_idx, location), GFP_ATOMIC);
        } else if let Some(slot) = slot_of_object(src, idx) {
            slot.store(location);
        }
        src.free_obj(idx);
        last_moved = header.handle();
    }
    drop(dst_write);
    drop(src_write);
    hooks::run(hooks::Point::AfterCompactionMove(last_moved));
    for &(dst_idx, location) in deferred.iter() {
        if let Some(slot) = slot_of_object(dst, dst_idx) {
            slot.store(location);
        }
    }
    let dst_full = dst.inuse() == dst.spec().objs_per_zspage;
    let src_empty = src.inuse() == 0;
    lists.regroup(dst);
    if src_empty {
        if testing::MUTATE_KILL_AFTER_UNLOCK {
            // The seed-002 mutation: the emptied source stays listed past this critical
            // section, so another path can take it, and is killed after the window.
            lists.regroup(src);
            return Round::KillLater(core::ptr::from_ref(src.zspage()) as usize);
        }
        return Round::Moved(Some(lists.kill(src)));
    }
    lists.regroup(src);
    debug_assert!(dst_full, "a round ended with room on both sides");
    Round::Moved(None)
}
