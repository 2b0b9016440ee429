// SPDX-License-Identifier: GPL-2.0

//! Placement of objects inside a zspage.
//!
//! Objects are packed back to back from byte 0 of the first page, so an
//! object may start in one page and end in the next (never more: an object is
//! at most a page). Page `n` is the `n`-th page of the zspage's chain.

use core::ops::Range;

use super::size_class::{ClassSpec, PAGE_SIZE};

/// Where one object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjPlace {
    /// Page of the zspage holding the object's first byte.
    pub page: usize,
    /// Offset of the first byte within that page.
    pub offset: usize,
    /// Bytes of the object within that page.
    pub first_len: usize,
    /// Whether the object continues into page `page + 1`.
    pub spans: bool,
}

/// Place of object `idx` of a zspage of class `spec`.
#[inline]
pub fn obj_place(spec: &ClassSpec, idx: u32) -> ObjPlace {
    debug_assert!(idx < spec.objs_per_zspage);
    // Wrapping: `idx < objs_per_zspage`, so `start` is within the zspage; no overflow check
    // on this hot path (every object access computes a place).
    let start = spec.size_bytes().wrapping_mul(idx as usize);
    let offset = start % PAGE_SIZE;
    let room = PAGE_SIZE.wrapping_sub(offset);
    ObjPlace {
        page: start / PAGE_SIZE,
        offset,
        first_len: spec.size_bytes().min(room),
        spans: spec.size_bytes() > room,
    }
}

/// Objects whose first byte is in page `page` (empty past the last page).
pub fn objs_starting_in_page(spec: &ClassSpec, page: usize) -> Range<u32> {
    let size = spec.size_bytes();
    let objs = spec.objs_per_zspage;
    // First object starting at or after a byte offset, capped at objs.
    let first_at = |byte: usize| u32::try_from(byte.div_ceil(size)).map_or(objs, |i| i.min(objs));
    first_at(page * PAGE_SIZE)..first_at((page + 1) * PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::super::size_class::CLASS_TABLES;
    use super::*;

    fn spec(size: u32, pages: u32) -> ClassSpec {
        ClassSpec::new(size, pages, pages * 4096 / size)
    }

    #[test]
    fn spanning_objects() {
        // 3264 bytes, 4 pages, 5 objects: starts 0, 3264, 6528, 9792, 13056.
        let s = spec(3264, 4);
        let place = |page, offset, first_len, spans| ObjPlace {
            page,
            offset,
            first_len,
            spans,
        };
        assert_eq!(obj_place(&s, 0), place(0, 0, 3264, false));
        assert_eq!(obj_place(&s, 1), place(0, 3264, 832, true));
        assert_eq!(obj_place(&s, 2), place(1, 2432, 1664, true));
        assert_eq!(obj_place(&s, 3), place(2, 1600, 2496, true));
        // Last object: 13056 = 3 * 4096 + 768, ends at 16320 inside page 3.
        assert_eq!(obj_place(&s, 4), place(3, 768, 3264, false));
        assert_eq!(objs_starting_in_page(&s, 0), 0..2);
        assert_eq!(objs_starting_in_page(&s, 1), 2..3);
        assert_eq!(objs_starting_in_page(&s, 2), 3..4);
        assert_eq!(objs_starting_in_page(&s, 3), 4..5);
        assert!(objs_starting_in_page(&s, 4).is_empty());
    }

    #[test]
    fn object_ending_on_page_boundary() {
        // 48 bytes, 3 pages, 256 objects: 4096 = 85 * 48 + 16, so object 85
        // spans; 8192 = 170 * 48 + 32, object 170 spans; the last one ends at 12288.
        let s = spec(48, 3);
        assert!(!obj_place(&s, 84).spans);
        assert_eq!(
            obj_place(&s, 85),
            ObjPlace {
                page: 0,
                offset: 4080,
                first_len: 16,
                spans: true
            }
        );
        assert_eq!(
            obj_place(&s, 255),
            ObjPlace {
                page: 2,
                offset: 4048,
                first_len: 48,
                spans: false
            }
        );
        assert_eq!(objs_starting_in_page(&s, 0), 0..86);
        assert_eq!(objs_starting_in_page(&s, 1), 86..171);
        assert_eq!(objs_starting_in_page(&s, 2), 171..256);
        // Object exactly aligned to a page: 64-byte objects never span.
        let s = spec(64, 1);
        assert_eq!(objs_starting_in_page(&s, 0), 0..64);
        assert!((0..64).all(|i| !obj_place(&s, i).spans));
    }

    #[test]
    fn every_class_is_covered_once() {
        // At every chain size `chain_pages` allows.
        for s in CLASS_TABLES.iter().flat_map(|table| table.classes()) {
            let mut next = 0;
            for page in 0..s.pages() {
                let objs = objs_starting_in_page(s, page);
                assert_eq!(objs.start, next);
                for i in objs.clone() {
                    let p = obj_place(s, i);
                    assert_eq!(p.page, page);
                    assert!(p.offset + p.first_len <= PAGE_SIZE);
                    assert_eq!(p.spans, p.first_len < s.size_bytes());
                    // A spanning object never runs past the zspage.
                    assert!(!p.spans || page + 1 < s.pages());
                }
                next = objs.end;
            }
            assert_eq!(next, s.objs_per_zspage);
        }
    }
}
