// SPDX-License-Identifier: GPL-2.0

//! A zspage: 1..=`chain_pages` (at most 16) pages holding the objects of one size class, back to back (an object may
//! span two pages), and the metadata that describes it.
//!
//! Every object of a non-huge class starts with an 8-byte header (`logic::header`): an
//! allocated object's holds its handle and its stored length with bit 0 set, which is how
//! compaction finds the objects to move and their handles, and how a mapping knows whether
//! the object itself (not its slot) crosses a page boundary; a free object's holds the index
//! of the next free object, shifted left (bit 0 clear), so the free objects form a list
//! through the pages and the metadata keeps only its head. A huge object fills its page: its
//! header is kept in the metadata. Metadata size matters for density (it is paid per
//! zspage; see the assertion at the end of this file).
//!
//! What may be touched, and the proof each access takes (the lock order is in `pool.rs`):
//! - allocation state, headers and list links: the class lock, shown by a `Held`, which only
//!   the pool's lock data can make (`Zspage::held` checks the zspage is that pool's);
//! - an object's payload: the zspage read lock plus ownership of the handle (`ReadHold`,
//!   made by `Pool::map`), or both write locks for compaction's copy (`Held` + `WriteGuard`);
//! - the page chain: any of those locks to read it, the class lock and the write lock to
//!   change it (migration); the class lock alone to take it out of a dying zspage with no
//!   object (`Held::take_pages`: no read hold can exist on it), after which it is empty.

use crate::{
    handle::Handle,
    logic::{
        fullness::GROUP_EMPTY,
        header::{free_header, next_free, AllocatedHeader},
        layout::{obj_place, objs_starting_in_page, ObjPlace},
        location::Location,
        size_class::{ClassSpec, MAX_OBJS_PER_ZSPAGE, PAGE_SIZE},
        zspage_lock::{ReadGuard, WriteGuard, ZspageLock},
    },
    pool::{ClassLists, Pool},
    sys::{self, ChainRef, Gfp, Linked, Links, PageChain, SlabBox, ZsPage},
    testing, CLASSES,
};
use core::sync::atomic::{AtomicU16, AtomicU8, AtomicUsize, Ordering};
use kernel::bindings;

// Object indices, and `FREE_END`, fit the 16-bit free-list links.
const _: () = assert!(MAX_OBJS_PER_ZSPAGE < FREE_END as usize);

/// A zspage's metadata; lives in the module's zspage slab cache.
///
/// # Invariants
///
/// - `pages` holds exactly `spec().pages()` pages, in order, until the zspage dies: then
///   `kill` takes them out (`Held::take_pages`, under the class lock, of a zspage with no
///   object) and the chain stays empty. The chain is read under the class lock or this
///   zspage's lock (read or write), and changed by migration only with the class lock *and*
///   the write lock held.
/// - `pool` is the pool that allocated the zspage; it outlives the zspage (pool destroy
///   retires every zspage and waits for their grace periods).
pub(crate) struct Zspage {
    /// Seed 004's lock: `map` holds it for reading until `unmap` (object bytes and location
    /// stay put); migration and compaction take it for writing with `try_write` only.
    lock: ZspageLock,
    /// Index into `CLASSES` (fewer than 256 classes); never changes.
    class: u8,
    /// Whether the pages were allocated as one physically contiguous block, in order
    /// (`PageChain::alloc_contiguous`); never changes (statistics). Whether they still are
    /// (migration replaces pages) is the chain's to say: `ChainRef::is_one_block`.
    contiguous: bool,
    /// The owning pool. Never changes.
    pool: *const Pool,
    /// The pages, chained through their links as in upstream, which keeps the metadata as
    /// small as upstream's `struct zspage`.
    pages: PageChain,
    /// Link in its class's fullness-group list, guarded by the class lock; once the zspage
    /// is retired (off its lists for good), the storage of its RCU head.
    links: Links,
    /// Allocation state. Guarded by the class lock (`Held`); stored in atomics, which under
    /// the lock cost what plain accesses do and need no `unsafe`.
    state: StateCell,
}

// SAFETY: `pool` is only an address (of a pool that outlives the zspage); `links` and the
// page chain are touched only under the class lock or the zspage lock; the rest is atomics.
unsafe impl Send for Zspage {}
// SAFETY: as above: shared access goes through the zspage lock, the class lock or atomics.
unsafe impl Sync for Zspage {}

