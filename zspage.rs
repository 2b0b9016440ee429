// SPDX-License-Identifier: GPL-2.0

//! A zspage: 1..=8 pages holding the objects of one size class, back to back (an object may
//! span two pages), and the metadata that describes it.
//!
//! Every object of a non-huge class starts with an 8-byte header: an allocated object's holds
//! its handle with bit 0 set (handles are 8-byte aligned slot addresses), which is how
//! compaction finds the objects to move and their handles; a free object's holds the index of
//! the next free object, shifted left (bit 0 clear), so the free objects form a list through
//! the pages and the metadata keeps only its head. A huge object fills its page: its handle is
//! kept in the metadata. Metadata size matters for density (it is paid per zspage; see the
//! assertion at the end of this file).

use crate::{
    logic::{
        fullness::GROUP_EMPTY,
        layout::{obj_place, ObjPlace},
        location::Location,
        size_class::{ClassSpec, HANDLE_SIZE, MAX_OBJS_PER_ZSPAGE, MAX_PAGES_PER_ZSPAGE},
        zspage_lock::ZspageLock,
    },
    sys::{self, Gfp, ListHead, LockedCell, MovableRelease, RcuHead, ZsPage, ZsPageRef},
    CLASSES,
};
use core::ptr::NonNull;

// Object indices, and `FREE_END`, fit the 16-bit free-list links.
const _: () = assert!(MAX_OBJS_PER_ZSPAGE < FREE_END as usize);

/// A zspage's metadata; lives in the module's zspage slab cache.
///
/// # Invariants
///
/// `first` and the pages chained after it through their `next` links are exactly
/// `spec().pages()` pages, in order; the metadata owns `first` and, through each link, the
/// page it names. The chain is read under the pool lock or this zspage's lock (read or
/// write), and changed (migration) only with the pool lock *and* the write lock held.
pub(crate) struct Zspage {
    /// Seed 004's lock: `map` holds it for reading until `unmap` (object bytes and location
    /// stay put); migration and compaction take it for writing with `try_write` only.
    pub(crate) lock: ZspageLock,
    /// Index into `CLASSES` (fewer than 256 classes); never changes.
    class: u8,
    /// The owning pool (type-erased `Pool`), for the movable_ops callbacks, which start from
    /// a page. Never changes.
    pool: *const core::ffi::c_void,
    /// The first page; the others follow through the pages' chain links (`ZsPage::next`),
    /// as in upstream, which keeps the metadata as small as upstream's `struct zspage`.
    first: LockedCell<ZsPage>,
    /// Link in its class's fullness-group list, guarded by the pool lock; once the zspage
    /// is retired (off its lists for good), the storage of its RCU head.
    pub(crate) link: ListHead,
    /// Allocation state. Guarded by the pool lock.
    pub(crate) state: LockedCell<ZspageState>,
}

// SAFETY: `pool` is only an address (dereferenced by the migration callbacks under the rules
// in `pool.rs`); the rest is `Send`, or guarded by the pool lock or the zspage lock.
unsafe impl Send for Zspage {}
// SAFETY: shared access goes through the zspage lock, the pool lock (`LockedCell`s) or
// atomics.
unsafe impl Sync for Zspage {}

/// Where a zspage is in its life. Changed under the pool lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Pages registered with the migration core, not on its class's lists yet: the
    /// migration core must leave it alone for now.
    New,
    /// On its class's lists: objects may be allocated, moved and migrated.
    Listed,
    /// Off the lists for good, waiting for its RCU grace period: a callback that meets one
    /// of its pages drops the page's link to this module.
    Dead,
}

/// Header bit 0: the object is allocated (the rest is its handle).
const ALLOCATED_TAG: usize = 1;
/// `free_head` when no object is free.
const FREE_END: u16 = u16::MAX;

/// What the pool lock guards in a zspage.
pub(crate) struct ZspageState {
    pub(crate) life: Life,
    /// Objects allocated (at most `MAX_OBJS_PER_ZSPAGE`).
    inuse: u16,
    /// The first free object, or `FREE_END`; the others are chained through their headers.
    free_head: u16,
    /// The fullness group whose list `link` is on.
    group: u8,
    /// The handle of the object of a huge zspage (which has no room for a header).
    huge_handle: usize,
}

impl ZspageState {
    /// Objects allocated.
    pub(crate) fn inuse(&self) -> u32 {
        u32::from(self.inuse)
    }

    /// The fullness group whose list the zspage is on.
    pub(crate) fn group(&self) -> usize {
        usize::from(self.group)
    }

