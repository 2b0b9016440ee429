// SPDX-License-Identifier: GPL-2.0

//! The KUnit suite `rust_zsmalloc` (module `zsmalloc_rs_kunit.ko`), built from the
//! allocator's own sources (with `--cfg zs_kunit`, which adds fault injection and a live page
//! count) so that the allocator module itself needs no KUnit.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::{c_str, prelude::*};

#[path = "../copybuf.rs"]
mod copybuf;
#[path = "../logic/src/lib.rs"]
#[allow(unused_attributes, dead_code, unreachable_pub, reason = "shared with the host crate")]
mod logic;
#[path = "../pool.rs"]
mod pool;
#[path = "../sys/mod.rs"]
#[allow(dead_code, reason = "the suite uses part of the bindings")]
mod sys;
#[path = "../zspage.rs"]
mod zspage;

mod kunit_support;

use copybuf::MapMode;
use kunit_support::{check, check_eq, kunit_suite, Test};
use logic::size_class::{HANDLE_SIZE, PAGE_SIZE};
use pool::{Allocator, AllocatorNames, Pool};
use sys::{fault, Gfp};

/// The size-class table, as in the allocator module.
pub(crate) static CLASSES: logic::size_class::ClassTable = logic::size_class::ClassTable::new();

module! {
    type: ZsmallocKunit,
    name: "zsmalloc_rs_kunit",
    author: "rust_zsmalloc developers",
    description: "KUnit tests for rust_zsmalloc",
    license: "GPL",
}

/// The allocator the cases' pools use; created by module init, which runs before KUnit
/// runs the suite (when the module goes live).
static ALLOCATOR: AtomicPtr<Allocator> = AtomicPtr::new(core::ptr::null_mut());

struct ZsmallocKunit {
    // Owned so that it lives until module exit; the cases reach it through `ALLOCATOR`.
    _alloc: Pin<KBox<Allocator>>,
}

impl kernel::Module for ZsmallocKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let alloc = Allocator::new(&AllocatorNames {
                zspage_cache: c_str!("rust_zsmalloc_kunit_zspage"),
                handle_cache: c_str!("rust_zsmalloc_kunit_handle"),
                hotplug: c_str!("mm/rust_zsmalloc_kunit:prepare"),
                debugfs: c_str!("rust_zsmalloc_kunit"),
            })?;
        ALLOCATOR.store(core::ptr::from_ref(&*alloc).cast_mut(), Ordering::Release);
        Ok(ZsmallocKunit { _alloc: alloc })
    }
}

impl Drop for ZsmallocKunit {
    fn drop(&mut self) {
        // Every case destroyed its pools; when `_alloc` drops next, its slab caches complain
        // (a splat the harness catches) if any object was left behind.
        ALLOCATOR.store(core::ptr::null_mut(), Ordering::Release);
    }
}

fn allocator() -> &'static Allocator {
    // SAFETY: set by init before any case runs, cleared only at module exit after the suite.
    unsafe { &*ALLOCATOR.load(Ordering::Acquire) }
}

fn new_pool() -> Pin<KBox<Pool>> {
    match Pool::new(allocator(), c_str!("kunit")) {
        Ok(pool) => pool,
        Err(e) => panic!("cannot create a test pool: {e:?}"),
    }
}

const GFP: Gfp = Gfp(kernel::bindings::GFP_KERNEL);

/// Pages of retired zspages go back one RCU grace period after retirement: wait for every
/// pending retirement, then count the module's live zspage pages.
fn settled_live_pages() -> isize {
    sys::rcu_barrier();
    fault::LIVE_PAGES.load(Ordering::Relaxed)
}

/// A deterministic byte pattern for object `n`.
fn pattern(n: usize, i: usize) -> u8 {
    (n.wrapping_mul(131) ^ i.wrapping_mul(7) ^ (i >> 8)) as u8
}

