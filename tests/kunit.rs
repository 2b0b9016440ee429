// SPDX-License-Identifier: GPL-2.0

//! The KUnit suite `rust_zsmalloc` (module `zsmalloc_rs_kunit.ko`), built from the
//! allocator's own sources so that the allocator module itself needs no KUnit.

use kernel::prelude::*;

#[path = "../sys/mod.rs"]
#[allow(dead_code, reason = "the suite exercises only part of the bindings")]
mod sys;

mod kunit_support;

use kunit_support::{check, check_eq, kunit_suite, Test};

module! {
    type: ZsmallocKunit,
    name: "zsmalloc_rs_kunit",
    author: "rust_zsmalloc developers",
    description: "KUnit tests for rust_zsmalloc",
    license: "GPL",
}

struct ZsmallocKunit;

impl kernel::Module for ZsmallocKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // KUnit has already run the suite from the module loader by the time init runs.
        Ok(ZsmallocKunit)
    }
}

/// The bindgen step captured zpool's map modes with upstream's values.
fn zpool_map_modes(test: &Test) {
    check_eq!(test, sys::zpool_mapmode_ZPOOL_MM_RW, 0);
    check_eq!(test, sys::zpool_mapmode_ZPOOL_MM_RO, 1);
    check_eq!(test, sys::zpool_mapmode_ZPOOL_MM_WO, 2);
}

/// Checks that `check!` passes on a true condition (the other half is `ZS_INJECT=kunit-fail`).
fn check_passes_on_truth(test: &Test) {
    check!(test, core::mem::size_of::<sys::zpool_driver>() > 0);
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
        zpool_map_modes,
        check_passes_on_truth,
        #[cfg(zs_inject_kunit_fail)]
        injected_failure,
        #[cfg(zs_inject_warning)]
        injected_warning,
    ]
}
