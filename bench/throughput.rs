// SPDX-License-Identifier: GPL-2.0

//! Throughput and per-operation latency with 1, 2 and 4 kernel threads on one pool holding
//! the whole trace (a pool in steady state, as under zswap or zram, rather than an empty one):
//! - `malloc_write_free`: each thread keeps a window of its own objects; one operation frees
//!   the window's oldest, allocates the next trace size and writes it (map WO, copy, unmap);
//! - `map_read_unmap`: one operation maps a random object of the pool read-only, copies it
//!   out and unmaps it.
//!
//! Threads run until a shared deadline; ops/s = all operations / (last end - first start).
//!
//! Latency: the first operation of every batch of `BATCH` is timed part by part (`free`,
//! `malloc`, `write` = map WO + copy + unmap, `read` = map RO + copy + unmap) with two extra
//! clock reads per part, into a fixed array per thread (`SAMPLES` per part; sampling stops
//! when it is full). The same code times both allocators, so the overhead is equal; p50 and
//! p99 are taken over all threads' samples.

use crate::{
    ffi::{self, Api, Handle, Pool, PAGE_SIZE},
    objects::Objects,
    pagegen::Rng,
    trace::Trace,
};
use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::{c_str, prelude::*};

pub(crate) const THREADS: [usize; 3] = [1, 2, 4];
/// The largest entry of `THREADS`: the per-thread results have this many slots.
const MAX_THREADS: usize = 4;
const _: () =
    assert!(THREADS[0] <= MAX_THREADS && THREADS[1] <= MAX_THREADS && THREADS[2] <= MAX_THREADS);
const WINDOW: usize = 32;
/// Operations between two looks at the clock; the first of each batch is the latency sample.
const BATCH: u64 = 16;
/// Latency samples per thread and part (a 1 s run at 200k ops/s takes 12.5k).
const SAMPLES: usize = 16384;

/// The parts of an operation whose latency is sampled.
#[derive(Clone, Copy)]
enum Part {
    Malloc,
    Free,
    Write,
    Read,
}

impl Part {
    const ALL: [Part; 4] = [Part::Malloc, Part::Free, Part::Write, Part::Read];

    fn name(self) -> &'static str {
        match self {
            Part::Malloc => "malloc",
            Part::Free => "free",
            Part::Write => "map_write_unmap",
            Part::Read => "map_read_unmap",
        }
    }
}

/// Latency samples in ns, `SAMPLES` per thread and part, written by their own thread only and
/// read after `run_threads` returned (which orders the threads' stores before its return).
struct Latencies {
    ns: KVVec<AtomicU32>,
    taken: [[AtomicUsize; Part::ALL.len()]; MAX_THREADS],
}

impl Latencies {
    fn new() -> Result<Latencies> {
        let len = MAX_THREADS * Part::ALL.len() * SAMPLES;
        let mut ns = KVVec::with_capacity(len, GFP_KERNEL)?;
        for _ in 0..len {
            ns.push(AtomicU32::new(0), GFP_KERNEL)?;
        }
        Ok(Latencies {
            ns,
            taken: Default::default(),
        })
    }

    fn slots(&self, thread: usize, part: Part) -> &[AtomicU32] {
        let start = (thread * Part::ALL.len() + part as usize) * SAMPLES;
        &self.ns[start..start + SAMPLES]
    }

    fn record(&self, thread: usize, part: Part, ns: i64) {
        let taken = &self.taken[thread][part as usize];
        let i = taken.load(Ordering::Relaxed);
        if i < SAMPLES {
            let ns = u32::try_from(ns.max(0)).unwrap_or(u32::MAX);
            self.slots(thread, part)[i].store(ns, Ordering::Relaxed);
            taken.store(i + 1, Ordering::Relaxed);
        }
    }