// SAFETY: `links` is a field of `Zspage` used for nothing but its list (and, once the zspage
// is off its lists for good, its RCU head, which no list touches any more).
unsafe impl Linked for Zspage {
    const OFFSET: usize = core::mem::offset_of!(Zspage, links);
}

/// Where a zspage is in its life. Changed under the class lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Pages registered with the migration core, not on its class's lists yet: the
    /// migration core must leave it alone for now.
    New,
    /// On its class's lists: objects may be allocated, moved and migrated.
    Listed,
    /// Off the lists for good, of no page (its pages were taken out and freed), the
    /// metadata waiting for its RCU grace period: a callback that meets one of its former
    /// pages drops the page's link to this module.
    Dead,
}

/// `free_head` when no object is free.
const FREE_END: u16 = u16::MAX;

/// What the class lock guards in a zspage, a field per atomic: each access is one plain load
/// or store (Relaxed: every access is under the class lock, which orders them), and the hot
/// paths touch only the fields they need.
struct StateCell {
    /// `Life` as its discriminant.
    life: AtomicU8,
    /// The fullness group whose list `links` is on.
    group: AtomicU8,
    /// Objects allocated (at most `MAX_OBJS_PER_ZSPAGE`).
    inuse: AtomicU16,
    /// The first free object, or `FREE_END`; the others are chained through their headers.
    free_head: AtomicU16,
    /// The header of the object of a huge zspage (which has no room for it in the page).
    huge_header: AtomicUsize,
}

impl Life {
    const fn from_u8(value: u8) -> Life {
        match value {
            0 => Life::New,
            1 => Life::Listed,
            _ => Life::Dead,
        }
    }
}

impl Zspage {
    /// Allocates the pages of a zspage of `class` for `pool` with the caller's `gfp`, all or
    /// nothing: as one contiguous block first if the pool's layout asks for it
    /// (`Pool::wants_contiguous`; the block with `Gfp::opportunistic`), else page by page.
    pub(crate) fn new(class: usize, gfp: Gfp, pool: &Pool) -> Option<Zspage> {
        let spec = CLASSES.class(class);
        let class = u8::try_from(class).ok()?;
        let mut block = None;
        if spec.pages() > 1 && pool.wants_contiguous() {
            block = PageChain::alloc_contiguous(spec.pages(), gfp);
            if block.is_none() {
                pool.contiguous_failed();
            }
        }
        let contiguous = block.is_some();
        let mut pages = match block {
            Some(pages) => pages,
            None => PageChain::alloc(spec.pages(), gfp)?,
        };
        // Every object free, chained in index order (a huge zspage's one object needs no
        // header). The pages are fresh and ours alone: written through the exclusive chain,
        // a page at a time (objects start at 16-byte multiples, so a header never spans).
        if !spec.huge {
            pages.chain_mut().write_words(|page, write| {
                for idx in objs_starting_in_page(spec, page) {
                    let next = if idx + 1 < spec.objs_per_zspage {
                        idx + 1
                    } else {
                        u32::from(FREE_END)
                    };
                    let offset = (spec.size_bytes() * idx as usize) % PAGE_SIZE;
                    write(offset, free_header(next as u16));
                }
            });
        }
        // INVARIANT: the chain holds the `spec.pages()` pages allocated above; `pool`
        // allocates the zspage.
        Some(Zspage {
            lock: ZspageLock::new(),
            class,
            contiguous,
            pool,
            pages,
            links: Links::new(),
            state: StateCell {
                life: AtomicU8::new(Life::New as u8),
                group: AtomicU8::new(GROUP_EMPTY as u8),
                inuse: AtomicU16::new(0),
                free_head: AtomicU16::new(0),
                huge_header: AtomicUsize::new(0),
            },
        })
    }

    /// Whether the pages came as one contiguous block (see the field).
    pub(crate) fn is_contiguous(&self) -> bool {
        self.contiguous
    }

    /// The zspage lock.
    #[inline]
    pub(crate) fn lock(&self) -> &ZspageLock {
        &self.lock
    }

    #[inline]
    pub(crate) fn class(&self) -> usize {
        usize::from(self.class)
    }

