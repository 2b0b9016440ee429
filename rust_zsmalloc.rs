// SPDX-License-Identifier: GPL-2.0

//! rust_zsmalloc: the zsmalloc compressed-memory allocator, re-implemented in Rust.
//!
//! Module `zsmalloc_rs.ko`; zpool driver `rust_zsmalloc` (module alias
//! `zpool-rust_zsmalloc`, so `zswap.zpool=rust_zsmalloc` finds it).

use kernel::prelude::*;

mod sys;

module! {
    type: RustZsmalloc,
    name: "zsmalloc_rs",
    author: "rust_zsmalloc developers",
    description: "zsmalloc compressed-memory allocator in Rust",
    license: "GPL",
    alias: ["zpool-rust_zsmalloc"],
}

struct RustZsmalloc;

impl kernel::Module for RustZsmalloc {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(RustZsmalloc)
    }
}

impl Drop for RustZsmalloc {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
