// SPDX-License-Identifier: GPL-2.0

//! `zsmalloc_rs_bench.ko`: the microbenchmark of `make bench` (BENCHMARKS.md).
//!
//! Runs one deterministic trace against upstream zsmalloc (zsmalloc.ko's `zs_*`) and against
//! rust_zsmalloc (zsmalloc_rs.ko's `rzs_*`) in the same boot for `rounds` rounds, in ABBA
//! order (`first_in_round`): density (`density.rs`) then throughput and latency
//! (`throughput.rs`). Every result
//! is a `ZS-BENCH micro ...` line on the console (`scripts/bench-report.py` reads them); all
//! the work happens in module init, which fails with the errno if anything does not verify.
//!
//! Load zsmalloc.ko (not zsmalloc_rs_compat.ko, which exports the same `zs_*` names) and
//! zsmalloc_rs.ko first.

use kernel::prelude::*;

mod density;
mod ffi;
mod objects;
#[path = "../guest-tools/src/pagegen.rs"]
#[allow(unreachable_pub, unused_attributes, reason = "shared with zstest")]
mod pagegen;
mod throughput;
mod trace;

module! {
    type: ZsBench,
    name: "zsmalloc_rs_bench",
    author: "rust_zsmalloc developers",
    description: "microbenchmark: rust_zsmalloc against zsmalloc, same trace, same boot",
    license: "GPL",
}

struct ZsBench;

impl kernel::Module for ZsBench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = ffi::params();
        if params.rounds == 0 || params.objects < 2 || params.run_ms == 0 || params.only > 2 {
            pr_err!("rounds, run_ms must be > 0, objects >= 2 and only 0, 1 or 2\n");
            return Err(EINVAL);
        }
        let start = ffi::now_ns();
        let trace = trace::Trace::build(params.objects)?;
        pr_info!(
            "ZS-BENCH micro trace objects={} stored_bytes={} mean_size={} huge={} built_ms={}\n",
            trace.len(),
            trace.stored_bytes,
            trace.stored_bytes / trace.len(),
            trace.huge,
            (ffi::now_ns() - start) / 1_000_000
        );
        if params.rounds % 2 != 0 {
            pr_warn!(
                "rounds={}: odd, so rust_zsmalloc goes first once more than zsmalloc\n",
                params.rounds
            );
        }
        for round in 1..=params.rounds {
            let order = if first_in_round(round) {
                [&ffi::RUST, &ffi::UPSTREAM]
            } else {
                [&ffi::UPSTREAM, &ffi::RUST]
            };
            pr_info!(
                "ZS-BENCH micro round={round} order={},{}\n",
                order[0].name,
                order[1].name
            );
            let selected = |api: &&&ffi::Api| match params.only {
                1 => core::ptr::eq(**api, &ffi::RUST),
                2 => core::ptr::eq(**api, &ffi::UPSTREAM),
                _ => true,
            };
            for &api in order.iter().filter(selected) {
                density::run(api, &trace, round).inspect_err(|e| {
                    pr_err!("{} round {round}: density failed: {e:?}\n", api.name)
                })?;
                throughput::run(api, &trace, round, params.run_ms).inspect_err(|e| {
                    pr_err!("{} round {round}: throughput failed: {e:?}\n", api.name)
                })?;
            }
        }
        pr_info!(
            "ZS-BENCH micro done secs={}\n",
            (ffi::now_ns() - start) / 1_000_000_000
        );
        Ok(ZsBench)
    }
}

/// Whether rust_zsmalloc runs first in `round` (1-based): ABBA order, AB BA BA AB ... by
/// rounds `r = round - 1` with `r % 4` in {0, 3}. Any two consecutive rounds starting at an
/// odd round give each allocator the first place once, and any four rounds also balance
/// going first against a drift of the machine's speed over time (A B B A has the same mean
/// position for both).
fn first_in_round(round: u32) -> bool {
    matches!((round - 1) % 4, 0 | 3)
}
