// SPDX-License-Identifier: GPL-2.0

//! Density: stored bytes per byte of memory the allocator uses.
//!
//! Memory used = pool pages x PAGE_SIZE (the allocator's own count) + the growth of
//! unreclaimable slab memory since before the pool was created (handle and zspage caches,
//! pool structures) + one PAGE_SIZE copy buffer per online CPU (both allocators keep exactly
//! one per CPU, module-wide). Measured full, after freeing a random half (the same half for
//! both allocators in a round), and after compacting.

use crate::{
    ffi::{self, Api, Pool, PAGE_SIZE},
    objects::Objects,
    pagegen::Rng,
    trace::Trace,
};
use kernel::{c_str, prelude::*};

pub(crate) fn run(api: &'static Api, trace: &Trace, round: u32) -> Result {
    let n = trace.len();
    // Everything the benchmark itself allocates comes before the baseline.
    let mut order = KVVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        order.push(i, GFP_KERNEL)?;
    }
    shuffle(&mut order, round);
    ffi::rcu_barrier();
    let baseline = ffi::slab_pages();
    let pool = Pool::new(api, c_str!("zs_bench_density"))?;
    let mut objects = Objects::with_capacity(&pool, trace)?;
    objects.fill(trace)?;
    let mut stored = trace.stored_bytes;
    report(api, round, "density_full", &pool, baseline, stored);
    objects.verify(trace)?;
    for &i in order[..n / 2].iter() {
        stored -= objects.free(i);
    }
    report(api, round, "density_half", &pool, baseline, stored);
    pool.compact();
    report(api, round, "density_compacted", &pool, baseline, stored);
    objects.verify(trace)
}

fn report(api: &Api, round: u32, metric: &str, pool: &Pool, baseline: usize, stored: usize) {
    // rust_zsmalloc frees retired zspages after an RCU grace period: count memory once the
    // callbacks ran, as it is when the allocator is quiet.
    ffi::rcu_barrier();
    let pool_pages = pool.total_pages();
    let slab_pages = ffi::slab_pages().saturating_sub(baseline);
    let percpu = ffi::online_cpus() * PAGE_SIZE;
    let used = (pool_pages + slab_pages) * PAGE_SIZE + percpu;
    let ten_thousandths = stored * 10_000 / used.max(1);
    pr_info!(
        "ZS-BENCH micro alloc={} round={round} metric={metric} value={}.{:04} stored={stored} pool_pages={pool_pages} slab_pages={slab_pages} percpu={percpu}\n",
        api.name,
        ten_thousandths / 10_000,
        ten_thousandths % 10_000
    );
}

/// Fisher-Yates with a generator seeded by the round.
fn shuffle(order: &mut [usize], round: u32) {
    let mut rng = Rng::new(0x6861_6c66_0000_0000 | u64::from(round));
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
}