/// Requests of each size land in the class upstream's rules give, at the edges.
fn class_table_edges(test: &Test) {
    use logic::size_class::SizeError;
    check_eq!(test, CLASSES.lookup(0), Err(SizeError::Zero));
    check_eq!(test, CLASSES.lookup(PAGE_SIZE + 1), Err(SizeError::TooBig));
    // 1 byte + the 8-byte handle header: the smallest class, 32 bytes.
    let (class, stored) = CLASSES.lookup(1).unwrap_or((usize::MAX, 0));
    check_eq!(test, CLASSES.class(class).size, 32);
    check_eq!(test, stored, 1 + HANDLE_SIZE);
    // 24 + 8 = 32 still fits; 25 + 8 = 33 goes to the next slot's class.
    check_eq!(test, CLASSES.lookup(24).map(|(c, _)| CLASSES.class(c).size), Ok(32));
    check!(test, CLASSES.lookup(25).map(|(c, _)| CLASSES.class(c).size).unwrap_or(0) >= 48);
    // Requests of 32 and 33 bytes carry a header too: 40 and 41 bytes, both in a class of at
    // least 48, and never in the 32-byte class.
    for len in [32, 33] {
        let stored = CLASSES.lookup(len).map(|(c, stored)| (CLASSES.class(c).size as usize, stored));
        check!(test, stored.is_ok_and(|(size, stored)| size >= 48 && stored == len + HANDLE_SIZE && stored <= size));
    }
    let huge = CLASSES.huge_class_size();
    check!(test, huge > 32 && huge < PAGE_SIZE);
    let class_of = |len| CLASSES.lookup(len).map(|(c, _)| *CLASSES.class(c));
    check!(test, class_of(huge).map(|c| c.huge) == Ok(true));
    check!(test, class_of(huge - 1).map(|c| c.huge) == Ok(false));
    for len in [4095, PAGE_SIZE] {
        let spec = class_of(len);
        check!(test, spec.map(|c| c.huge && c.size as usize == PAGE_SIZE) == Ok(true));
        // A huge object has no header: it is stored as it is.
        check_eq!(test, CLASSES.lookup(len).map(|(_, stored)| stored), Ok(len));
    }
}

/// `malloc` returns upstream's errors and never a 0 or error-valued handle.
fn malloc_errors_and_handles(test: &Test) {
    let pool = new_pool();
    check_eq!(test, pool.malloc(0, GFP), Err(EINVAL));
    check_eq!(test, pool.malloc(PAGE_SIZE + 1, GFP), Err(ENOSPC));
    let handle = pool.malloc(100, GFP).unwrap_or(0);
    check!(test, handle != 0 && handle < usize::MAX - 4095);
    pool.free(handle);
    // Freeing 0 or an error value does nothing.
    pool.free(0);
    pool.free(ENOMEM.to_errno() as isize as usize);
    check_eq!(test, pool.total_pages(), 0);
}

/// Writes `count` objects of `len` bytes with `mode`, then checks every byte with RO and RW.
fn write_and_verify(test: &Test, pool: &Pool, len: usize, count: usize) -> bool {
    let mut handles = KVec::new();
    for n in 0..count {
        let Ok(handle) = pool.malloc(len, GFP) else {
            test.fail(file!(), line!(), "malloc failed");
            return false;
        };
        let mode = if n % 2 == 0 { MapMode::WriteOnly } else { MapMode::ReadWrite };
        pool.with_object(handle, mode, len, |bytes| {
            bytes.iter_mut().enumerate().for_each(|(i, b)| *b = pattern(n, i))
        });
        if handles.push(handle, GFP_KERNEL).is_err() {
            pool.free(handle);
            test.fail(file!(), line!(), "out of memory for the handle list");
            return false;
        }
    }
    let mut ok = true;
    for (n, &handle) in handles.iter().enumerate() {
        let mode = if n % 2 == 0 { MapMode::ReadOnly } else { MapMode::ReadWrite };
        let intact = pool.with_object(handle, mode, len, |bytes| {
            bytes.len() == len && bytes.iter().enumerate().all(|(i, &b)| b == pattern(n, i))
        });
        if !intact {
            pr_err!("object {} of {} bytes read back wrong (spans pages: {})\n", n, len, pool.spans_pages(handle));
            ok = false;
        }
    }
    for &handle in handles.iter() {
        pool.free(handle);
    }
    ok
}

/// Every byte written comes back, in every class size at the edges, spanning or not.
fn readback_byte_exact(test: &Test) {
    let pool = new_pool();
    let huge = CLASSES.huge_class_size();
    for len in [1, 24, 25, 100, 500, 1000, 1500, 2000, 3000, huge - 1, huge, 4095, PAGE_SIZE] {
        check!(test, write_and_verify(test, &pool, len, 64));
    }
    check_eq!(test, pool.total_pages(), 0);
}