    #[inline]
    pub(crate) fn spec(&self) -> &'static ClassSpec {
        CLASSES.class_u8(self.class)
    }

    #[inline]
    pub(crate) fn nr_pages(&self) -> usize {
        self.spec().pages()
    }

    /// The pool that owns the zspage.
    pub(crate) fn pool(&self) -> &Pool {
        // SAFETY: the pool outlives its zspages (type invariant).
        unsafe { &*self.pool }
    }

    #[inline]
    pub(crate) fn pool_ptr(&self) -> *const Pool {
        self.pool
    }

    /// The proof that `lists`, the lock data of the zspage's own class in its own pool, is
    /// held: the zspage's state, headers and links may be used for `'g`.
    #[inline]
    pub(crate) fn held<'g>(&'g self, lists: &'g ClassLists) -> Held<'g> {
        assert!(lists.owns(self), "a zspage used under another class's lock");
        Held {
            zspage: self,
            spec: self.spec(),
        }
    }

    /// Where object `idx` of this zspage is, as a handle slot holds it.
    #[inline]
    pub(crate) fn location(&self, idx: u32) -> ZspageLocation {
        let location = u8::try_from(idx)
            .ok()
            .and_then(|i| Location::new(core::ptr::from_ref(self) as usize, i));
        let Some(location) = location else {
            unreachable!("zspage metadata address or object index out of the location's range")
        };
        ZspageLocation(location)
    }

    /// Links every page to this zspage and registers it with the migration core; done
    /// once, before the zspage is listed, at its final (slab) address: a zspage still in
    /// its box has never been listed (`ClassLists::insert` takes the box). Returns the pages
    /// registered (a fresh page is never locked, so all of them).
    pub(crate) fn publish(
        zspage: &SlabBox<Zspage>,
        ops: &'static sys::movable_operations,
    ) -> usize {
        let me = core::ptr::NonNull::from(&**zspage).cast();
        // SAFETY: a zspage that was never listed is `Life::New`: a callback that finds it
        // backs off without touching the chain, and nothing else can reach it, so nothing
        // changes the chain while it is walked. Each page is in this zspage's chain, which
        // names it as its owner; the metadata, at its final address, is freed one grace
        // period after `kill` unlinks the pages. `ops` are this module's, which waits at exit
        // for every registration to be released (`MOVABLE_PAGES`).
        unsafe {
            zspage
                .pages
                .chain()
                .pages()
                .filter(|page| {
                    page.set_owner(me);
                    page.set_movable(ops)
                })
                .count()
        }
    }

    /// The pages a zspage still holds once nothing else can reach it (`&mut`: its grace
    /// period is over): none, since `kill` took them (`Held::take_pages`), except under the
    /// `no_liveness_check` mutation, which leaves them to the metadata.
    pub(crate) fn take_pages(&mut self) -> PageChain {
        core::mem::replace(&mut self.pages, PageChain::empty())
    }
}

/// Where an object of a zspage is: the only kind of location a handle slot stores
/// (`HandleSlot::store`), made only from a zspage (`Zspage::location`), so that a slot never
/// names anything but zspage metadata (`HandleSlot::zspage` dereferences what it names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ZspageLocation(Location);

impl ZspageLocation {
    /// The packed word a slot stores.
    #[inline]
    pub(crate) fn to_raw(self) -> u64 {
        self.0.to_raw()
    }

    /// Whether `location`, as read from a slot, is this one.
    #[inline]
    pub(crate) fn is(self, location: Option<Location>) -> bool {
        location == Some(self.0)
    }
}

/// An allocated object's header as this module writes it: made only for a live handle
/// (`ObjectHeader::for_handle`) or read back from an allocated object (`Held::next_allocated`),
/// so that the slot it names is a live handle's (`handle::slot_of_object` dereferences it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ObjectHeader(AllocatedHeader);

impl ObjectHeader {
    /// The header of an object of `stored_len` bytes (header included) for `handle`.
    #[inline]
    pub(crate) fn for_handle(handle: &Handle<'_>, stored_len: usize) -> Option<ObjectHeader> {
        AllocatedHeader::new(handle.raw(), stored_len).map(ObjectHeader)
    }

    /// The address of the object's handle slot.
    #[inline]
    pub(crate) fn handle(self) -> usize {
        self.0.handle()
    }
}

/// A zspage under its class lock (see `Zspage::held`): its allocation state, object
/// headers, list links and page chain may be used.
#[derive(Clone, Copy)]
pub(crate) struct Held<'g> {
    zspage: &'g Zspage,
    /// The zspage's class geometry, looked up once (`Zspage::held`) for the whole critical
    /// section rather than at every object access.
    spec: &'static ClassSpec,
}

impl<'g> core::ops::Deref for Held<'g> {
    type Target = Zspage;

    #[inline]
    fn deref(&self) -> &Zspage {
        self.zspage
    }
}

