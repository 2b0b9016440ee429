// SPDX-License-Identifier: GPL-2.0

//! The atomics the lock protocols of this crate are written with: `core`'s, or, in the
//! host's loom build (`--cfg loom`, unit tests only), loom's, so that loom checks the very
//! code the kernel module runs (`loom_models`). Nothing else differs between the builds.
//!
//! Loom mutants: `--cfg zs_loom_mutant="<name>"` weakens one ordering or drops one check in
//! this crate's protocol code, for the loom run to catch. Code reads it as a constant,
//! `cfg!(zs_loom_mutant = "<name>")`, which is `false` in the kernel build (which never sets
//! it) and in every host build but the mutant's own.

#[cfg(not(all(test, loom)))]
pub(crate) use core::sync::atomic::{AtomicI32, Ordering};
#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{AtomicI32, Ordering};

/// Busy-wait hint (under loom: a yield, so that spinning threads let others run).
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(not(all(test, loom)))]
    core::hint::spin_loop();
    #[cfg(all(test, loom))]
    loom::hint::spin_loop();
}
