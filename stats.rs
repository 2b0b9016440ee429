// SPDX-License-Identifier: GPL-2.0

//! A pool's statistics in debugfs: `/sys/kernel/debug/rust_zsmalloc/<pool>-<id>/` holds
//! `classes` (per size class: objects allocated and in use, pages, zspages per fullness
//! group), `total_pages`, `pages_compacted`, `pages_migrated`, `zspages_retired`, and
//! `zspages_contiguous` / `zspages_scattered` (multi-page zspages made of one contiguous block
//! or of single pages, see `PageLayout`).

use crate::{
    logic::fullness::NR_FULLNESS_GROUPS,
    pool::Pool,
    sys::{LineBuf, SeqFile},
    CLASSES,
};
use core::{fmt::Write, sync::atomic::Ordering};
use kernel::{alloc::flags::GFP_KERNEL, c_str, prelude::*};

/// Creates the pool's files in its debugfs directory.
pub(crate) fn register(pool: &Pin<KBox<Pool>>) {
    // SAFETY: the counters and the pool live in the pinned pool, whose drop removes the
    // directory (`debugfs` is a field) before they go; `rzs_classes_show` expects a pool.
    unsafe {
        pool.debugfs
            .add_class_table(core::ptr::from_ref::<Pool>(pool).cast());
        pool.debugfs
            .add_ulong(c_str!("total_pages"), &pool.total_pages);
        pool.debugfs
            .add_ulong(c_str!("pages_compacted"), &pool.pages_compacted);
        pool.debugfs
            .add_ulong(c_str!("zspages_retired"), &pool.zspages_retired);
        pool.debugfs
            .add_ulong(c_str!("pages_migrated"), &pool.pages_migrated);
        pool.debugfs
            .add_ulong(c_str!("zspages_contiguous"), &pool.zspages_contiguous);
        pool.debugfs
            .add_ulong(c_str!("zspages_scattered"), &pool.zspages_scattered);
    }
}

/// One class's counts, copied under the pool lock.
#[derive(Clone, Copy, Default)]
struct ClassCounts {
    index: usize,
    zspages: usize,
    objs_allocated: usize,
    objs_inuse: usize,
    groups: [usize; NR_FULLNESS_GROUPS],
}

/// Writes the `classes` table: each class's counts are copied under its lock (so each line
/// is consistent), then formatted after the locks are dropped.
pub(crate) fn write_class_table(pool: &Pool, out: &mut SeqFile) {
    let mut counts = KVec::new();
    // One entry per class: allocated before any lock is taken.
    if counts.reserve(CLASSES.nr_classes(), GFP_KERNEL).is_err() {
        out.write(b"out of memory\n");
        return;
    }
    for (index, class) in pool.classes().enumerate() {
        let lists = class.lock();
        if lists.zspages() == 0 {
            continue;
        }
        let mut entry = ClassCounts {
            index,
            zspages: lists.zspages(),
            objs_allocated: lists.objs_allocated(),
            objs_inuse: lists.objs_inuse(),
            ..Default::default()
        };
        lists
            .group_counts()
            .zip(entry.groups.iter_mut())
            .for_each(|(n, slot)| *slot = n);
        drop(lists);
        // Within the reserved capacity: cannot fail.
        let _ = counts.push(entry, GFP_KERNEL);
    }
    let mut line = LineBuf::new();
    let _ = line.write_str("class  size objs/zs pages/zs zspages pages objs_alloc objs_used  zspages by fullness group 0..11\n");
    out.write(line.as_bytes());
    for c in counts.iter() {
        let spec = CLASSES.class(c.index);
        let mut line = LineBuf::new();
        let _ = write!(
            line,
            "{:5} {:5} {:7} {:8} {:7} {:5} {:10} {:9} ",
            c.index,
            spec.size,
            spec.objs_per_zspage,
            spec.pages_per_zspage,
            c.zspages,
            c.zspages * spec.pages(),
            c.objs_allocated,
            c.objs_inuse
        );
        for n in c.groups {
            let _ = write!(line, " {n}");
        }
        let _ = line.write_str("\n");
        out.write(line.as_bytes());
    }
    let mut line = LineBuf::new();
    let _ = writeln!(
        line,
        "total_pages {} pages_compacted {} pages_migrated {} zspages_retired {}",
        pool.total_pages(),
        pool.pages_compacted(),
        pool.pages_migrated(),
        pool.zspages_retired.load(Ordering::Relaxed)
    );
    out.write(line.as_bytes());
}