impl<'g> Held<'g> {
    /// The zspage's class geometry (as `Zspage::spec`, without the lookup).
    #[inline]
    pub(crate) fn spec(self) -> &'static ClassSpec {
        self.spec
    }

    /// Where object `idx` is (as `Zspage::place`, without the class lookup).
    #[inline]
    pub(crate) fn place(self, idx: u32) -> ObjPlace {
        obj_place(self.spec, idx)
    }

    #[inline]
    pub(crate) fn zspage(self) -> &'g Zspage {
        self.zspage
    }

    /// The page chain, which the class lock keeps in place.
    #[inline]
    fn chain(self) -> ChainRef<'g> {
        // SAFETY: the class lock is held (`Held`), which excludes the chain's writers
        // (`replace_page`, under the class lock and the write lock; `take_pages`, under the
        // class lock).
        unsafe { self.zspage.pages.chain() }
    }

    /// Where the zspage is in its life.
    #[inline]
    pub(crate) fn life(self) -> Life {
        Life::from_u8(self.zspage.state.life.load(Ordering::Relaxed))
    }

    #[inline]
    pub(crate) fn set_life(self, life: Life) {
        self.zspage.state.life.store(life as u8, Ordering::Relaxed)
    }

    /// The fullness group whose list the zspage is on.
    #[inline]
    pub(crate) fn group(self) -> usize {
        usize::from(self.zspage.state.group.load(Ordering::Relaxed))
    }

    #[inline]
    pub(crate) fn set_group(self, group: usize) {
        debug_assert!(group < crate::logic::fullness::NR_FULLNESS_GROUPS);
        let group = u8::try_from(group).unwrap_or(u8::MAX);
        self.zspage.state.group.store(group, Ordering::Relaxed)
    }

    /// Objects allocated.
    #[inline]
    pub(crate) fn inuse(self) -> u32 {
        u32::from(self.zspage.state.inuse.load(Ordering::Relaxed))
    }

    #[inline]
    fn set_inuse(self, inuse: u32) {
        // At most `MAX_OBJS_PER_ZSPAGE`, which fits.
        self.zspage
            .state
            .inuse
            .store(inuse as u16, Ordering::Relaxed)
    }

    /// Object `idx`'s header; the header never spans (objects start at 16-byte multiples).
    #[inline]
    fn header(self, idx: u32) -> usize {
        let place = self.place(idx);
        // SAFETY: the class lock is held (`Held`): it excludes every writer of a header
        // (headers change only under it).
        unsafe { self.chain().page(place.page).read_word(place.offset) }
    }

    /// Replaces object `idx`'s header and returns the old one (one walk of the chain). Only
    /// for an object that nobody maps: a free one, or one being allocated or freed (the
    /// caller owns its handle).
    #[inline(always)]
    fn swap_header(self, idx: u32, header: usize) -> usize {
        let place = self.place(idx);
        let page = self.chain().page(place.page);
        // SAFETY: the class lock is held (`Held`): it excludes every other access to a header
        // (headers change only under it, and the object is not mapped).
        unsafe { page.swap_word(place.offset, header) }
    }

    /// Takes the first free object, if any, for the object whose header is `header` (its
    /// handle and length; written at the object's start, or in the metadata for a huge
    /// object).
    // Always inlined, as `free_obj` and `ClassLists::regroup`: once per malloc or free, and
    // under QEMU's TCG (the benchmark's guest) a call and its return cost more than the body.
    #[inline(always)]
    pub(crate) fn alloc_obj(self, header: ObjectHeader) -> Option<u32> {
        let state = &self.zspage.state;
        let idx = state.free_head.load(Ordering::Relaxed);
        if idx == FREE_END {
            return None;
        }
        let next = if self.spec().huge {
            state.huge_header.store(header.0.word(), Ordering::Relaxed);
            FREE_END
        } else {
            let old = self.swap_header(u32::from(idx), header.0.word());
            let Some(next) = next_free(old) else {
                unreachable!("free list reached allocated object {idx}")
            };
            next
        };
        state.free_head.store(next, Ordering::Relaxed);
        self.set_inuse(self.inuse() + 1);
        Some(u32::from(idx))
    }

    /// Returns allocated object `idx` to the free list (its handle is being freed, or its
    /// object was moved away: nobody maps it).
    #[inline(always)]
    pub(crate) fn free_obj(self, idx: u32) {
        let state = &self.zspage.state;
        let inuse = self.inuse();
        if self.spec().huge {
            debug_assert!(idx == 0 && inuse == 1, "double free of object {idx}");
        } else {
            let head = state.free_head.load(Ordering::Relaxed);
            let old = self.swap_header(idx, free_header(head));
            debug_assert!(next_free(old).is_none(), "double free of object {idx}");
        }
        // Object indices are below `MAX_OBJS_PER_ZSPAGE`.
        state.free_head.store(idx as u16, Ordering::Relaxed);
        self.set_inuse(inuse - 1);
    }

    /// Whether object `idx` is allocated.
    pub(crate) fn is_allocated(self, idx: u32) -> bool {
        if self.spec().huge {
            return idx == 0 && self.inuse() == 1;
        }
        idx < self.spec().objs_per_zspage && next_free(self.header(idx)).is_none()
    }

    /// The first allocated object from `from` on and its header (its handle and length),
    /// if any (one header read per object scanned).
    pub(crate) fn next_allocated(self, from: u32) -> Option<(u32, ObjectHeader)> {
        if self.inuse() == 0 {
            return None;
        }
        if self.spec().huge {
            let word = self.zspage.state.huge_header.load(Ordering::Relaxed);
            return AllocatedHeader::from_word(word)
                .filter(|_| from == 0)
                .map(|header| (0, ObjectHeader(header)));
        }
        (from..self.spec().objs_per_zspage).find_map(|idx| {
            Some((
                idx,
                ObjectHeader(AllocatedHeader::from_word(self.header(idx))?),
            ))
        })
    }

    /// Unlinks the pages from this dying zspage: a callback that looks them up from now on
    /// finds nothing. Called when the zspage becomes `Dead`.
    pub(crate) fn unlink_pages(self) {
        if testing::MUTATE_KEEP_PAGE_LINK {
            return;
        }
        self.chain().pages().for_each(|page| page.clear_owner());
    }

    /// Takes the pages out of this dying zspage (`kill`, after `unlink_pages`), leaving its
    /// chain empty: from now on nothing reaches them through the metadata, so they can be
    /// freed as soon as the class lock is dropped, while the metadata waits for its grace
    /// period (a callback that found the zspage under RCU sees, under the class lock, a
    /// `Dead` zspage of no page). The mutation `no_liveness_check` leaves them to the
    /// metadata (freed after the grace period, as before this split), so that a callback
    /// which skips the check finds its page there.
    pub(crate) fn take_pages(self) -> PageChain {
        assert!(self.inuse() == 0, "pages taken from a zspage with objects");
        if testing::MUTATE_NO_LIVENESS_CHECK {
            return PageChain::empty();
        }
        // SAFETY: the class lock is held (`Held`): it excludes the chain's readers under it
        // (headers, `page_index`, compaction's copies) and `replace`. The other readers hold
        // the zspage's read lock for an allocated object (`ReadHold`), and this zspage has
        // none (asserted above; objects are allocated under the class lock): no read hold
        // can be walking the chain, or be taken for one of its objects again. `publish`
        // walks only a zspage that was never listed, and only listed zspages are killed.
        unsafe { self.zspage.pages.take() }
    }

    /// Which of this zspage's pages `page` is (none once the zspage is dead: `take_pages`).
    pub(crate) fn page_index(self, page: *mut bindings::page) -> Option<usize> {
        self.chain().pages().position(|p| p.as_ptr() == page)
    }

    /// The page where object `idx` starts (tests acting as the migration core).
    pub(crate) fn page_of(self, idx: u32) -> *mut bindings::page {
        self.chain().page(self.place(idx).page).as_ptr()
    }

    /// Whether a mapping of object `idx` (allocated) goes through a copy (see `Reach`).
    pub(crate) fn copied(self, idx: u32) -> bool {
        let header = if self.spec.huge { 0 } else { self.header(idx) };
        !reach(
            self.zspage,
            self.spec,
            self.chain(),
            self.place(idx),
            header,
        )
        .in_place
    }

    /// The address of object `idx`'s payload if a mapping reaches it in place (tests
    /// checking that an object did not move).
    pub(crate) fn payload_address(self, idx: u32) -> Option<*mut u8> {
        let place = self.place(idx);
        let page = self.chain().page(place.page);
        (!self.copied(idx)).then(|| {
            page.address()
                .wrapping_add(place.offset + self.spec().header_len())
        })
    }

    /// Puts `new` in place of page `index` (migration) and returns the old page.
    pub(crate) fn replace_page(
        self,
        write: &WriteGuard<'_>,
        index: usize,
        new: ZsPage,
    ) -> Option<ZsPage> {
        assert!(
            write.locks(&self.zspage.lock),
            "replace_page without the zspage's write lock"
        );
        // SAFETY: the class lock (`Held`) and the zspage's write lock (checked above) exclude
        // every other reader and writer of the chain.
        unsafe { self.zspage.pages.replace(index, new) }
    }

    /// Copies the payload of object `idx` into object `dst_idx` of `dst` (same class), for
    /// compaction. The header (handle and length, in the object or a huge zspage's
    /// metadata) was set when `dst_idx` was allocated with the source's header.
    pub(crate) fn copy_obj(
        self,
        src_write: &WriteGuard<'_>,
        idx: u32,
        dst: Held<'_>,
        dst_write: &WriteGuard<'_>,
        dst_idx: u32,
    ) {
        assert!(src_write.locks(&self.zspage.lock) && dst_write.locks(&dst.zspage.lock));
        assert!(self.class == dst.class && !core::ptr::eq(self.zspage, dst.zspage));
        assert!(self.is_allocated(idx) && dst.is_allocated(dst_idx));
        let (header, size) = (self.spec().header_len(), self.spec().size_bytes());
        let (src_place, dst_place) = (self.place(idx), dst.place(dst_idx));
        let mut buf = [0u8; 256];
        let mut done = header;
        while done < size {
            let len = (size - done).min(buf.len());
            let part = &mut buf[..len];
            // SAFETY: both zspages are write-locked (checked above): no reader or other
            // writer of either object.
            unsafe {
                for_each_part(
                    self.chain(),
                    src_place,
                    size,
                    done,
                    len,
                    |page, offset, range| page.read(offset, &mut part[range]),
                );
                for_each_part(
                    dst.chain(),
                    dst_place,
                    size,
                    done,
                    len,
                    |page, offset, range| page.write(offset, &part[range]),
                );
            }
            done += len;
        }
    }
}

