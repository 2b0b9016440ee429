// SPDX-License-Identifier: GPL-2.0

//! Debugfs: directories, read-only counters, and the text of a `seq_file`.

use core::{ptr, sync::atomic::AtomicUsize};
use kernel::{bindings, str::CStr};

#[allow(
    improper_ctypes,
    reason = "pointers to kernel structs; their layout is C's"
)]
extern "C" {
    fn rzs_debugfs_create_dir(
        name: *const u8,
        parent: *mut bindings::dentry,
    ) -> *mut bindings::dentry;
    fn rzs_debugfs_create_classes(dir: *mut bindings::dentry, data: *mut core::ffi::c_void);
    fn rzs_debugfs_create_ulong(name: *const u8, parent: *mut bindings::dentry, value: *mut usize);
}

/// A debugfs directory, removed (with its contents) on drop.
pub(crate) struct DebugfsDir(*mut bindings::dentry);

// SAFETY: debugfs entries may be created and removed from any thread.
unsafe impl Send for DebugfsDir {}
// SAFETY: `&DebugfsDir` only creates children, which debugfs serializes.
unsafe impl Sync for DebugfsDir {}

impl DebugfsDir {
    /// Creates `name` under `parent` (or at the debugfs root). Debugfs is best effort: on
    /// failure the result is an error pointer that every later call ignores, as in C.
    pub(crate) fn new(name: &CStr, parent: Option<&DebugfsDir>) -> DebugfsDir {
        let parent = parent.map_or(ptr::null_mut(), |p| p.0);
        // SAFETY: `name` is NUL-terminated; `parent` is null or a live directory.
        DebugfsDir(unsafe { rzs_debugfs_create_dir(name.as_char_ptr(), parent) })
    }

    /// Exposes `value` read-only as file `name`.
    ///
    /// # Safety
    ///
    /// `value` outlives this directory (it is removed before `value` is freed).
    pub(crate) unsafe fn add_ulong(&self, name: &'static CStr, value: &AtomicUsize) {
        // SAFETY: `AtomicUsize` has the layout of `unsigned long`; debugfs only reads it,
        // and it lives as long as the directory (caller).
        unsafe { rzs_debugfs_create_ulong(name.as_char_ptr(), self.0, value.as_ptr()) };
    }

    /// Adds the file `classes`, whose reads call `rzs_classes_show` with `data`.
    ///
    /// # Safety
    ///
    /// `data` is what `rzs_classes_show` expects and outlives this directory.
    pub(crate) unsafe fn add_class_table(&self, data: *const core::ffi::c_void) {
        // SAFETY: a live (or error-pointer) directory; `data` outlives it (caller).
        unsafe { rzs_debugfs_create_classes(self.0, data.cast_mut()) };
    }
}

impl Drop for DebugfsDir {
    fn drop(&mut self) {
        // SAFETY: `debugfs_remove` accepts the directory, null or an error pointer.
        unsafe { super::debugfs_remove(self.0) };
    }
}

/// The text of a `seq_file` being shown.
///
/// # Invariants
///
/// `0` is the `seq_file` of a show callback that is running.
pub(crate) struct SeqFile(*mut bindings::seq_file);

impl SeqFile {
    /// # Safety
    ///
    /// `m` is the `seq_file` passed to a show callback that is running, and the result is
    /// used only during that callback.
    pub(crate) unsafe fn from_raw(m: *mut bindings::seq_file) -> SeqFile {
        // INVARIANT: as the caller guarantees.
        SeqFile(m)
    }

    /// The file's private data (what the file was created with).
    pub(crate) fn private(&self) -> *const core::ffi::c_void {
        // SAFETY: a live `seq_file` (invariant).
        unsafe { (*self.0).private.cast_const() }
    }

    /// Appends `bytes`.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        // SAFETY: a live `seq_file` (invariant); `bytes` is read during the call only.
        unsafe { bindings::seq_write(self.0, bytes.as_ptr().cast(), bytes.len()) };
    }
}

/// A line of text formatted on the stack (no allocation).
pub(crate) struct LineBuf {
    buf: [u8; 192],
    len: usize,
}

impl LineBuf {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; 192],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl core::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self
            .len
            .checked_add(s.len())
            .filter(|&end| end <= self.buf.len())
            .ok_or(core::fmt::Error)?;
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
