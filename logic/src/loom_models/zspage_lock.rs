// SPDX-License-Identifier: GPL-2.0

//! Seed 004's rules, checked on the real `ZspageLock` (`logic/src/zspage_lock.rs`), whose
//! atomics are loom's in this build.

use super::{check, Bytes};
use crate::zspage_lock::ZspageLock;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

/// A zspage as the lock sees it: the lock and the bytes it guards.
struct Guarded {
    lock: ZspageLock,
    bytes: Bytes,
}

fn guarded() -> Arc<Guarded> {
    Arc::new(Guarded {
        lock: ZspageLock::new(),
        bytes: Bytes::new(0),
    })
}

/// A writer (compaction or migration: `try_write`, back off on failure) that changes the
/// bytes, against a mapper that waits (`read`) and one that only tries (`try_read`): no two
/// of them touch the bytes unordered, in either order of holds. Catches each weakened
/// acquire or release of the lock (`lock_{read,write}_{acquire,release}_relaxed`).
#[test]
fn holds_hand_on_the_bytes() {
    check("zspage_lock::holds_hand_on_the_bytes", || {
        let zspage = guarded();
        let writer = {
            let zspage = zspage.clone();
            thread::spawn(move || {
                if let Some(_write) = zspage.lock.try_write() {
                    zspage.bytes.write(zspage.bytes.read() + 1);
                }
            })
        };
        let trying_reader = {
            let zspage = zspage.clone();
            thread::spawn(move || {
                if let Some(_read) = zspage.lock.try_read() {
                    assert!(zspage.bytes.read() <= 1);
                }
            })
        };
        {
            let _read = zspage.lock.read();
            assert!(zspage.bytes.read() <= 1);
        }
        writer.join().unwrap();
        trying_reader.join().unwrap();
        assert_eq!(zspage.lock.readers(), 0);
        assert!(!zspage.lock.is_write_locked());
    });
}

/// Two mappers racing for the lock, with no writer: both get it (a reader never waits for,
/// or fails because of, another reader). Catches `lock_reader_gives_up`.
#[test]
fn readers_never_block_readers() {
    check("zspage_lock::readers_never_block_readers", || {
        let zspage = guarded();
        let other = {
            let zspage = zspage.clone();
            thread::spawn(move || {
                let read = zspage.lock.try_read();
                assert!(read.is_some(), "a reader failed because of another reader");
            })
        };
        let read = zspage.lock.try_read();
        assert!(read.is_some(), "a reader failed because of another reader");
        drop(read);
        other.join().unwrap();
        assert_eq!(zspage.lock.readers(), 0);
    });
}

/// A mapper that keeps its hold until a writer has tried (a reader may hold the lock for
/// as long as it likes, e.g. while it sleeps): the writer must give up, not wait, or neither
/// ever finishes. Catches `lock_writer_waits` (seed 004's `blocking_writer`) as a
/// livelock: loom's branch bound ends it.
#[test]
fn writers_only_try() {
    check("zspage_lock::writers_only_try", || {
        let zspage = guarded();
        let tried = Arc::new(AtomicBool::new(false));
        let writer = {
            let (zspage, tried) = (zspage.clone(), tried.clone());
            thread::spawn(move || {
                let write = zspage.lock.try_write();
                tried.store(true, Ordering::Release);
                drop(write);
            })
        };
        let read = zspage.lock.read();
        while !tried.load(Ordering::Acquire) {
            thread::yield_now();
        }
        drop(read);
        writer.join().unwrap();
        assert!(!zspage.lock.is_write_locked());
    });
}