/// Splits bytes `skip..skip + len` of the object at `place` (of `size` bytes) into their (page, offset, buffer range)
/// parts: one, or two when they cross the page boundary, and runs `f` on each.
fn for_each_part(
    chain: ChainRef<'_>,
    place: ObjPlace,
    size: usize,
    skip: usize,
    len: usize,
    mut f: impl FnMut(&ZsPage, usize, core::ops::Range<usize>),
) {
    assert!(skip + len <= size);
    let in_first = place.first_len.saturating_sub(skip).min(len);
    if in_first > 0 {
        f(&chain.page(place.page), place.offset + skip, 0..in_first);
    }
    if in_first < len {
        f(
            &chain.page(place.page + 1),
            skip + in_first - place.first_len,
            in_first..len,
        );
    }
}

/// How a mapping reaches an object.
#[derive(Clone, Copy)]
struct Reach {
    /// The payload's length: the object's stored length (its header says, rounded up to 16
    /// bytes) less the header, never more than its slot's payload; a huge object's whole
    /// page.
    len: usize,
    /// Whether the mapping is the object in place: it lies in one page by its stored length
    /// (its slot may cross into the next page: in a merged class the slot is longer than
    /// the object), or the zspage's pages are still the one contiguous block they came as
    /// (`ChainRef::is_one_block`; migration, which replaces a page, ends that). Otherwise a
    /// mapping copies it. A zspage of single pages
    /// copies every crossing object, as upstream does, even where the page allocator
    /// happened to give neighbours: which path an object takes then depends on the pool's
    /// layout alone.
    in_place: bool,
}

