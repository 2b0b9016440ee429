// SPDX-License-Identifier: GPL-2.0

//! Pure logic of rust_zsmalloc: size classes, object layout, location
//! encoding, fullness groups and the per-zspage lock.
//!
//! Everything here is safe `core`-only Rust so that it can be unit-tested on
//! the host with `cargo test` and compiled unchanged into the kernel module,
//! which includes this file as a submodule (`#[path = "logic/src/lib.rs"]`).
//! Because the crate root differs between the two builds, the submodules
//! refer to each other only through `super::`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod fullness;
pub mod layout;
pub mod location;
pub mod size_class;
pub mod zspage_lock;
