// SPDX-License-Identifier: GPL-2.0

//! Throughput with 1, 2 and 4 kernel threads on one pool holding the whole trace (a pool in
//! steady state, as under zswap or zram, rather than an empty one):
//! - `malloc_write_free`: each thread keeps a window of its own objects; one operation frees
//!   the window's oldest, allocates the next trace size and writes it (map WO, copy, unmap);
//! - `map_read_unmap`: one operation maps a random object of the pool read-only, copies it
//!   out and unmaps it.
//!
//! Threads run until a shared deadline; ops/s = all operations / (last end - first start).

use crate::{
    ffi::{self, Api, Handle, Pool, PAGE_SIZE},
    objects::Objects,
    pagegen::Rng,
    trace::Trace,
};
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use kernel::{c_str, prelude::*};

pub(crate) const THREADS: [usize; 3] = [1, 2, 4];
/// The largest entry of `THREADS`: the per-thread results have this many slots.
const MAX_THREADS: usize = 4;
const _: () =
    assert!(THREADS[0] <= MAX_THREADS && THREADS[1] <= MAX_THREADS && THREADS[2] <= MAX_THREADS);
const WINDOW: usize = 32;
/// Operations between two looks at the clock.
const BATCH: u64 = 16;

struct Shared<'a> {
    pool: &'a Pool,
    trace: &'a Trace,
    objects: &'a [Option<Handle>],
    deadline: i64,
    threads: [PerThread; MAX_THREADS],
}

#[derive(Default)]
struct PerThread {
    ops: AtomicU64,
    start: AtomicI64,
    end: AtomicI64,
    failed: AtomicU64,
}

pub(crate) fn run(api: &'static Api, trace: &Trace, round: u32, run_ms: u32) -> Result {
    let pool = Pool::new(api, c_str!("zs_bench_speed"))?;
    let mut objects = Objects::with_capacity(&pool, trace)?;
    objects.fill(trace)?;
    for (name, body) in [
        ("map_read_unmap", map_read_unmap as fn(&Shared<'_>, usize)),
        ("malloc_write_free", malloc_write_free),
    ] {
        for threads in THREADS {
            let shared = Shared {
                pool: &pool,
                trace,
                objects: &objects.handles,
                deadline: ffi::now_ns() + i64::from(run_ms) * 1_000_000,
                threads: Default::default(),
            };
            let ran = ffi::run_threads(threads, &shared, body);
            let used = &shared.threads[..ran];
            let ops: u64 = used.iter().map(|t| t.ops.load(Ordering::Relaxed)).sum();
            let failed: u64 = used.iter().map(|t| t.failed.load(Ordering::Relaxed)).sum();
            let first = used
                .iter()
                .map(|t| t.start.load(Ordering::Relaxed))
                .min()
                .unwrap_or(0);
            let last = used
                .iter()
                .map(|t| t.end.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0);
            if ran != threads || failed != 0 {
                pr_err!("{name} with {threads} threads: {ran} threads ran, {failed} operations failed\n");
                return Err(EIO);
            }
            let ns = u64::try_from(last - first).unwrap_or(0).max(1);
            pr_info!(
                "ZS-BENCH micro alloc={} round={round} metric={name}_t{threads} value={} ops={ops} ns={ns}\n",
                api.name,
                ops * 1_000_000_000 / ns
            );
        }
    }
    // The churn wrote new objects into the pool: the prefilled ones must be intact.
    objects.verify(trace)
}

fn map_read_unmap(shared: &Shared<'_>, id: usize) {
    let me = &shared.threads[id];
    let Ok(mut buf) = KVVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL) else {
        me.failed.store(1, Ordering::Relaxed);
        return;
    };
    let mut rng = Rng::new(0x7265_6164_0000_0000 | id as u64);
    let n = shared.objects.len() as u64;
    let mut ops = 0u64;
    me.start.store(ffi::now_ns(), Ordering::Relaxed);
    loop {
        for _ in 0..BATCH {
            if let Some(handle) = &shared.objects[rng.below(n) as usize] {
                shared.pool.read(handle, &mut buf[..handle.size()]);
            }
        }
        ops += BATCH;
        let now = ffi::now_ns();
        if now >= shared.deadline {
            me.end.store(now, Ordering::Relaxed);
            break;
        }
    }
    me.ops.store(ops, Ordering::Relaxed);
}

fn malloc_write_free(shared: &Shared<'_>, id: usize) {
    let me = &shared.threads[id];
    let mut window: KVec<Option<Handle>> = KVec::new();
    for _ in 0..WINDOW {
        if window.push(None, GFP_KERNEL).is_err() {
            me.failed.store(1, Ordering::Relaxed);
            return;
        }
    }
    let mut next = id * 7919;
    let mut ops = 0u64;
    me.start.store(ffi::now_ns(), Ordering::Relaxed);
    'run: loop {
        for _ in 0..BATCH {
            let slot = &mut window[next % WINDOW];
            if let Some(old) = slot.take() {
                shared.pool.free(old);
            }
            match shared.pool.malloc(shared.trace.size(next)) {
                Ok(handle) => {
                    shared.pool.write(&handle, shared.trace.content(next));
                    *slot = Some(handle);
                }
                Err(_) => {
                    me.failed.fetch_add(1, Ordering::Relaxed);
                    break 'run;
                }
            }
            next += 1;
        }
        ops += BATCH;
        let now = ffi::now_ns();
        if now >= shared.deadline {
            break;
        }
    }
    me.end.store(ffi::now_ns(), Ordering::Relaxed);
    me.ops.store(ops, Ordering::Relaxed);
    for handle in window.iter_mut().filter_map(Option::take) {
        shared.pool.free(handle);
    }
}