    pub(crate) fn set_group(&mut self, group: usize) {
        debug_assert!(group < crate::logic::fullness::NR_FULLNESS_GROUPS);
        // Fullness groups are 0..12.
        self.group = group as u8;
    }
}

impl Zspage {
    /// Allocates the pages of a zspage of `class` with the caller's `gfp`, all or nothing.
    pub(crate) fn new(class: usize, gfp: Gfp, pool: *const core::ffi::c_void) -> Option<Zspage> {
        let spec = CLASSES.class(class);
        let class = u8::try_from(class).ok()?;
        let mut pages = [const { None }; MAX_PAGES_PER_ZSPAGE];
        for page in pages.iter_mut().take(spec.pages()) {
            // On failure the pages taken so far are freed by their drop.
            *page = Some(ZsPage::alloc(gfp)?);
        }
        // Chain them, last first: each page owns the next through its link.
        let mut next = None;
        for page in pages.iter_mut().skip(1).rev().filter_map(Option::take) {
            // SAFETY: fresh pages nobody else can reach yet.
            unsafe { page.set_next(next) };
            next = Some(page.into_raw());
        }
        let first = pages[0].take()?;
        // SAFETY: as above.
        unsafe { first.set_next(next) };
        // INVARIANT: `first` and its chain are the `spec.pages()` pages allocated above.
        let zspage = Zspage {
            lock: ZspageLock::new(),
            class,
            pool,
            first: LockedCell::new(first),
            link: ListHead::new(),
            state: LockedCell::new(ZspageState {
                life: Life::New,
                inuse: 0,
                free_head: 0,
                group: GROUP_EMPTY as u8,
                huge_handle: 0,
            }),
        };
        // Every object free, chained in index order (a huge zspage's one object needs no
        // header). Objects per zspage are at most `MAX_OBJS_PER_ZSPAGE` (256), below
        // `FREE_END`.
        if !spec.huge {
            for idx in 0..spec.objs_per_zspage {
                let next = if idx + 1 < spec.objs_per_zspage { idx + 1 } else { u32::from(FREE_END) };
                // SAFETY: fresh pages nobody else can reach yet.
                unsafe { zspage.write_header(idx, (next as usize) << 1) };
            }
        }
        Some(zspage)
    }