/// How a mapping reaches the object at `place` of `zspage` (whose pages are `chain`), whose
/// header word is `header` (unused for a huge class, whose object fills
/// its page). Sound for any header word: the length is clamped to the slot.
#[inline]
fn reach<'c>(
    zspage: &Zspage,
    spec: &ClassSpec,
    chain: ChainRef<'c>,
    place: ObjPlace,
    header: usize,
) -> Reach {
    let slot = spec.size_bytes();
    let stored = if spec.huge {
        slot
    } else {
        AllocatedHeader::from_word(header).map_or(slot, |h| h.stored_len().min(slot))
    };
    // A slot is at least its header (8 bytes at least: `MIN_ALLOC_SIZE`), and a stored
    // length at least one unit of 16 bytes.
    let len = stored.wrapping_sub(spec.header_len());
    // In 6.12's geometry this is `place.spans` for every class and request size
    // (`logic::header`'s test `slot_and_length_cross_alike`); the length is what it rests on.
    let crosses = place.spans && place.offset + stored > PAGE_SIZE;
    let in_place = !crosses || in_place_by_layout(zspage, chain, place);
    Reach { len, in_place }
}

/// Whether a mapping reaches the object at `place` of `zspage` (whose pages are `chain`) in
/// place whatever its header says: its slot lies in one page, or the pages are one block.
/// An object for which this is false may still be reached in place (`reach`: its stored
/// length may end before the page does).
#[inline]
fn in_place_by_layout(zspage: &Zspage, chain: ChainRef<'_>, place: ObjPlace) -> bool {
    !place.spans
        || chain.is_one_block()
        || (testing::MUTATE_IN_PLACE_UNCHECKED && zspage.contiguous)
}