    /// (p50, p99, mean, samples) of `part` over the first `threads` threads, or `None` if
    /// none. The mean carries the rare slow calls (a new zspage, a retired one) that the
    /// percentiles hide and the throughput pays for.
    fn summary(&self, threads: usize, part: Part) -> Result<Option<(u32, u32, u64, usize)>> {
        let mut all = KVVec::new();
        for thread in 0..threads {
            let taken = self.taken[thread][part as usize].load(Ordering::Relaxed);
            for ns in &self.slots(thread, part)[..taken] {
                all.push(ns.load(Ordering::Relaxed), GFP_KERNEL)?;
            }
        }
        if all.is_empty() {
            return Ok(None);
        }
        all.sort_unstable();
        let at = |pct: usize| all[(all.len() - 1) * pct / 100];
        let sum: u64 = all.iter().map(|&ns| u64::from(ns)).sum();
        Ok(Some((at(50), at(99), sum / all.len() as u64, all.len())))
    }
}

struct Shared<'a> {
    pool: &'a Pool,
    trace: &'a Trace,
    objects: &'a [Option<Handle>],
    deadline: i64,
    threads: [PerThread; MAX_THREADS],
    latencies: &'a Latencies,
}

#[derive(Default)]
struct PerThread {
    ops: AtomicU64,
    start: AtomicI64,
    end: AtomicI64,
    failed: AtomicU64,
}

pub(crate) fn run(api: &'static Api, trace: &Trace, round: u32, run_ms: u32) -> Result {
    let latencies = Latencies::new()?;
    let pool = Pool::new(api, c_str!("zs_bench_speed"))?;
    let mut objects = Objects::with_capacity(&pool, trace)?;
    objects.fill(trace)?;
    for (name, body, parts) in [
        (
            "map_read_unmap",
            map_read_unmap as fn(&Shared<'_>, usize),
            &[Part::Read][..],
        ),
        (
            "malloc_write_free",
            malloc_write_free,
            &[Part::Malloc, Part::Free, Part::Write][..],
        ),
    ] {
        for threads in THREADS {
            for thread in &latencies.taken {
                for taken in thread {
                    taken.store(0, Ordering::Relaxed);
                }
            }
            let shared = Shared {
                pool: &pool,
                trace,
                objects: &objects.handles,
                deadline: ffi::now_ns() + i64::from(run_ms) * 1_000_000,
                threads: Default::default(),
                latencies: &latencies,
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
            for &part in parts {
                let Some((p50, p99, mean, samples)) = latencies.summary(threads, part)? else {
                    continue;
                };
                for (stat, value) in [
                    ("p50", u64::from(p50)),
                    ("p99", u64::from(p99)),
                    ("mean", mean),
                ] {
                    pr_info!(
                        "ZS-BENCH micro alloc={} round={round} metric=lat_{}_{stat}_t{threads} value={value} samples={samples} during={name}\n",
                        api.name,
                        part.name()
                    );
                }
            }
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
        for op in 0..BATCH {
            if let Some(handle) = &shared.objects[rng.below(n) as usize] {
                let out = &mut buf[..handle.size()];
                if op == 0 {
                    let t0 = ffi::now_ns();
                    shared.pool.read(handle, out);
                    shared.latencies.record(id, Part::Read, ffi::now_ns() - t0);
                } else {
                    shared.pool.read(handle, out);
                }
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
        for op in 0..BATCH {
            let sampled = op == 0;
            let slot = &mut window[next % WINDOW];
            if let Some(old) = slot.take() {
                if sampled {
                    let t0 = ffi::now_ns();
                    shared.pool.free(old);
                    shared.latencies.record(id, Part::Free, ffi::now_ns() - t0);
                } else {
                    shared.pool.free(old);
                }
            }
            let t0 = if sampled { ffi::now_ns() } else { 0 };
            match shared.pool.malloc(shared.trace.size(next)) {
                Ok(handle) => {
                    let content = shared.trace.content(next);
                    if sampled {
                        let t1 = ffi::now_ns();
                        shared.pool.write(&handle, content);
                        let t2 = ffi::now_ns();
                        shared.latencies.record(id, Part::Malloc, t1 - t0);
                        shared.latencies.record(id, Part::Write, t2 - t1);
                    } else {
                        shared.pool.write(&handle, content);
                    }
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