    /// Object `idx`'s header.
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock (headers are written only under it, or before the
    /// zspage is shared), or the zspage is not shared yet.
    unsafe fn read_header(&self, idx: u32) -> usize {
        let place = self.place(idx);
        let mut header = [0u8; HANDLE_SIZE];
        // The header never spans: objects start at multiples of 16 bytes.
        // SAFETY: within the page; no concurrent writer (caller).
        unsafe { self.page(place.page).read(place.offset, &mut header) };
        usize::from_ne_bytes(header)
    }

    /// Sets object `idx`'s header.
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock and nobody maps the object (it is free or just being
    /// allocated or freed), or the zspage is not shared yet.
    unsafe fn write_header(&self, idx: u32, header: usize) {
        let place = self.place(idx);
        // SAFETY: within the page; exclusive (caller).
        unsafe { self.page(place.page).write(place.offset, &header.to_ne_bytes()) };
    }

    /// Replaces object `idx`'s header, returning the old one (one walk of the chain).
    ///
    /// # Safety
    ///
    /// As for `write_header`.
    unsafe fn swap_header(&self, idx: u32, header: usize) -> usize {
        let place = self.place(idx);
        let page = self.page(place.page);
        let mut old = [0u8; HANDLE_SIZE];
        // SAFETY: within the page; exclusive (caller).
        unsafe {
            page.read(place.offset, &mut old);
            page.write(place.offset, &header.to_ne_bytes());
        }
        usize::from_ne_bytes(old)
    }

    /// Takes the first free object, if any, for `handle` (recorded in the object's header,
    /// or in the metadata for a huge object).
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock and `state` is this zspage's.
    pub(crate) unsafe fn alloc_obj(&self, state: &mut ZspageState, handle: usize) -> Option<u32> {
        let idx = state.free_head;
        if idx == FREE_END {
            return None;
        }
        if self.spec().huge {
            state.free_head = FREE_END;
            state.huge_handle = handle;
        } else {
            debug_assert!(handle & ALLOCATED_TAG == 0, "handles are aligned slot addresses");
            // SAFETY: pool lock held (caller); the object is free, so nobody maps it.
            let header = unsafe { self.swap_header(u32::from(idx), handle | ALLOCATED_TAG) };
            debug_assert!(header & ALLOCATED_TAG == 0, "free list reached allocated object {idx}");
            // Written by `new` or `free_obj` from a `u16`.
            state.free_head = (header >> 1) as u16;
        }
        state.inuse += 1;
        Some(u32::from(idx))
    }

    /// Returns allocated object `idx` to the free list.
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock, `state` is this zspage's, `idx` is allocated and
    /// nobody maps it.
    pub(crate) unsafe fn free_obj(&self, state: &mut ZspageState, idx: u32) {
        // SAFETY: pool lock held, `state` is this zspage's (caller).
        debug_assert!(unsafe { self.is_allocated(state, idx) }, "double free of object {idx}");
        if !self.spec().huge {
            // SAFETY: pool lock held, object unmapped (caller).
            unsafe { self.write_header(idx, usize::from(state.free_head) << 1) };
        }
        // Object indices are below `MAX_OBJS_PER_ZSPAGE`.
        state.free_head = idx as u16;
        state.inuse -= 1;
    }

    /// Whether object `idx` is allocated.
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock and `state` is this zspage's.
    pub(crate) unsafe fn is_allocated(&self, state: &ZspageState, idx: u32) -> bool {
        if self.spec().huge {
            return state.inuse == 1;
        }
        // SAFETY: pool lock held (caller).
        unsafe { self.read_header(idx) & ALLOCATED_TAG != 0 }
    }

    /// The first allocated object from `from` on and the handle that owns it, if any (one
    /// header read per object scanned).
    ///
    /// # Safety
    ///
    /// As for `is_allocated`.
    pub(crate) unsafe fn next_allocated(&self, state: &ZspageState, from: u32) -> Option<(u32, usize)> {
        if state.inuse == 0 {
            return None;
        }
        if self.spec().huge {
            return (from == 0).then_some((0, state.huge_handle));
        }
        (from..self.spec().objs_per_zspage).find_map(|idx| {
            // SAFETY: pool lock held (caller).
            let header = unsafe { self.read_header(idx) };
            (header & ALLOCATED_TAG != 0).then_some((idx, header & !ALLOCATED_TAG))
        })
    }

    pub(crate) fn class(&self) -> usize {
        usize::from(self.class)
    }

    pub(crate) fn spec(&self) -> &'static ClassSpec {
        CLASSES.class(usize::from(self.class))
    }

    pub(crate) fn nr_pages(&self) -> usize {
        self.spec().pages()
    }

    pub(crate) fn pool(&self) -> *const core::ffi::c_void {
        self.pool
    }

    /// The pages in order, walking the chain.
    fn pages(&self) -> impl Iterator<Item = ZsPageRef<'_>> {
        // SAFETY: every caller in this module holds the pool lock or this zspage's lock
        // (documented on the public methods that reach here), which excludes the only
        // writer, `replace_page` (type invariant).
        let mut next = NonNull::new(unsafe { self.first.get_ref() }.as_ptr());
        core::iter::from_fn(move || {
            let page = next?;
            // SAFETY: a page of this zspage's chain (type invariant), which stays linked while
            // the caller's lock is held and the zspage is borrowed.
            let page = unsafe { ZsPage::borrow(page) };
            // SAFETY: the caller's lock excludes `set_next`, as above.
            next = unsafe { page.next() };
            Some(page)
        })
    }