/// A read hold on a zspage's lock, taken for one object whose handle the holder owns
/// exclusively: the object's bytes and location stay put, and only the holder touches them.
///
/// # Invariants
///
/// `hold` is a read hold of `zspage.lock`; object `idx` is allocated in `zspage` to a
/// handle that the holder borrows mutably for as long.
pub(crate) struct ReadHold<'a> {
    zspage: &'a Zspage,
    /// The read hold, released when the value drops.
    _hold: ReadGuard<'a>,
    /// The zspage's class geometry, looked up once.
    spec: &'static ClassSpec,
    /// Where object `idx` lies, computed once: the read hold keeps it there.
    place: ObjPlace,
    /// The direct-map address of the object's first byte (its header), in `place.page`.
    start: usize,
    /// How the object is reached (`reach`); the read hold keeps its pages and header.
    reach: Reach,
}

impl<'a> ReadHold<'a> {
    /// # Safety
    ///
    /// The caller owns a read hold of `zspage`'s lock, leaked from its guard
    /// (`ReadGuard::leak`), and gives it to the new value; object `idx` is allocated in
    /// `zspage` to a handle it borrows mutably for `'a`. `zspage` may be borrowed for less
    /// than `'a`: the hold keeps it alive (an allocated object's zspage is never retired).
    #[inline]
    pub(crate) unsafe fn new(zspage: &Zspage, idx: u32) -> Self {
        // SAFETY: the zspage holds object `idx`, whose handle the caller borrows for `'a`,
        // and the read hold keeps compaction from moving it: the zspage is not retired (or
        // freed) before the hold ends. The leaked hold the caller gives is adopted once.
        let mut hold = unsafe {
            let zspage: &'a Zspage = &*core::ptr::from_ref(zspage);
            Self::unlocated(zspage, zspage.lock.adopt_read(), idx)
        };
        hold.locate();
        hold
    }

    /// The hold on object `idx` before `locate` works out where its bytes are (until then it
    /// reaches no byte: `payload` is `None`, `payload_len` 0).
    ///
    /// # Safety
    ///
    /// `hold` is a read hold of `zspage`'s lock; object `idx` is allocated in `zspage` to a
    /// handle that the caller borrows mutably for `'a`.
    #[inline]
    unsafe fn unlocated(zspage: &'a Zspage, hold: ReadGuard<'a>, idx: u32) -> Self {
        let spec = zspage.spec();
        // INVARIANT: as the caller guarantees.
        ReadHold {
            zspage,
            _hold: hold,
            spec,
            place: obj_place(spec, idx),
            start: 0,
            reach: Reach {
                len: 0,
                in_place: false,
            },
        }
    }

    /// Works out the object's address and how a mapping reaches it (`reach`). Inlined:
    /// every map runs it, and a call would pass the hold through memory.
    #[inline(always)]
    fn locate(&mut self) {
        let (spec, place) = (self.spec, self.place);
        let chain = self.chain();
        let page = chain.page(place.page);
        let header = if spec.huge {
            0
        } else {
            // SAFETY: the header of an allocated object changes only when it is freed (by the
            // holder of its handle, borrowed exclusively here) or moved by compaction (which
            // needs the write lock, excluded by the read hold); the header never spans.
            unsafe { page.read_word(place.offset) }
        };
        let start = (page.address() as usize).wrapping_add(place.offset);
        let reach = reach(self.zspage, spec, chain, place, header);
        self.start = start;
        self.reach = reach;
    }

