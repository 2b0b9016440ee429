// SPDX-License-Identifier: GPL-2.0

//! The per-zspage lock that keeps a zspage's pages in place while an object
//! in it is mapped.
//!
//! Rules (this is the specification):
//!
//! - Readers are mappers. A reader may sleep while holding the lock, and a
//!   hold may span two separate calls (map, then unmap). A reader never waits
//!   for another reader. [`ZspageLock::read`] waits only while a writer holds
//!   the lock, by spinning: writers hold it briefly and with preemption off.
//! - Writers are migration and compaction. A writer never sleeps and never
//!   waits: it only calls [`ZspageLock::try_write`] and backs off on failure
//!   (skips the zspage, or retries later), since it runs under spinlocks and
//!   a reader may hold the lock for a long time.
//! - Acquiring has acquire ordering and releasing has release ordering, so
//!   whatever one holder wrote is visible to the next.
//!
//! The state is a single `AtomicI32`: `n >= 0` readers, or [`WRITE_LOCKED`].
//!
//! The host's loom run checks these rules on this very code (`loom_models::zspage_lock`),
//! every interleaving and weak-memory outcome within its bounds; each `zs_loom_mutant`
//! named below breaks one rule or ordering there, and loom must catch it.

use super::sync::{spin_loop, AtomicI32, Ordering};

const UNLOCKED: i32 = 0;

/// Taking a read hold acquires (loom mutant `lock_read_acquire_relaxed`).
const READ_ACQUIRE: Ordering = if cfg!(zs_loom_mutant = "lock_read_acquire_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Acquire
};
/// Ending a read hold releases (loom mutant `lock_read_release_relaxed`).
const READ_RELEASE: Ordering = if cfg!(zs_loom_mutant = "lock_read_release_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Release
};
/// Taking the write hold acquires (loom mutant `lock_write_acquire_relaxed`).
const WRITE_ACQUIRE: Ordering = if cfg!(zs_loom_mutant = "lock_write_acquire_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Acquire
};
/// Ending the write hold releases (loom mutant `lock_write_release_relaxed`).
const WRITE_RELEASE: Ordering = if cfg!(zs_loom_mutant = "lock_write_release_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Release
};
/// Lock state while a writer holds the lock.
pub const WRITE_LOCKED: i32 = -1;

/// Reader/writer lock of one zspage.
#[derive(Debug)]
pub struct ZspageLock {
    state: AtomicI32,
}

impl ZspageLock {
    /// An unlocked lock.
    #[cfg(not(all(test, loom)))]
    pub const fn new() -> Self {
        Self {
            state: AtomicI32::new(UNLOCKED),
        }
    }

    /// An unlocked lock (loom's atomics have no `const` constructor).
    #[cfg(all(test, loom))]
    pub fn new() -> Self {
        Self {
            state: AtomicI32::new(UNLOCKED),
        }
    }

    /// Takes a read hold unless a writer holds the lock. Other readers, even
    /// racing ones, never make this fail.
    pub fn try_read(&self) -> Option<ReadGuard<'_>> {
        let mut cur = self.state.load(Ordering::Relaxed);
        while cur != WRITE_LOCKED {
            debug_assert!(
                (0..i32::MAX).contains(&cur),
                "zspage lock: bad reader count {cur}"
            );
            match self
                .state
                .compare_exchange_weak(cur, cur + 1, READ_ACQUIRE, Ordering::Relaxed)
            {
                Ok(_) => return Some(ReadGuard { lock: self }),
                // Loom mutant `lock_reader_gives_up`: a racing reader makes this fail.
                Err(_) if cfg!(zs_loom_mutant = "lock_reader_gives_up") => return None,
                Err(now) => cur = now,
            }
        }
        None
    }

    /// Takes a read hold, spinning while a writer holds the lock.
    pub fn read(&self) -> ReadGuard<'_> {
        loop {
            if let Some(guard) = self.try_read() {
                return guard;
            }
            while self.state.load(Ordering::Relaxed) == WRITE_LOCKED {
                spin_loop();
            }
        }
    }

    /// Takes the write hold if nobody holds the lock; never waits.
    pub fn try_write(&self) -> Option<WriteGuard<'_>> {
        // Strong exchange: fail only on real contention, not spuriously.
        let take = || {
            self.state
                .compare_exchange(UNLOCKED, WRITE_LOCKED, WRITE_ACQUIRE, Ordering::Relaxed)
        };
        let mut taken = take();
        // Loom mutant `lock_writer_waits`: a writer that waits for the readers to leave
        // (seed 004's `blocking_writer`); a reader that waits for that writer never gets out.
        while cfg!(zs_loom_mutant = "lock_writer_waits") && taken.is_err() {
            spin_loop();
            taken = take();
        }
        taken.ok().map(|_| WriteGuard { lock: self })
    }

    /// A guard for a read hold that its owner gave up with [`ReadGuard::leak`]
    /// (for holds that outlive one call, such as a mapping made by one C call
    /// and ended by another). Releases it on drop.
    ///
    /// # Safety
    ///
    /// The caller owns a read hold of this lock, leaked from a guard and not
    /// adopted since, and gives it to the guard: a hold released twice would
    /// let a writer in while its reader still reads.
    #[allow(unsafe_code, reason = "a contract only: see the crate root")]
    pub unsafe fn adopt_read(&self) -> ReadGuard<'_> {
        ReadGuard { lock: self }
    }

    /// Whether a writer holds the lock.
    pub fn is_write_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) == WRITE_LOCKED
    }

    /// Number of read holds (0 while a writer holds the lock).
    pub fn readers(&self) -> u32 {
        u32::try_from(self.state.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

impl Default for ZspageLock {
    fn default() -> Self {
        Self::new()
    }
}

/// A read hold; released on drop.
#[must_use = "dropping the guard releases the lock at once"]
#[derive(Debug)]
pub struct ReadGuard<'a> {
    lock: &'a ZspageLock,
}

impl ReadGuard<'_> {
    /// Gives up the guard without releasing its hold, which stays taken until
    /// a guard adopts it ([`ZspageLock::adopt_read`]) and drops.
    pub fn leak(self) {
        core::mem::forget(self);
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        // The guard owns one read hold (made only by `try_read` or `adopt_read`).
        let prev = self.lock.state.fetch_sub(1, READ_RELEASE);
        debug_assert!(
            prev > 0,
            "zspage lock: read release without a reader ({prev})"
        );
    }
}