    fn page(&self, index: usize) -> ZsPageRef<'_> {
        match self.pages().nth(index) {
            Some(page) => page,
            // Type invariant: every index a layout computes is below `spec().pages()`.
            None => unreachable!("page {index} beyond the zspage"),
        }
    }

    /// Links every page to this zspage and registers it with the migration core; done once,
    /// before the zspage is listed, at its final (slab) address. Returns the pages
    /// registered (a fresh page is never locked, so all of them).
    ///
    /// # Safety
    ///
    /// `ops` are this module's movable operations, valid until every registration is
    /// released (module exit waits for that).
    pub(crate) unsafe fn publish(&self, ops: &'static sys::movable_operations) -> usize {
        let me = core::ptr::from_ref(self).cast();
        // Not shared yet: nobody else can reach the pages.
        self.pages()
            .filter(|page| {
                page.set_zspage(me);
                // SAFETY: `ops` outlive the registration (caller).
                unsafe { page.set_movable(ops) }
            })
            .count()
    }

    /// Unlinks the pages from this dying zspage: a callback that looks them up from now on
    /// finds nothing. Called under the pool lock when the zspage becomes `Dead`.
    pub(crate) fn unlink_pages(&self) {
        // Mutation for the seed-000 test: dead zspages stay reachable from their pages.
        #[cfg(zs_mutate_keep_page_link)]
        return;
        #[cfg(not(zs_mutate_keep_page_link))]
        self.pages().for_each(|page| page.set_zspage(core::ptr::null()));
    }

    /// Drops the pages' links to the migration core where their locks are free, for the
    /// RCU free path; returns how many links it dropped.
    pub(crate) fn release_movable_pages(&self) -> usize {
        self.pages().filter(|page| page.release_movable() == MovableRelease::Released).count()
    }

    /// Page `index`'s `struct page` (tests acting as the migration core).
    #[cfg(zs_kunit)]
    pub(crate) fn page_for_test(&self, index: usize) -> *mut kernel::bindings::page {
        self.page(index).as_ptr()
    }

    /// Which of this zspage's pages `page` is.
    pub(crate) fn page_index(&self, page: *mut kernel::bindings::page) -> Option<usize> {
        self.pages().position(|p| p.as_ptr() == page)
    }

    /// Puts `new` in place of page `index` (migration) and returns the old page.
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock and this zspage's write lock.
    pub(crate) unsafe fn replace_page(&self, index: usize, new: ZsPage) -> Option<ZsPage> {
        let (old, after) = {
            let old = self.pages().nth(index)?;
            // SAFETY: the caller's locks exclude every other reader and writer of the chain.
            (NonNull::new(old.as_ptr())?, unsafe { old.next() })
        };
        // SAFETY: the pool lock and the write lock exclude every other reader and writer of
        // the chain (caller, type invariant); `new` takes `old`'s place in it.
        unsafe { new.set_next(after) };
        let old = if index == 0 {
            // SAFETY: as above; no other reference to `first` is live under both locks.
            core::mem::replace(unsafe { self.first.get() }, new)
        } else {
            // SAFETY: as above; the previous page now owns `new` through its link.
            unsafe { self.page(index - 1).set_next(Some(new.into_raw())) };
            // SAFETY: `old` is unlinked: the chain no longer owns it.
            unsafe { ZsPage::from_raw(old) }
        };
        // SAFETY: off the chain now; its link is stale.
        unsafe { old.set_next(None) };
        Some(old)
    }

    /// Where object `idx` of this zspage is, as a handle slot holds it.
    pub(crate) fn location(&self, idx: u32) -> Location {
        let Some(location) = u8::try_from(idx).ok().and_then(|i| Location::new(core::ptr::from_ref(self) as usize, i))
        else {
            unreachable!("zspage metadata address or object index out of the location's range")
        };
        location
    }

    pub(crate) fn place(&self, idx: u32) -> ObjPlace {
        obj_place(self.spec(), idx)
    }

    /// The zspage whose `link` is `link`.
    ///
    /// # Safety
    ///
    /// `link` is the `link` field of a live `Zspage`.
    pub(crate) unsafe fn from_link(link: NonNull<ListHead>) -> NonNull<Zspage> {
        let offset = core::mem::offset_of!(Zspage, link);
        // SAFETY: `link` points `offset` bytes into a `Zspage` (caller).
        unsafe { link.byte_sub(offset).cast() }
    }

    /// The RCU head of a retired zspage: a dead zspage (pages and metadata) is freed one RCU
    /// grace period after it left its lists, so that a lockless lookup that found it can
    /// still lock and check it. The head reuses the storage of `link`.
    ///
    /// # Safety
    ///
    /// The zspage is off its lists for good (`Life::Dead`), and this is called once.
    pub(crate) unsafe fn rcu(&self) -> &RcuHead {
        // SAFETY: `link` is on no list and never will be again (caller).
        unsafe { self.link.into_rcu_head() }
    }

    /// The zspage whose RCU head (see `rcu`) is `head`.
    ///
    /// # Safety
    ///
    /// `head` came from `rcu` of a `Zspage` that is still allocated.
    pub(crate) unsafe fn from_rcu(head: *mut kernel::bindings::callback_head) -> NonNull<Zspage> {
        let offset = core::mem::offset_of!(Zspage, link);
        // SAFETY: `head` points `offset` bytes into a `Zspage` (caller).
        unsafe { NonNull::new_unchecked(head.byte_sub(offset).cast()) }
    }

    /// Copies the payload of object `idx` into object `dst_idx` of `dst` (same class), for
    /// compaction. The header (the handle, or a huge object's metadata handle) was set when
    /// `dst_idx` was allocated for the same handle.
    ///
    /// # Safety
    ///
    /// The caller holds the pool lock and both zspages' write locks (no reader, no writer of
    /// either object); `idx` is allocated in `self`, `dst_idx` just allocated in `dst`.
    pub(crate) unsafe fn copy_obj(&self, idx: u32, dst: &Zspage, dst_idx: u32) {
        debug_assert_eq!(self.class, dst.class);
        let (header, size) = (self.spec().header_len(), self.spec().size_bytes());
        self.for_each_part(idx, header, size - header, |page, offset, range| {
            // SAFETY: the part lies within the source page (layout); the objects are in
            // different zspages, and nobody else accesses either (caller's locks).
            unsafe {
                let src = core::slice::from_raw_parts(page.address().add(offset), range.len());
                dst.write_obj(dst_idx, header + range.start, src);
            }
        });
    }

    /// The address of object `idx` if it lies in one page (objects that span two pages are
    /// accessed by copying).
    pub(crate) fn obj_address(&self, idx: u32) -> Option<*mut u8> {
        let place = self.place(idx);
        // The offset is within the page, so the pointer stays in the page's allocation.
        (!place.spans).then(|| self.page(place.page).address().wrapping_add(place.offset))
    }

    /// Copies the bytes of object `idx` from `skip` on into `dst`, across the page boundary.
    ///
    /// # Safety
    ///
    /// The caller excludes concurrent writers of the object (the zspage lock for reading plus
    /// the caller's own exclusive use of the handle); `skip + dst.len()` is at most the class
    /// size.
    pub(crate) unsafe fn read_obj(&self, idx: u32, skip: usize, dst: &mut [u8]) {
        self.for_each_part(idx, skip, dst.len(), |page, offset, range| {
            // SAFETY: within the page (layout), writers excluded (caller).
            unsafe { page.read(offset, &mut dst[range]) }
        });
    }

    /// Copies `src` into object `idx` from `skip` on, across the page boundary.
    ///
    /// # Safety
    ///
    /// As for `read_obj`, and the caller owns the object's bytes exclusively.
    pub(crate) unsafe fn write_obj(&self, idx: u32, skip: usize, src: &[u8]) {
        self.for_each_part(idx, skip, src.len(), |page, offset, range| {
            // SAFETY: within the page (layout), exclusive access (caller).
            unsafe { page.write(offset, &src[range]) }
        });
    }

    /// Splits bytes `skip..skip + len` of object `idx` into their (page, offset, buffer
    /// range) parts: one, or two when they cross the page boundary.
    fn for_each_part(
        &self,
        idx: u32,
        skip: usize,
        len: usize,
        mut f: impl FnMut(&ZsPage, usize, core::ops::Range<usize>),
    ) {
        let place = self.place(idx);
        debug_assert!(skip + len <= self.spec().size_bytes());
        let in_first = place.first_len.saturating_sub(skip).min(len);
        if in_first > 0 {
            f(&self.page(place.page), place.offset + skip, 0..in_first);
        }
        if in_first < len {
            let second_offset = skip + in_first - place.first_len;
            f(&self.page(place.page + 1), second_offset, in_first..len);
        }
    }
}

impl Drop for Zspage {
    fn drop(&mut self) {
        // The pages after the first are owned through the chain: free them (the first goes
        // with its field).
        // The links are cleared on the way, so that the pages go back clean (a `ZsPage` is one
        // reference: another holder, such as the migration core, may keep the page).
        // SAFETY: `&mut self`: nobody else uses the zspage or its chain.
        let first = unsafe { self.first.get_ref() };
        // SAFETY: as above, no writer of the link can run.
        let mut next = unsafe { first.next() };
        // SAFETY: as above, no reader of the link can run.
        unsafe { first.set_next(None) };
        while let Some(page) = next {
            // SAFETY: linked in the chain, which owned it; unlinked here, then freed.
            let page = unsafe { ZsPage::from_raw(page) };
            // SAFETY: `&mut self`: nobody else reads or writes the chain.
            next = unsafe { page.next() };
            // SAFETY: as above.
            unsafe { page.set_next(None) };
        }
    }
}

// Metadata per zspage is what rust_zsmalloc pays beyond upstream (whose `struct zspage` is
// 56 bytes); BENCHMARKS.md's density figures include it. Keep an eye on it.
const _: () = assert!(core::mem::size_of::<Zspage>() <= 56);