    /// Takes back the read hold that a leaked mapping of `handle`'s object left (the C
    /// caller's unmap) if the mapping may have copied the object; otherwise (the object is
    /// in place by its layout alone, the common case) releases it and returns `None`,
    /// without reading the object's header or walking to its page. No RCU section is needed
    /// to find the zspage: the hold keeps it.
    ///
    /// # Safety
    ///
    /// The caller owns the read hold that `leak` gave up on the zspage holding `handle`'s
    /// object, and gives it to the new value; `handle` is borrowed mutably for `'a`.
    #[inline]
    pub(crate) unsafe fn resume_copied(handle: &'a mut Handle<'_>) -> Option<Self> {
        let Some(location) = handle.slot().load() else {
            unreachable!("a mapped handle's slot names no object")
        };
        // SAFETY: the read hold (caller) keeps the object where its slot says (compaction
        // and migration need the write lock), so its zspage is not retired, let alone freed,
        // before the hold ends; that hold, on object `obj_index` of that zspage, allocated to
        // `handle`, is adopted once, here.
        let mut hold = unsafe {
            let zspage: &'a Zspage = &*(location.addr() as *const Zspage);
            Self::unlocated(
                zspage,
                zspage.lock.adopt_read(),
                u32::from(location.obj_index()),
            )
        };
        if in_place_by_layout(hold.zspage, hold.chain(), hold.place) {
            // Dropping the hold releases the read lock.
            return None;
        }
        hold.locate();
        Some(hold)
    }

    /// Gives up the hold without releasing it (a C caller's map, released by its unmap).
    pub(crate) fn leak(self) {
        core::mem::forget(self);
    }

    /// The page chain, which the read hold keeps in place.
    #[inline]
    fn chain(&self) -> ChainRef<'_> {
        // SAFETY: a read hold (invariant) excludes `replace_page`, which needs the write
        // lock, and `take_pages`, which takes only a zspage with no object allocated (the
        // hold's object is).
        unsafe { self.zspage.pages.chain() }
    }

    /// The object's payload length: its stored length (rounded up to 16 bytes) less the
    /// header.
    #[inline]
    pub(crate) fn payload_len(&self) -> usize {
        if testing::MUTATE_LEN_FROM_CLASS_SIZE {
            return self.spec.size_bytes();
        }
        self.reach.len
    }

    /// Whether the object is reached by copying (it spans two pages that are not
    /// neighbours, or of a zspage of single pages).
    #[inline]
    pub(crate) fn copied(&self) -> bool {
        !self.reach.in_place
    }

    /// The payload in place, if it can be reached there (`Reach::in_place`).
    pub(crate) fn payload(&mut self) -> Option<&mut [u8]> {
        if !self.reach.in_place {
            return None;
        }
        let start = self.start.wrapping_add(self.spec.header_len()) as *mut u8;
        // SAFETY: the payload (of its stored length, within its slot) lies within the page
        // that `start` is in, or within it and the next one, its neighbour in the direct map
        // (`Reach::in_place`); the read hold keeps it there,
        // and the holder's exclusive borrow of the handle makes it the only user of these
        // bytes for as long as `self` is borrowed (invariant).
        Some(unsafe { core::slice::from_raw_parts_mut(start, self.payload_len()) })
    }

    /// Runs `f` on the parts of the payload's first `len` bytes (at most `payload_len`).
    ///
    /// # Safety
    ///
    /// `f` accesses the bytes it is given only as the holder of the handle may: reads, or
    /// writes through `&mut self`.
    unsafe fn for_each_payload_part(
        &self,
        len: usize,
        f: impl FnMut(&ZsPage, usize, core::ops::Range<usize>),
    ) {
        let spec = self.spec;
        let len = len.min(self.payload_len());
        for_each_part(
            self.chain(),
            self.place,
            spec.size_bytes(),
            spec.header_len(),
            len,
            f,
        );
    }

    /// Copies the payload into `dst` (at most `payload_len` bytes).
    pub(crate) fn read_payload(&self, dst: &mut [u8]) {
        // SAFETY: the read hold keeps the chain and the bytes in place; only the holder of
        // the handle writes them (invariant), and this only reads.
        unsafe {
            self.for_each_payload_part(dst.len(), |page, offset, range| {
                page.read(offset, &mut dst[range])
            })
        };
    }

    /// Copies `src` into the payload (at most `payload_len` bytes).
    pub(crate) fn write_payload(&mut self, src: &[u8]) {
        // SAFETY: as in `read_payload`; `&mut self` makes this the only access.
        unsafe {
            self.for_each_payload_part(src.len(), |page, offset, range| {
                page.write(offset, &src[range])
            })
        };
    }
}

// Metadata per zspage is what rust_zsmalloc pays beyond upstream (whose `struct zspage` is
// 56 bytes); BENCHMARKS.md's density figures include it. Keep an eye on it.
const _: () = assert!(core::mem::size_of::<Zspage>() <= 56);
