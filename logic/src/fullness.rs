// SPDX-License-Identifier: GPL-2.0

//! Fullness groups, as upstream 6.12's `ZS_INUSE_RATIO_*`.
//!
//! Each class keeps its zspages in lists by the share of objects in use:
//! group 0 is empty, group 11 is full, and a partly used zspage whose use,
//! in whole percent rounded down, is `p` goes to group `p / 10 + 1` (so 1..=10;
//! upstream's names call group `g` "ratio `10 * g`"). Narrow groups let
//! allocation and compaction take the first zspage of a group instead of
//! searching for the best one.

use super::size_class::ClassSpec;

/// Number of fullness groups.
pub const NR_FULLNESS_GROUPS: usize = 12;
/// Group of zspages with no object in use.
pub const GROUP_EMPTY: usize = 0;
/// Group of zspages with every object in use.
pub const GROUP_FULL: usize = NR_FULLNESS_GROUPS - 1;

/// Where allocation looks for a zspage with a free slot: fullest first, to
/// keep partly used zspages from multiplying; empty zspages last.
pub const ALLOC_ORDER: [usize; 11] = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, GROUP_EMPTY];
/// Where compaction takes zspages to empty: emptiest non-empty first, since
/// they free a zspage for the fewest object moves.
pub const COMPACT_SRC_ORDER: [usize; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/// Where compaction moves objects to: fullest non-full first.
pub const COMPACT_DST_ORDER: [usize; 10] = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];

/// The group allocation takes a zspage from, given the set of non-empty groups (bit `g` set
/// when group `g`'s list has a zspage): the first of `ALLOC_ORDER` that is non-empty, found
/// with one bit scan instead of a look at each list.
#[inline]
pub const fn alloc_group(occupied: u16) -> Option<usize> {
    // Groups 1..=10, partly used: the highest set bit is the fullest.
    let partial = occupied & 0x7fe;
    if partial != 0 {
        return Some(15 - partial.leading_zeros() as usize);
    }
    if occupied & (1 << GROUP_EMPTY) != 0 {
        return Some(GROUP_EMPTY);
    }
    None
}

/// Fullness group of a zspage with `inuse` of `objs_per_zspage` objects used.
#[inline]
pub const fn fullness_group(inuse: u32, objs_per_zspage: u32) -> usize {
    debug_assert!(inuse <= objs_per_zspage);
    if inuse == 0 {
        return GROUP_EMPTY;
    }
    if inuse >= objs_per_zspage {
        return GROUP_FULL;
    }
    // Rounding down would put 1 of 127 objects at 0%; the +1 keeps every
    // non-empty zspage out of the empty group. Widened so any u32 is safe.
    let percent = 100 * inuse as u64 / objs_per_zspage as u64;
    percent as usize / 10 + 1
}

/// Fullness group of a zspage of class `spec` with `inuse` objects used: `fullness_group`
/// with a multiplication by the class's precomputed reciprocal for its division (the host
/// test `group_of_equals_group` checks every class and count).
#[inline]
pub const fn fullness_group_of(spec: &ClassSpec, inuse: u32) -> usize {
    if inuse == 0 {
        return GROUP_EMPTY;
    }
    if inuse >= spec.objs_per_zspage {
        return GROUP_FULL;
    }
    // floor(100 * inuse / objs) / 10 == floor(10 * inuse / objs).
    let group = ((10 * inuse as u64 * spec.tenths_mul as u64) >> 32) as usize + 1;
    debug_assert!(group == fullness_group(inuse, spec.objs_per_zspage));
    group
}

/// Pages compaction could free in a class with `objs_allocated` object slots
/// in its zspages and `objs_inuse` of them used (upstream's `zs_can_compact`):
/// whole zspages' worth of free slots.
pub fn compactable_pages(spec: &ClassSpec, objs_allocated: usize, objs_inuse: usize) -> usize {
    let free = objs_allocated.saturating_sub(objs_inuse);
    free / spec.objs_per_zspage as usize * spec.pages()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_group_is_the_first_non_empty_of_alloc_order() {
        // Every subset of the 12 groups.
        for occupied in 0u16..1 << NR_FULLNESS_GROUPS {
            let scanned = ALLOC_ORDER
                .iter()
                .copied()
                .find(|&group| occupied & (1 << group) != 0);
            assert_eq!(alloc_group(occupied), scanned, "occupied {occupied:#x}");
        }
    }

    #[test]
    fn boundaries() {
        assert_eq!(fullness_group(0, 10), GROUP_EMPTY);
        assert_eq!(fullness_group(10, 10), GROUP_FULL);
        assert_eq!(fullness_group(1, 127), 1);
        assert_eq!(fullness_group(1, 10), 2); // exactly 10% -> "20%" group
        assert_eq!(fullness_group(9, 100), 1);
        assert_eq!(fullness_group(10, 100), 2);
        assert_eq!(fullness_group(19, 100), 2);
        assert_eq!(fullness_group(89, 100), 9);
        assert_eq!(fullness_group(90, 100), 10);
        assert_eq!(fullness_group(99, 100), 10);
        assert_eq!(fullness_group(255, 256), 10);
        assert_eq!(fullness_group(1, 2), 6);
        assert_eq!(fullness_group(1, 1), GROUP_FULL);
    }

    #[test]
    fn monotone_and_in_range() {
        for objs in 1..=256 {
            let mut prev = GROUP_EMPTY;
            for inuse in 0..=objs {
                let g = fullness_group(inuse, objs);
                assert!(g >= prev && g < NR_FULLNESS_GROUPS);
                assert_eq!(g == GROUP_EMPTY, inuse == 0);
                assert_eq!(g == GROUP_FULL, inuse == objs);
                prev = g;
            }
        }
    }

    #[test]
    fn group_of_equals_group() {
        // Every object count a zspage can have, and every class of every chain size.
        let counts = (1..=super::super::size_class::MAX_OBJS_PER_ZSPAGE as u32)
            .map(|objs| ClassSpec::new(4096, 16, objs));
        let classes = super::super::size_class::CLASS_TABLES
            .iter()
            .flat_map(|table| table.classes().iter().copied());
        for spec in counts.chain(classes) {
            for inuse in 0..=spec.objs_per_zspage {
                assert_eq!(
                    fullness_group_of(&spec, inuse),
                    fullness_group(inuse, spec.objs_per_zspage),
                    "{inuse} of {}",
                    spec.objs_per_zspage
                );
            }
        }
    }

    #[test]
    fn orders() {
        let partial: Vec<usize> = (GROUP_EMPTY + 1..GROUP_FULL).collect();
        assert_eq!(COMPACT_SRC_ORDER.to_vec(), partial);
        assert_eq!(
            COMPACT_DST_ORDER.iter().rev().copied().collect::<Vec<_>>(),
            partial
        );
        assert_eq!(ALLOC_ORDER[..10], COMPACT_DST_ORDER);
        assert_eq!(ALLOC_ORDER[10], GROUP_EMPTY);
    }

    #[test]
    fn compactable() {
        let spec = ClassSpec::new(3264, 4, 5);
        assert_eq!(compactable_pages(&spec, 20, 20), 0);
        assert_eq!(compactable_pages(&spec, 20, 16), 0);
        assert_eq!(compactable_pages(&spec, 20, 15), 4);
        assert_eq!(compactable_pages(&spec, 20, 4), 12);
        assert_eq!(compactable_pages(&spec, 0, 0), 0);
        assert_eq!(compactable_pages(&spec, 5, 7), 0);
    }
}
