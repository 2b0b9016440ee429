// SPDX-License-Identifier: GPL-2.0

//! Pure logic of rust_zsmalloc: size classes, object layout, location
//! encoding, fullness groups and the per-zspage lock, whose protocols are checked
//! exhaustively on the host with loom (`loom_models`).
//!
//! Everything here is safe `core`-only Rust so that it can be unit-tested on
//! the host with `cargo test` and compiled unchanged into the kernel module,
//! which includes this file as a submodule (`#[path = "logic/src/lib.rs"]`).
//! Because the crate root differs between the two builds, the submodules
//! refer to each other only through `super::`.

#![cfg_attr(not(test), no_std)]
// No `unsafe` here, allowed by name in two places only: `ZspageLock::adopt_read`, an
// `unsafe fn` for its contract alone (its body does nothing unsafe; the contract is what the
// kernel's C map/unmap pair must keep), with the host tests that call it; and the loom
// models, which read and write `loom::cell::UnsafeCell`s (loom's race detector).
#![deny(unsafe_code)]

pub mod fullness;
pub mod header;
pub mod layout;
pub mod location;
pub mod size_class;
mod sync;
pub mod zspage_lock;

// The loom models of the lock protocols (host only: `RUSTFLAGS="--cfg loom" cargo test`).
#[cfg(all(test, loom))]
#[allow(unsafe_code)]
mod loom_models;