/// For an object spanning two pages, WO does not copy in and RO does not copy back.
fn spanning_copy_rules(test: &Test) {
    let pool = new_pool();
    // 1500 + 8 bytes: a multi-page class whose objects cross page boundaries.
    let len = 1500;
    let mut handles = KVec::new();
    let mut spanning = None;
    while spanning.is_none() && handles.len() < 64 {
        let Ok(handle) = pool.malloc(len, GFP) else { break };
        if handles.push(handle, GFP_KERNEL).is_err() {
            pool.free(handle);
            break;
        }
        if pool.spans_pages(handle) {
            spanning = Some(handle);
        }
    }
    let Some(handle) = spanning else {
        handles.iter().for_each(|&h| pool.free(h));
        test.fail(file!(), line!(), "no spanning object among 64 of 1500 bytes");
        return;
    };
    // Stay on one CPU so every map below uses the same copy buffer.
    let pin = sys::CpuPin::new();
    pool.with_object(handle, MapMode::WriteOnly, len, |b| b.fill(0xb0));
    // RO: the copy is the object; scribbling on it must not reach the object.
    let saw_b = pool.with_object(handle, MapMode::ReadOnly, len, |b| {
        let saw = b.iter().all(|&x| x == 0xb0);
        b.fill(0xc0);
        saw
    });
    let still_b = pool.with_object(handle, MapMode::ReadWrite, len, |b| b.iter().all(|&x| x == 0xb0));
    // Leave 0xc0 in the buffer again, then WO must hand out the buffer as it is (no copy in).
    pool.with_object(handle, MapMode::ReadOnly, len, |b| b.fill(0xc0));
    let no_copy_in = pool.with_object(handle, MapMode::WriteOnly, len, |b| {
        let untouched = b.iter().all(|&x| x == 0xc0);
        b.fill(0xd0);
        untouched
    });
    let now_d = pool.with_object(handle, MapMode::ReadOnly, len, |b| b.iter().all(|&x| x == 0xd0));
    drop(pin);
    handles.iter().for_each(|&h| pool.free(h));
    check!(test, saw_b);
    check!(test, still_b);
    check!(test, no_copy_in);
    check!(test, now_d);
    check_eq!(test, pool.total_pages(), 0);
}