/// The write hold; released on drop.
#[must_use = "dropping the guard releases the lock at once"]
#[derive(Debug)]
pub struct WriteGuard<'a> {
    lock: &'a ZspageLock,
}

impl WriteGuard<'_> {
    /// Whether this guard holds `lock` (a proof check for code that needs the write lock
    /// of one particular zspage).
    pub fn locks(&self, lock: &ZspageLock) -> bool {
        core::ptr::eq(self.lock, lock)
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let prev = self.lock.state.swap(UNLOCKED, WRITE_RELEASE);
        debug_assert_eq!(prev, WRITE_LOCKED);
    }
}

// Real threads: without loom only (loom's atomics work only inside a loom model).
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
    use std::sync::Barrier;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn readers_share() {
        let lock = ZspageLock::new();
        let a = lock.read();
        let b = lock.try_read().unwrap();
        assert_eq!(lock.readers(), 2);
        assert!(lock.try_write().is_none());
        drop((a, b));
        assert_eq!(lock.readers(), 0);
        let w = lock.try_write().unwrap();
        assert!(lock.is_write_locked());
        assert_eq!(lock.readers(), 0);
        assert!(lock.try_read().is_none());
        assert!(lock.try_write().is_none());
        drop(w);
        assert!(!lock.is_write_locked());
    }

    #[test]
    #[allow(unsafe_code, reason = "tests the contract of `adopt_read`")]
    fn leak_adopt_pair() {
        let lock = ZspageLock::new();
        lock.read().leak();
        lock.read().leak();
        assert_eq!(lock.readers(), 2);
        assert!(lock.try_write().is_none());
        // SAFETY: the two holds leaked just above, each adopted once.
        drop(unsafe { (lock.adopt_read(), lock.adopt_read()) });
        assert!(lock.try_write().is_some());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "read release without a reader")]
    #[allow(unsafe_code, reason = "breaks the contract of `adopt_read` on purpose")]
    fn release_underflow_is_caught() {
        let lock = ZspageLock::new();
        // SAFETY: not sound (no hold was leaked): the debug assertion under test catches it.
        drop(unsafe { lock.adopt_read() });
    }

    #[test]
    fn many_concurrent_readers() {
        const N: usize = 8;
        let lock = ZspageLock::new();
        let all_in = Barrier::new(N + 1);
        let checked = Barrier::new(N + 1);
        thread::scope(|s| {
            for _ in 0..N {
                s.spawn(|| {
                    let _g = lock.read();
                    all_in.wait();
                    checked.wait();
                });
            }
            // Every reader holds the lock at once: none waited for another.
            all_in.wait();
            assert_eq!(lock.readers(), N as u32);
            assert!(lock.try_write().is_none());
            checked.wait();
        });
        assert_eq!(lock.readers(), 0);
    }

    #[test]
    fn reader_waits_for_writer() {
        let lock = ZspageLock::new();
        let got = AtomicBool::new(false);
        let w = lock.try_write().unwrap();
        thread::scope(|s| {
            s.spawn(|| {
                let _g = lock.read();
                got.store(true, Ordering::Relaxed);
            });
            thread::sleep(Duration::from_millis(50));
            assert!(!got.load(Ordering::Relaxed));
            drop(w);
        });
        assert!(got.load(Ordering::Relaxed));
    }

    #[test]
    fn stress() {
        const WRITERS: usize = 2;
        const READERS: usize = 3;
        const WRITES: u64 = 20_000;
        let lock = ZspageLock::new();
        // Two halves of one value, kept equal under the write lock with
        // plain load/store pairs: overlapping writers lose updates and a
        // reader inside a write sees them differ.
        let (a, b) = (AtomicU64::new(0), AtomicU64::new(0));
        let writers_done = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..WRITERS {
                s.spawn(|| {
                    let mut done = 0;
                    while done < WRITES {
                        let Some(_g) = lock.try_write() else {
                            spin_loop();
                            continue;
                        };
                        a.store(a.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                        b.store(b.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                        done += 1;
                    }
                    writers_done.fetch_add(1, Ordering::Relaxed);
                });
            }
            for r in 0..READERS {
                let (lock, a, b, writers_done) = (&lock, &a, &b, &writers_done);
                s.spawn(move || {
                    while writers_done.load(Ordering::Relaxed) < WRITERS {
                        let guard = if r == 0 {
                            lock.try_read()
                        } else {
                            Some(lock.read())
                        };
                        if guard.is_some() {
                            assert_eq!(a.load(Ordering::Relaxed), b.load(Ordering::Relaxed));
                        }
                        drop(guard);
                        // Leave gaps: back-to-back readers would starve try_write.
                        thread::yield_now();
                    }
                });
            }
        });
        assert_eq!(a.load(Ordering::Relaxed), WRITERS as u64 * WRITES);
        assert_eq!(b.load(Ordering::Relaxed), WRITERS as u64 * WRITES);
        assert_eq!(lock.readers(), 0);
        assert!(!lock.is_write_locked());
    }
}
