// SPDX-License-Identifier: GPL-2.0

//! The module's parameters (`sys/params.c`): read once by module init.

extern "C" {
    fn rzs_param_chain_pages() -> u32;
}

/// The `chain_pages` parameter as given (unchecked: `ClassSelection::select` checks it).
pub(crate) fn chain_pages() -> usize {
    // SAFETY: reads a plain `unsigned int` that the module loader set before init and that
    // nothing writes afterwards (permissions 0444).
    let pages = unsafe { rzs_param_chain_pages() };
    // Lossless on 64-bit.
    pages as usize
}