/// Each allocation a malloc makes (handle slot, zspage pages, metadata) can fail: the malloc
/// returns ENOMEM and leaves nothing behind.
fn alloc_failure_leaks_nothing(test: &Test) {
    let pool = new_pool();
    let pages_before = settled_live_pages();
    // 3000 bytes: a multi-page zspage, so failures hit the middle of the page loop too.
    let mut succeeded = None;
    for n in 0..16 {
        fault::SUCCEED_BEFORE_FAILURE.store(n, Ordering::Release);
        let result = pool.malloc(3000, GFP);
        fault::SUCCEED_BEFORE_FAILURE.store(-1, Ordering::Release);
        match result {
            Err(e) => {
                check_eq!(test, e, ENOMEM);
                check_eq!(test, pool.total_pages(), 0);
                check_eq!(test, settled_live_pages(), pages_before);
            }
            Ok(handle) => {
                succeeded = Some(n);
                pool.free(handle);
                break;
            }
        }
    }
    // The zspage of 3000-byte objects has several pages: several distinct failure points.
    check!(test, succeeded.is_some_and(|n| n >= 3));
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Page counts follow zspages exactly, and go back to 0 when every object is freed.
fn total_pages_tracks_zspages(test: &Test) {
    let pool = new_pool();
    let pages_before = settled_live_pages();
    let mut handles = KVec::new();
    for n in 0..2000usize {
        match pool.malloc(64 + (n * 37) % 3000, GFP) {
            Ok(handle) => {
                if handles.push(handle, GFP_KERNEL).is_err() {
                    pool.free(handle);
                }
            }
            Err(e) => {
                test.fail(file!(), line!(), "malloc failed");
                pr_err!("malloc: {:?}\n", e);
                break;
            }
        }
    }
    let live = settled_live_pages() - pages_before;
    check!(test, pool.total_pages() > 0);
    check_eq!(test, pool.total_pages() as isize, live);
    // Free in an order unlike the allocation order: even slots, then odd ones.
    for parity in [0, 1] {
        handles.iter().skip(parity).step_by(2).for_each(|&handle| pool.free(handle));
    }
    check_eq!(test, pool.total_pages(), 0);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Destroying a pool with live objects frees every page and handle (the slab caches would
/// complain at module unload otherwise).
fn destroy_with_live_objects(test: &Test) {
    let pages_before = settled_live_pages();
    let pool = new_pool();
    for n in 0..500usize {
        if pool.malloc(1 + (n * 53) % PAGE_SIZE, GFP).is_err() {
            test.fail(file!(), line!(), "malloc failed");
            return;
        }
    }
    check!(test, settled_live_pages() > pages_before);
    drop(pool);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Fills a pool with objects of mixed sizes, frees two thirds of them scattered across the
/// zspages, and returns the survivors (handle, pattern number, length).
fn fragmented_pool(test: &Test, pool: &Pool) -> Option<KVec<(usize, usize, usize)>> {
    // Allocate everything first: frees during the fill would be refilled at once.
    let mut all = KVec::new();
    for n in 0..3000usize {
        // Four sizes, so that each class has many zspages to compact.
        let len = [100, 700, 1500, 3000][n % 4] + n % 7;
        let Ok(handle) = pool.malloc(len, GFP) else {
            test.fail(file!(), line!(), "malloc failed");
            break;
        };
        pool.with_object(handle, MapMode::WriteOnly, len, |b| {
            b.iter_mut().enumerate().for_each(|(i, x)| *x = pattern(n, i))
        });
        if all.push((handle, n, len), GFP_KERNEL).is_err() {
            pool.free(handle);
            test.fail(file!(), line!(), "out of memory for the handle list");
            break;
        }
    }
    let mut live = KVec::new();
    for &(handle, n, len) in all.iter() {
        if n % 3 != 0 || live.push((handle, n, len), GFP_KERNEL).is_err() {
            pool.free(handle);
        }
    }
    (all.len() == 3000).then_some(live)
}

fn all_intact(pool: &Pool, live: &[(usize, usize, usize)]) -> bool {
    live.iter().all(|&(handle, n, len)| {
        pool.with_object(handle, MapMode::ReadOnly, len, |b| {
            b.iter().enumerate().all(|(i, &x)| x == pattern(n, i))
        })
    })
}

/// Compaction frees pages, counts them, retires the emptied zspages through RCU, and every
/// surviving object reads back byte for byte through its (repointed) handle.
fn compaction_frees_pages_keeps_data(test: &Test) {
    let pool = new_pool();
    let Some(live) = fragmented_pool(test, &pool) else { return };
    let before = pool.total_pages();
    let freed = pool.compact();
    let after = pool.total_pages();
    pr_info!("compaction: {} -> {} pages, {} freed\n", before, after, freed);
    check!(test, freed > 0);
    check_eq!(test, before - after, freed);
    check_eq!(test, pool.pages_compacted(), freed);
    check!(test, all_intact(&pool, &live));
    // Compacted once, the pool has (almost) nothing left to give.
    check!(test, pool.compact() <= freed / 4);
    check!(test, all_intact(&pool, &live));
    live.iter().for_each(|&(handle, _, _)| pool.free(handle));
    check_eq!(test, pool.total_pages(), 0);
}

/// Seed 004's writer rule: compaction meets a zspage that a reader has mapped and skips it
/// instead of waiting; the reader's object stays where it is, intact.
fn compaction_skips_mapped_zspage(test: &Test) {
    let pool = new_pool();
    let Some(live) = fragmented_pool(test, &pool) else { return };
    let (handle, n, len) = live[0];
    let addr = pool.map(handle, MapMode::ReadOnly);
    let freed = pool.compact();
    // SAFETY: `map` returned the object (or its copy), valid for `len` bytes until `unmap`.
    let bytes = unsafe { core::slice::from_raw_parts(addr, len) };
    let intact = bytes.iter().enumerate().all(|(i, &x)| x == pattern(n, i));
    let same_place = pool.object_address(handle) == Some(addr) || pool.spans_pages(handle);
    pool.unmap(handle);
    check!(test, intact);
    check!(test, same_place);
    check!(test, freed > 0);
    check!(test, all_intact(&pool, &live));
    live.iter().for_each(|&(handle, _, _)| pool.free(handle));
}

/// zpool's and zsmalloc's C map modes turn into the right `MapMode`.
fn c_map_modes(test: &Test) {
    check_eq!(test, MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_RW), MapMode::ReadWrite);
    check_eq!(test, MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_RO), MapMode::ReadOnly);
    check_eq!(test, MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_WO), MapMode::WriteOnly);
    check_eq!(test, MapMode::from_c(sys::zs_mapmode_ZS_MM_RW), MapMode::ReadWrite);
    check_eq!(test, MapMode::from_c(sys::zs_mapmode_ZS_MM_RO), MapMode::ReadOnly);
    check_eq!(test, MapMode::from_c(sys::zs_mapmode_ZS_MM_WO), MapMode::WriteOnly);
}

/// `ZS_INJECT=kunit-fail`: a case that must fail, to show that failures are caught.
#[cfg(zs_inject_kunit_fail)]
fn injected_failure(test: &Test) {
    check!(test, 1 + 1 == 3);
}

/// `ZS_INJECT=warning`: a case that provokes a kernel WARNING, which must fail the run.
#[cfg(zs_inject_warning)]
fn injected_warning(_test: &Test) {
    extern "C" {
        fn rzs_provoke_warning();
    }
    // SAFETY: the helper only calls WARN(); it has no preconditions.
    unsafe { rzs_provoke_warning() };
}

kunit_suite! {
    name: "rust_zsmalloc",
    cases: [
        c_map_modes,
        class_table_edges,
        malloc_errors_and_handles,
        readback_byte_exact,
        spanning_copy_rules,
        alloc_failure_leaks_nothing,
        total_pages_tracks_zspages,
        destroy_with_live_objects,
        compaction_frees_pages_keeps_data,
        compaction_skips_mapped_zspage,
        #[cfg(zs_inject_kunit_fail)]
        injected_failure,
        #[cfg(zs_inject_warning)]
        injected_warning,
    ]
}
