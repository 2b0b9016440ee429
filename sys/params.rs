// SPDX-License-Identifier: GPL-2.0

//! The module's parameters (`sys/params.c`): read once by module init.

extern "C" {
    fn rzs_param_chain_pages() -> u32;
    fn rzs_param_contiguous_zspages() -> bool;
}

/// The `chain_pages` parameter as given (unchecked: `ClassSelection::select` checks it).
pub(crate) fn chain_pages() -> usize {
    // SAFETY: reads a plain `unsigned int` that the module loader set before init and that
    // nothing writes afterwards (permissions 0444).
    let pages = unsafe { rzs_param_chain_pages() };
    // Lossless on 64-bit.
    pages as usize
}

/// The `contiguous_zspages` parameter.
pub(crate) fn contiguous_zspages() -> bool {
    // SAFETY: reads a plain `bool` that the module loader set before init and that nothing
    // writes afterwards (permissions 0444).
    unsafe { rzs_param_contiguous_zspages() }
}
