// SPDX-License-Identifier: GPL-2.0

//! Exhaustive checks of rust_zsmalloc's lock protocols with loom (host only, `--cfg loom`):
//! every interleaving of the modelled threads and every outcome the C++/Rust memory model
//! allows their atomics, up to loom's bounds (`LOOM_MAX_PREEMPTIONS`; unbounded if unset).
//!
//! - [`zspage_lock`]: seed 004's rules, on the real [`ZspageLock`](super::zspage_lock) (its
//!   atomics come from `super::sync`, loom's here): writers only try, readers never block
//!   readers, and each hold's acquire/release hands the protected bytes on.
//! - [`repoint`]: compaction moving an object and repointing its handle slot
//!   (`compaction.rs` `compact_once`, `handle.rs` `HandleSlot`) against the handle's owner
//!   mapping it (`pool.rs` `read_lock_object`: lookup, read-lock, re-check) and freeing it
//!   (`Pool::free`: lockless lookup of the class, class lock, re-read).
//! - [`retire`]: a zspage's retirement (`ClassLists::kill`, `DeadZspage::retire`) against a
//!   migration callback's lockless page → zspage lookup (`migrate.rs` `with_owner`,
//!   `classify`), with the RCU grace period modelled by a reader count.
//!
//! The zspage lock is the module's own code; the slot, the class lock and the page links
//! are modelled with the same atomics and orderings as the module's (the models name the
//! code they mirror). Each model's mutants (`--cfg zs_loom_mutant="<name>"`, listed below)
//! weaken one ordering or drop one check; `scripts/loom.sh` (run by `scripts/test.sh`)
//! builds each and counts it only if loom fails the model.

mod repoint;
mod retire;
mod zspage_lock;

use loom::sync::atomic::{AtomicUsize, Ordering};

// Every loom mutant and the model test it must fail (scripts/loom.sh reads these lines, and
// fails unless they name exactly the `zs_loom_mutant` values the sources use):
//   mutant: lock_read_acquire_relaxed zspage_lock::holds_hand_on_the_bytes
//   mutant: lock_read_release_relaxed zspage_lock::holds_hand_on_the_bytes
//   mutant: lock_write_acquire_relaxed zspage_lock::holds_hand_on_the_bytes
//   mutant: lock_write_release_relaxed zspage_lock::holds_hand_on_the_bytes
//   mutant: lock_reader_gives_up zspage_lock::readers_never_block_readers
//   mutant: lock_writer_waits zspage_lock::writers_only_try
//   mutant: repoint_store_relaxed repoint::move_against_map_and_free
//   mutant: repoint_no_recheck repoint::move_against_map_and_free
//   mutant: repoint_after_unlock repoint::move_against_map_and_free
//   mutant: retire_publish_relaxed retire::retire_against_page_lookup
//   mutant: retire_no_grace_period retire::retire_against_page_lookup
//   mutant: retire_no_liveness_check retire::retire_against_page_lookup
//   mutant: retire_keep_page_link retire::retire_against_page_lookup

/// Bytes that only a lock or a happens-before edge may hand from one thread to another:
/// loom fails the model on any two accesses that are not ordered so (one of them a write).
pub(super) struct Bytes(loom::cell::UnsafeCell<u64>);

impl Bytes {
    pub(super) fn new(value: u64) -> Self {
        Bytes(loom::cell::UnsafeCell::new(value))
    }

    #[track_caller]
    pub(super) fn read(&self) -> u64 {
        // SAFETY: loom checks this access against every other access of the cell, and fails
        // the model before the closure runs if they race; so the read is of a value no
        // other thread is writing.
        self.0.with(|value| unsafe { *value })
    }

    #[track_caller]
    pub(super) fn write(&self, value: u64) {
        // SAFETY: as in `read`: loom fails the model before the closure runs if another
        // thread's access of the cell is not ordered with this one.
        self.0.with_mut(|slot| unsafe { *slot = value })
    }
}

/// RCU as the module relies on it, modelled by a count of readers: a read-side section
/// that began before `synchronize` returns ends before it returns, and one that begins after
/// it sees everything written before it. (Kernel RCU gives exactly these two guarantees; the
/// model also makes `synchronize` wait for sections that begin meanwhile, which only
/// strengthens it in a way the protocols do not use: no reader here waits for a grace
/// period.) Every access is a read-modify-write of one location, so each reads the latest
/// count: the orderings below are enough, and loom need not model `SeqCst`.
pub(super) struct Rcu {
    readers: AtomicUsize,
}

impl Rcu {
    pub(super) fn new() -> Self {
        Rcu {
            readers: AtomicUsize::new(0),
        }
    }

    /// `rcu_read_lock`: acquires, so a section after a grace period sees what preceded it.
    pub(super) fn read_lock(&self) {
        self.readers.fetch_add(1, Ordering::Acquire);
    }

    /// `rcu_read_unlock`: releases, so what the section read precedes what follows the
    /// grace period.
    pub(super) fn read_unlock(&self) {
        self.readers.fetch_sub(1, Ordering::Release);
    }

    /// A grace period (`call_rcu`'s wait, `synchronize_rcu`).
    pub(super) fn synchronize(&self) {
        while self.readers.fetch_add(0, Ordering::AcqRel) != 0 {
            loom::thread::yield_now();
        }
    }
}

/// Runs `model` under loom with the bounds from the environment (`LOOM_MAX_PREEMPTIONS`,
/// `LOOM_MAX_BRANCHES`, ...; unbounded preemptions if unset), and prints how many executions
/// it explored (`scripts/loom.sh` reports them).
pub(super) fn check(test: &str, model: impl Fn() + Sync + Send + 'static) {
    // Plain std atomics: loom does not see them, so they count its executions.
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = executions.clone();
    let started = std::time::Instant::now();
    loom::model::Builder::new().check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        model();
    });
    println!(
        "loom-explored {test} {} executions in {:.2?}",
        executions.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed()
    );
}
